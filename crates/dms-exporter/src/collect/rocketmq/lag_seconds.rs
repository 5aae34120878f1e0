//! Lag in time from the API's own clocks: per queue, the store time of the newest message
//! (topic status) minus the store time of the group's last consumed message (the group's
//! consumption detail); the topic's value is the largest over its queues. Both times come
//! from the brokers, so the exporter's clock plays no part. It measures how old the backlog's
//! newest message is relative to the group's position: it stops growing when producers stop,
//! as the backlog no longer ages relative to them.

use std::collections::HashMap;

use dms_cloud::dto::rocketmq::{GroupTopics, TopicStatus};

use super::lag;
use crate::metrics::{Sample, Samples};

/// Store time of the newest message per (broker, queue id), epoch ms.
fn newest_per_queue(status: &TopicStatus) -> HashMap<(&str, i64), i64> {
    status
        .brokers
        .iter()
        .flat_map(|b| {
            b.queues.iter().filter_map(move |q| {
                let time = q.last_message_time.filter(|ms| *ms > 0)?;
                Some(((b.broker_name.as_str(), q.id?), time))
            })
        })
        .collect()
}

/// One queue's lag in seconds: 0 when caught up; `None` while the group has consumed
/// nothing or the queue's newest time is unknown.
fn queue_lag_seconds(
    lag: Option<i64>,
    consumed_ms: Option<i64>,
    newest_ms: Option<i64>,
) -> Option<f64> {
    if lag? <= 0 {
        return Some(0.0);
    }
    let consumed = consumed_ms.filter(|ms| *ms > 0)?;
    // The two reads are a moment apart: a newest time older than the consumed one is 0.
    Some((newest_ms? - consumed).max(0) as f64 / 1000.0)
}

/// `dms_rocketmq_consumergroup_lag_seconds` per queue and `…_topic_lag_seconds` (the
/// largest) of one (group, topic) pair.
pub fn samples(
    id: &str,
    group: &str,
    topic: &str,
    consumption: &GroupTopics,
    status: &TopicStatus,
) -> Vec<Sample> {
    let newest = newest_per_queue(status);
    let mut samples = Samples::default();
    let mut topic_max: Option<f64> = None;
    for broker in &consumption.brokers {
        for queue in &broker.queues {
            let Some(queue_id) = queue.id else {
                continue;
            };
            let seconds = queue_lag_seconds(
                queue.lag(),
                queue.last_message_time,
                newest
                    .get(&(broker.broker_name.as_str(), queue_id))
                    .copied(),
            );
            let Some(seconds) = seconds else {
                continue;
            };
            topic_max = Some(topic_max.map_or(seconds, |max| max.max(seconds)));
            let queue_id = queue_id.to_string();
            samples.push(
                &lag::ROCKETMQ_GROUP_LAG_SECONDS,
                [id, group, topic, broker.broker_name.as_str(), &queue_id],
                seconds,
            );
        }
    }
    samples.push_some(
        &lag::ROCKETMQ_GROUP_TOPIC_LAG_SECONDS,
        [id, group, topic],
        topic_max,
    );
    samples.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::test_fixtures::{fixture, lines, parse};
    use dms_cloud::dto::rocketmq::{ConsumeBroker, ConsumeQueue, StatusBroker, StatusQueue};

    #[test]
    fn a_pair_s_lag_in_seconds_from_the_examples() {
        // (consumption, topic status, expected lines in order)
        let table = [
            // Every queue of the example is caught up: 0, whatever the times say.
            (
                fixture("rocketmq/group_topics.json"),
                fixture("rocketmq/topic_status_array.json"),
                vec![
                    r#"dms_rocketmq_consumergroup_lag_seconds{instance_id="i-1",group="g",topic="t",broker="broker-0",queue="0"} 0"#,
                    r#"dms_rocketmq_consumergroup_lag_seconds{instance_id="i-1",group="g",topic="t",broker="broker-0",queue="1"} 0"#,
                    r#"dms_rocketmq_consumergroup_lag_seconds{instance_id="i-1",group="g",topic="t",broker="broker-0",queue="2"} 0"#,
                    r#"dms_rocketmq_consumergroup_topic_lag_seconds{instance_id="i-1",group="g",topic="t"} 0"#,
                ],
            ),
            // Queue 0 consumed up to a message stored 7 s before the example's newest
            // (1662689877152 ms); queue 5 is not in the status: no series.
            (
                r#"{"brokers": [{"broker_name": "broker-0", "queues": [{"id": 0, "lag": "2", "last_message_time": "1662689870152"}, {"id": 5, "lag": 1, "last_message_time": 1}]}]}"#.to_owned(),
                fixture("rocketmq/topic_status.json"),
                vec![
                    r#"dms_rocketmq_consumergroup_lag_seconds{instance_id="i-1",group="g",topic="t",broker="broker-0",queue="0"} 7"#,
                    r#"dms_rocketmq_consumergroup_topic_lag_seconds{instance_id="i-1",group="g",topic="t"} 7"#,
                ],
            ),
            // Lag (derived, 2) but nothing consumed yet (time 0): no estimate, no series.
            (
                r#"{"brokers": [{"broker_name": "broker-0", "queues": [{"id": 0, "broker_offset": 2, "consumer_offset": 0, "last_message_time": 0}]}]}"#.to_owned(),
                fixture("rocketmq/topic_status.json"),
                vec![],
            ),
        ];
        for (consumption, status, expected) in table {
            let consumption_dto: GroupTopics = parse(&consumption);
            let status_dto: TopicStatus = parse(&status);
            assert_eq!(
                lines(samples("i-1", "g", "t", &consumption_dto, &status_dto)),
                expected,
                "{consumption} against {status}"
            );
        }
    }

    #[test]
    fn a_queue_lags_by_the_difference_of_store_times() {
        let cases = [
            // (lag, consumed ms, newest ms) → seconds
            (Some(0), Some(1_000), Some(9_000), Some(0.0)),
            (Some(0), Some(0), None, Some(0.0)),
            (Some(5), Some(1_000), Some(61_500), Some(60.5)),
            // Read a moment apart: never negative.
            (Some(5), Some(9_000), Some(8_000), Some(0.0)),
            // Nothing consumed yet, or no newest time: unknown.
            (Some(5), Some(0), Some(8_000), None),
            (Some(5), None, Some(8_000), None),
            (Some(5), Some(1_000), None, None),
            (None, Some(1_000), Some(8_000), None),
        ];
        for (lag, consumed, newest, expected) in cases {
            assert_eq!(
                queue_lag_seconds(lag, consumed, newest),
                expected,
                "{lag:?} {consumed:?} {newest:?}"
            );
        }
    }

    #[test]
    fn the_topic_takes_the_largest_queue() {
        // (lag, consumed ms) per queue of broker-0, then broker-1's one queue.
        let consume = |queues: &[(i64, i64)]| -> Vec<ConsumeQueue> {
            queues
                .iter()
                .enumerate()
                .map(|(id, &(lag, consumed))| ConsumeQueue {
                    id: Some(id as i64),
                    lag: Some(lag),
                    last_message_time: Some(consumed),
                    ..ConsumeQueue::default()
                })
                .collect()
        };
        let newest = |times: &[i64]| -> Vec<StatusQueue> {
            times
                .iter()
                .enumerate()
                .map(|(id, &ms)| StatusQueue {
                    id: Some(id as i64),
                    last_message_time: Some(ms),
                    ..StatusQueue::default()
                })
                .collect()
        };
        let consumption = GroupTopics {
            brokers: vec![
                ConsumeBroker {
                    broker_name: "broker-0".into(),
                    // Caught up; 30 s behind; nothing consumed yet (no series).
                    queues: consume(&[(0, 5_000), (3, 2_000), (3, 0)]),
                },
                ConsumeBroker {
                    broker_name: "broker-1".into(),
                    queues: consume(&[(1, 4_000)]),
                },
            ],
            ..GroupTopics::default()
        };
        let status = TopicStatus {
            brokers: vec![
                StatusBroker {
                    broker_name: "broker-0".into(),
                    queues: newest(&[5_000, 32_000, 7_000]),
                },
                StatusBroker {
                    broker_name: "broker-1".into(),
                    queues: newest(&[14_000]),
                },
            ],
        };
        let out = samples("i", "g", "t", &consumption, &status);
        let values: Vec<(String, f64)> = out
            .iter()
            .map(|s| (format!("{}{:?}", s.family.name, s.labels), s.value))
            .collect();
        let queue = "dms_rocketmq_consumergroup_lag_seconds";
        assert_eq!(
            values,
            [
                (
                    format!("{queue}{:?}", ["i", "g", "t", "broker-0", "0"]),
                    0.0
                ),
                (
                    format!("{queue}{:?}", ["i", "g", "t", "broker-0", "1"]),
                    30.0
                ),
                (
                    format!("{queue}{:?}", ["i", "g", "t", "broker-1", "0"]),
                    10.0
                ),
                (
                    format!(
                        "dms_rocketmq_consumergroup_topic_lag_seconds{:?}",
                        ["i", "g", "t"]
                    ),
                    30.0
                ),
            ]
        );
    }
}
