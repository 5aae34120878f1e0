//! Simulated RabbitMQ instances (engine `rabbitmq`): state, evolution and the JSON of every
//! endpoint, shaped like the documented examples in `fixtures/api/rabbitmq` (rabbitmq.md).
//!
//! Each instance draws from its own generator, seeded by its fleet serial: the RabbitMQ fleet
//! stays the same whatever the other engines draw.

pub(crate) mod depth;

use serde_json::{Value, json};

use crate::Project;
use crate::endpoints::Endpoint;
use crate::error::ApiError;
use crate::generate::{hex_id, uuid};
use crate::model;
use crate::query::TaskQuery;
use crate::wire::iso_ms;

/// Plugins of a new instance: (name, version, enabled). The first three are the documented
/// example (R3), the others are common RabbitMQ plugins (`rabbitmq_shovel` is in W6).
const PLUGINS: &[(&str, &str, bool)] = &[
    ("rabbitmq_amqp1_0", "3.8.35", true),
    ("rabbitmq_delayed_message_exchange", "3.8.0", true),
    ("rabbitmq_federation", "3.8.35", false),
    ("rabbitmq_shovel", "3.8.35", true),
    ("rabbitmq_mqtt", "3.8.35", true),
    ("rabbitmq_stomp", "3.8.35", false),
];

/// Names of background tasks; the first is the documented example.
const TASK_NAMES: &[&str] = &[
    "bindInstancePublicIp",
    "modifyPluginStatus",
    "extendInstance",
    "restartInstance",
];

/// At most this many tasks are kept, oldest dropped first (the console keeps a history).
const MAX_TASKS: usize = 20;

pub(crate) struct Plugin {
    pub name: String,
    version: String,
    pub enable: bool,
    pub running: bool,
}

pub(crate) struct Task {
    pub id: String,
    name: String,
    pub status: String,
    created_ms: i64,
    updated_ms: i64,
    /// Added through the control API: evolution leaves it as it is.
    pinned: bool,
}

impl model::Task for Task {
    fn id(&self) -> &str {
        &self.id
    }
}

pub(crate) struct Instance {
    /// Touched through the control API: churn leaves it alone.
    pub pinned: bool,
    pub id: String,
    pub project_id: String,
    pub region: String,
    pub name: String,
    pub status: String,
    created_at_ms: i64,
    rng: fastrand::Rng,
    cluster: bool,
    public: Option<(String, String)>,
    total_gb: u64,
    used_gb: u64,
    user_id: String,
    vpc_id: String,
    subnet_id: String,
    security_group_id: String,
    storage_resource_id: String,
    pub az: String,
    ip: String,
    pub plugins: Vec<Plugin>,
    pub tasks: Vec<Task>,
    /// Vhosts, queues, exchanges and users (their own random stream).
    pub depth: depth::Depth,
}

/// A JSON object from pairs, in order (`json!` of 43 keys exceeds the macro recursion limit).
fn obj(pairs: Vec<(&str, Value)>) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn task_params(name: &str) -> String {
    match name {
        "bindInstancePublicIp" => r#"{"enable_public_ip":true}"#.to_owned(),
        "modifyPluginStatus" => r#"{"plugins":"rabbitmq_shovel","enable":true}"#.to_owned(),
        _ => "{}".to_owned(),
    }
}

impl Instance {
    /// A populated, RUNNING instance; `serial` numbers instances across the fleet. Odd serials
    /// are 3-node clusters with public access, even ones single nodes without.
    pub(crate) fn build(
        rng: &mut fastrand::Rng,
        project: &Project,
        name: String,
        serial: u64,
        now_ms: i64,
    ) -> Instance {
        let _ = rng;
        let mut rng = fastrand::Rng::with_seed(0x0ab1_7000_0000_0000 ^ serial);
        let cluster = serial % 2 == 1;
        let public = cluster.then(|| {
            let address = format!("100.85.{}.{}", rng.u8(1..255), rng.u8(1..255));
            (uuid(&mut rng), address)
        });
        let total_gb = if cluster { 300 } else { 100 };
        let mut instance = Instance {
            pinned: false,
            id: uuid(&mut rng),
            project_id: project.project_id.clone(),
            region: project.region.clone(),
            name,
            status: "RUNNING".to_owned(),
            created_at_ms: now_ms - 90 * 86_400_000,
            cluster,
            public,
            total_gb,
            used_gb: 4 + rng.u64(0..20),
            user_id: hex_id(&mut rng, 32),
            vpc_id: uuid(&mut rng),
            subnet_id: uuid(&mut rng),
            security_group_id: uuid(&mut rng),
            storage_resource_id: uuid(&mut rng),
            az: hex_id(&mut rng, 32),
            ip: format!("192.168.{}.{}", rng.u8(0..255), rng.u8(2..255)),
            plugins: PLUGINS
                .iter()
                .map(|(name, version, enable)| Plugin {
                    name: (*name).to_owned(),
                    version: (*version).to_owned(),
                    enable: *enable,
                    running: *enable,
                })
                .collect(),
            tasks: Vec::new(),
            depth: depth::Depth::build(serial, cluster),
            rng,
        };
        // Newest first: one still running, one failed, one done (the documented example).
        for (age_h, name, status) in [
            (1, "modifyPluginStatus", "EXECUTING"),
            (26, "extendInstance", "FAILED"),
            (50, "bindInstancePublicIp", "SUCCESS"),
        ] {
            let created = now_ms - age_h * 3_600_000;
            instance.push_task(name, status, created, false);
            if status != "EXECUTING"
                && let Some(task) = instance.tasks.last_mut()
            {
                task.updated_ms = created + 4_659;
            }
        }
        instance
    }

    fn push_task(&mut self, name: &str, status: &str, created_ms: i64, pinned: bool) -> String {
        let id = hex_id(&mut self.rng, 32);
        self.tasks.push(Task {
            id: id.clone(),
            name: name.to_owned(),
            status: status.to_owned(),
            created_ms,
            updated_ms: created_ms,
            pinned,
        });
        if self.tasks.len() > MAX_TASKS {
            let oldest = self
                .tasks
                .iter()
                .enumerate()
                .filter(|(_, t)| !t.pinned)
                .min_by_key(|(_, t)| t.created_ms)
                .map(|(i, _)| i);
            if let Some(index) = oldest {
                self.tasks.remove(index);
            }
        }
        id
    }

    /// Adds a task (control API) that started `age_ms` ago; evolution never changes it.
    pub(crate) fn add_task(
        &mut self,
        name: &str,
        status: &str,
        now_ms: i64,
        age_ms: i64,
    ) -> String {
        self.pinned = true;
        self.push_task(name, status, now_ms - age_ms.max(0), true)
    }

    pub(crate) fn delete_task(&mut self, task_id: &str) -> bool {
        model::delete_task(&mut self.tasks, task_id)
    }

    /// Stops or starts an enabled plugin (control API); `false` if there is no such plugin.
    pub(crate) fn set_plugin_running(&mut self, plugin: &str, running: bool) -> bool {
        let Some(found) = self.plugins.iter_mut().find(|p| p.name == plugin) else {
            return false;
        };
        found.running = running && found.enable;
        self.pinned = true;
        true
    }

    /// One logical tick: running tasks finish (a third of them fail), as Kafka's do. With
    /// churn, new tasks start, storage use drifts, and an enabled plugin sometimes stops
    /// running and later comes back.
    pub(crate) fn step(&mut self, rng: &mut fastrand::Rng, now_ms: i64, churn: bool) {
        let _ = rng;
        self.depth.step(churn);
        for i in 0..self.tasks.len() {
            let finish = self.rng.u32(0..4) == 0;
            let fail = self.rng.u32(0..3) == 0;
            let task = &mut self.tasks[i];
            if !task.pinned && task.status == "EXECUTING" && finish {
                task.status = if fail { "FAILED" } else { "SUCCESS" }.to_owned();
                task.updated_ms = now_ms;
            }
        }
        if !churn || self.pinned {
            return;
        }
        for plugin in self.plugins.iter_mut().filter(|p| p.enable) {
            if plugin.running && self.rng.u32(0..40) == 0 {
                plugin.running = false;
            } else if !plugin.running && self.rng.u32(0..6) == 0 {
                plugin.running = true;
            }
        }
        let drift = self.rng.i64(-1..=1);
        self.used_gb = self
            .used_gb
            .saturating_add_signed(drift)
            .clamp(1, self.storage_gb());
        if self.rng.u32(0..15) == 0 {
            let name = TASK_NAMES[self.rng.usize(0..TASK_NAMES.len())];
            self.push_task(name, "EXECUTING", now_ms, false);
        }
    }

    pub(crate) fn brokers(&self) -> u64 {
        if self.cluster { 3 } else { 1 }
    }

    /// Message storage: what the total leaves after the system's share (the examples show
    /// 88 of 100 GB).
    fn storage_gb(&self) -> u64 {
        self.total_gb * 88 / 100
    }

    fn tags_json(&self) -> Value {
        json!([
            { "key": "owner", "value": "team-messaging" },
            { "key": "env", "value": if self.cluster { "prod" } else { "staging" } },
        ])
    }

    fn specification(&self) -> &'static str {
        if self.cluster {
            "4vCPUs 8GB*3"
        } else {
            "2vCPUs 4GB"
        }
    }

    fn resource_spec_code(&self) -> &'static str {
        if self.cluster {
            "dms.instance.rabbitmq.cluster.c3.4u8g.3"
        } else {
            "dms.instance.rabbitmq.single.c3.2u4g"
        }
    }

    /// `ShowInstanceResp` (R1 entry and R2): all 43 documented fields with their documented
    /// types; the public-IP fields are `null` when public access is off, as documented.
    pub(crate) fn show(&self) -> Value {
        let (public_id, public_address) = match &self.public {
            Some((id, address)) => (json!(id), json!(address)),
            None => (Value::Null, Value::Null),
        };
        obj(vec![
            ("access_user", json!("root_01")),
            ("broker_num", json!(self.brokers())),
            ("name", json!(self.name)),
            ("engine", json!("rabbitmq")),
            ("engine_version", json!("3.8.35")),
            ("specification", json!(self.specification())),
            ("storage_space", json!(self.storage_gb())),
            ("used_storage_space", json!(self.used_gb)),
            ("connect_address", json!(self.ip)),
            ("port", json!(5672)),
            ("status", json!(self.status)),
            ("description", json!("")),
            ("instance_id", json!(self.id)),
            ("resource_spec_code", json!(self.resource_spec_code())),
            ("charging_mode", json!(1)),
            ("vpc_id", json!(self.vpc_id)),
            ("vpc_name", json!("vpc-messaging")),
            ("created_at", json!(self.created_at_ms.to_string())),
            ("user_id", json!(self.user_id)),
            ("user_name", json!("dms_sim")),
            ("order_id", json!("")),
            ("maintain_begin", json!("22:00:00")),
            ("maintain_end", json!("02:00:00")),
            ("enable_publicip", json!(self.public.is_some())),
            ("publicip_address", json!(public_address)),
            ("publicip_id", json!(public_id)),
            (
                "management_connect_address",
                json!(format!("http://{}:15672", self.ip)),
            ),
            ("ssl_enable", json!(false)),
            ("enterprise_project_id", json!("0")),
            ("is_logical_volume", json!(true)),
            ("extend_times", json!(0)),
            (
                "type",
                json!(if self.cluster { "cluster" } else { "single" }),
            ),
            (
                "product_id",
                json!(if self.cluster {
                    "c6.4u8g.cluster"
                } else {
                    "c6.2u4g.single"
                }),
            ),
            ("security_group_id", json!(self.security_group_id)),
            ("security_group_name", json!("Sys-default")),
            ("subnet_id", json!(self.subnet_id)),
            ("available_zones", json!([self.az])),
            ("total_storage_space", json!(self.total_gb)),
            ("storage_resource_id", json!(self.storage_resource_id)),
            ("storage_spec_code", json!("dms.physical.storage.ultra.v2")),
            ("ipv6_enable", json!(false)),
            ("ipv6_connect_addresses", json!([])),
            ("tags", json!(self.tags_json())),
        ])
    }

    /// The V1 object (R12 and R13 entries): the R12 table's fields plus the fields only the
    /// R13 examples show. `maintain_*` use the documented V1 `HH:mm`. `extend_times` is a
    /// number as every example sends it (the V1 tables say String; the client reads both).
    /// `error_code` is `null` unless the instance failed.
    pub(crate) fn show_v1(&self) -> Value {
        let v2 = self.show();
        let mut object = json!({
            "subnet_name": "subnet-messaging",
            "subnet_cidr": "192.168.0.0/24",
            "maintain_begin": "22:00",
            "maintain_end": "02:00",
            "error_code": match self.status.as_str() {
                "CREATEFAILED" | "ERROR" | "EXTENDEDFAILED" => json!("public.00.0001"),
                _ => Value::Null,
            },
            "service_type": "advanced",
            "storage_type": "hec",
            "connector_enable": false,
            "connector_id": "",
            "rest_enable": false,
            "rest_connect_address": "",
            "public_boundwidth": if self.public.is_some() { 5 } else { 0 },
            "message_query_inst_enable": false,
            "vpc_client_plain": false,
            "support_features": "feature.physerver.rabbitmq.plugin.manager",
            "trace_enable": false,
        });
        const FROM_V2: &[&str] = &[
            "name",
            "engine",
            "engine_version",
            "specification",
            "storage_space",
            "used_storage_space",
            "connect_address",
            "port",
            "status",
            "description",
            "instance_id",
            "resource_spec_code",
            "type",
            "charging_mode",
            "vpc_id",
            "vpc_name",
            "created_at",
            "product_id",
            "security_group_id",
            "security_group_name",
            "subnet_id",
            "available_zones",
            "user_id",
            "user_name",
            "access_user",
            "order_id",
            "enable_publicip",
            "publicip_address",
            "publicip_id",
            "management_connect_address",
            "ssl_enable",
            "enterprise_project_id",
            "is_logical_volume",
            "extend_times",
            "total_storage_space",
            "storage_resource_id",
            "storage_spec_code",
            "ipv6_enable",
            "ipv6_connect_addresses",
        ];
        if let (Some(target), Some(source)) = (object.as_object_mut(), v2.as_object()) {
            for key in FROM_V2 {
                if let Some(value) = source.get(*key) {
                    target.insert((*key).to_owned(), value.clone());
                }
            }
        }
        object
    }

    /// R3.
    fn plugins_json(&self) -> Value {
        let plugins: Vec<Value> = self
            .plugins
            .iter()
            .map(|p| {
                json!({
                    "running": p.running,
                    "enable": p.enable,
                    "name": p.name,
                    "version": p.version,
                })
            })
            .collect();
        json!({ "plugins": plugins })
    }

    fn task_json(&self, task: &Task) -> Value {
        json!({
            "id": task.id,
            "name": task.name,
            "user_name": "dms_sim",
            "user_id": self.user_id,
            "params": task_params(&task.name),
            "status": task.status,
            "created_at": iso_ms(task.created_ms),
            "updated_at": iso_ms(task.updated_ms),
        })
    }

    /// R5: newest first; `task_count` (a numeric string) counts the tasks in the time window;
    /// `start` is the 1-based position of the first task returned.
    fn tasks_list(&self, query: &TaskQuery) -> Value {
        let (count, tasks) = query.select(self.tasks.iter(), |t| (t.created_ms, &t.id));
        let page: Vec<Value> = tasks.into_iter().map(|t| self.task_json(t)).collect();
        json!({ "task_count": count.to_string(), "tasks": page })
    }

    /// What `GET /_sim/state` shows of the instance.
    pub(crate) fn summary(&self) -> Value {
        json!({
            "instance_id": self.id,
            "project_id": self.project_id,
            "region": self.region,
            "name": self.name,
            "status": self.status,
            "type": if self.cluster { "cluster" } else { "single" },
            "plugins": self.plugins.iter().map(|p| json!({
                "name": p.name, "enable": p.enable, "running": p.running,
            })).collect::<Vec<_>>(),
            "tasks": self.tasks.iter().map(|t| json!({
                "id": t.id, "name": t.name, "status": t.status,
            })).collect::<Vec<_>>(),
            "depth": self.depth.summary(),
        })
    }
}

/// Answers an instance-scoped endpoint of this engine (`item` is the trailing path parameter,
/// `vhost` the vhost one as sent).
pub(crate) fn dispatch(
    instance: &Instance,
    endpoint: Endpoint,
    vhost: Option<&str>,
    item: &str,
    query: &[(String, String)],
) -> Result<Value, ApiError> {
    if let Some(answer) = instance.depth.dispatch(endpoint, vhost, item, query) {
        return answer;
    }
    match endpoint {
        Endpoint::InstanceGet => Ok(instance.show()),
        Endpoint::InstanceGetV1 => Ok(instance.show_v1()),
        Endpoint::RabbitmqPlugins => Ok(instance.plugins_json()),
        Endpoint::RabbitmqTags => Ok(json!({ "tags": instance.tags_json() })),
        Endpoint::Tasks => Ok(instance.tasks_list(&crate::query::task_query(query)?)),
        // R6 answers in the list's shape, with one task.
        Endpoint::TaskGet => instance
            .tasks
            .iter()
            .find(|t| t.id == item)
            .map(|t| json!({ "task_count": "1", "tasks": [instance.task_json(t)] }))
            .ok_or_else(|| ApiError::dms(404, "DMS.00404001", "The requested URL does not exist.")),
        _ => Err(ApiError::url_not_found()),
    }
}
