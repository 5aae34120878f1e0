//! Long faults (issue 16, "Prove it"): each fault kind that can last, held for 15 minutes —
//! fifty times `max_age` — at the scopes where it can happen, under paused time, against two
//! regions (hosts `sim-a` and `sim-b`). Every collector reads every 10 s with the default
//! `max_age` of 30 s. For every row, checked at every simulated scrape (each 5 s):
//!
//! - no series of the failing scope is served longer than `max_age` after its last
//!   successful read (which came before the fault);
//! - no series outlives its instance (every `instance_id` of a data series has its
//!   `dms_instance_info`);
//!
//! and over the row:
//!
//! - requests per minute to the failing scope during the fault stay at or below the no-fault
//!   rate measured just before it (both printed), and fall over the fault;
//! - the scopes outside the fault keep every series they had;
//! - after the fault clears, everything is back within one interval plus the backoff cap;
//! - after throttling, the host's adaptive rate is back at its ceiling within two minutes;
//! - a rejected AK/SK gets at most three failing signatures in any five minutes, and is
//!   probed at once after new credentials (what a reload or a changed credential file does).
//!
//! A dead endpoint (connection refused) and a rejected signature exist only per host, so
//! their rows are region-wide. Each fault kind is a test of its own, so they run side by side.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use dms_exporter::app::{self, Exporter};
use dms_exporter::config;
use dms_exporter::metrics::exposition::Format;
use dms_sim::{Fault, FaultRule, SimConfig, Simulator};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::fault_matrix::{Where, all_up, labels, served, value};
use crate::support::{HostRouter, Sent, credentials, two_region_yaml};

const INTERVAL: Duration = Duration::from_secs(10);
const MAX_AGE: Duration = Duration::from_secs(30);
const TIMEOUT: Duration = Duration::from_secs(2);
const FAULT: Duration = Duration::from_secs(15 * 60);
/// The no-fault window the request rate is measured over, just before the fault.
const BASELINE: Duration = Duration::from_secs(120);
const SCRAPE: Duration = Duration::from_secs(5);
/// A read already in flight when the fault began may still succeed: its answer is due
/// within one timeout.
const GRACE: Duration = Duration::from_secs(3);
/// The collectors read: discovery, and several APIs per instance so that a dead host is
/// told apart from one failing API.
const COLLECTORS: [&str; 4] = ["instances", "kafka_groups", "kafka_partitions", "tasks"];
/// The API the per-API rows break, and the families it feeds.
const API: &str = "kafka_groups";
const API_FAMILIES: &str = "dms_kafka_consumergroup_";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Dead,
    Sim(&'static str),
}

fn sim_fault(name: &str) -> Fault {
    match name {
        "server_error_503" => Fault::ServerError(503),
        "stall" => Fault::Stall,
        "throttle_429" => Fault::Throttle429,
        "throttle_404" => Fault::Throttle404,
        "unauthorized_signature" => Fault::Unauthorized,
        _ => Fault::Forbidden,
    }
}

fn yaml(sim: &SimConfig) -> String {
    let api = format!(
        "  rate_limit: 50\n  burst: 20\n  concurrency: 8\n  timeout: {}s\n",
        TIMEOUT.as_secs()
    );
    two_region_yaml(sim, |name| COLLECTORS.contains(&name), INTERVAL, &api)
}

/// instance id → region, from `dms_instance_info`.
fn regions_of(text: &BTreeSet<String>) -> BTreeMap<String, String> {
    text.iter()
        .filter(|l| l.starts_with("dms_instance_info{"))
        .filter_map(|l| {
            let labels = labels(l);
            Some((label(labels, "instance_id")?, label(labels, "region")?))
        })
        .collect()
}

fn label(labels: &str, name: &str) -> Option<String> {
    labels
        .split(&format!("{name}=\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_owned)
}

/// Data series only (not the exporter's own families).
fn data(series: &BTreeSet<String>) -> BTreeSet<String> {
    series
        .iter()
        .filter(|l| !l.starts_with("dms_exporter_") && !l.starts_with("dms_collector_"))
        .cloned()
        .collect()
}

/// A series without its value.
fn identity(line: &str) -> String {
    line.rsplit_once(' ')
        .map_or(line, |(series, _)| series)
        .to_owned()
}

struct Scope {
    scope: Where,
    victim: String,
    kafka: BTreeSet<String>,
    regions: BTreeMap<String, String>,
}

impl Scope {
    /// Whether a served series belongs to the failing scope.
    fn owns_series(&self, line: &str) -> bool {
        let instance = label(labels(line), "instance_id");
        match self.scope {
            Where::WholeRegion => instance
                .and_then(|i| self.regions.get(&i))
                .is_some_and(|r| r == "ap-southeast-1"),
            Where::ApiEverywhere => line.starts_with(API_FAMILIES),
            Where::ApiOfOneInstance => {
                line.starts_with(API_FAMILIES) && instance.as_deref() == Some(&self.victim)
            }
        }
    }

    /// Whether a request went to the failing scope.
    fn owns_request(&self, sent: &Sent) -> bool {
        let groups_of = |id: &str| sent.path.ends_with(&format!("/instances/{id}/groups"));
        match self.scope {
            Where::WholeRegion => sent.host == "sim-b",
            Where::ApiEverywhere => self.kafka.iter().any(|id| groups_of(id)),
            Where::ApiOfOneInstance => sent.host == "sim-a" && groups_of(&self.victim),
        }
    }

    fn host(&self) -> &'static str {
        if self.scope == Where::WholeRegion {
            "sim-b"
        } else {
            "sim-a"
        }
    }
}

fn effective_rate(exporter: &Exporter, host: &str) -> f64 {
    exporter
        .budgets
        .statuses()
        .into_iter()
        .find(|s| s.host == host)
        .map_or(0.0, |s| s.effective_rate)
}

/// How long after `since` `done` held, checked each second; `None` past `bound`.
async fn within(
    since: Instant,
    bound: Duration,
    mut done: impl FnMut() -> bool,
) -> Option<Duration> {
    loop {
        if done() {
            return Some(since.elapsed());
        }
        if since.elapsed() > bound {
            return None;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn per_minute(count: usize, over: Duration) -> f64 {
    count as f64 * 60.0 / over.as_secs_f64()
}

/// Runs one row; returns its table line, or the line and what failed.
async fn run(kind: Kind, scope: Where) -> Result<String, String> {
    let sim_config = SimConfig::deterministic();
    let (a, b) = (
        Simulator::new(sim_config.clone()),
        Simulator::new(sim_config.clone()),
    );
    let router = Arc::new(HostRouter::new([("sim-a", &a), ("sim-b", &b)]));
    let config =
        config::parse_str(&yaml(&sim_config), "(long faults)").unwrap_or_else(|e| panic!("{e}"));
    let shutdown = CancellationToken::new();
    let exporter = app::start(
        config,
        credentials(&sim_config),
        router.clone(),
        None,
        shutdown.clone(),
    );
    exporter.readiness.wait().await;
    tokio::time::sleep(INTERVAL).await;
    let baseline_start = Instant::now();
    tokio::time::sleep(BASELINE).await;
    let baseline = served(&exporter);
    let regions = regions_of(&baseline);
    let kafka: BTreeSet<String> = baseline
        .iter()
        .filter(|l| l.starts_with("dms_instance_info{") && l.contains("engine=\"kafka\""))
        .filter_map(|l| label(labels(l), "instance_id"))
        .collect();
    let victim = kafka
        .iter()
        .find(|id| regions.get(*id).is_some_and(|r| r == "cn-north-4"))
        .cloned()
        .expect("a Kafka instance in cn-north-4");
    let failing = Scope {
        scope,
        victim: victim.clone(),
        kafka,
        regions,
    };
    let outside: BTreeSet<String> = data(&baseline)
        .iter()
        .filter(|l| !failing.owns_series(l))
        .map(|l| identity(l))
        .collect();
    let owned_before = data(&baseline)
        .iter()
        .filter(|l| failing.owns_series(l))
        .count();

    // The fault.
    let fault_start = Instant::now();
    match kind {
        Kind::Dead => {
            router.set_dead(Some("sim-b"));
        }
        Kind::Sim(name) => {
            let rule = |endpoint: &str, instance: Option<&str>| FaultRule {
                endpoint: endpoint.to_owned(),
                instance_id: instance.map(str::to_owned),
                fault: sim_fault(name),
                remaining: None,
            };
            match scope {
                Where::ApiOfOneInstance => a.set_fault(rule(API, Some(&victim))),
                Where::ApiEverywhere => {
                    a.set_fault(rule(API, None));
                    b.set_fault(rule(API, None));
                }
                Where::WholeRegion => b.set_fault(rule("*", None)),
            }
        }
    }
    let mut problems = Vec::new();
    let mut served_too_long = 0usize;
    let mut orphans = 0usize;
    let first_problem = |problems: &mut Vec<String>, text: String| {
        if problems.len() < 6 {
            problems.push(text);
        }
    };
    while fault_start.elapsed() < FAULT {
        tokio::time::sleep(SCRAPE).await;
        let now = data(&served(&exporter));
        let elapsed = fault_start.elapsed();
        if elapsed > MAX_AGE + GRACE {
            let stale: Vec<&String> = now.iter().filter(|l| failing.owns_series(l)).collect();
            if !stale.is_empty() {
                served_too_long += 1;
                first_problem(
                    &mut problems,
                    format!(
                        "{} series served {elapsed:?} after their last read, e.g. {}",
                        stale.len(),
                        stale[0]
                    ),
                );
            }
        }
        let listed: BTreeSet<String> = now
            .iter()
            .filter(|l| l.starts_with("dms_instance_info{"))
            .filter_map(|l| label(labels(l), "instance_id"))
            .collect();
        let orphan = now
            .iter()
            .find(|l| label(labels(l), "instance_id").is_some_and(|id| !listed.contains(&id)));
        if let Some(orphan) = orphan {
            orphans += 1;
            first_problem(
                &mut problems,
                format!("at {elapsed:?} a series outlives its instance: {orphan}"),
            );
        }
    }
    let at_end = data(&served(&exporter));
    let end_identities: BTreeSet<String> = at_end.iter().map(|l| identity(l)).collect();
    let lost: Vec<&String> = outside.difference(&end_identities).take(3).collect();
    if !lost.is_empty() {
        problems.push(format!("series outside the fault were lost: {lost:?}"));
    }

    // Requests to the failing scope: before, during, and in the fault's last five minutes.
    let log = router.log();
    let count = |from: Instant, to: Instant| {
        log.iter()
            .filter(|s| s.at >= from && s.at < to && failing.owns_request(s))
            .count()
    };
    let fault_end = fault_start + FAULT;
    let before = per_minute(count(baseline_start, fault_start), BASELINE);
    let during = per_minute(count(fault_start, fault_end), FAULT);
    let last_five = Duration::from_secs(300);
    let late = per_minute(count(fault_end - last_five, fault_end), last_five);
    if during > before {
        problems.push(format!(
            "{during:.1} requests/min to the failing scope during the fault, {before:.1} without it"
        ));
    }
    if late > during + 0.5 {
        problems.push(format!(
            "the rate to the failing scope did not fall: {late:.1}/min at the end, {during:.1} over the fault"
        ));
    }
    // A rejected key: at most three failing signatures in any five minutes.
    let mut worst_window = 0;
    if kind == Kind::Sim("unauthorized_signature") {
        let failing_signatures: Vec<Instant> = b
            .request_log()
            .into_iter()
            .filter(|r| r.status == 401 && r.at >= fault_start && r.at < fault_end)
            .map(|r| r.at)
            .collect();
        for (i, at) in failing_signatures.iter().enumerate() {
            let in_window = failing_signatures[i..]
                .iter()
                .take_while(|t| **t < *at + Duration::from_secs(300))
                .count();
            worst_window = worst_window.max(in_window);
        }
        if worst_window > 3 {
            problems.push(format!(
                "{worst_window} failing signatures within five minutes"
            ));
        }
    }

    // Clearing.
    a.clear_faults();
    b.clear_faults();
    router.set_dead(None);
    if kind == Kind::Sim("unauthorized_signature") {
        // The operator fixed the secret: a reload or the changed credential file.
        exporter.budgets.credentials_changed();
    }
    let cleared = Instant::now();
    let bound = INTERVAL + TIMEOUT + dms_cloud::budget::backoff::MAX_DELAY + SCRAPE;
    let baseline_identities: BTreeSet<String> =
        data(&baseline).iter().map(|l| identity(l)).collect();
    let recovered = within(cleared, bound, || {
        let now: BTreeSet<String> = data(&served(&exporter))
            .iter()
            .map(|l| identity(l))
            .collect();
        all_up(&exporter) && baseline_identities.is_subset(&now)
    })
    .await;
    if recovered.is_none() {
        problems.push(format!("not recovered within {bound:?}"));
    }
    let host = failing.host();
    let ceiling = exporter
        .budgets
        .statuses()
        .into_iter()
        .find(|s| s.host == host)
        .map_or(0.0, |s| s.configured_rate);
    let rate_back = within(cleared, Duration::from_secs(120), || {
        // The issue allows a cap near a rate that was throttled repeatedly (15 minutes of it
        // here): the AIMD holds 90% of a confirmed limit; anything lower is a collapse.
        effective_rate(&exporter, host) >= ceiling * 0.9
    })
    .await;
    if rate_back.is_none() {
        problems.push(format!(
            "{host}'s rate {} not back at its ceiling {ceiling} within two minutes",
            effective_rate(&exporter, host)
        ));
    }
    if let Some(failure) = exporter.supervisor.failure() {
        problems.push(format!("the exporter failed: {failure}"));
    }
    shutdown.cancel();
    let name = match kind {
        Kind::Dead => "dead_endpoint",
        Kind::Sim(name) => name,
    };
    let line = format!(
        "| {name} | {scope:?} | {owned_before} | {served_too_long} | {orphans} | {before:.1} | {during:.1} | {late:.1} | {} | {} | {} |",
        if kind == Kind::Sim("unauthorized_signature") {
            worst_window.to_string()
        } else {
            "-".to_owned()
        },
        rate_back.map_or("never".to_owned(), |d| format!("{}s", d.as_secs())),
        recovered.map_or("never".to_owned(), |d| format!("{}s", d.as_secs())),
    );
    if problems.is_empty() {
        Ok(line)
    } else {
        Err(format!("{line}\n    {}", problems.join("\n    ")))
    }
}

const HEADER: &str = "| fault | scope | series in scope | scrapes serving them past max_age | scrapes with orphans | req/min before | req/min during | req/min last 5 min | max failing signatures in 5 min | rate back in | recovered in |";

async fn rows(kind: Kind, scopes: &[Where]) {
    let mut failed = Vec::new();
    for scope in scopes {
        match run(kind, *scope).await {
            Ok(line) => eprintln!("{HEADER}\n{line}"),
            Err(line) => {
                eprintln!("FAIL {line}");
                failed.push(line);
            }
        }
    }
    assert!(failed.is_empty(), "failed rows:\n{}", failed.join("\n"));
}

const ALL: [Where; 3] = [
    Where::ApiOfOneInstance,
    Where::ApiEverywhere,
    Where::WholeRegion,
];

#[tokio::test(start_paused = true)]
async fn a_dead_endpoint_for_fifteen_minutes() {
    rows(Kind::Dead, &[Where::WholeRegion]).await;
}

#[tokio::test(start_paused = true)]
async fn server_errors_for_fifteen_minutes() {
    rows(Kind::Sim("server_error_503"), &ALL).await;
}

#[tokio::test(start_paused = true)]
async fn stalls_for_fifteen_minutes() {
    rows(Kind::Sim("stall"), &ALL).await;
}

#[tokio::test(start_paused = true)]
async fn gateway_throttling_for_fifteen_minutes() {
    rows(Kind::Sim("throttle_429"), &ALL).await;
}

#[tokio::test(start_paused = true)]
async fn dms_flow_control_for_fifteen_minutes() {
    rows(Kind::Sim("throttle_404"), &ALL).await;
}

#[tokio::test(start_paused = true)]
async fn a_rejected_signature_for_fifteen_minutes() {
    rows(Kind::Sim("unauthorized_signature"), &[Where::WholeRegion]).await;
}

#[tokio::test(start_paused = true)]
async fn a_denied_api_for_fifteen_minutes() {
    rows(Kind::Sim("forbidden"), &ALL).await;
}

/// Issue 16, item 7: one readiness rule for every case — ready once every target and
/// collector has ended its first attempt, successful or not, and published it; what failed
/// shows in `dms_target_up` and `dms_collector_up`.
#[tokio::test(start_paused = true)]
async fn readiness_follows_first_attempts_whether_they_succeed_or_fail() {
    for case in [
        "all good",
        "DMS unreachable",
        "IAM cannot resolve the project",
    ] {
        let sim_config = SimConfig::deterministic();
        let sim = Simulator::new(sim_config.clone());
        let router = Arc::new(HostRouter::new([("sim-a", &sim)]));
        let project = &sim_config.projects[0];
        let projects = if case == "IAM cannot resolve the project" {
            sim.set_fault(FaultRule {
                endpoint: "*".to_owned(),
                instance_id: None,
                fault: Fault::Unauthorized,
                remaining: None,
            });
            String::new()
        } else {
            format!("    projects: [{}]\n", project.project_id)
        };
        if case == "DMS unreachable" {
            router.set_dead(Some("sim-a"));
        }
        let yaml = format!(
            "regions:\n  - name: {}\n    endpoint: http://sim-a\n    iam_endpoint: http://sim-a\n{projects}collectors:\n  jitter: 0\napi:\n  timeout: 2s\n",
            project.region
        );
        let config = config::parse_str(&yaml, "(readiness)").unwrap_or_else(|e| panic!("{e}"));
        let shutdown = CancellationToken::new();
        let start = Instant::now();
        let exporter = app::start(
            config,
            credentials(&sim_config),
            router.clone(),
            None,
            shutdown.clone(),
        );
        let ready = tokio::time::timeout(Duration::from_secs(120), exporter.readiness.wait()).await;
        assert!(ready.is_ok(), "{case}: not ready after two minutes");
        let mut text = String::new();
        exporter.self_metrics.encode(Format::Text, &mut text);
        let target_up = text
            .lines()
            .find(|l| l.starts_with("dms_target_up{"))
            .map(value);
        let discovery_up = text
            .lines()
            .find(|l| l.starts_with("dms_collector_up{collector=\"instances\""))
            .map(value);
        match case {
            "all good" => {
                assert_eq!(discovery_up, Some(1.0), "{case}: {text}");
                assert!(
                    !series_of(&exporter, "dms_instance_info").is_empty(),
                    "{case}: ready with data"
                );
            }
            "DMS unreachable" => assert_eq!(discovery_up, Some(0.0), "{case}"),
            _ => assert_eq!(target_up, Some(0.0), "{case}"),
        }
        eprintln!("{case}: ready after {:?}", start.elapsed());
        shutdown.cancel();
    }
}

fn series_of(exporter: &Exporter, family: &str) -> Vec<String> {
    crate::support::series(exporter, family)
}

/// A world of two regions with every collector of `COLLECTORS` (the discovery collector
/// among them) every 10 s, ready and read once more.
async fn storm_world() -> (Arc<HostRouter>, Exporter, CancellationToken) {
    let sim_config = SimConfig::deterministic();
    let (a, b) = (
        Simulator::new(sim_config.clone()),
        Simulator::new(sim_config.clone()),
    );
    let router = Arc::new(HostRouter::new([("sim-a", &a), ("sim-b", &b)]));
    let config = config::parse_str(&yaml(&sim_config), "(storm)").unwrap_or_else(|e| panic!("{e}"));
    let shutdown = CancellationToken::new();
    let exporter = app::start(
        config,
        credentials(&sim_config),
        router.clone(),
        None,
        shutdown.clone(),
    );
    exporter.readiness.wait().await;
    tokio::time::sleep(INTERVAL * 2).await;
    (router, exporter, shutdown)
}

/// Issue 16, item 2: 90 s in which about one answer in four is a 429 `APIGW.0308`: the rate
/// is cut, and back at its ceiling within two minutes of the last throttled answer; the
/// collectors are slowed, not failed: no data series blinks during the storm.
#[tokio::test(start_paused = true)]
async fn a_throttling_storm_cuts_the_rate_slows_collection_without_a_blink_and_the_rate_comes_back()
{
    let (router, exporter, shutdown) = storm_world().await;
    let series = |exporter: &Exporter| -> BTreeSet<String> {
        data(&served(exporter))
            .iter()
            .map(|l| identity(l))
            .collect()
    };
    let baseline = series(&exporter);
    router.set_one_in(Some((4, 429, "APIGW.0308")));
    let storm = Instant::now();
    let mut lowest = f64::MAX;
    let mut blinked = BTreeMap::new();
    while storm.elapsed() < Duration::from_secs(90) {
        tokio::time::sleep(SCRAPE).await;
        let now = series(&exporter);
        for missing in baseline.difference(&now) {
            blinked
                .entry(missing.clone())
                .or_insert_with(|| storm.elapsed());
        }
        lowest = lowest.min(effective_rate(&exporter, "sim-a"));
    }
    router.set_one_in(None);
    let calm = Instant::now();
    let ceiling = 50.0;
    let back = within(calm, Duration::from_secs(120), || {
        effective_rate(&exporter, "sim-a") >= ceiling
            && effective_rate(&exporter, "sim-b") >= ceiling
    })
    .await;
    eprintln!(
        "storm: lowest rate {lowest:.2}/s, back at {ceiling}/s after {back:?}; {} of {} data series blinked",
        blinked.len(),
        baseline.len()
    );
    assert!(lowest < ceiling, "the storm cut the rate ({lowest})");
    let families: BTreeSet<&str> = blinked
        .keys()
        .map(|series| series.split('{').next().unwrap_or(series))
        .collect();
    eprintln!("storm: families that blinked: {families:?}");
    assert!(
        blinked.is_empty(),
        "{} series of {families:?} vanished during the storm, e.g. {:?}",
        blinked.len(),
        blinked.keys().next()
    );
    assert!(back.is_some(), "the rate is not back within two minutes");
    shutdown.cancel();
}

/// Issue 16, item 3: one answer in five is DMS's flow control (`DMS.10240407`, a 404), no
/// 429 at all: the hosts' rate is never lowered, and collection keeps its pace.
#[tokio::test(start_paused = true)]
async fn dms_flow_control_never_lowers_the_hosts_rate() {
    let (router, exporter, shutdown) = storm_world().await;
    let before = router.log().len();
    let window = Duration::from_secs(180);
    tokio::time::sleep(window).await;
    let calm_rate = router.log().len() - before;
    router.set_one_in(Some((5, 404, "DMS.10240407")));
    let start = router.log().len();
    let storm = Instant::now();
    while storm.elapsed() < window {
        tokio::time::sleep(SCRAPE).await;
        for host in ["sim-a", "sim-b"] {
            assert_eq!(
                effective_rate(&exporter, host),
                50.0,
                "{host}'s rate was lowered by DMS's flow control"
            );
        }
    }
    let stormy_rate = router.log().len() - start;
    eprintln!(
        "flow control: {calm_rate} requests in 3 min without, {stormy_rate} with one in five"
    );
    assert!(
        stormy_rate as f64 >= calm_rate as f64 * 0.9,
        "collection kept its pace: {stormy_rate} requests against {calm_rate}"
    );
    shutdown.cancel();
}
