//! One host's scheduler: its state (the adaptive rate, pauses, the fair queue, backoffs and
//! the signature verdict), its configuration and reloads, throttling and its status.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, oneshot};
use tokio::time::Instant;

use super::aimd::Aimd;
use super::backoff::Backoffs;
use super::dispatch::Permit;
use super::pacing::Pacer;
use super::queue::FairQueue;
use super::rate::CellRate;
use super::signature::Signature;
use crate::locks::lock;

/// Budget of one host.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetConfig {
    /// Sustained requests per second, the ceiling of the adaptive rate; may be below 1. Zero,
    /// negative or non-finite disables the rate limit.
    pub rate_per_second: f64,
    /// Requests that may go out at once after an idle period (at least 1).
    pub burst: u32,
    /// Requests in flight at once (at least 1).
    pub concurrency: usize,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        BudgetConfig {
            rate_per_second: 10.0,
            burst: 5,
            concurrency: 4,
        }
    }
}

pub(super) struct State {
    pub(super) config: BudgetConfig,
    pub(super) aimd: Aimd,
    pub(super) rate: CellRate,
    pub(super) paused_until: Option<Instant>,
    pub(super) queue: FairQueue<oneshot::Sender<Permit>>,
    pub(super) dispatching: bool,
    /// Failing scopes held with backoff.
    pub(super) backoffs: Backoffs,
    /// The gateway's verdict on the AK/SK.
    pub(super) signature: Signature,
    /// When a request last got a successful answer.
    pub(super) last_success: Option<Instant>,
}

impl State {
    /// Every request waits until `until` (a longer pause already in force is kept).
    pub(super) fn pause_until(&mut self, until: Instant) {
        if self.paused_until.is_none_or(|current| current < until) {
            self.paused_until = Some(until);
        }
    }

    /// The burst shrinks with the adaptive rate: a throttled host gets no full burst.
    pub(super) fn apply_rate(&mut self) {
        let ceiling = self.aimd.ceiling();
        let rate = self.aimd.rate();
        let burst = if ceiling.is_finite() && ceiling > 0.0 {
            ((f64::from(self.config.burst) * rate / ceiling).floor() as u32).max(1)
        } else {
            self.config.burst
        };
        self.rate.set(rate, burst);
    }
}

pub(super) struct HostInner {
    pub(super) host: String,
    pub(super) state: Mutex<State>,
    pub(super) semaphore: Arc<Semaphore>,
    pub(super) work: Notify,
    pub(super) pacer: Pacer,
    /// Wakes signed calls waiting for a probe's verdict.
    pub(super) verdict: Notify,
}

/// The scheduler of one host. Clones share the same state.
#[derive(Clone)]
pub struct HostBudget {
    pub(super) inner: Arc<HostInner>,
}

impl fmt::Debug for HostBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostBudget")
            .field("host", &self.inner.host)
            .field("config", &self.config())
            .finish_non_exhaustive()
    }
}

/// What a host's scheduler is doing, for self-metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct HostStatus {
    pub host: String,
    /// The rate requests leave at now (the adaptive rate), requests per second; 0 = unlimited.
    pub effective_rate: f64,
    pub configured_rate: f64,
    pub queued: usize,
    pub concurrency: usize,
    /// The gateway rejects this host's AK/SK (signed calls are held).
    pub credentials_rejected: bool,
    /// Every call to the host is held after repeated failures.
    pub held: bool,
}

impl HostBudget {
    /// A budget not shared through [`Budgets`].
    pub fn new(host: impl Into<String>, config: BudgetConfig) -> Self {
        let mut state = State {
            config,
            aimd: Aimd::new(config.rate_per_second),
            rate: CellRate::new(config.rate_per_second, config.burst),
            paused_until: None,
            queue: FairQueue::default(),
            dispatching: false,
            backoffs: Backoffs::default(),
            signature: Signature::default(),
            last_success: None,
        };
        state.apply_rate();
        HostBudget {
            inner: Arc::new(HostInner {
                host: host.into(),
                state: Mutex::new(state),
                semaphore: Arc::new(Semaphore::new(config.concurrency.max(1))),
                work: Notify::new(),
                pacer: Pacer::default(),
                verdict: Notify::new(),
            }),
        }
    }

    pub fn host(&self) -> &str {
        &self.inner.host
    }

    pub fn config(&self) -> BudgetConfig {
        lock(&self.inner.state).config
    }

    /// The per-instance limits of this host's APIs.
    pub fn pacer(&self) -> &Pacer {
        &self.inner.pacer
    }

    /// A new configuration (a reload): the adaptive rate, pauses, queue and pacing carry on.
    pub fn reconfigure(&self, config: BudgetConfig) {
        let mut state = lock(&self.inner.state);
        let old = state.config.concurrency.max(1);
        let new = config.concurrency.max(1);
        if new > old {
            self.inner.semaphore.add_permits(new - old);
        } else if new < old {
            // Permits in use are forgotten as they come back.
            let inner = Arc::clone(&self.inner);
            let excess = u32::try_from(old - new).unwrap_or(u32::MAX);
            tokio::spawn(async move {
                if let Ok(permits) = inner.semaphore.clone().acquire_many_owned(excess).await {
                    permits.forget();
                }
            });
        }
        state.config = config;
        state.aimd.set_ceiling(config.rate_per_second);
        state.apply_rate();
    }

    /// Every request to this host waits until `duration` from now has passed (a longer pause
    /// already in force is kept).
    pub fn pause_for(&self, duration: Duration) {
        lock(&self.inner.state).pause_until(Instant::now() + duration);
    }

    /// How long the current pause still lasts, if any.
    pub fn pause_remaining(&self) -> Option<Duration> {
        let now = Instant::now();
        lock(&self.inner.state)
            .paused_until
            .filter(|until| *until > now)
            .map(|until| until - now)
    }

    /// The gateway throttled a request: cut the rate (once per burst of answers), and pause
    /// every request for `pause` when the gateway said how long (`Retry-After`). Returns
    /// whether the rate was cut.
    pub fn throttled(&self, pause: Option<Duration>) -> bool {
        let now = Instant::now();
        let mut state = lock(&self.inner.state);
        if let Some(pause) = pause {
            state.pause_until(now + pause);
        }
        let cut = state.aimd.throttled(now);
        if cut {
            state.apply_rate();
            tracing::warn!(host = %self.inner.host, rate = state.aimd.rate(), "API gateway throttled; lowering the request rate");
        }
        cut
    }

    /// A request was answered without throttling.
    pub fn succeeded(&self) {
        let now = Instant::now();
        let mut state = lock(&self.inner.state);
        state.last_success = Some(now);
        if state.aimd.succeeded(now) {
            state.apply_rate();
        }
    }

    /// Whether the host answered a request successfully within `window`: a flow whose calls
    /// wait in its queue meanwhile is slowed by the budget, not failing.
    pub fn answered_within(&self, window: Duration) -> bool {
        lock(&self.inner.state)
            .last_success
            .is_some_and(|at| at.elapsed() < window)
    }

    pub fn status(&self) -> HostStatus {
        let state = lock(&self.inner.state);
        HostStatus {
            host: self.inner.host.clone(),
            effective_rate: state.aimd.rate().max(0.0),
            configured_rate: state.config.rate_per_second.max(0.0),
            queued: state.queue.len(),
            concurrency: state.config.concurrency,
            credentials_rejected: state.signature.is_rejected(),
            held: state.backoffs.host_held(),
        }
    }
}
