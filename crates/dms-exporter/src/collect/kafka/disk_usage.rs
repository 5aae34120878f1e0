//! Disk usage per broker and per topic.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::Engine;
use dms_cloud::dto::kafka;
use dms_cloud::dto::lenient::parse_size_bytes;
use dms_cloud::error::ApiError;

use super::broker_label;
use crate::collect::registry::{Opt, Size};
use crate::collect::settings::NameFilter;
use crate::collect::{Collector, Context, Description, Output, Priority, Scope};
use crate::metrics::Samples;
use crate::metrics::catalog::{B, families};

/// The disk-usage API's `minSize`: smaller partitions are not reported (API default 1G).
pub static MIN_SIZE: Opt<Size> = Opt::size("kafka_disk_usage_min_size", "1K");

pub struct DiskUsage;

families! {
    KAFKA_BROKER_DISK_USED = "dms_kafka_broker_disk_used_bytes", Gauge, B,
        ["instance_id", "broker"],
        "GET /v2/{project_id}/instances/{instance_id}/topics/diskusage",
        "Data disk used on the broker, in bytes (the API's size strings such as 66G use powers of 1024).";
    KAFKA_BROKER_DISK_CAPACITY = "dms_kafka_broker_disk_capacity_bytes", Gauge, B,
        ["instance_id", "broker"],
        "GET /v2/{project_id}/instances/{instance_id}/topics/diskusage",
        "Data disk size of the broker, in bytes (powers of 1024).";
    KAFKA_TOPIC_DISK_USED = "dms_kafka_topic_disk_used_bytes", Gauge, B,
        ["instance_id", "topic"],
        "GET /v2/{project_id}/instances/{instance_id}/topics/diskusage",
        "Disk used by the topic summed over brokers and partitions, in bytes (powers of 1024); partitions under the configured min_size are not reported by the API.";
}

pub static DESCRIPTION: Description = Description {
    name: "kafka_disk_usage",
    enabled_by_default: true,
    scope: Scope::Instance(Some(Engine::Kafka)),
    priority: Priority::Low,
    interval: Duration::from_secs(300),
    max_age: None,
    demo_interval: Duration::from_secs(15),
    apis: &["kafka_diskusage"],
    options: &[&MIN_SIZE.spec],
    families: &[
        &KAFKA_BROKER_DISK_USED,
        &KAFKA_BROKER_DISK_CAPACITY,
        &KAFKA_TOPIC_DISK_USED,
    ],
};

impl Collector for DiskUsage {
    fn description(&self) -> &'static Description {
        &DESCRIPTION
    }

    fn collect<'a>(&'a self, cx: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>> {
        async move {
            let id = cx.instance().id.as_str();
            let usage = cx
                .client
                .kafka_disk_usage(id, cx.settings.option(&MIN_SIZE))
                .await?;
            Ok(Output::whole(
                samples(id, &usage, &cx.filters.topics).into(),
            ))
        }
        .boxed()
    }
}

/// Each broker's disk, and each topic's use summed over brokers and partitions (the topics
/// the filter allows); sizes the API writes in a form that does not parse are left out.
fn samples(id: &str, usage: &kafka::DiskUsage, topics: &NameFilter) -> Samples {
    let mut samples = Samples::default();
    let mut per_topic: BTreeMap<&str, f64> = BTreeMap::new();
    for broker in &usage.broker_list {
        let name = broker_label(&broker.broker_name);
        if let Some(used) = parse_size_bytes(&broker.data_disk_use) {
            samples.push(&KAFKA_BROKER_DISK_USED, [id, &name], used);
        }
        if let Some(size) = parse_size_bytes(&broker.data_disk_size) {
            samples.push(&KAFKA_BROKER_DISK_CAPACITY, [id, &name], size);
        }
        for entry in &broker.topic_list {
            if !topics.allows(&entry.topic_name) {
                continue;
            }
            if let Some(bytes) = parse_size_bytes(&entry.size) {
                *per_topic.entry(entry.topic_name.as_str()).or_default() += bytes;
            }
        }
    }
    for (topic, bytes) in per_topic {
        samples.push(&KAFKA_TOPIC_DISK_USED, [id, topic], bytes);
    }
    samples
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::test_fixtures::{fixture, lines, parse};

    #[test]
    fn sizes_become_bytes_per_broker_and_per_topic() {
        let everything = NameFilter::default();
        let no_internal: NameFilter = parse(r#"{"exclude": "__.*"}"#);
        // Sizes use powers of 1024: 53M, 66G; topics by name, summed over partitions.
        let broker = [
            r#"dms_kafka_broker_disk_used_bytes{instance_id="i-1",broker="0"} 55574528"#,
            r#"dms_kafka_broker_disk_capacity_bytes{instance_id="i-1",broker="0"} 70866960384"#,
        ];
        // topic-1568537362: 8.0K; topic-test: 12K + 8.0K.
        let user_topics = [
            r#"dms_kafka_topic_disk_used_bytes{instance_id="i-1",topic="topic-1568537362"} 8192"#,
            r#"dms_kafka_topic_disk_used_bytes{instance_id="i-1",topic="topic-test"} 20480"#,
        ];
        // __consumer_offsets: 12K + 12K + 8.0K; __trace: 4 × 8.0K.
        let internal_topics = [
            r#"dms_kafka_topic_disk_used_bytes{instance_id="i-1",topic="__consumer_offsets"} 32768"#,
            r#"dms_kafka_topic_disk_used_bytes{instance_id="i-1",topic="__trace"} 32768"#,
        ];
        // (response, topic filter, expected lines in order)
        let table = [
            (
                fixture("kafka/R6_diskusage.json"),
                &everything,
                [&broker[..], &internal_topics, &user_topics].concat(),
            ),
            (
                fixture("kafka/R6_diskusage.json"),
                &no_internal,
                [&broker[..], &user_topics].concat(),
            ),
            // Sizes that do not parse (missing, "n/a", "?") are no series and add nothing.
            (
                r#"{"broker_list": [{"broker_name": "broker-1", "data_disk_size": "n/a", "topic_list": [{"topic_name": "t", "size": "1.5M"}, {"topic_name": "t", "size": "?"}]}]}"#.to_owned(),
                &everything,
                vec![r#"dms_kafka_topic_disk_used_bytes{instance_id="i-1",topic="t"} 1572864"#],
            ),
            (r#"{"broker_list": null}"#.to_owned(), &everything, vec![]),
        ];
        for (body, topics, expected) in table {
            let usage: kafka::DiskUsage = parse(&body);
            assert_eq!(lines(samples("i-1", &usage, topics)), expected, "{body}");
        }
    }
}
