//! A faithful, stateful simulator of the Huawei Cloud DMS APIs of all three engines (Kafka,
//! RocketMQ, RabbitMQ) and of IAM.
//!
//! It serves the read endpoints with the documented paths, query parameters, pagination, JSON
//! types and error bodies (the vendor's examples are in `fixtures/api/{kafka,rocketmq,rabbitmq}`;
//! `tests/sim/fidelity*.rs` compare the answers with them); verifies AK/SK signatures with the
//! real algorithm (`dms-sign`) and issues/expires IAM tokens; keeps a living fleet, one module
//! per engine, whose offsets, lag, queues, tasks and instances evolve one logical tick at a
//! time; serves Cloud Eye (CES) beside them (`ces`: the `ces-hierarchy` of every engine and
//! the CES v1 metric reads, with values from the same model, late points and CES's limits and
//! error shapes); and misbehaves on request (throttling, 5xx, latency, stalls, malformed or
//! truncated JSON).
//!
//! Everything is deterministic given [`SimConfig::seed`]: two simulators built from the same
//! configuration answer byte-identical bodies until one of them is stepped or controlled.
//! Timestamps derive from [`SimConfig::base_time_ms`] and the tick counter, never from the
//! wall clock (the only wall-clock uses are the `X-Sdk-Date` skew check and token `expires_at`).

mod ces;
mod config;
mod control;
mod endpoints;
mod error;
mod faults;
mod fleet;
mod generate;
mod http;
mod identity;
mod kafka;
mod locks;
mod metadata;
mod model;
mod produced;
mod query;
mod rabbitmq;
mod request_log;
mod rocketmq;
mod signature;
mod sts;
mod wire;

pub use config::{
    AccessKey, Agency, CesErrorShape, CesSpec, FleetSpec, IamUser, Project, SimConfig,
};
pub use endpoints::ENDPOINTS;
pub use faults::{Fault, FaultRule};
pub use identity::IdentityFault;
pub use metadata::MetadataFault;
pub use request_log::RequestRecord;
pub use sts::AgencyFault;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use crate::fleet::Fleet;
use crate::locks::{lock, read, write};
use crate::request_log::RequestLog;

/// One raw Cloud Eye point as the simulator recorded it ([`Simulator::ces_points`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CesPoint {
    /// The minute it is stamped with, unix ms.
    pub timestamp: i64,
    pub value: f64,
    /// The fleet time (unix ms) from which CES answers show it; `None` for a series CES
    /// lists but never has datapoints for.
    pub visible_from: Option<i64>,
}

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
    pub requests: RequestLog,
    pub topic_detail_last: HashMap<String, tokio::time::Instant>,
    /// The ECS metadata service's temporary keys (`metadata`).
    pub metadata: metadata::MetadataState,
    /// IAM's id-token exchange (`identity`).
    pub identity: identity::IdentityState,
    /// STS: agencies assumed, its fault (`sts`).
    pub sts: sts::StsState,
    /// Projects created after start ([`Simulator::add_project`]): IAM lists them and DMS
    /// accepts them like the configured ones.
    pub added_projects: Vec<Project>,
    /// Projects IAM no longer lists ([`Simulator::remove_project`]).
    pub removed_projects: BTreeSet<String>,
}

pub(crate) struct Inner {
    pub config: SimConfig,
    pub domain_id: String,
    /// Read by every answer (in parallel), written by evolution and the control API.
    pub fleet: RwLock<Fleet>,
    /// Cloud Eye's raw points, sampled from the fleet every minute of its clock (beside the
    /// fleet, not in it: CES observes the fleet, the fleet knows nothing of CES).
    pub ces: RwLock<ces::history::History>,
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
        let ces = ces::history::History::new(config.ces.clone(), config.seed);
        let simulator = Simulator {
            inner: Arc::new(Inner {
                domain_id,
                fleet: RwLock::new(fleet),
                ces: RwLock::new(ces),
                generation: AtomicU64::new(0),
                bodies: http::cache::BodyCache::default(),
                gateway: http::gateway::Gateway::new(config.rate_limit, config.latency),
                state: Mutex::new(State {
                    faults: Vec::new(),
                    tokens: HashMap::new(),
                    token_serial: 0,
                    requests: RequestLog::default(),
                    topic_detail_last: HashMap::new(),
                    metadata: metadata::MetadataState::default(),
                    identity: identity::IdentityState::default(),
                    sts: sts::StsState::default(),
                    added_projects: Vec::new(),
                    removed_projects: BTreeSet::new(),
                }),
                config,
                request_serial: AtomicU64::new(0),
                release_stalls: tokio::sync::Notify::new(),
            }),
        };
        simulator.backfill_ces();
        simulator.sample_ces();
        simulator
    }

    /// Cloud Eye's history before the start ([`CesSpec::backfill`]), minute by minute.
    fn backfill_ces(&self) {
        let fleet = self.fleet();
        let now = fleet.now_ms();
        let mut history = write(&self.inner.ces);
        let minutes = self.inner.config.ces.backfill.as_secs() / 60;
        for minutes_ago in (1..=i64::try_from(minutes).unwrap_or(0)).rev() {
            history.record(now - minutes_ago * 60_000, ces::observe::observe(&fleet));
        }
    }

    /// Cloud Eye's sample of the minute the clock is in, once per minute.
    fn sample_ces(&self) {
        let fleet = self.fleet();
        let now = fleet.now_ms();
        let mut history = write(&self.inner.ces);
        if history.due(now) {
            history.record(now, ces::observe::observe(&fleet));
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
        self.sample_ces();
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

    /// Truth for tests: every raw CES point recorded for a series (`metric` and its
    /// dimensions in `dim_router` order), visible yet or not, oldest first.
    pub fn ces_points(&self, metric: &str, dimensions: &[(&str, &str)]) -> Vec<CesPoint> {
        let key = ces::SeriesKey {
            metric: metric.to_owned(),
            dimensions: dimensions
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        };
        read(&self.inner.ces)
            .truth(&key)
            .into_iter()
            .map(|(timestamp, value, visible_from)| CesPoint {
                timestamp,
                value,
                visible_from,
            })
            .collect()
    }

    /// Invalidates every token issued so far.
    /// Makes the ECS metadata service fail (or work again).
    pub fn set_metadata_fault(&self, fault: MetadataFault) {
        lock(&self.inner.state).metadata.fault = fault;
    }

    /// Makes IAM's id-token exchange fail (or work again).
    pub fn set_identity_fault(&self, fault: IdentityFault) {
        lock(&self.inner.state).identity.fault = fault;
    }

    /// Makes STS's `agencies/assume` fail (or work again).
    pub fn set_agency_fault(&self, fault: AgencyFault) {
        lock(&self.inner.state).sts.fault = fault;
    }

    /// How often an agency was asked for (`POST /v5/agencies/assume`), granted or not.
    pub fn agency_assumes(&self) -> u64 {
        lock(&self.inner.state).sts.assumes
    }

    /// How often STS was asked whose keys sign (`GET /v5/caller-identity`).
    pub fn caller_identity_calls(&self) -> u64 {
        lock(&self.inner.state).sts.identity_calls
    }

    /// This account's id (the domain id IAM and STS answer with).
    pub fn domain_id(&self) -> &str {
        &self.inner.domain_id
    }

    /// Creates a project in `region` (IAM lists it from now on; DMS accepts its id).
    pub fn add_project(&self, region: &str, project_id: &str) {
        let project = Project {
            region: region.to_owned(),
            project_id: project_id.to_owned(),
        };
        self.fleet_mut().add_project(project.clone());
        lock(&self.inner.state).added_projects.push(project);
    }

    /// Deletes a project: IAM's project list no longer names it, and DMS refuses calls for it
    /// (403 `DMS.10240309`), as for a project the account never had.
    pub fn remove_project(&self, project_id: &str) {
        lock(&self.inner.state)
            .removed_projects
            .insert(project_id.to_owned());
        // Cached answers (IAM's project list among them) are rendered again.
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Every project: the configured ones, then those added since, less those removed.
    pub(crate) fn projects(&self) -> Vec<Project> {
        let state = lock(&self.inner.state);
        let mut projects = self.inner.config.projects.clone();
        projects.extend(state.added_projects.iter().cloned());
        projects.retain(|p| !state.removed_projects.contains(&p.project_id));
        projects
    }

    /// How often an id token was presented to IAM.
    pub fn id_token_exchanges(&self) -> u64 {
        lock(&self.inner.state).identity.exchanges
    }

    /// How often `securitykey` was asked for.
    pub fn metadata_requests(&self) -> u64 {
        lock(&self.inner.state).metadata.securitykey_requests
    }

    /// The temporary AKs the metadata service issued so far, in issue order.
    pub fn temporary_access_keys(&self) -> Vec<String> {
        let state = lock(&self.inner.state);
        let mut keys: Vec<String> = state.metadata.keys.keys().cloned().collect();
        keys.sort();
        keys
    }

    /// The secret key and security token the metadata service issued with `access_key`.
    pub fn temporary_key(&self, access_key: &str) -> Option<(String, String)> {
        let state = lock(&self.inner.state);
        let key = state.metadata.keys.get(access_key)?;
        Some((key.secret_key.clone(), key.security_token.clone()))
    }

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
        lock(&self.inner.state).requests.records()
    }

    /// Requests per endpoint name since start.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        lock(&self.inner.state).requests.counts()
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
