//! The consumer-health faults of the end-to-end test (lag in seconds, evaluated status, lost
//! messages, lag against retention), for Kafka and RocketMQ, and their clearing. The groups the
//! main test already stopped before Prometheus started become STOP (status ERR) once the
//! status window has passed; a second group of each engine is stopped and rewound to its
//! oldest retained message, so that it is far behind in time at once (for Kafka, older than
//! the exporter's log end history: the exact method the demo turns on dates it, interpolation
//! would leave it without a value); retention overtakes the stopped Kafka group, and the topic
//! the rewound Kafka group is furthest behind on gets a retention of little more than that lag.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::{Expected, Stack, wait_for, wait_for_alerts};

/// What the faults changed, to undo it, and the alerts they raise.
pub(super) struct Faults {
    pub expected: Vec<Expected>,
    undo: Vec<(Method, String, Value)>,
}

fn expected(name: &'static str, labels: Vec<(&'static str, String)>, fault: &str) -> Expected {
    Expected {
        name,
        labels,
        fault: fault.to_owned(),
    }
}

/// A group of the summary's instance other than `taken`: Kafka groups are a list of objects
/// with `group_id`, RocketMQ groups an object keyed by name (with the topics they consume).
fn other_group(instance: &Value, taken: &str) -> String {
    let groups = &instance["groups"];
    let names: Vec<String> = match groups {
        Value::Array(list) => list
            .iter()
            .filter_map(|g| g["group_id"].as_str().map(str::to_owned))
            .collect(),
        Value::Object(map) => map
            .iter()
            .filter(|(_, g)| g["topics"].as_array().is_some_and(|t| !t.is_empty()))
            .map(|(name, _)| name.clone())
            .collect(),
        _ => Vec::new(),
    };
    names
        .into_iter()
        .find(|name| name != taken)
        .unwrap_or_else(|| panic!("a second consumer group besides {taken}: {instance}"))
}

/// Stops a group and rewinds it to its oldest retained message; undone by restarting it.
async fn stop_and_rewind(
    stack: &Stack,
    id: &str,
    group: &str,
    undo: &mut Vec<(Method, String, Value)>,
) {
    let consumer = format!("/_sim/instances/{id}/groups/{group}/consumer");
    stack
        .control(Method::PUT, &consumer, Some(json!({"running": false})))
        .await;
    stack
        .control(
            Method::POST,
            &format!("/_sim/instances/{id}/groups/{group}/rewind"),
            Some(json!({"messages": u64::MAX})),
        )
        .await;
    undo.push((Method::PUT, consumer, json!({"running": true})));
}

/// Before Prometheus has data (the lag windows then only see the fault): stops and rewinds a
/// second group of the Kafka instance `kafka` (whose `kafka_group` is stopped already) and of
/// the RocketMQ instance `rocket` (whose `rocket_group` is stopped already).
pub(super) async fn before_scraping(
    stack: &Stack,
    kafka: &Value,
    kafka_group: &str,
    rocket: &Value,
    rocket_group: &str,
) -> Faults {
    let kafka_id = kafka["instance_id"].as_str().expect("id").to_owned();
    let rocket_id = rocket["instance_id"].as_str().expect("id").to_owned();
    let rewound_kafka = other_group(kafka, kafka_group);
    let rewound_rocket = other_group(rocket, rocket_group);
    let mut undo = Vec::new();
    stop_and_rewind(stack, &kafka_id, &rewound_kafka, &mut undo).await;
    stop_and_rewind(stack, &rocket_id, &rewound_rocket, &mut undo).await;
    let on =
        |id: &str, group: &str| vec![("instance_id", id.to_owned()), ("group", group.to_owned())];
    Faults {
        expected: vec![
            expected(
                "DmsKafkaConsumerGroupStatusError",
                on(&kafka_id, kafka_group),
                "Kafka consumer stopped (STOP)",
            ),
            expected(
                "DmsKafkaConsumerLagSecondsHigh",
                on(&kafka_id, &rewound_kafka),
                "Kafka group stopped and rewound",
            ),
            expected(
                "DmsRocketMqConsumerGroupStatusError",
                on(&rocket_id, rocket_group),
                "RocketMQ consumer stopped (STOP)",
            ),
            expected(
                "DmsRocketMqConsumerLagSecondsHigh",
                on(&rocket_id, &rewound_rocket),
                "RocketMQ group stopped and rewound",
            ),
        ],
        undo,
    }
}

/// Once Prometheus has data: retention overtakes the stopped Kafka group by 10 messages, and
/// the topic the rewound Kafka group is furthest behind on gets a retention under 1.25 × that
/// lag (whole hours, at least one); returns once every consumer-health alert is active.
pub(super) async fn while_scraping(
    stack: &Stack,
    faults: &mut Faults,
    kafka_id: &str,
    kafka_group: &str,
) {
    stack
        .control(
            Method::POST,
            &format!("/_sim/instances/{kafka_id}/groups/{kafka_group}/overtake"),
            Some(json!({"messages": 10})),
        )
        .await;
    faults.expected.push(expected(
        "DmsKafkaConsumerMessagesLost",
        vec![
            ("instance_id", kafka_id.to_owned()),
            ("group", kafka_group.to_owned()),
        ],
        "retention overtook the stopped Kafka group",
    ));
    let rewound = faults
        .expected
        .iter()
        .find(|e| e.name == "DmsKafkaConsumerLagSecondsHigh")
        .and_then(|e| e.labels.iter().find(|(k, _)| *k == "group"))
        .map(|(_, g)| g.clone())
        .expect("the rewound Kafka group");
    let query = format!(
        "max by (topic) (dms_kafka_consumergroup_topic_lag_seconds{{instance_id=\"{kafka_id}\",group=\"{rewound}\"}})"
    );
    let furthest = || async {
        let result = stack.query(&query).await?;
        Ok::<_, String>(
            result
                .iter()
                .filter_map(|s| {
                    let topic = s["metric"]["topic"].as_str()?.to_owned();
                    let seconds = s["value"][1].as_str()?.parse::<f64>().ok()?;
                    Some((topic, seconds))
                })
                .max_by(|a, b| a.1.total_cmp(&b.1)),
        )
    };
    // Over 300 s, and far enough into an hour that a retention of whole hours puts it over
    // 80%: the exact reads date the rewound partitions a few per cycle (the furthest behind
    // of the fleet first), so the topic's maximum grows to its oldest message's age.
    let over_80_percent_of_whole_hours = |seconds: f64| {
        let hours = ((seconds / 3600.0).floor()).max(1.0);
        seconds > 300.0 && seconds / (hours * 3600.0) > 0.8
    };
    wait_for(
        "the rewound Kafka group is dated over 300 s behind",
        Duration::from_secs(90),
        || async {
            match furthest().await? {
                Some((_, seconds)) if over_80_percent_of_whole_hours(seconds) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    let furthest = furthest().await.ok().flatten();
    let (topic, seconds) = furthest.expect("a topic");
    let hours = ((seconds / 3600.0).floor() as u64).max(1);
    assert!(
        seconds / (hours as f64 * 3600.0) > 0.8,
        "the rewound group is only {seconds} s behind on {topic}: no retention of whole hours \
         puts it over 80%"
    );
    let retention = format!("/_sim/instances/{kafka_id}/topics/{topic}/retention");
    stack
        .control(Method::PUT, &retention, Some(json!({"hours": hours})))
        .await;
    faults
        .undo
        .push((Method::PUT, retention, json!({"hours": 72})));
    faults.expected.push(expected(
        "DmsKafkaConsumerLagNearRetention",
        vec![("instance_id", kafka_id.to_owned()), ("group", rewound)],
        "retention of the rewound group's topic cut",
    ));
    // The statuses need a whole window of readings: wait for these alerts before the main
    // test's faults start, so that data it holds back (a failing collector's, kept for
    // max_age) is still there when the dashboards are checked.
    wait_for_alerts(stack, &faults.expected, true, Duration::from_secs(120)).await;
}

/// Undoes the faults (the main test restarts the groups it stopped itself).
pub(super) async fn clear(stack: &Stack, faults: &Faults) {
    for (method, path, body) in &faults.undo {
        stack
            .control(method.clone(), path, Some(body.clone()))
            .await;
    }
}
