//! Readiness: true once every collector has finished its first cycle.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::watch;
use tokio::time::Instant;

use super::store::Store;

/// Tells when every collector has finished its first cycle.
#[derive(Debug)]
pub struct Readiness {
    pending: AtomicUsize,
    ready: watch::Sender<bool>,
    /// When it was made: the first collection's time is measured from here.
    created: Instant,
}

impl Readiness {
    pub(super) fn new(pending: usize) -> Self {
        Self {
            pending: AtomicUsize::new(pending),
            ready: watch::Sender::new(pending == 0),
            created: Instant::now(),
        }
    }

    pub(super) fn one_done(&self) {
        if self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.ready.send_replace(true);
        }
    }

    /// Not ready until [`Readiness::follow`] sees the scheduler's readiness turn true.
    pub fn pending_startup() -> Self {
        Self::new(1)
    }

    /// Becomes ready when every one of `jobs` does (the jobs of the targets resolved at
    /// once) and their data is in a published snapshot, so a scrape right after sees all of it.
    pub async fn follow(&self, jobs: Vec<Arc<Readiness>>, store: &Store) {
        for jobs in jobs {
            jobs.wait().await;
        }
        store.wait_published().await;
        // Reloads follow again: only the first time is the first collection.
        if !self.ready.send_replace(true) {
            let elapsed = self.created.elapsed();
            tracing::info!(
                elapsed_s = (elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
                "first collection complete; ready"
            );
        }
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
