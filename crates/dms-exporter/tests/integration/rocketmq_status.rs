//! RocketMQ queue and group status against the simulator under paused time, one lag cycle
//! (10 s) per simulator step and a window of 3 readings: a stopped group is STOP, one whose
//! online consumers commit nothing is STALL (both ERR), a consuming group is OK, a resumed
//! one becomes OK again, and a rewound one is REWIND.

use std::collections::BTreeMap;
use std::time::Duration;

use dms_sim::Simulator;

use crate::rocketmq::{ROCKET, label, ready, value};
use crate::support::series;

/// The status whose series is 1, per `key` of the family's series.
fn current(
    exporter: &dms_exporter::app::Exporter,
    family: &str,
    key: impl Fn(&str) -> String,
) -> BTreeMap<String, String> {
    series(exporter, family)
        .iter()
        .filter(|line| value(line) == 1.0)
        .map(|line| (key(line), label(line, "status").to_owned()))
        .collect()
}

fn group_status(exporter: &dms_exporter::app::Exporter) -> BTreeMap<String, String> {
    current(exporter, "dms_rocketmq_consumergroup_status", |l| {
        label(l, "group").to_owned()
    })
}

/// group → the distinct statuses of its queues.
fn queue_statuses(exporter: &dms_exporter::app::Exporter) -> BTreeMap<String, Vec<String>> {
    let queues = current(exporter, "dms_rocketmq_consumergroup_queue_status", |l| {
        format!(
            "{} {} {} {}",
            label(l, "group"),
            label(l, "topic"),
            label(l, "broker"),
            label(l, "queue")
        )
    });
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (queue, status) in queues {
        let group = queue.split(' ').next().unwrap_or_default().to_owned();
        let statuses = out.entry(group).or_default();
        if !statuses.contains(&status) {
            statuses.push(status);
            statuses.sort();
        }
    }
    out
}

/// `count` simulator steps, each followed by one lag cycle.
async fn cycles(sim: &Simulator, count: usize) {
    for _ in 0..count {
        sim.step();
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(start_paused = true)]
async fn stopped_is_stop_stalled_is_stall_resumed_is_ok_rewound_is_rewind() {
    let config = ROCKET.replace(
        "  jitter: 0\n",
        "  jitter: 0\n  consumer_status_window: 3\n",
    );
    let (sim, exporter, shutdown) = ready(&config).await;
    let id = sim.instance_ids_of("reliability").remove(0);
    // group-billing is stopped from the start (no consumers online); group-orders keeps its
    // consumers online but they commit nothing; group-archive consumes.
    assert!(sim.set_commits_paused(&id, "group-orders", true));
    cycles(&sim, 4).await;
    let queues = queue_statuses(&exporter);
    assert_eq!(queues["group-billing"], strings(&["STOP"]), "{queues:?}");
    assert_eq!(queues["group-orders"], strings(&["STALL"]), "{queues:?}");
    assert_eq!(queues["group-archive"], strings(&["OK"]), "{queues:?}");
    let groups = group_status(&exporter);
    assert_eq!(groups["group-billing"], "ERR");
    assert_eq!(groups["group-orders"], "ERR");
    assert_eq!(groups["group-archive"], "OK");
    // Every state of the set is there, one of them 1.
    assert_eq!(
        series(&exporter, "dms_rocketmq_consumergroup_status").len(),
        3 * 3
    );

    assert!(sim.set_commits_paused(&id, "group-orders", false));
    assert!(sim.set_consumer_running(&id, "group-billing", true));
    cycles(&sim, 1).await;
    let groups = group_status(&exporter);
    assert_eq!(
        groups["group-orders"],
        "OK",
        "{:?}",
        queue_statuses(&exporter)
    );
    assert_eq!(
        groups["group-billing"],
        "OK",
        "{:?}",
        queue_statuses(&exporter)
    );

    assert!(sim.rewind_group(&id, "group-archive", 50));
    tokio::time::sleep(Duration::from_secs(10)).await;
    let queues = queue_statuses(&exporter);
    assert_eq!(queues["group-archive"], strings(&["REWIND"]), "{queues:?}");
    assert_eq!(
        group_status(&exporter)["group-archive"],
        "OK",
        "a rewind shows on the queues only"
    );
    shutdown.cancel();
}
