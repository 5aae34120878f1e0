//! Cloud Eye DTOs. The DMS `ces-hierarchy` answer is one shape for every engine: its levels
//! (`dimensions`) and the union of the engines' value lists (Huawei SDKs'
//! `ShowCesHierarchyResponse`; fixtures `kafka/R26_ces_hierarchy.json`,
//! `rocketmq/sdk_ces_hierarchy.json`, `rabbitmq/sdk_ces_hierarchy.json`).

use serde::Deserialize;

use super::lenient;

/// `GET /v2/{project_id}/instances/{instance_id}/ces-hierarchy`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct CesHierarchy {
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub dimensions: Vec<CesLevel>,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub instance_ids: Vec<CesNamed>,
    /// Brokers (Kafka `broker-0`…, RocketMQ) or RabbitMQ nodes.
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub nodes: Vec<CesNode>,
    /// Kafka: topics with their partitions. RabbitMQ: queues with their vhost.
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub queues: Vec<CesQueue>,
    /// Kafka: groups with the topics and partitions they consume; RocketMQ: with their topics.
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub groups: Vec<CesGroup>,
    /// RocketMQ topics.
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub topics: Vec<CesNamed>,
    /// RocketMQ dead-letter topics.
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub dlq: Vec<CesNamed>,
    /// RabbitMQ vhosts.
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub vhosts: Vec<CesNamed>,
    /// RabbitMQ exchanges with their vhost.
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub exchanges: Vec<CesQueue>,
}

/// A dimension level: `dim_router` the CES dimension names in order, `key_name` the lists
/// that supply their values after the instance id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CesLevel {
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient::string_or_seq")]
    pub metrics: Vec<String>,
    #[serde(default, deserialize_with = "lenient::string_or_seq")]
    pub key_name: Vec<String>,
    #[serde(default, deserialize_with = "lenient::string_or_seq")]
    pub dim_router: Vec<String>,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub children: Vec<CesLevel>,
}

/// An element known by its name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CesNamed {
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
}

/// A broker or node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CesNode {
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub available_zone: String,
}

/// A Kafka topic (`partitions`) or a RabbitMQ queue or exchange (`vhost`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CesQueue {
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub partitions: Vec<CesNamed>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub vhost: String,
}

/// A consumer group: Kafka's topics are `queues`, RocketMQ's `topics`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CesGroup {
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub queues: Vec<CesQueue>,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub topics: Vec<CesNamed>,
}
