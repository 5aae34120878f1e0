//! RocketMQ: queues' max offsets are the produced-message counters, groups' committed
//! offsets the consumed ones; accumulation is the lag the DMS group answers show.

use super::{EngineSink, between, count, dead_letter_topic, monitored, value};
use crate::ces::history::Reading;
use crate::rocketmq::Instance;

pub(super) fn observe(instance: &Instance, sink: &mut EngineSink<'_>) {
    let id = instance.id.as_str();
    // (topic, broker index, max offset) of every queue of a monitored topic.
    let queues: Vec<(&str, usize, u64)> = instance
        .topics
        .iter()
        .filter(|(name, _)| monitored(name))
        .flat_map(|(name, topic)| {
            topic
                .queues
                .iter()
                .map(move |((broker, _), queue)| (name.as_str(), *broker, queue.max_offset))
        })
        .collect();
    // (group, topic, broker index, committed offset, lag).
    let committed: Vec<(&str, &str, usize, u64, u64)> = instance
        .groups
        .iter()
        .filter(|(name, _)| monitored(name))
        .flat_map(|(group, g)| {
            g.committed
                .iter()
                .filter(|((topic, _, _), _)| monitored(topic))
                .map(move |((topic, broker, queue), c)| {
                    let end = instance
                        .topics
                        .get(topic)
                        .and_then(|t| t.queues.get(&(*broker, *queue)))
                        .map_or(0, |q| q.max_offset);
                    (
                        group.as_str(),
                        topic.as_str(),
                        *broker,
                        c.offset,
                        end.saturating_sub(c.offset),
                    )
                })
        })
        .collect();
    let produced = |keep: &dyn Fn(&str, usize) -> bool| -> u64 {
        queues
            .iter()
            .filter(|(t, b, _)| keep(t, *b))
            .map(|q| q.2)
            .sum()
    };
    let consumed = |keep: &dyn Fn(&str, &str, usize) -> bool| -> u64 {
        committed
            .iter()
            .filter(|(g, t, b, ..)| keep(g, t, *b))
            .map(|c| c.3)
            .sum()
    };
    let lag = |keep: &dyn Fn(&str, &str) -> bool| -> u64 {
        committed
            .iter()
            .filter(|(g, t, ..)| keep(g, t))
            .map(|c| c.4)
            .sum()
    };
    sink.put(
        "reliablemq_instance_id",
        &[id],
        &[
            (
                "current_topics",
                count(instance.topics.keys().filter(|t| monitored(t)).count()),
            ),
            ("current_queues", count(queues.len())),
            ("instance_accumulation", value(lag(&|_, _| true))),
            (
                "instance_produce_rate",
                Reading::Counter(produced(&|_, _| true)),
            ),
            (
                "instance_consume_rate",
                Reading::Counter(consumed(&|_, _, _| true)),
            ),
        ],
    );
    for (index, broker) in instance.brokers.iter().enumerate() {
        let produced = produced(&|_, b| b == index);
        let consumed = consumed(&|_, _, b| b == index);
        sink.put(
            "reliablemq_broker",
            &[id, broker],
            &[
                ("broker_produce_msg", Reading::Counter(produced)),
                ("broker_consume_msg", Reading::Counter(consumed)),
                ("broker_produce_rate", Reading::Counter(produced)),
                ("broker_consume_rate", Reading::Counter(consumed)),
                ("broker_cpu_core_load", between(0.1, 1.5)),
                ("broker_memory_usage", between(30.0, 70.0)),
            ],
        );
    }
    for topic in instance.topics.keys().filter(|t| monitored(t)) {
        let produced = produced(&|t, _| t == topic);
        let consumed = consumed(&|_, t, _| t == topic);
        sink.put(
            "reliablemq_topics",
            &[id, topic],
            &[
                ("topic_produce_msg", Reading::Counter(produced)),
                ("topic_consume_msg", Reading::Counter(consumed)),
                ("topic_produce_rate", Reading::Counter(produced)),
                ("topic_consume_rate", Reading::Counter(consumed)),
            ],
        );
    }
    for (group, g) in instance.groups.iter().filter(|(name, _)| monitored(name)) {
        sink.put(
            "reliablemq_groups",
            &[id, group],
            &[
                (
                    "group_consume_msg",
                    Reading::Counter(consumed(&|x, _, _| x == group)),
                ),
                ("group_accumulation", value(lag(&|x, _| x == group))),
            ],
        );
        // Messages go to the dead-letter topic only after every retry, which the model
        // never exhausts: empty.
        sink.put(
            "reliablemq_dlq_topics",
            &[id, &dead_letter_topic(group)],
            &[("dlq_accumulation", count(0))],
        );
        for topic in g.topics.iter().filter(|t| monitored(t)) {
            let consumed = consumed(&|x, t, _| x == group && t == topic);
            sink.put(
                "reliablemq_groups_topics",
                &[id, group, topic],
                &[
                    ("group_topic_consume_msg", Reading::Counter(consumed)),
                    (
                        "group_topic_accumulation",
                        value(lag(&|x, t| x == group && t == topic)),
                    ),
                    ("group_topic_consume_rate", Reading::Counter(consumed)),
                ],
            );
        }
    }
}
