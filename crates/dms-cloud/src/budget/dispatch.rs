//! The host's fair queue: flows ([`Flow`]) wait for their turn, and one dispatcher task per
//! host hands out [`Permit`]s as the pause, the rate and the concurrency cap allow. Fair
//! shares are read back from the queue's competition counters.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, oneshot};
use tokio::time::Instant;

use super::host::{HostBudget, HostInner};
use super::queue::Competition;
use crate::locks::lock;

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

/// Permission to send one request; hold it until the response is read.
#[derive(Debug)]
pub struct Permit {
    _permit: Option<OwnedSemaphorePermit>,
}

impl HostBudget {
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
