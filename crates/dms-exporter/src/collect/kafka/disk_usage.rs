//! Disk usage per broker and per topic.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::Engine;
use dms_cloud::dto::lenient::parse_size_bytes;
use dms_cloud::error::ApiError;

use super::broker_label;
use crate::collect::registry::{Opt, Size};
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
                    if !cx.filters.topics.allows(&entry.topic_name) {
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
            Ok(Output::whole(samples.into()))
        }
        .boxed()
    }
}
