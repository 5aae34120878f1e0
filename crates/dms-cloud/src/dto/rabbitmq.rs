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
