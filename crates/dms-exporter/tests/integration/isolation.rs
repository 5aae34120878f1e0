//! Fault isolation under paused time, one defect per test: the V1 instance-list fallback is
//! per cycle and changes no label; a collector with no successful read is down.

use std::time::Duration;

use dms_exporter::app::Exporter;
use dms_sim::{Fault, FaultRule, SimConfig, Simulator};
use tokio_util::sync::CancellationToken;

use crate::support::{in_process, series};

const FAST: &str = "collectors:
  jitter: 0
  instances: {interval: 10s}
";

async fn start(sim: &Simulator, extra: &str) -> (Exporter, CancellationToken) {
    let shutdown = CancellationToken::new();
    let exporter = in_process(sim, &SimConfig::deterministic(), extra, &shutdown);
    exporter.readiness.wait().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    (exporter, shutdown)
}

fn count(sim: &Simulator, endpoint: &str) -> u64 {
    sim.request_counts().get(endpoint).copied().unwrap_or(0)
}

#[tokio::test(start_paused = true)]
async fn one_cycle_on_v1_changes_no_label_and_v2_comes_back() {
    let sim = Simulator::new(SimConfig::deterministic());
    let (exporter, shutdown) = start(&sim, FAST).await;
    let families = ["dms_instance_info", "dms_instance_brokers"];
    let before: Vec<Vec<String>> = families.iter().map(|f| series(&exporter, f)).collect();
    assert!(before.iter().all(|lines| !lines.is_empty()), "{before:?}");

    // One cycle's V2 lists (one per engine) answer 404.
    sim.set_fault(FaultRule {
        endpoint: "instances_list".to_owned(),
        instance_id: None,
        fault: Fault::NotFound,
        remaining: Some(3),
    });
    tokio::time::sleep(Duration::from_secs(10)).await;
    let v1_calls = count(&sim, "instances_list_v1");
    assert!(v1_calls >= 1, "that cycle fell back to V1");
    for (family, lines) in families.iter().zip(&before) {
        assert_eq!(
            &series(&exporter, family),
            lines,
            "{family} after a V1 cycle"
        );
    }

    // The next cycles use V2 again.
    let v2_calls = count(&sim, "instances_list");
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert!(
        count(&sim, "instances_list") > v2_calls,
        "V2 is asked again"
    );
    assert_eq!(count(&sim, "instances_list_v1"), v1_calls, "no more V1");
    for (family, lines) in families.iter().zip(&before) {
        assert_eq!(&series(&exporter, family), lines, "{family} back on V2");
    }
    shutdown.cancel();
}
