//! Consumer groups: state, members, lag per partition and per topic, and from the health
//! state kept across cycles: lag in seconds, evaluated status, messages lost to retention.
//!
//! Lag in seconds is interpolated over each partition's log end history (no extra calls); with
//! `kafka_exact_lag_calls_limit` > 0 the produce time of the message at the committed offset
//! is read instead (R15) for partitions with lag, at most that many calls per instance per
//! cycle (a rotating cursor gives every partition its turn), cached while the committed offset
//! stays. A partition whose turn has not come yet falls back to interpolation.

mod samples;

use std::collections::HashSet;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::Engine;
use dms_cloud::error::ApiError;

use self::samples::{group_samples, observe, partitions};
use crate::collect::health::interpolation::LagSeconds;
use crate::collect::health::{self, Granularity, status};
use crate::collect::registry::{Choice, Count, Opt};
use crate::collect::rotation::Rotation;
use crate::collect::{Collector, Context, Description, Output, Priority, Scope};
use crate::metrics::catalog::{S, families};

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

#[derive(Default)]
pub struct Groups {
    /// Per-instance cursor over the partitions that interpolation cannot date (their
    /// committed offset is older than the log end history, or the history is too short):
    /// they get the R15 reads first, in turns.
    undated_turns: Rotation,
    /// Per-instance cursor over the other partitions that need an R15 read.
    exact_turns: Rotation,
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
    enabled_by_default: true,
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
