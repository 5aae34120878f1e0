//! How fine the consumer lag and health series go, for Kafka (`kafka_consumer_granularity`:
//! partition, topic, group) and RocketMQ (`rocketmq_consumer_granularity`: queue, topic,
//! group). A coarser level leaves families out; it never changes a family's labels.

use crate::metrics::catalog::Family;

/// The level a granularity option names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// Kafka's partitions, RocketMQ's queues: every family.
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
        let finest = has("partition") || has("queue");
        match self {
            Self::Partition => true,
            Self::Topic => !finest,
            Self::Group => !finest && !has("topic"),
        }
    }
}
