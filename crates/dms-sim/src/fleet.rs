//! The simulated fleet: every engine's instances, the logical clock, and the generators the
//! fleet is built and evolved from. Engine-neutral: each engine's model lives in its module
//! (`kafka`, `rocketmq`, `rabbitmq`); this container only creates, finds, steps and removes
//! instances, and routes control operations to the engine of the addressed instance.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::generate::{hex_id, instance_name};
use crate::kafka::{Account, Instance};
use crate::{FleetSpec, Project, SimConfig};

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
    /// The account owning every instance.
    pub account: Account,
}

impl Fleet {
    pub(crate) fn generate(config: &SimConfig) -> Fleet {
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
            account: Account {
                user_id,
                user_name: "paas_dms".to_owned(),
            },
        };
        for i in 0..config.fleet.kafka_instances {
            let project = fleet.project_round_robin(i);
            let name = instance_name("kafka", i);
            let instance = fleet.build_kafka(&project, name, true);
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
    pub(crate) fn engine_of(&self, instance_id: &str) -> Option<&'static str> {
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
    pub(crate) fn instance_ids(&self) -> Vec<String> {
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

    pub(crate) fn delete_instance(&mut self, instance_id: &str) -> bool {
        self.instances.remove(instance_id).is_some()
            || self.rocketmq.remove(instance_id).is_some()
            || self.rabbitmq.remove(instance_id).is_some()
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.base_time_ms + i64::try_from(self.tick).unwrap_or(0) * self.tick_ms
    }

    /// A project created after start: its instances are placed in its region.
    pub(crate) fn add_project(&mut self, project: Project) {
        self.projects.push(project);
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

    /// The next Kafka instance of the fleet (its serial, its share of the generator).
    fn build_kafka(&mut self, project: &Project, name: String, populated: bool) -> Instance {
        self.serial += 1;
        let now = self.now_ms();
        Instance::build(
            &mut self.rng,
            &self.spec,
            project,
            name,
            self.serial,
            now,
            populated,
        )
    }

    pub(crate) fn create_instance(&mut self, project_id: &str, name: &str) -> String {
        let project = self.project_of(project_id);
        let instance = self.build_kafka(&project, name.to_owned(), false);
        let id = instance.id.clone();
        self.instances.insert(id.clone(), instance);
        id
    }

    pub(crate) fn step(&mut self, churn: bool) {
        self.tick += 1;
        let now = self.now_ms();
        let Fleet { rng, instances, .. } = self;
        for instance in instances.values_mut() {
            instance.step(rng, now, churn);
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
                let instance = self.build_kafka(&project, name, true).being_created(now);
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

    pub(crate) fn set_instance_status(&mut self, instance_id: &str, status: &str) -> bool {
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

    pub(crate) fn delete_topic(&mut self, instance_id: &str, topic: &str) -> bool {
        let Fleet { rng, instances, .. } = self;
        instances
            .get_mut(instance_id)
            .is_some_and(|instance| instance.delete_topic(rng, topic))
    }
    pub(crate) fn delete_group(&mut self, instance_id: &str, group: &str) -> bool {
        self.instances
            .get_mut(instance_id)
            .is_some_and(|i| i.delete_group(group))
    }
    pub(crate) fn set_consumer_running(
        &mut self,
        instance_id: &str,
        group: &str,
        running: bool,
    ) -> bool {
        if let Some(instance) = self.rocketmq.get_mut(instance_id) {
            return instance.set_consumer_running(group, running);
        }
        let Fleet { rng, instances, .. } = self;
        instances
            .get_mut(instance_id)
            .is_some_and(|instance| instance.set_consumer_running(rng, group, running))
    }
    pub(crate) fn kafka_mut(&mut self, instance_id: &str) -> Option<&mut Instance> {
        self.instances.get_mut(instance_id)
    }

    pub(crate) fn rocketmq_mut(
        &mut self,
        instance_id: &str,
    ) -> Option<&mut crate::rocketmq::Instance> {
        self.rocketmq.get_mut(instance_id)
    }

    pub(crate) fn set_broker_up(&mut self, instance_id: &str, broker_id: u32, up: bool) -> bool {
        self.instances
            .get_mut(instance_id)
            .is_some_and(|instance| instance.set_broker_up(broker_id, up))
    }
    pub(crate) fn fill_disk(&mut self, instance_id: &str, used_ratio: f64) -> bool {
        self.instances
            .get_mut(instance_id)
            .is_some_and(|instance| instance.fill_disk(used_ratio))
    }
    pub(crate) fn add_task(
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
        let id = hex_id(rng, 32);
        instance.add_task(id.clone(), name, status, created);
        Some(id)
    }
    pub(crate) fn delete_task(&mut self, instance_id: &str, task_id: &str) -> bool {
        if let Some(instance) = self.rabbitmq.get_mut(instance_id) {
            return instance.delete_task(task_id);
        }
        if let Some(instance) = self.rocketmq.get_mut(instance_id) {
            return instance.delete_task(task_id);
        }
        self.instances
            .get_mut(instance_id)
            .is_some_and(|instance| instance.delete_task(task_id))
    }
    /// Stops or starts a RabbitMQ plugin; `false` if there is no such instance or plugin.
    pub(crate) fn set_plugin_running(
        &mut self,
        instance_id: &str,
        plugin: &str,
        running: bool,
    ) -> bool {
        self.rabbitmq
            .get_mut(instance_id)
            .is_some_and(|instance| instance.set_plugin_running(plugin, running))
    }

    /// The RabbitMQ depth model of an instance (vhosts, queues), for the control API.
    pub(crate) fn rabbitmq_depth(
        &mut self,
        instance_id: &str,
    ) -> Option<&mut crate::rabbitmq::depth::Depth> {
        let instance = self.rabbitmq.get_mut(instance_id)?;
        instance.pinned = true;
        Some(&mut instance.depth)
    }

    /// `ShowQuotasResponse` of a project: its instances of each engine against the default
    /// quota of 100, and the tag quota per instance.
    pub(crate) fn quotas(&self, project_id: &str) -> Value {
        let used = |projects: &mut dyn Iterator<Item = &String>| {
            projects.filter(|p| *p == project_id).count()
        };
        let resources = [
            (
                "rabbitmqInstance",
                100,
                used(&mut self.rabbitmq.values().map(|i| &i.project_id)),
            ),
            (
                "kafkaInstance",
                100,
                used(&mut self.instances.values().map(|i| &i.project_id)),
            ),
            (
                "rocketmqInstance",
                100,
                used(&mut self.rocketmq.values().map(|i| &i.project_id)),
            ),
            ("tags", 20, 0),
        ];
        json!({ "quotas": { "resources": resources
            .iter()
            .map(|(kind, quota, used)| json!({ "type": kind, "quota": quota, "used": used }))
            .collect::<Vec<_>>() } })
    }

    pub(crate) fn summary(&self) -> Value {
        json!({
            "tick": self.tick,
            "now_ms": self.now_ms(),
            "instances": self.instances.values().map(|i| i.summary()).collect::<Vec<_>>(),
            "rocketmq": self.rocketmq.values().map(|i| i.summary()).collect::<Vec<_>>(),
            "rabbitmq": self.rabbitmq.values().map(|i| i.summary()).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let (used, total) = (instance.used_storage_gb(), instance.total_storage_gb());
        assert!(
            used >= total / 2 - 1 && used <= total / 2,
            "{used} of {total}"
        );
    }
}
