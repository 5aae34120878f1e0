//! Topics: the list (the Huawei SDK's endpoint; beyond the seed) gives the count and the
//! queues of each topic; the status of each topic (per-queue offsets and last message time)
//! is one call per topic, within `rocketmq_detail_calls_limit` and rotating.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::Engine;
use dms_cloud::dto::rocketmq::{AllTopics, TopicStatus};
use dms_cloud::error::ApiError;

use super::latest_ms;
use crate::collect::rotation::Rotation;
use crate::collect::{Collector, Context, Description, Output, Priority, Scope};
use crate::metrics::{Sample, Samples, catalog};

#[derive(Default)]
pub struct Topics {
    rotation: Rotation,
}

fn list_samples(id: &str, all: &AllTopics, cx: &Context<'_>) -> Vec<Sample> {
    let mut samples = Samples::default();
    let total = all.total.unwrap_or(all.items.len() as i64);
    samples.push(&catalog::ROCKETMQ_TOPICS, [id], total as f64);
    for topic in all
        .items
        .iter()
        .filter(|t| cx.filters.topics.allows(&t.name))
    {
        let labels = [id, topic.name.as_str()];
        // The totals, else the sum over brokers.
        let sum = |f: fn(&dms_cloud::dto::rocketmq::TopicBroker) -> Option<i64>| {
            let values: Vec<i64> = topic.brokers.iter().filter_map(f).collect();
            (!values.is_empty()).then(|| values.iter().sum::<i64>() as f64)
        };
        samples.push_some(
            &catalog::ROCKETMQ_TOPIC_READ_QUEUES,
            labels,
            topic
                .total_read_queue_num
                .or_else(|| sum(|b| b.read_queue_num)),
        );
        samples.push_some(
            &catalog::ROCKETMQ_TOPIC_WRITE_QUEUES,
            labels,
            topic
                .total_write_queue_num
                .or_else(|| sum(|b| b.write_queue_num)),
        );
    }
    samples.into()
}

fn status_samples(id: &str, topic: &str, status: &TopicStatus) -> Vec<Sample> {
    let mut samples = Samples::default();
    let mut retained = 0.0;
    let mut any = false;
    for broker in &status.brokers {
        for queue in &broker.queues {
            let Some(queue_id) = queue.id else {
                continue;
            };
            let queue_id = queue_id.to_string();
            let labels = [id, topic, broker.broker_name.as_str(), &queue_id];
            samples.push_some(
                &catalog::ROCKETMQ_QUEUE_MIN_OFFSET,
                labels,
                queue.min_offset.map(|v| v as f64),
            );
            samples.push_some(
                &catalog::ROCKETMQ_QUEUE_MAX_OFFSET,
                labels,
                queue.max_offset.map(|v| v as f64),
            );
            if let (Some(min), Some(max)) = (queue.min_offset, queue.max_offset) {
                retained += (max - min).max(0) as f64;
                any = true;
            }
        }
    }
    if any {
        samples.push(&catalog::ROCKETMQ_TOPIC_MESSAGES, [id, topic], retained);
    }
    samples.push_some(
        &catalog::ROCKETMQ_TOPIC_LAST_MESSAGE,
        [id, topic],
        latest_ms(
            status
                .brokers
                .iter()
                .flat_map(|b| &b.queues)
                .map(|q| q.last_message_time),
        )
        .map(|ms| ms as f64 / 1000.0),
    );
    samples.into()
}

/// Part key of a topic's status (the list's part is `""`).
fn status_key(topic: &str) -> String {
    format!("status/{topic}")
}

pub static DESCRIPTION: Description = Description {
    name: "rocketmq_topics",
    scope: Scope::Instance(Some(Engine::RocketMq)),
    priority: Priority::Low,
    interval: Duration::from_secs(300),
    max_age: None,
    demo_interval: Duration::from_secs(10),
    apis: &["rocketmq_topics", "rocketmq_topic_status"],
    options: &[&super::DETAIL_CALLS_LIMIT.spec],
    families: &[
        &catalog::ROCKETMQ_TOPICS,
        &catalog::ROCKETMQ_TOPIC_READ_QUEUES,
        &catalog::ROCKETMQ_TOPIC_WRITE_QUEUES,
        &catalog::ROCKETMQ_TOPIC_MESSAGES,
        &catalog::ROCKETMQ_QUEUE_MIN_OFFSET,
        &catalog::ROCKETMQ_QUEUE_MAX_OFFSET,
        &catalog::ROCKETMQ_TOPIC_LAST_MESSAGE,
    ],
};

impl Collector for Topics {
    fn description(&self) -> &'static Description {
        &DESCRIPTION
    }

    fn collect<'a>(&'a self, cx: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>> {
        async move {
            let id = cx.instance().id.as_str();
            let all = cx.client.rocketmq_topics(id).await?;
            let mut output = Output::default();
            output
                .parts
                .push((String::new(), Ok(list_samples(id, &all, cx))));
            let names: Vec<String> = all
                .items
                .into_iter()
                .map(|t| t.name)
                .filter(|name| cx.filters.topics.allows(name))
                .collect();
            self.rotation
                .read_turn(
                    cx,
                    names,
                    cx.settings.option(&super::DETAIL_CALLS_LIMIT),
                    |topic| status_key(topic),
                    |topic| async move {
                        let status = cx.client.rocketmq_topic_status(id, &topic).await?;
                        Ok(status_samples(id, &topic, &status))
                    },
                    &mut output,
                )
                .await;
            Ok(output)
        }
        .boxed()
    }
}
