//! Fault isolation under paused time, one defect per test: the V1 instance-list fallback is
//! per cycle and changes no label; a collector with no successful read is down.

use std::time::Duration;

use dms_exporter::app::Exporter;
use dms_exporter::metrics::exposition::Format;
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

/// `dms_collector_up` of one collector in the first region, from the self-metrics.
fn collector_up(exporter: &Exporter, collector: &str) -> Option<f64> {
    let mut text = String::new();
    exporter.self_metrics.encode(Format::Text, &mut text);
    let needle = format!("collector=\"{collector}\"");
    text.lines()
        .find(|l| l.starts_with("dms_collector_up{") && l.contains(&needle))
        .and_then(|l| l.rsplit_once(' '))
        .and_then(|(_, v)| v.parse().ok())
}

#[tokio::test(start_paused = true)]
async fn a_cycle_that_reads_nothing_is_down_even_while_it_hangs() {
    let sim = Simulator::new(SimConfig::deterministic());
    let (exporter, shutdown) = start(&sim, FAST).await;
    assert_eq!(collector_up(&exporter, "instances"), Some(1.0));
    sim.set_fault(FaultRule {
        endpoint: "instances_list".to_owned(),
        instance_id: None,
        fault: Fault::Stall,
        remaining: None,
    });
    // The next cycle hangs (each try times out, then is retried): it is reported down an
    // interval after it began, while its last good data is still served.
    let mut down_at = None;
    let mut gone_at = None;
    for second in 0..60 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if down_at.is_none() && collector_up(&exporter, "instances") == Some(0.0) {
            down_at = Some(second);
        }
        if gone_at.is_none() && series(&exporter, "dms_instance_info").is_empty() {
            gone_at = Some(second);
        }
    }
    let (Some(down_at), Some(gone_at)) = (down_at, gone_at) else {
        panic!("down at {down_at:?}, data gone at {gone_at:?}");
    };
    assert!(down_at <= 21, "down within two intervals: {down_at}");
    assert!(
        down_at < gone_at,
        "down ({down_at}) before the data aged out ({gone_at})"
    );
    shutdown.cancel();
}
