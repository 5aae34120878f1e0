//! The metric catalogue: for each engine, the dimension levels of `SYS.DMS` (the `dimensions`
//! of the ces-hierarchy answer, in its order) and the metrics each level has, with their unit
//! and how their value comes from the model.
//!
//! Sources (shared/reference/cloud-eye-and-credentials.md A2): Kafka follows the seed's
//! ces-hierarchy example (`kafka_instance_id`, `kafka_broker`, `kafka_topics` with child
//! `kafka_partitions`, `kafka_groups_partitions`) plus the user guide's group levels; RocketMQ
//! the user guide with the `reliablemq_` prefix; RabbitMQ the instance and node levels of the
//! user guide, and a queue level whose dimension names no source confirms
//! (`rabbitmq_vhost`, `rabbitmq_queue`). Levels the simulator has no model for (Kafka REST
//! proxy, Smart Connect) are left out.

/// How a metric's value is read from the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The value at the moment of the sample.
    Gauge,
    /// The growth of a counter since the previous sample, per second, rounded down (CES:
    /// "messages per minute / 60, rounded down").
    Rate,
    /// The growth of a counter since the previous sample (a count per minute).
    Increase,
}

/// One metric of a level.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Metric {
    pub name: &'static str,
    /// The unit string CES sends (the user guides' units).
    pub unit: &'static str,
    pub kind: Kind,
}

/// One dimension level: the values of its `dim_router` come from the hierarchy's `key_name`
/// lists (after the instance id).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Level {
    /// The level's dimension name (the last of `dim_router`).
    pub name: &'static str,
    pub dim_router: &'static [&'static str],
    pub key_name: &'static [&'static str],
    pub metrics: &'static [Metric],
    /// The level it is a child of in the hierarchy answer, if any.
    pub parent: Option<&'static str>,
}

const fn gauge(name: &'static str, unit: &'static str) -> Metric {
    Metric {
        name,
        unit,
        kind: Kind::Gauge,
    }
}

const fn rate(name: &'static str, unit: &'static str) -> Metric {
    Metric {
        name,
        unit,
        kind: Kind::Rate,
    }
}

const fn increase(name: &'static str) -> Metric {
    Metric {
        name,
        unit: "Count",
        kind: Kind::Increase,
    }
}

pub(crate) const KAFKA: &[Level] = &[
    Level {
        name: "kafka_instance_id",
        dim_router: &["kafka_instance_id"],
        key_name: &["instance_ids"],
        metrics: &[
            gauge("current_partitions", "Count"),
            gauge("current_topics", "Count"),
            gauge("group_msgs", "Count"),
            rate("instance_bytes_in_rate", "Byte/s"),
            rate("instance_bytes_out_rate", "Byte/s"),
        ],
        parent: None,
    },
    Level {
        name: "kafka_broker",
        dim_router: &["kafka_instance_id", "kafka_broker"],
        key_name: &["nodes"],
        metrics: &[
            gauge("broker_data_size", "Byte"),
            rate("broker_messages_in_rate", "Count/s"),
            rate("broker_bytes_in_rate", "Byte/s"),
            rate("broker_bytes_out_rate", "Byte/s"),
            gauge("broker_produce_mean", "ms"),
            gauge("broker_fetch_mean", "ms"),
            gauge("broker_cpu_usage", "%"),
            gauge("broker_memory_usage", "%"),
            gauge("broker_disk_usage", "%"),
            gauge("broker_alive", "Count"),
            gauge("broker_connections", "Count"),
        ],
        parent: None,
    },
    Level {
        name: "kafka_topics",
        dim_router: &["kafka_instance_id", "kafka_topics"],
        key_name: &["queues"],
        metrics: &[
            gauge("topic_data_size", "Byte"),
            rate("topic_messages_in_rate", "Count/s"),
            rate("topic_bytes_out_rate", "Byte/s"),
            rate("topic_bytes_in_rate", "Byte/s"),
            gauge("topic_messages", "Count"),
        ],
        parent: None,
    },
    Level {
        name: "kafka_partitions",
        dim_router: &["kafka_instance_id", "kafka_topics", "kafka_partitions"],
        key_name: &["queues", "partitions"],
        metrics: &[
            gauge("produced_messages", "Count"),
            gauge("partition_messages", "Count"),
        ],
        parent: Some("kafka_topics"),
    },
    Level {
        name: "kafka_groups",
        dim_router: &["kafka_instance_id", "kafka_groups"],
        key_name: &["groups"],
        metrics: &[
            gauge("consumer_messages_remained", "Count"),
            increase("consumer_messages_consumed"),
        ],
        parent: None,
    },
    Level {
        name: "kafka_groups_topics",
        dim_router: &["kafka_instance_id", "kafka_groups", "kafka_groups_topics"],
        key_name: &["groups", "queues"],
        metrics: &[
            gauge("topic_messages_remained", "Count"),
            increase("topic_messages_consumed"),
        ],
        parent: Some("kafka_groups"),
    },
    Level {
        name: "kafka_groups_partitions",
        dim_router: &[
            "kafka_instance_id",
            "kafka_groups",
            "kafka_groups_topics",
            "kafka_groups_partitions",
        ],
        key_name: &["groups", "queues", "partitions"],
        metrics: &[
            increase("messages_consumed"),
            gauge("messages_remained", "Count"),
        ],
        parent: None,
    },
];

pub(crate) const ROCKETMQ: &[Level] = &[
    Level {
        name: "reliablemq_instance_id",
        dim_router: &["reliablemq_instance_id"],
        key_name: &["instance_ids"],
        metrics: &[
            gauge("current_topics", "Count"),
            gauge("current_queues", "Count"),
            gauge("instance_accumulation", "Count"),
            rate("instance_produce_rate", "Count/s"),
            rate("instance_consume_rate", "Count/s"),
        ],
        parent: None,
    },
    Level {
        name: "reliablemq_broker",
        dim_router: &["reliablemq_instance_id", "reliablemq_broker"],
        key_name: &["nodes"],
        metrics: &[
            increase("broker_produce_msg"),
            increase("broker_consume_msg"),
            rate("broker_produce_rate", "Count/s"),
            rate("broker_consume_rate", "Count/s"),
            gauge("broker_cpu_core_load", ""),
            gauge("broker_memory_usage", "%"),
        ],
        parent: None,
    },
    Level {
        name: "reliablemq_topics",
        dim_router: &["reliablemq_instance_id", "reliablemq_topics"],
        key_name: &["topics"],
        metrics: &[
            increase("topic_produce_msg"),
            increase("topic_consume_msg"),
            rate("topic_produce_rate", "Count/s"),
            rate("topic_consume_rate", "Count/s"),
        ],
        parent: None,
    },
    Level {
        name: "reliablemq_groups",
        dim_router: &["reliablemq_instance_id", "reliablemq_groups"],
        key_name: &["groups"],
        metrics: &[
            increase("group_consume_msg"),
            gauge("group_accumulation", "Count"),
        ],
        parent: None,
    },
    Level {
        name: "reliablemq_groups_topics",
        dim_router: &[
            "reliablemq_instance_id",
            "reliablemq_groups",
            "reliablemq_groups_topics",
        ],
        key_name: &["groups", "topics"],
        metrics: &[
            increase("group_topic_consume_msg"),
            gauge("group_topic_accumulation", "Count"),
            rate("group_topic_consume_rate", "Count/s"),
        ],
        parent: Some("reliablemq_groups"),
    },
    Level {
        name: "reliablemq_dlq_topics",
        dim_router: &["reliablemq_instance_id", "reliablemq_dlq_topics"],
        key_name: &["dlq"],
        metrics: &[gauge("dlq_accumulation", "Count")],
        parent: None,
    },
];

pub(crate) const RABBITMQ: &[Level] = &[
    Level {
        name: "rabbitmq_instance_id",
        dim_router: &["rabbitmq_instance_id"],
        key_name: &["instance_ids"],
        metrics: &[
            gauge("connections", "Count"),
            gauge("channels", "Count"),
            gauge("queues", "Count"),
            gauge("consumers", "Count"),
            gauge("messages_ready", "Count"),
            gauge("messages_unacknowledged", "Count"),
        ],
        parent: None,
    },
    Level {
        name: "rabbitmq_node",
        dim_router: &["rabbitmq_instance_id", "rabbitmq_node"],
        key_name: &["nodes"],
        metrics: &[
            gauge("rabbitmq_alive", "Count"),
            gauge("rabbitmq_cpu_usage", "%"),
            gauge("rabbitmq_memory_usage", "%"),
            gauge("rabbitmq_disk_insufficient", "Count"),
        ],
        parent: None,
    },
    Level {
        name: "rabbitmq_queue",
        dim_router: &["rabbitmq_instance_id", "rabbitmq_vhost", "rabbitmq_queue"],
        key_name: &["vhosts", "queues"],
        metrics: &[
            gauge("queue_messages_ready", "Count"),
            gauge("queue_messages_unacknowledged", "Count"),
            gauge("queue_consumers", "Count"),
        ],
        parent: None,
    },
];

/// The level whose `dim_router` is exactly `dimensions`, and its metric `name`.
pub(crate) fn metric(dimensions: &[&str], name: &str) -> Option<Metric> {
    [KAFKA, ROCKETMQ, RABBITMQ]
        .iter()
        .flat_map(|levels| levels.iter())
        .filter(|level| level.dim_router == dimensions)
        .flat_map(|level| level.metrics.iter())
        .find(|metric| metric.name == name)
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_well_formed() {
        for levels in [KAFKA, ROCKETMQ, RABBITMQ] {
            for level in levels {
                assert_eq!(level.dim_router.last(), Some(&level.name));
                assert!(
                    level.dim_router.len() <= 4,
                    "CES takes at most 4 dimensions"
                );
                // The instance id comes from `instance_ids`; every other dimension from a list.
                let lists = if level.dim_router.len() == 1 {
                    1
                } else {
                    level.dim_router.len() - 1
                };
                assert_eq!(level.key_name.len(), lists, "{}", level.name);
                if let Some(parent) = level.parent {
                    assert!(
                        levels
                            .iter()
                            .any(|l| l.name == parent && l.parent.is_none())
                    );
                }
                let mut names: Vec<&str> = level.metrics.iter().map(|m| m.name).collect();
                names.sort_unstable();
                names.dedup();
                assert_eq!(names.len(), level.metrics.len(), "{}", level.name);
            }
        }
        assert_eq!(
            metric(
                &["kafka_instance_id", "kafka_topics"],
                "topic_messages_in_rate"
            )
            .map(|m| m.kind),
            Some(Kind::Rate)
        );
        assert!(metric(&["kafka_instance_id"], "topic_messages_in_rate").is_none());
    }
}
