//! The API budget per endpoint host, shared by the whole process: a rate limit, a concurrency
//! cap and a shared pause after throttling.
//!
//! Time comes from `tokio::time`, so tests under `tokio::time::pause()` are deterministic.

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Budget of one host.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetConfig {
    /// Sustained requests per second; may be below 1. Zero, negative or non-finite disables the
    /// rate limit.
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

/// A governor clock on `tokio::time::Instant`, as a `Duration` since a base instant.
#[derive(Debug, Clone)]
struct TokioClock {
    base: Instant,
}

impl Clock for TokioClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.base)
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Duration>>;

struct HostInner {
    host: String,
    config: BudgetConfig,
    clock: TokioClock,
    limiter: Option<Limiter>,
    semaphore: Arc<Semaphore>,
    paused_until: Mutex<Option<Instant>>,
}

/// The budget of one host. Clones share the same state.
#[derive(Clone)]
pub struct HostBudget {
    inner: Arc<HostInner>,
}

impl fmt::Debug for HostBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostBudget")
            .field("host", &self.inner.host)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Permission to send one request; hold it until the response is read.
#[derive(Debug)]
pub struct Permit {
    _permit: Option<OwnedSemaphorePermit>,
}

fn quota(config: &BudgetConfig) -> Option<Quota> {
    let rate = config.rate_per_second;
    if !rate.is_finite() || rate <= 0.0 {
        return None;
    }
    let period = Duration::try_from_secs_f64(1.0 / rate).ok()?;
    let burst = NonZeroU32::new(config.burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(period.max(Duration::from_nanos(1))).map(|q| q.allow_burst(burst))
}

impl HostBudget {
    /// A budget not shared through [`Budgets`].
    pub fn new(host: impl Into<String>, config: BudgetConfig) -> Self {
        let clock = TokioClock {
            base: Instant::now(),
        };
        let limiter = quota(&config).map(|q| RateLimiter::direct_with_clock(q, clock.clone()));
        HostBudget {
            inner: Arc::new(HostInner {
                host: host.into(),
                config,
                clock,
                limiter,
                semaphore: Arc::new(Semaphore::new(config.concurrency.max(1))),
                paused_until: Mutex::new(None),
            }),
        }
    }

    pub fn host(&self) -> &str {
        &self.inner.host
    }

    pub fn config(&self) -> BudgetConfig {
        self.inner.config
    }

    /// Waits for the pause, a concurrency slot and the rate limit, in that order, and returns a
    /// permit. A pause that starts while waiting for the rate is waited for too (and the rate
    /// cell taken again after it), so requests never burst out at the end of a pause.
    pub async fn acquire(&self) -> Permit {
        let permit = self.inner.semaphore.clone().acquire_owned().await.ok();
        loop {
            self.wait_pause().await;
            self.wait_rate().await;
            if self.pause_remaining().is_none() {
                break;
            }
        }
        Permit { _permit: permit }
    }

    /// Every request to this host waits until `duration` from now has passed (a longer pause
    /// already in force is kept).
    pub fn pause_for(&self, duration: Duration) {
        let until = Instant::now() + duration;
        let mut paused = self
            .inner
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }

    /// How long the current pause still lasts, if any.
    pub fn pause_remaining(&self) -> Option<Duration> {
        let paused = *self
            .inner
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        paused.filter(|until| *until > now).map(|until| until - now)
    }

    async fn wait_pause(&self) {
        while let Some(remaining) = self.pause_remaining() {
            tokio::time::sleep(remaining).await;
        }
    }

    async fn wait_rate(&self) {
        let Some(limiter) = &self.inner.limiter else {
            return;
        };
        loop {
            match limiter.check() {
                Ok(()) => return,
                Err(not_until) => {
                    let wait = not_until.wait_time_from(self.inner.clock.now());
                    tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
                }
            }
        }
    }
}

struct BudgetsInner {
    default: BudgetConfig,
    overrides: Mutex<HashMap<String, BudgetConfig>>,
    hosts: Mutex<HashMap<String, HostBudget>>,
}

/// All host budgets of the process. Clones share the same budgets.
#[derive(Clone)]
pub struct Budgets {
    inner: Arc<BudgetsInner>,
}

impl fmt::Debug for Budgets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Budgets")
            .field("default", &self.inner.default)
            .finish_non_exhaustive()
    }
}

impl Budgets {
    pub fn new(default: BudgetConfig) -> Self {
        Budgets {
            inner: Arc::new(BudgetsInner {
                default,
                overrides: Mutex::new(HashMap::new()),
                hosts: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Sets the budget of one host (`dms.cn-north-4.myhuaweicloud.com`, or `127.0.0.1:8080`).
    /// Meant for start-up: a host budget already handed out keeps its old configuration.
    pub fn with_host(self, host: impl Into<String>, config: BudgetConfig) -> Self {
        let host = host.into().to_ascii_lowercase();
        self.inner
            .hosts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&host);
        self.inner
            .overrides
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(host, config);
        self
    }

    /// The shared budget of a host, created on first use.
    pub fn for_host(&self, host: &str) -> HostBudget {
        let key = host.to_ascii_lowercase();
        let config = self
            .inner
            .overrides
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .copied()
            .unwrap_or(self.inner.default);
        self.inner
            .hosts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key.clone())
            .or_insert_with(|| HostBudget::new(key, config))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn rate_below_one_spaces_requests() {
        let budget = HostBudget::new(
            "h",
            BudgetConfig {
                rate_per_second: 0.5,
                burst: 1,
                concurrency: 4,
            },
        );
        let start = Instant::now();
        drop(budget.acquire().await);
        drop(budget.acquire().await);
        assert_eq!(Instant::now() - start, Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn pause_delays_acquire() {
        let budget = Budgets::new(BudgetConfig::default()).for_host("H");
        budget.pause_for(Duration::from_secs(3));
        budget.pause_for(Duration::from_secs(1));
        let start = Instant::now();
        drop(budget.acquire().await);
        assert_eq!(Instant::now() - start, Duration::from_secs(3));
    }

    #[test]
    fn for_host_shares_state_and_honours_overrides() {
        let special = BudgetConfig {
            rate_per_second: 1.0,
            burst: 1,
            concurrency: 1,
        };
        let budgets = Budgets::new(BudgetConfig::default()).with_host("Special.Host", special);
        assert_eq!(budgets.for_host("special.host").config(), special);
        assert_eq!(budgets.for_host("other").config(), BudgetConfig::default());
        let a = budgets.for_host("other");
        let b = budgets.clone().for_host("OTHER");
        assert!(Arc::ptr_eq(&a.inner, &b.inner));
    }
}
