//! One group's reading turned into samples: the partitions the filters let through, the
//! health state fed with them, then lag per partition and topic, lag in seconds (exact,
//! interpolated or none) with the method that found it, the evaluated status, and messages
//! lost to retention.

use std::collections::BTreeMap;

use dms_cloud::dto::kafka::GroupDetail;

use super::GROUP_STATES;
use crate::collect::health::Granularity;
use crate::collect::health::interpolation::LagSeconds;
use crate::collect::health::{ConsumerHealth, Reading, status};
use crate::collect::normalise_state;
use crate::collect::settings::FiltersConfig;
use crate::metrics::{Sample, Samples};

/// One partition of a group's detail, as read this cycle.
pub(super) struct PartitionRead<'a> {
    pub(super) topic: &'a str,
    pub(super) partition: i64,
    pub(super) label: String,
    pub(super) committed: Option<i64>,
    pub(super) end: Option<i64>,
    pub(super) lag: Option<i64>,
}

/// The partitions of a group detail the filters let through.
pub(super) fn partitions<'a>(
    detail: &'a GroupDetail,
    filters: &FiltersConfig,
) -> Vec<PartitionRead<'a>> {
    detail
        .group_message_offsets
        .iter()
        .filter(|offset| filters.topics.allows(&offset.topic))
        .filter_map(|offset| {
            let partition = offset.partition?;
            // Kafka's -1: nothing committed on the partition.
            let committed = offset.message_current_offset.filter(|c| *c >= 0);
            let end = offset.message_log_end_offset;
            Some(PartitionRead {
                topic: offset.topic.as_str(),
                partition,
                label: partition.to_string(),
                committed,
                end,
                // lag is documented as end - current; derive it when only the offsets came.
                // Without a committed offset there is no lag (as in Kafka's tools): where the
                // group starts depends on its consumers' reset policy.
                lag: committed.and(
                    offset
                        .lag
                        .or(committed.zip(end).map(|(c, e)| (e - c).max(0))),
                ),
            })
        })
        .collect()
}

/// Feeds one group's reading into the health state: log ends into the history, readings
/// into the status windows (topics and partitions no longer read are forgotten).
pub(super) fn observe(
    health: &ConsumerHealth,
    id: &str,
    detail: &GroupDetail,
    reads: &[PartitionRead<'_>],
    window: usize,
) {
    let now = health.now_ms();
    let group = detail.group_id.as_str();
    let has_members = !detail.members.is_empty();
    let mut per_topic: BTreeMap<&str, Vec<(String, Reading)>> = BTreeMap::new();
    for read in reads {
        if let Some(end) = read.end {
            health.record_log_end(id, read.topic, &read.label, end);
        }
        let readings = per_topic.entry(read.topic).or_default();
        if let (Some(committed), Some(lag)) = (read.committed, read.lag) {
            readings.push((
                read.label.clone(),
                Reading {
                    time_ms: now,
                    committed,
                    lag,
                    has_members,
                },
            ));
        }
    }
    for (topic, readings) in &per_topic {
        health.observe(id, group, topic, readings.iter().cloned(), window);
    }
    health.retain_topics(id, group, |topic| per_topic.contains_key(topic));
}

/// How many of a group's partitions had their lag in seconds found by each method.
pub(super) type MethodCounts = BTreeMap<&'static str, u32>;

pub(super) fn group_samples(
    id: &str,
    detail: &GroupDetail,
    reads: &[PartitionRead<'_>],
    health: &ConsumerHealth,
    granularity: Granularity,
) -> Vec<Sample> {
    let mut samples = Samples::default();
    let group = detail.group_id.as_str();
    let state = normalise_state(&detail.state);
    let state = if GROUP_STATES.contains(&state.as_str()) {
        state
    } else {
        "UNKNOWN".to_owned()
    };
    samples.push_state_set(&super::KAFKA_GROUP_STATE, [id, group], GROUP_STATES, &state);
    samples.push(
        &super::KAFKA_GROUP_MEMBERS,
        [id, group],
        detail.members.len() as f64,
    );
    let mut lag_per_topic: BTreeMap<&str, f64> = BTreeMap::new();
    // The largest lag in seconds per topic, `None` once a partition has no estimate (the
    // maximum of the others would understate it).
    let mut seconds_per_topic: BTreeMap<&str, Option<f64>> = BTreeMap::new();
    let mut methods = MethodCounts::new();
    for read in reads {
        let labels = [id, group, read.topic, read.label.as_str()];
        samples.push_some(&super::KAFKA_GROUP_LAG, labels, read.lag.map(|v| v as f64));
        samples.push_some(
            &super::KAFKA_GROUP_CURRENT_OFFSET,
            labels,
            read.committed.map(|v| v as f64),
        );
        samples.push_some(
            &super::KAFKA_GROUP_LOG_END_OFFSET,
            labels,
            read.end.map(|v| v as f64),
        );
        if let Some(lag) = read.lag {
            *lag_per_topic.entry(read.topic).or_default() += lag as f64;
        }
        let (Some(committed), Some(lag)) = (read.committed, read.lag) else {
            continue;
        };
        let (method, seconds) = lag_seconds(health, id, group, read, committed, lag);
        *methods.entry(method).or_default() += 1;
        samples.push_some(&super::KAFKA_GROUP_LAG_SECONDS, labels, seconds);
        let max = seconds_per_topic.entry(read.topic).or_insert(Some(0.0));
        *max = max.zip(seconds).map(|(a, b)| a.max(b));
        if let Some(log_start) = health.log_start(id, read.topic, &read.label)
            && committed < log_start
        {
            samples.push(
                &super::KAFKA_GROUP_MESSAGES_LOST,
                labels,
                (log_start - committed) as f64,
            );
        }
    }
    if !lag_per_topic.is_empty() {
        let total: f64 = lag_per_topic.values().sum();
        samples.push(&super::KAFKA_GROUP_TOTAL_LAG, [id, group], total);
    }
    for (topic, lag) in lag_per_topic {
        samples.push(&super::KAFKA_GROUP_TOPIC_LAG, [id, group, topic], lag);
    }
    // Like the topics' maxima, none while a partition has no estimate.
    let most_behind = seconds_per_topic
        .values()
        .try_fold(None, |max: Option<f64>, seconds| {
            seconds.map(|s| Some(max.map_or(s, |m| m.max(s))))
        })
        .flatten();
    samples.push_some(
        &super::KAFKA_GROUP_MAX_LAG_SECONDS,
        [id, group],
        most_behind,
    );
    for (topic, seconds) in seconds_per_topic {
        let Some(seconds) = seconds else { continue };
        let labels = [id, group, topic];
        samples.push(&super::KAFKA_GROUP_TOPIC_LAG_SECONDS, labels, seconds);
        // No ratio while caught up: nothing is at risk.
        if seconds > 0.0
            && let Some(retention) = health.retention_seconds(id, topic)
            && retention > 0.0
        {
            samples.push(
                &super::KAFKA_GROUP_LAG_RETENTION_RATIO,
                labels,
                seconds / retention,
            );
        }
    }
    // In the group's part, so a failed detail keeps (and expiry drops) the count together
    // with the series it counts.
    for (method, count) in methods {
        samples.push(
            &super::KAFKA_GROUP_LAG_SECONDS_VALUES,
            [id, group, method],
            f64::from(count),
        );
    }
    status_samples(&mut samples, health, id, group, reads);
    let mut samples: Vec<Sample> = samples.into();
    samples.retain(|sample| granularity.keeps(sample.family));
    samples
}

/// The partitions' and the group's evaluated status, from the windows `observe` fed.
pub(super) fn status_samples(
    samples: &mut Samples,
    health: &ConsumerHealth,
    id: &str,
    group: &str,
    reads: &[PartitionRead<'_>],
) {
    for read in reads {
        let Some(status) = health.partition_status(id, group, read.topic, &read.label) else {
            continue;
        };
        samples.push_state_set(
            &super::KAFKA_GROUP_PARTITION_STATUS,
            [id, group, read.topic, read.label.as_str()],
            status::PartitionStatus::LABELS,
            status.label(),
        );
    }
    if let Some(status) = health.group_status(id, group) {
        samples.push_state_set(
            &super::KAFKA_GROUP_STATUS,
            [id, group],
            status::GroupStatus::LABELS,
            status.label(),
        );
    }
}

/// A partition's lag in seconds and the method that found it: 0 when caught up, the exact
/// produce time when R15 gave it for this committed offset, else interpolation; no value
/// when the committed offset is older than the log end history (`beyond_history`: any
/// figure would be a guess, and the lag-in-seconds alert must not fire on one) or the
/// history cannot tell yet (`none`).
pub(super) fn lag_seconds(
    health: &ConsumerHealth,
    id: &str,
    group: &str,
    read: &PartitionRead<'_>,
    committed: i64,
    lag: i64,
) -> (&'static str, Option<f64>) {
    if lag <= 0 {
        return ("caught_up", Some(0.0));
    }
    if let Some(produced) = health.exact_produced_ms(id, group, read.topic, &read.label, committed)
    {
        let seconds = (health.now_ms() - produced) as f64 / 1000.0;
        return ("exact", Some(seconds.max(0.0)));
    }
    match health.interpolated_lag_seconds(id, read.topic, &read.label, committed, lag) {
        Some(LagSeconds::Seconds(seconds)) => ("interpolated", Some(seconds)),
        Some(LagSeconds::BeyondHistory) => ("beyond_history", None),
        None => ("none", None),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};

    use super::*;
    use crate::collect::health::PartitionFacts;
    use crate::collect::health::interpolation::Point;
    use crate::collect::test_fixtures::{fixture, lines, parse, state_set};
    use crate::metrics::catalog::Family;

    /// A group reading two topics: `t` with partitions 0 (behind) and 1 (caught up), `u` with
    /// partition 0 (behind).
    fn detail(committed: [i64; 3], end: [i64; 3]) -> GroupDetail {
        let offsets: Vec<serde_json::Value> = [("t", 0), ("t", 1), ("u", 0)]
            .iter()
            .enumerate()
            .map(|(i, (topic, partition))| {
                serde_json::json!({
                    "topic": topic, "partition": partition,
                    "message_current_offset": committed[i],
                    "message_log_end_offset": end[i],
                    "lag": end[i] - committed[i],
                })
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "group": {"group_id": "g", "state": "STABLE", "members": [{"member_id": "m"}],
                      "group_message_offsets": offsets}
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn find(samples: &[Sample], family: &Family, labels: &[&str]) -> Option<f64> {
        samples
            .iter()
            .find(|s| std::ptr::eq(s.family, family) && s.labels == labels)
            .map(|s| s.value)
    }

    /// Feeds one cycle at `now` and returns its samples.
    fn cycle(
        health: &ConsumerHealth,
        now: &AtomicI64,
        at: i64,
        detail: &GroupDetail,
    ) -> Vec<Sample> {
        now.store(at, Ordering::Relaxed);
        let filters = FiltersConfig::default();
        let reads = partitions(detail, &filters);
        observe(health, "i", detail, &reads, 10);
        group_samples("i", detail, &reads, health, Granularity::Partition)
    }

    /// The group's count of partitions whose lag in seconds `method` found.
    fn method_count(samples: &[Sample], method: &str) -> Option<f64> {
        find(
            samples,
            &super::super::KAFKA_GROUP_LAG_SECONDS_VALUES,
            &["i", "g", method],
        )
    }

    #[test]
    fn lag_seconds_losses_and_ratio_from_the_health_state() {
        let now = Arc::new(AtomicI64::new(0));
        let clock = Arc::clone(&now);
        let health = ConsumerHealth::with_clock(Arc::new(move || clock.load(Ordering::Relaxed)));
        // The partitions and topics cycles: `t/0` starts at offset 150, `t` keeps 1000 s.
        health.record_topic_partitions(
            "i",
            "t",
            [(
                "0".to_owned(),
                PartitionFacts {
                    log_start: Some(150),
                    last_write: None,
                },
            )],
        );
        health.record_retention("i", [("t".to_owned(), 1_000_000)]);

        // First cycle: one point per partition, no estimate for the lagging ones.
        let samples = cycle(&health, &now, 10_000, &detail([100, 50, 10], [200, 50, 20]));
        let t0 = ["i", "g", "t", "0"];
        assert_eq!(
            find(&samples, &super::super::KAFKA_GROUP_LAG_SECONDS, &t0),
            None
        );
        assert_eq!(
            find(
                &samples,
                &super::super::KAFKA_GROUP_LAG_SECONDS,
                &["i", "g", "t", "1"]
            ),
            Some(0.0),
            "caught up is exactly 0"
        );
        assert_eq!(
            find(
                &samples,
                &super::super::KAFKA_GROUP_TOPIC_LAG_SECONDS,
                &["i", "g", "t"]
            ),
            None,
            "a partition without an estimate hides the topic's maximum"
        );
        assert_eq!(method_count(&samples, "none"), Some(2.0));
        assert_eq!(method_count(&samples, "caught_up"), Some(1.0));
        assert_eq!(
            method_count(&samples, "interpolated"),
            None,
            "no series for 0"
        );
        assert_eq!(
            find(&samples, &super::super::KAFKA_GROUP_MESSAGES_LOST, &t0),
            Some(50.0),
            "log start 150, committed 100"
        );

        // Second cycle 10 s later. u/0: the last write reached 20 at 5 s (still 20 at 10 s),
        // 30 at 20 s: the committed 25 was the log end at 15 s.
        health.record_topic_partitions(
            "i",
            "u",
            [(
                "0".to_owned(),
                PartitionFacts {
                    log_start: Some(0),
                    last_write: Some(Point {
                        offset: 20,
                        time_ms: 5_000,
                    }),
                },
            )],
        );
        let samples = cycle(&health, &now, 20_000, &detail([100, 60, 25], [300, 60, 30]));
        let u0 = ["i", "g", "u", "0"];
        assert_eq!(
            find(&samples, &super::super::KAFKA_GROUP_LAG_SECONDS, &u0),
            Some(5.0)
        );
        // t/0: the log end was 200 at 10 s, its oldest point: the committed 100 is older
        // than the history, so any figure would be a guess (it extrapolated to 20 s). No
        // value, and none for the topic, so no alert fires on it.
        assert_eq!(
            find(&samples, &super::super::KAFKA_GROUP_LAG_SECONDS, &t0),
            None
        );
        assert_eq!(
            find(
                &samples,
                &super::super::KAFKA_GROUP_TOPIC_LAG_SECONDS,
                &["i", "g", "t"]
            ),
            None
        );
        assert_eq!(method_count(&samples, "beyond_history"), Some(1.0));
        assert_eq!(
            method_count(&samples, "interpolated"),
            Some(1.0),
            "u/0 only"
        );
        assert!(
            find(
                &samples,
                &super::super::KAFKA_GROUP_LAG_RETENTION_RATIO,
                &["i", "g", "u"]
            )
            .is_none(),
            "no retention known for u"
        );

        // Third cycle: t/0's group moved into its history (200 at 10 s, 300 at 20 s).
        let samples = cycle(&health, &now, 30_000, &detail([250, 60, 25], [400, 60, 40]));
        assert_eq!(
            find(&samples, &super::super::KAFKA_GROUP_LAG_SECONDS, &t0),
            Some(15.0)
        );
        assert_eq!(
            find(
                &samples,
                &super::super::KAFKA_GROUP_TOPIC_LAG_SECONDS,
                &["i", "g", "t"]
            ),
            Some(15.0)
        );
        assert_eq!(
            find(
                &samples,
                &super::super::KAFKA_GROUP_LAG_RETENTION_RATIO,
                &["i", "g", "t"]
            ),
            Some(0.015)
        );
        assert_eq!(method_count(&samples, "interpolated"), Some(2.0));
        assert_eq!(method_count(&samples, "beyond_history"), None);
        let status = |labels: &[&str]| find(&samples, &super::super::KAFKA_GROUP_STATUS, labels);
        assert_eq!(
            status(&["i", "g", "OK"]),
            Some(1.0),
            "not enough readings for more"
        );
    }

    #[test]
    fn a_group_detail_becomes_its_series_at_each_granularity() {
        let group = r#"instance_id="i-1",group="test-consumer-group""#;
        let line = |family: &str, labels: &str, value: &str| {
            if labels.is_empty() {
                format!("{family}{{{group}}} {value}")
            } else {
                format!("{family}{{{group},{labels}}} {value}")
            }
        };
        let state = state_set(
            &format!("dms_kafka_consumergroup_state{{{group}"),
            "state",
            GROUP_STATES,
            "STABLE",
        );
        let members = vec![line("dms_kafka_consumergroup_members", "", "1")];
        // Per partition in the example's order: lag, committed offset, log end offset; a
        // caught-up partition's lag in seconds is exactly 0, a lagging one has no estimate
        // while the health state has no log end history.
        let partition = |topic: &str, partition: &str, [lag, committed, end]: [&str; 3]| {
            let labels = format!(r#"topic="{topic}",partition="{partition}""#);
            let mut out = vec![
                line("dms_kafka_consumergroup_lag", &labels, lag),
                line("dms_kafka_consumergroup_current_offset", &labels, committed),
                line("dms_kafka_consumergroup_log_end_offset", &labels, end),
            ];
            if lag == "0" {
                out.push(line("dms_kafka_consumergroup_lag_seconds", &labels, "0"));
            }
            out
        };
        let per_partition = [
            partition("test", "0", ["31396", "935", "32331"]),
            partition("aaaa", "0", ["0", "0", "0"]),
            partition("test", "1", ["31279", "1058", "32337"]),
            partition("aaaa", "1", ["0", "0", "0"]),
            partition("test", "2", ["31603", "739", "32342"]),
        ]
        .concat();
        // 31396 + 31279 + 31603; no maximum lag in seconds while a partition has none.
        let total = vec![line("dms_kafka_consumergroup_total_lag", "", "94278")];
        let per_topic = vec![
            line("dms_kafka_consumergroup_topic_lag", r#"topic="aaaa""#, "0"),
            line(
                "dms_kafka_consumergroup_topic_lag",
                r#"topic="test""#,
                "94278",
            ),
            line(
                "dms_kafka_consumergroup_topic_lag_seconds",
                r#"topic="aaaa""#,
                "0",
            ),
        ];
        let methods = vec![
            line(
                "dms_kafka_consumergroup_lag_seconds_values",
                r#"method="caught_up""#,
                "2",
            ),
            line(
                "dms_kafka_consumergroup_lag_seconds_values",
                r#"method="none""#,
                "3",
            ),
        ];
        let everything = FiltersConfig::default();
        let no_aaaa: FiltersConfig = parse(r#"{"topics": {"exclude": "aaaa"}}"#);
        // (response, filters, granularity, expected lines in order)
        let table = [
            (
                fixture("kafka/R8_group.json"),
                &everything,
                Granularity::Partition,
                [
                    &state[..],
                    &members,
                    &per_partition,
                    &total,
                    &per_topic,
                    &methods,
                ]
                .concat(),
            ),
            (
                fixture("kafka/R8_group.json"),
                &everything,
                Granularity::Topic,
                [&state[..], &members, &total, &per_topic, &methods].concat(),
            ),
            (
                fixture("kafka/R8_group.json"),
                &everything,
                Granularity::Group,
                [&state[..], &members, &total, &methods].concat(),
            ),
            // A filtered topic's partitions count nowhere.
            (
                fixture("kafka/R8_group.json"),
                &no_aaaa,
                Granularity::Topic,
                [
                    &state[..],
                    &members,
                    &total,
                    &[line(
                        "dms_kafka_consumergroup_topic_lag",
                        r#"topic="test""#,
                        "94278",
                    )],
                    &[line(
                        "dms_kafka_consumergroup_lag_seconds_values",
                        r#"method="none""#,
                        "3",
                    )],
                ]
                .concat(),
            ),
        ];
        for (body, filters, granularity, expected) in table {
            let detail: GroupDetail = parse(&body);
            let health = ConsumerHealth::default();
            let reads = partitions(&detail, filters);
            let samples = group_samples("i-1", &detail, &reads, &health, granularity);
            assert_eq!(lines(&samples), expected, "{granularity:?}: {body}");
        }
    }

    #[test]
    fn a_sparse_group_detail_derives_what_it_can() {
        // An unknown state; no members; offsets as strings and lag derived from them (8 - 5);
        // a partition without a number is skipped; one without a committed offset (absent, or
        // Kafka's -1) has no lag, even where the API sends one, and adds nothing to the sums.
        let body = r#"{"group": {"group_id": "g", "state": "Rebalancing", "members": null, "group_message_offsets": [
            {"topic": "t", "partition": "0", "message_current_offset": "5", "message_log_end_offset": 8},
            {"topic": "t", "message_current_offset": 1},
            {"topic": "u", "partition": 0, "message_log_end_offset": 4, "lag": 4},
            {"topic": "v", "partition": 0, "message_current_offset": -1, "message_log_end_offset": 6, "lag": 7}]}}"#;
        let mut expected = state_set(
            r#"dms_kafka_consumergroup_state{instance_id="i-1",group="g""#,
            "state",
            GROUP_STATES,
            "UNKNOWN",
        );
        expected.extend(
            [
                r#"dms_kafka_consumergroup_members{instance_id="i-1",group="g"} 0"#,
                r#"dms_kafka_consumergroup_lag{instance_id="i-1",group="g",topic="t",partition="0"} 3"#,
                r#"dms_kafka_consumergroup_current_offset{instance_id="i-1",group="g",topic="t",partition="0"} 5"#,
                r#"dms_kafka_consumergroup_log_end_offset{instance_id="i-1",group="g",topic="t",partition="0"} 8"#,
                r#"dms_kafka_consumergroup_log_end_offset{instance_id="i-1",group="g",topic="u",partition="0"} 4"#,
                r#"dms_kafka_consumergroup_log_end_offset{instance_id="i-1",group="g",topic="v",partition="0"} 6"#,
                r#"dms_kafka_consumergroup_total_lag{instance_id="i-1",group="g"} 3"#,
                r#"dms_kafka_consumergroup_topic_lag{instance_id="i-1",group="g",topic="t"} 3"#,
                r#"dms_kafka_consumergroup_lag_seconds_values{instance_id="i-1",group="g",method="none"} 1"#,
            ]
            .map(str::to_owned),
        );
        let detail: GroupDetail = parse(body);
        let health = ConsumerHealth::default();
        let filters = FiltersConfig::default();
        let reads = partitions(&detail, &filters);
        let samples = group_samples("i-1", &detail, &reads, &health, Granularity::Partition);
        assert_eq!(lines(&samples), expected, "{body}");
    }
}
