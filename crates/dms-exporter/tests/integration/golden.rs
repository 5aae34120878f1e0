//! Golden `/metrics`: the whole exporter over real HTTP against the deterministic simulator.
//! Rewrite with `UPDATE_GOLDEN=1 cargo test` and review the diff.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use dms_cloud::{ReqwestTransport, Transport};
use dms_exporter::app::{CollectionInput, Exporter};
use dms_exporter::collect::health::ConsumerHealth;
use dms_exporter::collect::kafka::groups;
use dms_exporter::collect::registry::{self, Producer};
use dms_exporter::collect::store;
use dms_sim::{SimConfig, Simulator};
use tokio_util::sync::CancellationToken;

use crate::support::{config_for, credentials, serve_http};

/// Intervals longer than the test, so exactly one cycle of each collector runs, except the
/// groups collector: it runs again after the partitions collector's first cycle, so it sees
/// the log start offsets (messages lost) whichever finished first.
const ONE_CYCLE: &str = "collectors:
  jitter: 0
  instances: {interval: 1h}
  tags: {interval: 1h}
  tasks: {interval: 1h}
  kafka_cluster: {interval: 1h}
  kafka_disk_usage: {interval: 1h}
  kafka_topics: {interval: 1h}
  kafka_partitions: {interval: 1h}
  kafka_groups: {interval: 2s}
  rabbitmq_plugins: {interval: 1h}
  ces: {interval: 1h}
  kafka_exact_lag_calls_limit: 1000
  ces_partitions: on
  ces_groups: on
";

struct Served {
    base: String,
    shutdown: CancellationToken,
}

async fn serve_exporter_against_simulator() -> Served {
    let shutdown = CancellationToken::new();
    let mut sim_config = SimConfig::deterministic();
    // Cloud Eye's first minute visible at once (no lateness, every series with points), so
    // its one cycle exports every CES family.
    sim_config.ces.lateness_base = Duration::ZERO;
    sim_config.ces.lateness_spread = Duration::ZERO;
    sim_config.ces.very_late_fraction = 0.0;
    sim_config.ces.empty_series_fraction = 0.0;
    sim_config.ces.backfill = Duration::from_secs(300);
    let sim = Simulator::new(sim_config.clone());
    overtake_a_stopped_group(&sim);
    let clock = sim.clone();
    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind simulator");
    let sim_address = sim_listener.local_addr().expect("simulator address");
    let stop = shutdown.clone();
    tokio::spawn(async move {
        sim.serve(sim_listener, async move { stop.cancelled().await })
            .await
    });

    let config = config_for(&sim_config, sim_address, ONE_CYCLE);
    let transport: Arc<dyn Transport> =
        Arc::new(ReqwestTransport::new(Duration::from_secs(5)).expect("transport"));
    // On the simulator's clock (its fleet lives in 2024): Cloud Eye's windows and the lag in
    // seconds are measured against it.
    let mut exporter = Exporter::new(shutdown.clone());
    exporter.health = Arc::new(ConsumerHealth::with_clock(Arc::new(move || clock.now_ms())));
    exporter
        .start_collection(CollectionInput {
            config,
            credentials: credentials(&sim_config),
            transport,
            accounts: Vec::new(),
            env_project: None,
        })
        .await;
    let readiness = Arc::clone(&exporter.readiness);
    let base = serve_http(&exporter, &shutdown).await;
    tokio::time::timeout(Duration::from_secs(60), readiness.wait())
        .await
        .expect("ready within 60 s");
    // A groups cycle after every first cycle (2 s interval), and the publisher's fold-in (it
    // debounces 200 ms).
    tokio::time::sleep(Duration::from_millis(2800)).await;
    Served { base, shutdown }
}

/// Retention deletes 10 unconsumed messages of the first instance's stopped group on each of
/// its partitions (messages lost); the other instances stay as generated.
fn overtake_a_stopped_group(sim: &Simulator) {
    let state = sim.state_summary();
    let instance = &state["instances"][0];
    let id = instance["instance_id"].as_str().unwrap_or_default();
    let stopped = instance["groups"]
        .as_array()
        .and_then(|groups| groups.iter().find(|g| g["running"] == false))
        .and_then(|g| g["group_id"].as_str())
        .expect("the deterministic fleet has a stopped group");
    assert!(sim.overtake_group(id, stopped, 10), "{id}/{stopped}");
}

fn self_metric(line: &str) -> bool {
    registry::families()
        .iter()
        .filter(|f| registry::producer_of(f) == Producer::Scrape)
        .any(|f| {
            // OpenMetrics names counter and info families without their suffix.
            let name = f.name.strip_suffix("_total").unwrap_or(f.name);
            let name = name.strip_suffix("_info").unwrap_or(name);
            let body = line
                .strip_prefix("# HELP ")
                .or_else(|| line.strip_prefix("# TYPE "))
                .or_else(|| line.strip_prefix("# UNIT "))
                .unwrap_or(line);
            body.starts_with(name)
        })
}

/// Families whose values are now (the wall clock) minus a simulated time, unless 0.
const SINCE_WALL_CLOCK: [&str; 4] = [
    groups::KAFKA_GROUP_LAG_SECONDS.name,
    groups::KAFKA_GROUP_TOPIC_LAG_SECONDS.name,
    groups::KAFKA_GROUP_MAX_LAG_SECONDS.name,
    groups::KAFKA_GROUP_LAG_RETENTION_RATIO.name,
];

/// Drops the self-metrics (they time real requests) and masks wall-clock timestamps and
/// durations measured against the wall clock.
fn normalise(body: &str) -> String {
    let mut out = String::new();
    for line in body.lines().filter(|l| !self_metric(l)) {
        let series_of = |family: &str| {
            line.strip_prefix(family)
                .is_some_and(|rest| rest.starts_with('{'))
        };
        let (series, value) = line.rsplit_once(' ').unwrap_or((line, ""));
        if series_of(store::INSTANCE_COLLECTOR_LAST_SUCCESS.name) {
            out.push_str(series);
            out.push_str(" <timestamp>\n");
        } else if value != "0" && SINCE_WALL_CLOCK.iter().any(|f| series_of(f)) {
            out.push_str(series);
            out.push_str(" <since simulated time>\n");
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn check_golden(name: &str, actual: &str) {
    let path = golden_path(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (e, a))| e != a)
            .take(10)
            .map(|(i, (e, a))| format!("line {}:\n  golden: {e}\n  actual: {a}", i + 1))
            .collect();
        panic!(
            "{} differs ({} vs {} lines); rewrite with UPDATE_GOLDEN=1 and review the diff\n{}",
            path.display(),
            expected.lines().count(),
            actual.lines().count(),
            diff.join("\n")
        );
    }
}

/// Runs a checker with `input` on its standard input.
fn run_with_input(command: &mut Command, input: &str, missing: &str) -> std::process::Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect(missing);
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(input.as_bytes())
            .expect("write to the checker");
    }
    child.wait_with_output().expect("the checker runs")
}

/// `promtool check metrics` must accept the exposition (CI installs Debian's prometheus).
fn promtool_accepts(body: &str) {
    let output = run_with_input(
        Command::new("promtool").args(["check", "metrics"]),
        body,
        "promtool must be installed (Debian package prometheus; .ci/run installs it)",
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    // Lint findings (exit 3) would be printed; errors are exit 1.
    assert!(
        output.status.success(),
        "promtool check metrics failed: {stdout}{stderr}"
    );
}

/// A real OpenMetrics parser must accept the OpenMetrics exposition: Python
/// `prometheus_client`'s strict `openmetrics.parser` (Debian package python3-prometheus-client,
/// which scripts/test installs), run with the system interpreter that package serves.
fn openmetrics_parser_accepts(body: &str) {
    const PARSE: &str = "import sys\n\
        from prometheus_client.openmetrics.parser import text_string_to_metric_families\n\
        families = list(text_string_to_metric_families(sys.stdin.read()))\n\
        print(sum(len(f.samples) for f in families))\n";
    let output = run_with_input(
        Command::new("/usr/bin/python3").args(["-c", PARSE]),
        body,
        "/usr/bin/python3 must be installed (scripts/test installs it)",
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the OpenMetrics parser rejected the exposition (is python3-prometheus-client installed?): {stderr}"
    );
    let samples: usize = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("sample count");
    let lines = body.lines().filter(|l| !l.starts_with('#')).count();
    assert_eq!(samples, lines, "every sample line was parsed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_match_the_golden_file_in_both_formats() {
    let served = serve_exporter_against_simulator().await;
    let client = reqwest::Client::new();
    let text = client
        .get(format!("{}/metrics", served.base))
        .send()
        .await
        .expect("scrape");
    assert_eq!(
        text.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = text.text().await.expect("body");
    promtool_accepts(&text);
    check_golden("metrics.txt", &normalise(&text));

    let om = client
        .get(format!("{}/metrics", served.base))
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )
        .send()
        .await
        .expect("scrape");
    assert!(
        om.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("application/openmetrics-text")
    );
    let om = om.text().await.expect("body");
    assert!(om.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
    assert_eq!(om.matches("# EOF").count(), 1);
    openmetrics_parser_accepts(&om);
    check_golden("metrics.openmetrics.txt", &normalise(&om));

    let gz = client
        .get(format!("{}/metrics", served.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("scrape");
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let compressed = gz.bytes().await.expect("body");
    let mut decoded = String::new();
    flate2::read::MultiGzDecoder::new(&compressed[..])
        .read_to_string(&mut decoded)
        .expect("valid gzip");
    assert_eq!(
        normalise(&decoded),
        normalise(&text),
        "gzip body decodes to the same exposition"
    );

    for (path, status) in [
        ("/-/healthy", 200),
        ("/-/ready", 200),
        ("/", 200),
        ("/nope", 404),
    ] {
        let response = client
            .get(format!("{}{path}", served.base))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), status, "{path}");
    }
    served.shutdown.cancel();
}

#[test]
fn every_contract_family_but_self_appears_in_the_golden_file() {
    let golden = std::fs::read_to_string(golden_path("metrics.txt")).expect("golden file exists");
    for family in registry::families()
        .iter()
        .filter(|f| registry::producer_of(f) != Producer::Scrape)
    {
        assert!(
            golden.contains(&format!("\n{}{{", family.name)),
            "{} missing from the golden output",
            family.name
        );
    }
}
