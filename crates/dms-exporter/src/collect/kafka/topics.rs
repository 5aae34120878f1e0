//! Topic list: partitions, replication factor, retention, partition quota.

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::error::ApiError;

use crate::collect::{Collector, Context, Output, Priority, Scope};
use crate::config::Engine;
use crate::metrics::{Samples, catalog};

pub struct Topics;

impl Collector for Topics {
    fn name(&self) -> &'static str {
        "kafka_topics"
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
            let list = cx.target.client.kafka_topics(id).await?;
            let mut samples = Samples::default();
            for topic in list
                .topics
                .iter()
                .filter(|t| cx.filters.topics.allows(&t.name))
            {
                let labels = [id, topic.name.as_str()];
                samples.push_some(
                    &catalog::KAFKA_TOPIC_PARTITIONS,
                    labels,
                    topic.partition.map(|v| v as f64),
                );
                samples.push_some(
                    &catalog::KAFKA_TOPIC_REPLICATION,
                    labels,
                    topic.replication.map(|v| v as f64),
                );
                samples.push_some(
                    &catalog::KAFKA_TOPIC_RETENTION,
                    labels,
                    topic.retention_time.map(|h| h as f64 * 3600.0),
                );
            }
            samples.push_some(
                &catalog::KAFKA_PARTITIONS_LIMIT,
                [id],
                list.max_partitions.map(|v| v as f64),
            );
            samples.push_some(
                &catalog::KAFKA_PARTITIONS_REMAINING,
                [id],
                list.remain_partitions.map(|v| v as f64),
            );
            Ok(Output::whole(samples.into()))
        }
        .boxed()
    }
}
