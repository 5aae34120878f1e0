//! Every metric family the exporter can emit: one place for names, types, units, labels, help
//! and source API. Which collector emits a family is said by the collector's description
//! (`collect::registry::producer_of`). `docs/metrics.md` is kept equal to this list by a test.

/// The Prometheus type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
    Histogram,
    /// A gauge per known state, 1 for the current one (written as `gauge`).
    StateSet,
    /// A gauge that is always 1 and carries descriptive labels (`info` in OpenMetrics).
    Info,
}

impl Kind {
    /// The type as docs/metrics.md names it.
    pub fn doc_name(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
            Kind::StateSet => "stateset",
            Kind::Info => "info",
        }
    }
}

/// A metric family's description.
#[derive(Debug, PartialEq)]
pub struct Family {
    pub name: &'static str,
    pub kind: Kind,
    /// Base unit when the name ends in it (`bytes`, `seconds`, `ratio`).
    pub unit: Option<&'static str>,
    pub help: &'static str,
    pub labels: &'static [&'static str],
    /// The API endpoint(s) the values come from (`self` for the exporter's own metrics).
    pub source: &'static str,
}

macro_rules! families {
    ($( $ident:ident = $name:literal, $kind:ident, $unit:expr, [$($label:literal),*], $source:literal, $help:literal; )*) => {
        $(
            pub static $ident: Family = Family {
                name: $name,
                kind: Kind::$kind,
                unit: $unit,
                help: $help,
                labels: &[$($label),*],
                source: $source,
            };
        )*
        /// All families, in declaration order.
        pub static ALL: &[&Family] = &[$(&$ident),*];
    };
}

const B: Option<&str> = Some("bytes");
const S: Option<&str> = Some("seconds");

families! {
    // Instances (all engines)
    INSTANCE_INFO = "dms_instance_info", Info, None,
        ["engine", "instance_id", "name", "region", "project_id", "engine_version", "specification", "enterprise_project_id"],
        "GET /v2/{project_id}/instances",
        "Information about a DMS instance; always 1. Join on instance_id with group_left to get names.";
    INSTANCE_STATUS = "dms_instance_status", StateSet, None,
        ["engine", "instance_id", "status"],
        "GET /v2/{project_id}/instances",
        "Instance status as a state set: 1 for the current status, 0 for the other known ones; a status the exporter does not know is reported as UNKNOWN.";
    INSTANCE_STORAGE_USED = "dms_instance_storage_used_bytes", Gauge, B,
        ["engine", "instance_id"],
        "GET /v2/{project_id}/instances (used_storage_space)",
        "Message storage used, in bytes (the API reports GB, read as 2^30 bytes).";
    INSTANCE_STORAGE_CAPACITY = "dms_instance_storage_capacity_bytes", Gauge, B,
        ["engine", "instance_id"],
        "GET /v2/{project_id}/instances (total_storage_space)",
        "Message storage purchased, in bytes (total_storage_space; the API reports GB, read as 2^30 bytes).";
    INSTANCE_BROKERS = "dms_instance_brokers", Gauge, None,
        ["engine", "instance_id"],
        "GET /v2/{project_id}/instances (broker_num, else node_num)",
        "Number of brokers (nodes) of the instance.";
    INSTANCE_CREATED = "dms_instance_created_timestamp_seconds", Gauge, S,
        ["engine", "instance_id"],
        "GET /v2/{project_id}/instances (created_at)",
        "When the instance was created, as a Unix timestamp.";
    INSTANCE_MAINTENANCE_WINDOW_INFO = "dms_instance_maintenance_window_info", Info, None,
        ["engine", "instance_id", "begin", "end"],
        "GET /v2/{project_id}/instances (maintain_begin, maintain_end)",
        "The instance's daily maintenance window (UTC, HH:mm:ss; V1 HH:mm normalised); always 1. The window may cross midnight (begin > end).";
    INSTANCE_TAG_INFO = "dms_instance_tag_info", Info, None,
        ["engine", "instance_id", "key", "value"],
        "GET /v2/{project_id}/{engine}/{instance_id}/tags",
        "One series per instance tag; always 1.";

    // Kafka cluster metadata
    KAFKA_BROKER_UP = "dms_kafka_broker_up", Gauge, None,
        ["instance_id", "broker"],
        "GET /v2/{project_id}/instances/{instance_id}/management/cluster",
        "1 if the broker's connectivity is normal (is_health), else 0.";
    KAFKA_BROKER_CONTROLLER = "dms_kafka_broker_controller", Gauge, None,
        ["instance_id", "broker"],
        "GET /v2/{project_id}/instances/{instance_id}/management/cluster",
        "1 if the broker is the cluster controller, else 0.";
    KAFKA_CLUSTER_TOPICS = "dms_kafka_cluster_topics", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/management/cluster",
        "Number of topics in the cluster.";
    KAFKA_CLUSTER_PARTITIONS = "dms_kafka_cluster_partitions", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/management/cluster",
        "Number of partitions in the cluster.";
    KAFKA_CLUSTER_ONLINE_PARTITIONS = "dms_kafka_cluster_online_partitions", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/management/cluster",
        "Number of online partitions in the cluster.";
    KAFKA_CLUSTER_OFFLINE_PARTITIONS = "dms_kafka_cluster_offline_partitions", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/management/cluster",
        "Partitions that are not online (partitions_count - online_partitions_count).";
    KAFKA_CLUSTER_REPLICAS = "dms_kafka_cluster_replicas", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/management/cluster",
        "Number of partition replicas in the cluster.";
    KAFKA_CLUSTER_ISR = "dms_kafka_cluster_in_sync_replicas", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/management/cluster",
        "Number of in-sync replicas in the cluster.";
    KAFKA_CLUSTER_GROUPS = "dms_kafka_cluster_consumer_groups", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/management/cluster",
        "Number of consumer groups in the cluster (consumers_count).";

    // Kafka disk usage
    KAFKA_BROKER_DISK_USED = "dms_kafka_broker_disk_used_bytes", Gauge, B,
        ["instance_id", "broker"],
        "GET /v2/{project_id}/instances/{instance_id}/topics/diskusage",
        "Data disk used on the broker, in bytes (the API's size strings such as 66G use powers of 1024).";
    KAFKA_BROKER_DISK_CAPACITY = "dms_kafka_broker_disk_capacity_bytes", Gauge, B,
        ["instance_id", "broker"],
        "GET /v2/{project_id}/instances/{instance_id}/topics/diskusage",
        "Data disk size of the broker, in bytes (powers of 1024).";
    KAFKA_TOPIC_DISK_USED = "dms_kafka_topic_disk_used_bytes", Gauge, B,
        ["instance_id", "topic"],
        "GET /v2/{project_id}/instances/{instance_id}/topics/diskusage",
        "Disk used by the topic summed over brokers and partitions, in bytes (powers of 1024); partitions under the configured min_size are not reported by the API.";

    // Kafka topics
    KAFKA_TOPIC_PARTITIONS = "dms_kafka_topic_partitions", Gauge, None,
        ["instance_id", "topic"],
        "GET /v2/{project_id}/instances/{instance_id}/topics",
        "Number of partitions of the topic.";
    KAFKA_TOPIC_REPLICATION = "dms_kafka_topic_replication_factor", Gauge, None,
        ["instance_id", "topic"],
        "GET /v2/{project_id}/instances/{instance_id}/topics",
        "Replication factor of the topic.";
    KAFKA_TOPIC_RETENTION = "dms_kafka_topic_retention_seconds", Gauge, S,
        ["instance_id", "topic"],
        "GET /v2/{project_id}/instances/{instance_id}/topics",
        "Message retention of the topic, in seconds (the API reports hours).";
    KAFKA_PARTITIONS_LIMIT = "dms_kafka_partitions_limit", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/topics (max_partitions)",
        "Maximum number of partitions the instance allows.";
    KAFKA_PARTITIONS_REMAINING = "dms_kafka_partitions_remaining", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/topics (remain_partitions)",
        "Partitions that can still be created on the instance.";

    // Kafka partitions
    KAFKA_PARTITION_LEADER = "dms_kafka_partition_leader", Gauge, None,
        ["instance_id", "topic", "partition"],
        "GET /v2/{project_id}/instances/{instance_id}/management/topics/{topic}",
        "Broker id of the partition leader.";
    KAFKA_PARTITION_REPLICAS = "dms_kafka_partition_replicas", Gauge, None,
        ["instance_id", "topic", "partition"],
        "GET /v2/{project_id}/instances/{instance_id}/management/topics/{topic}",
        "Number of replicas of the partition.";
    KAFKA_PARTITION_ISR = "dms_kafka_partition_in_sync_replicas", Gauge, None,
        ["instance_id", "topic", "partition"],
        "GET /v2/{project_id}/instances/{instance_id}/management/topics/{topic}",
        "Number of in-sync replicas of the partition.";
    KAFKA_PARTITION_UNDER_REPLICATED = "dms_kafka_partition_under_replicated", Gauge, None,
        ["instance_id", "topic", "partition"],
        "GET /v2/{project_id}/instances/{instance_id}/management/topics/{topic}",
        "1 if fewer replicas are in sync than exist, else 0.";
    KAFKA_PARTITION_LOG_END_OFFSET = "dms_kafka_partition_log_end_offset", Gauge, None,
        ["instance_id", "topic", "partition"],
        "GET /v2/{project_id}/instances/{instance_id}/management/topics/{topic}",
        "Log end offset (leo) of the partition leader.";
    KAFKA_PARTITION_HIGH_WATERMARK = "dms_kafka_partition_high_watermark", Gauge, None,
        ["instance_id", "topic", "partition"],
        "GET /v2/{project_id}/instances/{instance_id}/management/topics/{topic}",
        "High watermark (hw) of the partition.";
    KAFKA_PARTITION_LOG_START_OFFSET = "dms_kafka_partition_log_start_offset", Gauge, None,
        ["instance_id", "topic", "partition"],
        "GET /v2/{project_id}/instances/{instance_id}/management/topics/{topic}",
        "Log start offset of the partition leader (the API's lso, documented as log start offset).";
    KAFKA_PARTITION_LAST_WRITE = "dms_kafka_partition_last_write_timestamp_seconds", Gauge, S,
        ["instance_id", "topic", "partition"],
        "GET /v2/{project_id}/instances/{instance_id}/management/topics/{topic}",
        "When a message was last written to the partition, as a Unix timestamp.";

    // Kafka consumer groups
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

    // RocketMQ
    ROCKETMQ_BROKER_NODES = "dms_rocketmq_broker_nodes", Gauge, None,
        ["instance_id", "broker"],
        "GET /v2/{project_id}/instances/{instance_id}/brokers",
        "Number of nodes (ids; 0 is the master by RocketMQ convention) of the broker. The API reports no broker health.";
    ROCKETMQ_GROUPS = "dms_rocketmq_consumergroups", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/groups (total)",
        "Number of consumer groups of the instance.";
    ROCKETMQ_GROUPS_LIMIT = "dms_rocketmq_consumergroups_limit", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/groups (max)",
        "Maximum number of consumer groups the instance allows.";
    ROCKETMQ_GROUPS_REMAINING = "dms_rocketmq_consumergroups_remaining", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/groups (remaining)",
        "Consumer groups that can still be created on the instance.";
    ROCKETMQ_GROUP_ENABLED = "dms_rocketmq_consumergroup_enabled", Gauge, None,
        ["instance_id", "group"],
        "GET /v2/{project_id}/instances/{instance_id}/groups",
        "1 if the group may consume (enabled), else 0.";
    ROCKETMQ_GROUP_BROADCAST = "dms_rocketmq_consumergroup_broadcast", Gauge, None,
        ["instance_id", "group"],
        "GET /v2/{project_id}/instances/{instance_id}/groups",
        "1 if the group consumes in broadcast mode, else 0.";
    ROCKETMQ_GROUP_RETRY_MAX = "dms_rocketmq_consumergroup_retry_max_times", Gauge, None,
        ["instance_id", "group"],
        "GET /v2/{project_id}/instances/{instance_id}/groups (retry_max_time)",
        "Maximum number of consumption retries of the group.";
    ROCKETMQ_GROUP_CLIENTS = "dms_rocketmq_consumergroup_clients", Gauge, None,
        ["instance_id", "group"],
        "GET /v2/rocketmq/{project_id}/instances/{instance_id}/groups/{group}/clients (Huawei SDK only, not in the API reference)",
        "Number of consumer clients connected to the group (total).";
    ROCKETMQ_GROUP_ONLINE = "dms_rocketmq_consumergroup_online", Gauge, None,
        ["instance_id", "group"],
        "GET /v2/rocketmq/{project_id}/instances/{instance_id}/groups/{group}/clients (Huawei SDK only, not in the API reference)",
        "1 if the group has online consumers (online), else 0.";
    ROCKETMQ_GROUP_LAG = "dms_rocketmq_consumergroup_lag", Gauge, None,
        ["instance_id", "group", "topic", "broker", "queue"],
        "GET /v2/{project_id}/instances/{instance_id}/groups/{group}/topics?topic={topic}",
        "Messages the group has yet to consume on the queue (lag = broker offset - consumer offset).";
    ROCKETMQ_GROUP_CONSUMER_OFFSET = "dms_rocketmq_consumergroup_consumer_offset", Gauge, None,
        ["instance_id", "group", "topic", "broker", "queue"],
        "GET /v2/{project_id}/instances/{instance_id}/groups/{group}/topics?topic={topic}",
        "Offset the group has consumed up to on the queue.";
    ROCKETMQ_GROUP_BROKER_OFFSET = "dms_rocketmq_consumergroup_broker_offset", Gauge, None,
        ["instance_id", "group", "topic", "broker", "queue"],
        "GET /v2/{project_id}/instances/{instance_id}/groups/{group}/topics?topic={topic}",
        "Messages in the queue (its max offset) as the group's consumption detail reports it.";
    ROCKETMQ_GROUP_TOPIC_LAG = "dms_rocketmq_consumergroup_topic_lag", Gauge, None,
        ["instance_id", "group", "topic"],
        "GET /v2/{project_id}/instances/{instance_id}/groups/{group}/topics?topic={topic}",
        "Messages the group has yet to consume on the topic (lag summed over brokers and queues).";
    ROCKETMQ_GROUP_LAST_CONSUMED = "dms_rocketmq_consumergroup_last_consumed_timestamp_seconds", Gauge, S,
        ["instance_id", "group", "topic"],
        "GET /v2/{project_id}/instances/{instance_id}/groups/{group}/topics?topic={topic} (last_message_time)",
        "Store time of the newest message the group has consumed on the topic, as a Unix timestamp; no series before the first one.";
    ROCKETMQ_GROUP_LAG_SECONDS = "dms_rocketmq_consumergroup_lag_seconds", Gauge, S,
        ["instance_id", "group", "topic", "broker", "queue"],
        "GET /v2/{project_id}/instances/{instance_id}/groups/{group}/topics?topic={topic} and GET /v2/{project_id}/instances/{instance_id}/topics/{topic}/status (last_message_time of both)",
        "How far behind the group is on the queue in time: store time of the queue's newest message minus that of the group's last consumed one; 0 when caught up; no series before the group consumed anything.";
    ROCKETMQ_GROUP_TOPIC_LAG_SECONDS = "dms_rocketmq_consumergroup_topic_lag_seconds", Gauge, S,
        ["instance_id", "group", "topic"],
        "GET /v2/{project_id}/instances/{instance_id}/groups/{group}/topics?topic={topic} and GET /v2/{project_id}/instances/{instance_id}/topics/{topic}/status (last_message_time of both)",
        "How far behind the group is on the topic in time: the largest lag in seconds over its queues.";
    ROCKETMQ_GROUP_QUEUE_STATUS = "dms_rocketmq_consumergroup_queue_status", StateSet, None,
        ["instance_id", "group", "topic", "broker", "queue", "status"],
        "GET /v2/{project_id}/instances/{instance_id}/groups/{group}/topics?topic={topic} over the last consumer_status_window cycles; GET /v2/rocketmq/{project_id}/instances/{instance_id}/groups/{group}/clients (Huawei SDK only, not in the API reference) when it lags",
        "Evaluated status of the group on the queue (Burrow's rules over the last consumer_status_window readings): OK, WARN (consuming but lag never decreasing), STALL (offset standing still with lag and online consumers), STOP (the same without online consumers), REWIND (offset moved back).";
    ROCKETMQ_GROUP_STATUS = "dms_rocketmq_consumergroup_status", StateSet, None,
        ["instance_id", "group", "status"],
        "GET /v2/{project_id}/instances/{instance_id}/groups/{group}/topics?topic={topic} over the last consumer_status_window cycles; GET /v2/rocketmq/{project_id}/instances/{instance_id}/groups/{group}/clients (Huawei SDK only, not in the API reference) when it lags",
        "Evaluated status of the group: ERR when any queue is STOP or STALL, WARN when any is WARN, else OK.";
    ROCKETMQ_TOPICS = "dms_rocketmq_topics", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/topics (Huawei SDK only, not in the API reference)",
        "Number of topics of the instance (total).";
    ROCKETMQ_TOPIC_READ_QUEUES = "dms_rocketmq_topic_read_queues", Gauge, None,
        ["instance_id", "topic"],
        "GET /v2/{project_id}/instances/{instance_id}/topics (Huawei SDK only, not in the API reference; same fields as GET .../topics/{topic})",
        "Read queues of the topic over all brokers (total_read_queue_num).";
    ROCKETMQ_TOPIC_WRITE_QUEUES = "dms_rocketmq_topic_write_queues", Gauge, None,
        ["instance_id", "topic"],
        "GET /v2/{project_id}/instances/{instance_id}/topics (Huawei SDK only, not in the API reference; same fields as GET .../topics/{topic})",
        "Write queues of the topic over all brokers (total_write_queue_num).";
    ROCKETMQ_TOPIC_MESSAGES = "dms_rocketmq_topic_messages", Gauge, None,
        ["instance_id", "topic"],
        "GET /v2/{project_id}/instances/{instance_id}/topics/{topic}/status",
        "Messages retained in the topic, derived as the sum over queues of max offset - min offset (the API has no count field).";
    ROCKETMQ_QUEUE_MIN_OFFSET = "dms_rocketmq_queue_min_offset", Gauge, None,
        ["instance_id", "topic", "broker", "queue"],
        "GET /v2/{project_id}/instances/{instance_id}/topics/{topic}/status",
        "Smallest offset still stored in the queue.";
    ROCKETMQ_QUEUE_MAX_OFFSET = "dms_rocketmq_queue_max_offset", Gauge, None,
        ["instance_id", "topic", "broker", "queue"],
        "GET /v2/{project_id}/instances/{instance_id}/topics/{topic}/status",
        "Next offset to be written in the queue (messages ever produced to it).";
    ROCKETMQ_TOPIC_LAST_MESSAGE = "dms_rocketmq_topic_last_message_timestamp_seconds", Gauge, S,
        ["instance_id", "topic"],
        "GET /v2/{project_id}/instances/{instance_id}/topics/{topic}/status (last_message_time)",
        "When the newest message of the topic was stored (latest over its queues), as a Unix timestamp; no series before the first message.";
    ROCKETMQ_USERS = "dms_rocketmq_users", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/users",
        "Number of ACL users of the instance; read only when the instance has ACL enabled (enable_acl).";
    ROCKETMQ_ADMIN_USERS = "dms_rocketmq_admin_users", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/users (admin)",
        "Number of ACL users with administrator rights; read only when the instance has ACL enabled.";

    // RabbitMQ
    RABBITMQ_PLUGIN_ENABLED = "dms_rabbitmq_plugin_enabled", Gauge, None,
        ["instance_id", "plugin"],
        "GET /v2/{project_id}/instances/{instance_id}/rabbitmq/plugins",
        "1 if the plugin is enabled (configured to run), else 0.";
    RABBITMQ_PLUGIN_RUNNING = "dms_rabbitmq_plugin_running", Gauge, None,
        ["instance_id", "plugin"],
        "GET /v2/{project_id}/instances/{instance_id}/rabbitmq/plugins",
        "1 if the plugin is running, else 0. Enabled but not running (enabled - running > 0) needs attention.";
    RABBITMQ_PLUGIN_INFO = "dms_rabbitmq_plugin_info", Info, None,
        ["instance_id", "plugin", "version"],
        "GET /v2/{project_id}/instances/{instance_id}/rabbitmq/plugins",
        "The plugin's version; always 1.";

    // RabbitMQ depth (names and labels of rabbitmq_prometheus where it has the family)
    RABBITMQ_QUEUE_MESSAGES = "dms_rabbitmq_queue_messages", Gauge, None,
        ["instance_id", "vhost", "queue"],
        "GET /v2/rabbitmq/{project_id}/instances/{instance_id}/vhosts/{vhost}/queues (messages; Huawei SDK only, not in the API reference)",
        "Messages waiting in the queue (ready and unacknowledged), as rabbitmq_prometheus's rabbitmq_queue_messages. Only queues the vhost and queue filters allow, at most rabbitmq_queues_limit per instance, the deepest first.";
    RABBITMQ_QUEUE_CONSUMERS = "dms_rabbitmq_queue_consumers", Gauge, None,
        ["instance_id", "vhost", "queue"],
        "GET /v2/rabbitmq/{project_id}/instances/{instance_id}/vhosts/{vhost}/queues (consumers; Huawei SDK only, not in the API reference)",
        "Consumers attached to the queue, as rabbitmq_prometheus's rabbitmq_queue_consumers; same queues as dms_rabbitmq_queue_messages.";
    RABBITMQ_QUEUE_INFO = "dms_rabbitmq_queue_info", Info, None,
        ["instance_id", "vhost", "queue", "durable", "auto_delete", "policy"],
        "GET /v2/rabbitmq/{project_id}/instances/{instance_id}/vhosts/{vhost}/queues (Huawei SDK only, not in the API reference)",
        "The queue's settings (durable and auto_delete are true or false, policy is empty when none applies); always 1; same queues as dms_rabbitmq_queue_messages.";
    RABBITMQ_VHOST_QUEUES = "dms_rabbitmq_vhost_queues", Gauge, None,
        ["instance_id", "vhost"],
        "GET /v2/rabbitmq/{project_id}/instances/{instance_id}/vhosts/{vhost}/queues (total; Huawei SDK only, not in the API reference)",
        "Queues in the vhost, exported or not (filters and the limit do not change it); vhosts the vhost filter allows.";
    RABBITMQ_VHOST_EXCHANGES = "dms_rabbitmq_vhost_exchanges", Gauge, None,
        ["instance_id", "vhost"],
        "GET /v2/rabbitmq/{project_id}/instances/{instance_id}/vhosts/{vhost}/exchanges (total; Huawei SDK only, not in the API reference)",
        "Exchanges in the vhost, the built-in ones included; vhosts the vhost filter allows.";
    RABBITMQ_QUEUES = "dms_rabbitmq_queues", Gauge, None,
        ["instance_id"],
        "GET /v2/rabbitmq/{project_id}/instances/{instance_id}/vhosts/{vhost}/queues (total; Huawei SDK only, not in the API reference)",
        "Queues of the instance, summed over the vhosts the vhost filter allows, as rabbitmq_prometheus's rabbitmq_queues.";
    RABBITMQ_EXCHANGES = "dms_rabbitmq_exchanges", Gauge, None,
        ["instance_id"],
        "GET /v2/rabbitmq/{project_id}/instances/{instance_id}/vhosts/{vhost}/exchanges (total; Huawei SDK only, not in the API reference)",
        "Exchanges of the instance, summed over the vhosts the vhost filter allows.";
    RABBITMQ_QUEUES_OMITTED = "dms_rabbitmq_queues_omitted", Gauge, None,
        ["instance_id", "reason"],
        "GET /v2/rabbitmq/{project_id}/instances/{instance_id}/vhosts/{vhost}/queues (Huawei SDK only, not in the API reference)",
        "Queues listed but not exported in the last cycle: reason filter (filters.queues) or limit (beyond rabbitmq_queues_limit, the shallowest left out).";
    RABBITMQ_USERS = "dms_rabbitmq_users", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/users (Huawei SDK only, not in the API reference)",
        "Number of AMQP users of the instance.";

    // Project quotas (every engine)
    PROJECT_INSTANCE_QUOTA_LIMIT = "dms_project_instance_quota_limit", Gauge, None,
        ["region", "project_id", "engine"],
        "GET /v2/{project_id}/quotas (quota; Huawei SDK only, not in the API reference)",
        "Instances of the engine the project may have (its quota). With sharding, shard 0 exports it.";
    PROJECT_INSTANCE_QUOTA_USED = "dms_project_instance_quota_used", Gauge, None,
        ["region", "project_id", "engine"],
        "GET /v2/{project_id}/quotas (used; Huawei SDK only, not in the API reference)",
        "Instances of the engine the project has, counted against its quota. With sharding, shard 0 exports it.";

    // Background tasks (all engines)
    BACKGROUND_TASKS = "dms_background_tasks", Gauge, None,
        ["engine", "instance_id", "status"],
        "GET /v2/{project_id}/instances/{instance_id}/tasks",
        "Number of recent background tasks by status, among the most recent tasks the exporter reads (tasks_limit).";
    BACKGROUND_TASK_INFO = "dms_background_task_info", Info, None,
        ["engine", "instance_id", "task_id", "task_name", "status"],
        "GET /v2/{project_id}/instances/{instance_id}/tasks",
        "One series per most recent background task (tasks_info_limit); always 1. The task's name is `task_name`, so `name` stays free for the instance name joined from dms_instance_info.";
    BACKGROUND_TASK_CREATED = "dms_background_task_created_timestamp_seconds", Gauge, S,
        ["engine", "instance_id", "task_id"],
        "GET /v2/{project_id}/instances/{instance_id}/tasks",
        "When the background task started, as a Unix timestamp.";

    // Freshness per instance and collector
    INSTANCE_COLLECTOR_UP = "dms_instance_collector_up", Gauge, None,
        ["collector", "instance_id"],
        "self",
        "1 if the collector's last cycle read this instance without error, else 0 (the last good data is still served until it is too old).";
    INSTANCE_COLLECTOR_LAST_SUCCESS = "dms_instance_collector_last_success_timestamp_seconds", Gauge, S,
        ["collector", "instance_id"],
        "self",
        "When the collector last read this instance without error, as a Unix timestamp.";

    // Self-metrics
    COLLECTOR_UP = "dms_collector_up", Gauge, None,
        ["collector", "region", "project_id"],
        "self",
        "1 if the collector's last cycle for the project finished without any error, else 0; also 0 while a cycle is still unfinished an interval after it started.";
    TARGET_UP = "dms_target_up", Gauge, None,
        ["region", "project_id"],
        "self",
        "1 once the exporter has resolved the region's project (its id from IAM, unless configured) and collects it; 0 while it cannot and retries, the other regions and projects collecting meanwhile. project_id is the configured one, empty when it is discovered.";
    COLLECTOR_DURATION = "dms_collector_duration_seconds", Gauge, S,
        ["collector", "region", "project_id"],
        "self",
        "How long the collector's last cycle for the project took.";
    COLLECTOR_LAST_SUCCESS = "dms_collector_last_success_timestamp_seconds", Gauge, S,
        ["collector", "region", "project_id"],
        "self",
        "When the collector last finished a cycle for the project without error, as a Unix timestamp.";
    COLLECTOR_API_CALLS = "dms_collector_cycle_api_calls", Gauge, None,
        ["collector", "region", "project_id"],
        "self",
        "API calls (including retries) the collector's last cycle made for the project.";
    COLLECTOR_SKIPPED_CALLS = "dms_collector_cycle_skipped_calls", Gauge, None,
        ["collector", "region", "project_id"],
        "self",
        "API calls the collector's last cycle skipped for the project because of a per-cycle call limit (rocketmq_detail_calls_limit); skipped parts keep their last data and are read in a later cycle.";
    COLLECTOR_EXPECTED = "dms_collector_expected_cycle_seconds", Gauge, S,
        ["collector", "region", "project_id"],
        "self",
        "How long the collector's cycle for the project needs within the API budget: the API calls of its last cycle divided by its fair share of the host's rate, or the API's own per-instance limits (topic detail: one call per second per instance), whichever is longer. Absent when the rate is unlimited.";
    COLLECTOR_LATENESS = "dms_collector_lateness_seconds", Gauge, S,
        ["collector", "region", "project_id"],
        "self",
        "How much later than its interval the collector's last cycle for the project started; above 0 when the previous cycle did not fit its interval within the budget and stretched.";
    COLLECTOR_MAX_AGE = "dms_collector_max_age_seconds", Gauge, S,
        ["collector", "region", "project_id"],
        "self",
        "How long the collector's data is served after its last good read: the configured max_age, stretched in proportion while cycles that make progress need longer than the interval.";
    COLLECTOR_ERRORS = "dms_collector_errors_total", Counter, None,
        ["collector", "region", "project_id", "kind"],
        "self",
        "Failed reads by collector and error kind.";
    API_REQUESTS = "dms_api_requests_total", Counter, None,
        ["host", "api", "code"],
        "self",
        "HTTP requests to the cloud API by endpoint host (DMS or IAM, one per region), api and status code (or timeout / transport_error); DMS's flow control (HTTP 404 DMS.10240407) is code 404_flow_control, apart from real 404s.";
    API_REQUEST_DURATION = "dms_api_request_duration_seconds", Histogram, S,
        ["host", "api"],
        "self",
        "Duration of HTTP requests to the cloud API, by endpoint host and api.";
    API_THROTTLED = "dms_api_throttled_total", Counter, None,
        ["host", "api"],
        "self",
        "Throttled answers (HTTP 429 APIGW.0308, HTTP 404 DMS.10240407) by endpoint host and api.";
    API_EFFECTIVE_RATE = "dms_api_effective_rate_limit", Gauge, None,
        ["host"],
        "self",
        "Requests per second the host's request scheduler sends at now: the configured rate_limit, cut after the API gateway throttles (HTTP 429) and raised back step by step (AIMD); 0 when unlimited.";
    API_CREDENTIALS_REJECTED = "dms_api_credentials_rejected", Gauge, None,
        ["host"],
        "self",
        "1 while the host's API gateway rejects the AK/SK (APIGW.0301, APIGW.0303): signed calls are not sent, one probe goes with growing delays (at most three failing signatures in any five minutes), and at once after a reload or a change of the credential files.";
    API_HOST_HELD = "dms_api_host_held", Gauge, None,
        ["host"],
        "self",
        "1 while every call to the host is held after repeated failures across its APIs (no answer, timeouts, 5xx): one probe goes with capped exponential delays (up to 60 s) until it answers.";
    API_QUEUED = "dms_api_queued_requests", Gauge, None,
        ["host"],
        "self",
        "Requests waiting in the host's request scheduler for their turn.";
    API_RETRIES = "dms_api_retries_total", Counter, None,
        ["host", "api"],
        "self",
        "Retried requests by endpoint host and api.";
    CONFIG_RELOAD_OK = "dms_exporter_config_last_reload_successful", Gauge, None,
        [],
        "self",
        "1 if the last configuration reload (SIGHUP or POST /-/reload) succeeded, or none happened; 0 if it failed and the previous configuration still runs.";
    CONFIG_RELOAD_TIME = "dms_exporter_config_last_reload_success_timestamp_seconds", Gauge, S,
        [],
        "self",
        "When the configuration was last loaded successfully (start or reload), as a Unix timestamp.";
    SHARD_ORDINAL = "dms_exporter_shard_ordinal", Gauge, None,
        [],
        "self",
        "This process's shard (--shard or sharding.shard), from 0; it exports the instances a stable hash of instance_id assigns to it.";
    TOTAL_SHARDS = "dms_exporter_total_shards", Gauge, None,
        [],
        "self",
        "How many shards the fleet is split into (--total-shards or sharding.total_shards); 1 when unsharded.";
    BUILD_INFO = "dms_exporter_build_info", Info, None,
        ["version", "revision", "rustc"],
        "self",
        "Build information of the exporter; always 1.";
    DEMO = "dms_exporter_demo", Gauge, None,
        [],
        "self",
        "1 when the exporter runs with --demo, reading its embedded simulator: the data is simulated. Absent otherwise.";
    PROCESS_CPU_SECONDS = "process_cpu_seconds_total", Counter, S,
        [],
        "/proc/self/stat",
        "User and system CPU time spent by the exporter process (Linux only).";
    PROCESS_MAX_FDS = "process_max_fds", Gauge, None,
        [],
        "/proc/self/limits",
        "Soft limit on open file descriptors (Linux only; absent when unlimited).";
    PROCESS_OPEN_FDS = "process_open_fds", Gauge, None,
        [],
        "/proc/self/fd",
        "Open file descriptors (Linux only).";
    PROCESS_RESIDENT_MEMORY = "process_resident_memory_bytes", Gauge, B,
        [],
        "/proc/self/stat",
        "Resident memory size (Linux only).";
    PROCESS_START_TIME = "process_start_time_seconds", Gauge, S,
        [],
        "/proc/self/stat",
        "Start time of the process as a Unix timestamp (Linux only; from the kernel, or taken at start where /proc/stat is hidden).";
    PROCESS_VIRTUAL_MEMORY = "process_virtual_memory_bytes", Gauge, B,
        [],
        "/proc/self/stat",
        "Virtual memory size (Linux only).";
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn names_are_unique_prefixed_and_suffixed_by_their_unit() {
        let mut seen = BTreeSet::new();
        for family in ALL {
            assert!(seen.insert(family.name), "duplicate {}", family.name);
            // `process_*` are the standard families every exporter shares.
            assert!(
                family.name.starts_with("dms_") || family.name.starts_with("process_"),
                "{}",
                family.name
            );
            if let Some(unit) = family.unit {
                let base = family.name.strip_suffix("_total").unwrap_or(family.name);
                assert!(base.ends_with(&format!("_{unit}")), "{}", family.name);
            }
            match family.kind {
                Kind::Counter => assert!(family.name.ends_with("_total"), "{}", family.name),
                Kind::Info => assert!(family.name.ends_with("_info"), "{}", family.name),
                _ => assert!(!family.name.ends_with("_total"), "{}", family.name),
            }
            assert!(!family.help.is_empty());
        }
    }
}
