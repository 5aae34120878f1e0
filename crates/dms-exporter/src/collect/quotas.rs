//! The project's instance quotas, per engine (Huawei SDK `ShowQuotas`). Project-level figures
//! carry no `instance_id`, so with sharding only shard 0 reads and exports them (every shard
//! would otherwise export the same series).

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::dto::rabbitmq;
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
    enabled_by_default: true,
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
            let samples = samples(&cx.project.region, &cx.project.project_id, &quotas);
            Ok(Output::whole(samples.into()))
        }
        .boxed()
    }
}

/// The instance quotas of each engine; other quota types are not exported.
fn samples(region: &str, project_id: &str, quotas: &rabbitmq::Quotas) -> Samples {
    let mut samples = Samples::default();
    for quota in &quotas.quotas.resources {
        let Some(engine) = engine_of(&quota.kind) else {
            continue;
        };
        let labels = [region, project_id, engine];
        let limit = quota.quota.map(|q| q as f64);
        samples.push_some(&PROJECT_INSTANCE_QUOTA_LIMIT, labels, limit);
        let used = quota.used.map(|u| u as f64);
        samples.push_some(&PROJECT_INSTANCE_QUOTA_USED, labels, used);
    }
    samples
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::test_fixtures::{fixture, lines, parse};

    #[test]
    fn each_engine_quota_is_a_limit_and_a_use() {
        // (response, expected lines in order)
        let table = [
            (
                fixture("rabbitmq/sdk_quotas.json"),
                vec![
                    r#"dms_project_instance_quota_limit{region="r-1",project_id="p-1",engine="rabbitmq"} 100"#,
                    r#"dms_project_instance_quota_used{region="r-1",project_id="p-1",engine="rabbitmq"} 2"#,
                    r#"dms_project_instance_quota_limit{region="r-1",project_id="p-1",engine="kafka"} 100"#,
                    r#"dms_project_instance_quota_used{region="r-1",project_id="p-1",engine="kafka"} 5"#,
                    r#"dms_project_instance_quota_limit{region="r-1",project_id="p-1",engine="rocketmq"} 100"#,
                    r#"dms_project_instance_quota_used{region="r-1",project_id="p-1",engine="rocketmq"} 2"#,
                    // `tags` (per instance) is no engine's: no series.
                ],
            ),
            // A number as a string is read; a missing `used` is no series.
            (
                r#"{"quotas": {"resources": [{"type": "kafkaInstance", "quota": "50"}]}}"#
                    .to_owned(),
                vec![
                    r#"dms_project_instance_quota_limit{region="r-1",project_id="p-1",engine="kafka"} 50"#,
                ],
            ),
            ("{}".to_owned(), vec![]),
        ];
        for (body, expected) in table {
            let quotas: rabbitmq::Quotas = parse(&body);
            assert_eq!(lines(samples("r-1", "p-1", &quotas)), expected, "{body}");
        }
    }

    #[test]
    fn instance_quotas_name_their_engine() {
        assert_eq!(engine_of("rabbitmqInstance"), Some("rabbitmq"));
        assert_eq!(engine_of("rocketmqInstance"), Some("rocketmq"));
        assert_eq!(engine_of("kafkaInstance"), Some("kafka"));
        assert_eq!(engine_of("tags"), None);
    }
}
