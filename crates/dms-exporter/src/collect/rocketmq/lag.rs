//! Consumer lag: for each group the topics it consumes, then per (group, topic) the
//! consumption of every queue (lag, broker and consumer offsets), summed per topic, and the lag
//! in seconds against the status of each topic read this cycle (one call per topic, however
//! many groups read it). The (group, topic) reads are limited per cycle and rotate (see the
//! module above).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::dto::rocketmq::{GroupTopics, TopicStatus};
use dms_cloud::error::ApiError;

use super::{Rotation, lag_seconds, latest_ms, pair_key};
use crate::collect::{Collector, Context, Description, Output, Priority, Scope};
use crate::config::Engine;
use crate::metrics::{Sample, Samples, catalog};

#[derive(Default)]
pub struct Lag {
    rotation: Rotation,
    /// (instance, group) → the topics it consumed when last listed: when a group's listing
    /// fails, its pairs are kept (last good data) instead of vanishing.
    known: Mutex<HashMap<(String, String), Vec<String>>>,
}

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
            samples.push_some(&catalog::ROCKETMQ_GROUP_LAG, labels, lag.map(|v| v as f64));
            samples.push_some(
                &catalog::ROCKETMQ_GROUP_CONSUMER_OFFSET,
                labels,
                queue.consumer_offset.map(|v| v as f64),
            );
            samples.push_some(
                &catalog::ROCKETMQ_GROUP_BROKER_OFFSET,
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
        samples.push(
            &catalog::ROCKETMQ_GROUP_TOPIC_LAG,
            [id, group, topic],
            topic_lag,
        );
    }
    samples.push_some(
        &catalog::ROCKETMQ_GROUP_LAST_CONSUMED,
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

/// Part key of a pair's lag in seconds, apart from its offsets so that a failed topic status
/// keeps the last good seconds without holding back fresh offsets.
fn seconds_key(group: &str, topic: &str) -> String {
    format!("seconds/{}", pair_key(group, topic))
}

impl Lag {
    /// Reads this cycle's pairs and, once per topic (shared by the groups reading it), the
    /// topic's status for the newest store times; all at once, the host's scheduler paces them.
    async fn read_pairs(
        &self,
        cx: &Context<'_>,
        pairs: Vec<(String, String)>,
        output: &mut Output,
    ) {
        let id = cx.instance().id.as_str();
        let client = &cx.target.client;
        let topics: BTreeSet<&str> = pairs.iter().map(|(_, topic)| topic.as_str()).collect();
        let statuses =
            futures::future::join_all(topics.into_iter().map(|topic| async move {
                (topic, client.rocketmq_topic_status(id, topic).await)
            }));
        let consumption =
            futures::future::join_all(pairs.iter().map(|(group, topic)| async move {
                (
                    group,
                    topic,
                    client.rocketmq_group_topic(id, group, topic).await,
                )
            }));
        let (statuses, consumption) = futures::join!(statuses, consumption);
        let mut newest: HashMap<&str, TopicStatus> = HashMap::new();
        for (topic, result) in statuses {
            match result {
                Ok(status) => {
                    newest.insert(topic, status);
                }
                // One error for the call; the pairs of the topic keep their seconds below.
                Err(error) => output.parts.push((format!("status/{topic}"), Err(error))),
            }
        }
        for (group, topic, result) in consumption {
            match result {
                Ok(body) => {
                    output.parts.push((
                        pair_key(group, topic),
                        Ok(pair_samples(id, group, topic, &body)),
                    ));
                    match newest.get(topic.as_str()) {
                        Some(status) => output.parts.push((
                            seconds_key(group, topic),
                            Ok(lag_seconds::samples(id, group, topic, &body, status)),
                        )),
                        None => output.kept.push(seconds_key(group, topic)),
                    }
                }
                Err(error) => {
                    output.parts.push((pair_key(group, topic), Err(error)));
                    output.kept.push(seconds_key(group, topic));
                }
            }
        }
    }

    /// The topics of one group: listed now, or the last known ones when listing failed.
    async fn topics_of(&self, cx: &Context<'_>, group: &str) -> (Vec<String>, Option<ApiError>) {
        let id = cx.instance().id.as_str();
        let key = (id.to_owned(), group.to_owned());
        match cx.target.client.rocketmq_group_topics(id, group).await {
            Ok(topics) => {
                let topics: Vec<String> = topics
                    .into_iter()
                    .filter(|t| cx.filters.topics.allows(t))
                    .collect();
                self.known
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(key, topics.clone());
                (topics, None)
            }
            Err(error) => {
                let known = self
                    .known
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get(&key)
                    .cloned()
                    .unwrap_or_default();
                (known, Some(error))
            }
        }
    }
}

pub static DESCRIPTION: Description = Description {
    name: "rocketmq_lag",
    scope: Scope::Instance(Some(Engine::RocketMq)),
    priority: Priority::High,
    interval: Duration::from_secs(60),
    max_age: None,
    demo_interval: Duration::from_secs(5),
    options: &[&super::DETAIL_CALLS_LIMIT.spec],
    families: &[
        &catalog::ROCKETMQ_GROUP_LAG,
        &catalog::ROCKETMQ_GROUP_CONSUMER_OFFSET,
        &catalog::ROCKETMQ_GROUP_BROKER_OFFSET,
        &catalog::ROCKETMQ_GROUP_TOPIC_LAG,
        &catalog::ROCKETMQ_GROUP_LAST_CONSUMED,
        &catalog::ROCKETMQ_GROUP_LAG_SECONDS,
        &catalog::ROCKETMQ_GROUP_TOPIC_LAG_SECONDS,
    ],
};

impl Collector for Lag {
    fn description(&self) -> &'static Description {
        &DESCRIPTION
    }

    fn collect<'a>(&'a self, cx: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>> {
        async move {
            let id = cx.instance().id.as_str();
            let all = cx.target.client.rocketmq_groups(id).await?;
            let groups: Vec<String> = all
                .items
                .into_iter()
                .map(|g| g.name)
                .filter(|name| cx.filters.groups.allows(name))
                .collect();
            {
                // Forget groups that are gone.
                let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
                known.retain(|(instance, group), _| instance != id || groups.contains(group));
            }
            let listed: Vec<(String, Vec<String>, Option<ApiError>)> =
                futures::future::join_all(groups.into_iter().map(|group| async move {
                    let (topics, error) = self.topics_of(cx, &group).await;
                    (group, topics, error)
                }))
                .await;
            let mut output = Output::default();
            let mut pairs = Vec::new();
            for (group, topics, error) in listed {
                if let Some(error) = error {
                    // Its pairs are kept below; the error marks the instance's read as failed.
                    output.parts.push((format!("{group}/"), Err(error)));
                    output
                        .kept
                        .extend(topics.iter().map(|t| pair_key(&group, t)));
                    continue;
                }
                pairs.extend(topics.into_iter().map(|t| (group.clone(), t)));
            }
            let turn =
                self.rotation
                    .turn(id, pairs, cx.settings.option(&super::DETAIL_CALLS_LIMIT));
            for (group, topic) in &turn.skipped {
                output.kept.push(pair_key(group, topic));
                output.kept.push(seconds_key(group, topic));
            }
            self.read_pairs(cx, turn.read, &mut output).await;
            Ok(output)
        }
        .boxed()
    }
}
