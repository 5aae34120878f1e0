//! RabbitMQ endpoints (the RabbitMQ catalog's R-numbers).

use super::DmsClient;
use crate::dto::rabbitmq;
use crate::error::ApiError;

impl DmsClient {
    /// Plugins with their `enable` / `running` flags (R3).
    pub async fn rabbitmq_plugins(
        &self,
        instance_id: &str,
    ) -> Result<rabbitmq::PluginList, ApiError> {
        let project_id = self.project_id().await?;
        self.dms_get(
            "rabbitmq_plugins",
            Self::instance_path(&project_id, instance_id, &["rabbitmq", "plugins"]),
            Vec::new(),
        )
        .await
    }
}
