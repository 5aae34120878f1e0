//! RocketMQ collectors against the simulator in-process, under paused time: lag agrees with
//! the simulator, a stopped consumer's lag grows, the detail-call limit skips and rotates (and
//! says so in the self-metrics), and a failing group keeps its last good data.

use std::collections::BTreeMap;
use std::time::Duration;

use dms_exporter::metrics::exposition::Format;
use dms_sim::{Fault, FaultRule, SimConfig, Simulator};
use tokio_util::sync::CancellationToken;

use crate::support::{in_process, series};

pub(crate) const ROCKET: &str = "collectors:
  jitter: 0
  instances: {interval: 1h}
  tags: {interval: 1h}
  tasks: {interval: 1h}
  kafka_cluster: {interval: 1h}
  kafka_disk_usage: {interval: 1h}
  kafka_topics: {interval: 1h}
  kafka_partitions: {interval: 1h}
  kafka_groups: {interval: 1h}
  rocketmq_brokers: {interval: 1h}
  rocketmq_groups: {interval: 1h}
  rocketmq_lag: {interval: 10s, max_age: 1h}
  rocketmq_topics: {interval: 10s, max_age: 1h}
  rocketmq_users: {interval: 1h}
api:
  rate_limit: 100
  burst: 20
";

pub(crate) async fn ready(
    config: &str,
) -> (Simulator, dms_exporter::app::Exporter, CancellationToken) {
    let sim_config = SimConfig::deterministic();
    let sim = Simulator::new(SimConfig::deterministic());
    let shutdown = CancellationToken::new();
    let exporter = in_process(&sim, &sim_config, config, &shutdown);
    exporter.readiness.wait().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    (sim, exporter, shutdown)
}

pub(crate) fn value(line: &str) -> f64 {
    line.rsplit_once(' ')
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(f64::NAN)
}

pub(crate) fn label<'a>(line: &'a str, name: &str) -> &'a str {
    line.split(&format!("{name}=\""))
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_default()
}

/// group → Σ topic lag, from the exporter.
fn lag_per_group(exporter: &dms_exporter::app::Exporter) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in series(exporter, "dms_rocketmq_consumergroup_topic_lag") {
        *out.entry(label(&line, "group").to_owned()).or_default() += value(&line);
    }
    out
}

/// group → lag, from the simulator's state.
fn sim_lag(sim: &Simulator, instance: &str) -> BTreeMap<String, f64> {
    sim_per_group(sim, instance, "lag")
}

/// group → one field of the group in the simulator's state.
fn sim_per_group(sim: &Simulator, instance: &str, field: &str) -> BTreeMap<String, f64> {
    let state = sim.state_summary();
    let rocket = state["rocketmq"].as_array().cloned().unwrap_or_default();
    let me = rocket
        .iter()
        .find(|i| i["instance_id"] == instance)
        .expect("instance in state");
    me["groups"]
        .as_object()
        .expect("groups")
        .iter()
        .map(|(g, v)| (g.clone(), v[field].as_f64().unwrap_or(f64::NAN)))
        .collect()
}

fn self_metric(exporter: &dms_exporter::app::Exporter, family: &str, collector: &str) -> f64 {
    let mut text = String::new();
    exporter.self_metrics.encode(Format::Text, &mut text);
    text.lines()
        .filter(|l| l.starts_with(family) && l.contains(&format!("collector=\"{collector}\"")))
        .map(value)
        .sum()
}

#[tokio::test(start_paused = true)]
async fn lag_matches_the_simulator_and_a_stopped_consumer_falls_behind() {
    let (sim, exporter, shutdown) = ready(ROCKET).await;
    let id = sim.instance_ids_of("reliability").remove(0);
    assert_eq!(lag_per_group(&exporter), sim_lag(&sim, &id));
    // Per-queue series add up to the per-topic sums, and lag = broker - consumer offset.
    let queues = series(&exporter, "dms_rocketmq_consumergroup_lag");
    let brokers = series(&exporter, "dms_rocketmq_consumergroup_broker_offset");
    let consumers = series(&exporter, "dms_rocketmq_consumergroup_consumer_offset");
    assert!(!queues.is_empty());
    for ((lag, broker), consumer) in queues.iter().zip(&brokers).zip(&consumers) {
        assert_eq!(value(lag), value(broker) - value(consumer), "{lag}");
    }

    assert!(sim.set_consumer_running(&id, "group-orders", false));
    let before = lag_per_group(&exporter)["group-orders"];
    for _ in 0..3 {
        sim.step();
    }
    tokio::time::sleep(Duration::from_secs(11)).await;
    let after = lag_per_group(&exporter)["group-orders"];
    assert!(
        after > before,
        "lag grows while stopped: {before} -> {after}"
    );
    assert_eq!(lag_per_group(&exporter), sim_lag(&sim, &id));
    shutdown.cancel();
}

/// group → its largest lag in seconds over its topics, from the exporter.
fn lag_seconds_per_group(exporter: &dms_exporter::app::Exporter) -> BTreeMap<String, f64> {
    let mut out: BTreeMap<String, f64> = BTreeMap::new();
    for line in series(exporter, "dms_rocketmq_consumergroup_topic_lag_seconds") {
        let max = out.entry(label(&line, "group").to_owned()).or_default();
        *max = max.max(value(&line));
    }
    out
}

/// group → lag in seconds, from the simulator's truth.
fn sim_lag_seconds(sim: &Simulator, instance: &str) -> BTreeMap<String, f64> {
    sim_per_group(sim, instance, "lag_seconds")
}

/// Series without its value (name and labels), for joining two families.
fn labels_of(line: &str, family: &str) -> String {
    line.rsplit_once(' ')
        .map(|(head, _)| head.trim_start_matches(family).to_owned())
        .unwrap_or_default()
}

#[tokio::test(start_paused = true)]
async fn lag_in_seconds_matches_the_simulator_and_grows_while_stopped() {
    let (sim, exporter, shutdown) = ready(ROCKET).await;
    let id = sim.instance_ids_of("reliability").remove(0);
    assert_eq!(lag_seconds_per_group(&exporter), sim_lag_seconds(&sim, &id));
    assert!(sim.set_consumer_running(&id, "group-orders", false));
    for _ in 0..6 {
        sim.step();
    }
    tokio::time::sleep(Duration::from_secs(11)).await;
    let seconds = lag_seconds_per_group(&exporter);
    assert_eq!(seconds, sim_lag_seconds(&sim, &id));
    // Stopped for 6 ticks of 10 s: a queue written in the last tick is at least 60 s ahead of
    // the last message consumed before the stop.
    assert!(seconds["group-orders"] >= 60.0, "{seconds:?}");
    // Every queue without lag reports exactly 0 seconds, and every lagging one a value.
    let lag_family = "dms_rocketmq_consumergroup_lag";
    let seconds_family = "dms_rocketmq_consumergroup_lag_seconds";
    let by_queue: BTreeMap<String, f64> = series(&exporter, seconds_family)
        .iter()
        .map(|l| (labels_of(l, seconds_family), value(l)))
        .collect();
    let lags = series(&exporter, lag_family);
    assert_eq!(by_queue.len(), lags.len());
    for line in lags {
        let queue_seconds = by_queue[&labels_of(&line, lag_family)];
        if value(&line) == 0.0 {
            assert_eq!(queue_seconds, 0.0, "{line}");
        }
    }
    shutdown.cancel();
}

#[tokio::test(start_paused = true)]
async fn the_detail_call_limit_skips_rotates_and_reports() {
    let config = ROCKET.replace(
        "  jitter: 0\n",
        "  jitter: 0\n  rocketmq_detail_calls_limit: 2\n",
    );
    let (_sim, exporter, shutdown) = ready(&config).await;
    // 4 (group, topic) pairs and 3 topics: the first cycle reads 2 of each.
    let pairs = series(&exporter, "dms_rocketmq_consumergroup_topic_lag");
    assert_eq!(pairs.len(), 2, "{pairs:?}");
    assert_eq!(series(&exporter, "dms_rocketmq_topic_messages").len(), 2);
    assert_eq!(
        self_metric(
            &exporter,
            "dms_collector_cycle_skipped_calls",
            "rocketmq_lag"
        ),
        2.0
    );
    assert_eq!(
        self_metric(
            &exporter,
            "dms_collector_cycle_skipped_calls",
            "rocketmq_topics"
        ),
        1.0
    );
    // The lag cycle: groups (1) + group topic lists (3) + pairs (2) + the status of each topic
    // of those pairs (group-archive/topic-audit, group-billing/topic-orders: 2) + the clients
    // of each group lagging on them (both: 2).
    assert_eq!(
        self_metric(&exporter, "dms_collector_cycle_api_calls", "rocketmq_lag"),
        10.0
    );
    tokio::time::sleep(Duration::from_secs(11)).await;
    // The other two were read; the first two are kept: all four are there.
    let pairs = series(&exporter, "dms_rocketmq_consumergroup_topic_lag");
    assert_eq!(pairs.len(), 4, "{pairs:?}");
    assert_eq!(series(&exporter, "dms_rocketmq_topic_messages").len(), 3);
    assert_eq!(
        self_metric(
            &exporter,
            "dms_collector_cycle_skipped_calls",
            "kafka_groups"
        ),
        0.0
    );
    shutdown.cancel();
}

#[tokio::test(start_paused = true)]
async fn a_failing_group_keeps_its_last_good_data() {
    let (sim, exporter, shutdown) = ready(ROCKET).await;
    let id = sim.instance_ids_of("reliability").remove(0);
    let offsets = |exporter: &dms_exporter::app::Exporter| -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in series(exporter, "dms_rocketmq_consumergroup_broker_offset") {
            out.entry(label(&line, "group").to_owned())
                .or_default()
                .push(line);
        }
        out
    };
    let before = offsets(&exporter);
    assert_eq!(before.len(), 3);
    for _ in 0..3 {
        sim.step();
    }
    // The next listing of one group's topics fails.
    sim.set_fault(FaultRule {
        endpoint: "rocketmq_group_topics".to_owned(),
        instance_id: Some(id.clone()),
        // Not retried (a 5xx would be), so exactly one group's listing fails.
        fault: Fault::NotFound,
        remaining: Some(1),
    });
    tokio::time::sleep(Duration::from_secs(11)).await;
    let after = offsets(&exporter);
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "every group still exported"
    );
    let unchanged: Vec<&String> = before.keys().filter(|g| before[*g] == after[*g]).collect();
    assert_eq!(
        unchanged.len(),
        1,
        "only the failing group is stale: {unchanged:?}"
    );
    let up = series(&exporter, "dms_instance_collector_up");
    assert!(
        up.iter()
            .any(|l| l.contains("collector=\"rocketmq_lag\"") && value(l) == 0.0),
        "{up:?}"
    );
    shutdown.cancel();
}

#[tokio::test(start_paused = true)]
async fn a_failing_topic_status_keeps_the_seconds_and_refreshes_the_offsets() {
    // Only the lag collector reads topic status after the first round.
    let config = ROCKET.replace(
        "rocketmq_topics: {interval: 10s, max_age: 1h}",
        "rocketmq_topics: {interval: 1h}",
    );
    let (sim, exporter, shutdown) = ready(&config).await;
    let id = sim.instance_ids_of("reliability").remove(0);
    let pairs = series(&exporter, "dms_rocketmq_consumergroup_topic_lag_seconds").len();
    assert_eq!(pairs, 4);
    for _ in 0..3 {
        sim.step();
    }
    sim.set_fault(FaultRule {
        endpoint: "rocketmq_topic_status".to_owned(),
        instance_id: Some(id.clone()),
        fault: Fault::NotFound,
        remaining: Some(1),
    });
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(
        series(&exporter, "dms_rocketmq_consumergroup_topic_lag_seconds").len(),
        pairs,
        "no pair lost its seconds"
    );
    assert_eq!(
        lag_per_group(&exporter),
        sim_lag(&sim, &id),
        "offsets are fresh"
    );
    let up = series(&exporter, "dms_instance_collector_up");
    assert!(
        up.iter()
            .any(|l| l.contains("collector=\"rocketmq_lag\"") && value(l) == 0.0),
        "{up:?}"
    );
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(lag_seconds_per_group(&exporter), sim_lag_seconds(&sim, &id));
    shutdown.cancel();
}
