//! Simulated Kafka instances: state, generation and evolution here, the JSON of every
//! endpoint in `api`.
//!
//! Consistency rules kept by construction (the exporter's golden test relies on them):
//! - cluster counts (R3) are computed from the same partitions topic detail (R11) shows;
//! - a group's `message_log_end_offset` is the partition `leo` of R11, and
//!   `lag == message_log_end_offset - message_current_offset`;
//! - a broker's `data_disk_use` (R6) is the sum of its replicas' sizes (R11 `size`), and the
//!   instance's `used_storage_space` is the brokers' total in whole GiB (floor).

mod api;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::generate::{hex_id, uuid};
use crate::model;
use crate::produced::Produced;
use crate::{FleetSpec, Project};

pub(crate) use api::{GIB, dispatch};

const TOPIC_NAMES: &[&str] = &[
    "orders",
    "payments",
    "events",
    "logs",
    "metrics",
    "audit",
    "clicks",
    "users",
    "invoices",
    "shipments",
];
const TASK_NAMES: &[&str] = &[
    "modifyAutoTopic",
    "changeRetentionPolicy",
    "bindInstancePublicIp",
    "restartInstance",
    "extendStorage",
];

/// The account that owns the fleet, shown in instance and task objects.
pub(crate) struct Account {
    pub user_id: String,
    pub user_name: String,
}

pub(crate) struct Instance {
    /// Touched through the control API: churn never deletes it.
    pub pinned: bool,
    pub id: String,
    pub project_id: String,
    pub region: String,
    pub name: String,
    pub status: String,
    engine_version: String,
    specification: String,
    created_at_ms: i64,
    octet: u64,
    pub broker_disk_gb: u64,
    pub brokers: Vec<Broker>,
    controller: u32,
    pub topics: BTreeMap<String, Topic>,
    pub groups: BTreeMap<String, Group>,
    pub tasks: Vec<Task>,
    tags: Vec<(String, String)>,
    public: bool,
    partition_limit: u64,
    vpc_id: String,
    subnet_id: String,
    security_group_id: String,
    storage_resource_id: String,
    available_zone: String,
}

pub(crate) struct Broker {
    pub id: u32,
    pub up: bool,
    register_time: i64,
}

pub(crate) struct Topic {
    pub name: String,
    pub internal: bool,
    retention_hours: u64,
    created_at_ms: i64,
    pub partitions: Vec<Partition>,
}

pub(crate) struct Partition {
    pub id: u32,
    /// Broker ids; the first is the (preferred) leader.
    pub replicas: Vec<u32>,
    /// Log end offset of each replica (same order as `replicas`).
    replica_leo: Vec<u64>,
    pub lso: u64,
    pub leo: u64,
    base_bytes: u64,
    pub msg_bytes: u64,
    last_update_ms: i64,
    rate: u64,
    /// When each retained offset was produced (R15's `timestamp`).
    produced: Produced,
}

pub(crate) struct Group {
    /// Touched through the control API: churn never toggles its consumers.
    pinned: bool,
    id: String,
    pub running: bool,
    /// Members stay but commit nothing (a stuck consumer): set through the control API.
    commits_paused: bool,
    topics: Vec<String>,
    /// (topic, partition) → committed offset.
    pub committed: BTreeMap<(String, u32), u64>,
    members: Vec<Member>,
    coordinator: u32,
}

struct Member {
    member_id: String,
    client_id: String,
    host: String,
}

pub(crate) struct Task {
    pub id: String,
    name: String,
    params: String,
    pub status: String,
    created_ms: i64,
    updated_ms: i64,
    /// Set through the control API: the fleet's evolution leaves it as it is.
    pinned: bool,
}

impl model::Group for Group {
    fn pin(&mut self) {
        self.pinned = true;
    }
}

impl model::Task for Task {
    fn id(&self) -> &str {
        &self.id
    }
}

impl Partition {
    pub(crate) fn replica_size(&self, index: usize) -> u64 {
        let leo = self.replica_leo.get(index).copied().unwrap_or(self.leo);
        self.base_bytes + leo.saturating_sub(self.lso) * self.msg_bytes
    }
}

impl Instance {
    fn broker_up(&self, id: u32) -> bool {
        self.brokers.iter().any(|b| b.id == id && b.up)
    }

    pub(crate) fn leo(&self, topic: &str, partition: u32) -> u64 {
        self.topics
            .get(topic)
            .and_then(|t| t.partitions.iter().find(|p| p.id == partition))
            .map_or(0, |p| p.leo)
    }

    pub(crate) fn broker_used_bytes(&self, broker: u32) -> u64 {
        self.topics
            .values()
            .flat_map(|t| &t.partitions)
            .flat_map(|p| {
                p.replicas
                    .iter()
                    .enumerate()
                    .filter(move |(_, b)| **b == broker)
                    .map(move |(i, _)| p.replica_size(i))
            })
            .sum()
    }

    pub(crate) fn used_storage_gb(&self) -> u64 {
        self.brokers
            .iter()
            .map(|b| self.broker_used_bytes(b.id))
            .sum::<u64>()
            / GIB
    }

    pub(crate) fn total_storage_gb(&self) -> u64 {
        self.broker_disk_gb * self.brokers.len() as u64
    }

    /// Builds an instance, the `serial`-th of the fleet; `populated` = with topics, groups and
    /// tasks (the initial fleet).
    pub(crate) fn build(
        rng: &mut fastrand::Rng,
        spec: &FleetSpec,
        project: &Project,
        name: String,
        serial: u64,
        now: i64,
        populated: bool,
    ) -> Instance {
        let octet = serial % 250;
        let n_brokers = spec.brokers_per_instance.max(1);
        let created_at_ms = if populated {
            now - i64::from(rng.u32(30..400)) * 86_400_000 - i64::from(rng.u32(0..86_400_000))
        } else {
            now
        };
        let brokers = (0..n_brokers)
            .map(|b| Broker {
                id: u32::try_from(b).unwrap_or(0),
                up: true,
                register_time: created_at_ms + 3_600_000 + i64::from(rng.u32(0..600_000)),
            })
            .collect::<Vec<_>>();
        let controller = rng.u32(0..u32::try_from(n_brokers).unwrap_or(1));
        let id = uuid(rng);
        let mut instance = Instance {
            pinned: false,
            id,
            project_id: project.project_id.clone(),
            region: project.region.clone(),
            name,
            status: if populated { "RUNNING" } else { "CREATING" }.to_owned(),
            engine_version: if serial.is_multiple_of(3) {
                "3.x"
            } else {
                "2.7"
            }
            .to_owned(),
            specification: "c6.2u4g.cluster".to_owned(),
            created_at_ms,
            octet,
            broker_disk_gb: 200,
            brokers,
            controller,
            topics: BTreeMap::new(),
            groups: BTreeMap::new(),
            tasks: Vec::new(),
            tags: vec![
                (
                    "env".to_owned(),
                    if serial % 2 == 1 { "prod" } else { "staging" }.to_owned(),
                ),
                (
                    "team".to_owned(),
                    ["platform", "data", "payments"][(serial % 3) as usize].to_owned(),
                ),
            ],
            public: serial == 1,
            partition_limit: 250 * n_brokers as u64,
            vpc_id: uuid(rng),
            subnet_id: uuid(rng),
            security_group_id: uuid(rng),
            storage_resource_id: uuid(rng),
            available_zone: hex_id(rng, 32),
        };
        add_topic(
            &mut instance,
            rng,
            "__consumer_offsets",
            true,
            spec.partitions_per_topic.max(1),
            now,
        );
        if populated {
            for t in 0..spec.topics_per_instance {
                let base = TOPIC_NAMES[t % TOPIC_NAMES.len()];
                let name = if t < TOPIC_NAMES.len() {
                    base.to_owned()
                } else {
                    format!("{base}-{}", t / TOPIC_NAMES.len())
                };
                add_topic(
                    &mut instance,
                    rng,
                    &name,
                    false,
                    spec.partitions_per_topic.max(1),
                    now,
                );
            }
            let user_topics: Vec<String> = instance
                .topics
                .values()
                .filter(|t| !t.internal)
                .map(|t| t.name.clone())
                .collect();
            for g in 0..spec.groups_per_instance {
                if user_topics.is_empty() {
                    break;
                }
                let first = &user_topics[g % user_topics.len()];
                let mut topics = vec![first.clone()];
                if g % 2 == 1 && user_topics.len() > 1 {
                    topics.push(user_topics[(g + 1) % user_topics.len()].clone());
                }
                topics.sort();
                let running = g % 3 != 1;
                let group_id = format!("{first}-consumer-{}", g + 1);
                add_group(&mut instance, rng, &group_id, topics, running);
            }
            for k in 0..spec.tasks_per_instance {
                let status = ["SUCCESS", "FAILED", "EXECUTING"][k % 3];
                let name = TASK_NAMES[k % TASK_NAMES.len()];
                let created =
                    now - i64::try_from(spec.tasks_per_instance - k).unwrap_or(1) * 3_600_000;
                let updated = if status == "EXECUTING" {
                    created + 20
                } else {
                    created + 5_000 + i64::from(rng.u32(0..60_000))
                };
                instance.tasks.push(Task {
                    id: hex_id(rng, 32),
                    name: name.to_owned(),
                    params: task_params(name),
                    status: status.to_owned(),
                    created_ms: created,
                    updated_ms: updated,
                    pinned: false,
                });
            }
        }
        instance
    }

    /// Deletes a topic and every group's offsets on it; false if there is no such topic.
    pub(crate) fn delete_topic(&mut self, rng: &mut fastrand::Rng, topic: &str) -> bool {
        if self.topics.remove(topic).is_none() {
            return false;
        }
        for group in self.groups.values_mut() {
            group.topics.retain(|t| t != topic);
            group.committed.retain(|(t, _), _| t != topic);
        }
        reassign_all(self, rng);
        true
    }

    pub(crate) fn delete_group(&mut self, group: &str) -> bool {
        self.groups.remove(group).is_some()
    }

    /// Starts or stops a group's consumers; pins the group and the instance.
    pub(crate) fn set_consumer_running(
        &mut self,
        rng: &mut fastrand::Rng,
        group: &str,
        running: bool,
    ) -> bool {
        let partitions = partition_counts(self);
        let octet = self.octet;
        model::change_group(&mut self.groups, &mut self.pinned, group, |group| {
            group.running = running;
            assign_members(group, &partitions, rng, octet);
        })
    }

    /// Moves a group's committed offsets `messages` back on every partition (not below the
    /// log start); pins the group and the instance.
    pub(crate) fn rewind_group(&mut self, group: &str, messages: u64) -> bool {
        let topics = &self.topics;
        model::change_group(&mut self.groups, &mut self.pinned, group, |g| {
            for ((topic, partition), committed) in &mut g.committed {
                let lso = topics
                    .get(topic)
                    .and_then(|t| t.partitions.iter().find(|p| p.id == *partition))
                    .map_or(0, |p| p.lso);
                *committed = committed.saturating_sub(messages).max(lso.min(*committed));
            }
        })
    }

    /// Stops or resumes a group's commits while its members stay; pins the group and the
    /// instance.
    pub(crate) fn set_commits_paused(&mut self, group: &str, paused: bool) -> bool {
        model::change_group(&mut self.groups, &mut self.pinned, group, |g| {
            g.commits_paused = paused;
        })
    }

    /// Retention deletes `messages` beyond the group's committed offset on each of its
    /// partitions (the log start moves to committed + messages, at most the log end): the
    /// group lost exactly that many where the log had them. Pins the group and the instance.
    pub(crate) fn overtake_group(&mut self, group: &str, messages: u64) -> bool {
        let Some(g) = self.groups.get_mut(group) else {
            return false;
        };
        g.pinned = true;
        self.pinned = true;
        for ((topic, partition), committed) in &g.committed {
            if let Some(p) = self
                .topics
                .get_mut(topic)
                .and_then(|t| t.partitions.iter_mut().find(|p| p.id == *partition))
            {
                p.lso = p.lso.max((committed + messages).min(p.leo));
            }
        }
        true
    }

    /// Sets a topic's retention (`retention_time`, hours); pins the instance. False if the
    /// topic is unknown.
    pub(crate) fn set_retention_hours(&mut self, topic: &str, hours: u64) -> bool {
        let Some(t) = self.topics.get_mut(topic) else {
            return false;
        };
        t.retention_hours = hours;
        self.pinned = true;
        true
    }

    /// The produce time of the message at `offset`, unix ms; `None` outside the retained log.
    pub(crate) fn produce_time_ms(&self, topic: &str, partition: u32, offset: u64) -> Option<i64> {
        let p = self
            .topics
            .get(topic)?
            .partitions
            .iter()
            .find(|p| p.id == partition)?;
        if offset < p.lso || offset >= p.leo {
            return None;
        }
        p.produced.time_of(offset, p.rate)
    }

    /// A group's committed offsets, (topic, partition) → offset.
    pub(crate) fn committed(&self, group: &str) -> Option<BTreeMap<(String, u32), u64>> {
        self.groups.get(group).map(|g| g.committed.clone())
    }

    /// A down broker's replicas leave the ISR; the controller moves to a live broker.
    pub(crate) fn set_broker_up(&mut self, broker_id: u32, up: bool) -> bool {
        self.pinned = true;
        let Some(broker) = self.brokers.iter_mut().find(|b| b.id == broker_id) else {
            return false;
        };
        broker.up = up;
        if up {
            for topic in self.topics.values_mut() {
                for p in &mut topic.partitions {
                    for (i, b) in p.replicas.iter().enumerate() {
                        if *b == broker_id {
                            p.replica_leo[i] = p.leo;
                        }
                    }
                }
            }
        }
        let controller_up = self.brokers.iter().any(|b| b.id == self.controller && b.up);
        if !controller_up && let Some(b) = self.brokers.iter().find(|b| b.up) {
            self.controller = b.id;
        }
        true
    }

    /// Moves every partition's base size so the brokers' disks are `used_ratio` full.
    pub(crate) fn fill_disk(&mut self, used_ratio: f64) -> bool {
        self.pinned = true;
        let ratio = if used_ratio.is_finite() {
            used_ratio.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let capacity = (self.broker_disk_gb * GIB) as f64 * self.brokers.len() as f64;
        let current: u64 = self
            .topics
            .values()
            .flat_map(|t| &t.partitions)
            .map(|p| {
                (0..p.replicas.len())
                    .map(|i| p.replica_size(i))
                    .sum::<u64>()
            })
            .sum();
        let replicas: u64 = self
            .topics
            .values()
            .flat_map(|t| &t.partitions)
            .map(|p| p.replicas.len() as u64)
            .sum();
        if replicas == 0 {
            return true;
        }
        let delta = ((ratio * capacity) - current as f64) / replicas as f64;
        for p in self.topics.values_mut().flat_map(|t| &mut t.partitions) {
            let base = p.base_bytes as f64 + delta;
            p.base_bytes = if base > 0.0 { base as u64 } else { 0 };
        }
        true
    }

    /// Adds a task created at `created_ms` that the evolution leaves alone; pins the instance.
    pub(crate) fn add_task(&mut self, id: String, name: &str, status: &str, created_ms: i64) {
        self.pinned = true;
        self.tasks.push(Task {
            id,
            name: name.to_owned(),
            params: task_params(name),
            status: status.to_owned(),
            created_ms,
            updated_ms: created_ms,
            pinned: true,
        });
    }

    pub(crate) fn delete_task(&mut self, task_id: &str) -> bool {
        model::delete_task(&mut self.tasks, task_id)
    }

    /// One step of evolution: messages, commits, tasks, and with `churn` life events.
    pub(crate) fn step(&mut self, rng: &mut fastrand::Rng, now: i64, churn: bool) {
        step_instance(self, rng, now, churn);
    }

    /// Turns a just-built instance into one being created now (churn's new instances).
    pub(crate) fn being_created(mut self, now: i64) -> Instance {
        self.status = "CREATING".to_owned();
        self.created_at_ms = now;
        self
    }

    /// This instance in `GET /_sim/state`.
    pub(crate) fn summary(&self) -> Value {
        let i = self;
        json!({
            "instance_id": i.id,
            "project_id": i.project_id,
            "region": i.region,
            "name": i.name,
            "status": i.status,
            "brokers_up": i.brokers.iter().filter(|b| b.up).count(),
            "brokers": i.brokers.len(),
            "topics": i.topics.keys().collect::<Vec<_>>(),
            "groups": i.groups.values().map(|g| json!({
                "group_id": g.id,
                "running": g.running,
                "lag": group_lag(i, g),
            })).collect::<Vec<_>>(),
            "tasks": i.tasks.len(),
            "used_storage_space": i.used_storage_gb(),
        })
    }
}

fn group_lag(instance: &Instance, group: &Group) -> u64 {
    group
        .committed
        .iter()
        .map(|((t, p), c)| instance.leo(t, *p).saturating_sub(*c))
        .sum()
}

fn task_params(name: &str) -> String {
    match name {
        "modifyAutoTopic" => r#"{"old_auto_status":true,"new_auto_status":false}"#.to_owned(),
        "changeRetentionPolicy" => {
            r#"{"new_retention_policy":"produce_reject","origin_retention_policy":"time_base"}"#
                .to_owned()
        }
        "bindInstancePublicIp" => r#"{"enable_public_ip":true}"#.to_owned(),
        _ => "{}".to_owned(),
    }
}

fn add_topic(
    instance: &mut Instance,
    rng: &mut fastrand::Rng,
    name: &str,
    internal: bool,
    n: usize,
    now: i64,
) {
    let n_brokers = instance.brokers.len().max(1);
    let replication = n_brokers.min(3);
    let offset = rng.usize(0..n_brokers);
    let partitions = (0..n)
        .map(|p| {
            let replicas: Vec<u32> = (0..replication)
                .map(|r| u32::try_from((offset + p + r) % n_brokers).unwrap_or(0))
                .collect();
            let leo = if internal {
                rng.u64(100..2_000)
            } else {
                rng.u64(5_000..60_000)
            };
            // Drawn in the order the fleet has always drawn them (stable goldens).
            let base_bytes = rng.u64(0..4096);
            let msg_bytes = if internal { 120 } else { rng.u64(512..4096) };
            // Every partition has traffic, so its last write is recent (within 10 s): the
            // produce times of its older offsets count back from it at its rate.
            let last_update_ms = now - i64::from(rng.u32(0..1_000_000)) / 100;
            Partition {
                id: u32::try_from(p).unwrap_or(0),
                replica_leo: vec![leo; replicas.len()],
                replicas,
                lso: 0,
                leo,
                base_bytes,
                msg_bytes,
                last_update_ms,
                rate: if internal { 5 } else { rng.u64(10..200) },
                produced: Produced::starting_at(leo, last_update_ms),
            }
        })
        .collect();
    instance.topics.insert(
        name.to_owned(),
        Topic {
            name: name.to_owned(),
            internal,
            retention_hours: if internal { 168 } else { 72 },
            created_at_ms: instance.created_at_ms + 7_200_000 + i64::from(rng.u32(0..3_600_000)),
            partitions,
        },
    );
}

fn partition_counts(instance: &Instance) -> BTreeMap<String, u32> {
    instance
        .topics
        .values()
        .map(|t| {
            (
                t.name.clone(),
                u32::try_from(t.partitions.len()).unwrap_or(0),
            )
        })
        .collect()
}

fn add_group(
    instance: &mut Instance,
    rng: &mut fastrand::Rng,
    group_id: &str,
    topics: Vec<String>,
    running: bool,
) {
    let mut committed = BTreeMap::new();
    for topic in &topics {
        if let Some(t) = instance.topics.get(topic) {
            for p in &t.partitions {
                let behind = if running {
                    rng.u64(0..200)
                } else {
                    rng.u64(1_000..5_000)
                };
                committed.insert((topic.clone(), p.id), p.leo.saturating_sub(behind));
            }
        }
    }
    let n_brokers = u32::try_from(instance.brokers.len().max(1)).unwrap_or(1);
    let mut group = Group {
        pinned: false,
        id: group_id.to_owned(),
        running,
        commits_paused: false,
        topics,
        committed,
        members: Vec::new(),
        coordinator: rng.u32(0..n_brokers),
    };
    let partitions = partition_counts(instance);
    assign_members(&mut group, &partitions, rng, instance.octet);
    instance.groups.insert(group_id.to_owned(), group);
}

fn assign_members(
    group: &mut Group,
    partitions: &BTreeMap<String, u32>,
    rng: &mut fastrand::Rng,
    octet: u64,
) {
    group.members.clear();
    if !group.running {
        return;
    }
    let total: u32 = group
        .topics
        .iter()
        .map(|t| partitions.get(t).copied().unwrap_or(0))
        .sum();
    let n = total.clamp(1, 2);
    for k in 0..n {
        let client_id = format!("consumer-{}", k + 1);
        group.members.push(Member {
            member_id: format!("{client_id}-{}", uuid(rng)),
            client_id,
            host: format!("/10.{octet}.{}.{}", k + 1, rng.u32(2..250)),
        });
    }
}

fn reassign_all(instance: &mut Instance, rng: &mut fastrand::Rng) {
    let partitions = partition_counts(instance);
    let octet = instance.octet;
    for group in instance.groups.values_mut() {
        if group.running && group.members.is_empty() {
            assign_members(group, &partitions, rng, octet);
        }
    }
}

fn step_instance(instance: &mut Instance, rng: &mut fastrand::Rng, now: i64, churn: bool) {
    if instance.status == "CREATING" {
        instance.status = "RUNNING".to_owned();
        return;
    }
    let up: Vec<bool> = instance.brokers.iter().map(|b| b.up).collect();
    let is_up = |b: u32| up.get(b as usize).copied().unwrap_or(false);
    if instance.status == "RUNNING" {
        for topic in instance.topics.values_mut() {
            for p in &mut topic.partitions {
                let leader_up = p.replicas.first().is_some_and(|b| is_up(*b));
                if !leader_up {
                    continue;
                }
                let added = rng.u64(p.rate / 2..=p.rate + p.rate / 2);
                p.leo += added;
                for (i, b) in p.replicas.iter().enumerate() {
                    if is_up(*b) {
                        p.replica_leo[i] = p.leo;
                    }
                }
                if added > 0 {
                    p.last_update_ms = now;
                    p.produced.record(p.leo, now);
                }
            }
        }
    }
    // Consumers commit up to the high watermark (= leo here). Topics and groups are separate
    // fields, so the partitions are read in place, without a copy of every offset.
    let topics = &instance.topics;
    for group in instance.groups.values_mut() {
        if !group.running || group.commits_paused {
            continue;
        }
        for ((topic, partition), committed) in &mut group.committed {
            let leo = topics
                .get(topic)
                .and_then(|t| t.partitions.iter().find(|p| p.id == *partition))
                .map_or(*committed, |p| p.leo);
            let lag = leo.saturating_sub(*committed);
            if lag == 0 {
                continue;
            }
            if rng.u32(0..4) == 0 {
                *committed = leo;
            } else {
                *committed += lag * rng.u64(40..=95) / 100;
            }
        }
    }
    for task in &mut instance.tasks {
        if task.status == "EXECUTING" && !task.pinned && rng.bool() {
            task.status = if rng.u32(0..5) == 0 {
                "FAILED"
            } else {
                "SUCCESS"
            }
            .to_owned();
            task.updated_ms = now;
        }
    }
    if churn {
        if rng.u32(0..20) == 0 && !instance.groups.is_empty() {
            let index = rng.usize(0..instance.groups.len());
            let partitions = partition_counts(instance);
            let octet = instance.octet;
            if let Some(group) = instance.groups.values_mut().nth(index)
                && !group.pinned
            {
                group.running = !group.running;
                assign_members(group, &partitions, rng, octet);
            }
        }
        if rng.u32(0..30) == 0 {
            let name = TASK_NAMES[rng.usize(0..TASK_NAMES.len())];
            instance.tasks.push(Task {
                id: hex_id(rng, 32),
                name: name.to_owned(),
                params: task_params(name),
                status: "EXECUTING".to_owned(),
                created_ms: now,
                updated_ms: now,
                pinned: false,
            });
        }
    }
}
