//! A faithful, stateful simulator of the Huawei Cloud DMS APIs of all three engines (Kafka,
//! RocketMQ, RabbitMQ) and of IAM.
//!
//! It serves the read endpoints with the documented paths, query parameters, pagination, JSON
//! types and error bodies (the vendor's examples are in `fixtures/api/{kafka,rocketmq,rabbitmq}`;
//! `tests/sim/fidelity*.rs` compare the answers with them); verifies AK/SK signatures with the
//! real algorithm (`dms-sign`) and issues/expires IAM tokens; keeps a living fleet, one module
//! per engine, whose offsets, lag, queues, tasks and instances evolve one logical tick at a
//! time; and misbehaves on request (throttling, 5xx, latency, stalls, malformed or truncated
//! JSON).
//!
//! Everything is deterministic given [`SimConfig::seed`]: two simulators built from the same
//! configuration answer byte-identical bodies until one of them is stepped or controlled.
//! Timestamps derive from [`SimConfig::base_time_ms`] and the tick counter, never from the
//! wall clock (the only wall-clock uses are the `X-Sdk-Date` skew check and token `expires_at`).

mod control;
mod error;
mod fleet;
mod generate;
mod http;
mod kafka;
mod locks;
mod produced;
mod query;
mod rabbitmq;
mod rocketmq;
mod wire;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::fleet::Fleet;
use crate::locks::{lock, read, write};

/// An AK/SK pair the simulator accepts.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub access_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

/// An IAM user that may obtain tokens with `POST /v3/auth/tokens`.
#[derive(Clone, PartialEq, Eq)]
pub struct IamUser {
    pub name: String,
    pub password: String,
    pub domain: String,
}

impl std::fmt::Debug for IamUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IamUser")
            .field("name", &self.name)
            .field("password", &"<redacted>")
            .field("domain", &self.domain)
            .finish()
    }
}

/// A project: IAM resolves the region name to the project id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    pub region: String,
    pub project_id: String,
}

/// Size of the generated fleet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetSpec {
    pub kafka_instances: usize,
    /// RocketMQ (`reliability`) instances, spread over the projects like Kafka's.
    pub rocketmq_instances: usize,
    pub rabbitmq_instances: usize,
    pub brokers_per_instance: usize,
    /// Normal topics per instance; `__consumer_offsets` comes on top.
    pub topics_per_instance: usize,
    pub partitions_per_topic: usize,
    pub groups_per_instance: usize,
    pub tasks_per_instance: usize,
}

/// Everything the simulator is built from.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Seed of the deterministic fleet generation and evolution.
    pub seed: u64,
    pub fleet: FleetSpec,
    pub credentials: Vec<AccessKey>,
    pub iam_users: Vec<IamUser>,
    /// Fleet instances are spread round-robin over these projects.
    pub projects: Vec<Project>,
    /// Lifetime of IAM tokens, measured with `tokio::time::Instant` (default 24 h).
    pub token_validity: Duration,
    /// Largest accepted difference between `X-Sdk-Date` and the wall clock (default 15 min).
    pub max_clock_skew: Duration,
    /// Logical fleet clock start, unix ms.
    pub base_time_ms: i64,
    /// Logical time one [`Simulator::step`] advances (default 10 s).
    pub tick: Duration,
    /// Minimum interval between two topic-detail (R11) calls on one instance; the documented
    /// limit is one call per second. `Duration::ZERO` disables the check.
    pub topic_detail_interval: Duration,
    /// When true, `step()` also makes seeded random "life events": groups stop and restart,
    /// instances are created and deleted, new tasks start. Off in `deterministic()`.
    pub churn: bool,
    /// Added before every DMS and IAM answer (after the arrival checks: the gateway limit and
    /// the topic-detail limit count a request when it arrives). Default zero.
    pub latency: Duration,
    /// The API gateway's limit per AK (or token): this many requests per second, with a burst
    /// of as many; beyond it 429 `APIGW.0308`. `None` (default) = no limit.
    pub rate_limit: Option<u32>,
}

impl SimConfig {
    /// A small, stable fleet for tests: 2 projects in 2 regions, 3 Kafka instances with 3 brokers,
    /// 3 topics × 3 partitions (+ `__consumer_offsets`), 3 groups (STABLE, EMPTY, STABLE) and
    /// 3 tasks (SUCCESS, FAILED, EXECUTING) each. Nothing changes unless stepped or controlled.
    pub fn deterministic() -> Self {
        SimConfig {
            seed: 0x5eed_d15c_0ffe_e001,
            fleet: FleetSpec {
                kafka_instances: 3,
                rocketmq_instances: 1,
                rabbitmq_instances: 1,
                brokers_per_instance: 3,
                topics_per_instance: 3,
                partitions_per_topic: 3,
                groups_per_instance: 3,
                tasks_per_instance: 3,
            },
            credentials: vec![AccessKey {
                access_key: "SIMULATORAK000000001".to_owned(),
                secret_key: "simulator-secret-key-0001".to_owned(),
            }],
            iam_users: vec![IamUser {
                name: "monitor".to_owned(),
                password: "monitor-password".to_owned(),
                domain: "example-domain".to_owned(),
            }],
            projects: vec![
                Project {
                    region: "cn-north-4".to_owned(),
                    project_id: "0b0e4b5d1e8f4d6c9a7f3e2d1c0b9a88".to_owned(),
                },
                Project {
                    region: "ap-southeast-1".to_owned(),
                    project_id: "1c1f5c6e2f9a5e7dab8a4f3e2d1c0a99".to_owned(),
                },
            ],
            token_validity: Duration::from_secs(24 * 3600),
            max_clock_skew: Duration::from_secs(15 * 60),
            // 2024-01-01T00:00:00Z
            base_time_ms: 1_704_067_200_000,
            tick: Duration::from_secs(10),
            topic_detail_interval: Duration::from_secs(1),
            churn: false,
            latency: Duration::ZERO,
            rate_limit: None,
        }
    }

    /// A lively fleet for `--demo`: 5 instances, more topics and groups, and churn.
    pub fn demo() -> Self {
        SimConfig {
            seed: 0xdee_0dee_0001,
            fleet: FleetSpec {
                kafka_instances: 5,
                rocketmq_instances: 2,
                rabbitmq_instances: 2,
                brokers_per_instance: 3,
                topics_per_instance: 6,
                partitions_per_topic: 6,
                groups_per_instance: 5,
                tasks_per_instance: 4,
            },
            churn: true,
            // A live fleet lives now: timestamps (task ages, last writes) read as real ones.
            base_time_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            ..SimConfig::deterministic()
        }
    }
}

impl SimConfig {
    /// `count` projects, all in `cn-north-4` (IAM resolves the region to the first), with
    /// distinct 32-hex ids derived from `seed`.
    pub fn generated_projects(seed: u64, count: u32) -> Vec<Project> {
        let mut rng = fastrand::Rng::with_seed(seed ^ 0x9e0_1ec7);
        let mut ids = std::collections::BTreeSet::new();
        let mut projects = Vec::new();
        while projects.len() < count as usize {
            let project_id = generate::hex_id(&mut rng, 32);
            if ids.insert(project_id.clone()) {
                projects.push(Project {
                    region: "cn-north-4".to_owned(),
                    project_id,
                });
            }
        }
        projects
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig::deterministic()
    }
}

/// How an endpoint misbehaves.
///
/// JSON (control API): `{"kind":"throttle429"}`, `{"kind":"throttle404"}`,
/// `{"kind":"server_error","status":503}`, `{"kind":"latency","ms":500}`, `{"kind":"stall"}`,
/// `{"kind":"malformed"}`, `{"kind":"truncated"}`, `{"kind":"not_found"}`,
/// `{"kind":"unauthorized"}`, `{"kind":"dms_unauthorized"}`, `{"kind":"forbidden"}`,
/// `{"kind":"token_expired"}`, `{"kind":"clock_skew"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "FaultWire", into = "FaultWire")]
pub enum Fault {
    /// HTTP 429 `APIGW.0308`.
    Throttle429,
    /// HTTP 404 `DMS.10240407` (the documented DMS flow control).
    Throttle404,
    /// The given status with `DMS.00500000`.
    ServerError(u16),
    /// Answers normally after a delay (`tokio::time::sleep`).
    Latency(Duration),
    /// Never answers (until the server shuts down).
    Stall,
    /// HTTP 200 with a body that is not JSON.
    Malformed,
    /// HTTP 200 with the real body cut in half.
    Truncated,
    /// HTTP 404 `DMS.00404022`.
    NotFound,
    /// HTTP 401 `APIGW.0301`, as for a rejected signature.
    Unauthorized,
    /// HTTP 401 `DMS.10240104`: an API this account may not call (the credentials are fine).
    DmsUnauthorized,
    /// HTTP 403 `DMS.10240309`: access denied to this API.
    Forbidden,
    /// HTTP 401 `DMS.10240102`: the IAM token expired (as if the server dropped it early).
    TokenExpired,
    /// HTTP 401 `APIGW.0303`: the request's `X-Sdk-Date` is out of range (clock skew).
    ClockSkew,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum FaultWire {
    Throttle429,
    Throttle404,
    ServerError { status: u16 },
    Latency { ms: u64 },
    Stall,
    Malformed,
    Truncated,
    NotFound,
    Unauthorized,
    DmsUnauthorized,
    Forbidden,
    TokenExpired,
    ClockSkew,
}

impl From<FaultWire> for Fault {
    fn from(wire: FaultWire) -> Self {
        match wire {
            FaultWire::Throttle429 => Fault::Throttle429,
            FaultWire::Throttle404 => Fault::Throttle404,
            FaultWire::ServerError { status } => Fault::ServerError(status),
            FaultWire::Latency { ms } => Fault::Latency(Duration::from_millis(ms)),
            FaultWire::Stall => Fault::Stall,
            FaultWire::Malformed => Fault::Malformed,
            FaultWire::Truncated => Fault::Truncated,
            FaultWire::NotFound => Fault::NotFound,
            FaultWire::Unauthorized => Fault::Unauthorized,
            FaultWire::DmsUnauthorized => Fault::DmsUnauthorized,
            FaultWire::Forbidden => Fault::Forbidden,
            FaultWire::TokenExpired => Fault::TokenExpired,
            FaultWire::ClockSkew => Fault::ClockSkew,
        }
    }
}

impl From<Fault> for FaultWire {
    fn from(fault: Fault) -> Self {
        match fault {
            Fault::Throttle429 => FaultWire::Throttle429,
            Fault::Throttle404 => FaultWire::Throttle404,
            Fault::ServerError(status) => FaultWire::ServerError { status },
            Fault::Latency(delay) => FaultWire::Latency {
                ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            },
            Fault::Stall => FaultWire::Stall,
            Fault::Malformed => FaultWire::Malformed,
            Fault::Truncated => FaultWire::Truncated,
            Fault::NotFound => FaultWire::NotFound,
            Fault::Unauthorized => FaultWire::Unauthorized,
            Fault::DmsUnauthorized => FaultWire::DmsUnauthorized,
            Fault::Forbidden => FaultWire::Forbidden,
            Fault::TokenExpired => FaultWire::TokenExpired,
            Fault::ClockSkew => FaultWire::ClockSkew,
        }
    }
}

/// A fault injected into matching requests (after authentication).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    /// An endpoint name (see [`ENDPOINTS`]) or `"*"`.
    pub endpoint: String,
    /// Only requests about this instance, if set.
    #[serde(default)]
    pub instance_id: Option<String>,
    pub fault: Fault,
    /// How many more requests it hits; `None` = until cleared.
    #[serde(default)]
    pub remaining: Option<u32>,
}

/// Every endpoint name the simulator serves (the client's `api` metric label).
pub const ENDPOINTS: &[&str] = &[
    "iam_tokens",
    "iam_projects",
    "instances_list",
    "instance_get",
    "instances_list_v1",
    "instance_get_v1",
    "kafka_cluster",
    "kafka_coordinators",
    "kafka_topics",
    "kafka_topic_detail",
    "kafka_diskusage",
    "kafka_groups",
    "kafka_group",
    "kafka_management_group",
    "kafka_partition_message",
    "tasks",
    "task_get",
    "kafka_tags",
    "rocketmq_brokers",
    "rocketmq_groups",
    "rocketmq_group",
    "rocketmq_group_topics",
    "rocketmq_group_clients",
    "rocketmq_topics",
    "rocketmq_topic",
    "rocketmq_topic_status",
    "rocketmq_topic_groups",
    "rocketmq_users",
    "rocketmq_tags",
    "rabbitmq_plugins",
    "rabbitmq_tags",
    "rabbitmq_vhosts",
    "rabbitmq_queues",
    "rabbitmq_queue",
    "rabbitmq_exchanges",
    "rabbitmq_users",
    "quotas",
];

/// One answered (or stalled: status 0) API request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// An endpoint name of [`ENDPOINTS`], or `"unknown"`.
    pub endpoint: &'static str,
    pub status: u16,
    pub at: tokio::time::Instant,
    pub instance_id: Option<String>,
}

const REQUEST_LOG_CAPACITY: usize = 100_000;

pub(crate) struct Token {
    pub project_id: String,
    pub expires: tokio::time::Instant,
}

/// Everything but the fleet; each request takes this lock briefly (faults, the log), never
/// while rendering a body.
pub(crate) struct State {
    pub faults: Vec<FaultRule>,
    pub tokens: HashMap<String, Token>,
    pub token_serial: u64,
    pub log: VecDeque<RequestRecord>,
    pub counts: BTreeMap<&'static str, u64>,
    pub topic_detail_last: HashMap<String, tokio::time::Instant>,
}

pub(crate) struct Inner {
    pub config: SimConfig,
    pub domain_id: String,
    /// Read by every answer (in parallel), written by evolution and the control API.
    pub fleet: RwLock<Fleet>,
    /// Moves on every write to the fleet; rendered bodies are valid for one generation.
    pub generation: AtomicU64,
    pub bodies: http::cache::BodyCache,
    pub state: Mutex<State>,
    pub gateway: http::gateway::Gateway,
    pub request_serial: AtomicU64,
    pub release_stalls: tokio::sync::Notify,
}

/// The simulator. Cheap to clone: clones share one state.
#[derive(Clone)]
pub struct Simulator {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator").finish_non_exhaustive()
    }
}

impl Simulator {
    pub fn new(config: SimConfig) -> Self {
        let fleet = Fleet::generate(&config);
        let domain_id = generate::hex_id(&mut fastrand::Rng::with_seed(config.seed ^ 0xd0), 32);
        Simulator {
            inner: Arc::new(Inner {
                domain_id,
                fleet: RwLock::new(fleet),
                generation: AtomicU64::new(0),
                bodies: http::cache::BodyCache::default(),
                gateway: http::gateway::Gateway::new(config.rate_limit, config.latency),
                state: Mutex::new(State {
                    faults: Vec::new(),
                    tokens: HashMap::new(),
                    token_serial: 0,
                    log: VecDeque::new(),
                    counts: BTreeMap::new(),
                    topic_detail_last: HashMap::new(),
                }),
                config,
                request_serial: AtomicU64::new(0),
                release_stalls: tokio::sync::Notify::new(),
            }),
        }
    }

    pub(crate) fn fleet(&self) -> RwLockReadGuard<'_, Fleet> {
        read(&self.inner.fleet)
    }

    /// The fleet for writing; moves the generation, so no body rendered before is reused.
    pub(crate) fn fleet_mut(&self) -> RwLockWriteGuard<'_, Fleet> {
        let fleet = write(&self.inner.fleet);
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        fleet
    }

    pub(crate) fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::SeqCst)
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &SimConfig {
        &self.inner.config
    }

    /// The whole API: DMS + IAM + the `/_sim/` control API.
    pub fn router(&self) -> axum::Router {
        http::router(self.clone())
    }

    /// Answers one request in-process, without sockets, so tests can run under paused tokio
    /// time. The body is collected whole; an error can only come from reading it.
    pub async fn handle(
        &self,
        request: ::http::Request<bytes::Bytes>,
    ) -> Result<::http::Response<bytes::Bytes>, axum::Error> {
        use tower::ServiceExt as _;
        let request = request.map(axum::body::Body::from);
        let response = match self.router().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await?;
        Ok(::http::Response::from_parts(parts, bytes))
    }

    /// Serves [`Simulator::router`] on `listener` until `shutdown` completes. Stalled requests
    /// are released (with a 503) when shutdown begins, so graceful shutdown cannot hang.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let sim = self.clone();
        axum::serve(listener, self.router())
            .with_graceful_shutdown(async move {
                shutdown.await;
                sim.inner.release_stalls.notify_waiters();
            })
            .await
    }

    /// Calls [`Simulator::step`] every `every` (a live fleet for `--demo`).
    pub fn spawn_evolution(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let sim = self.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(every.max(Duration::from_millis(1)));
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            interval.tick().await;
            loop {
                interval.tick().await;
                sim.step();
            }
        })
    }

    /// Advances the logical clock one tick and evolves the fleet.
    pub fn step(&self) {
        let churn = self.inner.config.churn;
        self.fleet_mut().step(churn);
    }

    /// The logical clock, unix ms.
    pub fn now_ms(&self) -> i64 {
        self.fleet().now_ms()
    }

    pub fn set_fault(&self, rule: FaultRule) {
        lock(&self.inner.state).faults.push(rule);
    }

    pub fn clear_faults(&self) {
        lock(&self.inner.state).faults.clear();
    }

    /// Sets an instance's status string (e.g. `FAULTY`); false if unknown.
    pub fn set_instance_status(&self, instance_id: &str, status: &str) -> bool {
        self.fleet_mut().set_instance_status(instance_id, status)
    }

    /// Creates an instance (status `CREATING`, `RUNNING` after the next step); returns its id.
    /// An unknown project id still gets the instance (region `unknown`).
    pub fn create_kafka_instance(&self, project_id: &str, name: &str) -> String {
        self.fleet_mut().create_instance(project_id, name)
    }

    pub fn delete_instance(&self, instance_id: &str) -> bool {
        self.fleet_mut().delete_instance(instance_id)
    }

    pub fn delete_topic(&self, instance_id: &str, topic: &str) -> bool {
        self.fleet_mut().delete_topic(instance_id, topic)
    }

    pub fn delete_group(&self, instance_id: &str, group: &str) -> bool {
        self.fleet_mut().delete_group(instance_id, group)
    }

    /// A stopped consumer commits nothing (lag grows), has no members, state `EMPTY`.
    pub fn set_consumer_running(&self, instance_id: &str, group: &str, running: bool) -> bool {
        self.fleet_mut()
            .set_consumer_running(instance_id, group, running)
    }

    /// Moves a group's committed offsets `messages` back on every partition (Kafka) or queue
    /// (RocketMQ, not below the oldest retained message).
    pub fn rewind_group(&self, instance_id: &str, group: &str, messages: u64) -> bool {
        let mut fleet = self.fleet_mut();
        if let Some(rocket) = fleet.rocketmq_mut(instance_id) {
            return rocket.rewind_group(group, messages);
        }
        fleet
            .kafka_mut(instance_id)
            .is_some_and(|i| i.rewind_group(group, messages))
    }

    /// Stops (or resumes) a group's commits while its members (RocketMQ: online consumers)
    /// stay.
    pub fn set_commits_paused(&self, instance_id: &str, group: &str, paused: bool) -> bool {
        let mut fleet = self.fleet_mut();
        if let Some(rocket) = fleet.rocketmq_mut(instance_id) {
            return rocket.set_committing(group, !paused);
        }
        fleet
            .kafka_mut(instance_id)
            .is_some_and(|i| i.set_commits_paused(group, paused))
    }

    /// Sets a Kafka topic's retention in hours (`retention_time`).
    pub fn set_topic_retention(&self, instance_id: &str, topic: &str, hours: u64) -> bool {
        self.fleet_mut()
            .kafka_mut(instance_id)
            .is_some_and(|i| i.set_retention_hours(topic, hours))
    }

    /// Retention deletes `messages` beyond a Kafka group's committed offset on each of its
    /// partitions (the log start moves past it).
    pub fn overtake_group(&self, instance_id: &str, group: &str, messages: u64) -> bool {
        self.fleet_mut()
            .kafka_mut(instance_id)
            .is_some_and(|i| i.overtake_group(group, messages))
    }

    /// Truth for tests: the produce time (unix ms) of a Kafka partition's message at `offset`.
    pub fn produce_time_ms(
        &self,
        instance_id: &str,
        topic: &str,
        partition: u32,
        offset: u64,
    ) -> Option<i64> {
        self.fleet()
            .instances
            .get(instance_id)?
            .produce_time_ms(topic, partition, offset)
    }

    /// Truth for tests: a Kafka group's committed offsets, (topic, partition) → offset.
    pub fn committed_offsets(
        &self,
        instance_id: &str,
        group: &str,
    ) -> Option<BTreeMap<(String, u32), u64>> {
        self.fleet().instances.get(instance_id)?.committed(group)
    }

    /// A down broker is `is_health: false`; its replicas fall out of the ISR and stop growing,
    /// and partitions it leads go offline (`leader: -1`, not counted online).
    pub fn set_broker_up(&self, instance_id: &str, broker_id: u32, up: bool) -> bool {
        self.fleet_mut().set_broker_up(instance_id, broker_id, up)
    }

    /// Grows or shrinks the partitions' on-disk bytes so that the brokers' average disk use is
    /// `used_ratio` of capacity (disk usage and `used_storage_space` stay consistent).
    pub fn fill_disk(&self, instance_id: &str, used_ratio: f64) -> bool {
        self.fleet_mut().fill_disk(instance_id, used_ratio)
    }

    /// Adds a background task; returns its id, `None` if the instance is unknown.
    pub fn add_task(&self, instance_id: &str, name: &str, status: &str) -> Option<String> {
        self.add_task_aged(instance_id, name, status, Duration::ZERO)
    }

    /// Adds a task that started `age` ago (by the fleet clock); the fleet's evolution never
    /// changes it, so a test can hold a task EXECUTING for hours.
    pub fn add_task_aged(
        &self,
        instance_id: &str,
        name: &str,
        status: &str,
        age: Duration,
    ) -> Option<String> {
        let age_ms = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
        self.fleet_mut().add_task(instance_id, name, status, age_ms)
    }

    /// Deletes a background task record (what the documented `DELETE .../tasks/{task_id}` does).
    pub fn delete_task(&self, instance_id: &str, task_id: &str) -> bool {
        self.fleet_mut().delete_task(instance_id, task_id)
    }

    /// Stops (`running = false`) or restarts an enabled RabbitMQ plugin: it stays enabled,
    /// so the plugin list shows `enable: true, running: false`. Pins the instance.
    pub fn set_plugin_running(&self, instance_id: &str, plugin: &str, running: bool) -> bool {
        self.fleet_mut()
            .set_plugin_running(instance_id, plugin, running)
    }

    /// Stops (0 consumers, messages keep arriving) or restarts the consumers of a RabbitMQ
    /// queue; `vhost` is the vhost's name (`/`, not `__F_SLASH__`). Pins the instance.
    pub fn set_queue_consumers_running(
        &self,
        instance_id: &str,
        vhost: &str,
        queue: &str,
        running: bool,
    ) -> bool {
        self.fleet_mut()
            .rabbitmq_depth(instance_id)
            .is_some_and(|d| d.set_consumers_running(vhost, queue, running))
    }

    /// Sets a RabbitMQ queue's depth: a flood (a large number) or a purge (0). Pins it.
    pub fn set_queue_messages(
        &self,
        instance_id: &str,
        vhost: &str,
        queue: &str,
        messages: u64,
    ) -> bool {
        self.fleet_mut()
            .rabbitmq_depth(instance_id)
            .is_some_and(|d| d.set_messages(vhost, queue, messages))
    }

    /// Adds `count` queues `{prefix}-00000`… to a RabbitMQ vhost (created if new), with
    /// depths spread over 0..1000; false if there is no such RabbitMQ instance.
    pub fn add_queues(&self, instance_id: &str, vhost: &str, prefix: &str, count: usize) -> bool {
        self.fleet_mut()
            .rabbitmq_depth(instance_id)
            .map(|d| d.add_queues(vhost, prefix, count))
            .is_some()
    }

    /// Invalidates every token issued so far.
    pub fn expire_tokens(&self) {
        lock(&self.inner.state).tokens.clear();
    }

    /// Ids of all instances, sorted.
    pub fn instance_ids(&self) -> Vec<String> {
        self.fleet().instance_ids()
    }

    /// Ids of the instances of one engine (`kafka`, `reliability` for RocketMQ, `rabbitmq`),
    /// sorted.
    pub fn instance_ids_of(&self, engine: &str) -> Vec<String> {
        let fleet = self.fleet();
        let mut ids = fleet.instance_ids();
        ids.retain(|id| fleet.engine_of(id) == Some(engine));
        ids
    }

    /// The most recent requests (up to 100,000), oldest first.
    pub fn request_log(&self) -> Vec<RequestRecord> {
        lock(&self.inner.state).log.iter().cloned().collect()
    }

    /// Requests per endpoint name since start.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        lock(&self.inner.state)
            .counts
            .iter()
            .map(|(endpoint, count)| ((*endpoint).to_owned(), *count))
            .collect()
    }

    /// A summary of the fleet (the body of `GET /_sim/state`).
    pub fn state_summary(&self) -> serde_json::Value {
        let mut summary = self.fleet().summary();
        let state = lock(&self.inner.state);
        if let Some(map) = summary.as_object_mut() {
            map.insert(
                "faults".to_owned(),
                serde_json::to_value(&state.faults).unwrap_or_default(),
            );
            map.insert("tokens".to_owned(), state.tokens.len().into());
        }
        summary
    }
}

impl State {
    pub(crate) fn record(&mut self, record: RequestRecord) {
        *self.counts.entry(record.endpoint).or_default() += 1;
        if self.log.len() >= REQUEST_LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_serde_shapes() {
        let rule: FaultRule = serde_json::from_str(
            r#"{"endpoint":"kafka_groups","instance_id":null,"fault":{"kind":"throttle429"},"remaining":3}"#,
        )
        .expect("rule parses");
        assert_eq!(rule.fault, Fault::Throttle429);
        assert_eq!(rule.remaining, Some(3));
        let latency: Fault =
            serde_json::from_str(r#"{"kind":"latency","ms":500}"#).expect("parses");
        assert_eq!(latency, Fault::Latency(Duration::from_millis(500)));
        let error: Fault =
            serde_json::from_str(r#"{"kind":"server_error","status":503}"#).expect("parses");
        assert_eq!(error, Fault::ServerError(503));
        assert_eq!(
            serde_json::to_string(&Fault::Latency(Duration::from_millis(7))).expect("serialises"),
            r#"{"kind":"latency","ms":7}"#
        );
        for kind in [
            "throttle404",
            "stall",
            "malformed",
            "truncated",
            "not_found",
        ] {
            let fault: Result<Fault, _> = serde_json::from_str(&format!(r#"{{"kind":"{kind}"}}"#));
            assert!(fault.is_ok(), "{kind}");
        }
    }

    #[test]
    fn generated_projects_are_distinct_and_stable() {
        let projects = SimConfig::generated_projects(7, 50);
        assert_eq!(projects, SimConfig::generated_projects(7, 50));
        let ids: std::collections::BTreeSet<_> = projects.iter().map(|p| &p.project_id).collect();
        assert_eq!(ids.len(), 50);
        assert!(projects.iter().all(|p| p.region == "cn-north-4"
            && p.project_id.len() == 32
            && p.project_id.chars().all(|c| c.is_ascii_hexdigit())));
    }

    #[test]
    fn debug_hides_secrets() {
        let config = SimConfig::deterministic();
        let text = format!("{config:?}");
        assert!(!text.contains("simulator-secret-key-0001"));
        assert!(!text.contains("monitor-password"));
    }
}
