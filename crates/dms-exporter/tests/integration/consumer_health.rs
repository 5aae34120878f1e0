//! Consumer health against the simulator's truth, under paused time: lag in seconds by both
//! methods (interpolated, exact R15) against the produce times the simulator keeps, the
//! evaluated status after a stop, a rewind and stuck commits, and messages lost to retention.
//!
//! Timeline: the simulator steps at 5 s + 10 s·k, the groups collector reads at 30 s·k, so a
//! check 2 s after a read sees the simulator's clock exactly as that read saw it.

use std::sync::Arc;
use std::time::Duration;

use dms_cloud::Transport;
use dms_exporter::app::{CollectionInput, Exporter};
use dms_exporter::collect::health::ConsumerHealth;
use dms_sim::{SimConfig, Simulator};
use tokio_util::sync::CancellationToken;

use crate::support::{RouterTransport, config_for, credentials, series};

const CONFIG: &str = "collectors:
  jitter: 0
  instances: {interval: 1h}
  tags: {interval: 1h}
  tasks: {interval: 1h}
  kafka_cluster: {interval: 1h}
  kafka_disk_usage: {interval: 1h}
  kafka_topics: {interval: 60s}
  kafka_partitions: {interval: 60s}
  kafka_groups: {interval: 30s}
  rocketmq_brokers: {enabled: false}
  rocketmq_groups: {enabled: false}
  rocketmq_lag: {enabled: false}
  rocketmq_topics: {enabled: false}
  rocketmq_users: {enabled: false}
  rabbitmq_plugins: {enabled: false}
";

/// Groups interval of `CONFIG`, the documented bound of the interpolation's error.
const CYCLE_SECONDS: f64 = 30.0;

/// An exporter reading `sim` in-process whose health state runs on the simulator's clock.
pub(crate) async fn exporter(
    sim: &Simulator,
    sim_config: &SimConfig,
    extra: &str,
    shutdown: &CancellationToken,
) -> Exporter {
    let config = config_for(
        sim_config,
        "127.0.0.1:9".parse().expect("address"),
        &format!("{CONFIG}{extra}"),
    );
    let mut exporter = Exporter::new(shutdown.clone());
    let clock = sim.clone();
    exporter.health = Arc::new(ConsumerHealth::with_clock(Arc::new(move || clock.now_ms())));
    let transport: Arc<dyn Transport> = Arc::new(RouterTransport(sim.clone()));
    exporter
        .start_collection(CollectionInput {
            config,
            credentials: credentials(sim_config),
            transport,
            accounts: Vec::new(),
            env_project: None,
        })
        .await;
    exporter
}

/// The value of the series of `family` whose labels include every `key="value"` given.
fn value(exporter: &Exporter, family: &str, labels: &[(&str, &str)]) -> Option<f64> {
    series(exporter, family).iter().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let all = labels.iter().all(|(key, wanted)| {
            let needle = format!("{key}=\"{wanted}\"");
            series.match_indices(&needle).any(|(at, _)| {
                matches!(series.as_bytes().get(at + needle.len()), Some(b',' | b'}'))
            })
        });
        all.then(|| value.parse().ok()).flatten()
    })
}

/// The labels of one group partition's series.
fn partition_labels<'a>(
    id: &'a str,
    group: &'a str,
    topic: &'a str,
    partition: &'a str,
) -> [(&'static str, &'a str); 4] {
    [
        ("instance_id", id),
        ("group", group),
        ("topic", topic),
        ("partition", partition),
    ]
}

/// Sleeps until `at` seconds after `start` (paused time).
async fn until(start: tokio::time::Instant, at: u64) {
    tokio::time::sleep_until(start + Duration::from_secs(at)).await;
}

/// (topic, partition, committed) of a group, from the simulator.
fn partitions_of(sim: &Simulator, id: &str, group: &str) -> Vec<(String, u32, u64)> {
    sim.committed_offsets(id, group)
        .expect("the group exists")
        .into_iter()
        .map(|((topic, partition), committed)| (topic, partition, committed))
        .collect()
}

/// True lag in seconds of a committed offset: now minus the produce time of the message at it.
fn truth(sim: &Simulator, id: &str, topic: &str, partition: u32, committed: u64) -> Option<f64> {
    let produced = sim.produce_time_ms(id, topic, partition, committed)?;
    Some((sim.now_ms() - produced) as f64 / 1000.0)
}

/// (topic, partition, truth, interpolated − truth) of each partition of `group` whose
/// committed offset the simulator still has, after checking that the exact method matches
/// the truth.
fn against_truth(
    sim: &Simulator,
    interpolated: &Exporter,
    exact: &Exporter,
    id: &str,
    group: &str,
) -> Vec<(String, u32, f64, f64)> {
    let family = "dms_kafka_consumergroup_lag_seconds";
    let mut out = Vec::new();
    for (topic, partition, committed) in partitions_of(sim, id, group) {
        let Some(truth) = truth(sim, id, &topic, partition, committed) else {
            continue;
        };
        let p = partition.to_string();
        let labels = partition_labels(id, group, &topic, &p);
        let by_exact = value(exact, family, &labels).expect("an exact value");
        assert!(
            (by_exact - truth).abs() < 0.001,
            "{topic}/{partition}: exact {by_exact} s, truth {truth} s"
        );
        let by_interpolation = value(interpolated, family, &labels).expect("an estimate");
        out.push((topic, partition, truth, by_interpolation - truth));
    }
    out
}

fn partition_status(
    exporter: &Exporter,
    id: &str,
    group: &str,
    topic: &str,
    partition: u32,
) -> Option<String> {
    let p = partition.to_string();
    let labels = partition_labels(id, group, topic, &p);
    status(
        exporter,
        "dms_kafka_consumergroup_partition_status",
        &labels,
    )
}

fn status(exporter: &Exporter, family: &str, labels: &[(&str, &str)]) -> Option<String> {
    ["OK", "WARN", "STALL", "STOP", "REWIND", "ERR"]
        .into_iter()
        .find(|s| {
            let mut with = labels.to_vec();
            with.push(("status", s));
            value(exporter, family, &with) == Some(1.0)
        })
        .map(str::to_owned)
}

#[tokio::test(start_paused = true)]
async fn lag_seconds_status_and_losses_follow_the_simulators_truth() {
    // Two exporters read the same instances: the topic-detail limit would answer one of
    // them "too frequent".
    let sim_config = SimConfig {
        topic_detail_interval: Duration::ZERO,
        ..SimConfig::deterministic()
    };
    let sim = Simulator::new(sim_config.clone());
    let shutdown = CancellationToken::new();
    let start = tokio::time::Instant::now();
    let interpolated = exporter(&sim, &sim_config, "", &shutdown).await;
    let exact = exporter(
        &sim,
        &sim_config,
        "  kafka_exact_lag_calls_limit: 1000\n",
        &shutdown,
    )
    .await;
    let stepper = sim.clone();
    let evolution = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let mut every = tokio::time::interval(Duration::from_secs(10));
        loop {
            every.tick().await;
            stepper.step();
        }
    });

    let id = sim.instance_ids_of("kafka")[0].clone();
    // The deterministic fleet: groups 1 and 3 consume, group 2 is stopped.
    let state = sim.state_summary();
    let instance = state["instances"]
        .as_array()
        .and_then(|all| all.iter().find(|i| i["instance_id"] == id.as_str()))
        .expect("the instance in the state")
        .clone();
    let running: Vec<String> = instance["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|g| g["running"] == true)
        .filter_map(|g| g["group_id"].as_str().map(str::to_owned))
        .collect();
    let (stopped, rewound) = (running[0].clone(), running[1].clone());

    // Ten minutes of traffic build the log end histories; caught-up partitions read 0.
    let mut caught_up = 0;
    for cycle in 1..=20 {
        until(start, cycle * 30 + 2).await;
        for exporter in [&interpolated, &exact] {
            for line in series(exporter, "dms_kafka_consumergroup_lag") {
                let Some((labels, lag)) = line.rsplit_once(' ') else {
                    continue;
                };
                if lag != "0" {
                    continue;
                }
                let seconds = line.replacen(
                    "dms_kafka_consumergroup_lag{",
                    "dms_kafka_consumergroup_lag_seconds{",
                    1,
                );
                let seconds = seconds.rsplit_once(' ').map(|(l, _)| l.to_owned());
                let exported: Vec<String> = series(exporter, "dms_kafka_consumergroup_lag_seconds");
                let found = exported.iter().find(|l| {
                    Some(l.rsplit_once(' ').map_or("", |(s, _)| s)) == seconds.as_deref()
                });
                assert_eq!(
                    found.and_then(|l| l.rsplit_once(' ')).map(|(_, v)| v),
                    Some("0"),
                    "caught up ({labels}) must read exactly 0 s"
                );
                caught_up += 1;
            }
        }
    }
    assert!(caught_up > 0, "some partition was caught up at a reading");

    // t = 607: stop one group (its members leave), rewind the other by 500 messages with its
    // commits stuck (members stay).
    until(start, 607).await;
    let stop_ms = sim.now_ms();
    assert!(sim.set_consumer_running(&id, &stopped, false));
    assert!(sim.set_commits_paused(&id, &rewound, true));
    assert!(sim.rewind_group(&id, &rewound, 500));

    until(start, 632).await;
    for (topic, partition, _) in partitions_of(&sim, &id, &rewound) {
        assert_eq!(
            partition_status(&interpolated, &id, &rewound, &topic, partition).as_deref(),
            Some("REWIND"),
            "{topic}/{partition} went back"
        );
    }

    // Each cycle after the stop: both methods against the truth.
    let mut errors = Vec::new();
    for cycle in 22..=30 {
        until(start, cycle * 30 + 2).await;
        for (topic, partition, truth, error) in
            against_truth(&sim, &interpolated, &exact, &id, &stopped)
        {
            assert!(
                error.abs() <= CYCLE_SECONDS,
                "{topic}/{partition}: interpolated {error} s off a {truth} s lag"
            );
            errors.push(error);
        }
    }
    let stopped_for = (sim.now_ms() - stop_ms) as f64 / 1000.0;
    let max = errors.iter().fold(0.0_f64, |m, e| m.max(e.abs()));
    let mean = errors.iter().map(|e| e.abs()).sum::<f64>() / errors.len() as f64;
    eprintln!(
        "interpolated lag error vs truth, 30 s cycle, consumer stopped up to {stopped_for} s: {} samples, mean |error| {mean:.1} s, max {max:.1} s",
        errors.len()
    );
    assert!(!errors.is_empty());
    // Within the bound of the time it stopped for (the message after its last commit came
    // at most one 10 s step after the stop).
    for (topic, partition, _) in partitions_of(&sim, &id, &stopped) {
        let p = partition.to_string();
        let labels = partition_labels(&id, &stopped, &topic, &p);
        let seconds = value(
            &interpolated,
            "dms_kafka_consumergroup_lag_seconds",
            &labels,
        )
        .expect("an estimate");
        assert!(
            (seconds - stopped_for).abs() <= CYCLE_SECONDS + 10.0,
            "{topic}/{partition}: {seconds} s after a {stopped_for} s stop"
        );
        // Ten readings without members or commits: STOP.
        assert_eq!(
            partition_status(&interpolated, &id, &stopped, &topic, partition).as_deref(),
            Some("STOP")
        );
    }
    let group = [("instance_id", id.as_str()), ("group", stopped.as_str())];
    assert_eq!(
        status(&exact, "dms_kafka_consumergroup_status", &group).as_deref(),
        Some("ERR")
    );
    // The rewound group's commits stayed stuck with members: STALL once the rewind left the
    // window.
    let group = [("instance_id", id.as_str()), ("group", rewound.as_str())];
    assert_eq!(
        status(&interpolated, "dms_kafka_consumergroup_status", &group).as_deref(),
        Some("ERR")
    );
    let (topic, partition, _) = partitions_of(&sim, &id, &rewound)[0].clone();
    assert_eq!(
        partition_status(&interpolated, &id, &rewound, &topic, partition).as_deref(),
        Some("STALL")
    );
    let p = partition.to_string();
    let labels = partition_labels(&id, &rewound, &topic, &p);
    assert!(
        value(
            &interpolated,
            "dms_kafka_consumergroup_messages_lost",
            &labels
        )
        .is_none(),
        "no loss, no series"
    );

    // Retention overtakes the stopped group by 25 messages; the next partitions and groups
    // cycles report exactly that.
    until(start, 907).await;
    assert!(sim.overtake_group(&id, &stopped, 25));
    until(start, 1022).await;
    for (topic, partition, _) in partitions_of(&sim, &id, &stopped) {
        let p = partition.to_string();
        let labels = partition_labels(&id, &stopped, &topic, &p);
        for exporter in [&interpolated, &exact] {
            assert_eq!(
                value(exporter, "dms_kafka_consumergroup_messages_lost", &labels),
                Some(25.0),
                "{topic}/{partition}"
            );
        }
        let topic_labels = [
            ("instance_id", id.as_str()),
            ("group", stopped.as_str()),
            ("topic", topic.as_str()),
        ];
        let seconds = value(
            &interpolated,
            "dms_kafka_consumergroup_topic_lag_seconds",
            &topic_labels,
        )
        .expect("the topic's lag in seconds");
        let retention = value(
            &interpolated,
            "dms_kafka_topic_retention_seconds",
            &[("instance_id", id.as_str()), ("topic", topic.as_str())],
        )
        .expect("the topic's retention");
        let ratio = value(
            &interpolated,
            "dms_kafka_consumergroup_lag_retention_ratio",
            &topic_labels,
        )
        .expect("the ratio");
        assert!(
            (ratio - seconds / retention).abs() < 1e-9,
            "{ratio} vs {seconds}/{retention}"
        );
    }
    // Summed over the instance's groups.
    let methods = |exporter: &Exporter, method: &str| {
        let wanted = [
            format!("instance_id=\"{id}\""),
            format!("method=\"{method}\""),
        ];
        series(exporter, "dms_kafka_consumergroup_lag_seconds_values")
            .iter()
            .filter(|line| wanted.iter().all(|label| line.contains(label.as_str())))
            .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
            .sum::<f64>()
    };
    assert_eq!(methods(&interpolated, "exact"), 0.0);
    assert!(methods(&interpolated, "interpolated") > 0.0);
    assert!(methods(&exact, "exact") > 0.0);
    // The simulator's message values say "secret-payload-…": none reaches the metrics.
    let exposed = crate::support::snapshot_text(&exact);
    assert!(!exposed.contains("secret-payload"));

    // Half an hour later the rewound group's stuck offset lies in the thinned, older half of
    // the history: the points around it are further apart, and so is the error's bound.
    until(start, 2402).await;
    let late: Vec<(f64, f64)> = against_truth(&sim, &interpolated, &exact, &id, &rewound)
        .into_iter()
        .map(|(_, _, truth, error)| (truth, error))
        .collect();
    eprintln!("interpolated lag error vs truth after ~30 min stuck (truth, error): {late:?}");
    assert!(!late.is_empty());
    for (truth, error) in late {
        assert!(
            error.abs() <= 2.0 * CYCLE_SECONDS,
            "{error} s off a {truth} s lag"
        );
    }
    evolution.abort();
    shutdown.cancel();
}
