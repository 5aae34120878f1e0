//! Instance tags as `dms_instance_tag_info`.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::error::ApiError;

use super::{Collector, Context, Description, InstanceRef, Output, Priority, Scope};
use crate::metrics::{Samples, catalog};

pub struct Tags;

pub static DESCRIPTION: Description = Description {
    name: "tags",
    scope: Scope::Instance(None),
    priority: Priority::Low,
    interval: Duration::from_secs(300),
    max_age: None,
    demo_interval: Duration::from_secs(30),
    apis: &["kafka_tags", "rocketmq_tags", "rabbitmq_tags"],
    options: &[],
    families: &[&catalog::INSTANCE_TAG_INFO],
};

impl Collector for Tags {
    fn description(&self) -> &'static Description {
        &DESCRIPTION
    }

    fn wants(&self, _instance: &InstanceRef) -> bool {
        true
    }

    fn collect<'a>(&'a self, cx: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>> {
        async move {
            let instance = cx.instance();
            let engine = instance.engine.as_str();
            let tags = cx.client.instance_tags(engine, &instance.id).await?;
            let mut samples = Samples::default();
            for tag in &tags {
                samples.push(
                    &catalog::INSTANCE_TAG_INFO,
                    [engine, &instance.id, &tag.key, &tag.value],
                    1.0,
                );
            }
            Ok(Output::whole(samples.into()))
        }
        .boxed()
    }
}
