//! Kafka: partitions' log end offsets are the produced-message counters, groups' committed
//! offsets the consumed ones; a broker's data size is the sum of its replicas (what the
//! disk-usage answer shows), a topic's the sum of its partitions' replicas.

use super::{EngineSink, between, count, monitored, value};
use crate::ces::history::Reading;
use crate::kafka::{GIB, Instance};

pub(super) fn observe(instance: &Instance, sink: &mut EngineSink<'_>) {
    let id = instance.id.as_str();
    let topics: Vec<_> = instance
        .topics
        .values()
        .filter(|t| !t.internal && monitored(&t.name))
        .collect();
    let groups: Vec<_> = instance
        .groups
        .iter()
        .filter(|(name, _)| monitored(name))
        .collect();
    let bytes_in = |filter: &dyn Fn(&str, u32, &[u32]) -> bool| -> u64 {
        topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(move |p| (t, p)))
            .filter(|(t, p)| filter(&t.name, p.id, &p.replicas))
            .map(|(_, p)| p.leo * p.msg_bytes)
            .sum()
    };
    let msg_bytes = |topic: &str, partition: u32| -> u64 {
        instance
            .topics
            .get(topic)
            .and_then(|t| t.partitions.iter().find(|p| p.id == partition))
            .map_or(0, |p| p.msg_bytes)
    };
    // (group, topic, partition, committed offset), monitored names only.
    let committed: Vec<(&str, &str, u32, u64)> = groups
        .iter()
        .flat_map(|(group, g)| {
            g.committed
                .iter()
                .filter(|((topic, _), _)| monitored(topic))
                .map(move |((topic, partition), offset)| {
                    (group.as_str(), topic.as_str(), *partition, *offset)
                })
        })
        .collect();
    let bytes_out = |filter: &dyn Fn(&str, u32) -> bool| -> u64 {
        committed
            .iter()
            .filter(|(_, t, p, _)| filter(t, *p))
            .map(|(_, t, p, offset)| offset * msg_bytes(t, *p))
            .sum()
    };
    let lag = |offset: u64, topic: &str, partition: u32| {
        instance.leo(topic, partition).saturating_sub(offset)
    };
    let total_lag: u64 = committed.iter().map(|(_, t, p, o)| lag(*o, t, *p)).sum();
    sink.put(
        "kafka_instance_id",
        &[id],
        &[
            (
                "current_partitions",
                count(topics.iter().map(|t| t.partitions.len()).sum()),
            ),
            ("current_topics", count(topics.len())),
            ("group_msgs", value(total_lag)),
            (
                "instance_bytes_in_rate",
                Reading::Counter(bytes_in(&|_, _, _| true)),
            ),
            (
                "instance_bytes_out_rate",
                Reading::Counter(bytes_out(&|_, _| true)),
            ),
        ],
    );
    for broker in &instance.brokers {
        let name = format!("broker-{}", broker.id);
        let leads = |replicas: &[u32]| replicas.first() == Some(&broker.id);
        let led_messages: u64 = topics
            .iter()
            .flat_map(|t| &t.partitions)
            .filter(|p| leads(&p.replicas))
            .map(|p| p.leo)
            .sum();
        let used = instance.broker_used_bytes(broker.id);
        let capacity = (instance.broker_disk_gb * GIB).max(1);
        let led_out = bytes_out(&|t, p| {
            instance
                .topics
                .get(t)
                .and_then(|t| t.partitions.iter().find(|x| x.id == p))
                .is_some_and(|x| leads(&x.replicas))
        });
        sink.put(
            "kafka_broker",
            &[id, &name],
            &[
                ("broker_data_size", value(used)),
                ("broker_messages_in_rate", Reading::Counter(led_messages)),
                (
                    "broker_bytes_in_rate",
                    Reading::Counter(bytes_in(&|_, _, r| leads(r))),
                ),
                ("broker_bytes_out_rate", Reading::Counter(led_out)),
                ("broker_produce_mean", between(0.5, 5.0)),
                ("broker_fetch_mean", between(1.0, 20.0)),
                ("broker_cpu_usage", between(5.0, 40.0)),
                ("broker_memory_usage", between(30.0, 70.0)),
                // Two decimals, as CES keeps floats.
                (
                    "broker_disk_usage",
                    Reading::Value((used as f64 / capacity as f64 * 10_000.0).floor() / 100.0),
                ),
                ("broker_alive", count(usize::from(broker.up))),
                (
                    "broker_connections",
                    Reading::Synthetic {
                        low: 10.0,
                        high: 60.0,
                        integer: true,
                    },
                ),
            ],
        );
    }
    for topic in &topics {
        let name = topic.name.as_str();
        let size: u64 = topic
            .partitions
            .iter()
            .flat_map(|p| (0..p.replicas.len()).map(move |i| p.replica_size(i)))
            .sum();
        sink.put(
            "kafka_topics",
            &[id, name],
            &[
                ("topic_data_size", value(size)),
                (
                    "topic_messages_in_rate",
                    Reading::Counter(topic.partitions.iter().map(|p| p.leo).sum()),
                ),
                (
                    "topic_bytes_out_rate",
                    Reading::Counter(bytes_out(&|t, _| t == name)),
                ),
                (
                    "topic_bytes_in_rate",
                    Reading::Counter(bytes_in(&|t, _, _| t == name)),
                ),
                (
                    "topic_messages",
                    value(
                        topic
                            .partitions
                            .iter()
                            .map(|p| p.leo - p.lso.min(p.leo))
                            .sum(),
                    ),
                ),
            ],
        );
        for partition in &topic.partitions {
            let number = partition.id.to_string();
            sink.put(
                "kafka_partitions",
                &[id, name, &number],
                &[
                    ("produced_messages", value(partition.leo)),
                    (
                        "partition_messages",
                        value(partition.leo.saturating_sub(partition.lso)),
                    ),
                ],
            );
        }
    }
    for (group, _) in &groups {
        let mine: Vec<_> = committed.iter().filter(|c| c.0 == group.as_str()).collect();
        sink.put(
            "kafka_groups",
            &[id, group],
            &[
                (
                    "consumer_messages_remained",
                    value(mine.iter().map(|(_, t, p, o)| lag(*o, t, *p)).sum()),
                ),
                (
                    "consumer_messages_consumed",
                    Reading::Counter(mine.iter().map(|c| c.3).sum()),
                ),
            ],
        );
        let mut topics_of_group: Vec<&str> = mine.iter().map(|c| c.1).collect();
        topics_of_group.dedup();
        for topic in topics_of_group {
            let on_topic: Vec<_> = mine.iter().filter(|c| c.1 == topic).collect();
            sink.put(
                "kafka_groups_topics",
                &[id, group, topic],
                &[
                    (
                        "topic_messages_remained",
                        value(on_topic.iter().map(|(_, t, p, o)| lag(*o, t, *p)).sum()),
                    ),
                    (
                        "topic_messages_consumed",
                        Reading::Counter(on_topic.iter().map(|c| c.3).sum()),
                    ),
                ],
            );
            for (_, t, partition, offset) in on_topic {
                let number = partition.to_string();
                sink.put(
                    "kafka_groups_partitions",
                    &[id, group, t, &number],
                    &[
                        ("messages_consumed", Reading::Counter(*offset)),
                        ("messages_remained", value(lag(*offset, t, *partition))),
                    ],
                );
            }
        }
    }
}
