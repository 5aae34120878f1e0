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
use crate::collect::settings::NameFilter;
use crate::collect::{Collector, Context, Description, Output, Priority, Scope};
use crate::metrics::catalog::{S, families};
use crate::metrics::{Sample, Samples};

#[derive(Default)]
pub struct Topics {
    rotation: Rotation,
}

/// The instance's topic count and each topic's queues (the topics the filter allows).
fn list_samples(id: &str, all: &AllTopics, topics: &NameFilter) -> Vec<Sample> {
    let mut samples = Samples::default();
    let total = all.total.unwrap_or(all.items.len() as i64);
    samples.push(&ROCKETMQ_TOPICS, [id], total as f64);
    for topic in all.items.iter().filter(|t| topics.allows(&t.name)) {
        let labels = [id, topic.name.as_str()];
        // The totals, else the sum over brokers.
        let sum = |f: fn(&dms_cloud::dto::rocketmq::TopicBroker) -> Option<i64>| {
            let values: Vec<i64> = topic.brokers.iter().filter_map(f).collect();
            (!values.is_empty()).then(|| values.iter().sum::<i64>() as f64)
        };
        samples.push_some(
            &ROCKETMQ_TOPIC_READ_QUEUES,
            labels,
            topic
                .total_read_queue_num
                .or_else(|| sum(|b| b.read_queue_num)),
        );
        samples.push_some(
            &ROCKETMQ_TOPIC_WRITE_QUEUES,
            labels,
            topic
                .total_write_queue_num
                .or_else(|| sum(|b| b.write_queue_num)),
        );
    }
    samples.into()
}

/// A topic's queue offsets, its retained messages and its newest message's time.
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
                &ROCKETMQ_QUEUE_MIN_OFFSET,
                labels,
                queue.min_offset.map(|v| v as f64),
            );
            samples.push_some(
                &ROCKETMQ_QUEUE_MAX_OFFSET,
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
        samples.push(&ROCKETMQ_TOPIC_MESSAGES, [id, topic], retained);
    }
    samples.push_some(
        &ROCKETMQ_TOPIC_LAST_MESSAGE,
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

families! {
    ROCKETMQ_TOPICS = "dms_rocketmq_topics", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/topics (Huawei SDK only, not in the API reference)",
        "Number of topics of the instance (total).";
    ROCKETMQ_TOPIC_READ_QUEUES = "dms_rocketmq_topic_read_queues", Gauge, None,
        ["instance_id", "topic"],
        "GET /v2/{project_id}/instances/{instance_id}/topics (Huawei SDK only, not in the API reference; same fields as GET .../topics/{topic})",
        "Read queues of the topic over all brokers (total_read_queue_num).";
    ROCKETMQ_TOPIC_WRITE_QUEUES = "dms_rocketmq_topic_write_queues", Gauge, None,
        ["instance_id", "topic"],
        "GET /v2/{project_id}/instances/{instance_id}/topics (Huawei SDK only, not in the API reference; same fields as GET .../topics/{topic})",
        "Write queues of the topic over all brokers (total_write_queue_num).";
    ROCKETMQ_TOPIC_MESSAGES = "dms_rocketmq_topic_messages", Gauge, None,
        ["instance_id", "topic"],
        "GET /v2/{project_id}/instances/{instance_id}/topics/{topic}/status",
        "Messages retained in the topic, derived as the sum over queues of max offset - min offset (the API has no count field).";
    ROCKETMQ_QUEUE_MIN_OFFSET = "dms_rocketmq_queue_min_offset", Gauge, None,
        ["instance_id", "topic", "broker", "queue"],
        "GET /v2/{project_id}/instances/{instance_id}/topics/{topic}/status",
        "Smallest offset still stored in the queue.";
    ROCKETMQ_QUEUE_MAX_OFFSET = "dms_rocketmq_queue_max_offset", Gauge, None,
        ["instance_id", "topic", "broker", "queue"],
        "GET /v2/{project_id}/instances/{instance_id}/topics/{topic}/status",
        "Next offset to be written in the queue (messages ever produced to it).";
    ROCKETMQ_TOPIC_LAST_MESSAGE = "dms_rocketmq_topic_last_message_timestamp_seconds", Gauge, S,
        ["instance_id", "topic"],
        "GET /v2/{project_id}/instances/{instance_id}/topics/{topic}/status (last_message_time)",
        "When the newest message of the topic was stored (latest over its queues), as a Unix timestamp; no series before the first message.";
}

pub static DESCRIPTION: Description = Description {
    name: "rocketmq_topics",
    enabled_by_default: true,
    scope: Scope::Instance(Some(Engine::RocketMq)),
    priority: Priority::Low,
    interval: Duration::from_secs(300),
    max_age: None,
    demo_interval: Duration::from_secs(10),
    apis: &["rocketmq_topics", "rocketmq_topic_status"],
    options: &[&super::DETAIL_CALLS_LIMIT.spec],
    families: &[
        &ROCKETMQ_TOPICS,
        &ROCKETMQ_TOPIC_READ_QUEUES,
        &ROCKETMQ_TOPIC_WRITE_QUEUES,
        &ROCKETMQ_TOPIC_MESSAGES,
        &ROCKETMQ_QUEUE_MIN_OFFSET,
        &ROCKETMQ_QUEUE_MAX_OFFSET,
        &ROCKETMQ_TOPIC_LAST_MESSAGE,
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
            output.parts.push((
                String::new(),
                Ok(list_samples(id, &all, &cx.filters.topics)),
            ));
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

#[cfg(test)]
mod tests {
    use dms_cloud::dto::rocketmq::TopicList;

    use super::*;
    use crate::collect::test_fixtures::{fixture, lines, parse, single_page};

    #[test]
    fn the_topic_list_becomes_the_count_and_queues() {
        let everything = NameFilter::default();
        let no_audit: NameFilter = parse(r#"{"exclude": ".*-audit"}"#);
        let count = r#"dms_rocketmq_topics{instance_id="i-1"} 2"#;
        let orders = [
            r#"dms_rocketmq_topic_read_queues{instance_id="i-1",topic="topic-orders"} 3"#,
            r#"dms_rocketmq_topic_write_queues{instance_id="i-1",topic="topic-orders"} 3"#,
        ];
        let audit = [
            r#"dms_rocketmq_topic_read_queues{instance_id="i-1",topic="topic-audit"} 6"#,
            r#"dms_rocketmq_topic_write_queues{instance_id="i-1",topic="topic-audit"} 6"#,
        ];
        // (one page of topics, topic filter, expected lines in order)
        let table = [
            (
                fixture("rocketmq/sdk_topics.json"),
                &everything,
                [&[count][..], &orders, &audit].concat(),
            ),
            // The count is the instance's, filters aside.
            (
                fixture("rocketmq/sdk_topics.json"),
                &no_audit,
                [&[count][..], &orders].concat(),
            ),
            // Without totals: the count of listed topics and the sums over brokers (strings
            // read); a topic without queue numbers has no series.
            (
                r#"{"topics": [{"name": "a", "brokers": [{"broker_name": "b0", "read_queue_num": "2", "write_queue_num": 1}, {"broker_name": "b1", "read_queue_num": 2}]}, {"name": "c"}]}"#.to_owned(),
                &everything,
                vec![
                    r#"dms_rocketmq_topics{instance_id="i-1"} 2"#,
                    r#"dms_rocketmq_topic_read_queues{instance_id="i-1",topic="a"} 4"#,
                    r#"dms_rocketmq_topic_write_queues{instance_id="i-1",topic="a"} 1"#,
                ],
            ),
        ];
        for (body, topics, expected) in table {
            let page: TopicList = parse(&body);
            let all = single_page(page.topics, page.total, page.max, page.remaining);
            assert_eq!(lines(list_samples("i-1", &all, topics)), expected, "{body}");
        }
    }

    #[test]
    fn a_topic_status_becomes_queue_offsets_messages_and_last_time() {
        // Queue 0 of broker-0 holds offsets 0 to 2: 2 messages; the newest stored at
        // 1662689877152 ms.
        let example = vec![
            r#"dms_rocketmq_queue_min_offset{instance_id="i-1",topic="t",broker="broker-0",queue="0"} 0"#,
            r#"dms_rocketmq_queue_max_offset{instance_id="i-1",topic="t",broker="broker-0",queue="0"} 2"#,
            r#"dms_rocketmq_topic_messages{instance_id="i-1",topic="t"} 2"#,
            r#"dms_rocketmq_topic_last_message_timestamp_seconds{instance_id="i-1",topic="t"} 1662689877.152"#,
        ];
        // (response, expected lines in order)
        let table = [
            // `brokers` as the example prints it (one object) and as its table says (an array).
            (fixture("rocketmq/topic_status.json"), example.clone()),
            (fixture("rocketmq/topic_status_array.json"), example),
            // Offsets as strings; a max below the min adds no messages (never negative); a
            // queue without id is skipped; a last message time of 0 is "none yet", no series.
            (
                r#"{"brokers": [{"broker_name": "broker-0", "queues": [{"id": 0, "min_offset": "5", "max_offset": "3", "last_message_time": 0}, {"min_offset": 1, "max_offset": 2}, {"id": 1, "max_offset": 7}]}]}"#.to_owned(),
                vec![
                    r#"dms_rocketmq_queue_min_offset{instance_id="i-1",topic="t",broker="broker-0",queue="0"} 5"#,
                    r#"dms_rocketmq_queue_max_offset{instance_id="i-1",topic="t",broker="broker-0",queue="0"} 3"#,
                    r#"dms_rocketmq_queue_max_offset{instance_id="i-1",topic="t",broker="broker-0",queue="1"} 7"#,
                    r#"dms_rocketmq_topic_messages{instance_id="i-1",topic="t"} 0"#,
                ],
            ),
            (r#"{"brokers": null}"#.to_owned(), vec![]),
        ];
        for (body, expected) in table {
            let status: TopicStatus = parse(&body);
            assert_eq!(
                lines(status_samples("i-1", "t", &status)),
                expected,
                "{body}"
            );
        }
    }
}
