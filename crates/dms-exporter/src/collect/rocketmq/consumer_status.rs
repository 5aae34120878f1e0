//! RocketMQ queue and group status with the shared evaluator (`collect::health`): every
//! consumption read is one reading per queue (consumer offset, lag, online consumers), a queue
//! is keyed `broker/queue` in the health state. Membership comes from the group's clients,
//! read only when the group lags: a caught-up queue is OK whoever is online.

use dms_cloud::dto::rocketmq::{GroupClients, GroupTopics};

use super::lag;
use crate::collect::health::{GroupStatus, PartitionStatus, Reading};
use crate::metrics::{Sample, Samples};

/// Whether the group has online consumers.
pub fn has_members(clients: &GroupClients) -> bool {
    let count = clients.total.unwrap_or(clients.clients.len() as i64);
    clients.online.unwrap_or(false) || count > 0
}

/// Whether any queue of the answer lags, so that membership decides between STALL and STOP.
pub fn lags(consumption: &GroupTopics) -> bool {
    consumption
        .brokers
        .iter()
        .flat_map(|b| &b.queues)
        .any(|q| q.lag().is_some_and(|lag| lag > 0))
}

/// This cycle's reading of every queue that has an id, a consumer offset and a lag.
pub fn readings(
    consumption: &GroupTopics,
    time_ms: i64,
    has_members: bool,
) -> Vec<(String, Reading)> {
    consumption
        .brokers
        .iter()
        .flat_map(|broker| {
            broker.queues.iter().filter_map(move |queue| {
                let reading = Reading {
                    time_ms,
                    committed: queue.consumer_offset?,
                    lag: queue.lag()?,
                    has_members,
                };
                Some((format!("{}/{}", broker.broker_name, queue.id?), reading))
            })
        })
        .collect()
}

/// `dms_rocketmq_consumergroup_queue_status` of one (group, topic) from its queues' statuses.
pub fn queue_samples(
    id: &str,
    group: &str,
    topic: &str,
    statuses: &[(String, PartitionStatus)],
) -> Vec<Sample> {
    let mut samples = Samples::default();
    for (queue, status) in statuses {
        let Some((broker, queue)) = queue.rsplit_once('/') else {
            continue;
        };
        samples.push_state_set(
            &lag::ROCKETMQ_GROUP_QUEUE_STATUS,
            [id, group, topic, broker, queue],
            PartitionStatus::LABELS,
            status.label(),
        );
    }
    samples.into()
}

/// `dms_rocketmq_consumergroup_status`; no series before any queue has a status.
pub fn group_samples(id: &str, group: &str, status: Option<GroupStatus>) -> Vec<Sample> {
    let mut samples = Samples::default();
    if let Some(status) = status {
        samples.push_state_set(
            &lag::ROCKETMQ_GROUP_STATUS,
            [id, group],
            GroupStatus::LABELS,
            status.label(),
        );
    }
    samples.into()
}

#[cfg(test)]
mod tests {
    use dms_cloud::dto::rocketmq::{ConsumeBroker, ConsumeQueue};

    use super::*;
    use crate::collect::test_fixtures::{fixture, parse};

    fn consumption(queues: &[(i64, Option<i64>, Option<i64>)]) -> GroupTopics {
        GroupTopics {
            brokers: vec![ConsumeBroker {
                broker_name: "broker-0".into(),
                queues: queues
                    .iter()
                    .map(|&(id, consumer_offset, lag)| ConsumeQueue {
                        id: Some(id),
                        consumer_offset,
                        lag,
                        ..ConsumeQueue::default()
                    })
                    .collect(),
            }],
            ..GroupTopics::default()
        }
    }

    #[test]
    fn every_complete_queue_is_one_reading_keyed_by_broker_and_queue() {
        let body = consumption(&[
            (0, Some(10), Some(0)),
            (1, Some(7), Some(3)),
            (2, None, Some(1)),
        ]);
        let got = readings(&body, 5_000, true);
        let reading = |committed, lag| Reading {
            time_ms: 5_000,
            committed,
            lag,
            has_members: true,
        };
        assert_eq!(
            got,
            [
                ("broker-0/0".to_owned(), reading(10, 0)),
                ("broker-0/1".to_owned(), reading(7, 3)),
            ]
        );
        assert!(lags(&body));
        assert!(!lags(&consumption(&[(0, Some(10), Some(0))])));
    }

    #[test]
    fn the_examples_give_readings_and_membership() {
        // Every queue of the example has a consumer offset and a lag (all 0): one reading
        // each, keyed broker/queue; none lags, so membership would not be read.
        let body: GroupTopics = parse(&fixture("rocketmq/group_topics.json"));
        let reading = |committed| Reading {
            time_ms: 5_000,
            committed,
            lag: 0,
            has_members: false,
        };
        assert_eq!(
            readings(&body, 5_000, false),
            [
                ("broker-0/0".to_owned(), reading(0)),
                ("broker-0/1".to_owned(), reading(1)),
                ("broker-0/2".to_owned(), reading(0)),
            ]
        );
        assert!(!lags(&body));
        // The SDK example: online, one client.
        let clients: GroupClients = parse(&fixture("rocketmq/sdk_group_clients.json"));
        assert!(has_members(&clients));
        // A lag derived from the offsets counts as lag.
        let derived: GroupTopics = parse(
            r#"{"brokers": [{"broker_name": "broker-0", "queues": [{"id": 0, "broker_offset": "4", "consumer_offset": 1}]}]}"#,
        );
        assert!(lags(&derived));
    }

    #[test]
    fn membership_is_the_online_flag_or_a_client_count() {
        let clients = |online, total| GroupClients {
            online,
            total,
            ..GroupClients::default()
        };
        assert!(has_members(&clients(Some(true), Some(0))));
        assert!(has_members(&clients(None, Some(2))));
        assert!(!has_members(&clients(Some(false), Some(0))));
        assert!(!has_members(&clients(None, None)));
    }

    #[test]
    fn statuses_become_state_sets() {
        let samples = queue_samples(
            "i",
            "g",
            "t",
            &[("broker-1/2".to_owned(), PartitionStatus::Stall)],
        );
        let set: Vec<(&str, f64)> = samples
            .iter()
            .map(|s| (s.labels[5].as_str(), s.value))
            .collect();
        assert_eq!(
            set,
            [
                ("OK", 0.0),
                ("REWIND", 0.0),
                ("STALL", 1.0),
                ("STOP", 0.0),
                ("WARN", 0.0)
            ]
        );
        assert_eq!(samples[0].labels[..5], ["i", "g", "t", "broker-1", "2"]);
        assert!(group_samples("i", "g", None).is_empty());
        let group = group_samples("i", "g", Some(GroupStatus::Err));
        assert_eq!(group.len(), 3);
        assert!(group.iter().any(|s| s.labels[2] == "ERR" && s.value == 1.0));
    }
}
