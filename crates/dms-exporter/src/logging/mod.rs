//! Logs through `tracing`, one line per event on standard error: logfmt
//! (`ts=… level=info target=… msg="…" key=value`, what Loki's `| logfmt` and the Prometheus
//! programs speak) or JSON with the same keys (`{"ts":…,"level":"info","target":…,"msg":…}`),
//! so a log query or alert works whichever format a deployment picked.
//!
//! The formatters are ours (`format.rs` says why).
//!
//! `--log.level=debug` turns on the exporter's own crates only: the HTTP stack (hyper,
//! reqwest, rustls, h2) stays at info, since its connection-pool chatter drowned the
//! collectors' decisions (673 of 705 debug lines). `RUST_LOG` asks for it explicitly.

mod format;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::cli::{LogFormat, LogLevel};
use crate::locks::lock;

pub use self::format::{Lines, SpanFields};

/// The workspace's crates: `--log.level=debug` is about their decisions. (The binary's
/// events carry the `dms_exporter` target too.)
const OWN_CRATES: [&str; 4] = ["dms_exporter", "dms_cloud", "dms_sign", "dms_sim"];

/// Installs the global subscriber. `RUST_LOG` wins over `--log.level` when set.
pub fn init(level: LogLevel, format: LogFormat) -> anyhow::Result<()> {
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref(), level)?;
    subscriber(filter, format, std::io::stderr)
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))
}

/// The subscriber `init` installs, writing to `writer` (tests capture the lines with it).
pub fn subscriber<W>(
    filter: EnvFilter,
    format: LogFormat,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    Box::new(
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(writer)
            .with_ansi(false)
            .fmt_fields(SpanFields)
            .event_format(Lines(format))
            .finish(),
    )
}

/// Lines kept in memory, for tests that read what the exporter logs.
#[derive(Debug, Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&lock(&self.0)).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        lock(&self.0).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The filter: `RUST_LOG` when set and not empty, else `--log.level`. A `RUST_LOG` that does
/// not parse is an error, not silently replaced by the level.
pub fn filter(rust_log: Option<&str>, level: LogLevel) -> anyhow::Result<EnvFilter> {
    match rust_log.filter(|v| !v.trim().is_empty()) {
        Some(directives) => EnvFilter::try_new(directives).map_err(|e| {
            anyhow::anyhow!(
                "RUST_LOG={directives:?} is not a tracing filter ({e}); e.g. info,dms_cloud=debug"
            )
        }),
        None => Ok(EnvFilter::try_new(level_directives(level))?),
    }
}

/// `--log.level` as filter directives: debug only for the workspace's crates, info for the
/// rest (the HTTP stack's debug lines are about connections, not about the exporter).
fn level_directives(level: LogLevel) -> String {
    match level {
        LogLevel::Debug => std::iter::once("info".to_owned())
            .chain(OWN_CRATES.iter().map(|c| format!("{c}=debug")))
            .collect::<Vec<_>>()
            .join(","),
        other => other.directive().to_owned(),
    }
}
