//! `dms_kafka_consumergroup_lag_seconds_values{method}` counts the lag-in-seconds series
//! actually served: when a group's detail fails and its series are kept as last good data,
//! they are still counted (the count once fell to 0 while they were served).

use std::collections::BTreeMap;
use std::time::Duration;

use dms_exporter::app::Exporter;
use dms_sim::{Fault, FaultRule, SimConfig, Simulator};
use tokio_util::sync::CancellationToken;

use crate::consumer_health::exporter;
use crate::support::series;

/// Methods whose partitions have a `dms_kafka_consumergroup_lag_seconds` series.
const SERVED: [&str; 3] = ["caught_up", "exact", "interpolated"];

/// Methods whose partitions have none.
const UNSERVED: [&str; 2] = ["beyond_history", "none"];

/// The value of label `key` in a sample line.
fn label<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let needle = format!("{key}=\"");
    let (at, _) = line.match_indices(&needle).find(|(at, _)| {
        at.checked_sub(1)
            .map(|i| &line[i..=i])
            .is_some_and(|c| c == "{" || c == ",")
    })?;
    let rest = &line[at + needle.len()..];
    rest.split_once('"').map(|(value, _)| value)
}

/// Series of `family` per instance.
fn per_instance(exporter: &Exporter, family: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in series(exporter, family) {
        if let Some(id) = label(&line, "instance_id") {
            *out.entry(id.to_owned()).or_default() += 1.0;
        }
    }
    out
}

/// The counts per instance, summed over `methods` (and over groups, if labelled so).
fn counted(exporter: &Exporter, methods: &[&str]) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in series(exporter, "dms_kafka_consumergroup_lag_seconds_values") {
        let (Some(id), Some(method)) = (label(&line, "instance_id"), label(&line, "method")) else {
            continue;
        };
        let value: f64 = line
            .rsplit_once(' ')
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(f64::NAN);
        let entry = out.entry(id.to_owned()).or_default();
        if methods.contains(&method) {
            *entry += value;
        }
    }
    out
}

/// Every instance's served lag-in-seconds series are counted under a served method, and
/// every partition with a lag under some method.
fn assert_counts_match(exporter: &Exporter, when: &str) {
    let served = per_instance(exporter, "dms_kafka_consumergroup_lag_seconds");
    let counted_served = counted(exporter, &SERVED);
    for (id, series) in &served {
        assert_eq!(
            counted_served.get(id).copied().unwrap_or(0.0),
            *series,
            "{when}: {id} serves {series} lag-in-seconds series"
        );
    }
    let lags = per_instance(exporter, "dms_kafka_consumergroup_lag");
    let all_methods = counted(exporter, &[&SERVED[..], &UNSERVED[..]].concat());
    for (id, partitions) in &lags {
        assert_eq!(
            all_methods.get(id).copied().unwrap_or(0.0),
            *partitions,
            "{when}: {id} serves the lag of {partitions} partitions"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_count_follows_the_series_kept_when_a_group_detail_is_denied() {
    let sim_config = SimConfig::deterministic();
    let sim = Simulator::new(sim_config.clone());
    let shutdown = CancellationToken::new();
    let start = tokio::time::Instant::now();
    let exporter = exporter(&sim, &sim_config, "", &shutdown).await;
    let stepper = sim.clone();
    let evolution = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let mut every = tokio::time::interval(Duration::from_secs(10));
        loop {
            every.tick().await;
            stepper.step();
        }
    });
    // Five minutes of readings: partitions have interpolated values.
    tokio::time::sleep_until(start + Duration::from_secs(302)).await;
    assert_counts_match(&exporter, "before the fault");
    let id = sim.instance_ids_of("kafka")[0].clone();
    let kept = per_instance(&exporter, "dms_kafka_consumergroup_lag_seconds")
        .get(&id)
        .copied()
        .unwrap_or(0.0);
    assert!(kept > 0.0, "{id} serves lag in seconds");

    // Every group detail of the instance is denied: its series stay as last good data for
    // max_age (3 × 30 s), and so must their count.
    sim.set_fault(FaultRule {
        endpoint: "kafka_group".to_owned(),
        instance_id: Some(id.clone()),
        fault: Fault::Forbidden,
        remaining: None,
    });
    tokio::time::sleep_until(start + Duration::from_secs(362)).await;
    assert_eq!(
        per_instance(&exporter, "dms_kafka_consumergroup_lag_seconds").get(&id),
        Some(&kept),
        "the denied groups' series are kept"
    );
    assert_counts_match(&exporter, "while the group details are denied");

    // Past max_age they go, counts with them.
    tokio::time::sleep_until(start + Duration::from_secs(482)).await;
    assert_eq!(
        per_instance(&exporter, "dms_kafka_consumergroup_lag_seconds").get(&id),
        None
    );
    assert_counts_match(&exporter, "after the kept series expired");
    evolution.abort();
    shutdown.cancel();
}
