//! Disk usage per broker and per topic.

use std::collections::BTreeMap;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::dto::lenient::parse_size_bytes;
use dms_cloud::error::ApiError;

use super::broker_label;
use crate::collect::{Collector, Context, Output, Priority, Scope};
use crate::config::Engine;
use crate::metrics::{Samples, catalog};

pub struct DiskUsage;

impl Collector for DiskUsage {
    fn name(&self) -> &'static str {
        "kafka_disk_usage"
    }

    fn scope(&self) -> Scope {
        Scope::Instance(Some(Engine::Kafka))
    }

    fn priority(&self) -> Priority {
        Priority::Low
    }

    fn collect<'a>(&'a self, cx: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>> {
        async move {
            let id = cx.instance().id.as_str();
            let usage = cx
                .target
                .client
                .kafka_disk_usage(id, &cx.settings.kafka_disk_usage_min_size)
                .await?;
            let mut samples = Samples::default();
            let mut per_topic: BTreeMap<&str, f64> = BTreeMap::new();
            for broker in &usage.broker_list {
                let name = broker_label(&broker.broker_name);
                if let Some(used) = parse_size_bytes(&broker.data_disk_use) {
                    samples.push(&catalog::KAFKA_BROKER_DISK_USED, [id, &name], used);
                }
                if let Some(size) = parse_size_bytes(&broker.data_disk_size) {
                    samples.push(&catalog::KAFKA_BROKER_DISK_CAPACITY, [id, &name], size);
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
                samples.push(&catalog::KAFKA_TOPIC_DISK_USED, [id, topic], bytes);
            }
            Ok(Output::whole(samples.into()))
        }
        .boxed()
    }
}
