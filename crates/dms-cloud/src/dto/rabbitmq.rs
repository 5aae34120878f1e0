//! RabbitMQ response DTOs (`fixtures/api/rabbitmq`).

use serde::Deserialize;

use super::lenient;

/// R3 `GET /v2/{project_id}/instances/{instance_id}/rabbitmq/plugins`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PluginList {
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub plugins: Vec<Plugin>,
}

/// A plugin (`PluginEntity`). `enable` (configured) and `running` are independent: an
/// enabled plugin that is not running is the state worth alerting on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Plugin {
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub version: String,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub enable: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub running: Option<bool>,
}

// ----- Depth (Huawei SDK; beyond the seed: `fixtures/api/rabbitmq/sdk_*.json`) ---------------

/// SDK `ListVhostsResponse`: one page of vhosts.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct VhostList {
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub size: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub total: Option<i64>,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub items: Vec<Vhost>,
}

/// SDK `ShowVhostDetailResp`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Vhost {
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub tracing: Option<bool>,
}

/// SDK `ListQueuesResponse`: one page of a vhost's queues.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct QueueList {
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub size: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub total: Option<i64>,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub items: Vec<Queue>,
}

/// Every queue of a vhost, and the `total` the first page reported.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AllQueues {
    pub items: Vec<Queue>,
    pub total: Option<i64>,
}

/// SDK `QueueDetails`: a queue as the list shows it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Queue {
    #[serde(default, deserialize_with = "lenient::string")]
    pub vhost: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub durable: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub auto_delete: Option<bool>,
    /// Messages waiting to be consumed.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub messages: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub consumers: Option<i64>,
    /// `""` or absent when none applies (the AMQP edition has no policies).
    #[serde(default, deserialize_with = "lenient::string")]
    pub policy: String,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub arguments: QueueArguments,
}

/// SDK `QueueArguments`, under RabbitMQ's own `x-…` names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct QueueArguments {
    #[serde(
        default,
        rename = "x-message-ttl",
        deserialize_with = "lenient::opt_i64"
    )]
    pub message_ttl_ms: Option<i64>,
    #[serde(
        default,
        rename = "x-dead-letter-exchange",
        deserialize_with = "lenient::string"
    )]
    pub dead_letter_exchange: String,
    #[serde(
        default,
        rename = "x-dead-letter-routing-key",
        deserialize_with = "lenient::string"
    )]
    pub dead_letter_routing_key: String,
    #[serde(default, rename = "x-queue-mode", deserialize_with = "lenient::string")]
    pub queue_mode: String,
}

/// SDK `ShowQueueDetailsResponse`: the queue, its consumers and the bindings to it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct QueueDetail {
    #[serde(flatten)]
    pub queue: Queue,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub consumer_details: Vec<Consumer>,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub queue_bindings: Vec<Binding>,
}

/// SDK `ConsumerDetails` (the channel's details are not kept: addresses are not labels).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Consumer {
    #[serde(default, deserialize_with = "lenient::string")]
    pub consumer_tag: String,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub ack_required: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub prefetch_count: Option<i64>,
}

/// SDK `BindingsDetails`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Binding {
    #[serde(default, deserialize_with = "lenient::string")]
    pub source: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub destination_type: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub destination: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub routing_key: String,
}

/// SDK `ListExchangesResponse`: one page of a vhost's exchanges.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ExchangeList {
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub size: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub total: Option<i64>,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub items: Vec<Exchange>,
}

/// SDK `ExchangeDetails`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Exchange {
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(default, rename = "type", deserialize_with = "lenient::string")]
    pub kind: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub vhost: String,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub durable: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub default: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub internal: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub auto_delete: Option<bool>,
}

/// SDK `ListUserResponse`: one page of AMQP users.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct UserList {
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub users: Vec<User>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub total: Option<i64>,
}

/// SDK `AMQPUser`; `secret_key` is never read, so no secret is held.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct User {
    #[serde(default, deserialize_with = "lenient::string")]
    pub access_key: String,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub vhosts: Vec<UserPermission>,
}

/// SDK `AMQPUserPerm`: the user's patterns in one vhost.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct UserPermission {
    #[serde(default, deserialize_with = "lenient::string")]
    pub vhost: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub conf: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub write: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub read: String,
}

/// SDK `ShowQuotasResponse` (`GET /v2/{project_id}/quotas`, every engine's instance quota).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Quotas {
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub quotas: QuotaSet,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct QuotaSet {
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub resources: Vec<Quota>,
}

/// SDK `QuotaResourceEntity`: `type` is `rabbitmqInstance`, `kafkaInstance`,
/// `rocketmqInstance` (instances per project) or `tags` (tags per instance).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Quota {
    #[serde(default, rename = "type", deserialize_with = "lenient::string")]
    pub kind: String,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub quota: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub used: Option<i64>,
}
