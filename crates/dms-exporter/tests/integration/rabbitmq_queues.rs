//! RabbitMQ depth end to end under paused time: queue depths and consumer counts equal the
//! simulator's, follow stopped consumers and floods, the limit keeps the deepest queues and
//! counts the rest, filters skip vhosts and queues, the calls per cycle are what the paging
//! says, and a failing queue list keeps the last good data.

use std::collections::BTreeMap;
use std::time::Duration;

use dms_exporter::app::Exporter;
use dms_sim::{Fault, FaultRule, SimConfig, Simulator};
use tokio_util::sync::CancellationToken;

use crate::rabbitmq::rabbit;
use crate::support::{in_process, series};

const FAST: &str = "collectors:
  jitter: 0
  instances: {interval: 10s}
  rabbitmq_queues: {interval: 5s}
";

async fn start(sim: &Simulator, extra: &str) -> (Exporter, CancellationToken) {
    let shutdown = CancellationToken::new();
    let exporter = in_process(sim, &SimConfig::deterministic(), extra, &shutdown);
    exporter.readiness.wait().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    (exporter, shutdown)
}

/// (vhost, queue) → value of every series of a per-queue family.
fn per_queue(exporter: &Exporter, family: &str) -> BTreeMap<(String, String), f64> {
    series(exporter, family)
        .iter()
        .filter_map(|line| {
            let label = |name: &str| {
                let start = line.find(&format!("{name}=\""))? + name.len() + 2;
                let end = start + line[start..].find('"')?;
                Some(line[start..end].to_owned())
            };
            let value = line.rsplit_once(' ')?.1.parse().ok()?;
            Some(((label("vhost")?, label("queue")?), value))
        })
        .collect()
}

/// (vhost, queue) → (messages, consumers) as the simulator holds them.
fn truth(sim: &Simulator) -> BTreeMap<(String, String), (f64, f64)> {
    let state = sim.state_summary();
    let mut out = BTreeMap::new();
    let vhosts = state["rabbitmq"][0]["depth"]["vhosts"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (vhost, v) in vhosts {
        for (queue, q) in v["queues"].as_object().cloned().unwrap_or_default() {
            let number = |key: &str| q[key].as_f64().unwrap_or(f64::NAN);
            out.insert(
                (vhost.clone(), queue),
                (number("messages"), number("consumers")),
            );
        }
    }
    out
}

fn assert_equal_to_truth(exporter: &Exporter, sim: &Simulator) {
    let truth = truth(sim);
    let messages = per_queue(exporter, "dms_rabbitmq_queue_messages");
    let consumers = per_queue(exporter, "dms_rabbitmq_queue_consumers");
    let expected_messages: BTreeMap<_, _> = truth.iter().map(|(k, v)| (k.clone(), v.0)).collect();
    let expected_consumers: BTreeMap<_, _> = truth.iter().map(|(k, v)| (k.clone(), v.1)).collect();
    assert_eq!(messages, expected_messages);
    assert_eq!(consumers, expected_consumers);
}

fn instance_value(exporter: &Exporter, family: &str, needle: &str) -> Option<f64> {
    series(exporter, family)
        .iter()
        .find(|l| l.contains(needle))
        .and_then(|l| l.rsplit_once(' ')?.1.parse().ok())
}

#[tokio::test(start_paused = true)]
async fn depths_and_consumers_equal_the_simulators() {
    let sim = Simulator::new(SimConfig::deterministic());
    let (exporter, shutdown) = start(&sim, FAST).await;
    assert_eq!(truth(&sim).len(), 6, "three vhosts, six queues");
    assert_equal_to_truth(&exporter, &sim);

    let id = rabbit(&sim);
    assert!(sim.set_queue_consumers_running(&id, "/", "orders.created", false));
    assert!(sim.set_queue_messages(&id, "/staging", "orders.created", 250_000));
    for _ in 0..3 {
        sim.step();
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_equal_to_truth(&exporter, &sim);
    let consumers = per_queue(&exporter, "dms_rabbitmq_queue_consumers");
    assert_eq!(
        consumers[&("/".to_owned(), "orders.created".to_owned())],
        0.0
    );
    let messages = per_queue(&exporter, "dms_rabbitmq_queue_messages");
    assert!(messages[&("/staging".to_owned(), "orders.created".to_owned())] >= 249_000.0);

    let state = sim.state_summary();
    let exchanges: f64 = state["rabbitmq"][0]["depth"]["vhosts"]
        .as_object()
        .map(|v| v.values().filter_map(|v| v["exchanges"].as_f64()).sum())
        .unwrap_or_default();
    let instance = format!("instance_id=\"{id}\"");
    assert_eq!(
        instance_value(&exporter, "dms_rabbitmq_exchanges", &instance),
        Some(exchanges)
    );
    assert_eq!(
        instance_value(&exporter, "dms_rabbitmq_queues", &instance),
        Some(6.0)
    );
    shutdown.cancel();
}

#[tokio::test(start_paused = true)]
async fn the_limit_keeps_the_deepest_queues_and_filters_skip_vhosts_and_queues() {
    let sim = Simulator::new(SimConfig::deterministic());
    let id = rabbit(&sim);
    assert!(sim.add_queues(&id, "/", "bulk", 2_000));
    let extra = format!(
        "{FAST}  rabbitmq_queues_limit: 100
filters:
  vhosts:
    exclude: billing
  queues:
    exclude: \"bulk-0000.*\"
"
    );
    let (exporter, shutdown) = start(&sim, &extra).await;
    let exported = per_queue(&exporter, "dms_rabbitmq_queue_messages");
    assert_eq!(exported.len(), 100);
    assert!(exported.keys().all(|(vhost, _)| vhost != "billing"));
    assert!(
        exported
            .keys()
            .all(|(_, queue)| !queue.starts_with("bulk-0000"))
    );
    // The deepest allowed queues, ties by vhost and name.
    let mut allowed: Vec<((String, String), f64)> = truth(&sim)
        .into_iter()
        .filter(|((vhost, queue), _)| vhost != "billing" && !queue.starts_with("bulk-0000"))
        .map(|(key, (messages, _))| (key, messages))
        .collect();
    let candidates = allowed.len();
    allowed.sort_by(|(ka, a), (kb, b)| b.total_cmp(a).then_with(|| ka.cmp(kb)));
    let deepest: BTreeMap<_, _> = allowed.into_iter().take(100).collect();
    assert_eq!(exported, deepest);
    for family in ["dms_rabbitmq_queue_consumers", "dms_rabbitmq_queue_info"] {
        assert_eq!(series(&exporter, family).len(), 100, "{family}");
    }

    let omitted = |reason: &str| {
        instance_value(
            &exporter,
            "dms_rabbitmq_queues_omitted",
            &format!("reason=\"{reason}\""),
        )
    };
    assert_eq!(omitted("filter"), Some(10.0), "bulk-00000 to bulk-00009");
    assert_eq!(omitted("limit"), Some((candidates - 100) as f64));
    // Every queue of the vhosts read is counted, exported or not; billing is not read.
    let vhost_queues = series(&exporter, "dms_rabbitmq_vhost_queues");
    assert!(
        vhost_queues
            .iter()
            .all(|l| !l.contains("vhost=\"billing\"")),
        "{vhost_queues:?}"
    );
    let instance = format!("instance_id=\"{id}\"");
    assert_eq!(
        instance_value(&exporter, "dms_rabbitmq_queues", &instance),
        Some(2_004.0)
    );
    shutdown.cancel();
}

/// API calls of one `rabbitmq_queues` cycle for the deterministic cluster (three vhosts) with
/// 5,000 more queues in `/`: one vhost page, one queue page per 50 queues of each vhost, one
/// exchange call per vhost.
#[tokio::test(start_paused = true)]
async fn calls_per_cycle_follow_the_paging() {
    // Readiness waits for the slowest first round (Kafka partitions): a minute is one cycle.
    let slow = FAST.replace(
        "rabbitmq_queues: {interval: 5s}",
        "rabbitmq_queues: {interval: 60s}",
    );
    let sim = Simulator::new(SimConfig::deterministic());
    let id = rabbit(&sim);
    let (exporter, shutdown) = start(&sim, &slow).await;
    let counts = sim.request_counts();
    let calls = |counts: &BTreeMap<String, u64>, api: &str| counts.get(api).copied().unwrap_or(0);
    // Three vhosts of 3, 1 and 2 queues.
    assert_eq!(calls(&counts, "rabbitmq_vhosts"), 1);
    assert_eq!(calls(&counts, "rabbitmq_queues"), 3);
    assert_eq!(calls(&counts, "rabbitmq_exchanges"), 3);
    shutdown.cancel();
    drop(exporter);

    let sim = Simulator::new(SimConfig::deterministic());
    assert!(sim.add_queues(&id, "/", "bulk", 5_000));
    let (exporter, shutdown) = start(&sim, &slow).await;
    let counts = sim.request_counts();
    // `/` holds 5,003 queues: 101 pages; `/staging` and `billing` one each.
    assert_eq!(calls(&counts, "rabbitmq_vhosts"), 1);
    assert_eq!(calls(&counts, "rabbitmq_queues"), 101 + 1 + 1);
    assert_eq!(calls(&counts, "rabbitmq_exchanges"), 3);
    // The default limit exports 1,000 of them.
    assert_eq!(
        per_queue(&exporter, "dms_rabbitmq_queue_messages").len(),
        1_000
    );
    // A second cycle costs the same.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let again = sim.request_counts();
    assert_eq!(calls(&again, "rabbitmq_queues"), 2 * 103, "{again:?}");
    shutdown.cancel();
}

#[tokio::test(start_paused = true)]
async fn a_failing_queue_list_keeps_the_last_good_depths() {
    let sim = Simulator::new(SimConfig::deterministic());
    let (exporter, shutdown) = start(&sim, FAST).await;
    let before = series(&exporter, "dms_rabbitmq_queue_messages");
    let totals = series(&exporter, "dms_rabbitmq_queues");
    assert_eq!(before.len(), 6);
    sim.set_fault(FaultRule {
        endpoint: "rabbitmq_queues".to_owned(),
        instance_id: None,
        fault: Fault::ServerError(503),
        remaining: None,
    });
    let id = rabbit(&sim);
    assert!(sim.set_queue_messages(&id, "/", "emails", 77_777));
    let up = || {
        series(&exporter, "dms_instance_collector_up")
            .iter()
            .find(|l| l.contains("collector=\"rabbitmq_queues\""))
            .map(|l| l.ends_with(" 0"))
    };
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(series(&exporter, "dms_rabbitmq_queue_messages"), before);
        if up() == Some(true) {
            break;
        }
    }
    assert_eq!(up(), Some(true), "the failure is reported");
    assert_eq!(
        series(&exporter, "dms_rabbitmq_queues"),
        totals,
        "no partial sums"
    );
    // Exchanges still answer: their part is fresh.
    assert_eq!(series(&exporter, "dms_rabbitmq_vhost_exchanges").len(), 3);
    sim.clear_faults();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let emails = per_queue(&exporter, "dms_rabbitmq_queue_messages");
    assert_eq!(emails[&("/".to_owned(), "emails".to_owned())], 77_777.0);
    shutdown.cancel();
}
