//! Instance tags as `dms_instance_tag_info`.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::dto::Tag;
use dms_cloud::error::ApiError;

use super::{Collector, Context, Description, InstanceRef, Output, Priority, Scope};
use crate::metrics::Samples;
use crate::metrics::catalog::families;

pub struct Tags;

families! {
    INSTANCE_TAG_INFO = "dms_instance_tag_info", Info, None,
        ["engine", "instance_id", "key", "value"],
        "GET /v2/{project_id}/{engine}/{instance_id}/tags",
        "One series per instance tag; always 1.";
}

pub static DESCRIPTION: Description = Description {
    name: "tags",
    enabled_by_default: true,
    scope: Scope::Instance(None),
    priority: Priority::Low,
    interval: Duration::from_secs(300),
    max_age: None,
    demo_interval: Duration::from_secs(30),
    apis: &["kafka_tags", "rocketmq_tags", "rabbitmq_tags"],
    options: &[],
    families: &[&INSTANCE_TAG_INFO],
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
            let tags = cx
                .client
                .instance_tags(instance.engine, &instance.id)
                .await?;
            let engine = instance.engine.as_str();
            Ok(Output::whole(samples(engine, &instance.id, &tags).into()))
        }
        .boxed()
    }
}

/// One `dms_instance_tag_info` per tag of the instance.
fn samples(engine: &str, instance_id: &str, tags: &[Tag]) -> Samples {
    let mut samples = Samples::default();
    for tag in tags {
        samples.push(
            &INSTANCE_TAG_INFO,
            [engine, instance_id, &tag.key, &tag.value],
            1.0,
        );
    }
    samples
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::test_fixtures::{fixture, lines, parse};

    #[test]
    fn every_tag_is_one_info_series() {
        // (response, engine, expected lines in order)
        let table = [
            (
                fixture("kafka/R21_instance_tags.json"),
                "kafka",
                vec![
                    r#"dms_instance_tag_info{engine="kafka",instance_id="i-1",key="key1",value="value1"} 1"#,
                    r#"dms_instance_tag_info{engine="kafka",instance_id="i-1",key="key2",value="value2"} 1"#,
                ],
            ),
            (
                fixture("rocketmq/sdk_tags.json"),
                "rocketmq",
                vec![
                    r#"dms_instance_tag_info{engine="rocketmq",instance_id="i-1",key="owner",value="team-a"} 1"#,
                ],
            ),
            (
                fixture("rabbitmq/R7_instance_tags.json"),
                "rabbitmq",
                vec![
                    r#"dms_instance_tag_info{engine="rabbitmq",instance_id="i-1",key="key1",value="value1"} 1"#,
                    r#"dms_instance_tag_info{engine="rabbitmq",instance_id="i-1",key="key2",value="value2"} 1"#,
                ],
            ),
            // An untagged instance: `null` or no list at all is no series.
            (r#"{"tags": null}"#.to_owned(), "kafka", vec![]),
            ("{}".to_owned(), "kafka", vec![]),
        ];
        for (body, engine, expected) in table {
            let tags: dms_cloud::dto::TagList = parse(&body);
            assert_eq!(
                lines(samples(engine, "i-1", &tags.tags)),
                expected,
                "{engine}: {body}"
            );
        }
    }
}
