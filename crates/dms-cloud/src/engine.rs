//! The engines DMS serves and their names in the API.

use serde::Deserialize;

/// The engines the exporter knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Kafka,
    #[serde(rename = "rocketmq")]
    RocketMq,
    #[serde(rename = "rabbitmq")]
    RabbitMq,
}

impl Engine {
    pub const ALL: [Engine; 3] = [Engine::Kafka, Engine::RocketMq, Engine::RabbitMq];

    /// The `engine` label and the engine's segment in tag paths.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Kafka => "kafka",
            Engine::RocketMq => "rocketmq",
            Engine::RabbitMq => "rabbitmq",
        }
    }

    /// The `engine` value of the instance-list API: RocketMQ instances are `reliability`.
    pub fn api_name(self) -> &'static str {
        match self {
            Engine::Kafka => "kafka",
            Engine::RocketMq => "reliability",
            Engine::RabbitMq => "rabbitmq",
        }
    }
}
