//! RabbitMQ: the model keeps one depth per queue; CES splits it into ready and
//! unacknowledged messages. Each consumer holds up to `PREFETCH` unacknowledged messages, so
//! ready + unacknowledged is always the queue's `messages` in the DMS answers.

use super::{EngineSink, between, count, value};
use crate::rabbitmq::Instance;

/// Unacknowledged messages a consumer holds at most (a prefetch count).
const PREFETCH: u64 = 10;

/// The node names CES and the hierarchy use: `rabbit@` and a host per node.
pub(crate) fn node_names(instance: &Instance) -> Vec<String> {
    let short: String = instance.id.chars().take(8).collect();
    (0..instance.brokers())
        .map(|n| format!("rabbit@dms-vm-{short}-rabbitmq-{n}"))
        .collect()
}

/// (ready, unacknowledged) of a queue of `messages` with `consumers`.
pub(crate) fn split(messages: u64, consumers: u32) -> (u64, u64) {
    let unacked = messages.min(u64::from(consumers) * PREFETCH);
    (messages - unacked, unacked)
}

pub(super) fn observe(instance: &Instance, sink: &mut EngineSink<'_>) {
    let id = instance.id.as_str();
    let queues: Vec<(&str, &str, u64, u32)> = instance
        .depth
        .vhosts
        .iter()
        .flat_map(|(vhost, v)| {
            v.queues
                .iter()
                .map(move |(name, q)| (vhost.as_str(), name.as_str(), q.messages, q.consumers))
        })
        .collect();
    let consumers: u64 = queues.iter().map(|q| u64::from(q.3)).sum();
    let (ready, unacked) = queues.iter().fold((0, 0), |(r, u), q| {
        let (ready, unacked) = split(q.2, q.3);
        (r + ready, u + unacked)
    });
    sink.put(
        "rabbitmq_instance_id",
        &[id],
        &[
            // One connection and one channel per consumer.
            ("connections", value(consumers)),
            ("channels", value(consumers)),
            ("queues", count(queues.len())),
            ("consumers", value(consumers)),
            ("messages_ready", value(ready)),
            ("messages_unacknowledged", value(unacked)),
        ],
    );
    let alive = usize::from(instance.status == "RUNNING");
    for node in node_names(instance) {
        sink.put(
            "rabbitmq_node",
            &[id, &node],
            &[
                ("rabbitmq_alive", count(alive)),
                ("rabbitmq_cpu_usage", between(3.0, 35.0)),
                ("rabbitmq_memory_usage", between(20.0, 60.0)),
                ("rabbitmq_disk_insufficient", count(0)),
            ],
        );
    }
    for (vhost, queue, messages, consumers) in queues {
        let (ready, unacked) = split(messages, consumers);
        sink.put(
            "rabbitmq_queue",
            &[id, vhost, queue],
            &[
                ("queue_messages_ready", value(ready)),
                ("queue_messages_unacknowledged", value(unacked)),
                ("queue_consumers", value(u64::from(consumers))),
            ],
        );
    }
}
