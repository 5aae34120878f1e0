//! dms_exporter: a Prometheus exporter for Huawei Cloud Distributed Message Service.
//!
//! The map of this crate follows the data: [`config`] → [`app`] builds cloud clients
//! (`dms-cloud`) → [`collect`] (scheduler, collectors, store) → [`snapshot`] (encoded once per
//! refresh) → [`http`] (serves it). [`metrics`] describes and encodes families. See
//! ARCHITECTURE.md.

pub mod api_observer;
pub mod app;
pub mod cli;
pub mod collect;
pub mod config;
pub mod credential_watch;
#[cfg(feature = "demo")]
pub mod demo;
mod files;
pub mod http;
mod locks;
pub mod logging;
pub mod metrics;
pub mod preflight;
pub mod snapshot;
pub mod supervisor;
pub mod targets;
