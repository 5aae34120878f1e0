//! Series counts of the cardinality knobs against the simulator: `kafka_consumer_granularity`
//! (`partition`, `topic`, `group`) and `consumer_state_sets` (`full`, `compact`), each read
//! by its own exporter from one fleet of the shape docs/performance.md sizes (20 topics × 5
//! partitions, 20 groups per instance). With `--nocapture` it prints the series per family
//! per instance that docs/performance.md's table is made of.

use std::collections::BTreeMap;
use std::time::Duration;

use dms_exporter::app::Exporter;
use dms_exporter::collect::instances;
use dms_exporter::collect::kafka::groups;
use dms_exporter::collect::registry;
use dms_exporter::metrics::Kind;
use dms_sim::{SimConfig, Simulator};
use tokio_util::sync::CancellationToken;

use crate::support::{in_process, snapshot_text};

/// Kafka only; one cycle of everything but the groups, which run again after the
/// partitions' first cycle (messages lost needs its log starts). Exact lag in seconds, so every
/// partition with lag has its estimate, as a fleet whose log end histories are long enough.
const CONFIG: &str = "collectors:
  jitter: 0
  instances: {interval: 1h}
  tags: {interval: 1h}
  tasks: {interval: 1h}
  kafka_cluster: {interval: 1h}
  kafka_disk_usage: {interval: 1h}
  kafka_topics: {interval: 1h}
  kafka_partitions: {interval: 1h}
  kafka_groups: {interval: 2s}
  kafka_exact_lag_calls_limit: 1000
";

const KAFKA_INSTANCES: usize = 2;

fn fleet() -> SimConfig {
    let mut sim = SimConfig::deterministic();
    sim.fleet.kafka_instances = KAFKA_INSTANCES;
    sim.fleet.rocketmq_instances = 0;
    sim.fleet.rabbitmq_instances = 0;
    sim.fleet.topics_per_instance = 20;
    sim.fleet.partitions_per_topic = 5;
    sim.fleet.groups_per_instance = 20;
    sim.topic_detail_interval = Duration::ZERO;
    sim
}

/// A data series: family name, labels as written, value.
#[derive(Debug, Clone, PartialEq)]
struct Series {
    family: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn parse(text: &str) -> Vec<Series> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (family, labels) = match series.split_once('{') {
                Some((family, rest)) => (family, rest.strip_suffix('}')?),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|pair| !pair.is_empty())
                .filter_map(|pair| {
                    let (key, value) = pair.split_once("=\"")?;
                    Some((key.to_owned(), value.trim_end_matches('"').to_owned()))
                })
                .collect();
            Some(Series {
                family: family.to_owned(),
                labels,
                value: value.parse().ok()?,
            })
        })
        .collect()
}

fn counts(series: &[Series]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for s in series {
        *counts.entry(s.family.clone()).or_default() += 1;
    }
    counts
}

/// The families the groups collector emits, which the knobs act on.
fn groups_families() -> Vec<&'static str> {
    registry::find("kafka_groups")
        .expect("kafka_groups is registered")
        .families
        .iter()
        .map(|f| f.name)
        .collect()
}

fn groups_series(counts: &BTreeMap<String, usize>) -> usize {
    groups_families()
        .iter()
        .map(|f| counts.get(*f).copied().unwrap_or(0))
        .sum()
}

async fn collect(sim: &Simulator, sim_config: &SimConfig, knobs: &str) -> Vec<Series> {
    let shutdown = CancellationToken::new();
    let exporter: Exporter = in_process(sim, sim_config, &format!("{CONFIG}{knobs}"), &shutdown);
    tokio::time::timeout(Duration::from_secs(90), exporter.readiness.wait())
        .await
        .expect("ready within 90 s");
    // A groups cycle after every first cycle (2 s interval), and the publisher's fold-in.
    tokio::time::sleep(Duration::from_millis(2800)).await;
    let series = parse(&snapshot_text(&exporter));
    shutdown.cancel();
    series
}

/// Lag summed per key of `group_by` labels.
fn sums(series: &[Series], family: &str, group_by: &[&str]) -> BTreeMap<Vec<String>, f64> {
    let mut out = BTreeMap::new();
    for s in series.iter().filter(|s| s.family == family) {
        let key = group_by
            .iter()
            .map(|l| s.labels.get(*l).cloned().unwrap_or_default())
            .collect();
        *out.entry(key).or_default() += s.value;
    }
    out
}

fn values_of(series: &[Series], family: &str) -> Vec<(BTreeMap<String, String>, f64)> {
    series
        .iter()
        .filter(|s| s.family == family)
        .map(|s| (s.labels.clone(), s.value))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn granularity_and_compact_state_sets_cut_the_consumer_series() {
    let sim_config = fleet();
    let sim = Simulator::new(fleet());
    // Side by side: each waits mostly for the topic details' pacing (one a second).
    let (partition, topic, group, compact, both) = tokio::join!(
        collect(&sim, &sim_config, ""),
        collect(&sim, &sim_config, "  kafka_consumer_granularity: topic\n"),
        collect(&sim, &sim_config, "  kafka_consumer_granularity: group\n"),
        collect(&sim, &sim_config, "  consumer_state_sets: compact\n"),
        collect(
            &sim,
            &sim_config,
            "  kafka_consumer_granularity: topic\n  consumer_state_sets: compact\n",
        ),
    );
    let [p, t, g, c, b] = [&partition, &topic, &group, &compact, &both].map(|s| counts(s));

    let per_instance = |n: usize| n as f64 / KAFKA_INSTANCES as f64;
    eprintln!(
        "series per Kafka instance: family | partition | topic | group | compact | topic+compact"
    );
    for family in p.keys() {
        let of = |m: &BTreeMap<String, usize>| per_instance(m.get(family).copied().unwrap_or(0));
        eprintln!(
            "{family} | {} | {} | {} | {} | {}",
            of(&p),
            of(&t),
            of(&g),
            of(&c),
            of(&b)
        );
    }
    let total = |m: &BTreeMap<String, usize>| per_instance(m.values().sum());
    eprintln!(
        "all | {} | {} | {} | {} | {}",
        total(&p),
        total(&t),
        total(&g),
        total(&c),
        total(&b)
    );
    eprintln!(
        "kafka_groups | {} | {} | {} | {} | {}",
        per_instance(groups_series(&p)),
        per_instance(groups_series(&t)),
        per_instance(groups_series(&g)),
        per_instance(groups_series(&c)),
        per_instance(groups_series(&b))
    );

    // At partition granularity every family of the groups collector is there (messages lost
    // has no series while retention deleted nothing unconsumed, as here).
    for family in groups_families() {
        if family == groups::KAFKA_GROUP_MESSAGES_LOST.name {
            continue;
        }
        assert!(p.contains_key(family), "{family} missing at partition");
    }
    // Coarser: no finer label, at most half the groups collector's series.
    let labelled = |series: &[Series], label: &str| {
        series
            .iter()
            .filter(|s| groups_families().contains(&s.family.as_str()))
            .any(|s| s.labels.contains_key(label))
    };
    assert!(!labelled(&topic, "partition"));
    assert!(!labelled(&group, "partition") && !labelled(&group, "topic"));
    assert!(labelled(&topic, "topic"));
    assert!(
        groups_series(&t) * 2 <= groups_series(&p),
        "topic {} vs partition {}",
        groups_series(&t),
        groups_series(&p)
    );
    // The group state and status state sets stay at group level: less, not half again.
    assert!(groups_series(&g) < groups_series(&t));
    // The other collectors' series do not move.
    for (family, count) in &p {
        if !groups_families().contains(&family.as_str()) {
            for (name, other) in [("topic", &t), ("group", &g), ("compact", &c)] {
                assert_eq!(other.get(family), Some(count), "{family} at {name}");
            }
        }
    }

    // The coarse series are the same whatever the granularity (the fleet does not move
    // between reads: the simulator's clock stands still), and they add up the fine ones.
    let topic_lag = groups::KAFKA_GROUP_TOPIC_LAG.name;
    let total_lag = groups::KAFKA_GROUP_TOTAL_LAG.name;
    assert!(!values_of(&partition, topic_lag).is_empty());
    assert_eq!(
        values_of(&partition, topic_lag),
        values_of(&topic, topic_lag)
    );
    assert_eq!(
        values_of(&partition, total_lag),
        values_of(&group, total_lag)
    );
    let group_topic = ["instance_id", "group", "topic"];
    assert_eq!(
        sums(&partition, groups::KAFKA_GROUP_LAG.name, &group_topic),
        sums(&partition, topic_lag, &group_topic),
        "partition lag sums to the topic lag"
    );
    assert_eq!(
        sums(&topic, topic_lag, &["instance_id", "group"]),
        sums(&group, total_lag, &["instance_id", "group"]),
        "topic lag sums to the group's total"
    );
    let max_seconds = groups::KAFKA_GROUP_MAX_LAG_SECONDS.name;
    assert!(!values_of(&group, max_seconds).is_empty());
    for (labels, value) in values_of(&topic, max_seconds) {
        let topics_max = values_of(&topic, groups::KAFKA_GROUP_TOPIC_LAG_SECONDS.name)
            .into_iter()
            .filter(|(l, _)| {
                l["instance_id"] == labels["instance_id"] && l["group"] == labels["group"]
            })
            .map(|(_, v)| v)
            .fold(0.0, f64::max);
        assert_eq!(value, topics_max, "{labels:?}");
    }

    // Compact state sets: one series per set, the 1; nothing else changes.
    for family in registry::families()
        .iter()
        .filter(|f| f.kind == Kind::StateSet)
    {
        let full = values_of(&partition, family.name);
        let kept = values_of(&compact, family.name);
        let ones: Vec<_> = full.iter().filter(|(_, v)| *v == 1.0).cloned().collect();
        if family.name == instances::INSTANCE_STATUS.name {
            assert_eq!(kept, full, "dms_instance_status stays whole");
        } else if !full.is_empty() {
            assert!(kept.iter().all(|(_, v)| *v == 1.0), "{}", family.name);
            assert_eq!(kept.len(), ones.len(), "{}", family.name);
            assert!(kept.len() * 2 <= full.len(), "{}", family.name);
        }
    }
    assert!(
        values_of(&compact, groups::KAFKA_GROUP_PARTITION_STATUS.name).len() * 5
            == values_of(&partition, groups::KAFKA_GROUP_PARTITION_STATUS.name).len(),
        "five statuses, one written"
    );
    assert!(
        groups_series(&b) < groups_series(&t),
        "compact cuts the topic granularity's state sets too: {} vs {}",
        groups_series(&b),
        groups_series(&t)
    );
}

/// RocketMQ only: one lag cycle at each `rocketmq_consumer_granularity`.
const ROCKETMQ: &str = "collectors:
  jitter: 0
  instances: {interval: 1h}
  tags: {enabled: false}
  tasks: {enabled: false}
  rocketmq_brokers: {enabled: false}
  rocketmq_groups: {enabled: false}
  rocketmq_topics: {enabled: false}
  rocketmq_users: {enabled: false}
  rocketmq_lag: {interval: 1h}
";

#[tokio::test]
async fn rocketmq_granularity_cuts_the_queue_then_the_topic_series() {
    let mut sim_config = SimConfig::deterministic();
    sim_config.fleet.kafka_instances = 0;
    sim_config.fleet.rabbitmq_instances = 0;
    sim_config.fleet.rocketmq_instances = 2;
    let sim = Simulator::new(sim_config.clone());
    let read = |knob: &'static str| {
        let (sim, sim_config) = (&sim, &sim_config);
        async move {
            let shutdown = CancellationToken::new();
            let exporter = in_process(sim, sim_config, &format!("{ROCKETMQ}{knob}"), &shutdown);
            tokio::time::timeout(Duration::from_secs(90), exporter.readiness.wait())
                .await
                .expect("ready within 90 s");
            tokio::time::sleep(Duration::from_millis(500)).await;
            let series = parse(&snapshot_text(&exporter));
            shutdown.cancel();
            series
        }
    };
    let queue = read("").await;
    let topic = read("  rocketmq_consumer_granularity: topic\n").await;
    let group = read("  rocketmq_consumer_granularity: group\n").await;
    let lag_families: Vec<&str> = registry::find("rocketmq_lag")
        .expect("rocketmq_lag is registered")
        .families
        .iter()
        .map(|f| f.name)
        .collect();
    let of = |series: &[Series], label: &str| -> usize {
        series
            .iter()
            .filter(|s| lag_families.contains(&s.family.as_str()))
            .filter(|s| s.labels.contains_key(label))
            .count()
    };
    let total = |series: &[Series]| of(series, "group");
    assert!(of(&queue, "queue") > 0, "the fleet has queue series");
    assert_eq!(
        of(&topic, "queue"),
        0,
        "topic granularity writes no queue series"
    );
    assert!(of(&topic, "topic") > 0);
    assert_eq!(
        of(&group, "topic"),
        0,
        "group granularity writes no topic series"
    );
    assert!(of(&group, "group") > 0, "the group status stays");
    assert!(total(&group) < total(&topic) && total(&topic) < total(&queue));
    // What stays is the same at every level: the group status does not depend on it.
    let status = |series: &[Series]| -> Vec<(BTreeMap<String, String>, f64)> {
        series
            .iter()
            .filter(|s| s.family == "dms_rocketmq_consumergroup_status")
            .map(|s| (s.labels.clone(), s.value))
            .collect()
    };
    assert_eq!(status(&group), status(&queue));
    eprintln!(
        "rocketmq_lag series: queue {}, topic {}, group {}",
        total(&queue),
        total(&topic),
        total(&group)
    );
}
