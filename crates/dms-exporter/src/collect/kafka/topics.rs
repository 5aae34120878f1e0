//! Topic list: partitions, replication factor, retention, partition quota.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::Engine;
use dms_cloud::error::ApiError;

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
            let mut samples = Samples::default();
            for topic in list
                .topics
                .iter()
                .filter(|t| cx.filters.topics.allows(&t.name))
            {
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
            // For the groups cycle's lag retention ratio.
            cx.health.record_retention(
                id,
                list.topics
                    .iter()
                    .filter_map(|t| Some((t.name.clone(), t.retention_time? * 3_600_000))),
            );
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
            Ok(Output::whole(samples.into()))
        }
        .boxed()
    }
}
