//! Consumer groups: state, members, lag per partition and per topic, and from the health
//! state kept across cycles: lag in seconds, evaluated status, messages lost to retention.
//!
//! Lag in seconds is interpolated over each partition's log end history (no extra calls); with
//! `kafka_exact_lag_calls_limit` > 0 the produce time of the message at the committed offset
//! is read instead (R15) for partitions with lag, at most that many calls per instance per
//! cycle (a rotating cursor gives every partition its turn), cached while the committed offset
//! stays. A partition whose turn has not come yet falls back to interpolation.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::Engine;
use dms_cloud::dto::kafka::GroupDetail;
use dms_cloud::error::ApiError;

use crate::collect::health::interpolation::LagSeconds;
use crate::collect::health::{self, ConsumerHealth, Reading, status};
use crate::collect::registry::{Choice, Count, Opt};
use crate::collect::rotation::Rotation;
use crate::collect::settings::FiltersConfig;
use crate::collect::{Collector, Context, Description, Output, Priority, Scope, normalise_state};
use crate::metrics::catalog::Family;
use crate::metrics::catalog::{S, families};
use crate::metrics::{Sample, Samples};

/// Known consumer-group states; anything else is UNKNOWN.
pub const GROUP_STATES: &[&str] = &[
    "COMPLETING_REBALANCE",
    "DEAD",
    "EMPTY",
    "PREPARING_REBALANCE",
    "STABLE",
    "UNKNOWN",
];

/// R15 calls per instance per cycle for exact lag in seconds; 0 (the default) reads none and
/// interpolates every partition.
pub static EXACT_LAG_CALLS_LIMIT: Opt<Count> = Opt::count("kafka_exact_lag_calls_limit", 0);

/// How fine the lag and consumer-health series go: `partition` (every family), `topic` (none
/// with a `partition` label) or `group` (none with a `topic` label either). The coarser
/// levels are always written, so a coarser setting drops families rather than changing the
/// labels of one; the status windows and lag in seconds are still evaluated per partition.
pub static GRANULARITY: Opt<Choice> = Opt::choice(
    "kafka_consumer_granularity",
    "partition",
    &["partition", "topic", "group"],
);

/// The level [`GRANULARITY`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Partition,
    Topic,
    Group,
}

impl Granularity {
    /// The configured word; validation refuses any other, so the fallback is the default.
    pub fn from_option(word: &str) -> Self {
        match word {
            "topic" => Self::Topic,
            "group" => Self::Group,
            _ => Self::Partition,
        }
    }

    /// Whether a family is written at this level.
    pub fn keeps(self, family: &Family) -> bool {
        let has = |label| family.labels.contains(&label);
        match self {
            Self::Partition => true,
            Self::Topic => !has("partition"),
            Self::Group => !has("partition") && !has("topic"),
        }
    }
}

#[derive(Default)]
pub struct Groups {
    /// Per-instance cursor over the partitions that interpolation cannot date (their
    /// committed offset is older than the log end history, or the history is too short):
    /// they get the R15 reads first, in turns.
    undated_turns: Rotation,
    /// Per-instance cursor over the other partitions that need an R15 read.
    exact_turns: Rotation,
}

/// One partition of a group's detail, as read this cycle.
struct PartitionRead<'a> {
    topic: &'a str,
    partition: i64,
    label: String,
    committed: Option<i64>,
    end: Option<i64>,
    lag: Option<i64>,
}

/// The partitions of a group detail the filters let through.
fn partitions<'a>(detail: &'a GroupDetail, filters: &FiltersConfig) -> Vec<PartitionRead<'a>> {
    detail
        .group_message_offsets
        .iter()
        .filter(|offset| filters.topics.allows(&offset.topic))
        .filter_map(|offset| {
            let partition = offset.partition?;
            let committed = offset.message_current_offset;
            let end = offset.message_log_end_offset;
            Some(PartitionRead {
                topic: offset.topic.as_str(),
                partition,
                label: partition.to_string(),
                committed,
                end,
                // lag is documented as end - current; derive it when only the offsets came.
                lag: offset
                    .lag
                    .or(committed.zip(end).map(|(c, e)| (e - c).max(0))),
            })
        })
        .collect()
}

/// Feeds one group's reading into the health state: log ends into the history, readings
/// into the status windows (topics and partitions no longer read are forgotten).
fn observe(
    health: &ConsumerHealth,
    id: &str,
    detail: &GroupDetail,
    reads: &[PartitionRead<'_>],
    window: usize,
) {
    let now = health.now_ms();
    let group = detail.group_id.as_str();
    let has_members = !detail.members.is_empty();
    let mut per_topic: BTreeMap<&str, Vec<(String, Reading)>> = BTreeMap::new();
    for read in reads {
        if let Some(end) = read.end {
            health.record_log_end(id, read.topic, &read.label, end);
        }
        let readings = per_topic.entry(read.topic).or_default();
        if let (Some(committed), Some(lag)) = (read.committed, read.lag) {
            readings.push((
                read.label.clone(),
                Reading {
                    time_ms: now,
                    committed,
                    lag,
                    has_members,
                },
            ));
        }
    }
    for (topic, readings) in &per_topic {
        health.observe(id, group, topic, readings.iter().cloned(), window);
    }
    health.retain_topics(id, group, |topic| per_topic.contains_key(topic));
}

/// How many of a group's partitions had their lag in seconds found by each method.
type MethodCounts = BTreeMap<&'static str, u32>;

fn group_samples(
    id: &str,
    detail: &GroupDetail,
    reads: &[PartitionRead<'_>],
    health: &ConsumerHealth,
    granularity: Granularity,
) -> Vec<Sample> {
    let mut samples = Samples::default();
    let group = detail.group_id.as_str();
    let state = normalise_state(&detail.state);
    let state = if GROUP_STATES.contains(&state.as_str()) {
        state
    } else {
        "UNKNOWN".to_owned()
    };
    samples.push_state_set(&KAFKA_GROUP_STATE, [id, group], GROUP_STATES, &state);
    samples.push(
        &KAFKA_GROUP_MEMBERS,
        [id, group],
        detail.members.len() as f64,
    );
    let mut lag_per_topic: BTreeMap<&str, f64> = BTreeMap::new();
    // The largest lag in seconds per topic, `None` once a partition has no estimate (the
    // maximum of the others would understate it).
    let mut seconds_per_topic: BTreeMap<&str, Option<f64>> = BTreeMap::new();
    let mut methods = MethodCounts::new();
    for read in reads {
        let labels = [id, group, read.topic, read.label.as_str()];
        samples.push_some(&KAFKA_GROUP_LAG, labels, read.lag.map(|v| v as f64));
        samples.push_some(
            &KAFKA_GROUP_CURRENT_OFFSET,
            labels,
            read.committed.map(|v| v as f64),
        );
        samples.push_some(
            &KAFKA_GROUP_LOG_END_OFFSET,
            labels,
            read.end.map(|v| v as f64),
        );
        if let Some(lag) = read.lag {
            *lag_per_topic.entry(read.topic).or_default() += lag as f64;
        }
        let (Some(committed), Some(lag)) = (read.committed, read.lag) else {
            continue;
        };
        let (method, seconds) = lag_seconds(health, id, group, read, committed, lag);
        *methods.entry(method).or_default() += 1;
        samples.push_some(&KAFKA_GROUP_LAG_SECONDS, labels, seconds);
        let max = seconds_per_topic.entry(read.topic).or_insert(Some(0.0));
        *max = max.zip(seconds).map(|(a, b)| a.max(b));
        if let Some(log_start) = health.log_start(id, read.topic, &read.label)
            && committed < log_start
        {
            samples.push(
                &KAFKA_GROUP_MESSAGES_LOST,
                labels,
                (log_start - committed) as f64,
            );
        }
    }
    if !lag_per_topic.is_empty() {
        let total: f64 = lag_per_topic.values().sum();
        samples.push(&KAFKA_GROUP_TOTAL_LAG, [id, group], total);
    }
    for (topic, lag) in lag_per_topic {
        samples.push(&KAFKA_GROUP_TOPIC_LAG, [id, group, topic], lag);
    }
    // Like the topics' maxima, none while a partition has no estimate.
    let most_behind = seconds_per_topic
        .values()
        .try_fold(None, |max: Option<f64>, seconds| {
            seconds.map(|s| Some(max.map_or(s, |m| m.max(s))))
        })
        .flatten();
    samples.push_some(&KAFKA_GROUP_MAX_LAG_SECONDS, [id, group], most_behind);
    for (topic, seconds) in seconds_per_topic {
        let Some(seconds) = seconds else { continue };
        let labels = [id, group, topic];
        samples.push(&KAFKA_GROUP_TOPIC_LAG_SECONDS, labels, seconds);
        // No ratio while caught up: nothing is at risk.
        if seconds > 0.0
            && let Some(retention) = health.retention_seconds(id, topic)
            && retention > 0.0
        {
            samples.push(
                &KAFKA_GROUP_LAG_RETENTION_RATIO,
                labels,
                seconds / retention,
            );
        }
    }
    // In the group's part, so a failed detail keeps (and expiry drops) the count together
    // with the series it counts.
    for (method, count) in methods {
        samples.push(
            &KAFKA_GROUP_LAG_SECONDS_VALUES,
            [id, group, method],
            f64::from(count),
        );
    }
    status_samples(&mut samples, health, id, group, reads);
    let mut samples: Vec<Sample> = samples.into();
    samples.retain(|sample| granularity.keeps(sample.family));
    samples
}

/// The partitions' and the group's evaluated status, from the windows `observe` fed.
fn status_samples(
    samples: &mut Samples,
    health: &ConsumerHealth,
    id: &str,
    group: &str,
    reads: &[PartitionRead<'_>],
) {
    for read in reads {
        let Some(status) = health.partition_status(id, group, read.topic, &read.label) else {
            continue;
        };
        samples.push_state_set(
            &KAFKA_GROUP_PARTITION_STATUS,
            [id, group, read.topic, read.label.as_str()],
            status::PartitionStatus::LABELS,
            status.label(),
        );
    }
    if let Some(status) = health.group_status(id, group) {
        samples.push_state_set(
            &KAFKA_GROUP_STATUS,
            [id, group],
            status::GroupStatus::LABELS,
            status.label(),
        );
    }
}

/// A partition's lag in seconds and the method that found it: 0 when caught up, the exact
/// produce time when R15 gave it for this committed offset, else interpolation; no value
/// when the committed offset is older than the log end history (`beyond_history`: any
/// figure would be a guess, and the lag-in-seconds alert must not fire on one) or the
/// history cannot tell yet (`none`).
fn lag_seconds(
    health: &ConsumerHealth,
    id: &str,
    group: &str,
    read: &PartitionRead<'_>,
    committed: i64,
    lag: i64,
) -> (&'static str, Option<f64>) {
    if lag <= 0 {
        return ("caught_up", Some(0.0));
    }
    if let Some(produced) = health.exact_produced_ms(id, group, read.topic, &read.label, committed)
    {
        let seconds = (health.now_ms() - produced) as f64 / 1000.0;
        return ("exact", Some(seconds.max(0.0)));
    }
    match health.interpolated_lag_seconds(id, read.topic, &read.label, committed, lag) {
        Some(LagSeconds::Seconds(seconds)) => ("interpolated", Some(seconds)),
        Some(LagSeconds::BeyondHistory) => ("beyond_history", None),
        None => ("none", None),
    }
}

/// A partition whose exact produce time is to be read: (group, topic, partition, committed).
type ExactRead = (String, String, i64, i64);

impl Groups {
    /// Reads, within this cycle's limit, the produce times of the committed offsets of
    /// partitions with lag that are not cached yet: first those interpolation cannot date
    /// (`undated`), then, with what the limit leaves, the others — each list in turns. (Not
    /// the furthest behind first: a group far behind that still consumes moves its committed
    /// offset every cycle, misses the cache every cycle and would take every read.)
    async fn read_exact(&self, cx: &Context<'_>, undated: Vec<ExactRead>, wanted: Vec<ExactRead>) {
        let id = cx.instance().id.as_str();
        let limit = cx.settings.option(&EXACT_LAG_CALLS_LIMIT);
        if limit == 0 || (undated.is_empty() && wanted.is_empty()) {
            return;
        }
        let first = self.undated_turns.turn(id, undated, limit);
        let left = limit.saturating_sub(u32::try_from(first.read.len()).unwrap_or(u32::MAX));
        let then = self.exact_turns.turn(id, wanted, left);
        cx.skip_calls(first.skipped.len() + then.skipped.len());
        let turn = first.read.into_iter().chain(then.read);
        let client = &cx.client;
        futures::future::join_all(turn.map(
            |(group, topic, partition, committed)| async move {
                match client
                    .kafka_partition_message(id, &topic, partition, committed)
                    .await
                {
                    Ok(messages) => {
                        if let Some(produced) = messages.produced_ms(committed) {
                            let label = partition.to_string();
                            cx.health
                                .remember_exact(id, &group, &topic, &label, committed, produced);
                        }
                    }
                    // The partition falls back to interpolation this cycle.
                    Err(error) => {
                        tracing::debug!(instance_id = id, %group, %topic, partition, %error, "message at the committed offset unavailable");
                    }
                }
            },
        ))
        .await;
    }
}

families! {
    KAFKA_GROUP_STATE = "dms_kafka_consumergroup_state", StateSet, None,
        ["instance_id", "group", "state"],
        "GET /v2/{project_id}/instances/{instance_id}/groups/{group}",
        "Consumer group state as a state set (DEAD, EMPTY, PREPARING_REBALANCE, COMPLETING_REBALANCE, STABLE, UNKNOWN).";
    KAFKA_GROUP_MEMBERS = "dms_kafka_consumergroup_members", Gauge, None,
        ["instance_id", "group"],
        "GET /v2/{project_id}/instances/{instance_id}/groups/{group}",
        "Number of members (consumers) of the group.";
    KAFKA_GROUP_LAG = "dms_kafka_consumergroup_lag", Gauge, None,
        ["instance_id", "group", "topic", "partition"],
        "GET /v2/{project_id}/instances/{instance_id}/groups/{group}",
        "Messages the group has yet to consume on the partition (log end offset - committed offset).";
    KAFKA_GROUP_CURRENT_OFFSET = "dms_kafka_consumergroup_current_offset", Gauge, None,
        ["instance_id", "group", "topic", "partition"],
        "GET /v2/{project_id}/instances/{instance_id}/groups/{group}",
        "Offset the group has committed on the partition.";
    KAFKA_GROUP_LOG_END_OFFSET = "dms_kafka_consumergroup_log_end_offset", Gauge, None,
        ["instance_id", "group", "topic", "partition"],
        "GET /v2/{project_id}/instances/{instance_id}/groups/{group}",
        "Log end offset of the partition as the group detail reports it.";
    KAFKA_GROUP_TOPIC_LAG = "dms_kafka_consumergroup_topic_lag", Gauge, None,
        ["instance_id", "group", "topic"],
        "GET /v2/{project_id}/instances/{instance_id}/groups/{group}",
        "Lag of the group summed over the partitions of the topic.";
    KAFKA_GROUP_TOTAL_LAG = "dms_kafka_consumergroup_total_lag", Gauge, None,
        ["instance_id", "group"],
        "GET /v2/{project_id}/instances/{instance_id}/groups/{group}",
        "Lag of the group summed over every partition of every topic it reads (the filters' topics); no series while it has none with a committed offset.";
    KAFKA_GROUP_LAG_SECONDS = "dms_kafka_consumergroup_lag_seconds", Gauge, S,
        ["instance_id", "group", "topic", "partition"],
        "derived: log end offsets from the consumer group detail API and leo/last_update_timestamp from the topic detail API over time (interpolated); the message timestamp from the per-partition message query API (exact, opt-in)",
        "How far behind in time the group is on the partition: now minus the produce time of the next message to consume (exact) or minus the time the log end was at the committed offset (interpolated); 0 when caught up, no series while there is no estimate or the committed offset is older than the log end history (no guess).";
    KAFKA_GROUP_TOPIC_LAG_SECONDS = "dms_kafka_consumergroup_topic_lag_seconds", Gauge, S,
        ["instance_id", "group", "topic"],
        "derived: maximum of dms_kafka_consumergroup_lag_seconds over the topic's partitions",
        "How far behind in time the group is on the topic: the largest lag in seconds of its partitions; no series while one of them has no estimate.";
    KAFKA_GROUP_MAX_LAG_SECONDS = "dms_kafka_consumergroup_max_lag_seconds", Gauge, S,
        ["instance_id", "group"],
        "derived: maximum of dms_kafka_consumergroup_lag_seconds over every partition of the group",
        "How far behind in time the group is on the topic it is furthest behind on: the largest lag in seconds of its partitions; no series while one of them has no estimate.";
    KAFKA_GROUP_LAG_SECONDS_VALUES = "dms_kafka_consumergroup_lag_seconds_values", Gauge, None,
        ["instance_id", "group", "method"],
        "derived: the group's dms_kafka_consumergroup_lag_seconds values as served",
        "Partitions of the group by how their lag in seconds was found: exact (the timestamp of the message at the committed offset, from the per-partition message query API), interpolated (log end history), caught_up (lag 0), beyond_history (committed offset older than the log end history, no series), none (no estimate yet, no series); kept and expired with the group's series; no series for a method no partition used.";
    KAFKA_GROUP_PARTITION_STATUS = "dms_kafka_consumergroup_partition_status", StateSet, None,
        ["instance_id", "group", "topic", "partition", "status"],
        "derived: committed offset, lag and members from the consumer group detail API over the last consumer_status_window cycles",
        "Evaluated consumer status of the partition (Burrow's rules, see the section below): OK, WARN, STALL, STOP or REWIND.";
    KAFKA_GROUP_STATUS = "dms_kafka_consumergroup_status", StateSet, None,
        ["instance_id", "group", "status"],
        "derived: dms_kafka_consumergroup_partition_status of every partition of the group",
        "Evaluated consumer status of the group: ERR when a partition is STOP or STALL, WARN when one is WARN, else OK.";
    KAFKA_GROUP_MESSAGES_LOST = "dms_kafka_consumergroup_messages_lost", Gauge, None,
        ["instance_id", "group", "topic", "partition"],
        "derived: lso (log start offset) from the topic detail API minus the committed offset from the consumer group detail API",
        "Messages deleted by retention before the group consumed them (log start offset minus committed offset); no series when none.";
    KAFKA_GROUP_LAG_RETENTION_RATIO = "dms_kafka_consumergroup_lag_retention_ratio", Gauge, Some("ratio"),
        ["instance_id", "group", "topic"],
        "derived: dms_kafka_consumergroup_topic_lag_seconds / retention_time from the topic list API",
        "The group's lag in seconds on the topic divided by the topic's retention: at 1 the oldest unconsumed messages are about to be deleted; no series while the group is caught up on the topic.";
}

pub static DESCRIPTION: Description = Description {
    name: "kafka_groups",
    scope: Scope::Instance(Some(Engine::Kafka)),
    priority: Priority::High,
    interval: Duration::from_secs(30),
    max_age: None,
    demo_interval: Duration::from_secs(5),
    apis: &["kafka_groups", "kafka_group", "kafka_partition_message"],
    options: &[
        &health::STATUS_WINDOW.spec,
        &EXACT_LAG_CALLS_LIMIT.spec,
        &GRANULARITY.spec,
        &health::STATE_SETS.spec,
    ],
    families: &[
        &KAFKA_GROUP_STATE,
        &KAFKA_GROUP_MEMBERS,
        &KAFKA_GROUP_LAG,
        &KAFKA_GROUP_CURRENT_OFFSET,
        &KAFKA_GROUP_LOG_END_OFFSET,
        &KAFKA_GROUP_TOPIC_LAG,
        &KAFKA_GROUP_TOTAL_LAG,
        &KAFKA_GROUP_LAG_SECONDS,
        &KAFKA_GROUP_TOPIC_LAG_SECONDS,
        &KAFKA_GROUP_MAX_LAG_SECONDS,
        &KAFKA_GROUP_LAG_SECONDS_VALUES,
        &KAFKA_GROUP_PARTITION_STATUS,
        &KAFKA_GROUP_STATUS,
        &KAFKA_GROUP_MESSAGES_LOST,
        &KAFKA_GROUP_LAG_RETENTION_RATIO,
    ],
};

impl Collector for Groups {
    fn description(&self) -> &'static Description {
        &DESCRIPTION
    }

    fn collect<'a>(&'a self, cx: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>> {
        async move {
            let id = cx.instance().id.as_str();
            let window = status::window_length(cx.settings.option(&health::STATUS_WINDOW));
            let granularity = Granularity::from_option(cx.settings.option(&GRANULARITY));
            let groups = cx.client.kafka_groups(id).await?;
            let wanted: Vec<String> = groups
                .into_iter()
                .map(|g| g.group_id)
                .filter(|g| cx.filters.groups.allows(g))
                .collect();
            let listed: HashSet<&str> = wanted.iter().map(String::as_str).collect();
            cx.health.retain_groups(id, |group| listed.contains(group));
            // Every detail queues at once; the host's request scheduler paces them.
            let details = futures::future::join_all(
                wanted
                    .iter()
                    .map(|group| async move { (group, cx.client.kafka_group(id, group).await) }),
            )
            .await;
            let (mut undated, mut exact) = (Vec::new(), Vec::new());
            for (_, detail) in &details {
                let Ok(detail) = detail else { continue };
                let reads = partitions(detail, cx.filters);
                observe(cx.health, id, detail, &reads, window);
                for read in &reads {
                    if let (Some(committed), Some(lag)) = (read.committed, read.lag)
                        && lag > 0
                        && cx
                            .health
                            .exact_produced_ms(
                                id,
                                &detail.group_id,
                                read.topic,
                                &read.label,
                                committed,
                            )
                            .is_none()
                    {
                        let interpolable = matches!(
                            cx.health.interpolated_lag_seconds(
                                id,
                                read.topic,
                                &read.label,
                                committed,
                                lag
                            ),
                            Some(LagSeconds::Seconds(_))
                        );
                        let wanted = (
                            detail.group_id.clone(),
                            read.topic.to_owned(),
                            read.partition,
                            committed,
                        );
                        if interpolable {
                            exact.push(wanted);
                        } else {
                            undated.push(wanted);
                        }
                    }
                }
            }
            self.read_exact(cx, undated, exact).await;
            let parts: Vec<_> = details
                .into_iter()
                .map(|(group, detail)| {
                    let samples = detail.map(|detail| {
                        let reads = partitions(&detail, cx.filters);
                        group_samples(id, &detail, &reads, cx.health, granularity)
                    });
                    (group.clone(), samples)
                })
                .collect();
            Ok(Output {
                parts,
                ..Output::default()
            })
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};

    use super::*;
    use crate::collect::health::PartitionFacts;
    use crate::collect::health::interpolation::Point;

    /// A group reading two topics: `t` with partitions 0 (behind) and 1 (caught up), `u` with
    /// partition 0 (behind).
    fn detail(committed: [i64; 3], end: [i64; 3]) -> GroupDetail {
        let offsets: Vec<serde_json::Value> = [("t", 0), ("t", 1), ("u", 0)]
            .iter()
            .enumerate()
            .map(|(i, (topic, partition))| {
                serde_json::json!({
                    "topic": topic, "partition": partition,
                    "message_current_offset": committed[i],
                    "message_log_end_offset": end[i],
                    "lag": end[i] - committed[i],
                })
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "group": {"group_id": "g", "state": "STABLE", "members": [{"member_id": "m"}],
                      "group_message_offsets": offsets}
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn find(samples: &[Sample], family: &Family, labels: &[&str]) -> Option<f64> {
        samples
            .iter()
            .find(|s| std::ptr::eq(s.family, family) && s.labels == labels)
            .map(|s| s.value)
    }

    /// Feeds one cycle at `now` and returns its samples.
    fn cycle(
        health: &ConsumerHealth,
        now: &AtomicI64,
        at: i64,
        detail: &GroupDetail,
    ) -> Vec<Sample> {
        now.store(at, Ordering::Relaxed);
        let filters = FiltersConfig::default();
        let reads = partitions(detail, &filters);
        observe(health, "i", detail, &reads, 10);
        group_samples("i", detail, &reads, health, Granularity::Partition)
    }

    /// The group's count of partitions whose lag in seconds `method` found.
    fn method_count(samples: &[Sample], method: &str) -> Option<f64> {
        find(
            samples,
            &KAFKA_GROUP_LAG_SECONDS_VALUES,
            &["i", "g", method],
        )
    }

    #[test]
    fn lag_seconds_losses_and_ratio_from_the_health_state() {
        let now = Arc::new(AtomicI64::new(0));
        let clock = Arc::clone(&now);
        let health = ConsumerHealth::with_clock(Arc::new(move || clock.load(Ordering::Relaxed)));
        // The partitions and topics cycles: `t/0` starts at offset 150, `t` keeps 1000 s.
        health.record_topic_partitions(
            "i",
            "t",
            [(
                "0".to_owned(),
                PartitionFacts {
                    log_start: Some(150),
                    last_write: None,
                },
            )],
        );
        health.record_retention("i", [("t".to_owned(), 1_000_000)]);

        // First cycle: one point per partition, no estimate for the lagging ones.
        let samples = cycle(&health, &now, 10_000, &detail([100, 50, 10], [200, 50, 20]));
        let t0 = ["i", "g", "t", "0"];
        assert_eq!(find(&samples, &KAFKA_GROUP_LAG_SECONDS, &t0), None);
        assert_eq!(
            find(&samples, &KAFKA_GROUP_LAG_SECONDS, &["i", "g", "t", "1"]),
            Some(0.0),
            "caught up is exactly 0"
        );
        assert_eq!(
            find(&samples, &KAFKA_GROUP_TOPIC_LAG_SECONDS, &["i", "g", "t"]),
            None,
            "a partition without an estimate hides the topic's maximum"
        );
        assert_eq!(method_count(&samples, "none"), Some(2.0));
        assert_eq!(method_count(&samples, "caught_up"), Some(1.0));
        assert_eq!(
            method_count(&samples, "interpolated"),
            None,
            "no series for 0"
        );
        assert_eq!(
            find(&samples, &KAFKA_GROUP_MESSAGES_LOST, &t0),
            Some(50.0),
            "log start 150, committed 100"
        );

        // Second cycle 10 s later. u/0: the last write reached 20 at 5 s (still 20 at 10 s),
        // 30 at 20 s: the committed 25 was the log end at 15 s.
        health.record_topic_partitions(
            "i",
            "u",
            [(
                "0".to_owned(),
                PartitionFacts {
                    log_start: Some(0),
                    last_write: Some(Point {
                        offset: 20,
                        time_ms: 5_000,
                    }),
                },
            )],
        );
        let samples = cycle(&health, &now, 20_000, &detail([100, 60, 25], [300, 60, 30]));
        let u0 = ["i", "g", "u", "0"];
        assert_eq!(find(&samples, &KAFKA_GROUP_LAG_SECONDS, &u0), Some(5.0));
        // t/0: the log end was 200 at 10 s, its oldest point: the committed 100 is older
        // than the history, so any figure would be a guess (it extrapolated to 20 s). No
        // value, and none for the topic, so no alert fires on it.
        assert_eq!(find(&samples, &KAFKA_GROUP_LAG_SECONDS, &t0), None);
        assert_eq!(
            find(&samples, &KAFKA_GROUP_TOPIC_LAG_SECONDS, &["i", "g", "t"]),
            None
        );
        assert_eq!(method_count(&samples, "beyond_history"), Some(1.0));
        assert_eq!(
            method_count(&samples, "interpolated"),
            Some(1.0),
            "u/0 only"
        );
        assert!(
            find(&samples, &KAFKA_GROUP_LAG_RETENTION_RATIO, &["i", "g", "u"]).is_none(),
            "no retention known for u"
        );

        // Third cycle: t/0's group moved into its history (200 at 10 s, 300 at 20 s).
        let samples = cycle(&health, &now, 30_000, &detail([250, 60, 25], [400, 60, 40]));
        assert_eq!(find(&samples, &KAFKA_GROUP_LAG_SECONDS, &t0), Some(15.0));
        assert_eq!(
            find(&samples, &KAFKA_GROUP_TOPIC_LAG_SECONDS, &["i", "g", "t"]),
            Some(15.0)
        );
        assert_eq!(
            find(&samples, &KAFKA_GROUP_LAG_RETENTION_RATIO, &["i", "g", "t"]),
            Some(0.015)
        );
        assert_eq!(method_count(&samples, "interpolated"), Some(2.0));
        assert_eq!(method_count(&samples, "beyond_history"), None);
        let status = |labels: &[&str]| find(&samples, &KAFKA_GROUP_STATUS, labels);
        assert_eq!(
            status(&["i", "g", "OK"]),
            Some(1.0),
            "not enough readings for more"
        );
    }
}
