//! Runs every collector on its own interval, per project, inside the API budget.
//!
//! One task per (project, collector). The discovery collector publishes the project's instance
//! inventory; an instance-scoped collector starts, each round, the work of every instance at
//! once: the requests queue in their host's scheduler (`dms_cloud::budget`), which dispatches
//! them as the budget allows, fairly between collectors by [`Priority`]. There is no fan-out
//! limit here and no pacing sleep: per-instance API limits are the client's.
//!
//! A round does not wait for its slowest instance: once no instance has finished for an
//! interval and the round has no request waiting for the budget, the instances still busy (a
//! stalled call) carry on alone and are skipped by later rounds until they finish, so only
//! their own data ages. A round whose work needs longer than the interval within the budget
//! stretches instead of overlapping (its requests are still queued); its expected time is
//! exported and the data's `max_age` grows with it, so series do not blink merely because the
//! fleet is large.

mod max_age;
mod rounds;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use dms_cloud::Flow;
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::failures::{FailureLog, Origin};
use super::health::ConsumerHealth;
pub use super::readiness::Readiness;
use super::store::{ScopeKey, Store};
use super::{Collector, InstanceRef, Scope, Target};
use crate::collect::settings::{CollectorsConfig, FiltersConfig};
use crate::metrics::self_metrics::{CycleReport, SelfMetrics, unix_now};

/// Everything the collector tasks share.
pub struct Scheduler {
    pub collectors: Vec<Arc<dyn Collector>>,
    pub settings: Arc<CollectorsConfig>,
    pub filters: Arc<FiltersConfig>,
    pub store: Arc<Store>,
    pub metrics: Arc<SelfMetrics>,
    /// Consumer state kept across cycles (and reloads).
    pub health: Arc<ConsumerHealth>,
}

type Inventory = watch::Receiver<Option<Arc<Vec<InstanceRef>>>>;
type Publish = Arc<watch::Sender<Option<Arc<Vec<InstanceRef>>>>>;

struct Job {
    collector: Arc<dyn Collector>,
    target: Arc<Target>,
    interval: Duration,
    /// As configured (default 3 × interval).
    max_age: Duration,
    /// In force: `max_age`, stretched while cycles need longer than the interval.
    current_max_age: std::sync::Mutex<Duration>,
    settings: Arc<CollectorsConfig>,
    filters: Arc<FiltersConfig>,
    store: Arc<Store>,
    metrics: Arc<SelfMetrics>,
    health: Arc<ConsumerHealth>,
    readiness: Arc<Readiness>,
    /// This collector of this project in its host's fair queue.
    flow: Flow,
    /// What is failing now, logged once per change.
    failures: FailureLog,
    /// Whether its calls were last found not to fit its interval (logged once per change).
    stretching: AtomicBool,
}

/// One instance's finished work.
struct Done {
    instance_id: String,
    round: u64,
    errors: Vec<&'static str>,
    /// The first failure's text, for the landing page.
    last_error: Option<String>,
    paced: Duration,
}

/// What a round measured, for its report and the next round's plan.
struct RoundOutcome {
    calls: u64,
    skipped: u64,
    /// Successful answers: without any, the round only failed.
    progress: u64,
    errors: Vec<&'static str>,
    /// The text of one failure of the round (the landing page shows it next to `up: no`).
    last_error: Option<String>,
    /// The longest per-instance time the API's own limits impose.
    paced: Duration,
}

impl Scheduler {
    /// Starts one task per (target, enabled collector); returns them and the readiness, which
    /// turns true once each of these collectors has finished its first cycle.
    pub fn spawn(
        &self,
        targets: Vec<Target>,
        shutdown: CancellationToken,
    ) -> (JoinSet<()>, Arc<Readiness>) {
        let mut tasks = JoinSet::new();
        let readiness = self.spawn_into(targets, &mut tasks, &shutdown);
        (tasks, readiness)
    }

    /// Starts the tasks of `targets` into `tasks` (for a target resolved after the others);
    /// returns the readiness of these tasks alone.
    pub fn spawn_into(
        &self,
        targets: Vec<Target>,
        tasks: &mut JoinSet<()>,
        shutdown: &CancellationToken,
    ) -> Arc<Readiness> {
        let enabled: Vec<Arc<dyn Collector>> = self
            .collectors
            .iter()
            .filter(|c| self.settings.enabled(c.name()))
            .cloned()
            .collect();
        let runs_for = |collector: &Arc<dyn Collector>, target: &Target| match collector.scope() {
            Scope::Instance(Some(engine)) => target.project.engines.contains(&engine),
            _ => true,
        };
        let readiness = Arc::new(Readiness::new(
            targets
                .iter()
                .map(|t| enabled.iter().filter(|c| runs_for(c, t)).count())
                .sum(),
        ));
        for target in targets {
            let target = Arc::new(target);
            let (publish, inventory) = watch::channel(None);
            let publish = Arc::new(publish);
            for collector in enabled.iter().filter(|c| runs_for(c, &target)) {
                let (interval, max_age) = self.settings.schedule(collector.name());
                let job = Arc::new(Job {
                    collector: Arc::clone(collector),
                    target: Arc::clone(&target),
                    interval,
                    max_age,
                    current_max_age: std::sync::Mutex::new(max_age),
                    settings: Arc::clone(&self.settings),
                    filters: Arc::clone(&self.filters),
                    store: Arc::clone(&self.store),
                    metrics: Arc::clone(&self.metrics),
                    health: Arc::clone(&self.health),
                    readiness: Arc::clone(&readiness),
                    // Each collector of each project is a flow of its own in its host's
                    // fair queue.
                    flow: Flow::new(
                        format!("{}/{}", collector.name(), target.project.project_id),
                        collector.priority().weight(),
                    ),
                    failures: FailureLog::default(),
                    stretching: AtomicBool::new(false),
                });
                let shutdown = shutdown.clone();
                let inventory = inventory.clone();
                let publish = Arc::clone(&publish);
                let retired = target.retired.clone();
                tasks.spawn(async move {
                    tokio::select! {
                        () = shutdown.cancelled() => {}
                        // The task that writes the data drops it, so nothing lands after.
                        () = retired.cancelled() => job.retire(),
                        () = Arc::clone(&job).run(inventory, publish) => {}
                    }
                });
            }
        }
        readiness
    }
}

impl Job {
    /// Drops this collector's data and cycle figures of a target no longer listed, and the
    /// target's `dms_target_up` (only discovered targets retire: their configured project
    /// is their project id).
    fn retire(&self) {
        let project = &self.target.project;
        let name = self.collector.name();
        self.metrics
            .forget_target(&project.account, &project.region, &project.project_id);
        self.store
            .forget_project(name, &project.region, &project.project_id);
        self.metrics
            .forget_cycles(name, &project.region, &project.project_id);
    }

    fn budget(&self) -> &dms_cloud::HostBudget {
        self.target.client.dms_budget()
    }

    /// Whether this collector's calls wait for the budget while the host keeps answering
    /// others: its round is slowed (by the budget's fair share, or a rate cut after
    /// throttling), not failing, even before one of its own calls has come back.
    fn slowed_by_budget(&self) -> bool {
        let budget = self.budget();
        budget.waiting(&self.flow) > 0 && budget.answered_within(self.interval)
    }

    async fn run(self: Arc<Self>, mut inventory: Inventory, publish: Publish) {
        let instance_scoped = matches!(self.collector.scope(), Scope::Instance(_));
        if instance_scoped && inventory.wait_for(Option::is_some).await.is_err() {
            return;
        }
        let mut busy: HashSet<String> = HashSet::new();
        let mut running: FuturesUnordered<BoxFuture<'static, Done>> = FuturesUnordered::new();
        let mut expected: Option<Duration> = None;
        let mut planned = Instant::now();
        let mut round = 0u64;
        loop {
            round += 1;
            let started = Instant::now();
            let lateness = started.saturating_duration_since(planned);
            let competition = self.budget().competition(&self.flow);
            // Data must outlive the cycle the budget really allows, not just the interval (an
            // expectation only rounds that made progress give). It only grows here: what is
            // served must last until this round has refreshed it.
            self.stretch_max_age(self.max_age_for(expected));
            let outcome = match self.collector.scope() {
                Scope::Project => Some(self.project_round(&publish, started, lateness).await),
                Scope::Instance(engine) => {
                    let current = inventory.borrow().clone().unwrap_or_default();
                    self.failures
                        .retain_instances(current.iter().map(|i| i.id.as_str()));
                    let instances: Vec<InstanceRef> = current
                        .iter()
                        .filter(|i| engine.is_none_or(|e| e == i.engine) && self.collector.wants(i))
                        .filter(|i| !busy.contains(&i.id))
                        .cloned()
                        .collect();
                    if instances.is_empty() && !busy.is_empty() {
                        // Only stragglers of earlier rounds exist: no new round to report.
                        None
                    } else {
                        Some(
                            self.instance_round(round, instances, &mut busy, &mut running)
                                .await,
                        )
                    }
                }
            };
            if let Some(outcome) = &outcome {
                expected = self.plan(outcome, competition);
                self.report(started, lateness, outcome, expected);
                // The round has applied what it read: what it could not read ages from its
                // last successful read by the max age this round's progress justifies — but
                // not while instances of it still work (slowed, they are not failed).
                if busy.is_empty() {
                    self.set_max_age(self.max_age_for(expected));
                } else {
                    self.stretch_max_age(self.max_age_for(expected));
                }
            }
            if round == 1 {
                self.readiness.one_done();
            }
            let jitter = self
                .interval
                .mul_f64(self.settings.jitter * fastrand::f64());
            planned = started + self.interval + jitter;
            // Stragglers of earlier rounds finish meanwhile; they are not awaited.
            let sleep = tokio::time::sleep_until(planned);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    () = &mut sleep => break,
                    Some(done) = running.next(), if !running.is_empty() => {
                        busy.remove(&done.instance_id);
                    }
                }
            }
            if round == 1 && instance_scoped && !self.readiness.is_ready() {
                let progressed = outcome.as_ref().is_some_and(|o| o.progress > 0);
                self.await_first_collection(progressed, &mut busy, &mut running)
                    .await;
            }
        }
    }

    /// Until every collector has finished its first round, a second round would take budget
    /// from the first rounds still running and delay readiness well past the first
    /// collection's bound (at 1,000 instances the 30-second groups sweep restarted while the
    /// 5-minute partition sweep had read less than half). So the second round waits, and the
    /// data served meanwhile is kept that much longer — if this collector's first round made
    /// progress; data of a round that only failed ages as usual.
    async fn await_first_collection(
        &self,
        progressed: bool,
        busy: &mut HashSet<String>,
        running: &mut FuturesUnordered<BoxFuture<'static, Done>>,
    ) {
        let ready = self.readiness.wait();
        tokio::pin!(ready);
        // Keep what is served alive ahead of the wait, a step at a time.
        let step = self.interval / 2;
        let mut next_step = Instant::now() + step;
        loop {
            tokio::select! {
                () = &mut ready => break,
                () = tokio::time::sleep_until(next_step) => {
                    if progressed {
                        self.stretch_max_age(self.max_age_now() + step);
                    }
                    next_step += step;
                }
                Some(done) = running.next(), if !running.is_empty() => {
                    busy.remove(&done.instance_id);
                }
            }
        }
    }

    fn origin<'a>(&'a self, instance_id: &'a str) -> Origin<'a> {
        Origin {
            collector: self.collector.name(),
            region: &self.target.project.region,
            project_id: &self.target.project.project_id,
            instance_id,
        }
    }

    fn scope_key(&self, instance_id: &str) -> ScopeKey {
        ScopeKey {
            collector: self.collector.name(),
            region: self.target.project.region.clone(),
            project_id: self.target.project.project_id.clone(),
            instance_id: instance_id.to_owned(),
        }
    }

    fn report(
        &self,
        started: Instant,
        lateness: Duration,
        outcome: &RoundOutcome,
        expected: Option<Duration>,
    ) {
        self.metrics.record_cycle(&CycleReport {
            collector: self.collector.name(),
            region: self.target.project.region.clone(),
            project_id: self.target.project.project_id.clone(),
            duration: started.elapsed(),
            api_calls: outcome.calls,
            skipped_calls: outcome.skipped,
            finished_unix: unix_now(),
            errors: outcome.errors.clone(),
            last_error: outcome.last_error.clone(),
            expected,
            lateness,
            max_age: self.max_age_now(),
        });
    }
}
