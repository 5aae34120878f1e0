//! Topic list: partitions, replication factor, retention, partition quota.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::Engine;
use dms_cloud::dto::kafka::TopicList;
use dms_cloud::error::ApiError;

use crate::collect::settings::NameFilter;
use crate::collect::{Collector, Context, Description, Output, Priority, Scope};
use crate::metrics::Samples;
use crate::metrics::catalog::{S, families};

pub struct Topics;

families! {
    KAFKA_TOPIC_PARTITIONS = "dms_kafka_topic_partitions", Gauge, None,
        ["instance_id", "topic"],
        "GET /v2/{project_id}/instances/{instance_id}/topics",
        "Number of partitions of the topic.";
    KAFKA_TOPIC_REPLICATION = "dms_kafka_topic_replication_factor", Gauge, None,
        ["instance_id", "topic"],
        "GET /v2/{project_id}/instances/{instance_id}/topics",
        "Replication factor of the topic.";
    KAFKA_TOPIC_RETENTION = "dms_kafka_topic_retention_seconds", Gauge, S,
        ["instance_id", "topic"],
        "GET /v2/{project_id}/instances/{instance_id}/topics",
        "Message retention of the topic, in seconds (the API reports hours).";
    KAFKA_PARTITIONS_LIMIT = "dms_kafka_partitions_limit", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/topics (max_partitions)",
        "Maximum number of partitions the instance allows.";
    KAFKA_PARTITIONS_REMAINING = "dms_kafka_partitions_remaining", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/topics (remain_partitions)",
        "Partitions that can still be created on the instance.";
}

pub static DESCRIPTION: Description = Description {
    name: "kafka_topics",
    enabled_by_default: true,
    scope: Scope::Instance(Some(Engine::Kafka)),
    priority: Priority::Low,
    interval: Duration::from_secs(300),
    max_age: None,
    demo_interval: Duration::from_secs(15),
    apis: &["kafka_topics"],
    options: &[],
    families: &[
        &KAFKA_TOPIC_PARTITIONS,
        &KAFKA_TOPIC_REPLICATION,
        &KAFKA_TOPIC_RETENTION,
        &KAFKA_PARTITIONS_LIMIT,
        &KAFKA_PARTITIONS_REMAINING,
    ],
};

impl Collector for Topics {
    fn description(&self) -> &'static Description {
        &DESCRIPTION
    }

    fn collect<'a>(&'a self, cx: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>> {
        async move {
            let id = cx.instance().id.as_str();
            let list = cx.client.kafka_topics(id).await?;
            // For the groups cycle's lag retention ratio.
            cx.health.record_retention(
                id,
                list.topics
                    .iter()
                    .filter_map(|t| Some((t.name.clone(), t.retention_time? * 3_600_000))),
            );
            Ok(Output::whole(samples(id, &list, &cx.filters.topics).into()))
        }
        .boxed()
    }
}

/// Each topic's partitions, replication and retention (the topics the filter allows), and the
/// instance's partition quota.
fn samples(id: &str, list: &TopicList, topics: &NameFilter) -> Samples {
    let mut samples = Samples::default();
    for topic in list.topics.iter().filter(|t| topics.allows(&t.name)) {
        let labels = [id, topic.name.as_str()];
        samples.push_some(
            &KAFKA_TOPIC_PARTITIONS,
            labels,
            topic.partition.map(|v| v as f64),
        );
        samples.push_some(
            &KAFKA_TOPIC_REPLICATION,
            labels,
            topic.replication.map(|v| v as f64),
        );
        samples.push_some(
            &KAFKA_TOPIC_RETENTION,
            labels,
            topic.retention_time.map(|h| h as f64 * 3600.0),
        );
    }
    samples.push_some(
        &KAFKA_PARTITIONS_LIMIT,
        [id],
        list.max_partitions.map(|v| v as f64),
    );
    samples.push_some(
        &KAFKA_PARTITIONS_REMAINING,
        [id],
        list.remain_partitions.map(|v| v as f64),
    );
    samples
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::test_fixtures::{fixture, lines, parse};

    #[test]
    fn topics_and_the_partition_quota_become_their_series() {
        let everything = NameFilter::default();
        let no_internal: NameFilter = parse(r#"{"exclude": "__.*"}"#);
        // (response, topic filter, expected lines in order)
        let table = [
            // The example names its topic in `id`; retention 72 h is 259200 s.
            (
                fixture("kafka/R10_topics.json"),
                &everything,
                vec![
                    r#"dms_kafka_topic_partitions{instance_id="i-1",topic="test01"} 3"#,
                    r#"dms_kafka_topic_replication_factor{instance_id="i-1",topic="test01"} 3"#,
                    r#"dms_kafka_topic_retention_seconds{instance_id="i-1",topic="test01"} 259200"#,
                    r#"dms_kafka_partitions_limit{instance_id="i-1"} 300"#,
                    r#"dms_kafka_partitions_remaining{instance_id="i-1"} 294"#,
                ],
            ),
            // V1 has no partition quota: no series.
            (
                fixture("kafka/R29_topics_v1.json"),
                &everything,
                vec![
                    r#"dms_kafka_topic_partitions{instance_id="i-1",topic="topic-test"} 4"#,
                    r#"dms_kafka_topic_replication_factor{instance_id="i-1",topic="topic-test"} 3"#,
                    r#"dms_kafka_topic_retention_seconds{instance_id="i-1",topic="topic-test"} 259200"#,
                ],
            ),
            // Numbers as strings; missing fields are no series; a filtered topic none at all.
            (
                r#"{"topics": [{"name": "a", "partition": "6", "retention_time": "1"}, {"name": "b"}, {"name": "__trace", "partition": 1}], "max_partitions": "100"}"#.to_owned(),
                &no_internal,
                vec![
                    r#"dms_kafka_topic_partitions{instance_id="i-1",topic="a"} 6"#,
                    r#"dms_kafka_topic_retention_seconds{instance_id="i-1",topic="a"} 3600"#,
                    r#"dms_kafka_partitions_limit{instance_id="i-1"} 100"#,
                ],
            ),
            (r#"{"topics": null}"#.to_owned(), &everything, vec![]),
        ];
        for (body, topics, expected) in table {
            let list: TopicList = parse(&body);
            assert_eq!(lines(samples("i-1", &list, topics)), expected, "{body}");
        }
    }
}
