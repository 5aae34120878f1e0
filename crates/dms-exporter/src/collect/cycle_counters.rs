//! Counters of the running collector cycle, carried in task-locals: the scheduler sets them
//! around a cycle and reads them into its `CycleReport`; the API observer adapter
//! (`api_observer.rs`) and the collectors add to them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

tokio::task_local! {
    /// Counts API calls made inside one collector cycle (set by the scheduler).
    pub static CYCLE_API_CALLS: Arc<AtomicU64>;
    /// Counts API calls a per-cycle limit skipped inside one collector cycle (set by the
    /// scheduler; collectors report through [`record_skipped_calls`]).
    pub static CYCLE_SKIPPED_CALLS: Arc<AtomicU64>;
    /// Adds up, in nanoseconds, the per-instance intervals the API imposes on the calls of one
    /// instance's work (set by the scheduler).
    pub static CYCLE_PACED_SECONDS: Arc<AtomicU64>;
    /// Counts the successful answers of one collector round: a round slowed by the budget or
    /// by throttling still has them, one whose calls only fail has none (set by the
    /// scheduler).
    pub static CYCLE_PROGRESS: Arc<AtomicU64>;
}

/// Reports calls the current cycle skipped (a no-op outside a scheduled cycle).
pub fn record_skipped_calls(count: u64) {
    let _ = CYCLE_SKIPPED_CALLS.try_with(|skipped| skipped.fetch_add(count, Ordering::Relaxed));
}
