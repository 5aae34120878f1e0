//! The request scheduler of each endpoint host, shared by the whole process: every request of
//! every collector, project and instance waits in the host's one queue and leaves as the host's
//! budget allows — an adaptive rate ([`aimd`]) under a configured ceiling, a concurrency cap,
//! a pause after throttling — in weighted fair order between collectors ([`queue`]). The
//! API's per-instance limits are kept by [`pacing`] before a request joins the queue.
//!
//! Time comes from `tokio::time`, so tests under `tokio::time::pause()` are deterministic.

mod aimd;
pub mod backoff;
pub mod pacing;
mod queue;
mod rate;
pub mod signature;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, oneshot};
use tokio::time::Instant;

use self::aimd::Aimd;
use self::backoff::{Admission, Backoffs, Held};
use self::pacing::Pacer;
pub use self::queue::Competition;
use self::queue::FairQueue;
use self::rate::CellRate;
use self::signature::{Gate, Signature};
use crate::error::ErrorKind;
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

/// Who a request is for (one collector of one project): its share of a busy host follows
/// `weight`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    pub name: Arc<str>,
    pub weight: u32,
}

impl Flow {
    pub fn new(name: impl Into<Arc<str>>, weight: u32) -> Self {
        Self {
            name: name.into(),
            weight,
        }
    }

    /// Requests made outside any flow (project discovery, tokens): served first among equals.
    pub fn other() -> Self {
        Self::new("other", 8)
    }
}

struct State {
    config: BudgetConfig,
    aimd: Aimd,
    rate: CellRate,
    paused_until: Option<Instant>,
    queue: FairQueue<oneshot::Sender<Permit>>,
    dispatching: bool,
    /// Failing scopes held with backoff.
    backoffs: Backoffs,
    /// The gateway's verdict on the AK/SK.
    signature: Signature,
    /// When a request last got a successful answer.
    last_success: Option<Instant>,
}

impl State {
    /// Every request waits until `until` (a longer pause already in force is kept).
    fn pause_until(&mut self, until: Instant) {
        if self.paused_until.is_none_or(|current| current < until) {
            self.paused_until = Some(until);
        }
    }

    /// The burst shrinks with the adaptive rate: a throttled host gets no full burst.
    fn apply_rate(&mut self) {
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

struct HostInner {
    host: String,
    state: Mutex<State>,
    semaphore: Arc<Semaphore>,
    work: Notify,
    pacer: Pacer,
    /// Wakes signed calls waiting for a probe's verdict.
    verdict: Notify,
}

/// The scheduler of one host. Clones share the same state.
#[derive(Clone)]
pub struct HostBudget {
    inner: Arc<HostInner>,
}

impl fmt::Debug for HostBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostBudget")
            .field("host", &self.inner.host)
            .field("config", &self.config())
            .finish_non_exhaustive()
    }
}

/// Permission to send one request; hold it until the response is read.
#[derive(Debug)]
pub struct Permit {
    _permit: Option<OwnedSemaphorePermit>,
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

/// Why a call was not sent.
#[derive(Debug, Clone, PartialEq)]
pub enum NotSent {
    /// Its scope (or the host) keeps failing and is held with backoff.
    Backoff(Held),
    /// The gateway rejects the AK/SK; the next probe may go after this long.
    CredentialsRejected(Duration),
}

/// A call on its way: report how it ended. Dropped unreported, it frees any probe slot it held.
pub struct Attempt {
    inner: Arc<HostInner>,
    scope: backoff::Scope,
    admission: Option<Admission>,
    signature_probe: bool,
    signed: bool,
}

impl fmt::Debug for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attempt")
            .field("host", &self.inner.host)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Attempt {
    /// Whether this call probes a scope (or host) held after repeated failures: its answer
    /// speaks for that scope alone.
    pub fn is_probe(&self) -> bool {
        self.admission
            .as_ref()
            .is_some_and(|a| a.host_probe || a.scope_probe)
    }

    /// Just before sending: whether the call may still go. A key rejected while the call
    /// waited for its turn holds it too, so that only calls truly in flight add to the
    /// failed signatures.
    pub fn still_allowed(&self) -> Result<(), NotSent> {
        if !self.signed {
            return Ok(());
        }
        let mut state = lock(&self.inner.state);
        if state.signature.still_allowed(self.signature_probe) {
            return Ok(());
        }
        let Gate::Refused(remaining) = state.signature.gate(Instant::now()) else {
            return Ok(());
        };
        Err(NotSent::CredentialsRejected(remaining))
    }

    /// The call was answered by the host (any answer that is not a failure of its scope).
    pub fn answered(mut self, signature_checked: bool) {
        let inner = Arc::clone(&self.inner);
        let mut state = lock(&inner.state);
        state.backoffs.answered(&self.scope);
        self.admission = None;
        self.signature_accepted_if(signature_checked, state);
    }

    /// The call failed with `kind`: `host_failure` when it may be the host's (no answer, a
    /// timeout, a 5xx); `signature_checked` when the answer shows the signature was accepted.
    pub fn failed(mut self, kind: ErrorKind, host_failure: bool, signature_checked: bool) {
        let inner = Arc::clone(&self.inner);
        let mut state = lock(&inner.state);
        state
            .backoffs
            .failed(&self.scope, kind, host_failure, Instant::now());
        self.admission = None;
        self.signature_accepted_if(signature_checked, state);
    }

    /// An answer that passed the gateway's signature check settles a signed call's verdict
    /// and wakes the calls waiting for it.
    fn signature_accepted_if(&mut self, checked: bool, mut state: MutexGuard<'_, State>) {
        if self.signed && checked {
            state.signature.accepted();
            self.signature_probe = false;
            drop(state);
            self.inner.verdict.notify_waiters();
        }
    }

    /// The gateway rejected the signature.
    pub fn signature_rejected(mut self) {
        let mut state = lock(&self.inner.state);
        if let Some(admission) = self.admission.take() {
            state.backoffs.abandoned(&self.scope, &admission);
        }
        let was_rejected = state.signature.is_rejected();
        state.signature.rejected(Instant::now());
        self.signature_probe = false;
        drop(state);
        if !was_rejected {
            tracing::warn!(host = %self.inner.host, "the API gateway rejects the AK/SK; signed calls to this host are held and probed with backoff");
        }
        self.inner.verdict.notify_waiters();
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if self.admission.is_none() && !self.signature_probe {
            return;
        }
        let mut state = lock(&self.inner.state);
        if let Some(admission) = self.admission.take() {
            state.backoffs.abandoned(&self.scope, &admission);
        }
        if self.signature_probe {
            state.signature.undecided();
            drop(state);
            self.inner.verdict.notify_waiters();
        }
    }
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

    /// Queues for a turn of `flow` and returns a permit once the pause, the rate, a
    /// concurrency slot and every request ahead in fair order allow.
    pub async fn acquire(&self, flow: &Flow) -> Permit {
        let (sender, receiver) = oneshot::channel();
        let start_dispatcher = {
            let mut state = lock(&self.inner.state);
            state.queue.push(&flow.name, flow.weight, sender);
            !std::mem::replace(&mut state.dispatching, true)
        };
        if start_dispatcher {
            tokio::spawn(dispatch(Arc::clone(&self.inner)));
        }
        self.inner.work.notify_one();
        match receiver.await {
            Ok(permit) => permit,
            // The dispatcher ended with the runtime; nothing is sent any more anyway.
            Err(_) => Permit { _permit: None },
        }
    }

    /// Whether a call of `api` on `instance` (`""` for project-level calls) may be sent now:
    /// not while its scope or the host is held after failures, nor, for a signed call, while
    /// the gateway rejects the AK/SK. Until a signature has been accepted, signed calls go one
    /// at a time (the others wait here for the first one's verdict).
    pub async fn begin(
        &self,
        api: &'static str,
        instance: &str,
        signed: bool,
    ) -> Result<Attempt, NotSent> {
        let scope: backoff::Scope = (api, instance.to_owned());
        let mut signature_probe = false;
        if signed {
            loop {
                let verdict = self.inner.verdict.notified();
                tokio::pin!(verdict);
                verdict.as_mut().enable();
                let gate = lock(&self.inner.state).signature.gate(Instant::now());
                match gate {
                    Gate::Go => break,
                    Gate::Probe => {
                        signature_probe = true;
                        break;
                    }
                    Gate::Wait => verdict.await,
                    Gate::Refused(remaining) => {
                        return Err(NotSent::CredentialsRejected(remaining));
                    }
                }
            }
        }
        let mut attempt = Attempt {
            inner: Arc::clone(&self.inner),
            scope,
            admission: None,
            signature_probe,
            signed,
        };
        let admitted = lock(&self.inner.state)
            .backoffs
            .admit(&attempt.scope, Instant::now());
        // On refusal, dropping `attempt` frees the signature probe slot it may hold.
        attempt.admission = Some(admitted.map_err(NotSent::Backoff)?);
        Ok(attempt)
    }

    /// Holds `api` on `instance` (`""`: the project's) for `duration`: its calls fail at once
    /// with `kind` meanwhile (an API the account may not call).
    pub fn hold(&self, api: &'static str, instance: &str, kind: ErrorKind, duration: Duration) {
        lock(&self.inner.state).backoffs.hold(
            &(api, instance.to_owned()),
            kind,
            duration,
            Instant::now(),
        );
    }

    /// How long until a call of `api` on `instance` may go past the backoff (zero: now).
    pub fn backoff_remaining(&self, api: &'static str, instance: &str) -> Duration {
        lock(&self.inner.state)
            .backoffs
            .remaining(&(api, instance.to_owned()), Instant::now())
    }

    /// New credentials (a reload, a changed credential file): the next signed call probes them
    /// at once, within the rule of at most three failing signatures in five minutes.
    pub fn credentials_changed(&self) {
        lock(&self.inner.state).signature.credentials_changed();
        self.inner.verdict.notify_waiters();
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

    /// The flow's competition counters so far (read one at a round's start for
    /// [`HostBudget::share`]).
    pub fn competition(&self, flow: &Flow) -> Competition {
        lock(&self.inner.state).queue.competition(&flow.name)
    }

    /// The rate `flow` was entitled to since `since` (its counters at a round's start): the
    /// effective rate times its weight over the average weight waiting while it waited — what
    /// fair queueing gave it. The whole rate when it never had to wait. `None` when the rate is
    /// unlimited.
    pub fn share(&self, flow: &Flow, since: Competition) -> Option<f64> {
        let state = lock(&self.inner.state);
        let rate = state.aimd.rate();
        if !(rate.is_finite() && rate > 0.0) {
            return None;
        }
        let now = state.queue.competition(&flow.name);
        let turns = now.turns.saturating_sub(since.turns);
        let weight_sum = now.weight_sum.saturating_sub(since.weight_sum);
        if turns == 0 || weight_sum == 0 {
            return Some(rate);
        }
        let average_waiting = weight_sum as f64 / turns as f64;
        Some((rate * f64::from(flow.weight.max(1)) / average_waiting).min(rate))
    }

    /// Requests of `flow` waiting for their turn.
    pub fn waiting(&self, flow: &Flow) -> usize {
        lock(&self.inner.state).queue.waiting(&flow.name)
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

/// Hands permits to waiters, one at a time, in fair order.
async fn dispatch(inner: Arc<HostInner>) {
    loop {
        let notified = inner.work.notified();
        if lock(&inner.state).queue.is_empty() {
            notified.await;
            continue;
        }
        let Ok(mut slot) = inner.semaphore.clone().acquire_owned().await else {
            return;
        };
        loop {
            let wait = {
                let mut state = lock(&inner.state);
                let now = Instant::now();
                match state.paused_until.filter(|until| *until > now) {
                    Some(until) => Some(until),
                    None => state.rate.take(now).err(),
                }
            };
            match wait {
                None => break,
                Some(until) => tokio::time::sleep_until(until).await,
            }
        }
        loop {
            let Some(waiter) = lock(&inner.state).queue.pop() else {
                break;
            };
            match waiter.send(Permit {
                _permit: Some(slot),
            }) {
                Ok(()) => break,
                // The waiter gave up (its task was cancelled): the next one gets the turn.
                Err(returned) => match returned._permit {
                    Some(permit) => slot = permit,
                    None => break,
                },
            }
        }
    }
}

struct BudgetsInner {
    default: Mutex<BudgetConfig>,
    overrides: Mutex<HashMap<String, BudgetConfig>>,
    hosts: Mutex<HashMap<String, HostBudget>>,
}

/// All host schedulers of the process. Clones share them; they outlive configuration reloads.
#[derive(Clone)]
pub struct Budgets {
    inner: Arc<BudgetsInner>,
}

impl fmt::Debug for Budgets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Budgets")
            .field("default", &*lock(&self.inner.default))
            .finish_non_exhaustive()
    }
}

impl Budgets {
    pub fn new(default: BudgetConfig) -> Self {
        Budgets {
            inner: Arc::new(BudgetsInner {
                default: Mutex::new(default),
                overrides: Mutex::new(HashMap::new()),
                hosts: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Sets the budget of one host (`dms.cn-north-4.myhuaweicloud.com`, or `127.0.0.1:8080`).
    pub fn with_host(self, host: impl Into<String>, config: BudgetConfig) -> Self {
        let host = host.into().to_ascii_lowercase();
        lock(&self.inner.overrides).insert(host.clone(), config);
        if let Some(budget) = lock(&self.inner.hosts).get(&host) {
            budget.reconfigure(config);
        }
        self
    }

    /// Applies a new configuration to every host (a reload), keeping each host's state.
    pub fn reconfigure(&self, default: BudgetConfig, overrides: HashMap<String, BudgetConfig>) {
        let overrides: HashMap<String, BudgetConfig> = overrides
            .into_iter()
            .map(|(host, config)| (host.to_ascii_lowercase(), config))
            .collect();
        *lock(&self.inner.default) = default;
        for (host, budget) in lock(&self.inner.hosts).iter() {
            budget.reconfigure(overrides.get(host).copied().unwrap_or(default));
        }
        *lock(&self.inner.overrides) = overrides;
    }

    /// The shared scheduler of a host, created on first use.
    pub fn for_host(&self, host: &str) -> HostBudget {
        let key = host.to_ascii_lowercase();
        let config = lock(&self.inner.overrides)
            .get(&key)
            .copied()
            .unwrap_or(*lock(&self.inner.default));
        lock(&self.inner.hosts)
            .entry(key.clone())
            .or_insert_with(|| HostBudget::new(key, config))
            .clone()
    }

    /// New credentials for every host (a reload, a changed credential file).
    pub fn credentials_changed(&self) {
        for budget in lock(&self.inner.hosts).values() {
            budget.credentials_changed();
        }
    }

    /// Every host's state, by host name.
    pub fn statuses(&self) -> Vec<HostStatus> {
        let mut statuses: Vec<HostStatus> = lock(&self.inner.hosts)
            .values()
            .map(HostBudget::status)
            .collect();
        statuses.sort_by(|a, b| a.host.cmp(&b.host));
        statuses
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(rate: f64, burst: u32, concurrency: usize) -> BudgetConfig {
        BudgetConfig {
            rate_per_second: rate,
            burst,
            concurrency,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn rate_below_one_spaces_requests() {
        let budget = HostBudget::new("h", config(0.5, 1, 4));
        let start = Instant::now();
        drop(budget.acquire(&Flow::other()).await);
        drop(budget.acquire(&Flow::other()).await);
        assert_eq!(Instant::now() - start, Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn pause_delays_acquire() {
        let budget = Budgets::new(BudgetConfig::default()).for_host("H");
        budget.pause_for(Duration::from_secs(3));
        budget.pause_for(Duration::from_secs(1));
        let start = Instant::now();
        drop(budget.acquire(&Flow::other()).await);
        assert_eq!(Instant::now() - start, Duration::from_secs(3));
    }

    #[test]
    fn for_host_shares_state_and_honours_overrides() {
        let special = config(1.0, 1, 1);
        let budgets = Budgets::new(BudgetConfig::default()).with_host("Special.Host", special);
        assert_eq!(budgets.for_host("special.host").config(), special);
        assert_eq!(budgets.for_host("other").config(), BudgetConfig::default());
        let a = budgets.for_host("other");
        let b = budgets.clone().for_host("OTHER");
        assert!(Arc::ptr_eq(&a.inner, &b.inner));
    }

    /// Sends `count` requests of `flow`, each holding its permit for `hold`; returns when each
    /// request got its permit.
    fn requests(
        budget: &HostBudget,
        flow: Flow,
        count: usize,
        hold: Duration,
    ) -> Vec<tokio::task::JoinHandle<Instant>> {
        (0..count)
            .map(|_| {
                let budget = budget.clone();
                let flow = flow.clone();
                tokio::spawn(async move {
                    let permit = budget.acquire(&flow).await;
                    let at = Instant::now();
                    tokio::time::sleep(hold).await;
                    drop(permit);
                    at
                })
            })
            .collect()
    }

    async fn times(handles: Vec<tokio::task::JoinHandle<Instant>>) -> Vec<Instant> {
        let mut out = Vec::new();
        for handle in handles {
            if let Ok(at) = handle.await {
                out.push(at);
            }
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn a_sweep_does_not_starve_a_light_collector() {
        let budget = HostBudget::new("h", config(10.0, 1, 4));
        let start = Instant::now();
        let sweep = requests(
            &budget,
            Flow::new("sweep", 1),
            200,
            Duration::from_millis(50),
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
        let lag = requests(&budget, Flow::new("lag", 4), 10, Duration::from_millis(50));
        let lag = times(lag).await;
        let last_lag = lag.iter().max().copied().unwrap_or(start);
        // 10 lag requests at 4/5 of 10/s take about 1.25 s, not the sweep's remaining 15 s.
        assert!(
            last_lag - start < Duration::from_millis(6500),
            "lag done {:?} after start",
            last_lag - start
        );
        let sweep = times(sweep).await;
        assert_eq!(sweep.len(), 200);
        assert_eq!(
            sweep.iter().max().map(|t| *t - start),
            Some(Duration::from_millis(20_900)),
            "the host's rate was used to the full: 210 requests at 10/s"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn cancelled_waiters_give_their_turn_away() {
        let budget = HostBudget::new("h", config(1.0, 1, 1));
        drop(budget.acquire(&Flow::other()).await);
        let waiter = {
            let budget = budget.clone();
            tokio::spawn(async move { drop(budget.acquire(&Flow::other()).await) })
        };
        tokio::task::yield_now().await;
        waiter.abort();
        let start = Instant::now();
        drop(budget.acquire(&Flow::other()).await);
        assert!(Instant::now() - start <= Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_cuts_the_rate_once_per_burst_and_reconfigure_keeps_it() {
        let budgets = Budgets::new(config(100.0, 10, 4));
        let budget = budgets.for_host("h");
        assert!(budget.throttled(Some(Duration::from_secs(1))));
        assert!(
            !budget.throttled(Some(Duration::from_secs(1))),
            "same burst"
        );
        assert_eq!(budget.status().effective_rate, 70.0);
        assert!(budget.pause_remaining().is_some());
        // A reload with the same ceiling keeps the learned rate and the pause.
        budgets.reconfigure(config(100.0, 10, 8), HashMap::new());
        let status = budget.status();
        assert_eq!(status.effective_rate, 70.0);
        assert_eq!(status.concurrency, 8);
        assert!(budget.pause_remaining().is_some());
        assert_eq!(budgets.statuses().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn reloads_do_not_refill_the_burst() {
        let budgets = Budgets::new(config(10.0, 10, 100));
        let budget = budgets.for_host("h");
        let start = Instant::now();
        for _ in 0..10 {
            drop(budget.acquire(&Flow::other()).await);
        }
        assert_eq!(Instant::now(), start, "the burst");
        budgets.reconfigure(config(10.0, 10, 100), HashMap::new());
        budgets.reconfigure(config(10.0, 10, 100), HashMap::new());
        drop(budget.acquire(&Flow::other()).await);
        assert_eq!(
            Instant::now() - start,
            Duration::from_millis(100),
            "the burst was spent; two reloads gave no new one"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn shares_follow_what_waited_alongside() {
        let budget = HostBudget::new("h", config(10.0, 1, 4));
        let high = Flow::new("high", 4);
        let low = Flow::new("low", 1);
        let start = budget.competition(&high);
        assert_eq!(
            budget.share(&high, start),
            Some(10.0),
            "never waited: the whole rate"
        );
        let both = [
            requests(&budget, low.clone(), 40, Duration::ZERO),
            requests(&budget, high.clone(), 20, Duration::ZERO),
        ];
        for handles in both {
            times(handles).await;
        }
        let share = budget.share(&high, start).unwrap_or_default();
        assert!(
            (7.5..=8.5).contains(&share),
            "4/5 of 10/s while both waited: {share}"
        );
        let unlimited = HostBudget::new("u", config(0.0, 1, 4));
        assert_eq!(unlimited.share(&high, start), None);
    }
}
