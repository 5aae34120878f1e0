//! The soak (issue 9, "Prove it"): 24 simulated hours under paused time. Every hour an
//! instance is created and the oldest of those is deleted, a topic and a group are deleted,
//! and a fault comes for ten minutes (a failing API, a stalled API, gateway throttling, in
//! turn); the fleet evolves every ten minutes. At the end the exported instances, topics
//! and groups equal the simulator's, nothing deleted is left behind, and the exposition's size
//! followed the fleet's, not the time.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use dms_exporter::collect::registry;
use dms_sim::{Fault, FaultRule, SimConfig, Simulator};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::support::{in_process, snapshot_text};

const INTERVAL: Duration = Duration::from_secs(600);
const HOURS: u64 = 24;

fn settings() -> String {
    let mut yaml = String::from("collectors:\n  jitter: 0\n");
    for description in registry::descriptions() {
        yaml.push_str(&format!(
            "  {}: {{interval: {}s}}\n",
            description.name,
            INTERVAL.as_secs()
        ));
    }
    yaml.push_str("api:\n  rate_limit: 500\n  burst: 100\n  concurrency: 16\n  timeout: 5s\n");
    yaml
}

/// The value of label `name` in a series line.
fn label<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let start = line.find(&format!("{name}=\""))? + name.len() + 2;
    line[start..].split('"').next()
}

/// Label `name` of every series of `family`, per instance.
fn exported(text: &str, family: &str, name: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with(&format!("{family}{{")))
    {
        if let (Some(instance), Some(value)) = (label(line, "instance_id"), label(line, name)) {
            out.entry(instance.to_owned())
                .or_default()
                .insert(value.to_owned());
        }
    }
    out
}

fn strings(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// The group ids of an instance of the simulator's state.
fn group_ids(instance: &Value) -> BTreeSet<String> {
    instance["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g["group_id"].as_str().map(str::to_owned))
        .collect()
}

/// The simulator's truth: every instance id, and per running Kafka instance its topics and
/// groups.
struct Truth {
    instances: BTreeSet<String>,
    topics: BTreeMap<String, BTreeSet<String>>,
    groups: BTreeMap<String, BTreeSet<String>>,
}

impl Truth {
    /// Instances, topics and groups: what the exposition's size should follow.
    fn size(&self) -> usize {
        let count =
            |m: &BTreeMap<String, BTreeSet<String>>| m.values().map(BTreeSet::len).sum::<usize>();
        self.instances.len() + count(&self.topics) + count(&self.groups)
    }
}

fn truth(sim: &Simulator) -> Truth {
    let state = sim.state_summary();
    let id = |i: &Value| i["instance_id"].as_str().unwrap_or_default().to_owned();
    let mut instances = BTreeSet::new();
    for engine in ["instances", "rocketmq", "rabbitmq"] {
        instances.extend(state[engine].as_array().into_iter().flatten().map(id));
    }
    let running: Vec<&Value> = state["instances"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["status"] == "RUNNING")
        .collect();
    let topics = running
        .iter()
        .map(|i| (id(i), strings(&i["topics"])))
        .collect();
    let groups = running.iter().map(|i| (id(i), group_ids(i))).collect();
    Truth {
        instances,
        topics,
        groups,
    }
}

fn kafka_instances(sim: &Simulator) -> Vec<(String, Vec<String>, Vec<String>)> {
    let state = sim.state_summary();
    state["instances"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            (
                i["instance_id"].as_str().unwrap_or_default().to_owned(),
                strings(&i["topics"]).into_iter().collect(),
                group_ids(i).into_iter().collect(),
            )
        })
        .collect()
}

fn fault_of_hour(hour: u64, instance: &str) -> FaultRule {
    let (endpoint, instance_id, fault) = match hour % 3 {
        0 => ("kafka_groups", Some(instance), Fault::ServerError(503)),
        1 => ("kafka_topics", Some(instance), Fault::Stall),
        _ => ("*", None, Fault::Throttle429),
    };
    FaultRule {
        endpoint: endpoint.to_owned(),
        instance_id: instance_id.map(str::to_owned),
        fault,
        remaining: None,
    }
}

#[tokio::test(start_paused = true)]
async fn a_day_of_churn_ends_with_the_truth_and_no_leak() {
    let sim_config = SimConfig::deterministic();
    let sim = Simulator::new(sim_config.clone());
    let shutdown = CancellationToken::new();
    let exporter = in_process(&sim, &sim_config, &settings(), &shutdown);
    exporter.readiness.wait().await;
    let projects: Vec<String> = sim_config
        .projects
        .iter()
        .map(|p| p.project_id.clone())
        .collect();
    let mut created: Vec<String> = Vec::new();
    // (series, bytes, the simulator's instances + topics + groups), every hour.
    let mut sizes: Vec<(usize, usize, usize)> = Vec::new();
    for hour in 0..HOURS {
        let project = &projects[hour as usize % projects.len()];
        created.push(sim.create_kafka_instance(project, &format!("soak-{hour}")));
        if created.len() > 3 {
            let oldest = created.remove(0);
            assert!(sim.delete_instance(&oldest));
        }
        let fleet = kafka_instances(&sim);
        let pick = |n: u64| &fleet[(hour + n) as usize % fleet.len()];
        let (victim, topics, _) = pick(0);
        if let Some(topic) = topics.iter().find(|t| !t.starts_with("__")) {
            sim.delete_topic(victim, topic);
        }
        let (victim, _, groups) = pick(1);
        if let Some(group) = groups.first() {
            sim.delete_group(victim, group);
        }
        sim.set_fault(fault_of_hour(hour, &pick(2).0));
        for minute in (0..60).step_by(10) {
            if minute == 10 {
                sim.clear_faults();
            }
            sim.step();
            tokio::time::sleep(Duration::from_secs(600)).await;
        }
        let text = snapshot_text(&exporter);
        let series = text.lines().filter(|l| !l.starts_with('#')).count();
        sizes.push((series, text.len(), truth(&sim).size()));
    }
    sim.clear_faults();
    // Let every collector run twice on the last fleet.
    tokio::time::sleep(INTERVAL * 2 + Duration::from_secs(10)).await;

    let text = snapshot_text(&exporter);
    let truth = truth(&sim);
    let instances: BTreeSet<String> = text
        .lines()
        .filter(|l| l.starts_with("dms_instance_info{"))
        .filter_map(|l| label(l, "instance_id").map(str::to_owned))
        .collect();
    assert_eq!(instances, truth.instances, "instances");
    // Nothing of a deleted instance is left in any family.
    let leaked: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| label(l, "instance_id").is_some_and(|id| !truth.instances.contains(id)))
        .take(5)
        .collect();
    assert!(leaked.is_empty(), "series of deleted instances: {leaked:?}");
    let topics = exported(&text, "dms_kafka_topic_partitions", "topic");
    for (instance, expected) in &truth.topics {
        let got = topics.get(instance).cloned().unwrap_or_default();
        let expected: BTreeSet<String> = expected
            .iter()
            .filter(|t| got.contains(*t) || !t.starts_with("__"))
            .cloned()
            .collect();
        assert_eq!(&got, &expected, "topics of {instance}");
    }
    let groups = exported(&text, "dms_kafka_consumergroup_members", "group");
    for (instance, expected) in &truth.groups {
        let got = groups.get(instance).cloned().unwrap_or_default();
        assert_eq!(&got, expected, "groups of {instance}");
    }
    // A fresh exporter reading the same fleet is what the soaked one must equal: the same
    // series, and the same size (nothing piled up over the day).
    let fresh_shutdown = CancellationToken::new();
    let fresh = in_process(&sim, &sim_config, &settings(), &fresh_shutdown);
    fresh.readiness.wait().await;
    tokio::time::sleep(INTERVAL + Duration::from_secs(10)).await;
    let identities = |text: &str| -> BTreeSet<String> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.rsplit_once(' ').map(|(series, _)| series.to_owned()))
            .collect()
    };
    let (soaked_text, fresh_text) = (snapshot_text(&exporter), snapshot_text(&fresh));
    let (soaked, expected) = (identities(&soaked_text), identities(&fresh_text));
    let extra: Vec<&String> = soaked.difference(&expected).take(5).collect();
    let missing: Vec<&String> = expected.difference(&soaked).take(5).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "after a day: extra {extra:?}, missing {missing:?}"
    );
    let ratio = soaked_text.len() as f64 / fresh_text.len() as f64;
    assert!(
        (0.98..=1.02).contains(&ratio),
        "{} bytes after a day against {} fresh",
        soaked_text.len(),
        fresh_text.len()
    );
    fresh_shutdown.cancel();
    eprintln!("soak: (series, bytes, instances + topics + groups) per hour: {sizes:?}");
    shutdown.cancel();
}
