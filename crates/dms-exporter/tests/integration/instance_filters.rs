//! `filters.instances` against the simulator: discovery keeps only the instances whose name,
//! tags and enterprise project the filter allows, and no collector reads the others.

use std::collections::BTreeSet;
use std::time::Duration;

use dms_sim::{SimConfig, Simulator};
use tokio_util::sync::CancellationToken;

use crate::support::{in_process, snapshot_text};

const ONE_CYCLE: &str = "collectors:
  jitter: 0
  instances: {interval: 1h}
  tags: {interval: 1h}
  tasks: {interval: 1h}
  kafka_cluster: {interval: 1h}
  kafka_disk_usage: {interval: 1h}
  kafka_topics: {interval: 1h}
  kafka_partitions: {interval: 1h}
  kafka_groups: {interval: 1h}
";

/// The value of `label` in a series line.
fn label<'a>(line: &'a str, label: &str) -> Option<&'a str> {
    let start = line.find(&format!("{label}=\""))? + label.len() + 2;
    let rest = line.get(start..)?;
    rest.get(..rest.find('"')?)
}

/// Every series line of the snapshot once the first cycles are in.
async fn scrape(sim: &Simulator, sim_config: &SimConfig, extra: &str) -> Vec<String> {
    let shutdown = CancellationToken::new();
    let exporter = in_process(sim, sim_config, &format!("{ONE_CYCLE}{extra}"), &shutdown);
    tokio::time::timeout(Duration::from_secs(90), exporter.readiness.wait())
        .await
        .expect("ready within 90 s");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let text = snapshot_text(&exporter);
    shutdown.cancel();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

fn instance_ids(lines: &[String]) -> BTreeSet<String> {
    lines
        .iter()
        .filter_map(|l| label(l, "instance_id"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filtered_instances_are_neither_exported_nor_read() {
    let sim_config = SimConfig::deterministic();
    let sim = Simulator::new(SimConfig::deterministic());
    let all = scrape(&sim, &sim_config, "").await;
    let tagged = |key: &str, value: &str| -> BTreeSet<String> {
        all.iter()
            .filter(|l| l.starts_with("dms_instance_tag_info{"))
            .filter(|l| label(l, "key") == Some(key) && label(l, "value") == Some(value))
            .filter_map(|l| label(l, "instance_id"))
            .map(str::to_owned)
            .collect()
    };
    let prod = tagged("env", "prod");
    let name_of = |id: &str| {
        all.iter()
            .filter(|l| l.starts_with("dms_instance_info{"))
            .find(|l| label(l, "instance_id") == Some(id))
            .and_then(|l| label(l, "name"))
            .map(str::to_owned)
            .expect("every instance has its info")
    };
    assert!(prod.len() >= 2, "the fleet has prod instances: {prod:?}");
    let excluded = prod.iter().next().cloned().unwrap_or_default();
    let expected: BTreeSet<String> = prod.iter().filter(|id| **id != excluded).cloned().collect();
    assert!(
        instance_ids(&all).len() > prod.len(),
        "others to filter out"
    );

    let filter = format!(
        "filters:\n  instances:\n    exclude: '{}'\n    tags: {{env: prod}}\n",
        regex::escape(&name_of(&excluded))
    );
    let filtered = scrape(&sim, &sim_config, &filter).await;
    assert_eq!(
        instance_ids(&filtered),
        expected,
        "every series, every collector"
    );
    // Not read: nothing was asked of the excluded instances (their topics' partitions).
    assert!(
        filtered
            .iter()
            .any(|l| l.starts_with("dms_kafka_partition_leader{")
                || l.starts_with("dms_rocketmq_")
                || l.starts_with("dms_rabbitmq_")),
        "the kept instances are read"
    );

    // An enterprise project no instance has leaves nothing but the project-level series.
    let none = scrape(
        &sim,
        &sim_config,
        "filters:\n  instances:\n    enterprise_project_ids: [no-such-project]\n",
    )
    .await;
    assert!(instance_ids(&none).is_empty(), "{none:?}");
}
