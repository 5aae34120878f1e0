//! Fault isolation, one defect per test (issue 9): the V1 instance-list fallback is per cycle
//! and changes no label; a collector with no successful read is down; a region IAM cannot
//! resolve stops no other; a panicking collection ends the process with an error.

use std::sync::Arc;
use std::time::Duration;

use dms_exporter::app::{self, Exporter};
use dms_exporter::config;
use dms_exporter::demo::config_yaml;
use dms_exporter::metrics::exposition::Format;
use dms_sim::{Fault, FaultRule, SimConfig, Simulator};
use tokio_util::sync::CancellationToken;

use crate::support::{RouterTransport, credentials, in_process, series};

const FAST: &str = "collectors:
  jitter: 0
  instances: {interval: 10s}
";

async fn start(sim: &Simulator, extra: &str) -> (Exporter, CancellationToken) {
    let shutdown = CancellationToken::new();
    let exporter = in_process(sim, &SimConfig::deterministic(), extra, &shutdown);
    exporter.readiness.wait().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    (exporter, shutdown)
}

fn count(sim: &Simulator, endpoint: &str) -> u64 {
    sim.request_counts().get(endpoint).copied().unwrap_or(0)
}

#[tokio::test(start_paused = true)]
async fn one_cycle_on_v1_changes_no_label_and_v2_comes_back() {
    let sim = Simulator::new(SimConfig::deterministic());
    let (exporter, shutdown) = start(&sim, FAST).await;
    let families = ["dms_instance_info", "dms_instance_brokers"];
    let before: Vec<Vec<String>> = families.iter().map(|f| series(&exporter, f)).collect();
    assert!(before.iter().all(|lines| !lines.is_empty()), "{before:?}");

    // One cycle's V2 lists (one per engine) answer 404.
    sim.set_fault(FaultRule {
        endpoint: "instances_list".to_owned(),
        instance_id: None,
        fault: Fault::NotFound,
        remaining: Some(3),
    });
    tokio::time::sleep(Duration::from_secs(10)).await;
    let v1_calls = count(&sim, "instances_list_v1");
    assert!(v1_calls >= 1, "that cycle fell back to V1");
    for (family, lines) in families.iter().zip(&before) {
        assert_eq!(
            &series(&exporter, family),
            lines,
            "{family} after a V1 cycle"
        );
    }

    // The next cycles use V2 again.
    let v2_calls = count(&sim, "instances_list");
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert!(
        count(&sim, "instances_list") > v2_calls,
        "V2 is asked again"
    );
    assert_eq!(count(&sim, "instances_list_v1"), v1_calls, "no more V1");
    for (family, lines) in families.iter().zip(&before) {
        assert_eq!(&series(&exporter, family), lines, "{family} back on V2");
    }
    shutdown.cancel();
}

/// `dms_collector_up` of one collector in the first region, from the self-metrics.
fn collector_up(exporter: &Exporter, collector: &str) -> Option<f64> {
    let mut text = String::new();
    exporter.self_metrics.encode(Format::Text, &mut text);
    let needle = format!("collector=\"{collector}\"");
    text.lines()
        .find(|l| l.starts_with("dms_collector_up{") && l.contains(&needle))
        .and_then(|l| l.rsplit_once(' '))
        .and_then(|(_, v)| v.parse().ok())
}

#[tokio::test(start_paused = true)]
async fn a_cycle_that_reads_nothing_is_down_even_while_it_hangs() {
    let sim = Simulator::new(SimConfig::deterministic());
    let (exporter, shutdown) = start(&sim, FAST).await;
    assert_eq!(collector_up(&exporter, "instances"), Some(1.0));
    sim.set_fault(FaultRule {
        endpoint: "instances_list".to_owned(),
        instance_id: None,
        fault: Fault::Stall,
        remaining: None,
    });
    // The next cycle hangs (each try times out, then is retried): it is reported down an
    // interval after it began, while its last good data is still served.
    let mut down_at = None;
    let mut gone_at = None;
    for second in 0..60 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if down_at.is_none() && collector_up(&exporter, "instances") == Some(0.0) {
            down_at = Some(second);
        }
        if gone_at.is_none() && series(&exporter, "dms_instance_info").is_empty() {
            gone_at = Some(second);
        }
    }
    let (Some(down_at), Some(gone_at)) = (down_at, gone_at) else {
        panic!("down at {down_at:?}, data gone at {gone_at:?}");
    };
    assert!(down_at <= 21, "down within two intervals: {down_at}");
    assert!(
        down_at < gone_at,
        "down ({down_at}) before the data aged out ({gone_at})"
    );
    shutdown.cancel();
}

/// A region the simulator's IAM has no project for, its project to be discovered.
const UNKNOWN_REGION: &str =
    "  - name: eu-west-101\n    endpoint: http://sim\n    iam_endpoint: http://sim\n";

fn self_metrics(exporter: &Exporter) -> String {
    let mut text = String::new();
    exporter.self_metrics.encode(Format::Text, &mut text);
    text
}

#[tokio::test(start_paused = true)]
async fn a_region_iam_cannot_resolve_stops_no_other() {
    let sim_config = SimConfig::deterministic();
    let sim = Simulator::new(sim_config.clone());
    let yaml = config_yaml(&sim_config, "127.0.0.1:9".parse().expect("address"), FAST).replacen(
        "regions:\n",
        &format!("regions:\n{UNKNOWN_REGION}"),
        1,
    );
    let config = config::parse_str(&yaml, "(test)").unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let shutdown = CancellationToken::new();
    let exporter = app::start(
        config,
        credentials(&sim_config),
        Arc::new(RouterTransport(sim.clone())),
        None,
        shutdown.clone(),
    );
    let ready = tokio::time::timeout(Duration::from_secs(120), exporter.readiness.wait()).await;
    assert!(ready.is_ok(), "ready without the unresolvable region");
    let info = series(&exporter, "dms_instance_info");
    for project in &sim_config.projects {
        assert!(
            info.iter().any(|l| l.contains(&project.project_id)),
            "{} collected: {info:?}",
            project.region
        );
    }
    let text = self_metrics(&exporter);
    assert!(
        text.contains("dms_target_up{region=\"eu-west-101\",project_id=\"\"} 0\n"),
        "{text}"
    );
    for project in &sim_config.projects {
        let up = format!(
            "dms_target_up{{region=\"{}\",project_id=\"{}\"}} 1\n",
            project.region, project.project_id
        );
        assert!(text.contains(&up), "{up} in {text}");
    }
    // It keeps being retried, without holding anything up.
    let asked = sim
        .request_counts()
        .get("iam_projects")
        .copied()
        .unwrap_or(0);
    tokio::time::sleep(Duration::from_secs(120)).await;
    let asked_later = sim
        .request_counts()
        .get("iam_projects")
        .copied()
        .unwrap_or(0);
    assert!(asked_later > asked, "retried: {asked} then {asked_later}");
    shutdown.cancel();
}

/// The binary in `--demo` with a collection that panics: it must end, with an error.
#[cfg(debug_assertions)]
#[tokio::test]
async fn a_panicking_collection_ends_the_process_with_an_error() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_dms_exporter"))
        .args(["--demo", "--web.listen-address", "127.0.0.1:0"])
        .env(dms_exporter::supervisor::DEBUG_PANIC_VARIABLE, "collector")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    // Real time: the demo resolves its projects and starts collecting within a second.
    let mut status = None;
    for _ in 0..600 {
        status = child.try_wait().expect("wait");
        if status.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    let status = status.unwrap_or_else(|| panic!("still running after 60 s: {stderr}"));
    assert!(!status.success(), "{status}: {stderr}");
    assert!(stderr.contains("panicked"), "{stderr}");
}
