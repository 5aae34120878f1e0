//! Kafka-specific DTOs (R3, R4/R8, R5, R6, R7, R10, R11, R15).

use serde::Deserialize;

use super::lenient::{self, parse_size_bytes};

/// R3 response: `{"cluster": {...}}` (a flat body is accepted too).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(from = "ClusterResponse")]
pub struct Cluster {
    /// Broker id of the controller (a string in the API).
    pub controller: Option<i64>,
    pub brokers: Vec<Broker>,
    pub topics_count: Option<i64>,
    pub partitions_count: Option<i64>,
    pub online_partitions_count: Option<i64>,
    pub replicas_count: Option<i64>,
    pub isr_replicas_count: Option<i64>,
    /// Number of consumer groups.
    pub consumers_count: Option<i64>,
}

#[derive(Deserialize)]
struct ClusterResponse {
    #[serde(default, deserialize_with = "lenient::null_default")]
    cluster: Option<ClusterFields>,
    #[serde(flatten)]
    flat: ClusterFields,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct ClusterFields {
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    controller: Option<i64>,
    #[serde(default, deserialize_with = "lenient::null_default")]
    brokers: Vec<Broker>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    topics_count: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    partitions_count: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    online_partitions_count: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    replicas_count: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    isr_replicas_count: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    consumers_count: Option<i64>,
}

impl From<ClusterResponse> for Cluster {
    fn from(raw: ClusterResponse) -> Self {
        let f = raw.cluster.unwrap_or(raw.flat);
        Cluster {
            controller: f.controller,
            brokers: f.brokers,
            topics_count: f.topics_count,
            partitions_count: f.partitions_count,
            online_partitions_count: f.online_partitions_count,
            replicas_count: f.replicas_count,
            isr_replicas_count: f.isr_replicas_count,
            consumers_count: f.consumers_count,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Broker {
    /// A string in the API (`"0"`).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub broker_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub host: String,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub port: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub is_controller: Option<bool>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub version: String,
    /// Epoch milliseconds.
    #[serde(default, deserialize_with = "lenient::opt_epoch_ms")]
    pub register_time: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub is_health: Option<bool>,
}

/// R10 response. `total` is read from `total` or (as in the example) `count`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(from = "RawTopicList")]
pub struct TopicList {
    pub total: Option<i64>,
    pub size: Option<i64>,
    pub remain_partitions: Option<i64>,
    pub max_partitions: Option<i64>,
    pub topics: Vec<Topic>,
}

#[derive(Deserialize)]
struct RawTopicList {
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    total: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    count: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    size: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    remain_partitions: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    max_partitions: Option<i64>,
    #[serde(default, deserialize_with = "lenient::null_default")]
    topics: Vec<Topic>,
}

impl From<RawTopicList> for TopicList {
    fn from(raw: RawTopicList) -> Self {
        TopicList {
            total: raw.total.or(raw.count),
            size: raw.size,
            remain_partitions: raw.remain_partitions,
            max_partitions: raw.max_partitions,
            topics: raw.topics,
        }
    }
}

/// A topic of R10. `name` is read from `name` or (as in the example) `id`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(from = "RawTopic")]
pub struct Topic {
    pub name: String,
    pub partition: Option<i64>,
    pub replication: Option<i64>,
    /// Hours.
    pub retention_time: Option<i64>,
    /// 0 = normal, 1 = internal.
    pub topic_type: Option<i64>,
    pub sync_replication: Option<bool>,
    pub sync_message_flush: Option<bool>,
    /// Epoch milliseconds.
    pub created_at: Option<i64>,
    pub policies_only: Option<bool>,
}

#[derive(Deserialize)]
struct RawTopic {
    #[serde(default, deserialize_with = "lenient::string")]
    name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    id: String,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    partition: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    replication: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    retention_time: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    topic_type: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    sync_replication: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    sync_message_flush: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_epoch_ms")]
    created_at: Option<i64>,
    #[serde(
        default,
        rename = "policiesOnly",
        deserialize_with = "lenient::opt_bool"
    )]
    policies_only: Option<bool>,
}

impl From<RawTopic> for Topic {
    fn from(raw: RawTopic) -> Self {
        Topic {
            name: if raw.name.is_empty() {
                raw.id
            } else {
                raw.name
            },
            partition: raw.partition,
            replication: raw.replication,
            retention_time: raw.retention_time,
            topic_type: raw.topic_type,
            sync_replication: raw.sync_replication,
            sync_message_flush: raw.sync_message_flush,
            created_at: raw.created_at,
            policies_only: raw.policies_only,
        }
    }
}

/// R11 response.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TopicDetail {
    #[serde(default, deserialize_with = "lenient::string")]
    pub topic: String,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub partitions: Vec<Partition>,
    #[serde(default, deserialize_with = "lenient::string_or_seq")]
    pub group_subscribed: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Partition {
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub partition: Option<i64>,
    /// Broker id of the leader.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub leader: Option<i64>,
    /// Log end offset.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub leo: Option<i64>,
    /// High watermark.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub hw: Option<i64>,
    /// Log *start* offset (as the API defines it).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub lso: Option<i64>,
    /// Last write, epoch milliseconds.
    #[serde(default, deserialize_with = "lenient::opt_epoch_ms")]
    pub last_update_timestamp: Option<i64>,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub replicas: Vec<Replica>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Replica {
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub broker: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub leader: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub in_sync: Option<bool>,
    /// Log size in bytes.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub size: Option<i64>,
    /// Messages behind the high watermark.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub lag: Option<i64>,
}

/// R6 response.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct DiskUsage {
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub broker_list: Vec<BrokerDisk>,
}

/// Disk usage of one broker. Sizes stay as sent (`"66G"`); the `*_bytes` methods convert them
/// with powers of 1024.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct BrokerDisk {
    #[serde(default, deserialize_with = "lenient::string")]
    pub broker_name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub data_disk_size: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub data_disk_use: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub data_disk_free: String,
    /// Used percentage, 0–100 (a string in the API).
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub data_disk_use_percentage: Option<f64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub status: String,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub topic_list: Vec<TopicDisk>,
}

impl BrokerDisk {
    pub fn size_bytes(&self) -> Option<f64> {
        parse_size_bytes(&self.data_disk_size)
    }
    pub fn used_bytes(&self) -> Option<f64> {
        parse_size_bytes(&self.data_disk_use)
    }
    pub fn free_bytes(&self) -> Option<f64> {
        parse_size_bytes(&self.data_disk_free)
    }
    /// The broker number of `broker-N`, when the name has that form.
    pub fn broker_id(&self) -> Option<i64> {
        self.broker_name.rsplit('-').next()?.parse().ok()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TopicDisk {
    #[serde(default, deserialize_with = "lenient::string")]
    pub size: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub topic_name: String,
    /// A string in the API (`"2"`).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub topic_partition: Option<i64>,
    /// Share of the broker disk, in percent (0–100).
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub percentage: Option<f64>,
}

impl TopicDisk {
    pub fn size_bytes(&self) -> Option<f64> {
        parse_size_bytes(&self.size)
    }
}

/// R7 response page.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct GroupList {
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub groups: Vec<GroupSummary>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub total: Option<u64>,
}

/// A consumer group of R7. `state` is kept as sent (`"STABLE"`, `"Empty"`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct GroupSummary {
    #[serde(default, deserialize_with = "lenient::string")]
    pub group_id: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub state: String,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub coordinator_id: Option<i64>,
}

/// R8 (and R4) response: the group under `"group"`, or flattened at the top level with
/// `"group": null` (as in the R8 example).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(from = "GroupDetailResponse")]
pub struct GroupDetail {
    pub group_id: String,
    pub state: String,
    pub coordinator_id: Option<i64>,
    pub members: Vec<Member>,
    pub group_message_offsets: Vec<GroupOffset>,
    pub assignment_strategy: String,
}

#[derive(Deserialize)]
struct GroupDetailResponse {
    #[serde(default, deserialize_with = "lenient::null_default")]
    group: Option<GroupFields>,
    #[serde(flatten)]
    flat: GroupFields,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct GroupFields {
    #[serde(default, deserialize_with = "lenient::string")]
    group_id: String,
    #[serde(default, deserialize_with = "lenient::string")]
    state: String,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    coordinator_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::null_default")]
    members: Vec<Member>,
    #[serde(default, deserialize_with = "lenient::null_default")]
    group_message_offsets: Vec<GroupOffset>,
    #[serde(default, deserialize_with = "lenient::string")]
    assignment_strategy: String,
}

impl From<GroupDetailResponse> for GroupDetail {
    fn from(raw: GroupDetailResponse) -> Self {
        let f = raw.group.unwrap_or(raw.flat);
        GroupDetail {
            group_id: f.group_id,
            state: f.state,
            coordinator_id: f.coordinator_id,
            members: f.members,
            group_message_offsets: f.group_message_offsets,
            assignment_strategy: f.assignment_strategy,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Member {
    #[serde(default, deserialize_with = "lenient::string")]
    pub host: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub member_id: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub client_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct GroupOffset {
    #[serde(default, deserialize_with = "lenient::string")]
    pub topic: String,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub partition: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub lag: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub message_current_offset: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub message_log_end_offset: Option<i64>,
}

/// R5 response.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct CoordinatorList {
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub coordinators: Vec<Coordinator>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Coordinator {
    #[serde(default, deserialize_with = "lenient::string")]
    pub group_id: String,
    /// Broker id of the coordinator.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub host: String,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub port: Option<i64>,
}

/// R15 response: the message at a partition offset, under the singular key `message`. Only
/// the offset and the produce time are read: the key and the value (message content) are
/// never deserialised, so they cannot reach a log or a metric.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct PartitionMessages {
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub message: Vec<PartitionMessage>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct PartitionMessage {
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub message_offset: Option<i64>,
    /// Produce time, epoch milliseconds.
    #[serde(default, deserialize_with = "lenient::opt_epoch_ms")]
    pub timestamp: Option<i64>,
}

impl PartitionMessages {
    /// The produce time of the message at `offset`, if the answer holds it.
    pub fn produced_ms(&self, offset: i64) -> Option<i64> {
        self.message
            .iter()
            .find(|m| m.message_offset == Some(offset))
            .and_then(|m| m.timestamp)
    }
}
