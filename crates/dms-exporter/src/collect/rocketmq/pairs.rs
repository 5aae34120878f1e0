//! One lag cycle's reads of (group, topic) pairs and the parts they give: per pair its offsets
//! (`pair_key`), its lag in seconds (against the topic's status, read once per topic) and its
//! queues' status (with the group's membership, read once per lagging group). Each is a part of
//! its own, so that a failed status or clients call keeps that part's last good data without
//! holding back the fresh offsets. All calls queue at once; the host's scheduler paces them.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use dms_cloud::dto::rocketmq::{GroupTopics, TopicStatus};

use super::{consumer_status, lag_seconds, pair_key};
use crate::collect::health::{self, status};
use crate::collect::{Context, Output};
use crate::locks::lock;
use crate::metrics::Sample;

/// (instance, group) → whether it had online consumers when last read.
pub type Members = Mutex<HashMap<(String, String), bool>>;

// Part keys besides `pair_key`: names are never empty and cannot contain `/`, so a key that
// starts with `/` is no pair's.
fn seconds_key(group: &str, topic: &str) -> String {
    format!("/seconds/{group}/{topic}")
}

fn status_key(group: &str, topic: &str) -> String {
    format!("/status/{group}/{topic}")
}

/// Part key of a group's status.
pub fn group_key(group: &str) -> String {
    format!("/group/{group}")
}

/// Every part key of a pair, for pairs not read this cycle.
pub fn keys(group: &str, topic: &str) -> [String; 3] {
    [
        pair_key(group, topic),
        seconds_key(group, topic),
        status_key(group, topic),
    ]
}

/// Reads `pairs` into parts of `output`; `offsets` turns a consumption answer into its
/// offsets' samples.
pub async fn read(
    cx: &Context<'_>,
    pairs: Vec<(String, String)>,
    members: &Members,
    offsets: impl Fn(&str, &str, &GroupTopics) -> Vec<Sample>,
    output: &mut Output,
) {
    let id = cx.instance().id.as_str();
    let client = &cx.client;
    let topics: BTreeSet<&str> = pairs.iter().map(|(_, topic)| topic.as_str()).collect();
    let statuses = futures::future::join_all(
        topics
            .into_iter()
            .map(|topic| async move { (topic, client.rocketmq_topic_status(id, topic).await) }),
    );
    let consumption = futures::future::join_all(pairs.iter().map(|(group, topic)| async move {
        let answer = client.rocketmq_group_topic(id, group, topic).await;
        (group.as_str(), topic.as_str(), answer)
    }));
    let (statuses, consumption) = futures::join!(statuses, consumption);
    let mut newest: HashMap<&str, TopicStatus> = HashMap::new();
    for (topic, result) in statuses {
        match result {
            Ok(status) => {
                newest.insert(topic, status);
            }
            // One error for the call; the pairs of the topic keep their seconds below.
            Err(error) => output.parts.push((format!("/topic/{topic}"), Err(error))),
        }
    }
    let lagging: BTreeSet<&str> = consumption
        .iter()
        .filter(|(_, _, answer)| answer.as_ref().is_ok_and(consumer_status::lags))
        .map(|(group, _, _)| *group)
        .collect();
    let online = read_members(cx, lagging, members, output).await;
    let window = status::window_length(cx.settings.option(&health::STATUS_WINDOW));
    let now = cx.health.now_ms();
    for (group, topic, result) in consumption {
        let body = match result {
            Ok(body) => body,
            Err(error) => {
                output.parts.push((pair_key(group, topic), Err(error)));
                output.kept.push(seconds_key(group, topic));
                output.kept.push(status_key(group, topic));
                continue;
            }
        };
        output
            .parts
            .push((pair_key(group, topic), Ok(offsets(group, topic, &body))));
        match newest.get(topic) {
            Some(status) => output.parts.push((
                seconds_key(group, topic),
                Ok(lag_seconds::samples(id, group, topic, &body, status)),
            )),
            None => output.kept.push(seconds_key(group, topic)),
        }
        // Membership only matters while the group lags (a caught-up queue is OK).
        let has_members = match online.get(group) {
            Some(known) => *known,
            None if consumer_status::lags(&body) => {
                output.kept.push(status_key(group, topic));
                continue;
            }
            None => false,
        };
        let readings = consumer_status::readings(&body, now, has_members);
        let statuses = cx.health.observe(id, group, topic, readings, window);
        output.parts.push((
            status_key(group, topic),
            Ok(consumer_status::queue_samples(id, group, topic, &statuses)),
        ));
    }
}

/// Whether each lagging group has online consumers: read now, else as last read.
async fn read_members<'g>(
    cx: &Context<'_>,
    groups: BTreeSet<&'g str>,
    members: &Members,
    output: &mut Output,
) -> HashMap<&'g str, bool> {
    let id = cx.instance().id.as_str();
    let client = &cx.client;
    let answers = futures::future::join_all(
        groups
            .into_iter()
            .map(|group| async move { (group, client.rocketmq_group_clients(id, group).await) }),
    )
    .await;
    let mut cache = lock(members);
    let mut online = HashMap::new();
    for (group, answer) in answers {
        let key = (id.to_owned(), group.to_owned());
        match answer {
            Ok(clients) => {
                let has = consumer_status::has_members(&clients);
                cache.insert(key, has);
                online.insert(group, has);
            }
            Err(error) => {
                output.parts.push((format!("/clients/{group}"), Err(error)));
                if let Some(has) = cache.get(&key) {
                    online.insert(group, *has);
                }
            }
        }
    }
    online
}
