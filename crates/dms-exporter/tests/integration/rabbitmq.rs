//! RabbitMQ end to end under paused time: the exporter's plugin series follow the simulator,
//! a stopped plugin shows as enabled but not running, a failing plugin list keeps the last good
//! data, and a region without the V2 instance list is read through V1.

use std::time::Duration;

use dms_exporter::app::Exporter;
use dms_sim::{Fault, FaultRule, SimConfig, Simulator};
use tokio_util::sync::CancellationToken;

use crate::support::{in_process, series};

const FAST: &str = "collectors:
  jitter: 0
  instances: {interval: 10s}
  rabbitmq_plugins: {interval: 5s}
";

fn value(line: &str) -> f64 {
    line.rsplit_once(' ')
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(f64::NAN)
}

/// The value of the one series of `family` whose labels contain every `needle`.
fn one(exporter: &Exporter, family: &str, needles: &[&str]) -> Option<f64> {
    let found: Vec<String> = series(exporter, family)
        .into_iter()
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .collect();
    assert!(found.len() <= 1, "{found:?}");
    found.first().map(|l| value(l))
}

async fn start(sim: &Simulator) -> (Exporter, CancellationToken) {
    let shutdown = CancellationToken::new();
    let exporter = in_process(sim, &SimConfig::deterministic(), FAST, &shutdown);
    exporter.readiness.wait().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    (exporter, shutdown)
}

/// The deterministic fleet's RabbitMQ instance (a cluster: vhosts `/`, `/staging`, `billing`).
pub(crate) fn rabbit(sim: &Simulator) -> String {
    sim.instance_ids_of("rabbitmq")
        .into_iter()
        .next()
        .expect("a RabbitMQ instance")
}

#[tokio::test(start_paused = true)]
async fn plugin_series_follow_the_simulator() {
    let sim = Simulator::new(SimConfig::deterministic());
    let (exporter, shutdown) = start(&sim).await;
    let id = rabbit(&sim);
    let state = sim.state_summary();
    let plugins = state["rabbitmq"][0]["plugins"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(plugins.len() >= 3);
    for plugin in &plugins {
        let name = plugin["name"].as_str().unwrap_or_default();
        let labels = [
            format!("instance_id=\"{id}\""),
            format!("plugin=\"{name}\""),
        ];
        let needles: Vec<&str> = labels.iter().map(String::as_str).collect();
        let flag = |key: &str| if plugin[key] == true { 1.0 } else { 0.0 };
        assert_eq!(
            one(&exporter, "dms_rabbitmq_plugin_enabled", &needles),
            Some(flag("enable")),
            "{name}"
        );
        assert_eq!(
            one(&exporter, "dms_rabbitmq_plugin_running", &needles),
            Some(flag("running")),
            "{name}"
        );
    }
    assert_eq!(
        series(&exporter, "dms_rabbitmq_plugin_info").len(),
        plugins.len()
    );
    // Only RabbitMQ instances are asked for plugins.
    let kafka = sim.instance_ids_of("kafka");
    assert!(
        series(&exporter, "dms_rabbitmq_plugin_enabled")
            .iter()
            .all(|l| kafka.iter().all(|k| !l.contains(k.as_str())))
    );
    shutdown.cancel();
}

#[tokio::test(start_paused = true)]
async fn a_stopped_plugin_is_enabled_but_not_running() {
    let sim = Simulator::new(SimConfig::deterministic());
    let (exporter, shutdown) = start(&sim).await;
    let id = rabbit(&sim);
    let shovel = [
        format!("instance_id=\"{id}\""),
        "plugin=\"rabbitmq_shovel\"".to_owned(),
    ];
    let needles: Vec<&str> = shovel.iter().map(String::as_str).collect();
    assert_eq!(
        one(&exporter, "dms_rabbitmq_plugin_running", &needles),
        Some(1.0)
    );
    assert!(sim.set_plugin_running(&id, "rabbitmq_shovel", false));
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(
        one(&exporter, "dms_rabbitmq_plugin_enabled", &needles),
        Some(1.0)
    );
    assert_eq!(
        one(&exporter, "dms_rabbitmq_plugin_running", &needles),
        Some(0.0)
    );
    shutdown.cancel();
}

#[tokio::test(start_paused = true)]
async fn a_failing_plugin_list_keeps_the_last_good_data() {
    let sim = Simulator::new(SimConfig::deterministic());
    let (exporter, shutdown) = start(&sim).await;
    let before = series(&exporter, "dms_rabbitmq_plugin_running");
    assert!(!before.is_empty());
    sim.set_fault(FaultRule {
        endpoint: "rabbitmq_plugins".to_owned(),
        instance_id: None,
        fault: Fault::ServerError(503),
        remaining: None,
    });
    // A stop during the outage must not show: the data is the last good one. Retries of the
    // 503 take jittered time, so poll for the failure rather than sleep a fixed time.
    sim.set_plugin_running(&rabbit(&sim), "rabbitmq_shovel", false);
    let up = || {
        one(
            &exporter,
            "dms_instance_collector_up",
            &["collector=\"rabbitmq_plugins\""],
        )
    };
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(series(&exporter, "dms_rabbitmq_plugin_running"), before);
        if up() == Some(0.0) {
            break;
        }
    }
    assert_eq!(up(), Some(0.0), "the failure is reported");
    // Past max_age (3 × 5 s) the data goes, never replaced by zeros.
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = series(&exporter, "dms_rabbitmq_plugin_running");
        if now.is_empty() {
            break;
        }
        assert_eq!(now, before);
    }
    assert!(series(&exporter, "dms_rabbitmq_plugin_running").is_empty());
    shutdown.cancel();
}

#[tokio::test(start_paused = true)]
async fn without_the_v2_list_instances_are_read_through_v1() {
    let sim = Simulator::new(SimConfig::deterministic());
    sim.set_fault(FaultRule {
        endpoint: "instances_list".to_owned(),
        instance_id: None,
        fault: Fault::NotFound,
        remaining: None,
    });
    let (exporter, shutdown) = start(&sim).await;
    let id = rabbit(&sim);
    let needles = [
        "engine=\"rabbitmq\"".to_owned(),
        format!("instance_id=\"{id}\""),
    ];
    let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
    // V1 sends the window as HH:mm; the label is the V2 HH:mm:ss.
    let window = series(&exporter, "dms_instance_maintenance_window_info");
    assert!(
        window.iter().any(|l| needles.iter().all(|n| l.contains(n))
            && l.contains("begin=\"22:00:00\",end=\"02:00:00\"")),
        "{window:?}"
    );
    assert_eq!(
        one(
            &exporter,
            "dms_instance_status",
            &[needles[0], needles[1], "status=\"RUNNING\""]
        ),
        Some(1.0)
    );
    // Plugins are read per instance, whatever API listed it.
    assert!(!series(&exporter, "dms_rabbitmq_plugin_running").is_empty());
    let counts = sim.request_counts();
    assert!(
        counts.get("instances_list_v1").copied().unwrap_or(0) >= 1,
        "{counts:?}"
    );
    shutdown.cancel();
}
