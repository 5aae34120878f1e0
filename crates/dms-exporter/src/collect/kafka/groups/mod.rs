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
use crate::collect::health::{self, status};
use crate::collect::registry::{Choice, Count, Opt};
use crate::collect::rotation::Rotation;
use crate::collect::{Collector, Context, Description, Output, Priority, Scope};
use crate::metrics::catalog;
use crate::metrics::catalog::Family;

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
        &catalog::KAFKA_GROUP_STATE,
        &catalog::KAFKA_GROUP_MEMBERS,
        &catalog::KAFKA_GROUP_LAG,
        &catalog::KAFKA_GROUP_CURRENT_OFFSET,
        &catalog::KAFKA_GROUP_LOG_END_OFFSET,
        &catalog::KAFKA_GROUP_TOPIC_LAG,
        &catalog::KAFKA_GROUP_TOTAL_LAG,
        &catalog::KAFKA_GROUP_LAG_SECONDS,
        &catalog::KAFKA_GROUP_TOPIC_LAG_SECONDS,
        &catalog::KAFKA_GROUP_MAX_LAG_SECONDS,
        &catalog::KAFKA_GROUP_LAG_SECONDS_VALUES,
        &catalog::KAFKA_GROUP_PARTITION_STATUS,
        &catalog::KAFKA_GROUP_STATUS,
        &catalog::KAFKA_GROUP_MESSAGES_LOST,
        &catalog::KAFKA_GROUP_LAG_RETENTION_RATIO,
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
