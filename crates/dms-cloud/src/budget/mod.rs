//! The request scheduler of each endpoint host, shared by the whole process: every request of
//! every collector, project and instance waits in the host's one queue and leaves as the host's
//! budget allows — an adaptive rate ([`aimd`]) under a configured ceiling, a concurrency cap,
//! a pause after throttling — in weighted fair order between collectors ([`queue`]). The
//! API's per-instance limits are kept by [`pacing`] before a request joins the queue.
//!
//! Time comes from `tokio::time`, so tests under `tokio::time::pause()` are deterministic.

mod aimd;
mod attempt;
pub mod backoff;
mod budgets;
mod dispatch;
mod host;
pub mod pacing;
mod queue;
mod rate;
pub mod signature;

pub use self::attempt::{Attempt, NotSent};
pub use self::budgets::Budgets;
pub use self::dispatch::{Flow, Permit};
pub use self::host::{BudgetConfig, HostBudget, HostStatus};
pub use self::queue::Competition;

#[cfg(test)]
mod tests;
