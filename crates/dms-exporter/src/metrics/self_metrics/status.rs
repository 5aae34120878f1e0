//! The landing page's reading of the self-metrics.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{BuildInfo, SelfMetrics};
use crate::locks::lock;

/// What the landing page shows of one collector of one project.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleStatus {
    pub collector: &'static str,
    pub region: String,
    pub project_id: String,
    /// Whether the last cycle read everything without an error.
    pub up: bool,
    /// Why the last cycle was down, when it was.
    pub last_error: Option<String>,
    /// When a cycle last succeeded, as a Unix timestamp.
    pub last_success_unix: Option<f64>,
    /// How long the last cycle took.
    pub last_duration: Duration,
}

/// A reading of the state the landing page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub build: BuildInfo,
    pub demo: bool,
    /// Whether the last reload succeeded (or none happened).
    pub reload_ok: bool,
    /// When the configuration was last loaded successfully, as a Unix timestamp.
    pub loaded_unix: f64,
    /// In (collector, region, project) order.
    pub cycles: Vec<CycleStatus>,
}

impl SelfMetrics {
    /// What the landing page shows, read under the locks once.
    pub fn status(&self) -> Status {
        let cycles = lock(&self.inner).cycles.statuses();
        let (reload_ok, loaded_unix) = *lock(&self.reload);
        Status {
            build: self.build.clone(),
            demo: self.demo.load(Ordering::Relaxed),
            reload_ok,
            loaded_unix,
            cycles,
        }
    }
}
