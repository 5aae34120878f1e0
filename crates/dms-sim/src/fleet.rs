//! The simulated fleet: its state, its evolution and its JSON renderings.
//!
//! Consistency rules kept by construction (the exporter's golden test relies on them):
//! - cluster counts (R3) are computed from the same partitions topic detail (R11) shows;
//! - a group's `message_log_end_offset` is the partition `leo` of R11, and
//!   `lag == message_log_end_offset - message_current_offset`;
//! - a broker's `data_disk_use` (R6) is the sum of its replicas' sizes (R11 `size`), and the
//!   instance's `used_storage_space` is the brokers' total in whole GiB (floor).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::{FleetSpec, Project, SimConfig};

pub(crate) const GIB: u64 = 1 << 30;

const INSTANCE_NAMES: &[&str] = &[
    "orders",
    "payments",
    "telemetry",
    "audit",
    "clickstream",
    "billing",
    "inventory",
    "search",
];
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
const SUPPORT_FEATURES: &str = "feature.physerver.kafka.topic.accesspolicy,message_trace_enable,features.pod.token.access,feature.physerver.kafka.pulbic.dynamic,feature.physerver.kafka.user.manager";

pub(crate) struct Fleet {
    pub tick: u64,
    base_time_ms: i64,
    tick_ms: i64,
    rng: fastrand::Rng,
    /// RocketMQ and RabbitMQ draw from their own generator, so the Kafka fleet stays as it was.
    engines_rng: fastrand::Rng,
    /// Kafka instances.
    pub instances: BTreeMap<String, Instance>,
    pub rocketmq: BTreeMap<String, crate::rocketmq::Instance>,
    pub rabbitmq: BTreeMap<String, crate::rabbitmq::Instance>,
    spec: FleetSpec,
    projects: Vec<Project>,
    serial: u64,
    user_id: String,
    user_name: String,
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
    broker_disk_gb: u64,
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
    name: String,
    internal: bool,
    retention_hours: u64,
    created_at_ms: i64,
    pub partitions: Vec<Partition>,
}

pub(crate) struct Partition {
    id: u32,
    /// Broker ids; the first is the (preferred) leader.
    replicas: Vec<u32>,
    /// Log end offset of each replica (same order as `replicas`).
    replica_leo: Vec<u64>,
    lso: u64,
    pub leo: u64,
    base_bytes: u64,
    msg_bytes: u64,
    last_update_ms: i64,
    rate: u64,
}

pub(crate) struct Group {
    /// Touched through the control API: churn never toggles its consumers.
    pinned: bool,
    id: String,
    pub running: bool,
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

/// The name of the `index`-th instance of an engine, e.g. `kafka-orders-01`.
fn instance_name(engine: &str, index: usize) -> String {
    format!(
        "{engine}-{}-{:02}",
        INSTANCE_NAMES[index % INSTANCE_NAMES.len()],
        index + 1
    )
}

/// `n` lower-case hex digits.
pub(crate) fn hex_id(rng: &mut fastrand::Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from_digit(rng.u32(0..16), 16).unwrap_or('0'))
        .collect()
}

pub(crate) fn uuid(rng: &mut fastrand::Rng) -> String {
    let h = hex_id(rng, 32);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// ISO-8601 UTC with milliseconds, e.g. `2020-05-15T03:19:51.046Z`.
pub(crate) fn iso_ms(ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// A `du -h`-style size with powers of 1024: `"8.0K"`, `"12K"`, `"53M"`, `"66G"`; `"0"` for 0.
pub(crate) fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["K", "M", "G", "T", "P"];
    if bytes == 0 {
        return "0".to_owned();
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if value < 10.0 {
        let rounded = (value * 10.0).ceil() / 10.0;
        if rounded < 10.0 {
            return format!("{rounded:.1}{}", UNITS[unit]);
        }
    }
    format!("{:.0}{}", value.ceil(), UNITS[unit])
}

/// Parses `1G`, `512M`, `8.0K`, `100` (bytes), case-insensitive, optional trailing `B`.
pub(crate) fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim().to_ascii_uppercase();
    let text = text.strip_suffix('B').unwrap_or(&text);
    let (number, factor) = match text.chars().last()? {
        'K' => (&text[..text.len() - 1], 1u64 << 10),
        'M' => (&text[..text.len() - 1], 1 << 20),
        'G' => (&text[..text.len() - 1], 1 << 30),
        'T' => (&text[..text.len() - 1], 1 << 40),
        _ => (text, 1),
    };
    let value: f64 = number.parse().ok()?;
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    Some((value * factor as f64) as u64)
}

fn obj(pairs: Vec<(&str, Value)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect::<Map<String, Value>>(),
    )
}

impl Partition {
    fn replica_size(&self, index: usize) -> u64 {
        let leo = self.replica_leo.get(index).copied().unwrap_or(self.leo);
        self.base_bytes + leo.saturating_sub(self.lso) * self.msg_bytes
    }
}

impl Fleet {
    pub fn generate(config: &SimConfig) -> Fleet {
        let mut rng = fastrand::Rng::with_seed(config.seed);
        let user_id = hex_id(&mut rng, 32);
        let mut fleet = Fleet {
            tick: 0,
            base_time_ms: config.base_time_ms,
            tick_ms: i64::try_from(config.tick.as_millis()).unwrap_or(10_000),
            rng,
            engines_rng: fastrand::Rng::with_seed(config.seed ^ 0x00E1_61E5),
            instances: BTreeMap::new(),
            rocketmq: BTreeMap::new(),
            rabbitmq: BTreeMap::new(),
            spec: config.fleet.clone(),
            projects: config.projects.clone(),
            serial: 0,
            user_id,
            user_name: "paas_dms".to_owned(),
        };
        for i in 0..config.fleet.kafka_instances {
            let project = fleet.project_round_robin(i);
            let name = instance_name("kafka", i);
            let instance = fleet.build_instance(&project, name, true);
            fleet.instances.insert(instance.id.clone(), instance);
        }
        for i in 0..config.fleet.rocketmq_instances {
            let project = fleet.project_round_robin(i);
            fleet.serial += 1;
            let now = fleet.now_ms();
            let name = instance_name("rocketmq", i);
            let instance = crate::rocketmq::Instance::build(
                &mut fleet.engines_rng,
                &project,
                name,
                fleet.serial,
                now,
            );
            fleet.rocketmq.insert(instance.id.clone(), instance);
        }
        for i in 0..config.fleet.rabbitmq_instances {
            let project = fleet.project_round_robin(i);
            fleet.serial += 1;
            let now = fleet.now_ms();
            let name = instance_name("rabbitmq", i);
            let instance = crate::rabbitmq::Instance::build(
                &mut fleet.engines_rng,
                &project,
                name,
                fleet.serial,
                now,
            );
            fleet.rabbitmq.insert(instance.id.clone(), instance);
        }
        fleet
    }

    fn project_round_robin(&self, i: usize) -> Project {
        match self.projects.get(i % self.projects.len().max(1)) {
            Some(p) => p.clone(),
            None => Project {
                region: "cn-north-4".to_owned(),
                project_id: "00000000000000000000000000000000".to_owned(),
            },
        }
    }

    /// The engine of an instance (`kafka`, `reliability` or `rabbitmq`), if it exists.
    pub fn engine_of(&self, instance_id: &str) -> Option<&'static str> {
        if self.instances.contains_key(instance_id) {
            Some("kafka")
        } else if self.rocketmq.contains_key(instance_id) {
            Some("reliability")
        } else if self.rabbitmq.contains_key(instance_id) {
            Some("rabbitmq")
        } else {
            None
        }
    }

    /// Ids of all instances of every engine, sorted.
    pub fn instance_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .instances
            .keys()
            .chain(self.rocketmq.keys())
            .chain(self.rabbitmq.keys())
            .cloned()
            .collect();
        ids.sort();
        ids
    }

    pub fn delete_instance(&mut self, instance_id: &str) -> bool {
        self.instances.remove(instance_id).is_some()
            || self.rocketmq.remove(instance_id).is_some()
            || self.rabbitmq.remove(instance_id).is_some()
    }

    pub fn now_ms(&self) -> i64 {
        self.base_time_ms + i64::try_from(self.tick).unwrap_or(0) * self.tick_ms
    }

    fn project_of(&self, project_id: &str) -> Project {
        self.projects
            .iter()
            .find(|p| p.project_id == project_id)
            .cloned()
            .unwrap_or_else(|| Project {
                region: "unknown".to_owned(),
                project_id: project_id.to_owned(),
            })
    }

    /// Builds an instance; `populated` = with topics, groups and tasks (the initial fleet).
    fn build_instance(&mut self, project: &Project, name: String, populated: bool) -> Instance {
        self.serial += 1;
        let now = self.now_ms();
        let spec = self.spec.clone();
        let rng = &mut self.rng;
        let octet = self.serial % 250;
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
            engine_version: if self.serial.is_multiple_of(3) {
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
                    if self.serial % 2 == 1 {
                        "prod"
                    } else {
                        "staging"
                    }
                    .to_owned(),
                ),
                (
                    "team".to_owned(),
                    ["platform", "data", "payments"][(self.serial % 3) as usize].to_owned(),
                ),
            ],
            public: self.serial == 1,
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

    pub fn create_instance(&mut self, project_id: &str, name: &str) -> String {
        let project = self.project_of(project_id);
        let instance = self.build_instance(&project, name.to_owned(), false);
        let id = instance.id.clone();
        self.instances.insert(id.clone(), instance);
        id
    }

    pub fn step(&mut self, churn: bool) {
        self.tick += 1;
        let now = self.now_ms();
        let Fleet { rng, instances, .. } = self;
        for instance in instances.values_mut() {
            step_instance(instance, rng, now, churn);
        }
        for instance in self.rocketmq.values_mut() {
            instance.step(&mut self.engines_rng, now, churn);
        }
        for instance in self.rabbitmq.values_mut() {
            instance.step(&mut self.engines_rng, now, churn);
        }
        if churn {
            if self.rng.u32(0..40) == 0 && !self.projects.is_empty() {
                let project = self.projects[self.rng.usize(0..self.projects.len())].clone();
                let name = instance_name("kafka", self.serial as usize);
                let mut instance = self.build_instance(&project, name, true);
                instance.status = "CREATING".to_owned();
                instance.created_at_ms = now;
                self.instances.insert(instance.id.clone(), instance);
            }
            if self.rng.u32(0..60) == 0 && self.instances.len() > 2 {
                let index = self.rng.usize(0..self.instances.len());
                if let Some(id) = self.instances.keys().nth(index).cloned()
                    && self.instances.get(&id).is_some_and(|i| !i.pinned)
                {
                    self.instances.remove(&id);
                }
            }
        }
    }

    pub fn set_instance_status(&mut self, instance_id: &str, status: &str) -> bool {
        if let Some(instance) = self.instances.get_mut(instance_id) {
            instance.status = status.to_owned();
            instance.pinned = true;
        } else if let Some(instance) = self.rocketmq.get_mut(instance_id) {
            instance.status = status.to_owned();
            instance.pinned = true;
        } else if let Some(instance) = self.rabbitmq.get_mut(instance_id) {
            instance.status = status.to_owned();
            instance.pinned = true;
        } else {
            return false;
        }
        true
    }

    pub fn delete_topic(&mut self, instance_id: &str, topic: &str) -> bool {
        let Some(instance) = self.instances.get_mut(instance_id) else {
            return false;
        };
        if instance.topics.remove(topic).is_none() {
            return false;
        }
        for group in instance.groups.values_mut() {
            group.topics.retain(|t| t != topic);
            group.committed.retain(|(t, _), _| t != topic);
        }
        let Fleet { rng, instances, .. } = self;
        if let Some(instance) = instances.get_mut(instance_id) {
            reassign_all(instance, rng);
        }
        true
    }

    pub fn delete_group(&mut self, instance_id: &str, group: &str) -> bool {
        self.instances
            .get_mut(instance_id)
            .is_some_and(|i| i.groups.remove(group).is_some())
    }

    pub fn set_consumer_running(&mut self, instance_id: &str, group: &str, running: bool) -> bool {
        if let Some(instance) = self.rocketmq.get_mut(instance_id) {
            return instance.set_consumer_running(group, running);
        }
        let Fleet { rng, instances, .. } = self;
        let Some(instance) = instances.get_mut(instance_id) else {
            return false;
        };
        let partitions = partition_counts(instance);
        let octet = instance.octet;
        let Some(group) = instance.groups.get_mut(group) else {
            return false;
        };
        group.running = running;
        group.pinned = true;
        instance.pinned = true;
        assign_members(group, &partitions, rng, octet);
        true
    }

    pub fn set_broker_up(&mut self, instance_id: &str, broker_id: u32, up: bool) -> bool {
        let Some(instance) = self.instances.get_mut(instance_id) else {
            return false;
        };
        instance.pinned = true;
        let Some(broker) = instance.brokers.iter_mut().find(|b| b.id == broker_id) else {
            return false;
        };
        broker.up = up;
        if up {
            for topic in instance.topics.values_mut() {
                for p in &mut topic.partitions {
                    for (i, b) in p.replicas.iter().enumerate() {
                        if *b == broker_id {
                            p.replica_leo[i] = p.leo;
                        }
                    }
                }
            }
        }
        let controller_up = instance
            .brokers
            .iter()
            .any(|b| b.id == instance.controller && b.up);
        if !controller_up && let Some(b) = instance.brokers.iter().find(|b| b.up) {
            instance.controller = b.id;
        }
        true
    }

    pub fn fill_disk(&mut self, instance_id: &str, used_ratio: f64) -> bool {
        let Some(instance) = self.instances.get_mut(instance_id) else {
            return false;
        };
        instance.pinned = true;
        let ratio = if used_ratio.is_finite() {
            used_ratio.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let capacity = (instance.broker_disk_gb * GIB) as f64 * instance.brokers.len() as f64;
        let current: u64 = instance
            .topics
            .values()
            .flat_map(|t| &t.partitions)
            .map(|p| {
                (0..p.replicas.len())
                    .map(|i| p.replica_size(i))
                    .sum::<u64>()
            })
            .sum();
        let replicas: u64 = instance
            .topics
            .values()
            .flat_map(|t| &t.partitions)
            .map(|p| p.replicas.len() as u64)
            .sum();
        if replicas == 0 {
            return true;
        }
        let delta = ((ratio * capacity) - current as f64) / replicas as f64;
        for p in instance.topics.values_mut().flat_map(|t| &mut t.partitions) {
            let base = p.base_bytes as f64 + delta;
            p.base_bytes = if base > 0.0 { base as u64 } else { 0 };
        }
        true
    }

    pub fn add_task(
        &mut self,
        instance_id: &str,
        name: &str,
        status: &str,
        age_ms: i64,
    ) -> Option<String> {
        let now = self.now_ms();
        if let Some(instance) = self.rabbitmq.get_mut(instance_id) {
            return Some(instance.add_task(name, status, now, age_ms));
        }
        let created = now - age_ms.max(0);
        if let Some(instance) = self.rocketmq.get_mut(instance_id) {
            let id = hex_id(&mut self.engines_rng, 32);
            instance.add_task(id.clone(), name, status, created);
            return Some(id);
        }
        let Fleet { rng, instances, .. } = self;
        let instance = instances.get_mut(instance_id)?;
        instance.pinned = true;
        let id = hex_id(rng, 32);
        instance.tasks.push(Task {
            id: id.clone(),
            name: name.to_owned(),
            params: task_params(name),
            status: status.to_owned(),
            created_ms: created,
            updated_ms: created,
            pinned: true,
        });
        Some(id)
    }

    pub fn delete_task(&mut self, instance_id: &str, task_id: &str) -> bool {
        if let Some(instance) = self.rabbitmq.get_mut(instance_id) {
            return instance.delete_task(task_id);
        }
        if let Some(instance) = self.rocketmq.get_mut(instance_id) {
            return instance.delete_task(task_id);
        }
        let Some(instance) = self.instances.get_mut(instance_id) else {
            return false;
        };
        let before = instance.tasks.len();
        instance.tasks.retain(|t| t.id != task_id);
        instance.tasks.len() != before
    }

    /// Stops or starts a RabbitMQ plugin; `false` if there is no such instance or plugin.
    pub fn set_plugin_running(&mut self, instance_id: &str, plugin: &str, running: bool) -> bool {
        self.rabbitmq
            .get_mut(instance_id)
            .is_some_and(|instance| instance.set_plugin_running(plugin, running))
    }

    pub fn summary(&self) -> Value {
        let instances: Vec<Value> = self
            .instances
            .values()
            .map(|i| {
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
            })
            .collect();
        json!({
            "tick": self.tick,
            "now_ms": self.now_ms(),
            "instances": instances,
            "rocketmq": self.rocketmq.values().map(|i| i.summary()).collect::<Vec<_>>(),
            "rabbitmq": self.rabbitmq.values().map(|i| i.summary()).collect::<Vec<_>>(),
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
            Partition {
                id: u32::try_from(p).unwrap_or(0),
                replica_leo: vec![leo; replicas.len()],
                replicas,
                lso: 0,
                leo,
                base_bytes: rng.u64(0..4096),
                msg_bytes: if internal { 120 } else { rng.u64(512..4096) },
                last_update_ms: instance.created_at_ms.max(0) + i64::from(rng.u32(0..1_000_000)),
                rate: if internal { 5 } else { rng.u64(10..200) },
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
                }
            }
        }
    }
    // Consumers commit up to the high watermark (= leo here).
    let leos: BTreeMap<(String, u32), u64> = instance
        .topics
        .values()
        .flat_map(|t| t.partitions.iter().map(|p| ((t.name.clone(), p.id), p.leo)))
        .collect();
    for group in instance.groups.values_mut() {
        if !group.running {
            continue;
        }
        for (key, committed) in &mut group.committed {
            let leo = leos.get(key).copied().unwrap_or(*committed);
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

/// Query options of the disk-usage endpoint (R6).
pub(crate) struct DiskQuery {
    pub min_size: u64,
    pub top: Option<usize>,
    pub percentage: Option<f64>,
}

/// Query options of the task list (R19).
pub(crate) struct TaskQuery {
    /// 1-based index of the first task (newest first).
    pub start: usize,
    pub limit: usize,
    pub begin_ms: Option<i64>,
    pub end_ms: Option<i64>,
}

impl TaskQuery {
    /// The tasks created inside the time window, newest first: how many there are, and the
    /// page `start`/`limit` selects.
    pub fn select<'a, T>(
        &self,
        tasks: impl Iterator<Item = &'a T>,
        key: impl Fn(&T) -> (i64, &str),
    ) -> (usize, Vec<&'a T>) {
        let mut tasks: Vec<&T> = tasks
            .filter(|t| self.begin_ms.is_none_or(|b| key(t).0 >= b))
            .filter(|t| self.end_ms.is_none_or(|e| key(t).0 <= e))
            .collect();
        tasks.sort_by(|a, b| {
            let (a, b) = (key(a), key(b));
            b.0.cmp(&a.0).then(a.1.cmp(b.1))
        });
        let count = tasks.len();
        let page = tasks
            .into_iter()
            .skip(self.start.saturating_sub(1))
            .take(self.limit)
            .collect();
        (count, page)
    }
}

impl Instance {
    fn broker_up(&self, id: u32) -> bool {
        self.brokers.iter().any(|b| b.id == id && b.up)
    }

    fn leo(&self, topic: &str, partition: u32) -> u64 {
        self.topics
            .get(topic)
            .and_then(|t| t.partitions.iter().find(|p| p.id == partition))
            .map_or(0, |p| p.leo)
    }

    fn broker_used_bytes(&self, broker: u32) -> u64 {
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

    fn used_storage_gb(&self) -> u64 {
        self.brokers
            .iter()
            .map(|b| self.broker_used_bytes(b.id))
            .sum::<u64>()
            / GIB
    }

    fn total_storage_gb(&self) -> u64 {
        self.broker_disk_gb * self.brokers.len() as u64
    }

    /// One address per broker, `{prefix}.{octet}.{10 + broker}`, with `:port` when given.
    fn broker_addresses(&self, prefix: &str, port: Option<u16>) -> String {
        self.brokers
            .iter()
            .map(|b| {
                let host = format!("{prefix}.{}.{}", self.octet, 10 + b.id);
                port.map_or(host.clone(), |port| format!("{host}:{port}"))
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    fn addresses(&self, port: u16) -> String {
        self.broker_addresses("192.168", Some(port))
    }

    fn ips(&self) -> String {
        self.broker_addresses("192.168", None)
    }

    fn public_addresses(&self) -> String {
        self.broker_addresses("100.85", Some(9094))
    }

    fn tags_json(&self) -> Value {
        Value::Array(
            self.tags
                .iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect(),
        )
    }

    /// `ShowInstanceResp` (§2.1.1), every documented field with its documented type.
    pub fn show(&self, fleet: &Fleet) -> Value {
        let total = self.total_storage_gb();
        let public_bandwidth = if self.public { 100 } else { 0 };
        let n = self.brokers.len();
        let mut fields = vec![
            ("name", json!(self.name)),
            ("engine", json!("kafka")),
            ("engine_version", json!(self.engine_version)),
            ("description", json!("")),
            ("specification", json!(self.specification)),
            ("storage_space", json!(total * 82 / 100)),
            ("partition_num", json!(self.partition_limit.to_string())),
            ("used_storage_space", json!(self.used_storage_gb())),
            ("connect_address", json!(self.ips())),
            ("port", json!(9092)),
            ("status", json!(self.status)),
            ("instance_id", json!(self.id)),
            (
                "resource_spec_code",
                json!("dms.instance.kafka.cluster.c3.mini"),
            ),
            ("charging_mode", json!(1)),
            ("vpc_id", json!(self.vpc_id)),
            ("vpc_name", json!(format!("vpc-{}", self.region))),
            ("created_at", json!(self.created_at_ms.to_string())),
            ("subnet_name", json!(format!("subnet-{}", self.octet))),
            ("subnet_cidr", json!(format!("192.168.{}.0/24", self.octet))),
            ("user_id", json!(fleet.user_id)),
            ("user_name", json!(fleet.user_name)),
            ("access_user", json!("")),
            ("order_id", json!("")),
            ("maintain_begin", json!("02:00:00")),
            ("maintain_end", json!("06:00:00")),
            ("enable_publicip", json!(self.public)),
            (
                "management_connect_address",
                json!(format!("https://192.168.{}.10:9999", self.octet)),
            ),
            ("ssl_enable", json!(false)),
            ("kafka_security_protocol", json!("SASL_SSL")),
            ("sasl_enabled_mechanisms", json!(["PLAIN"])),
            ("ssl_two_way_enable", json!(false)),
            ("cert_replaced", json!(false)),
            ("public_management_connect_address", json!("")),
            ("enterprise_project_id", json!("0")),
            ("is_logical_volume", json!(true)),
            ("extend_times", json!(0)),
            ("enable_auto_topic", json!(false)),
            ("type", json!("cluster")),
            ("product_id", json!(self.specification)),
            ("security_group_id", json!(self.security_group_id)),
            ("security_group_name", json!("sg-kafka")),
            ("subnet_id", json!(self.subnet_id)),
            ("available_zones", json!([self.available_zone])),
            ("total_storage_space", json!(total)),
            ("storage_resource_id", json!(self.storage_resource_id)),
            ("storage_spec_code", json!("dms.physical.storage.ultra.v2")),
            ("service_type", json!("advanced")),
            ("storage_type", json!("hec")),
            ("retention_policy", json!("produce_reject")),
            ("kafka_public_status", json!(self.public.to_string())),
            ("public_bandwidth", json!(public_bandwidth)),
            ("kafka_manager_enable", json!(false)),
            ("kafka_manager_user", json!("")),
            ("enable_log_collection", json!(false)),
            ("cross_vpc_info", json!("")),
            ("ipv6_enable", json!(false)),
            ("ipv6_connect_addresses", json!([])),
            ("connector_enable", json!(false)),
            ("connector_id", json!("")),
            ("rest_enable", json!(false)),
            ("rest_connect_address", json!("")),
            ("public_bound_width", json!(public_bandwidth)),
            ("message_query_inst_enable", json!(true)),
            ("vpc_client_plain", json!(false)),
            ("support_features", json!(SUPPORT_FEATURES)),
            ("trace_enable", json!(false)),
            ("agent_enable", json!(false)),
            ("pod_connect_address", json!("")),
            ("disk_encrypted", json!(false)),
            ("disk_encrypted_key", json!("")),
            ("kafka_private_connect_address", json!(self.addresses(9092))),
            ("ces_version", json!("linux,v1,v2")),
            (
                "public_access_enabled",
                json!(if self.public { "true" } else { "false" }),
            ),
            ("node_num", json!(n)),
            ("enable_acl", json!(false)),
            ("new_spec_billing_enable", json!(true)),
            ("broker_num", json!(n)),
            ("tags", self.tags_json()),
            ("dr_enable", json!(false)),
        ];
        if self.public {
            // Documented as present only when public access is enabled.
            fields.push(("public_connect_address", json!(self.public_addresses())));
        }
        obj(fields)
    }

    /// The V1 instance object (R27/R28 examples).
    pub fn show_v1(&self, fleet: &Fleet) -> Value {
        let total = self.total_storage_gb();
        let mut fields = vec![
            ("name", json!(self.name)),
            ("engine", json!("kafka")),
            ("port", json!(9092)),
            ("status", json!(self.status)),
            ("type", json!("cluster")),
            ("specification", json!("100MB")),
            ("engine_version", json!(self.engine_version)),
            ("connect_address", json!(self.ips())),
            ("connect_dn", json!("")),
            ("instance_id", json!(self.id)),
            (
                "resource_spec_code",
                json!("dms.instance.kafka.cluster.c3.mini"),
            ),
            ("charging_mode", json!(1)),
            ("vpc_id", json!(self.vpc_id)),
            ("vpc_name", json!(format!("vpc-{}", self.region))),
            ("created_at", json!(self.created_at_ms.to_string())),
            ("product_id", json!("00300-30308-0--0")),
            ("security_group_id", json!(self.security_group_id)),
            ("security_group_name", json!("sg-kafka")),
            ("subnet_id", json!(self.subnet_id)),
            ("subnet_name", json!(format!("subnet-{}", self.octet))),
            ("subnet_cidr", json!(format!("192.168.{}.0/24", self.octet))),
            ("available_zones", json!([self.available_zone])),
            ("user_id", json!(fleet.user_id)),
            ("user_name", json!(fleet.user_name)),
            ("access_user", json!("")),
            ("kafka_manager_user", json!("")),
            ("maintain_begin", json!("02:00:00")),
            ("maintain_end", json!("06:00:00")),
            ("storage_space", json!(total * 82 / 100)),
            ("total_storage_space", json!(total)),
            ("used_storage_space", json!(self.used_storage_gb())),
            ("partition_num", json!(self.partition_limit.to_string())),
            ("enable_publicip", json!(self.public)),
            ("ssl_enable", json!(false)),
            (
                "management_connect_address",
                json!(format!("https://192.168.{}.10:9999", self.octet)),
            ),
            ("storage_resource_id", json!(self.storage_resource_id)),
            ("storage_spec_code", json!("dms.physical.storage.ultra")),
            ("service_type", json!("advanced")),
            ("storage_type", json!("hec")),
            ("enterprise_project_id", json!("0")),
            ("is_logical_volume", json!(true)),
            ("extend_times", json!(0)),
            ("retention_policy", json!("produce_reject")),
            ("kafka_public_status", json!(self.public.to_string())),
            ("public_bandwidth", json!(if self.public { 100 } else { 0 })),
            ("ipv6_enable", json!(false)),
            ("ipv6_connect_addresses", json!([])),
            ("connector_enable", json!(false)),
            ("connector_id", json!("")),
            ("rest_enable", json!(false)),
            ("rest_connect_address", json!("")),
            ("message_query_inst_enable", json!(true)),
            ("vpc_client_plain", json!(false)),
            ("support_features", json!(SUPPORT_FEATURES)),
            ("trace_enable", json!(false)),
            ("agent_enable", json!(false)),
            ("pod_connect_address", json!("")),
            ("disk_encrypted", json!(false)),
            ("enable_auto_topic", json!(false)),
        ];
        if self.public {
            fields.push(("public_connect_address", json!(self.public_addresses())));
        }
        obj(fields)
    }

    fn partition_leader(&self, p: &Partition) -> Option<u32> {
        p.replicas.first().copied().filter(|b| self.broker_up(*b))
    }

    /// R3.
    pub fn cluster(&self) -> Value {
        let version = if self.engine_version == "2.7" {
            "2.7.2"
        } else {
            "3.4.0"
        };
        let brokers: Vec<Value> = self
            .brokers
            .iter()
            .map(|b| {
                json!({
                    "host": format!("192.168.{}.{}", self.octet, 10 + b.id),
                    "port": 9093,
                    "broker_id": b.id.to_string(),
                    "is_controller": b.id == self.controller,
                    "version": version,
                    "register_time": b.register_time,
                    "is_health": b.up,
                })
            })
            .collect();
        let partitions: Vec<&Partition> =
            self.topics.values().flat_map(|t| &t.partitions).collect();
        let online = partitions
            .iter()
            .filter(|p| self.partition_leader(p).is_some())
            .count();
        let replicas: usize = partitions.iter().map(|p| p.replicas.len()).sum();
        let isr: usize = partitions
            .iter()
            .map(|p| p.replicas.iter().filter(|b| self.broker_up(**b)).count())
            .sum();
        json!({
            "cluster": {
                "controller": self.controller.to_string(),
                "brokers": brokers,
                "topics_count": self.topics.len(),
                "partitions_count": partitions.len(),
                "online_partitions_count": online,
                "replicas_count": replicas,
                "isr_replicas_count": isr,
                "consumers_count": self.groups.len(),
            }
        })
    }

    /// R10. Uses the documented schema names (`total`, `topics[].name`, real booleans); the
    /// vendor example instead shows `count`, `id` and `"false"` strings — clients accept both.
    pub fn topics_list(&self) -> Value {
        let topics: Vec<Value> = self
            .topics
            .values()
            .map(|t| {
                json!({
                    "policiesOnly": false,
                    "name": t.name,
                    "replication": t.partitions.first().map_or(0, |p| p.replicas.len()),
                    "partition": t.partitions.len(),
                    "retention_time": t.retention_hours,
                    "sync_replication": false,
                    "sync_message_flush": false,
                    "assign_partition": false,
                    "external_configs": {},
                    "topic_type": if t.internal { 1 } else { 0 },
                    "topic_other_configs": [
                        {
                            "name": "max.message.bytes",
                            "valid_values": "[0...10485760]",
                            "default_value": "10485760",
                            "config_type": "dynamic",
                            "value": "10485760",
                            "value_type": "int"
                        },
                        {
                            "name": "message.timestamp.type",
                            "valid_values": "[CreateTime, LogAppendTime]",
                            "default_value": "LogAppendTime",
                            "config_type": "dynamic",
                            "value": "LogAppendTime",
                            "value_type": "string"
                        }
                    ],
                    "topic_desc": if t.internal { String::new() } else { format!("{} events", t.name) },
                    "created_at": t.created_at_ms,
                })
            })
            .collect();
        let used: u64 = self
            .topics
            .values()
            .filter(|t| !t.internal)
            .map(|t| t.partitions.len() as u64)
            .sum();
        json!({
            "total": self.topics.len(),
            "size": topics.len(),
            "remain_partitions": self.partition_limit.saturating_sub(used),
            "max_partitions": self.partition_limit,
            "topics": topics,
        })
    }

    /// R11; `None` if the topic does not exist.
    pub fn topic_detail(&self, topic: &str) -> Option<Value> {
        let t = self.topics.get(topic)?;
        let partitions: Vec<Value> = t
            .partitions
            .iter()
            .map(|p| {
                let leader = self.partition_leader(p);
                let replicas: Vec<Value> = p
                    .replicas
                    .iter()
                    .enumerate()
                    .map(|(i, b)| {
                        let replica_leo = p.replica_leo.get(i).copied().unwrap_or(p.leo);
                        json!({
                            "broker": b,
                            "leader": leader == Some(*b),
                            "in_sync": self.broker_up(*b),
                            "size": p.replica_size(i),
                            "lag": p.leo.saturating_sub(replica_leo),
                        })
                    })
                    .collect();
                json!({
                    "partition": p.id,
                    "leader": leader.map_or(-1, i64::from),
                    "replicas": replicas,
                    "lso": p.lso,
                    "leo": p.leo,
                    "hw": p.leo,
                    "last_update_timestamp": p.last_update_ms,
                })
            })
            .collect();
        let subscribed: Vec<&String> = self
            .groups
            .values()
            .filter(|g| g.topics.iter().any(|x| x == topic))
            .map(|g| &g.id)
            .collect();
        Some(json!({
            "topic": t.name,
            "partitions": partitions,
            "group_subscribed": subscribed,
        }))
    }

    /// R6.
    pub fn disk_usage(&self, query: &DiskQuery) -> Value {
        let capacity = self.broker_disk_gb * GIB;
        let brokers: Vec<Value> = self
            .brokers
            .iter()
            .map(|b| {
                let mut entries: Vec<(u64, &str, u32)> = self
                    .topics
                    .values()
                    .flat_map(|t| {
                        t.partitions.iter().flat_map(move |p| {
                            p.replicas
                                .iter()
                                .enumerate()
                                .filter(move |(_, r)| **r == b.id)
                                .map(move |(i, _)| (p.replica_size(i), t.name.as_str(), p.id))
                        })
                    })
                    .collect();
                let used: u64 = entries.iter().map(|e| e.0).sum();
                let percent = |size: u64| size as f64 / capacity as f64 * 100.0;
                entries.retain(|e| e.0 >= query.min_size);
                if let Some(min) = query.percentage {
                    entries.retain(|e| percent(e.0) > min);
                }
                entries.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)).then(a.2.cmp(&b.2)));
                if let Some(top) = query.top {
                    entries.truncate(top);
                }
                let topic_list: Vec<Value> = entries
                    .iter()
                    .map(|(size, topic, partition)| {
                        json!({
                            "size": human_size(*size),
                            "topic_name": topic,
                            "topic_partition": partition.to_string(),
                            "percentage": percent(*size),
                        })
                    })
                    .collect();
                json!({
                    "broker_name": format!("broker-{}", b.id),
                    "data_disk_size": format!("{}G", self.broker_disk_gb),
                    "data_disk_use": human_size(used),
                    "data_disk_free": human_size(capacity.saturating_sub(used)),
                    "data_disk_use_percentage": format!("{:.0}", percent(used)),
                    "status": if b.up { "Success get info" } else { "Failed get info" },
                    "topic_list": topic_list,
                })
            })
            .collect();
        json!({ "broker_list": brokers })
    }

    fn group_state(group: &Group) -> &'static str {
        if group.running && !group.members.is_empty() {
            "STABLE"
        } else {
            "EMPTY"
        }
    }

    /// R7: groups whose id contains `filter`, paged.
    pub fn groups_list(&self, offset: usize, limit: usize, filter: Option<&str>) -> Value {
        let matching: Vec<&Group> = self
            .groups
            .values()
            .filter(|g| filter.is_none_or(|f| g.id.contains(f)))
            .collect();
        let page: Vec<Value> = matching
            .iter()
            .skip(offset)
            .take(limit)
            .map(|g| {
                json!({
                    "group_id": g.id,
                    "state": Self::group_state(g),
                    "coordinator_id": g.coordinator,
                })
            })
            .collect();
        json!({ "groups": page, "total": matching.len() })
    }

    /// R4 (`with_assignment`) and R8: the documented schema, fields under `"group"`.
    pub fn group_detail(&self, group: &str, with_assignment: bool) -> Option<Value> {
        let g = self.groups.get(group)?;
        // Range-style assignment over the group's partitions, member by member.
        let all: Vec<(String, u32)> = g.committed.keys().cloned().collect();
        let n = g.members.len().max(1);
        let members: Vec<Value> = g
            .members
            .iter()
            .enumerate()
            .map(|(k, m)| {
                let mut fields = vec![
                    ("host", json!(m.host)),
                    ("member_id", json!(m.member_id)),
                    ("client_id", json!(m.client_id)),
                ];
                if with_assignment {
                    let mut by_topic: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
                    for (i, (topic, partition)) in all.iter().enumerate() {
                        if i % n == k {
                            by_topic.entry(topic).or_default().push(*partition);
                        }
                    }
                    let assignment: Vec<Value> = by_topic
                        .into_iter()
                        .map(
                            |(topic, partitions)| json!({"topic": topic, "partitions": partitions}),
                        )
                        .collect();
                    fields.push(("assignment", json!(assignment)));
                }
                obj(fields)
            })
            .collect();
        let offsets: Vec<Value> = g
            .committed
            .iter()
            .map(|((topic, partition), committed)| {
                let leo = self.leo(topic, *partition);
                json!({
                    "partition": partition,
                    "lag": leo.saturating_sub(*committed),
                    "topic": topic,
                    "message_current_offset": committed,
                    "message_log_end_offset": leo,
                })
            })
            .collect();
        Some(json!({
            "group": {
                "members": members,
                "state": Self::group_state(g),
                "group_id": g.id,
                "coordinator_id": g.coordinator,
                "group_message_offsets": offsets,
                "assignment_strategy": "range",
            }
        }))
    }

    /// R5.
    pub fn coordinators(&self) -> Value {
        let list: Vec<Value> = self
            .groups
            .values()
            .map(|g| {
                json!({
                    "group_id": g.id,
                    "id": g.coordinator,
                    "host": format!("192.168.{}.{}", self.octet, 10 + g.coordinator),
                    "port": 9093,
                })
            })
            .collect();
        json!({ "coordinators": list })
    }

    fn task_json(&self, task: &Task, fleet: &Fleet) -> Value {
        json!({
            "id": task.id,
            "name": task.name,
            "user_name": fleet.user_name,
            "user_id": fleet.user_id,
            "params": task.params,
            "status": task.status,
            "created_at": iso_ms(task.created_ms),
            "updated_at": iso_ms(task.updated_ms),
        })
    }

    /// R19: newest first; `task_count` (a String) counts the tasks matching the time filter.
    pub fn tasks_list(&self, fleet: &Fleet, query: &TaskQuery) -> Value {
        let (count, tasks) = query.select(self.tasks.iter(), |t| (t.created_ms, &t.id));
        let page: Vec<Value> = tasks
            .into_iter()
            .map(|t| self.task_json(t, fleet))
            .collect();
        json!({ "task_count": count.to_string(), "tasks": page })
    }

    /// R20: same shape as R19, one task.
    pub fn task(&self, fleet: &Fleet, id: &str) -> Option<Value> {
        let task = self.tasks.iter().find(|t| t.id == id)?;
        Some(json!({ "task_count": "1", "tasks": [self.task_json(task, fleet)] }))
    }

    /// R21.
    pub fn tags(&self) -> Value {
        json!({ "tags": self.tags_json() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_use_powers_of_1024() {
        assert_eq!(human_size(0), "0");
        assert_eq!(human_size(8 * 1024), "8.0K");
        assert_eq!(human_size(12 * 1024), "12K");
        assert_eq!(human_size(53 * 1024 * 1024), "53M");
        assert_eq!(human_size(66 * GIB), "66G");
        assert_eq!(human_size(1536 * 1024 * 1024), "1.5G");
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("1G"), Some(GIB));
        assert_eq!(parse_size("1k"), Some(1024));
        assert_eq!(parse_size("8.0K"), Some(8192));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size("-1G"), None);
    }

    #[test]
    fn iso_times_have_milliseconds() {
        assert_eq!(iso_ms(1_589_512_791_046), "2020-05-15T03:19:51.046Z");
    }

    #[test]
    fn generation_is_deterministic() {
        let config = SimConfig::deterministic();
        let a = Fleet::generate(&config).summary();
        let b = Fleet::generate(&config).summary();
        assert_eq!(a, b);
        let mut fleet = Fleet::generate(&config);
        fleet.step(false);
        assert_ne!(fleet.summary(), a);
    }

    #[test]
    fn disk_fill_reaches_ratio() {
        let config = SimConfig::deterministic();
        let mut fleet = Fleet::generate(&config);
        let id = fleet.instances.keys().next().cloned().unwrap_or_default();
        assert!(fleet.fill_disk(&id, 0.5));
        let instance = &fleet.instances[&id];
        let used = instance.used_storage_gb();
        let total = instance.total_storage_gb();
        assert!(
            used >= total / 2 - 1 && used <= total / 2,
            "{used} of {total}"
        );
    }
}
