//! What the exporter knows of Cloud Eye's DMS metrics (namespace `SYS.DMS`): each dimension
//! level (by its CES name, the last of its `dim_router`) with the labels its values become,
//! and each metric with the family it is exported as and the divisor to the family's base unit
//! (percentages to ratios, milliseconds to seconds; a division prints 0.2769 where a product
//! by 0.01 prints 0.27690000000000003). A metric or level not listed here is
//! counted (`dms_ces_unknown_metrics`), never exported under a guessed name.

use dms_cloud::Engine;

use crate::metrics::catalog::{B, Family, S, families};

/// The labels a level's dimension values become (after `instance_id`), and whether the level
/// is read by default or only when its option says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Instance,
    /// Kafka and RocketMQ brokers.
    Broker,
    /// RabbitMQ nodes.
    Node,
    Topic,
    /// Kafka partitions (opt-in: `ces_partitions`).
    Partition,
    /// Consumer groups and their topics and partitions (opt-in: `ces_groups`).
    Group,
    GroupTopic,
    GroupPartition,
    /// RabbitMQ queues, in their vhost.
    Queue,
    /// RocketMQ dead-letter topics (`%DLQ%{group}`), one per consumer group.
    DeadLetter,
}

impl Level {
    /// The `level` label of the self-metrics and the part name in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Instance => "instance",
            Level::Broker => "broker",
            Level::Node => "node",
            Level::Topic => "topic",
            Level::Partition => "partition",
            Level::Group => "group",
            Level::GroupTopic => "group_topic",
            Level::GroupPartition => "group_partition",
            Level::Queue => "queue",
            Level::DeadLetter => "dead_letter",
        }
    }

    /// The labels of the dimension values after the instance's, in `dim_router` order.
    pub fn labels(self) -> &'static [&'static str] {
        match self {
            Level::Instance => &[],
            Level::Broker => &["broker"],
            Level::Node => &["node"],
            Level::Topic => &["topic"],
            Level::Partition => &["topic", "partition"],
            Level::Group => &["group"],
            Level::GroupTopic => &["group", "topic"],
            Level::GroupPartition => &["group", "topic", "partition"],
            Level::Queue => &["vhost", "queue"],
            Level::DeadLetter => &["topic"],
        }
    }

    pub const ALL: [Level; 10] = [
        Level::Instance,
        Level::Broker,
        Level::Node,
        Level::Topic,
        Level::Partition,
        Level::Group,
        Level::GroupTopic,
        Level::GroupPartition,
        Level::Queue,
        Level::DeadLetter,
    ];
}

/// The CES dimension level names (the last of a `dim_router`) the exporter reads.
const LEVELS: &[(Engine, &str, Level)] = &[
    (Engine::Kafka, "kafka_instance_id", Level::Instance),
    (Engine::Kafka, "kafka_broker", Level::Broker),
    (Engine::Kafka, "kafka_topics", Level::Topic),
    (Engine::Kafka, "kafka_partitions", Level::Partition),
    (Engine::Kafka, "kafka_groups", Level::Group),
    (Engine::Kafka, "kafka_groups_topics", Level::GroupTopic),
    (
        Engine::Kafka,
        "kafka_groups_partitions",
        Level::GroupPartition,
    ),
    (Engine::RocketMq, "reliablemq_instance_id", Level::Instance),
    (Engine::RocketMq, "reliablemq_broker", Level::Broker),
    (Engine::RocketMq, "reliablemq_topics", Level::Topic),
    (Engine::RocketMq, "reliablemq_groups", Level::Group),
    (
        Engine::RocketMq,
        "reliablemq_groups_topics",
        Level::GroupTopic,
    ),
    (Engine::RocketMq, "reliablemq_dlq_topics", Level::DeadLetter),
    (Engine::RabbitMq, "rabbitmq_instance_id", Level::Instance),
    (Engine::RabbitMq, "rabbitmq_node", Level::Node),
    (Engine::RabbitMq, "rabbitmq_queue", Level::Queue),
];

/// The level of CES dimension level `name` for `engine`, if the exporter reads it.
pub fn level(engine: Engine, name: &str) -> Option<Level> {
    LEVELS
        .iter()
        .find(|(e, n, _)| *e == engine && *n == name)
        .map(|(_, _, level)| *level)
}

/// One CES metric the exporter exports.
#[derive(Debug)]
pub struct CesMetric {
    pub engine: Engine,
    pub level: Level,
    /// The CES metric name.
    pub name: &'static str,
    pub family: &'static Family,
    /// Divides CES's value into the family's unit.
    pub divisor: f64,
}

const PERCENT: f64 = 100.0;
const MILLISECONDS: f64 = 1000.0;
const SAME: f64 = 1.0;

const fn metric(
    engine: Engine,
    level: Level,
    name: &'static str,
    family: &'static Family,
    divisor: f64,
) -> CesMetric {
    CesMetric {
        engine,
        level,
        name,
        family,
        divisor,
    }
}

/// The metric `name` of `engine` at `level`, if the exporter knows it.
pub fn find(engine: Engine, level: Level, name: &str) -> Option<&'static CesMetric> {
    METRICS
        .iter()
        .find(|m| m.engine == engine && m.level == level && m.name == name)
}

families! {
    timestamped all CES_FAMILIES;
    // Kafka, instance level.
    KAFKA_CES_PARTITIONS = "dms_kafka_ces_partitions", Gauge, None, ["instance_id"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Partitions of the instance, as Cloud Eye counts them (current_partitions).";
    KAFKA_CES_TOPICS = "dms_kafka_ces_topics", Gauge, None, ["instance_id"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Topics of the instance, as Cloud Eye counts them (current_topics).";
    KAFKA_CES_GROUP_MESSAGES = "dms_kafka_ces_group_messages", Gauge, None, ["instance_id"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages not yet consumed, summed over every consumer group (group_msgs: a topic's backlog counts once per group that consumes it).";
    KAFKA_INSTANCE_BYTES_IN = "dms_kafka_instance_bytes_in_per_second", Gauge, None, ["instance_id"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Bytes produced to the instance per second (instance_bytes_in_rate).";
    KAFKA_INSTANCE_BYTES_OUT = "dms_kafka_instance_bytes_out_per_second", Gauge, None, ["instance_id"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Bytes fetched from the instance per second (instance_bytes_out_rate).";
    // Kafka, broker level.
    KAFKA_BROKER_DATA_SIZE = "dms_kafka_broker_data_size_bytes", Gauge, B, ["instance_id", "broker"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Bytes of message data on the broker's disk (broker_data_size).";
    KAFKA_BROKER_MESSAGES_IN = "dms_kafka_broker_messages_in_per_second", Gauge, None, ["instance_id", "broker"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages produced to the broker per second (broker_messages_in_rate).";
    KAFKA_BROKER_BYTES_IN = "dms_kafka_broker_bytes_in_per_second", Gauge, None, ["instance_id", "broker"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Bytes produced to the broker per second (broker_bytes_in_rate).";
    KAFKA_BROKER_BYTES_OUT = "dms_kafka_broker_bytes_out_per_second", Gauge, None, ["instance_id", "broker"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Bytes fetched from the broker per second (broker_bytes_out_rate).";
    KAFKA_BROKER_PRODUCE_LATENCY = "dms_kafka_broker_produce_latency_seconds", Gauge, S, ["instance_id", "broker"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Mean time the broker takes to handle a produce request (broker_produce_mean, ms in CES).";
    KAFKA_BROKER_FETCH_LATENCY = "dms_kafka_broker_fetch_latency_seconds", Gauge, S, ["instance_id", "broker"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Mean time the broker takes to handle a fetch request (broker_fetch_mean, ms in CES).";
    KAFKA_BROKER_CPU = "dms_kafka_broker_cpu_usage_ratio", Gauge, Some("ratio"), ["instance_id", "broker"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "CPU usage of the broker's node, 0 to 1 (broker_cpu_usage, % in CES).";
    KAFKA_BROKER_MEMORY = "dms_kafka_broker_memory_usage_ratio", Gauge, Some("ratio"), ["instance_id", "broker"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Memory usage of the broker's node, 0 to 1 (broker_memory_usage, % in CES).";
    KAFKA_BROKER_DISK = "dms_kafka_broker_disk_usage_ratio", Gauge, Some("ratio"), ["instance_id", "broker"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Disk usage of the broker's data disk, 0 to 1 (broker_disk_usage, % in CES).";
    KAFKA_BROKER_ALIVE = "dms_kafka_broker_alive", Gauge, None, ["instance_id", "broker"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "1 if Cloud Eye sees the broker alive, else 0 (broker_alive).";
    KAFKA_BROKER_CONNECTIONS = "dms_kafka_broker_connections", Gauge, None, ["instance_id", "broker"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Client connections to the broker (broker_connections).";
    // Kafka, topic level.
    KAFKA_TOPIC_DATA_SIZE = "dms_kafka_topic_data_size_bytes", Gauge, B, ["instance_id", "topic"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Bytes of the topic's messages on disk (topic_data_size).";
    KAFKA_TOPIC_MESSAGES_IN = "dms_kafka_topic_messages_in_per_second", Gauge, None, ["instance_id", "topic"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages produced to the topic per second (topic_messages_in_rate; CES rounds a minute's count divided by 60 down).";
    KAFKA_TOPIC_BYTES_IN = "dms_kafka_topic_bytes_in_per_second", Gauge, None, ["instance_id", "topic"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Bytes produced to the topic per second (topic_bytes_in_rate).";
    KAFKA_TOPIC_BYTES_OUT = "dms_kafka_topic_bytes_out_per_second", Gauge, None, ["instance_id", "topic"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Bytes fetched from the topic per second (topic_bytes_out_rate).";
    KAFKA_TOPIC_CES_MESSAGES = "dms_kafka_topic_ces_messages", Gauge, None, ["instance_id", "topic"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages in the topic, as Cloud Eye counts them (topic_messages).";
    // Kafka, partition level (opt-in).
    KAFKA_PARTITION_CES_MESSAGES = "dms_kafka_partition_ces_messages", Gauge, None, ["instance_id", "topic", "partition"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages in the partition, as Cloud Eye counts them (partition_messages).";
    KAFKA_PARTITION_PRODUCED = "dms_kafka_partition_produced_messages", Gauge, None, ["instance_id", "topic", "partition"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages produced to the partition in the last minute (produced_messages).";
    // Kafka, consumer groups (opt-in).
    KAFKA_GROUP_REMAINED = "dms_kafka_group_ces_remaining_messages", Gauge, None, ["instance_id", "group"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages the group has not consumed yet (consumer_messages_remained).";
    KAFKA_GROUP_CONSUMED = "dms_kafka_group_ces_consumed_messages", Gauge, None, ["instance_id", "group"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages the group consumed in the last minute (consumer_messages_consumed).";
    KAFKA_GROUP_TOPIC_REMAINED = "dms_kafka_group_topic_ces_remaining_messages", Gauge, None, ["instance_id", "group", "topic"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages of the topic the group has not consumed yet (topic_messages_remained).";
    KAFKA_GROUP_TOPIC_CONSUMED = "dms_kafka_group_topic_ces_consumed_messages", Gauge, None, ["instance_id", "group", "topic"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages of the topic the group consumed in the last minute (topic_messages_consumed).";
    KAFKA_GROUP_PARTITION_REMAINED = "dms_kafka_group_partition_ces_remaining_messages", Gauge, None, ["instance_id", "group", "topic", "partition"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages of the partition the group has not consumed yet (messages_remained).";
    KAFKA_GROUP_PARTITION_CONSUMED = "dms_kafka_group_partition_ces_consumed_messages", Gauge, None, ["instance_id", "group", "topic", "partition"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages of the partition the group consumed in the last minute (messages_consumed).";
    // RocketMQ, instance level.
    ROCKETMQ_CES_TOPICS = "dms_rocketmq_ces_topics", Gauge, None, ["instance_id"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Topics of the instance, as Cloud Eye counts them (current_topics).";
    ROCKETMQ_CES_QUEUES = "dms_rocketmq_ces_queues", Gauge, None, ["instance_id"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Queues of the instance, as Cloud Eye counts them (current_queues).";
    ROCKETMQ_INSTANCE_ACCUMULATION = "dms_rocketmq_instance_accumulated_messages", Gauge, None, ["instance_id"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages produced and not yet consumed on the instance (instance_accumulation).";
    ROCKETMQ_INSTANCE_PRODUCE = "dms_rocketmq_instance_produced_messages_per_second", Gauge, None, ["instance_id"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages produced to the instance per second (instance_produce_rate).";
    ROCKETMQ_INSTANCE_CONSUME = "dms_rocketmq_instance_consumed_messages_per_second", Gauge, None, ["instance_id"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages consumed from the instance per second (instance_consume_rate).";
    // RocketMQ, broker level.
    ROCKETMQ_BROKER_PRODUCED = "dms_rocketmq_broker_produced_messages", Gauge, None, ["instance_id", "broker"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages produced to the broker in the last minute (broker_produce_msg).";
    ROCKETMQ_BROKER_CONSUMED = "dms_rocketmq_broker_consumed_messages", Gauge, None, ["instance_id", "broker"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages consumed from the broker in the last minute (broker_consume_msg).";
    ROCKETMQ_BROKER_PRODUCE = "dms_rocketmq_broker_produced_messages_per_second", Gauge, None, ["instance_id", "broker"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages produced to the broker per second (broker_produce_rate).";
    ROCKETMQ_BROKER_CONSUME = "dms_rocketmq_broker_consumed_messages_per_second", Gauge, None, ["instance_id", "broker"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages consumed from the broker per second (broker_consume_rate).";
    ROCKETMQ_BROKER_CPU_LOAD = "dms_rocketmq_broker_cpu_core_load", Gauge, None, ["instance_id", "broker"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Average load per CPU core of the broker's node (broker_cpu_core_load).";
    ROCKETMQ_BROKER_MEMORY = "dms_rocketmq_broker_memory_usage_ratio", Gauge, Some("ratio"), ["instance_id", "broker"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Memory usage of the broker's node, 0 to 1 (broker_memory_usage, % in CES).";
    // RocketMQ, topic level.
    ROCKETMQ_TOPIC_PRODUCED = "dms_rocketmq_topic_produced_messages", Gauge, None, ["instance_id", "topic"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages produced to the topic in the last minute (topic_produce_msg).";
    ROCKETMQ_TOPIC_CONSUMED = "dms_rocketmq_topic_consumed_messages", Gauge, None, ["instance_id", "topic"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages consumed from the topic in the last minute (topic_consume_msg).";
    ROCKETMQ_TOPIC_PRODUCE = "dms_rocketmq_topic_produced_messages_per_second", Gauge, None, ["instance_id", "topic"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages produced to the topic per second (topic_produce_rate).";
    ROCKETMQ_TOPIC_CONSUME = "dms_rocketmq_topic_consumed_messages_per_second", Gauge, None, ["instance_id", "topic"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages consumed from the topic per second (topic_consume_rate).";
    // RocketMQ, consumer groups (opt-in).
    ROCKETMQ_GROUP_CONSUMED = "dms_rocketmq_group_ces_consumed_messages", Gauge, None, ["instance_id", "group"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages the group consumed in the last minute (group_consume_msg).";
    ROCKETMQ_GROUP_ACCUMULATION = "dms_rocketmq_group_ces_accumulated_messages", Gauge, None, ["instance_id", "group"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages waiting for the group (group_accumulation).";
    ROCKETMQ_GROUP_TOPIC_CONSUMED = "dms_rocketmq_group_topic_ces_consumed_messages", Gauge, None, ["instance_id", "group", "topic"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages of the topic the group consumed in the last minute (group_topic_consume_msg).";
    ROCKETMQ_GROUP_TOPIC_ACCUMULATION = "dms_rocketmq_group_topic_ces_accumulated_messages", Gauge, None, ["instance_id", "group", "topic"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages of the topic waiting for the group (group_topic_accumulation).";
    ROCKETMQ_GROUP_TOPIC_CONSUME = "dms_rocketmq_group_topic_ces_consumed_messages_per_second", Gauge, None, ["instance_id", "group", "topic"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages of the topic the group consumes per second (group_topic_consume_rate).";
    // RocketMQ, dead-letter topics.
    ROCKETMQ_DEAD_LETTERS = "dms_rocketmq_dead_letter_messages", Gauge, None, ["instance_id", "topic"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages in the dead-letter topic (%DLQ%{group}): messages a group failed to consume after its retries (dlq_accumulation).";
    // RabbitMQ, instance level.
    RABBITMQ_CONNECTIONS = "dms_rabbitmq_connections", Gauge, None, ["instance_id"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Client connections to the instance (connections).";
    RABBITMQ_CHANNELS = "dms_rabbitmq_channels", Gauge, None, ["instance_id"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Channels open on the instance (channels).";
    RABBITMQ_CES_QUEUES = "dms_rabbitmq_ces_queues", Gauge, None, ["instance_id"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Queues of the instance, as Cloud Eye counts them (queues).";
    RABBITMQ_CONSUMERS = "dms_rabbitmq_consumers", Gauge, None, ["instance_id"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Consumers on the instance (consumers).";
    RABBITMQ_MESSAGES_READY = "dms_rabbitmq_messages_ready", Gauge, None, ["instance_id"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages ready for delivery, over every queue (messages_ready).";
    RABBITMQ_MESSAGES_UNACKED = "dms_rabbitmq_messages_unacknowledged", Gauge, None, ["instance_id"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages delivered and not yet acknowledged, over every queue (messages_unacknowledged).";
    // RabbitMQ, node level.
    RABBITMQ_NODE_ALIVE = "dms_rabbitmq_node_alive", Gauge, None, ["instance_id", "node"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "1 if Cloud Eye sees the node alive, else 0 (rabbitmq_alive).";
    RABBITMQ_NODE_CPU = "dms_rabbitmq_node_cpu_usage_ratio", Gauge, Some("ratio"), ["instance_id", "node"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "CPU usage of the node, 0 to 1 (rabbitmq_cpu_usage, % in CES).";
    RABBITMQ_NODE_MEMORY = "dms_rabbitmq_node_memory_usage_ratio", Gauge, Some("ratio"), ["instance_id", "node"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Memory usage of the node, 0 to 1 (rabbitmq_memory_usage, % in CES).";
    RABBITMQ_NODE_DISK_ALARM = "dms_rabbitmq_node_disk_insufficient", Gauge, None, ["instance_id", "node"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "1 if the node's free disk is below RabbitMQ's limit (publishers blocked), else 0 (rabbitmq_disk_insufficient).";
    // RabbitMQ, queue level.
    RABBITMQ_QUEUE_READY = "dms_rabbitmq_queue_messages_ready", Gauge, None, ["instance_id", "vhost", "queue"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages of the queue ready for delivery (queue_messages_ready).";
    RABBITMQ_QUEUE_UNACKED = "dms_rabbitmq_queue_messages_unacknowledged", Gauge, None, ["instance_id", "vhost", "queue"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Messages of the queue delivered and not yet acknowledged (queue_messages_unacknowledged).";
    RABBITMQ_QUEUE_CES_CONSUMERS = "dms_rabbitmq_queue_ces_consumers", Gauge, None, ["instance_id", "vhost", "queue"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Consumers of the queue, as Cloud Eye counts them (queue_consumers).";
    // The data's age and what is not exported.
    CES_NEWEST_POINT = "dms_ces_newest_point_timestamp_seconds", Gauge, S, ["instance_id", "level"],
        "POST ces /V1.0/{project_id}/batch-query-metric-data (SYS.DMS)",
        "Start of the minute of the newest Cloud Eye point exported for the instance at this dimension level, as a Unix timestamp: time() minus it is the age of the data (Cloud Eye's points arrive minutes late).";
    CES_UNKNOWN_METRICS = "dms_ces_unknown_metrics", Gauge, None, ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/ces-hierarchy",
        "Cloud Eye metrics of the instance's dimension levels that the exporter does not know and so does not export (a newer Cloud Eye than the exporter).";
}

/// Every metric the exporter exports, with its family and unit divisor.
pub static METRICS: &[CesMetric] = &[
    metric(
        Engine::Kafka,
        Level::Instance,
        "current_partitions",
        &KAFKA_CES_PARTITIONS,
        SAME,
    ),
    metric(
        Engine::Kafka,
        Level::Instance,
        "current_topics",
        &KAFKA_CES_TOPICS,
        SAME,
    ),
    metric(
        Engine::Kafka,
        Level::Instance,
        "group_msgs",
        &KAFKA_CES_GROUP_MESSAGES,
        SAME,
    ),
    // The hierarchy example spells it so; the metric table says group_msgs.
    metric(
        Engine::Kafka,
        Level::Instance,
        "group_messages",
        &KAFKA_CES_GROUP_MESSAGES,
        SAME,
    ),
    metric(
        Engine::Kafka,
        Level::Instance,
        "instance_bytes_in_rate",
        &KAFKA_INSTANCE_BYTES_IN,
        SAME,
    ),
    metric(
        Engine::Kafka,
        Level::Instance,
        "instance_bytes_out_rate",
        &KAFKA_INSTANCE_BYTES_OUT,
        SAME,
    ),
    metric(
        Engine::Kafka,
        Level::Broker,
        "broker_data_size",
        &KAFKA_BROKER_DATA_SIZE,
        SAME,
    ),
    metric(
        Engine::Kafka,
        Level::Broker,
        "broker_messages_in_rate",
        &KAFKA_BROKER_MESSAGES_IN,
        SAME,
    ),
    metric(
        Engine::Kafka,
        Level::Broker,
        "broker_bytes_in_rate",
        &KAFKA_BROKER_BYTES_IN,
        SAME,
    ),
    metric(
        Engine::Kafka,
        Level::Broker,
        "broker_bytes_out_rate",
        &KAFKA_BROKER_BYTES_OUT,
        SAME,
    ),
    metric(
        Engine::Kafka,
        Level::Broker,
        "broker_produce_mean",
        &KAFKA_BROKER_PRODUCE_LATENCY,
        MILLISECONDS,
    ),
    metric(
        Engine::Kafka,
        Level::Broker,
        "broker_fetch_mean",
        &KAFKA_BROKER_FETCH_LATENCY,
        MILLISECONDS,
    ),
    metric(
        Engine::Kafka,
        Level::Broker,
        "broker_cpu_usage",
        &KAFKA_BROKER_CPU,
        PERCENT,
    ),
    metric(
        Engine::Kafka,
        Level::Broker,
        "broker_memory_usage",
        &KAFKA_BROKER_MEMORY,
        PERCENT,
    ),
    metric(
        Engine::Kafka,
        Level::Broker,
        "broker_disk_usage",
        &KAFKA_BROKER_DISK,
        PERCENT,
    ),
    metric(
        Engine::Kafka,
        Level::Broker,
        "broker_alive",
        &KAFKA_BROKER_ALIVE,
        SAME,
    ),
    metric(
        Engine::Kafka,
        Level::Broker,
        "broker_connections",
        &KAFKA_BROKER_CONNECTIONS,
        SAME,
    ),
    metric(
        Engine::Kafka,
        Level::Topic,
        "topic_data_size",
        &KAFKA_TOPIC_DATA_SIZE,
        SAME,
    ),
    metric(
        Engine::Kafka,
        Level::Topic,
        "topic_messages_in_rate",
        &KAFKA_TOPIC_MESSAGES_IN,
        SAME,
    ),
    metric(
        Engine::Kafka,
        Level::Topic,
        "topic_bytes_in_rate",
        &KAFKA_TOPIC_BYTES_IN,
        SAME,
    ),
    metric(
        Engine::Kafka,
        Level::Topic,
        "topic_bytes_out_rate",
        &KAFKA_TOPIC_BYTES_OUT,
        SAME,
    ),
    metric(
        Engine::Kafka,
        Level::Topic,
        "topic_messages",
        &KAFKA_TOPIC_CES_MESSAGES,
        SAME,
    ),
    metric(
        Engine::Kafka,
        Level::Partition,
        "partition_messages",
        &KAFKA_PARTITION_CES_MESSAGES,
        SAME,
    ),
    metric(
        Engine::Kafka,
        Level::Partition,
        "produced_messages",
        &KAFKA_PARTITION_PRODUCED,
        SAME,
    ),
    metric(
        Engine::Kafka,
        Level::Group,
        "consumer_messages_remained",
        &KAFKA_GROUP_REMAINED,
        SAME,
    ),
    metric(
        Engine::Kafka,
        Level::Group,
        "consumer_messages_consumed",
        &KAFKA_GROUP_CONSUMED,
        SAME,
    ),
    metric(
        Engine::Kafka,
        Level::GroupTopic,
        "topic_messages_remained",
        &KAFKA_GROUP_TOPIC_REMAINED,
        SAME,
    ),
    metric(
        Engine::Kafka,
        Level::GroupTopic,
        "topic_messages_consumed",
        &KAFKA_GROUP_TOPIC_CONSUMED,
        SAME,
    ),
    metric(
        Engine::Kafka,
        Level::GroupPartition,
        "messages_remained",
        &KAFKA_GROUP_PARTITION_REMAINED,
        SAME,
    ),
    metric(
        Engine::Kafka,
        Level::GroupPartition,
        "messages_consumed",
        &KAFKA_GROUP_PARTITION_CONSUMED,
        SAME,
    ),
    metric(
        Engine::RocketMq,
        Level::Instance,
        "current_topics",
        &ROCKETMQ_CES_TOPICS,
        SAME,
    ),
    metric(
        Engine::RocketMq,
        Level::Instance,
        "current_queues",
        &ROCKETMQ_CES_QUEUES,
        SAME,
    ),
    metric(
        Engine::RocketMq,
        Level::Instance,
        "instance_accumulation",
        &ROCKETMQ_INSTANCE_ACCUMULATION,
        SAME,
    ),
    metric(
        Engine::RocketMq,
        Level::Instance,
        "instance_produce_rate",
        &ROCKETMQ_INSTANCE_PRODUCE,
        SAME,
    ),
    metric(
        Engine::RocketMq,
        Level::Instance,
        "instance_consume_rate",
        &ROCKETMQ_INSTANCE_CONSUME,
        SAME,
    ),
    metric(
        Engine::RocketMq,
        Level::Broker,
        "broker_produce_msg",
        &ROCKETMQ_BROKER_PRODUCED,
        SAME,
    ),
    metric(
        Engine::RocketMq,
        Level::Broker,
        "broker_consume_msg",
        &ROCKETMQ_BROKER_CONSUMED,
        SAME,
    ),
    metric(
        Engine::RocketMq,
        Level::Broker,
        "broker_produce_rate",
        &ROCKETMQ_BROKER_PRODUCE,
        SAME,
    ),
    metric(
        Engine::RocketMq,
        Level::Broker,
        "broker_consume_rate",
        &ROCKETMQ_BROKER_CONSUME,
        SAME,
    ),
    metric(
        Engine::RocketMq,
        Level::Broker,
        "broker_cpu_core_load",
        &ROCKETMQ_BROKER_CPU_LOAD,
        SAME,
    ),
    metric(
        Engine::RocketMq,
        Level::Broker,
        "broker_memory_usage",
        &ROCKETMQ_BROKER_MEMORY,
        PERCENT,
    ),
    metric(
        Engine::RocketMq,
        Level::Topic,
        "topic_produce_msg",
        &ROCKETMQ_TOPIC_PRODUCED,
        SAME,
    ),
    metric(
        Engine::RocketMq,
        Level::Topic,
        "topic_consume_msg",
        &ROCKETMQ_TOPIC_CONSUMED,
        SAME,
    ),
    metric(
        Engine::RocketMq,
        Level::Topic,
        "topic_produce_rate",
        &ROCKETMQ_TOPIC_PRODUCE,
        SAME,
    ),
    metric(
        Engine::RocketMq,
        Level::Topic,
        "topic_consume_rate",
        &ROCKETMQ_TOPIC_CONSUME,
        SAME,
    ),
    metric(
        Engine::RocketMq,
        Level::Group,
        "group_consume_msg",
        &ROCKETMQ_GROUP_CONSUMED,
        SAME,
    ),
    metric(
        Engine::RocketMq,
        Level::Group,
        "group_accumulation",
        &ROCKETMQ_GROUP_ACCUMULATION,
        SAME,
    ),
    metric(
        Engine::RocketMq,
        Level::GroupTopic,
        "group_topic_consume_msg",
        &ROCKETMQ_GROUP_TOPIC_CONSUMED,
        SAME,
    ),
    metric(
        Engine::RocketMq,
        Level::GroupTopic,
        "group_topic_accumulation",
        &ROCKETMQ_GROUP_TOPIC_ACCUMULATION,
        SAME,
    ),
    metric(
        Engine::RocketMq,
        Level::GroupTopic,
        "group_topic_consume_rate",
        &ROCKETMQ_GROUP_TOPIC_CONSUME,
        SAME,
    ),
    metric(
        Engine::RocketMq,
        Level::DeadLetter,
        "dlq_accumulation",
        &ROCKETMQ_DEAD_LETTERS,
        SAME,
    ),
    metric(
        Engine::RabbitMq,
        Level::Instance,
        "connections",
        &RABBITMQ_CONNECTIONS,
        SAME,
    ),
    metric(
        Engine::RabbitMq,
        Level::Instance,
        "channels",
        &RABBITMQ_CHANNELS,
        SAME,
    ),
    metric(
        Engine::RabbitMq,
        Level::Instance,
        "queues",
        &RABBITMQ_CES_QUEUES,
        SAME,
    ),
    metric(
        Engine::RabbitMq,
        Level::Instance,
        "consumers",
        &RABBITMQ_CONSUMERS,
        SAME,
    ),
    metric(
        Engine::RabbitMq,
        Level::Instance,
        "messages_ready",
        &RABBITMQ_MESSAGES_READY,
        SAME,
    ),
    metric(
        Engine::RabbitMq,
        Level::Instance,
        "messages_unacknowledged",
        &RABBITMQ_MESSAGES_UNACKED,
        SAME,
    ),
    metric(
        Engine::RabbitMq,
        Level::Node,
        "rabbitmq_alive",
        &RABBITMQ_NODE_ALIVE,
        SAME,
    ),
    metric(
        Engine::RabbitMq,
        Level::Node,
        "rabbitmq_cpu_usage",
        &RABBITMQ_NODE_CPU,
        PERCENT,
    ),
    metric(
        Engine::RabbitMq,
        Level::Node,
        "rabbitmq_memory_usage",
        &RABBITMQ_NODE_MEMORY,
        PERCENT,
    ),
    metric(
        Engine::RabbitMq,
        Level::Node,
        "rabbitmq_disk_insufficient",
        &RABBITMQ_NODE_DISK_ALARM,
        SAME,
    ),
    metric(
        Engine::RabbitMq,
        Level::Queue,
        "queue_messages_ready",
        &RABBITMQ_QUEUE_READY,
        SAME,
    ),
    metric(
        Engine::RabbitMq,
        Level::Queue,
        "queue_messages_unacknowledged",
        &RABBITMQ_QUEUE_UNACKED,
        SAME,
    ),
    metric(
        Engine::RabbitMq,
        Level::Queue,
        "queue_consumers",
        &RABBITMQ_QUEUE_CES_CONSUMERS,
        SAME,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_s_family_has_its_level_s_labels() {
        for m in METRICS {
            let mut labels = vec!["instance_id"];
            labels.extend(m.level.labels());
            assert_eq!(m.family.labels, labels.as_slice(), "{}", m.name);
            assert!(
                LEVELS
                    .iter()
                    .any(|(e, _, l)| *e == m.engine && *l == m.level),
                "{}: no CES level of its engine maps to {:?}",
                m.name,
                m.level
            );
            assert!(CES_FAMILIES.iter().any(|f| std::ptr::eq(*f, m.family)));
            // Base units: a percentage becomes a ratio, milliseconds seconds.
            match m.family.unit {
                Some("ratio") => assert_eq!(m.divisor, PERCENT, "{}", m.name),
                Some("seconds") => assert_eq!(m.divisor, MILLISECONDS, "{}", m.name),
                _ => assert_eq!(m.divisor, SAME, "{}", m.name),
            }
        }
        assert_eq!(
            find(Engine::Kafka, Level::Broker, "broker_cpu_usage").map(|m| m.family.name),
            Some("dms_kafka_broker_cpu_usage_ratio")
        );
        assert!(find(Engine::RocketMq, Level::Broker, "broker_cpu_usage").is_none());
        assert_eq!(
            level(Engine::RabbitMq, "rabbitmq_queue"),
            Some(Level::Queue)
        );
        assert_eq!(level(Engine::Kafka, "kafka_rest"), None);
    }

    #[test]
    fn every_family_but_the_self_ones_is_some_metric_s() {
        for family in CES_FAMILIES {
            let used = METRICS.iter().any(|m| std::ptr::eq(m.family, *family));
            assert!(
                used || family.name.starts_with("dms_ces_"),
                "{} is exported by no metric",
                family.name
            );
        }
    }
}
