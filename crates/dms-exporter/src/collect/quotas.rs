//! The project's instance quotas, per engine (Huawei SDK `ShowQuotas`). Project-level figures
//! carry no `instance_id`, so with sharding only shard 0 reads and exports them (every shard
//! would otherwise export the same series).

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::error::ApiError;

use super::{Collector, Context, Description, Output, Priority, Scope};
use crate::collect::settings::ShardingConfig;
use crate::metrics::Samples;
use crate::metrics::catalog::families;

pub struct Quotas {
    pub sharding: ShardingConfig,
}

families! {
    PROJECT_INSTANCE_QUOTA_LIMIT = "dms_project_instance_quota_limit", Gauge, None,
        ["region", "project_id", "engine"],
        "GET /v2/{project_id}/quotas (quota; Huawei SDK only, not in the API reference)",
        "Instances of the engine the project may have (its quota). With sharding, shard 0 exports it.";
    PROJECT_INSTANCE_QUOTA_USED = "dms_project_instance_quota_used", Gauge, None,
        ["region", "project_id", "engine"],
        "GET /v2/{project_id}/quotas (used; Huawei SDK only, not in the API reference)",
        "Instances of the engine the project has, counted against its quota. With sharding, shard 0 exports it.";
}

pub static DESCRIPTION: Description = Description {
    name: "quotas",
    scope: Scope::Project,
    priority: Priority::Low,
    interval: Duration::from_secs(300),
    max_age: None,
    demo_interval: Duration::from_secs(30),
    apis: &["quotas"],
    options: &[],
    families: &[&PROJECT_INSTANCE_QUOTA_LIMIT, &PROJECT_INSTANCE_QUOTA_USED],
};

/// The engine label of a quota `type`; `None` for the others (`tags` is per instance).
fn engine_of(kind: &str) -> Option<&'static str> {
    match kind {
        "kafkaInstance" => Some("kafka"),
        "rocketmqInstance" => Some("rocketmq"),
        "rabbitmqInstance" => Some("rabbitmq"),
        _ => None,
    }
}

impl Collector for Quotas {
    fn description(&self) -> &'static Description {
        &DESCRIPTION
    }

    fn collect<'a>(&'a self, cx: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>> {
        async move {
            if self.sharding.shard != 0 {
                return Ok(Output::whole(Vec::new()));
            }
            let quotas = cx.client.quotas().await?;
            let (region, project) = (cx.project.region.as_str(), cx.project.project_id.as_str());
            let mut samples = Samples::default();
            for quota in &quotas.quotas.resources {
                let Some(engine) = engine_of(&quota.kind) else {
                    continue;
                };
                let labels = [region, project, engine];
                let limit = quota.quota.map(|q| q as f64);
                samples.push_some(&PROJECT_INSTANCE_QUOTA_LIMIT, labels, limit);
                let used = quota.used.map(|u| u as f64);
                samples.push_some(&PROJECT_INSTANCE_QUOTA_USED, labels, used);
            }
            Ok(Output::whole(samples.into()))
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::engine_of;

    #[test]
    fn instance_quotas_name_their_engine() {
        assert_eq!(engine_of("rabbitmqInstance"), Some("rabbitmq"));
        assert_eq!(engine_of("rocketmqInstance"), Some("rocketmq"));
        assert_eq!(engine_of("kafkaInstance"), Some("kafka"));
        assert_eq!(engine_of("tags"), None);
    }
}
