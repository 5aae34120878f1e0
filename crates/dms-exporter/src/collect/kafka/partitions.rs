//! Partition detail per topic (leader, replicas, ISR, offsets). The API allows one call per
//! second per instance; the client's pacing keeps that limit (`dms_cloud::budget::pacing`),
//! so every topic's read queues at once and they leave one per second per instance.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::Engine;
use dms_cloud::dto::kafka::TopicDetail;
use dms_cloud::error::ApiError;

use crate::collect::health::interpolation::Point;
use crate::collect::health::{ConsumerHealth, PartitionFacts};
use crate::collect::{Collector, Context, Description, Output, Priority, Scope};
use crate::metrics::catalog::{S, families};
use crate::metrics::{Sample, Samples};

pub struct Partitions;

fn partition_samples(id: &str, detail: &TopicDetail) -> Vec<Sample> {
    let mut samples = Samples::default();
    for partition in &detail.partitions {
        let Some(number) = partition.partition else {
            continue;
        };
        let number = number.to_string();
        let labels = [id, detail.topic.as_str(), number.as_str()];
        let replicas = partition.replicas.len();
        let in_sync = partition
            .replicas
            .iter()
            .filter(|r| r.in_sync == Some(true))
            .count();
        let as_f64 = |v: Option<i64>| v.map(|v| v as f64);
        samples.push_some(&KAFKA_PARTITION_LEADER, labels, as_f64(partition.leader));
        samples.push(&KAFKA_PARTITION_REPLICAS, labels, replicas as f64);
        samples.push(&KAFKA_PARTITION_ISR, labels, in_sync as f64);
        samples.push(
            &KAFKA_PARTITION_UNDER_REPLICATED,
            labels,
            f64::from(u8::from(in_sync < replicas)),
        );
        samples.push_some(
            &KAFKA_PARTITION_LOG_END_OFFSET,
            labels,
            as_f64(partition.leo),
        );
        samples.push_some(
            &KAFKA_PARTITION_HIGH_WATERMARK,
            labels,
            as_f64(partition.hw),
        );
        samples.push_some(
            &KAFKA_PARTITION_LOG_START_OFFSET,
            labels,
            as_f64(partition.lso),
        );
        samples.push_some(
            &KAFKA_PARTITION_LAST_WRITE,
            labels,
            partition.last_update_timestamp.map(|ms| ms as f64 / 1000.0),
        );
    }
    samples.into()
}

/// Leaves the log start and the last write of each partition for the groups cycle (messages
/// lost, lag in seconds).
fn record_facts(health: &ConsumerHealth, id: &str, detail: &TopicDetail) {
    let facts = detail.partitions.iter().filter_map(|partition| {
        let number = partition.partition?;
        let last_write = partition
            .leo
            .zip(partition.last_update_timestamp)
            .map(|(offset, time_ms)| Point { offset, time_ms });
        let facts = PartitionFacts {
            log_start: partition.lso,
            last_write,
        };
        Some((number.to_string(), facts))
    });
    health.record_topic_partitions(id, &detail.topic, facts);
}

families! {
    KAFKA_PARTITION_LEADER = "dms_kafka_partition_leader", Gauge, None,
        ["instance_id", "topic", "partition"],
        "GET /v2/{project_id}/instances/{instance_id}/management/topics/{topic}",
        "Broker id of the partition leader.";
    KAFKA_PARTITION_REPLICAS = "dms_kafka_partition_replicas", Gauge, None,
        ["instance_id", "topic", "partition"],
        "GET /v2/{project_id}/instances/{instance_id}/management/topics/{topic}",
        "Number of replicas of the partition.";
    KAFKA_PARTITION_ISR = "dms_kafka_partition_in_sync_replicas", Gauge, None,
        ["instance_id", "topic", "partition"],
        "GET /v2/{project_id}/instances/{instance_id}/management/topics/{topic}",
        "Number of in-sync replicas of the partition.";
    KAFKA_PARTITION_UNDER_REPLICATED = "dms_kafka_partition_under_replicated", Gauge, None,
        ["instance_id", "topic", "partition"],
        "GET /v2/{project_id}/instances/{instance_id}/management/topics/{topic}",
        "1 if fewer replicas are in sync than exist, else 0.";
    KAFKA_PARTITION_LOG_END_OFFSET = "dms_kafka_partition_log_end_offset", Gauge, None,
        ["instance_id", "topic", "partition"],
        "GET /v2/{project_id}/instances/{instance_id}/management/topics/{topic}",
        "Log end offset (leo) of the partition leader.";
    KAFKA_PARTITION_HIGH_WATERMARK = "dms_kafka_partition_high_watermark", Gauge, None,
        ["instance_id", "topic", "partition"],
        "GET /v2/{project_id}/instances/{instance_id}/management/topics/{topic}",
        "High watermark (hw) of the partition.";
    KAFKA_PARTITION_LOG_START_OFFSET = "dms_kafka_partition_log_start_offset", Gauge, None,
        ["instance_id", "topic", "partition"],
        "GET /v2/{project_id}/instances/{instance_id}/management/topics/{topic}",
        "Log start offset of the partition leader (the API's lso, documented as log start offset).";
    KAFKA_PARTITION_LAST_WRITE = "dms_kafka_partition_last_write_timestamp_seconds", Gauge, S,
        ["instance_id", "topic", "partition"],
        "GET /v2/{project_id}/instances/{instance_id}/management/topics/{topic}",
        "When a message was last written to the partition, as a Unix timestamp.";
}

pub static DESCRIPTION: Description = Description {
    name: "kafka_partitions",
    enabled_by_default: true,
    scope: Scope::Instance(Some(Engine::Kafka)),
    priority: Priority::Low,
    interval: Duration::from_secs(300),
    max_age: None,
    demo_interval: Duration::from_secs(15),
    apis: &["kafka_topics", "kafka_topic_detail"],
    options: &[],
    families: &[
        &KAFKA_PARTITION_LEADER,
        &KAFKA_PARTITION_REPLICAS,
        &KAFKA_PARTITION_ISR,
        &KAFKA_PARTITION_UNDER_REPLICATED,
        &KAFKA_PARTITION_LOG_END_OFFSET,
        &KAFKA_PARTITION_HIGH_WATERMARK,
        &KAFKA_PARTITION_LOG_START_OFFSET,
        &KAFKA_PARTITION_LAST_WRITE,
    ],
};

impl Collector for Partitions {
    fn description(&self) -> &'static Description {
        &DESCRIPTION
    }

    fn collect<'a>(&'a self, cx: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>> {
        async move {
            let id = cx.instance().id.as_str();
            let list = cx.client.kafka_topics(id).await?;
            let topics: Vec<&str> = list
                .topics
                .iter()
                .map(|t| t.name.as_str())
                .filter(|name| cx.filters.topics.allows(name))
                .collect();
            cx.health
                .retain_log_topics(id, |topic| topics.contains(&topic));
            let parts = futures::future::join_all(topics.iter().map(|topic| async move {
                let result = cx.client.kafka_topic_detail(id, topic).await;
                let samples = result.map(|detail| {
                    record_facts(cx.health, id, &detail);
                    partition_samples(id, &detail)
                });
                ((*topic).to_owned(), samples)
            }))
            .await;
            let output = Output {
                parts,
                ..Output::default()
            };
            Ok(output)
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::test_fixtures::{fixture, lines, parse};

    /// The eight lines of one partition of topic `test`, in the order they are pushed.
    fn partition_lines(partition: &str, values: [&str; 8]) -> Vec<String> {
        let names = [
            "dms_kafka_partition_leader",
            "dms_kafka_partition_replicas",
            "dms_kafka_partition_in_sync_replicas",
            "dms_kafka_partition_under_replicated",
            "dms_kafka_partition_log_end_offset",
            "dms_kafka_partition_high_watermark",
            "dms_kafka_partition_log_start_offset",
            "dms_kafka_partition_last_write_timestamp_seconds",
        ];
        names
            .iter()
            .zip(values)
            .map(|(name, value)| {
                format!(
                    r#"{name}{{instance_id="i-1",topic="test",partition="{partition}"}} {value}"#
                )
            })
            .collect()
    }

    #[test]
    fn every_numbered_partition_becomes_its_series() {
        // The example lists partitions 0, 2, 1, each with three replicas all in sync;
        // last_update_timestamp is epoch ms.
        let example = [
            partition_lines(
                "0",
                ["2", "3", "3", "0", "13598", "13598", "0", "1571477180.985"],
            ),
            partition_lines(
                "2",
                ["1", "3", "3", "0", "13601", "13601", "0", "1571477077.146"],
            ),
            partition_lines(
                "1",
                ["0", "3", "3", "0", "13599", "13599", "0", "1571477172.959"],
            ),
        ]
        .concat();
        // (response, expected lines in order)
        let table = [
            (fixture("kafka/R11_topic_detail.json"), example),
            // Numbers as strings; a replica without in_sync is not in sync; absent offsets and
            // times are no series; a partition without a number is skipped.
            (
                r#"{"topic": "test", "partitions": [{"partition": "0", "leader": "1", "replicas": [{"broker": 1, "in_sync": true}, {"broker": 2, "in_sync": false}, {"broker": 3}], "leo": "10"}, {"leader": 1}]}"#.to_owned(),
                vec![
                    r#"dms_kafka_partition_leader{instance_id="i-1",topic="test",partition="0"} 1"#.to_owned(),
                    r#"dms_kafka_partition_replicas{instance_id="i-1",topic="test",partition="0"} 3"#.to_owned(),
                    r#"dms_kafka_partition_in_sync_replicas{instance_id="i-1",topic="test",partition="0"} 1"#.to_owned(),
                    r#"dms_kafka_partition_under_replicated{instance_id="i-1",topic="test",partition="0"} 1"#.to_owned(),
                    r#"dms_kafka_partition_log_end_offset{instance_id="i-1",topic="test",partition="0"} 10"#.to_owned(),
                ],
            ),
            (r#"{"topic": "test", "partitions": null}"#.to_owned(), vec![]),
        ];
        for (body, expected) in table {
            let detail: TopicDetail = parse(&body);
            assert_eq!(lines(partition_samples("i-1", &detail)), expected, "{body}");
        }
    }
}
