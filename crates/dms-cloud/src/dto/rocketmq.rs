//! RocketMQ response DTOs (`fixtures/api/rocketmq`; section numbers of `api/rocketmq.md`).
//!
//! Every field is optional: the examples leave documented fields out and send `null`.
//! Offsets are `i64` although some are documented as Integer (see §2.9).

use serde::Deserialize;
use serde::de::Deserializer;

use super::lenient;

/// §2.3 broker list.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct BrokerList {
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub brokers: Vec<Broker>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Broker {
    #[serde(default, deserialize_with = "lenient::string")]
    pub broker_name: String,
    /// Node ids of the broker (0 is the master by RocketMQ convention).
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub ids: Vec<i64>,
}

/// §2.4 one page of consumer groups.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct GroupList {
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub total: Option<i64>,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub groups: Vec<Group>,
    /// Groups the instance allows.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub max: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub remaining: Option<i64>,
    /// `-1` when there is no next page.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub next_offset: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub previous_offset: Option<i64>,
}

/// §2.4 `ConsumerGroup` and §2.5 (the detail has no `from_beginning`, but `permissions`,
/// `app_id` and `app_name`, which may be `null`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Group {
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub broadcast: Option<bool>,
    #[serde(default, deserialize_with = "lenient::string_or_seq")]
    pub brokers: Vec<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub retry_max_time: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub from_beginning: Option<bool>,
    #[serde(default, deserialize_with = "lenient::string_or_seq")]
    pub permissions: Vec<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub app_id: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub app_name: String,
}

/// §2.6 without `topic=`: the topics a group consumes (`topics`, `total`); with `topic=`:
/// per-queue consumption (`brokers`). The example shows both at once.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct GroupTopics {
    #[serde(default, deserialize_with = "lenient::string_or_seq")]
    pub topics: Vec<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub total: Option<i64>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub brokers: Vec<ConsumeBroker>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ConsumeBroker {
    #[serde(default, deserialize_with = "lenient::string")]
    pub broker_name: String,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub queues: Vec<ConsumeQueue>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ConsumeQueue {
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub lag: Option<i64>,
    /// Messages in the queue (its max offset).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub broker_offset: Option<i64>,
    /// The group's committed offset.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub consumer_offset: Option<i64>,
    /// Store time of the last consumed message, epoch ms; 0 when none.
    #[serde(default, deserialize_with = "lenient::opt_epoch_ms")]
    pub last_message_time: Option<i64>,
}

impl ConsumeQueue {
    /// The documented lag, else `broker_offset - consumer_offset` (every example agrees).
    pub fn lag(&self) -> Option<i64> {
        self.lag.or_else(|| {
            self.broker_offset
                .zip(self.consumer_offset)
                .map(|(b, c)| (b - c).max(0))
        })
    }
}

/// §2.7 topic detail, and one topic of the SDK's topic list (`Topic`, with `name`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Topic {
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    /// A float in the SDK model, an integer in every example.
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub total_read_queue_num: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub total_write_queue_num: Option<f64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub permission: String,
    #[serde(default, deserialize_with = "one_or_many")]
    pub brokers: Vec<TopicBroker>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TopicBroker {
    #[serde(default, deserialize_with = "lenient::string")]
    pub broker_name: String,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub read_queue_num: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub write_queue_num: Option<i64>,
}

/// Huawei SDK `ListRocketInstanceTopicsResponse` (beyond the seed): one page of topics.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TopicList {
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub total: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub max: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub remaining: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub next_offset: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub previous_offset: Option<i64>,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub topics: Vec<Topic>,
}

/// §2.8 consumer groups of a topic (no `total`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TopicGroups {
    #[serde(default, deserialize_with = "lenient::string_or_seq")]
    pub groups: Vec<String>,
}

/// §2.9 messages in a topic: `brokers` is an array in the table and one object in the
/// example; both parse.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TopicStatus {
    #[serde(default, deserialize_with = "one_or_many")]
    pub brokers: Vec<StatusBroker>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct StatusBroker {
    #[serde(default, deserialize_with = "lenient::string")]
    pub broker_name: String,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub queues: Vec<StatusQueue>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct StatusQueue {
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub min_offset: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub max_offset: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_epoch_ms")]
    pub last_message_time: Option<i64>,
}

/// §2.13 one page of ACL users.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct UserList {
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub users: Vec<User>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub total: Option<i64>,
}

/// §2.13/§2.14 `User` (the secret key is not kept).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct User {
    #[serde(default, deserialize_with = "lenient::string")]
    pub access_key: String,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub admin: Option<bool>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub default_topic_perm: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub default_group_perm: String,
}

/// §2.15/§2.16 users granted permissions on a topic or group.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct AccessPolicies {
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub policies: Vec<User>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub total: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
}

/// Huawei SDK `ShowConsumerConnectionsResponse` (beyond the seed): a group's consumers.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct GroupClients {
    #[serde(default, deserialize_with = "lenient::string")]
    pub group_name: String,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub online: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub subscription_consistency: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub total: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub next_offset: Option<i64>,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub clients: Vec<Client>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Client {
    #[serde(default, deserialize_with = "lenient::string")]
    pub client_id: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub client_addr: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub language: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub version: String,
}

/// Every item of a paged listing (all pages) and the quota its first page reported.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listed<T> {
    pub items: Vec<T>,
    /// `total`, when the API sent it.
    pub total: Option<i64>,
    /// How many the instance allows (`max`).
    pub max: Option<i64>,
    pub remaining: Option<i64>,
}

/// Every consumer group (§2.4, all pages).
pub type AllGroups = Listed<Group>;
/// Every topic (SDK listing, all pages).
pub type AllTopics = Listed<Topic>;

/// One object or an array of them (§2.9's `brokers`); `null` → empty.
fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        Many(Vec<T>),
        One(T),
    }
    Ok(match Option::<OneOrMany<T>>::deserialize(d)? {
        Some(OneOrMany::Many(items)) => items,
        Some(OneOrMany::One(item)) => vec![item],
        None => Vec::new(),
    })
}
