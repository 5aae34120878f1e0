//! The scheduler under paused time, against the simulator in-process.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dms_cloud::BudgetConfig;
use dms_exporter::collect::scheduler::Scheduler;
use dms_exporter::collect::store::Store;
use dms_exporter::collect::{
    Collector, Context, Description, Output, Priority, Scope, instances::Instances,
};
use dms_exporter::config::{CollectorsConfig, Engine, FiltersConfig};
use dms_exporter::metrics::self_metrics::{BuildInfo, SelfMetrics};
use dms_sim::{Fault, FaultRule, SimConfig, Simulator};
use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::support::{in_process, in_process_target, lock, series};

fn fault(
    endpoint: &str,
    instance_id: Option<&str>,
    fault: Fault,
    remaining: Option<u32>,
) -> FaultRule {
    FaultRule {
        endpoint: endpoint.to_owned(),
        instance_id: instance_id.map(str::to_owned),
        fault,
        remaining,
    }
}

fn value(line: &str) -> f64 {
    line.rsplit_once(' ')
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Start and end of each cycle, per instance.
type Runs = Arc<Mutex<BTreeMap<String, Vec<(Instant, Instant)>>>>;

/// Records when each instance's cycle ran, and takes longer than its interval.
struct Slow {
    runs: Runs,
}

/// Not registered, so it runs on the scheduler's fallback interval (60 s).
static SLOW: Description = Description {
    name: "slow",
    enabled_by_default: true,
    scope: Scope::Instance(None),
    priority: Priority::Normal,
    interval: Duration::from_secs(60),
    max_age: None,
    demo_interval: Duration::from_secs(60),
    options: &[],
    families: &[],
    apis: &[],
};

impl Collector for Slow {
    fn description(&self) -> &'static Description {
        &SLOW
    }
    fn wants(&self, _: &dms_exporter::collect::InstanceRef) -> bool {
        true
    }
    fn collect<'a>(
        &'a self,
        cx: &'a Context<'a>,
    ) -> BoxFuture<'a, Result<Output, dms_cloud::ApiError>> {
        async move {
            let started = Instant::now();
            tokio::time::sleep(Duration::from_secs(150)).await;
            let id = cx.instance().id.clone();
            lock(&self.runs)
                .entry(id)
                .or_default()
                .push((started, Instant::now()));
            Ok(Output::default())
        }
        .boxed()
    }
}

#[tokio::test(start_paused = true)]
async fn cycles_of_one_collector_never_overlap() {
    let sim_config = SimConfig::deterministic();
    let sim = Simulator::new(SimConfig::deterministic());
    let target = in_process_target(
        &sim,
        &sim_config,
        vec![Engine::Kafka],
        BudgetConfig {
            rate_per_second: 50.0,
            burst: 10,
            concurrency: 8,
        },
    );
    let runs = Arc::new(Mutex::new(BTreeMap::new()));
    let settings = CollectorsConfig {
        jitter: 0.0,
        ..CollectorsConfig::default()
    };
    let scheduler = Scheduler {
        collectors: vec![
            Arc::new(Instances::default()),
            Arc::new(Slow {
                runs: Arc::clone(&runs),
            }),
        ],
        settings: Arc::new(settings),
        filters: Arc::new(FiltersConfig::default()),
        store: Arc::new(Store::default()),
        metrics: Arc::new(SelfMetrics::new(BuildInfo::current())),
        health: Arc::default(),
    };
    let shutdown = CancellationToken::new();
    let (_tasks, _ready) = scheduler.spawn(vec![target], shutdown.clone());
    tokio::time::sleep(Duration::from_secs(1000)).await;
    shutdown.cancel();
    let runs = lock(&runs).clone();
    assert!(!runs.is_empty(), "the slow collector ran");
    for (instance, cycles) in runs {
        assert!(
            cycles.len() >= 5,
            "{instance}: {} cycles in 1000 s of 150 s cycles",
            cycles.len()
        );
        for pair in cycles.windows(2) {
            assert!(
                pair[1].0 >= pair[0].1,
                "{instance}: a cycle started before the previous one ended"
            );
        }
    }
}

const FAST: &str = "collectors:
  jitter: 0
  instances: {interval: 20s}
  tags: {interval: 60s}
  tasks: {interval: 60s}
  kafka_cluster: {interval: 10s, max_age: 30s}
  kafka_disk_usage: {interval: 60s}
  kafka_topics: {interval: 60s}
  kafka_partitions: {interval: 60s}
  kafka_groups: {interval: 10s}
api:
  rate_limit: 100
  burst: 20
";

/// The deterministic simulator in-process and an exporter reading it, after its first
/// complete refresh has been published.
async fn ready(
    config: &str,
) -> (
    Simulator,
    SimConfig,
    dms_exporter::app::Exporter,
    CancellationToken,
) {
    let sim_config = SimConfig::deterministic();
    let sim = Simulator::new(SimConfig::deterministic());
    let shutdown = CancellationToken::new();
    let exporter = in_process(&sim, &sim_config, config, &shutdown);
    exporter.readiness.wait().await;
    // The publisher folds results in after a short debounce.
    tokio::time::sleep(Duration::from_secs(1)).await;
    (sim, sim_config, exporter, shutdown)
}

#[tokio::test(start_paused = true)]
async fn last_good_data_is_served_until_max_age_then_expires() {
    let (sim, _, exporter, shutdown) = ready(FAST).await;
    let before = series(&exporter, "dms_kafka_cluster_partitions");
    assert_eq!(before.len(), sim.instance_ids_of("kafka").len());

    sim.set_fault(fault("kafka_cluster", None, Fault::ServerError(503), None));
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(
        series(&exporter, "dms_kafka_cluster_partitions"),
        before,
        "last good data still served"
    );
    let health = series(&exporter, "dms_instance_collector_up");
    assert!(
        health
            .iter()
            .filter(|l| l.contains("collector=\"kafka_cluster\""))
            .all(|l| value(l) == 0.0),
        "{health:?}"
    );

    tokio::time::sleep(Duration::from_secs(20)).await;
    assert!(
        series(&exporter, "dms_kafka_cluster_partitions").is_empty(),
        "data older than max_age expired"
    );
    assert!(
        !series(&exporter, "dms_kafka_consumergroup_lag").is_empty(),
        "other collectors unaffected"
    );
    shutdown.cancel();
}

#[tokio::test(start_paused = true)]
async fn vanished_groups_and_instances_disappear_and_new_ones_appear() {
    let (sim, sim_config, exporter, shutdown) = ready(FAST).await;
    let members = series(&exporter, "dms_kafka_consumergroup_members");
    let line = members.first().expect("a group").clone();
    let instance = line
        .split("instance_id=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("instance")
        .to_owned();
    let group = line
        .split("group=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("group")
        .to_owned();
    assert!(sim.delete_group(&instance, &group));
    tokio::time::sleep(Duration::from_secs(11)).await;
    let pattern = format!("group=\"{group}\"");
    assert!(
        !series(&exporter, "dms_kafka_consumergroup_members")
            .iter()
            .any(|l| l.contains(&instance) && l.contains(&pattern)),
        "deleted group still exported"
    );

    let project = &sim_config.projects[0].project_id;
    let created = sim.create_kafka_instance(project, "kafka-created-by-test");
    assert!(sim.delete_instance(&instance));
    tokio::time::sleep(Duration::from_secs(21)).await;
    let text = crate::support::snapshot_text(&exporter);
    assert!(
        !text.contains(&format!("instance_id=\"{instance}\"")),
        "deleted instance still exported"
    );
    assert!(
        text.contains(&format!("instance_id=\"{created}\"")),
        "new instance not discovered"
    );
    shutdown.cancel();
}

#[tokio::test(start_paused = true)]
async fn one_failing_instance_leaves_the_others_fresh() {
    let (sim, _, exporter, shutdown) = ready(FAST).await;
    let ids = sim.instance_ids_of("kafka");
    let (broken, healthy) = (&ids[0], &ids[1]);
    let lag_of = |id: &str| -> Vec<String> {
        series(&exporter, "dms_kafka_consumergroup_current_offset")
            .into_iter()
            .filter(|l| l.contains(&format!("instance_id=\"{id}\"")))
            .collect()
    };
    let broken_before = lag_of(broken);
    let healthy_before = lag_of(healthy);
    assert!(!broken_before.is_empty() && !healthy_before.is_empty());

    sim.set_fault(fault(
        "kafka_group",
        Some(broken),
        Fault::ServerError(500),
        None,
    ));
    for _ in 0..5 {
        sim.step();
    }
    // One groups cycle (every 10 s) with its retries of the failing details (about 7 s).
    tokio::time::sleep(Duration::from_secs(25)).await;
    assert_eq!(
        lag_of(broken),
        broken_before,
        "the failing instance keeps its last good data"
    );
    assert_ne!(
        lag_of(healthy),
        healthy_before,
        "the healthy instance moved on"
    );
    let up = series(&exporter, "dms_instance_collector_up");
    let up_of = |id: &str| {
        up.iter()
            .find(|l| l.contains("kafka_groups") && l.contains(id))
            .map(|l| value(l))
    };
    let failures = sim.request_log().iter().filter(|r| r.status == 500).count();
    assert!(failures > 0, "the fault fired ({:?})", sim.request_counts());
    assert_eq!(up_of(broken), Some(0.0), "{up:?}");
    assert_eq!(up_of(healthy), Some(1.0));
    shutdown.cancel();
}

#[tokio::test(start_paused = true)]
async fn throttling_slows_the_client_and_the_budget_holds() {
    let sim_config = SimConfig::deterministic();
    let sim = Simulator::new(SimConfig::deterministic());
    let shutdown = CancellationToken::new();
    let budget = FAST.replace("rate_limit: 100\n  burst: 20", "rate_limit: 5\n  burst: 1");
    sim.set_fault(fault("kafka_groups", None, Fault::Throttle429, Some(1)));
    let exporter = in_process(&sim, &sim_config, &budget, &shutdown);
    exporter.readiness.wait().await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    shutdown.cancel();
    let log = sim.request_log();
    let throttled = log
        .iter()
        .position(|r| r.status == 429)
        .expect("the fault fired");
    let after = &log[throttled + 1..];
    // The throttled call waits at least 2 s before its retry; the host goes on at a rate cut
    // to 70% (a pause of the whole host needs the gateway's Retry-After).
    let retry = after
        .iter()
        .find(|r| {
            r.endpoint == log[throttled].endpoint && r.instance_id == log[throttled].instance_id
        })
        .expect("the throttled call was retried");
    assert!(
        retry.at - log[throttled].at >= Duration::from_secs(2),
        "the retry came {:?} after the 429",
        retry.at - log[throttled].at
    );
    let next_five_seconds = after
        .iter()
        .take_while(|r| r.at - log[throttled].at < Duration::from_secs(5))
        .count();
    assert!(
        next_five_seconds <= 18,
        "{next_five_seconds} requests in the 5 s after the 429: faster than the cut rate (3.5/s)"
    );
    // No one-second window holds more than rate + burst requests.
    for (i, first) in log.iter().enumerate() {
        let in_window = log[i..]
            .iter()
            .take_while(|r| r.at - first.at < Duration::from_secs(1))
            .count();
        assert!(
            in_window <= 6,
            "{in_window} requests within one second from request {i}"
        );
    }
    assert!(
        log.len() > 50,
        "the test exercised the budget ({} requests)",
        log.len()
    );
}
