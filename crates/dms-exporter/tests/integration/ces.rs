//! Cloud Eye against the simulator, under paused time on the simulator's clock: late points
//! are exported once, in order, none lost; values equal the simulator's truth after unit
//! conversion; a deleted topic's series go; CES faults (throttling, a 403) touch only CES:
//! its own host's rate, its own series, never a DMS family.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use dms_cloud::Transport;
use dms_exporter::app::{CollectionInput, Exporter};
use dms_exporter::collect::health::ConsumerHealth;
use dms_exporter::config;
use dms_sim::{Fault, FaultRule, SimConfig, Simulator};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::support::{HostRouter, credentials, series, snapshot_text};

/// The simulator's clock moves with tokio's: one step every `TICK`, of `TICK`.
const TICK: Duration = Duration::from_secs(10);

/// Discovery and Cloud Eye only, every minute; the DMS host `dms`, Cloud Eye's host `ces`
/// (both the same simulator), so each has its own request scheduler.
fn yaml(sim: &SimConfig, ces_options: &str) -> String {
    let project = &sim.projects[0];
    let mut yaml = format!(
        "regions:\n  - name: {}\n    endpoint: http://dms\n    iam_endpoint: http://dms\n    ces_endpoint: http://ces\n    projects: [{}]\ncollectors:\n  jitter: 0\n",
        project.region, project.project_id
    );
    for description in dms_exporter::collect::registry::descriptions() {
        let on = matches!(description.name, "instances" | "kafka_cluster" | "ces");
        yaml.push_str(&format!(
            "  {}: {{enabled: {on}, interval: 60s}}\n",
            description.name
        ));
    }
    yaml.push_str(ces_options);
    yaml.push_str("api:\n  rate_limit: 50\n  burst: 20\n");
    yaml
}

struct World {
    sim: Simulator,
    exporter: Exporter,
    evolution: JoinHandle<()>,
    shutdown: CancellationToken,
}

/// A simulator of `ces` whose clock follows tokio's, and an exporter on that clock.
async fn world(mut sim_config: SimConfig, ces_options: &str) -> World {
    sim_config.tick = TICK;
    // Projects in one region are enough; the first one is read.
    let sim = Simulator::new(sim_config.clone());
    let evolution = sim.spawn_evolution(TICK);
    let router: Arc<dyn Transport> = Arc::new(HostRouter::new([("dms", &sim), ("ces", &sim)]));
    let config = config::parse_str(&yaml(&sim_config, ces_options), "(ces)")
        .unwrap_or_else(|e| panic!("{e}"));
    let shutdown = CancellationToken::new();
    let mut exporter = Exporter::new(shutdown.clone());
    let clock = sim.clone();
    exporter.health = Arc::new(ConsumerHealth::with_clock(Arc::new(move || clock.now_ms())));
    exporter
        .start_collection(CollectionInput {
            config,
            credentials: credentials(&sim_config),
            transport: router,
            accounts: Vec::new(),
            env_project: None,
        })
        .await;
    exporter.readiness.wait().await;
    World {
        sim,
        exporter,
        evolution,
        shutdown,
    }
}

/// The value of the one series of `family` whose labels include every `key="value"`.
fn value(exporter: &Exporter, family: &str, labels: &[(&str, &str)]) -> Option<f64> {
    series(exporter, family).iter().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        labels
            .iter()
            .all(|(k, v)| series.contains(&format!("{k}=\"{v}\"")))
            .then(|| value.parse().ok())
            .flatten()
    })
}

/// The first Kafka instance of the first project, with one of its topics and brokers.
fn kafka_instance(sim: &Simulator) -> (String, String) {
    let state = sim.state_summary();
    let project = sim.config().projects[0].project_id.as_str();
    let instance = state["instances"]
        .as_array()
        .and_then(|all| all.iter().find(|i| i["project_id"] == project))
        .cloned()
        .unwrap_or_default();
    let id = instance["instance_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let topic = instance["topics"]
        .as_array()
        .and_then(|topics| {
            topics
                .iter()
                .filter_map(|t| t.as_str())
                .find(|t| !t.starts_with('_'))
        })
        .unwrap_or_default()
        .to_owned();
    assert!(!id.is_empty() && !topic.is_empty(), "{state}");
    (id, topic)
}

#[tokio::test(start_paused = true)]
async fn late_points_are_exported_once_in_order_and_none_is_lost() {
    // Every point of every series arrives exactly this late.
    for late_minutes in [3u64, 10, 25] {
        let mut sim_config = SimConfig::deterministic();
        sim_config.ces.lateness_base = Duration::from_secs(late_minutes * 60);
        sim_config.ces.lateness_spread = Duration::ZERO;
        sim_config.ces.very_late_fraction = 0.0;
        sim_config.ces.empty_series_fraction = 0.0;
        let world = world(sim_config, "  ces_lateness_minutes: 30\n").await;
        let (instance, _) = kafka_instance(&world.sim);
        let level = [("instance_id", instance.as_str()), ("level", "broker")];
        let mut seen: Vec<f64> = Vec::new();
        for _ in 0..(late_minutes + 20) {
            tokio::time::sleep(Duration::from_secs(60)).await;
            if let Some(newest) = value(
                &world.exporter,
                "dms_ces_newest_point_timestamp_seconds",
                &level,
            ) && seen.last() != Some(&newest)
            {
                seen.push(newest);
            }
        }
        // Found at all (the first read reaches 30 minutes back), then one new minute per
        // cycle: in order, none skipped, none twice.
        assert!(seen.len() >= 15, "{late_minutes} min late: {seen:?}");
        for pair in seen.windows(2) {
            assert_eq!(
                pair[1] - pair[0],
                60.0,
                "{late_minutes} min late: a point skipped or out of order: {seen:?}"
            );
        }
        // The newest exported point is as late as the simulator makes it, no later.
        let now_s = world.sim.now_ms() as f64 / 1000.0;
        let age = now_s - seen.last().copied().unwrap_or_default();
        assert!(
            age >= (late_minutes * 60) as f64 && age <= ((late_minutes + 2) * 60) as f64,
            "{late_minutes} min late: newest point {age} s old"
        );
        world.evolution.abort();
        world.shutdown.cancel();
    }
}

/// A CES metric and its dimensions, the family and labels it is exported as, and the
/// divisor to the family's unit.
type Case<'a> = (
    &'a str,
    &'a [(&'a str, &'a str)],
    &'a str,
    &'a [(&'a str, &'a str)],
    f64,
);

#[tokio::test(start_paused = true)]
async fn values_equal_the_simulators_truth_after_unit_conversion() {
    let world = world(SimConfig::deterministic(), "").await;
    tokio::time::sleep(Duration::from_secs(15 * 60)).await;
    // Freeze the simulator's clock, then let a cycle read what is visible now.
    world.evolution.abort();
    tokio::time::sleep(Duration::from_secs(120)).await;
    let (instance, topic) = kafka_instance(&world.sim);
    let now = world.sim.now_ms();
    let truth = |metric: &str, dims: &[(&str, &str)]| -> Option<f64> {
        world
            .sim
            .ces_points(metric, dims)
            .into_iter()
            .filter(|p| p.visible_from.is_some_and(|at| at <= now))
            .max_by_key(|p| p.timestamp)
            .map(|p| p.value)
    };
    let cases: [Case<'_>; 4] = [
        (
            "broker_cpu_usage",
            &[
                ("kafka_instance_id", &instance),
                ("kafka_broker", "broker-1"),
            ],
            "dms_kafka_broker_cpu_usage_ratio",
            &[("instance_id", &instance), ("broker", "1")],
            100.0,
        ),
        (
            "broker_produce_mean",
            &[
                ("kafka_instance_id", &instance),
                ("kafka_broker", "broker-0"),
            ],
            "dms_kafka_broker_produce_latency_seconds",
            &[("instance_id", &instance), ("broker", "0")],
            1000.0,
        ),
        (
            "topic_messages_in_rate",
            &[("kafka_instance_id", &instance), ("kafka_topics", &topic)],
            "dms_kafka_topic_messages_in_per_second",
            &[("instance_id", &instance), ("topic", &topic)],
            1.0,
        ),
        (
            "broker_data_size",
            &[
                ("kafka_instance_id", &instance),
                ("kafka_broker", "broker-2"),
            ],
            "dms_kafka_broker_data_size_bytes",
            &[("instance_id", &instance), ("broker", "2")],
            1.0,
        ),
    ];
    let mut compared = 0;
    for (metric, dims, family, labels, divisor) in cases {
        let Some(expected) = truth(metric, dims) else {
            // One series in ten has no datapoints: then it must not be exported either.
            assert_eq!(value(&world.exporter, family, labels), None, "{metric}");
            continue;
        };
        assert_eq!(
            value(&world.exporter, family, labels),
            Some(expected / divisor),
            "{metric} {dims:?}"
        );
        compared += 1;
    }
    assert!(compared >= 3, "too few series had points to compare");
    world.shutdown.cancel();
}

#[tokio::test(start_paused = true)]
async fn a_deleted_topics_series_go_and_the_others_stay() {
    let world = world(SimConfig::deterministic(), "  ces_hierarchy_minutes: 1\n").await;
    tokio::time::sleep(Duration::from_secs(10 * 60)).await;
    let (instance, topic) = kafka_instance(&world.sim);
    let topic_series = |exporter: &Exporter| -> BTreeSet<String> {
        snapshot_text(exporter)
            .lines()
            .filter(|l| l.starts_with("dms_kafka_topic_") && l.contains(&instance))
            .filter_map(|l| l.rsplit_once(' ').map(|(s, _)| s.to_owned()))
            .collect()
    };
    let before = topic_series(&world.exporter);
    let mark = format!("topic=\"{topic}\"");
    assert!(before.iter().any(|s| s.contains(&mark)), "{before:#?}");
    assert!(world.sim.delete_topic(&instance, &topic));
    tokio::time::sleep(Duration::from_secs(3 * 60)).await;
    let after = topic_series(&world.exporter);
    assert!(!after.iter().any(|s| s.contains(&mark)), "{after:#?}");
    let others: BTreeSet<&String> = before.iter().filter(|s| !s.contains(&mark)).collect();
    assert!(!others.is_empty());
    for series in others {
        assert!(
            after.contains(series),
            "{series} went with the deleted topic"
        );
    }
    world.shutdown.cancel();
}

/// Every data series that is not Cloud Eye's, without its value.
fn dms_series(exporter: &Exporter) -> BTreeSet<String> {
    let ces: BTreeSet<&str> = dms_exporter::collect::ces::catalog::CES_FAMILIES
        .iter()
        .map(|f| f.name)
        .collect();
    snapshot_text(exporter)
        .lines()
        .filter(|l| l.starts_with("dms_") && !l.starts_with("dms_exporter_"))
        .filter(|l| !l.starts_with("dms_collector_") && !l.starts_with("dms_api_"))
        .filter(|l| !l.contains("collector=\"ces\""))
        .filter(|l| !ces.contains(l.split(['{', ' ']).next().unwrap_or_default()))
        .filter_map(|l| l.rsplit_once(' ').map(|(s, _)| s.to_owned()))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_forbidden_ces_ages_out_only_its_own_series_and_leaves_dms_untouched() {
    let world = world(SimConfig::deterministic(), "").await;
    tokio::time::sleep(Duration::from_secs(10 * 60)).await;
    let (instance, _) = kafka_instance(&world.sim);
    let cpu = [("instance_id", instance.as_str()), ("broker", "0")];
    assert!(value(&world.exporter, "dms_kafka_broker_cpu_usage_ratio", &cpu).is_some());
    let dms_before = dms_series(&world.exporter);
    world.sim.set_fault(FaultRule {
        endpoint: "ces".to_owned(),
        instance_id: None,
        fault: Fault::Forbidden,
        remaining: None,
    });
    // Ten minutes of 403s: longer than the CES max age (3 minutes).
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(
            dms_series(&world.exporter),
            dms_before,
            "a DMS series changed while Cloud Eye was forbidden"
        );
    }
    assert_eq!(
        value(&world.exporter, "dms_kafka_broker_cpu_usage_ratio", &cpu),
        None,
        "CES data outlived its max age"
    );
    assert_eq!(
        value(
            &world.exporter,
            "dms_instance_collector_up",
            &[("collector", "ces"), ("instance_id", &instance)]
        ),
        Some(0.0)
    );
    world.sim.clear_faults();
    tokio::time::sleep(Duration::from_secs(3 * 60)).await;
    assert!(
        value(&world.exporter, "dms_kafka_broker_cpu_usage_ratio", &cpu).is_some(),
        "CES data back after the fault"
    );
    world.shutdown.cancel();
}

#[tokio::test(start_paused = true)]
async fn ces_throttling_slows_only_the_ces_host() {
    let world = world(SimConfig::deterministic(), "").await;
    tokio::time::sleep(Duration::from_secs(5 * 60)).await;
    let rate = |host: &str| {
        world
            .exporter
            .budgets
            .statuses()
            .into_iter()
            .find(|s| s.host == host)
            .map_or(0.0, |s| s.effective_rate)
    };
    let dms_before = dms_series(&world.exporter);
    world.sim.set_fault(FaultRule {
        endpoint: "ces".to_owned(),
        instance_id: None,
        fault: Fault::CesThrottle,
        remaining: None,
    });
    let mut lowest_ces = f64::MAX;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_secs(5)).await;
        lowest_ces = lowest_ces.min(rate("ces"));
        assert_eq!(
            rate("dms"),
            50.0,
            "Cloud Eye's throttling cut the DMS host's rate"
        );
    }
    assert!(
        lowest_ces < 50.0,
        "the CES host's rate was not cut ({lowest_ces})"
    );
    assert_eq!(dms_series(&world.exporter), dms_before);
    world.shutdown.cancel();
}

/// Each Cloud Eye series' sample timestamp (text format, ms) in `body`, by series.
fn stamps(body: &str) -> Vec<(String, i64)> {
    let ces: BTreeSet<&str> = dms_exporter::collect::ces::catalog::CES_FAMILIES
        .iter()
        .map(|f| f.name)
        .collect();
    body.lines()
        .filter(|l| ces.contains(l.split(['{', ' ']).next().unwrap_or_default()))
        .filter(|l| !l.starts_with("dms_ces_"))
        .map(|l| {
            let mut tokens = l.rsplitn(3, ' ');
            let stamp = tokens.next().and_then(|t| t.parse().ok());
            let _value = tokens.next();
            let series = tokens.next().unwrap_or_default().to_owned();
            (series, stamp.unwrap_or_else(|| panic!("no timestamp: {l}")))
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn with_ces_timestamps_each_series_carries_its_minute_and_never_goes_back() {
    // Points late by 2 to 8 minutes, some far later, hierarchies re-read every minute.
    let mut sim_config = SimConfig::deterministic();
    sim_config.ces.lateness_base = Duration::from_secs(120);
    sim_config.ces.lateness_spread = Duration::from_secs(360);
    let world = world(
        sim_config,
        "  ces_timestamps: on\n  ces_hierarchy_minutes: 1\n",
    )
    .await;
    // The simulator's history starts with it: wait for its first points to arrive.
    tokio::time::sleep(Duration::from_secs(10 * 60)).await;
    let mut last: std::collections::BTreeMap<String, i64> = Default::default();
    let mut moved = 0;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_secs(60)).await;
        let snapshot = world.exporter.snapshot.load();
        let text = String::from_utf8_lossy(&snapshot.text.plain.to_bytes()).into_owned();
        let openmetrics =
            String::from_utf8_lossy(&snapshot.openmetrics.plain.to_bytes()).into_owned();
        let now_ms = world.sim.now_ms();
        let text_stamps = stamps(&text);
        assert!(!text_stamps.is_empty(), "no Cloud Eye series");
        for (series, stamp) in &text_stamps {
            // A minute's start, in the past, and never before what was already sent.
            assert_eq!(stamp % 60_000, 0, "{series} {stamp}");
            assert!(*stamp <= now_ms, "{series} stamped in the future");
            if let Some(previous) = last.insert(series.clone(), *stamp) {
                assert!(
                    *stamp >= previous,
                    "{series} went back: {previous} then {stamp}"
                );
                moved += usize::from(*stamp > previous);
            }
            // The same point in OpenMetrics, in seconds.
            let line = format!("{series} ");
            let om = openmetrics
                .lines()
                .find(|l| l.starts_with(&line))
                .unwrap_or_else(|| panic!("{series} missing from OpenMetrics"));
            assert!(
                om.ends_with(&format!(" {}", stamp / 1000)),
                "{om} is not stamped {} s",
                stamp / 1000
            );
        }
        // The stamps are the points' minutes: the newest of them is the newest point.
        let newest_point = text
            .lines()
            .filter(|l| l.starts_with("dms_ces_newest_point_timestamp_seconds"))
            .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
            .fold(0.0, f64::max);
        let newest_stamp = text_stamps
            .iter()
            .map(|(_, s)| *s)
            .max()
            .unwrap_or_default();
        assert_eq!(newest_stamp as f64 / 1000.0, newest_point);
        // The DMS families keep the scrape's time.
        for line in text
            .lines()
            .filter(|l| l.starts_with("dms_kafka_partition"))
        {
            assert_eq!(
                line.rsplitn(3, ' ').count(),
                2,
                "{line} carries a timestamp"
            );
        }
    }
    assert!(moved > 100, "the series' points hardly moved ({moved})");
    world.shutdown.cancel();
}
