//! Runs every collector on its own interval, per project, without overlapping cycles.
//!
//! One task per (project, collector). The discovery collector publishes the project's
//! instance inventory; instance-scoped collectors wait for the first inventory, then fan out
//! over the instances, bounded, while the cloud client's host budget caps the request rate.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::store::{ScopeKey, Store};
use super::{Collector, Context, InstanceRef, Scope, Target};
use crate::config::{CollectorsConfig, FiltersConfig};
use crate::metrics::self_metrics::{
    CYCLE_API_CALLS, CYCLE_SKIPPED_CALLS, CycleReport, SelfMetrics, unix_now,
};

/// Instances read at once by one collector of one project.
const INSTANCES_IN_FLIGHT: usize = 8;

/// Tells when every collector has finished its first cycle.
#[derive(Debug)]
pub struct Readiness {
    pending: AtomicUsize,
    ready: watch::Sender<bool>,
}

impl Readiness {
    fn new(pending: usize) -> Self {
        Self {
            pending: AtomicUsize::new(pending),
            ready: watch::Sender::new(pending == 0),
        }
    }

    fn one_done(&self) {
        if self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.ready.send_replace(true);
        }
    }

    /// Not ready until [`Readiness::follow`] sees the scheduler's readiness turn true.
    pub fn pending_startup() -> Self {
        Self::new(1)
    }

    /// Becomes ready when `jobs` does (the projects are resolved before the jobs exist).
    pub async fn follow(&self, jobs: Arc<Readiness>) {
        jobs.wait().await;
        self.ready.send_replace(true);
    }

    pub fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    /// Resolves once ready.
    pub async fn wait(&self) {
        let mut receiver = self.ready.subscribe();
        let _ = receiver.wait_for(|ready| *ready).await;
    }
}

/// Everything the collector tasks share.
pub struct Scheduler {
    pub collectors: Vec<Arc<dyn Collector>>,
    pub settings: Arc<CollectorsConfig>,
    pub filters: Arc<FiltersConfig>,
    pub store: Arc<Store>,
    pub metrics: Arc<SelfMetrics>,
}

type Inventory = watch::Receiver<Option<Arc<Vec<InstanceRef>>>>;

struct Job {
    collector: Arc<dyn Collector>,
    target: Arc<Target>,
    interval: Duration,
    max_age: Duration,
    settings: Arc<CollectorsConfig>,
    filters: Arc<FiltersConfig>,
    store: Arc<Store>,
    metrics: Arc<SelfMetrics>,
    readiness: Arc<Readiness>,
}

impl Scheduler {
    /// Starts one task per (target, enabled collector); returns them and the readiness.
    pub fn spawn(
        self,
        targets: Vec<Target>,
        shutdown: CancellationToken,
    ) -> (JoinSet<()>, Arc<Readiness>) {
        let enabled: Vec<Arc<dyn Collector>> = self
            .collectors
            .iter()
            .filter(|c| self.settings.settings(c.name()).is_none_or(|s| s.enabled))
            .cloned()
            .collect();
        let jobs_per_target = |target: &Target| {
            enabled
                .iter()
                .filter(|c| match c.scope() {
                    Scope::Instance(Some(engine)) => target.engines.contains(&engine),
                    _ => true,
                })
                .count()
        };
        let readiness = Arc::new(Readiness::new(targets.iter().map(jobs_per_target).sum()));
        let mut tasks = JoinSet::new();
        for target in targets {
            let target = Arc::new(target);
            let (publish, inventory) = watch::channel(None);
            let publish = Arc::new(publish);
            for collector in &enabled {
                if let Scope::Instance(Some(engine)) = collector.scope()
                    && !target.engines.contains(&engine)
                {
                    continue;
                }
                let settings = self.settings.settings(collector.name());
                let interval = settings
                    .and_then(|s| s.interval)
                    .map_or(Duration::from_secs(60), |d| d.0);
                let max_age = settings
                    .and_then(|s| s.max_age)
                    .map_or(interval * 3, |d| d.0);
                let job = Job {
                    collector: Arc::clone(collector),
                    target: Arc::clone(&target),
                    interval,
                    max_age,
                    settings: Arc::clone(&self.settings),
                    filters: Arc::clone(&self.filters),
                    store: Arc::clone(&self.store),
                    metrics: Arc::clone(&self.metrics),
                    readiness: Arc::clone(&readiness),
                };
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
        (tasks, readiness)
    }
}

impl Job {
    async fn run(
        self,
        mut inventory: Inventory,
        publish: Arc<watch::Sender<Option<Arc<Vec<InstanceRef>>>>>,
    ) {
        if matches!(self.collector.scope(), Scope::Instance(_))
            && inventory.wait_for(Option::is_some).await.is_err()
        {
            return;
        }
        let mut first = true;
        loop {
            let started = Instant::now();
            match self.collector.scope() {
                Scope::Project => self.project_cycle(&publish).await,
                Scope::Instance(engine) => {
                    let current = inventory.borrow().clone().unwrap_or_default();
                    let instances: Vec<InstanceRef> = current
                        .iter()
                        .filter(|i| engine.is_none_or(|e| e == i.engine) && self.collector.wants(i))
                        .cloned()
                        .collect();
                    self.instance_cycle(instances).await;
                }
            }
            if first {
                first = false;
                self.readiness.one_done();
            }
            // The next cycle starts an interval after this one started, or right after it
            // ended when it ran long: never two at once.
            let jitter = self
                .interval
                .mul_f64(self.settings.jitter * fastrand::f64());
            tokio::time::sleep_until(started + self.interval + jitter).await;
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
        calls: &AtomicU64,
        skipped: &AtomicU64,
        errors: Vec<&'static str>,
    ) {
        self.metrics.record_cycle(&CycleReport {
            collector: self.collector.name(),
            region: self.target.region.clone(),
            project_id: self.target.project_id.clone(),
            duration: started.elapsed(),
            api_calls: calls.load(Ordering::Relaxed),
            skipped_calls: skipped.load(Ordering::Relaxed),
            finished_unix: unix_now(),
            errors,
        });
    }

    async fn project_cycle(&self, publish: &watch::Sender<Option<Arc<Vec<InstanceRef>>>>) {
        let started = Instant::now();
        let calls = Arc::new(AtomicU64::new(0));
        let skipped = Arc::new(AtomicU64::new(0));
        let cx = Context {
            target: &self.target,
            instance: None,
            settings: &self.settings,
            filters: &self.filters,
        };
        let result = CYCLE_API_CALLS
            .scope(
                Arc::clone(&calls),
                CYCLE_SKIPPED_CALLS.scope(Arc::clone(&skipped), self.collector.collect(&cx)),
            )
            .await;
        let errors = self.store.apply(
            &self.scope_key(""),
            result.as_ref(),
            self.max_age,
            Instant::now(),
            unix_now(),
        );
        if let Err(error) = &result {
            tracing::warn!(collector = self.collector.name(), region = %self.target.region, project_id = %self.target.project_id, %error, "collection failed; serving the last good data");
        }
        if let Ok(output) = &result
            && let Some(discovered) = &output.discovered
        {
            let live: BTreeSet<String> = discovered.iter().map(|i| i.id.clone()).collect();
            self.store
                .retain_instances(&self.target.region, &self.target.project_id, &live);
            publish.send_replace(Some(Arc::new(discovered.clone())));
        }
        self.report(started, &calls, &skipped, errors);
    }

    async fn instance_cycle(&self, instances: Vec<InstanceRef>) {
        let started = Instant::now();
        let calls = Arc::new(AtomicU64::new(0));
        let skipped = Arc::new(AtomicU64::new(0));
        let work = futures::stream::iter(instances)
            .map(|instance| async move {
                let cx = Context {
                    target: &self.target,
                    instance: Some(&instance),
                    settings: &self.settings,
                    filters: &self.filters,
                };
                let result = self.collector.collect(&cx).await;
                if let Err(error) = &result {
                    tracing::warn!(collector = self.collector.name(), instance_id = %instance.id, %error, "collection failed; serving the last good data");
                }
                self.store.apply(&self.scope_key(&instance.id), result.as_ref(), self.max_age, Instant::now(), unix_now())
            })
            .buffer_unordered(INSTANCES_IN_FLIGHT)
            .collect::<Vec<Vec<&'static str>>>();
        let errors = CYCLE_API_CALLS
            .scope(
                Arc::clone(&calls),
                CYCLE_SKIPPED_CALLS.scope(Arc::clone(&skipped), work),
            )
            .await;
        self.report(
            started,
            &calls,
            &skipped,
            errors.into_iter().flatten().collect(),
        );
    }
}
