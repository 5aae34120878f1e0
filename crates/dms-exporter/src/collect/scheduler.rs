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

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use dms_cloud::budget::Competition;
use dms_cloud::{CallTally, ErrorKind, Flow};
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
use super::{Collector, Context, InstanceRef, Scope, Target};
use crate::collect::settings::{CollectorsConfig, FiltersConfig};
use crate::locks::lock;
use crate::metrics::self_metrics::{CycleReport, SelfMetrics, unix_now};

/// How often a round that waits only for stragglers checks whether its budget queue is empty.
const STRAGGLER_CHECK: Duration = Duration::from_secs(1);

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

/// Tells whether a running round is making progress: a successful answer came within the
/// last `window`.
struct ProgressWatch {
    seen: u64,
    at: Instant,
}

impl ProgressWatch {
    fn new() -> Self {
        Self {
            seen: 0,
            at: Instant::now(),
        }
    }

    /// Whether the round moved within `window`, given its successful answers so far.
    fn moving(&mut self, now: u64, window: Duration) -> bool {
        if now != self.seen {
            self.seen = now;
            self.at = Instant::now();
        }
        self.seen > 0 && self.at.elapsed() < window
    }
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
            Scope::Instance(Some(engine)) => target.engines.contains(&engine),
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
                let settings = self.settings.settings(collector.name());
                let interval = settings
                    .and_then(|s| s.interval)
                    .map_or(Duration::from_secs(60), |d| d.0);
                let max_age = settings
                    .and_then(|s| s.max_age)
                    .map_or(interval * 3, |d| d.0);
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
                        format!("{}/{}", collector.name(), target.project_id),
                        collector.priority().weight(),
                    ),
                    failures: FailureLog::default(),
                    stretching: AtomicBool::new(false),
                });
                let shutdown = shutdown.clone();
                let inventory = inventory.clone();
                let publish = Arc::clone(&publish);
                tasks.spawn(async move {
                    tokio::select! {
                        () = shutdown.cancelled() => {}
                        () = job.run(inventory, publish) => {}
                    }
                });
            }
        }
        readiness
    }
}

impl Job {
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

    /// What the next rounds need, from this one's outcome; warns when it stops fitting, and
    /// says when it fits again.
    fn plan(&self, outcome: &RoundOutcome, since: Competition) -> Option<Duration> {
        // A round whose calls only failed says nothing of the time the budget needs.
        let needed = if outcome.progress > 0 {
            self.expected_duration(outcome, since)
        } else {
            None
        };
        let stretching = self.stretching.load(Ordering::Relaxed);
        let change = stretch_change(stretching, needed, self.interval);
        let (collector, region, project_id) = (
            self.collector.name(),
            &self.target.region,
            &self.target.project_id,
        );
        match change {
            Some(true) => tracing::warn!(
                collector,
                %region,
                %project_id,
                needed_s = needed.map(|n| n.as_secs_f64()),
                interval_s = self.interval.as_secs_f64(),
                "the collector's calls do not fit its interval within the API budget; its cycles stretch"
            ),
            Some(false) => tracing::info!(
                collector,
                %region,
                %project_id,
                needed_s = needed.map(|n| n.as_secs_f64()),
                interval_s = self.interval.as_secs_f64(),
                "the collector's calls fit its interval again"
            ),
            None => {}
        }
        if let Some(now) = change {
            self.stretching.store(now, Ordering::Relaxed);
        }
        needed
    }

    fn max_age_now(&self) -> Duration {
        *lock(&self.current_max_age)
    }

    /// Raises the max age in force to `wanted` (never lowers it).
    fn stretch_max_age(&self, wanted: Duration) {
        if wanted > self.max_age_now() {
            self.set_max_age(wanted);
        }
    }

    /// Sets the max age in force (the configured one at least): data is served until its
    /// last successful read plus this, so it grows while rounds are slowed by the budget and
    /// shrinks back when they are not — never ratcheting up over failed rounds.
    fn set_max_age(&self, wanted: Duration) {
        let wanted = wanted.max(self.max_age);
        let mut current = lock(&self.current_max_age);
        if wanted != *current {
            self.store.set_max_age(
                self.collector.name(),
                &self.target.region,
                &self.target.project_id,
                wanted,
            );
        }
        *current = wanted;
    }

    /// `max_age` as configured, stretched in proportion when the cycle needs longer than the
    /// interval.
    fn max_age_for(&self, expected: Option<Duration>) -> Duration {
        match expected {
            Some(needed) if needed > self.interval => self
                .max_age
                .mul_f64(needed.as_secs_f64() / self.interval.as_secs_f64()),
            _ => self.max_age,
        }
    }

    /// The time the round's calls need within the collector's share of its host's rate, or
    /// the API's per-instance limits, whichever is longer.
    fn expected_duration(&self, outcome: &RoundOutcome, since: Competition) -> Option<Duration> {
        let share = self.budget().share(&self.flow, since);
        let by_rate = share
            .filter(|s| *s > 0.0)
            .and_then(|s| Duration::try_from_secs_f64(outcome.calls as f64 / s).ok());
        match by_rate {
            Some(by_rate) => Some(by_rate.max(outcome.paced)),
            None => (outcome.paced > Duration::ZERO).then_some(outcome.paced),
        }
    }

    fn origin<'a>(&'a self, instance_id: &'a str) -> Origin<'a> {
        Origin {
            collector: self.collector.name(),
            region: &self.target.region,
            project_id: &self.target.project_id,
            instance_id,
        }
    }

    fn scope_key(&self, instance_id: &str) -> ScopeKey {
        ScopeKey {
            collector: self.collector.name(),
            region: self.target.region.clone(),
            project_id: self.target.project_id.clone(),
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
            region: self.target.region.clone(),
            project_id: self.target.project_id.clone(),
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

    /// One project-scoped cycle. One that has not ended after an interval is reported down
    /// meanwhile, unless it is being slowed (successful answers keep coming, if slowly or
    /// after throttling): then its data is kept for as long as it overruns, as an instance
    /// round's is. A stalled or endlessly failing cycle gets no such grace.
    async fn project_round(
        &self,
        publish: &Publish,
        started: Instant,
        lateness: Duration,
    ) -> RoundOutcome {
        let tally = Arc::new(CallTally::default());
        let skipped = AtomicU64::new(0);
        let client = self
            .target
            .client
            .for_flow(self.flow.clone(), Arc::clone(&tally));
        let cx = Context {
            target: &self.target,
            client: &client,
            instance: None,
            settings: &self.settings,
            filters: &self.filters,
            health: &self.health,
            skipped_calls: &skipped,
        };
        let work = async {
            let mut result = self.collector.collect(&cx).await;
            if let Ok(output) = &mut result {
                output.compact_state_sets(self.collector.description(), &self.settings);
            }
            result
        };
        tokio::pin!(work);
        let patience = tokio::time::sleep(self.interval);
        tokio::pin!(patience);
        let mut progress = ProgressWatch::new();
        let mut reported_down = false;
        let result = loop {
            tokio::select! {
                result = &mut work => break result,
                () = &mut patience => {
                    if progress.moving(tally.answered(), self.interval) || self.slowed_by_budget() {
                        let overrun = started.elapsed() + self.interval;
                        self.stretch_max_age(self.max_age_for(Some(overrun)));
                    } else if !reported_down {
                        reported_down = true;
                        tracing::warn!(collector = self.collector.name(), region = %self.target.region, project_id = %self.target.project_id, "cycle unfinished after an interval without progress; reported down until it ends");
                        let unfinished = RoundOutcome {
                            calls: tally.sent(),
                            skipped: skipped.load(Ordering::Relaxed),
                            progress: tally.answered(),
                            errors: vec![ErrorKind::Timeout.as_label()],
                            last_error: Some("cycle unfinished after an interval without progress".to_owned()),
                            paced: Duration::ZERO,
                        };
                        self.report(started, lateness, &unfinished, None);
                    }
                    patience.as_mut().reset(Instant::now() + STRAGGLER_CHECK);
                }
            }
        };
        let errors = self.store.apply(
            &self.scope_key(""),
            result.as_ref(),
            self.max_age_now(),
            Instant::now(),
            unix_now(),
        );
        self.failures.observe(&self.origin(""), result.as_ref());
        let last_error = failure_text(None, result.as_ref());
        match result
            .as_ref()
            .ok()
            .and_then(|output| output.discovered.as_ref())
        {
            Some(discovered) => self.publish_inventory(publish, discovered),
            // Collectors waiting for a first inventory get an empty one when discovery could
            // not give a whole one: their first round then ends at once, and readiness does
            // not wait forever for an API that is down.
            None if publish.borrow().is_none() && self.collector.discovers() => {
                publish.send_replace(Some(Arc::new(Vec::new())));
            }
            None => {}
        }
        RoundOutcome {
            calls: tally.sent(),
            skipped: skipped.load(Ordering::Relaxed),
            progress: tally.answered(),
            errors,
            last_error,
            paced: Duration::ZERO,
        }
    }

    /// Publishes discovery's inventory: instances no longer listed lose their data at once,
    /// and each instance's data is tied to the part (engine) of discovery that lists it.
    fn publish_inventory(&self, publish: &Publish, discovered: &[InstanceRef]) {
        let live: BTreeSet<String> = discovered.iter().map(|i| i.id.clone()).collect();
        self.store
            .retain_instances(&self.target.region, &self.target.project_id, &live);
        let mut by_part: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for instance in discovered {
            by_part
                .entry(instance.engine.as_str().to_owned())
                .or_default()
                .insert(instance.id.clone());
        }
        self.store.set_inventory(&self.scope_key(""), by_part);
        publish.send_replace(Some(Arc::new(discovered.to_vec())));
    }

    /// One instance's read and its store update, as a task of its own lifetime.
    fn instance_work(
        self: &Arc<Self>,
        round: u64,
        instance: InstanceRef,
        tally: Arc<CallTally>,
        skipped: Arc<AtomicU64>,
    ) -> BoxFuture<'static, Done> {
        let job = Arc::clone(self);
        Box::pin(async move {
            let client = job
                .target
                .client
                .for_flow(job.flow.clone(), Arc::clone(&tally));
            let cx = Context {
                target: &job.target,
                client: &client,
                instance: Some(&instance),
                settings: &job.settings,
                filters: &job.filters,
                health: &job.health,
                skipped_calls: &skipped,
            };
            let mut result = job.collector.collect(&cx).await;
            if let Ok(output) = &mut result {
                output.compact_state_sets(job.collector.description(), &job.settings);
            }
            job.failures
                .observe(&job.origin(&instance.id), result.as_ref());
            let last_error = failure_text(Some(&instance.id), result.as_ref());
            let errors = job.store.apply(
                &job.scope_key(&instance.id),
                result.as_ref(),
                job.max_age_now(),
                Instant::now(),
                unix_now(),
            );
            Done {
                instance_id: instance.id.clone(),
                round,
                errors,
                last_error,
                paced: tally.paced(),
            }
        })
    }

    /// Starts every instance's work and waits for it: to the end, or until for an interval no
    /// instance has finished, no call was answered and none of the round's requests waits
    /// for the budget.
    async fn instance_round(
        self: &Arc<Self>,
        round: u64,
        instances: Vec<InstanceRef>,
        busy: &mut HashSet<String>,
        running: &mut FuturesUnordered<BoxFuture<'static, Done>>,
    ) -> RoundOutcome {
        let skipped = Arc::new(AtomicU64::new(0));
        // Each pending instance's calls in a tally of its own: only their answers tell whether
        // the round still moves (an instance that finished early says nothing of one whose
        // calls fail). Finished ones are folded into `sent` and `answered`.
        let mut answers: HashMap<String, (Arc<CallTally>, ProgressWatch)> = HashMap::new();
        let (mut sent, mut answered) = (0, 0);
        for instance in instances {
            busy.insert(instance.id.clone());
            let tally = Arc::new(CallTally::default());
            answers.insert(
                instance.id.clone(),
                (Arc::clone(&tally), ProgressWatch::new()),
            );
            running.push(self.instance_work(round, instance, tally, Arc::clone(&skipped)));
        }
        let mut pending = answers.len();
        let mut errors = Vec::new();
        let mut last_error = None;
        let mut paced = Duration::ZERO;
        let budget = self.budget();
        let started = Instant::now();
        let mut last_progress = started;
        let patience = tokio::time::sleep(self.interval);
        tokio::pin!(patience);
        while pending > 0 {
            tokio::select! {
                () = &mut patience => {
                    let queued = budget.waiting(&self.flow) > 0;
                    let mut pending_moved = false;
                    for (tally, watch) in answers.values_mut() {
                        pending_moved |= watch.moving(tally.answered(), self.interval);
                    }
                    let moving = pending_moved || self.slowed_by_budget();
                    if moving {
                        // Over the interval and still answered (slowed by the budget, the
                        // API's per-instance limits or throttling): what is served must last
                        // until the rest of this round and all of the next came. A round
                        // whose calls fail gets no such grace.
                        let overrun = started.elapsed() + self.interval;
                        self.stretch_max_age(self.max_age_for(Some(overrun)));
                    }
                    if !queued && !moving && last_progress.elapsed() >= self.interval {
                        break;
                    }
                    patience.as_mut().reset(Instant::now() + STRAGGLER_CHECK);
                }
                Some(done) = running.next() => {
                    busy.remove(&done.instance_id);
                    if done.round == round {
                        if let Some((tally, _)) = answers.remove(&done.instance_id) {
                            sent += tally.sent();
                            answered += tally.answered();
                        }
                        pending -= 1;
                        last_progress = Instant::now();
                        errors.extend(done.errors);
                        last_error = last_error.or(done.last_error);
                        paced = paced.max(done.paced);
                    }
                }
            }
        }
        if pending > 0 {
            let instance_ids = some_of(answers.keys());
            tracing::warn!(
                collector = self.collector.name(),
                region = %self.target.region,
                project_id = %self.target.project_id,
                instances = pending,
                %instance_ids,
                "instances still busy after an interval without progress; they finish on their own and only their data ages"
            );
            errors.extend(std::iter::repeat_n("timeout", pending));
            last_error = last_error.or_else(|| {
                Some(format!(
                    "{pending} instances still busy after an interval without progress: {instance_ids}"
                ))
            });
        }
        RoundOutcome {
            calls: sent + answers.values().map(|(tally, _)| tally.sent()).sum::<u64>(),
            skipped: skipped.load(Ordering::Relaxed),
            progress: answered
                + answers
                    .values()
                    .map(|(tally, _)| tally.answered())
                    .sum::<u64>(),
            errors,
            last_error,
            paced,
        }
    }
}

/// A stretched collector fits again once its calls need at most this share of the interval:
/// one that needs about its interval, a little more one round and less the next, would
/// otherwise log every round.
const FITS_AGAIN: f64 = 0.9;

/// Whether a collector's calls start not fitting its interval (`Some(true)`) or fit again
/// (`Some(false)`), given what the round needed (`None`: unknown, no change).
fn stretch_change(stretching: bool, needed: Option<Duration>, interval: Duration) -> Option<bool> {
    let needed = needed?;
    if !stretching && needed > interval {
        Some(true)
    } else if stretching && needed <= interval.mul_f64(FITS_AGAIN) {
        Some(false)
    } else {
        None
    }
}

/// How many instance ids a log line names before `and N more`.
const NAMED_INSTANCES: usize = 5;

/// The first few of `ids` in order, then how many more: a line that names the stalled
/// instances stays short at a thousand.
fn some_of<'a>(ids: impl IntoIterator<Item = &'a String>) -> String {
    let mut ids: Vec<&str> = ids.into_iter().map(String::as_str).collect();
    ids.sort_unstable();
    let more = ids.len().saturating_sub(NAMED_INSTANCES);
    ids.truncate(NAMED_INSTANCES);
    let named = ids.join(",");
    if more == 0 {
        named
    } else {
        format!("{named} and {more} more")
    }
}

/// The text of a cycle's failure: the whole read's, else its first failed part's, prefixed with
/// the instance.
fn failure_text(
    instance: Option<&str>,
    result: Result<&super::Output, &dms_cloud::error::ApiError>,
) -> Option<String> {
    let (part, error) = match result {
        Err(error) => (None, error),
        Ok(output) => output
            .parts
            .iter()
            .find_map(|(part, result)| Some((Some(part.as_str()), result.as_ref().err()?)))?,
    };
    let place: Vec<&str> = [instance, part.filter(|p| !p.is_empty())]
        .into_iter()
        .flatten()
        .collect();
    Some(if place.is_empty() {
        error.to_string()
    } else {
        format!("{}: {error}", place.join(" "))
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{some_of, stretch_change};

    #[test]
    fn a_stretch_is_logged_once_per_change_not_per_round() {
        let interval = Duration::from_secs(10);
        let secs = |s: f64| Some(Duration::from_secs_f64(s));
        let mut stretching = false;
        let mut changes = Vec::new();
        // Over, around the interval for a while, a failed round, then well under.
        for needed in [
            secs(8.0),
            secs(10.5),
            secs(9.8),
            secs(10.2),
            None,
            secs(9.5),
            secs(8.5),
            secs(8.0),
        ] {
            if let Some(now) = stretch_change(stretching, needed, interval) {
                changes.push(now);
                stretching = now;
            }
        }
        assert_eq!(changes, [true, false]);
    }

    #[test]
    fn busy_instances_are_named_up_to_a_bound() {
        let ids = |n: usize| (0..n).map(|i| format!("i-{i:02}")).collect::<Vec<_>>();
        assert_eq!(some_of(&ids(1)), "i-00");
        assert_eq!(some_of(ids(5).iter().rev()), "i-00,i-01,i-02,i-03,i-04");
        assert_eq!(some_of(&ids(1000)), "i-00,i-01,i-02,i-03,i-04 and 995 more");
    }
}
