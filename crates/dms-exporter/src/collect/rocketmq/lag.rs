//! Consumer lag and status: for each group the topics it consumes, then per (group, topic) the
//! consumption of every queue (lag, broker and consumer offsets), summed per topic, the lag in
//! seconds and the evaluated status of queues and groups (`pairs`). The (group, topic) reads
//! are limited per cycle and rotate (see the module above).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::Engine;
use dms_cloud::dto::rocketmq::GroupTopics;
use dms_cloud::error::ApiError;

use super::{consumer_status, latest_ms, pairs};
use crate::collect::health::{self, Granularity};
use crate::collect::registry::{Choice, Opt};
use crate::collect::rotation::Rotation;
use crate::collect::{Collector, Context, Description, Output, Priority, Scope};
use crate::locks::lock;
use crate::metrics::catalog::{S, families};
use crate::metrics::{Sample, Samples};

#[derive(Default)]
pub struct Lag {
    rotation: Rotation,
    /// (instance, group) → the topics it consumed when last listed: when a group's listing
    /// fails, its pairs are kept (last good data) instead of vanishing.
    known: Mutex<HashMap<(String, String), Vec<String>>>,
    members: pairs::Members,
}

/// One (group, topic) pair's consumption per queue, its lag summed over the topic and the
/// store time of the newest message the group consumed.
fn pair_samples(id: &str, group: &str, topic: &str, body: &GroupTopics) -> Vec<Sample> {
    let mut samples = Samples::default();
    let mut topic_lag = 0.0;
    let mut any_lag = false;
    for broker in &body.brokers {
        for queue in &broker.queues {
            let Some(queue_id) = queue.id else {
                continue;
            };
            let queue_id = queue_id.to_string();
            let labels = [id, group, topic, broker.broker_name.as_str(), &queue_id];
            let lag = queue.lag();
            samples.push_some(&ROCKETMQ_GROUP_LAG, labels, lag.map(|v| v as f64));
            samples.push_some(
                &ROCKETMQ_GROUP_CONSUMER_OFFSET,
                labels,
                queue.consumer_offset.map(|v| v as f64),
            );
            samples.push_some(
                &ROCKETMQ_GROUP_BROKER_OFFSET,
                labels,
                queue.broker_offset.map(|v| v as f64),
            );
            if let Some(lag) = lag {
                topic_lag += lag as f64;
                any_lag = true;
            }
        }
    }
    if any_lag {
        samples.push(&ROCKETMQ_GROUP_TOPIC_LAG, [id, group, topic], topic_lag);
    }
    samples.push_some(
        &ROCKETMQ_GROUP_LAST_CONSUMED,
        [id, group, topic],
        // 0 means "nothing consumed yet", not 1970.
        latest_ms(
            body.brokers
                .iter()
                .flat_map(|b| &b.queues)
                .map(|q| q.last_message_time),
        )
        .map(|ms| ms as f64 / 1000.0),
    );
    samples.into()
}

impl Lag {
    /// The topics of one group: listed now, or the last known ones when listing failed.
    async fn topics_of(&self, cx: &Context<'_>, group: &str) -> (Vec<String>, Option<ApiError>) {
        let id = cx.instance().id.as_str();
        let key = (id.to_owned(), group.to_owned());
        match cx.client.rocketmq_group_topics(id, group).await {
            Ok(topics) => {
                let topics: Vec<String> = topics
                    .into_iter()
                    .filter(|t| cx.filters.topics.allows(t))
                    .collect();
                lock(&self.known).insert(key, topics.clone());
                (topics, None)
            }
            Err(error) => {
                let known = lock(&self.known).get(&key).cloned().unwrap_or_default();
                (known, Some(error))
            }
        }
    }
}

families! {
    ROCKETMQ_GROUP_LAG = "dms_rocketmq_consumergroup_lag", Gauge, None,
        ["instance_id", "group", "topic", "broker", "queue"],
        "GET /v2/{project_id}/instances/{instance_id}/groups/{group}/topics?topic={topic}",
        "Messages the group has yet to consume on the queue (lag = broker offset - consumer offset).";
    ROCKETMQ_GROUP_CONSUMER_OFFSET = "dms_rocketmq_consumergroup_consumer_offset", Gauge, None,
        ["instance_id", "group", "topic", "broker", "queue"],
        "GET /v2/{project_id}/instances/{instance_id}/groups/{group}/topics?topic={topic}",
        "Offset the group has consumed up to on the queue.";
    ROCKETMQ_GROUP_BROKER_OFFSET = "dms_rocketmq_consumergroup_broker_offset", Gauge, None,
        ["instance_id", "group", "topic", "broker", "queue"],
        "GET /v2/{project_id}/instances/{instance_id}/groups/{group}/topics?topic={topic}",
        "Messages in the queue (its max offset) as the group's consumption detail reports it.";
    ROCKETMQ_GROUP_TOPIC_LAG = "dms_rocketmq_consumergroup_topic_lag", Gauge, None,
        ["instance_id", "group", "topic"],
        "GET /v2/{project_id}/instances/{instance_id}/groups/{group}/topics?topic={topic}",
        "Messages the group has yet to consume on the topic (lag summed over brokers and queues).";
    ROCKETMQ_GROUP_LAST_CONSUMED = "dms_rocketmq_consumergroup_last_consumed_timestamp_seconds", Gauge, S,
        ["instance_id", "group", "topic"],
        "GET /v2/{project_id}/instances/{instance_id}/groups/{group}/topics?topic={topic} (last_message_time)",
        "Store time of the newest message the group has consumed on the topic, as a Unix timestamp; no series before the first one.";
    ROCKETMQ_GROUP_LAG_SECONDS = "dms_rocketmq_consumergroup_lag_seconds", Gauge, S,
        ["instance_id", "group", "topic", "broker", "queue"],
        "GET /v2/{project_id}/instances/{instance_id}/groups/{group}/topics?topic={topic} and GET /v2/{project_id}/instances/{instance_id}/topics/{topic}/status (last_message_time of both)",
        "How far behind the group is on the queue in time: store time of the queue's newest message minus that of the group's last consumed one; 0 when caught up; no series before the group consumed anything.";
    ROCKETMQ_GROUP_TOPIC_LAG_SECONDS = "dms_rocketmq_consumergroup_topic_lag_seconds", Gauge, S,
        ["instance_id", "group", "topic"],
        "GET /v2/{project_id}/instances/{instance_id}/groups/{group}/topics?topic={topic} and GET /v2/{project_id}/instances/{instance_id}/topics/{topic}/status (last_message_time of both)",
        "How far behind the group is on the topic in time: the largest lag in seconds over its queues.";
    ROCKETMQ_GROUP_QUEUE_STATUS = "dms_rocketmq_consumergroup_queue_status", StateSet, None,
        ["instance_id", "group", "topic", "broker", "queue", "status"],
        "GET /v2/{project_id}/instances/{instance_id}/groups/{group}/topics?topic={topic} over the last consumer_status_window cycles; GET /v2/rocketmq/{project_id}/instances/{instance_id}/groups/{group}/clients (Huawei SDK only, not in the API reference) when it lags",
        "Evaluated status of the group on the queue (Burrow's rules over the last consumer_status_window readings): OK, WARN (consuming but lag never decreasing), STALL (offset standing still with lag and online consumers), STOP (the same without online consumers), REWIND (offset moved back).";
    ROCKETMQ_GROUP_STATUS = "dms_rocketmq_consumergroup_status", StateSet, None,
        ["instance_id", "group", "status"],
        "GET /v2/{project_id}/instances/{instance_id}/groups/{group}/topics?topic={topic} over the last consumer_status_window cycles; GET /v2/rocketmq/{project_id}/instances/{instance_id}/groups/{group}/clients (Huawei SDK only, not in the API reference) when it lags",
        "Evaluated status of the group: ERR when any queue is STOP or STALL, WARN when any is WARN, else OK.";
}

/// How fine the lag and consumer-health series go: `queue` (every family), `topic` (none with a
/// `queue` label) or `group` (none with a `topic` label either), as
/// `kafka_consumer_granularity` does for Kafka.
pub static GRANULARITY: Opt<Choice> = Opt::choice(
    "rocketmq_consumer_granularity",
    "queue",
    &["queue", "topic", "group"],
);

pub static DESCRIPTION: Description = Description {
    name: "rocketmq_lag",
    enabled_by_default: true,
    scope: Scope::Instance(Some(Engine::RocketMq)),
    priority: Priority::High,
    interval: Duration::from_secs(60),
    max_age: None,
    demo_interval: Duration::from_secs(5),
    apis: &[
        "rocketmq_groups",
        "rocketmq_group_topics",
        "rocketmq_topic_status",
        "rocketmq_group_clients",
    ],
    options: &[
        &super::DETAIL_CALLS_LIMIT.spec,
        &health::STATUS_WINDOW.spec,
        &health::STATE_SETS.spec,
        &GRANULARITY.spec,
    ],
    families: &[
        &ROCKETMQ_GROUP_LAG,
        &ROCKETMQ_GROUP_CONSUMER_OFFSET,
        &ROCKETMQ_GROUP_BROKER_OFFSET,
        &ROCKETMQ_GROUP_TOPIC_LAG,
        &ROCKETMQ_GROUP_LAST_CONSUMED,
        &ROCKETMQ_GROUP_LAG_SECONDS,
        &ROCKETMQ_GROUP_TOPIC_LAG_SECONDS,
        &ROCKETMQ_GROUP_QUEUE_STATUS,
        &ROCKETMQ_GROUP_STATUS,
    ],
};

impl Collector for Lag {
    fn description(&self) -> &'static Description {
        &DESCRIPTION
    }

    fn collect<'a>(&'a self, cx: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>> {
        async move {
            let id = cx.instance().id.as_str();
            let all = cx.client.rocketmq_groups(id).await?;
            let groups: Vec<String> = all
                .items
                .into_iter()
                .map(|g| g.name)
                .filter(|name| cx.filters.groups.allows(name))
                .collect();
            {
                // Forget groups that are gone.
                let gone =
                    |instance: &String, group: &String| instance == id && !groups.contains(group);
                let mut known = lock(&self.known);
                known.retain(|(instance, group), _| !gone(instance, group));
                let mut members = lock(&self.members);
                members.retain(|(instance, group), _| !gone(instance, group));
                cx.health
                    .retain_groups(id, |group| groups.iter().any(|g| g == group));
            }
            let listed: Vec<(String, Vec<String>, Option<ApiError>)> =
                futures::future::join_all(groups.into_iter().map(|group| async move {
                    let (topics, error) = self.topics_of(cx, &group).await;
                    (group, topics, error)
                }))
                .await;
            let mut output = Output::default();
            let mut pairs = Vec::new();
            for (group, topics, error) in &listed {
                if let Some(error) = error {
                    // Its pairs are kept below; the error marks the instance's read as failed.
                    output.parts.push((format!("{group}/"), Err(error.clone())));
                    output
                        .kept
                        .extend(topics.iter().flat_map(|t| pairs::keys(group, t)));
                    continue;
                }
                pairs.extend(topics.iter().map(|t| (group.clone(), t.clone())));
            }
            let turn =
                self.rotation
                    .turn(id, pairs, cx.settings.option(&super::DETAIL_CALLS_LIMIT));
            cx.skip_calls(turn.skipped.len());
            for (group, topic) in &turn.skipped {
                output.kept.extend(pairs::keys(group, topic));
            }
            let offsets =
                |group: &str, topic: &str, body: &GroupTopics| pair_samples(id, group, topic, body);
            pairs::read(cx, turn.read, &self.members, offsets, &mut output).await;
            // Each group's status from the last status of every queue it consumes, read this
            // cycle or before.
            for (group, topics, _) in &listed {
                cx.health
                    .retain_topics(id, group, |topic| topics.iter().any(|t| t == topic));
                let status = cx.health.group_status(id, group);
                output.parts.push((
                    pairs::group_key(group),
                    Ok(consumer_status::group_samples(id, group, status)),
                ));
            }
            // What is evaluated stays per queue; only what is written gets coarser.
            let granularity = Granularity::from_option(cx.settings.option(&GRANULARITY));
            for (_, part) in &mut output.parts {
                if let Ok(samples) = part {
                    samples.retain(|sample| granularity.keeps(sample.family));
                }
            }
            Ok(output)
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::test_fixtures::{fixture, lines, parse};

    #[test]
    fn a_pair_s_consumption_becomes_queue_offsets_and_topic_lag() {
        let queue = |family: &str, broker: &str, queue: &str, value: &str| {
            format!(
                r#"{family}{{instance_id="i-1",group="g",topic="test0001",broker="{broker}",queue="{queue}"}} {value}"#
            )
        };
        // Per queue: lag, consumer offset, broker offset.
        let offsets = |broker: &str, id: &str, [lag, consumer, broker_offset]: [&str; 3]| {
            vec![
                queue("dms_rocketmq_consumergroup_lag", broker, id, lag),
                queue(
                    "dms_rocketmq_consumergroup_consumer_offset",
                    broker,
                    id,
                    consumer,
                ),
                queue(
                    "dms_rocketmq_consumergroup_broker_offset",
                    broker,
                    id,
                    broker_offset,
                ),
            ]
        };
        let example = [
            offsets("broker-0", "0", ["0", "0", "0"]),
            offsets("broker-0", "1", ["0", "1", "1"]),
            offsets("broker-0", "2", ["0", "0", "0"]),
            vec![
                r#"dms_rocketmq_consumergroup_topic_lag{instance_id="i-1",group="g",topic="test0001"} 0"#.to_owned(),
                // The newest of the queues' times; 0 means nothing consumed there yet.
                r#"dms_rocketmq_consumergroup_last_consumed_timestamp_seconds{instance_id="i-1",group="g",topic="test0001"} 1679398537.088"#.to_owned(),
            ],
        ]
        .concat();
        // Lag derived from the offsets (10 - 4) when absent, strings read; a queue without
        // id is skipped; one without a consumer offset has no lag; no time, no series.
        let derived = [
            offsets("broker-1", "3", ["6", "4", "10"]),
            vec![
                queue("dms_rocketmq_consumergroup_broker_offset", "broker-1", "4", "2"),
                r#"dms_rocketmq_consumergroup_topic_lag{instance_id="i-1",group="g",topic="test0001"} 6"#.to_owned(),
            ],
        ]
        .concat();
        // (response, expected lines in order)
        let table = [
            (fixture("rocketmq/group_topics.json"), example),
            (
                r#"{"brokers": [{"broker_name": "broker-1", "queues": [{"id": "3", "broker_offset": "10", "consumer_offset": 4}, {"broker_offset": 5, "consumer_offset": 1}, {"id": 4, "broker_offset": 2}]}]}"#.to_owned(),
                derived,
            ),
            (r#"{"brokers": []}"#.to_owned(), vec![]),
        ];
        for (body, expected) in table {
            let consumption: GroupTopics = parse(&body);
            assert_eq!(
                lines(pair_samples("i-1", "g", "test0001", &consumption)),
                expected,
                "{body}"
            );
        }
    }
}
