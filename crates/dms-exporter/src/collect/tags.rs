//! Instance tags as `dms_instance_tag_info`.

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::error::ApiError;

use super::{Collector, Context, InstanceRef, Output, Priority, Scope};
use crate::metrics::{Samples, catalog};

pub struct Tags;

impl Collector for Tags {
    fn name(&self) -> &'static str {
        "tags"
    }

    fn scope(&self) -> Scope {
        Scope::Instance(None)
    }

    fn priority(&self) -> Priority {
        Priority::Low
    }

    fn wants(&self, _instance: &InstanceRef) -> bool {
        true
    }

    fn collect<'a>(&'a self, cx: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>> {
        async move {
            let instance = cx.instance();
            let engine = instance.engine.as_str();
            let tags = cx.target.client.instance_tags(engine, &instance.id).await?;
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
