//! Supervision of the background tasks: a panic in a collection, publishing or HTTP task ends
//! the process with an error (so systemd or Kubernetes restarts it) instead of leaving it up,
//! serving data that no longer refreshes.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use tokio::task::{JoinError, JoinHandle};
use tokio_util::sync::CancellationToken;

/// Records the first fatal failure and cancels `shutdown`; `app::run` then returns it.
#[derive(Clone, Debug)]
pub struct Supervisor {
    shutdown: CancellationToken,
    failure: Arc<OnceLock<String>>,
}

impl Supervisor {
    pub fn new(shutdown: CancellationToken) -> Self {
        Self {
            shutdown,
            failure: Arc::default(),
        }
    }

    /// Spawns `future` as task `name`, watched: its panic is fatal. Awaiting the returned
    /// handle waits for the task.
    pub fn spawn<F>(&self, name: &'static str, future: F) -> JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let task = tokio::spawn(future);
        let supervisor = self.clone();
        tokio::spawn(async move { supervisor.check(name, task.await) })
    }

    /// Looks at a finished task: a panic is fatal; a normal end or a cancellation is not.
    pub fn check(&self, name: &'static str, result: Result<(), JoinError>) {
        let Err(error) = result else { return };
        if !error.is_panic() {
            return;
        }
        let payload = error.into_panic();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_owned());
        tracing::error!(task = name, panic = %message, "a background task panicked; stopping the exporter");
        let _ = self
            .failure
            .set(format!("the {name} task panicked: {message}"));
        self.shutdown.cancel();
    }

    /// The first fatal failure, if any.
    pub fn failure(&self) -> Option<&str> {
        self.failure.get().map(String::as_str)
    }
}

/// The environment variable that makes a debug build's collection panic on its first cycle
/// (`DMS_EXPORTER_DEBUG_PANIC=collector`), so a test can prove the binary then exits with an
/// error. Release builds have no such hook.
pub const DEBUG_PANIC_VARIABLE: &str = "DMS_EXPORTER_DEBUG_PANIC";

/// Adds the panicking collector of [`DEBUG_PANIC_VARIABLE`] in debug builds.
pub fn debug_hooks(collectors: &mut Vec<Arc<dyn crate::collect::Collector>>) {
    #[cfg(debug_assertions)]
    if std::env::var(DEBUG_PANIC_VARIABLE).is_ok_and(|v| v == "collector") {
        collectors.push(Arc::new(debug::Panicking));
    }
    #[cfg(not(debug_assertions))]
    let _ = collectors;
}

#[cfg(debug_assertions)]
mod debug {
    use std::time::Duration;

    use dms_cloud::ApiError;
    use futures::future::BoxFuture;

    use crate::collect::{Collector, Context, Description, Output, Priority, Scope};

    /// A collector whose cycle panics (not registered: debug builds add it on request).
    pub(super) struct Panicking;

    static PANICKING: Description = Description {
        name: "debug_panic",
        enabled_by_default: true,
        scope: Scope::Project,
        priority: Priority::Normal,
        interval: Duration::from_secs(60),
        max_age: None,
        demo_interval: Duration::from_secs(60),
        options: &[],
        families: &[],
        apis: &[],
    };

    impl Collector for Panicking {
        fn description(&self) -> &'static Description {
            &PANICKING
        }
        fn collect<'a>(&'a self, _: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>> {
            Box::pin(async { panic!("{} asked for a panic", super::DEBUG_PANIC_VARIABLE) })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_is_recorded_and_stops_everything() {
        let shutdown = CancellationToken::new();
        let supervisor = Supervisor::new(shutdown.clone());
        let fine = supervisor.spawn("fine", async {});
        assert!(fine.await.is_ok());
        assert!(!shutdown.is_cancelled());
        assert_eq!(supervisor.failure(), None);

        let broken = supervisor.spawn("collection", async { panic!("boom") });
        assert!(broken.await.is_ok(), "the watcher itself does not panic");
        assert!(shutdown.is_cancelled());
        assert_eq!(
            supervisor.failure(),
            Some("the collection task panicked: boom")
        );
    }
}
