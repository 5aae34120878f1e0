//! The collection engine at fleet scale, under paused time against the in-process simulator:
//! bounds, per-instance pacing, fairness between collectors, and isolation of a stalled call.

use std::collections::BTreeMap;
use std::time::Duration;

use dms_exporter::metrics::exposition::Format;
use dms_sim::{Fault, FaultRule, FleetSpec, SimConfig, Simulator};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::support::{in_process, series};

/// Every collector off but discovery and the ones named in `extra`.
fn only(extra: &str) -> String {
    let mut yaml = String::from("collectors:\n  jitter: 0\n");
    for collector in dms_exporter::collect::registry::descriptions()
        .iter()
        .map(|d| d.name)
    {
        if collector != "instances" && !extra.contains(&format!("  {collector}:")) {
            yaml.push_str(&format!("  {collector}: {{enabled: false}}\n"));
        }
    }
    yaml.push_str(extra);
    yaml
}

fn kafka_fleet(instances: usize, topics: usize, groups: usize) -> SimConfig {
    SimConfig {
        fleet: FleetSpec {
            kafka_instances: instances,
            rocketmq_instances: 0,
            rabbitmq_instances: 0,
            brokers_per_instance: 1,
            topics_per_instance: topics,
            partitions_per_topic: 1,
            groups_per_instance: groups,
            tasks_per_instance: 0,
        },
        ..SimConfig::deterministic()
    }
}

/// A self-metric's value for one collector, summed over projects.
fn collector_metric(exporter: &dms_exporter::app::Exporter, family: &str, collector: &str) -> f64 {
    let mut out = String::new();
    exporter.self_metrics.encode(Format::Text, &mut out);
    out.lines()
        .filter(|l| l.starts_with(&format!("{family}{{collector=\"{collector}\"")))
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
        .sum()
}

#[tokio::test(start_paused = true)]
async fn a_thousand_instances_are_read_within_the_budgets_bound() {
    let sim_config = kafka_fleet(1000, 1, 1);
    let sim = Simulator::new(sim_config.clone());
    let shutdown = CancellationToken::new();
    let rate = 100.0;
    let config = format!(
        "{}api:\n  rate_limit: {rate}\n  burst: 1\n  concurrency: 32\n",
        only("  kafka_groups: {interval: 30s}\n")
    );
    let start = Instant::now();
    let exporter = in_process(&sim, &sim_config, &config, &shutdown);
    exporter.readiness.wait().await;
    let elapsed = start.elapsed();
    let calls: u64 = sim.request_counts().values().sum();
    let bound = Duration::from_secs_f64(calls as f64 / rate);
    assert!(
        calls > 2000,
        "1,000 group lists and 1,000 details ({calls})"
    );
    assert!(
        elapsed <= bound.mul_f64(1.1),
        "first collection took {elapsed:?}, bound {bound:?} ({calls} calls at {rate}/s)"
    );
    // Ready means published: the first scrape after it sees everything.
    let groups = series(&exporter, "dms_kafka_consumergroup_members");
    assert_eq!(groups.len(), 1000, "every group of every instance");
    // The collector knows what it needs: about what it took.
    let expected = collector_metric(
        &exporter,
        "dms_collector_expected_cycle_seconds",
        "kafka_groups",
    );
    let took = collector_metric(&exporter, "dms_collector_duration_seconds", "kafka_groups");
    assert!(
        (expected - took).abs() <= 0.1 * took,
        "expected cycle {expected} s, took {took} s"
    );
    shutdown.cancel();
}

#[tokio::test(start_paused = true)]
async fn a_cycle_that_cannot_fit_its_interval_stretches_and_its_data_does_not_blink() {
    let sim_config = kafka_fleet(100, 1, 3);
    let sim = Simulator::new(sim_config.clone());
    let shutdown = CancellationToken::new();
    // 400 calls at 10/s need 40 s; the interval is 10 s and max_age 30 s.
    let config = format!(
        "{}api:\n  rate_limit: 10\n  burst: 1\n  concurrency: 8\n",
        only("  kafka_groups: {interval: 10s, max_age: 30s}\n")
    );
    let exporter = in_process(&sim, &sim_config, &config, &shutdown);
    exporter.readiness.wait().await;
    let expected = collector_metric(
        &exporter,
        "dms_collector_expected_cycle_seconds",
        "kafka_groups",
    );
    let mut all = String::new();
    exporter.self_metrics.encode(Format::Text, &mut all);
    assert!(expected >= 39.0, "expected cycle {expected} s\n{all}");
    let max_age = collector_metric(&exporter, "dms_collector_max_age_seconds", "kafka_groups");
    assert!(
        max_age >= 30.0 * expected / 10.0 * 0.99,
        "max_age follows the cycle: {max_age} s for a {expected} s cycle"
    );
    // Over several stretched cycles, every group's series stays.
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let groups = series(&exporter, "dms_kafka_consumergroup_members").len();
        assert_eq!(groups, 300, "a series blinked");
    }
    let late = collector_metric(&exporter, "dms_collector_lateness_seconds", "kafka_groups");
    assert!(late > 0.0, "the stretch shows as lateness ({late} s)");
    shutdown.cancel();
}

/// Topic-detail arrivals per instance, in order.
fn topic_detail_arrivals(sim: &Simulator) -> BTreeMap<String, Vec<(Instant, u16)>> {
    let mut arrivals: BTreeMap<String, Vec<(Instant, u16)>> = BTreeMap::new();
    for record in sim.request_log() {
        if record.endpoint == "kafka_topic_detail"
            && let Some(id) = record.instance_id
        {
            arrivals
                .entry(id)
                .or_default()
                .push((record.at, record.status));
        }
    }
    arrivals
}

#[tokio::test(start_paused = true)]
async fn topic_detail_pace_holds_across_cycles_and_retries() {
    let sim_config = SimConfig::deterministic();
    let sim = Simulator::new(sim_config.clone());
    // Server errors force retries in the middle of the sweeps.
    sim.set_fault(FaultRule {
        endpoint: "kafka_topic_detail".into(),
        instance_id: None,
        fault: Fault::ServerError(503),
        remaining: Some(4),
    });
    let shutdown = CancellationToken::new();
    // An interval shorter than one sweep (4 topics at 1/s): cycles follow each other closely.
    let config = format!(
        "{}api:\n  rate_limit: 100\n  burst: 20\n",
        only("  kafka_partitions: {interval: 2s}\n")
    );
    let exporter = in_process(&sim, &sim_config, &config, &shutdown);
    exporter.readiness.wait().await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    shutdown.cancel();
    let arrivals = topic_detail_arrivals(&sim);
    assert_eq!(arrivals.len(), sim.instance_ids_of("kafka").len());
    let retried = arrivals
        .values()
        .flatten()
        .filter(|(_, s)| *s == 503)
        .count();
    assert_eq!(retried, 4, "the retries happened");
    for (instance, calls) in &arrivals {
        assert!(
            calls.len() >= 40,
            "{instance}: {} calls in 60 s",
            calls.len()
        );
        assert!(
            calls.iter().all(|(_, status)| *status != 404),
            "{instance}: DMS.10240407 answered"
        );
        for pair in calls.windows(2) {
            assert!(
                pair[1].0 - pair[0].0 >= Duration::from_secs(1),
                "{instance}: arrivals {:?} apart",
                pair[1].0 - pair[0].0
            );
        }
    }
    // Instances proceed side by side: in 60 s each had its own ~55 calls.
    let counts: Vec<usize> = arrivals.values().map(Vec::len).collect();
    assert!(counts.iter().all(|c| *c >= 50), "{counts:?}");
}

#[tokio::test(start_paused = true)]
async fn a_long_sweep_does_not_starve_a_thirty_second_collector() {
    let sim_config = kafka_fleet(20, 30, 2);
    let sim = Simulator::new(sim_config.clone());
    let shutdown = CancellationToken::new();
    // The partitions sweep needs 20 × 31 calls; at 10/s that is over a minute of work, so it
    // runs back to back, and the 30-second groups collector must get its turns meanwhile.
    let config = format!(
        "{}api:\n  rate_limit: 10\n  burst: 1\n  concurrency: 8\n",
        only("  kafka_partitions: {interval: 60s}\n  kafka_groups: {interval: 30s}\n")
    );
    let exporter = in_process(&sim, &sim_config, &config, &shutdown);
    exporter.readiness.wait().await;
    let ready_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(150)).await;
    shutdown.cancel();
    let log = sim.request_log();
    let after_ready = |endpoint: &str| -> Vec<Instant> {
        log.iter()
            .filter(|r| r.endpoint == endpoint && r.at > ready_at)
            .map(|r| r.at)
            .collect()
    };
    let details = after_ready("kafka_topic_detail");
    let (first, last) = (
        details
            .iter()
            .min()
            .copied()
            .expect("a sweep ran after ready"),
        details
            .iter()
            .max()
            .copied()
            .expect("a sweep ran after ready"),
    );
    assert!(
        last - first >= Duration::from_secs(60),
        "a long sweep: {:?}",
        last - first
    );
    let during = after_ready("kafka_group")
        .into_iter()
        .filter(|at| *at >= first && *at <= last)
        .count();
    assert!(
        during >= 80,
        "two groups cycles (2 × 40 details) ran during the sweep: {during} group reads"
    );
    let cycle = collector_metric(&exporter, "dms_collector_duration_seconds", "kafka_groups");
    let expected = collector_metric(
        &exporter,
        "dms_collector_expected_cycle_seconds",
        "kafka_groups",
    );
    assert!(
        cycle <= expected * 1.1 + 1.0,
        "groups cycle {cycle} s against its share's bound {expected} s"
    );
}

#[tokio::test(start_paused = true)]
async fn second_rounds_wait_for_the_first_collection() {
    let sim_config = kafka_fleet(20, 30, 2);
    let sim = Simulator::new(sim_config.clone());
    let shutdown = CancellationToken::new();
    let config = format!(
        "{}api:\n  rate_limit: 10\n  burst: 1\n  concurrency: 8\n",
        only("  kafka_partitions: {interval: 300s}\n  kafka_groups: {interval: 10s}\n")
    );
    let start = Instant::now();
    let exporter = in_process(&sim, &sim_config, &config, &shutdown);
    exporter.readiness.wait().await;
    let elapsed = start.elapsed();
    let calls: u64 = sim.request_counts().values().sum();
    let bound = Duration::from_secs_f64(calls as f64 / 10.0);
    assert!(
        elapsed <= bound.mul_f64(1.1),
        "ready after {elapsed:?}; the first collection's {calls} calls need {bound:?}"
    );
    let ready_at = Instant::now();
    let group_lists = sim
        .request_log()
        .iter()
        .filter(|r| r.endpoint == "kafka_groups" && r.at < ready_at)
        .count();
    assert_eq!(group_lists, 20, "no second groups round before ready");
    // The groups data read first is still served at ready.
    assert_eq!(
        series(&exporter, "dms_kafka_consumergroup_members").len(),
        40
    );
    shutdown.cancel();
}

#[tokio::test(start_paused = true)]
async fn a_stalled_call_degrades_only_its_instance() {
    let sim_config = SimConfig::deterministic();
    let sim = Simulator::new(sim_config.clone());
    let shutdown = CancellationToken::new();
    let config = only("  kafka_groups: {interval: 10s}\n");
    let exporter = in_process(&sim, &sim_config, &config, &shutdown);
    exporter.readiness.wait().await;
    let ids = sim.instance_ids_of("kafka");
    let (stalled, healthy) = (&ids[0], &ids[1]);
    sim.set_fault(FaultRule {
        endpoint: "kafka_group".into(),
        instance_id: Some(stalled.clone()),
        fault: Fault::Stall,
        remaining: None,
    });
    let last_success = |id: &str| -> Option<f64> {
        series(
            &exporter,
            "dms_instance_collector_last_success_timestamp_seconds",
        )
        .iter()
        .find(|l| l.contains("kafka_groups") && l.contains(id))
        .and_then(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse().ok()))
    };
    tokio::time::sleep(Duration::from_secs(5)).await;
    let healthy_before = last_success(healthy);
    let stalled_before = last_success(stalled);
    for _ in 0..12 {
        sim.step();
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    let has_groups = |id: &str| {
        series(&exporter, "dms_kafka_consumergroup_members")
            .iter()
            .any(|l| l.contains(&format!("instance_id=\"{id}\"")))
    };
    assert!(has_groups(healthy), "the healthy instance's data stayed");
    assert!(!has_groups(stalled), "the stalled instance's data aged out");
    assert!(
        last_success(healthy) > healthy_before,
        "the healthy instance was read again"
    );
    assert_eq!(
        last_success(stalled),
        stalled_before,
        "the stalled one was not"
    );
    // Its rounds went on without it: more than 10 groups rounds in 120 s.
    let group_lists = sim
        .request_log()
        .iter()
        .filter(|r| r.endpoint == "kafka_groups" && r.instance_id.as_deref() == Some(healthy))
        .count();
    assert!(
        group_lists >= 10,
        "{group_lists} group lists of the healthy instance"
    );
    shutdown.cancel();
}

#[tokio::test(start_paused = true)]
async fn the_rate_converges_under_a_lower_gateway_limit() {
    // The gateway admits 20 requests per second; the exporter is configured for 40.
    let sim_config = SimConfig {
        rate_limit: Some(20),
        ..kafka_fleet(40, 1, 5)
    };
    let sim = Simulator::new(sim_config.clone());
    let shutdown = CancellationToken::new();
    let config = format!(
        "{}api:\n  rate_limit: 40\n  burst: 10\n  concurrency: 8\n",
        only("  kafka_groups: {interval: 10s}\n")
    );
    let exporter = in_process(&sim, &sim_config, &config, &shutdown);
    tokio::time::sleep(Duration::from_secs(240)).await;
    shutdown.cancel();
    let log = sim.request_log();
    let start = log.first().map(|r| r.at).expect("requests were made");
    let throttled: Vec<Duration> = log
        .iter()
        .filter(|r| r.status == 429)
        .map(|r| r.at - start)
        .collect();
    assert!(
        !throttled.is_empty(),
        "the gateway limit was reached at first"
    );
    // After two minutes the rate has settled under the limit and only probes it, ever more
    // rarely (`budget::aimd`): a handful of throttled answers, not a steady share.
    let late_throttled = throttled
        .iter()
        .filter(|at| **at >= Duration::from_secs(120))
        .count();
    let late_requests = log
        .iter()
        .filter(|r| r.at - start >= Duration::from_secs(120))
        .count();
    assert!(
        late_throttled * 100 <= late_requests,
        "after two minutes {late_throttled} of {late_requests} requests were throttled: {:?}",
        throttled
            .iter()
            .filter(|at| **at >= Duration::from_secs(120))
            .collect::<Vec<_>>()
    );
    let mut out = String::new();
    exporter.self_metrics.encode(Format::Text, &mut out);
    let rate: f64 = out
        .lines()
        .find(|l| l.starts_with("dms_api_effective_rate_limit{"))
        .and_then(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse().ok()))
        .expect("the effective rate is exported");
    assert!(
        (10.0..=20.0).contains(&rate),
        "settled below the gateway's 20/s: {rate}"
    );
    // And the budget was used: the last two minutes ran near the gateway's limit.
    let late = log
        .iter()
        .filter(|r| r.at - start >= Duration::from_secs(120))
        .count() as f64
        / 120.0;
    assert!(late >= 10.0, "{late} requests/s in the last two minutes");
}
