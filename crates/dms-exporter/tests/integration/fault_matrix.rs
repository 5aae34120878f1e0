//! The fault matrix (issue 9, "Prove it"): every fault kind of the simulator × where it
//! applies (one API of one instance, one API everywhere, one region), each row against a fresh
//! exporter under paused time. Two regions read two simulators (hosts `sim-a` and `sim-b`),
//! so a region's fault is its simulator's. Per row:
//!
//! - the exporter survives (no task failed, nothing shut down);
//! - while the fault lasts (shorter than `max_age`) the served series do not change at all:
//!   the last good data stays, never zeros, and nothing outside the fault moves;
//! - everything outside the fault stays fresh: each (API, instance) it read before the fault is
//!   answered 200 again during it;
//! - the self-metrics show the fault (errors, throttling, or a collector down);
//! - after the fault clears, everything is up again with the same series within the row's
//!   bound: one interval plus one request timeout, or the documented 60 s hold-off of a
//!   rejected signature or of an API the account may not call.
//!
//! The rows and their results are printed (`--nocapture`) and all rows run before one assert.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use dms_cloud::auth::Credentials;
use dms_exporter::app::{self, Exporter};
use dms_exporter::collect::ces;
use dms_exporter::config;
use dms_exporter::metrics::exposition::Format;
use dms_sim::{Fault, FaultRule, SimConfig, Simulator};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::support::{HostRouter, credentials, snapshot_text, two_region_yaml};

/// Every collector's interval; `max_age` is three of them.
const INTERVAL: Duration = Duration::from_secs(10);
/// The client's request timeout (latency beyond it is a fault).
const TIMEOUT: Duration = Duration::from_secs(2);
/// How long each fault lasts: shorter than `max_age` minus an interval, so the last good
/// data must still be served at its end.
const FAULT_WINDOW: Duration = Duration::from_secs(15);
/// The pause after a rejected signature and the hold-off of a denied (API, instance).
const HOLD_OFF: Duration = dms_cloud::DENIED_API_HOLD_OFF;
/// The API the per-API rows break: the Kafka consumer-group list.
const API: &str = "kafka_groups";
/// What that API's failure keeps from being read: the list and the details of the groups
/// it lists.
const SHADOW: [&str; 2] = [API, "kafka_group"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Where {
    ApiOfOneInstance,
    ApiEverywhere,
    WholeRegion,
}

struct Row {
    kind: &'static str,
    fault: Fault,
    scope: Where,
    /// IAM-token credentials instead of AK/SK.
    password: bool,
    /// Longest time from clearing to full recovery.
    recovery: Duration,
}

fn rows() -> Vec<Row> {
    let all = [
        Where::ApiOfOneInstance,
        Where::ApiEverywhere,
        Where::WholeRegion,
    ];
    // A failing scope is probed with backoff up to its cap; a rejected key after its first
    // delay, or, when calls in flight together failed, once the five-minute window allows.
    let quick = INTERVAL + TIMEOUT + dms_cloud::budget::backoff::MAX_DELAY;
    let held_off = HOLD_OFF + INTERVAL + TIMEOUT;
    let key_rejected = dms_cloud::budget::signature::WINDOW + INTERVAL + TIMEOUT;
    let kinds: Vec<(&'static str, Fault, &[Where], bool, Duration)> = vec![
        ("throttle_429", Fault::Throttle429, &all, false, quick),
        ("throttle_404", Fault::Throttle404, &all, false, quick),
        (
            "server_error_503",
            Fault::ServerError(503),
            &all,
            false,
            quick,
        ),
        // The gateway checks signatures and dates for the whole AK: region-wide only.
        (
            "unauthorized_signature",
            Fault::Unauthorized,
            &[Where::WholeRegion],
            false,
            key_rejected,
        ),
        (
            "clock_skew",
            Fault::ClockSkew,
            &[Where::WholeRegion],
            false,
            key_rejected,
        ),
        (
            "unauthorized_dms_code",
            Fault::DmsUnauthorized,
            &all,
            false,
            held_off,
        ),
        ("forbidden", Fault::Forbidden, &all, false, held_off),
        (
            "latency_beyond_timeout",
            Fault::Latency(TIMEOUT * 3),
            &all,
            false,
            quick,
        ),
        ("stall", Fault::Stall, &all, false, quick),
        ("malformed", Fault::Malformed, &all, false, quick),
        ("truncated", Fault::Truncated, &all, false, quick),
        ("not_found", Fault::NotFound, &all, false, quick),
        ("token_expired", Fault::TokenExpired, &all, true, quick),
    ];
    kinds
        .into_iter()
        .flat_map(|(kind, fault, scopes, password, recovery)| {
            scopes.iter().map(move |scope| Row {
                kind,
                fault: fault.clone(),
                scope: *scope,
                password,
                // Region-wide, IAM answers the token request with the fault too: after an
                // authentication failure IAM is not asked again for a minute (account lock).
                recovery: if password && *scope == Where::WholeRegion {
                    dms_cloud::auth::AUTH_FAILURE_BACKOFF + INTERVAL + TIMEOUT
                } else {
                    recovery
                },
            })
        })
        .collect()
}

struct World {
    /// Region `cn-north-4` (host `sim-a`) and region `ap-southeast-1` (host `sim-b`).
    a: Simulator,
    b: Simulator,
    exporter: Exporter,
    shutdown: CancellationToken,
}

fn yaml(sim: &SimConfig) -> String {
    let api = format!(
        "  rate_limit: 200\n  burst: 50\n  concurrency: 16\n  timeout: {}s\n",
        TIMEOUT.as_secs()
    );
    // Every collector but Cloud Eye's: its series come as their late points arrive, so the
    // served set is not steady even without a fault; its faults have their own tests.
    two_region_yaml(sim, |name| name != ces::DESCRIPTION.name, INTERVAL, &api)
}

async fn world(password: bool) -> World {
    let sim_config = SimConfig::deterministic();
    let (a, b) = (
        Simulator::new(sim_config.clone()),
        Simulator::new(sim_config.clone()),
    );
    let router = HostRouter::new([("sim-a", &a), ("sim-b", &b)]);
    let text = yaml(&sim_config);
    let config = config::parse_str(&text, "(fault matrix)").unwrap_or_else(|e| panic!("{e}"));
    let credentials = if password {
        let user = &sim_config.iam_users[0];
        Credentials::password(&user.name, &user.password, &user.domain)
    } else {
        credentials(&sim_config)
    };
    let shutdown = CancellationToken::new();
    let exporter = app::start(
        config,
        credentials,
        Arc::new(router),
        None,
        shutdown.clone(),
    );
    exporter.readiness.wait().await;
    // Every collector has run a full cycle after readiness.
    tokio::time::sleep(INTERVAL + Duration::from_secs(1)).await;
    World {
        a,
        b,
        exporter,
        shutdown,
    }
}

/// Consumer health families whose values follow the clock, not the API's answers: lag in
/// seconds grows and status windows fill while a fleet stands still.
const CLOCK_DRIVEN: &[&str] = &[
    "dms_kafka_consumergroup_lag_seconds",
    "dms_kafka_consumergroup_topic_lag_seconds",
    "dms_kafka_consumergroup_lag_retention_ratio",
    "dms_kafka_consumergroup_partition_status",
    "dms_kafka_consumergroup_status",
    "dms_rocketmq_consumergroup_lag_seconds",
    "dms_rocketmq_consumergroup_topic_lag_seconds",
    "dms_rocketmq_consumergroup_queue_status",
    "dms_rocketmq_consumergroup_status",
];

/// The served series, without the per-instance health lines (their timestamps are wall time);
/// of clock-driven families only the series themselves, not their values.
pub(crate) fn served(exporter: &Exporter) -> BTreeSet<String> {
    snapshot_text(exporter)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("dms_instance_collector_"))
        .map(|l| {
            let family = l.split(['{', ' ']).next().unwrap_or_default();
            if CLOCK_DRIVEN.contains(&family) {
                l.rsplit_once(' ')
                    .map_or(l, |(series, _)| series)
                    .to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect()
}

pub(crate) fn value(line: &str) -> f64 {
    line.rsplit_once(' ')
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(f64::NAN)
}

/// The `{...}` label text of a series line.
pub(crate) fn labels(line: &str) -> &str {
    line.split_once('{')
        .and_then(|(_, rest)| rest.rsplit_once('}'))
        .map_or("", |(labels, _)| labels)
}

/// Whether every collector (project and instance health) is up.
pub(crate) fn all_up(exporter: &Exporter) -> bool {
    let mut text = String::new();
    exporter.self_metrics.encode(Format::Text, &mut text);
    let health = snapshot_text(exporter);
    text.lines()
        .chain(health.lines())
        .filter(|l| {
            l.starts_with("dms_collector_up{") || l.starts_with("dms_instance_collector_up{")
        })
        .all(|l| value(l) == 1.0)
}

/// What the self-metrics say of faults: errors and throttled answers counted, and any
/// collector down now.
#[derive(Debug, Default, PartialEq)]
struct FaultSignals {
    /// Answers other than 2xx, and timeouts (`dms_api_requests_total`).
    failed_requests: f64,
    errors: f64,
    throttled: f64,
    down: usize,
}

fn signals(exporter: &Exporter) -> FaultSignals {
    let mut text = String::new();
    exporter.self_metrics.encode(Format::Text, &mut text);
    let health = snapshot_text(exporter);
    let mut signals = FaultSignals::default();
    for line in text.lines().chain(health.lines()) {
        if line.starts_with("dms_api_requests_total{") && !labels(line).contains("code=\"2") {
            signals.failed_requests += value(line);
        } else if line.starts_with("dms_collector_errors_total{") {
            signals.errors += value(line);
        } else if line.starts_with("dms_api_throttled_total{") {
            signals.throttled += value(line);
        } else if (line.starts_with("dms_collector_up{")
            || line.starts_with("dms_instance_collector_up{"))
            && value(line) == 0.0
        {
            signals.down += 1;
        }
    }
    signals
}

/// (endpoint, instance) pairs answered 200 at or after `since`.
fn answered(sim: &Simulator, since: Instant) -> BTreeSet<(String, String)> {
    sim.request_log()
        .into_iter()
        .filter(|r| r.status == 200 && r.at >= since)
        .map(|r| (r.endpoint.to_owned(), r.instance_id.unwrap_or_default()))
        .collect()
}

/// The Kafka instance of region `cn-north-4` whose API the per-instance rows break.
fn victim(exporter: &Exporter) -> String {
    served(exporter)
        .iter()
        .filter(|l| l.starts_with("dms_instance_info{"))
        .map(|l| labels(l).to_owned())
        .find(|l| l.contains("engine=\"kafka\"") && l.contains("region=\"cn-north-4\""))
        .and_then(|l| {
            l.split("instance_id=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .map(str::to_owned)
        })
        .expect("a Kafka instance in cn-north-4")
}

/// Runs one row; returns its result line, or the reasons it failed.
async fn run(row: &Row) -> Result<String, String> {
    let world = world(row.password).await;
    let exporter = &world.exporter;
    let baseline = served(exporter);
    let victim = victim(exporter);
    let before = signals(exporter);
    let fault_start = Instant::now();
    let rule = |endpoint: &str, instance: Option<&str>| FaultRule {
        endpoint: endpoint.to_owned(),
        instance_id: instance.map(str::to_owned),
        fault: row.fault.clone(),
        remaining: None,
    };
    // The pairs outside the fault that must stay fresh: those read before it.
    let read_before = |sim: &Simulator| answered(sim, Instant::now() - INTERVAL * 2);
    let (outside_a, outside_b): (BTreeSet<_>, BTreeSet<_>) = match row.scope {
        Where::ApiOfOneInstance => {
            world.a.set_fault(rule(API, Some(&victim)));
            let a = read_before(&world.a)
                .into_iter()
                .filter(|(e, i)| !(SHADOW.contains(&e.as_str()) && *i == victim))
                .collect();
            (a, read_before(&world.b))
        }
        Where::ApiEverywhere => {
            world.a.set_fault(rule(API, None));
            world.b.set_fault(rule(API, None));
            let outside = |sim: &Simulator| {
                read_before(sim)
                    .into_iter()
                    .filter(|(e, _)| !SHADOW.contains(&e.as_str()))
                    .collect()
            };
            (outside(&world.a), outside(&world.b))
        }
        Where::WholeRegion => {
            world.b.set_fault(rule("*", None));
            (read_before(&world.a), BTreeSet::new())
        }
    };
    let mut problems = Vec::new();
    let mut seen = FaultSignals::default();
    let step = Duration::from_secs(1);
    while fault_start.elapsed() < FAULT_WINDOW {
        tokio::time::sleep(step).await;
        let now = served(exporter);
        if now != baseline && problems.is_empty() {
            let gone: Vec<&String> = baseline.difference(&now).take(3).collect();
            let new: Vec<&String> = now.difference(&baseline).take(3).collect();
            problems.push(format!(
                "series changed at {:?} during the fault: gone {gone:?}, new {new:?}",
                fault_start.elapsed()
            ));
        }
        let current = signals(exporter);
        seen.down = seen.down.max(current.down);
        seen.errors = current.errors;
        seen.throttled = current.throttled;
        seen.failed_requests = current.failed_requests;
    }
    for (sim, outside, region) in [
        (&world.a, &outside_a, "cn-north-4"),
        (&world.b, &outside_b, "ap-southeast-1"),
    ] {
        let fresh = answered(sim, fault_start);
        let stale: Vec<&(String, String)> = outside.difference(&fresh).take(5).collect();
        if !stale.is_empty() {
            problems.push(format!("{region}: not read during the fault: {stale:?}"));
        }
    }
    // A timeout shows at once as a request with code "timeout"; a 200 with a bad body as a
    // decode error of the collector.
    let visible = seen.failed_requests > before.failed_requests
        || seen.errors > before.errors
        || seen.throttled > before.throttled
        || seen.down > 0;
    if !visible {
        problems.push(format!("the self-metrics do not show the fault: {seen:?}"));
    }
    world.a.clear_faults();
    world.b.clear_faults();
    let cleared = Instant::now();
    let recovered = loop {
        if all_up(exporter) && served(exporter) == baseline {
            break Some(cleared.elapsed());
        }
        if cleared.elapsed() > row.recovery {
            break None;
        }
        tokio::time::sleep(step).await;
    };
    if recovered.is_none() {
        problems.push(format!("not recovered within {:?}", row.recovery));
    }
    if let Some(failure) = exporter.supervisor.failure() {
        problems.push(format!("the exporter failed: {failure}"));
    }
    if world.shutdown.is_cancelled() {
        problems.push("the exporter shut down".to_owned());
    }
    world.shutdown.cancel();
    let summary = format!(
        "{:<24} {:<18} failed requests +{:<4} errors +{:<4} throttled +{:<4} down {:<3} recovered in {:>4}",
        row.kind,
        format!("{:?}", row.scope),
        seen.failed_requests - before.failed_requests,
        seen.errors - before.errors,
        seen.throttled - before.throttled,
        seen.down,
        recovered.map_or("never".to_owned(), |d| format!("{}s", d.as_secs())),
    );
    if problems.is_empty() {
        Ok(summary)
    } else {
        Err(format!("{summary}\n    {}", problems.join("\n    ")))
    }
}

#[tokio::test(start_paused = true)]
async fn every_fault_degrades_only_its_scope_and_recovers() {
    let mut failed = Vec::new();
    for row in rows() {
        match run(&row).await {
            Ok(line) => eprintln!("ok   {line}"),
            Err(line) => {
                eprintln!("FAIL {line}");
                failed.push(line);
            }
        }
    }
    assert!(failed.is_empty(), "failed rows:\n{}", failed.join("\n"));
}

/// The credential sources' faults, a table of their own: a source serves the whole process
/// (not a region, an API or an instance), and its fault matters only when a refresh falls in
/// it, so each row is one source whose service fails across its refresh, an hour of keys
/// with the default 15-minute margin. Per row: the series do not change while the current
/// keys live, no collector goes down, the failed refreshes are counted, and once the service
/// answers again new keys arrive and nothing was ever refused for expired keys.
#[tokio::test(start_paused = true)]
async fn every_credential_source_fault_is_ridden_out_while_the_keys_live() {
    use crate::support::{RouterTransport, config_for};
    use crate::temporary_credentials::{account_with_agency, agency_credentials};
    use dms_cloud::Transport;
    use dms_sim::{AgencyFault, IdentityFault, MetadataFault};

    const MINUTE: Duration = Duration::from_secs(60);
    let token_dir = std::env::temp_dir().join(format!("dms-fault-token-{}", std::process::id()));
    std::fs::create_dir_all(&token_dir).unwrap_or_else(|e| panic!("{e}"));
    let token_file = token_dir.join("token");
    std::fs::write(&token_file, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")
        .unwrap_or_else(|e| panic!("{e}"));
    type Break = Box<dyn Fn(&Simulator, bool)>;
    let rows: Vec<(&str, String, Break)> = vec![
        (
            "metadata_unavailable",
            "credentials:\n  source: ecs_metadata\n  ecs_metadata: {endpoint: http://ecs.sim.invalid}\n".to_owned(),
            Box::new(|sim: &Simulator, on| {
                sim.set_metadata_fault(if on { MetadataFault::Unavailable } else { MetadataFault::None })
            }),
        ),
        (
            "id_token_exchange_refused",
            format!(
                "credentials:\n  source: id_token\n  id_token: {{idp_id: {}, token_file: {}, iam_endpoint: http://iam.sim.invalid, key_lifetime: 1h}}\n",
                SimConfig::deterministic().id_token_idp,
                token_file.display()
            ),
            Box::new(|sim: &Simulator, on| {
                sim.set_identity_fault(if on { IdentityFault::RejectIdTokens } else { IdentityFault::None })
            }),
        ),
        (
            "oidc_agency_refused",
            {
                let config = SimConfig::deterministic();
                let domain = Simulator::new(config.clone()).domain_id().to_owned();
                format!(
                    "credentials:\n  source: id_token\n  id_token: {{provider_urn: 'iam::{domain}:identity-provider:{}', agency_urn: 'iam::{domain}:agency:{}', token_file: {}, sts_endpoint: http://sts.sim.invalid, key_lifetime: 1h}}\n",
                    config.id_token_idp,
                    config.oidc_agency,
                    token_file.display()
                )
            },
            Box::new(|sim: &Simulator, on| {
                sim.set_agency_fault(if on { AgencyFault::NotAuthorized } else { AgencyFault::None })
            }),
        ),
        (
            "agency_refused",
            String::new(),
            Box::new(|sim: &Simulator, on| {
                sim.set_agency_fault(if on { AgencyFault::NotAuthorized } else { AgencyFault::None })
            }),
        ),
    ];
    let mut failed = Vec::new();
    for (kind, credentials, set_fault) in rows {
        let (sim_config, sim) = account_with_agency(SimConfig::deterministic().seed);
        let credentials = if credentials.is_empty() {
            agency_credentials(&sim, "http://sts.sim.invalid", "")
        } else {
            credentials
        };
        let extra = format!(
            "{credentials}collectors:\n  jitter: 0\n  kafka_partitions: {{enabled: false}}\n  ces: {{enabled: false}}\n"
        );
        let config = config_for(&sim_config, "127.0.0.1:9".parse().expect("address"), &extra);
        let transport: Arc<dyn Transport> = Arc::new(RouterTransport(sim.clone()));
        let keys =
            config::resolve_credentials(&config.credentials, &config::ProcessEnv, &transport)
                .unwrap_or_else(|e| panic!("{kind}: {e}"));
        let shutdown = CancellationToken::new();
        let exporter = app::start(config, keys, transport, None, shutdown.clone());
        exporter.readiness.wait().await;
        tokio::time::sleep(2 * MINUTE).await;
        let baseline = served(&exporter);
        let mut problems = Vec::new();
        // The refresh is due at 45 min; the service fails from 40 to 55 min.
        tokio::time::sleep(38 * MINUTE).await;
        set_fault(&sim, true);
        for _ in 0..15 {
            tokio::time::sleep(MINUTE).await;
            if served(&exporter) != baseline && problems.is_empty() {
                problems.push("the series changed during the fault".to_owned());
            }
            if !all_up(&exporter) && problems.is_empty() {
                problems.push("a collector went down during the fault".to_owned());
            }
        }
        let mut text = String::new();
        exporter.self_metrics.encode(Format::Text, &mut text);
        let failures: f64 = text
            .lines()
            .filter(|l| l.starts_with("dms_credentials_refresh_failures_total{"))
            .map(value)
            .sum();
        if failures < 1.0 {
            problems.push(format!("no failed refresh counted: {failures}"));
        }
        set_fault(&sim, false);
        let issued = sim.temporary_access_keys().len();
        tokio::time::sleep(3 * MINUTE).await;
        if sim.temporary_access_keys().len() <= issued {
            problems.push("no new keys after the fault".to_owned());
        }
        if sim
            .request_log()
            .iter()
            .any(|r| r.status == 401 || r.status == 403)
        {
            problems.push("a call was refused".to_owned());
        }
        if let Some(failure) = exporter.supervisor.failure() {
            problems.push(format!("the exporter failed: {failure}"));
        }
        shutdown.cancel();
        let line = format!("{kind:<28} refresh failures {failures}");
        if problems.is_empty() {
            eprintln!("ok   {line}");
        } else {
            eprintln!("FAIL {line}: {}", problems.join("; "));
            failed.push(format!("{line}: {}", problems.join("; ")));
        }
    }
    std::fs::remove_dir_all(&token_dir).ok();
    assert!(failed.is_empty(), "failed rows:\n{}", failed.join("\n"));
}
