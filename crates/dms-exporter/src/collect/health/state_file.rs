//! `--state.file`: the log end histories (lag in seconds by interpolation) survive a restart.
//! The file is JSON, written atomically (a temporary file beside it, synced, then renamed)
//! every [`SAVE_EVERY`] and once more at shutdown. A missing file is a first start; a file
//! that cannot be read or parsed is a warning and an empty history, never a failed start.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::{ConsumerHealth, SavedHistory};

/// How often the state is written while running.
pub const SAVE_EVERY: Duration = Duration::from_secs(60);

/// A file larger than this is not read (a history is at most a few hundred bytes per
/// partition).
const MAX_BYTES: u64 = 256 << 20;

const VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    #[error("state file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("state file {path}: not a dms_exporter state file: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("state file {path}: version {found}, this exporter reads version {VERSION}")]
    Version { path: String, found: u32 },
    #[error("state file {path}: {bytes} bytes, more than the {MAX_BYTES} a state file can be")]
    TooLarge { path: String, bytes: u64 },
}

#[derive(Serialize, Deserialize)]
struct StateFile {
    version: u32,
    log_end_histories: Vec<SavedHistory>,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StateFileError + '_ {
    move |source| StateFileError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Reads a state file; `Ok(None)` when there is none yet.
pub fn load(path: &Path) -> Result<Option<Vec<SavedHistory>>, StateFileError> {
    let bytes = match std::fs::metadata(path) {
        Ok(meta) => meta.len(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(io_error(path)(error)),
    };
    if bytes > MAX_BYTES {
        return Err(StateFileError::TooLarge {
            path: path.display().to_string(),
            bytes,
        });
    }
    let text = std::fs::read(path).map_err(io_error(path))?;
    let file: StateFile =
        serde_json::from_slice(&text).map_err(|source| StateFileError::Parse {
            path: path.display().to_string(),
            source,
        })?;
    if file.version != VERSION {
        return Err(StateFileError::Version {
            path: path.display().to_string(),
            found: file.version,
        });
    }
    Ok(Some(file.log_end_histories))
}

/// Writes `histories` to `path` atomically: a reader sees the old file or the new one.
pub fn save(path: &Path, histories: Vec<SavedHistory>) -> Result<(), StateFileError> {
    let file = StateFile {
        version: VERSION,
        log_end_histories: histories,
    };
    let text = serde_json::to_vec(&file).map_err(|source| StateFileError::Parse {
        path: path.display().to_string(),
        source,
    })?;
    let temporary = temporary_path(path);
    let mut out = std::fs::File::create(&temporary).map_err(io_error(&temporary))?;
    out.write_all(&text).map_err(io_error(&temporary))?;
    out.sync_all().map_err(io_error(&temporary))?;
    drop(out);
    std::fs::rename(&temporary, path).map_err(io_error(path))
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Restores `path` into `health` (a bad file is logged and ignored).
pub fn restore(health: &ConsumerHealth, path: &Path) {
    match load(path) {
        Ok(Some(histories)) => {
            tracing::info!(path = %path.display(), partitions = histories.len(), "log end histories restored");
            health.restore_histories(histories);
        }
        Ok(None) => {
            tracing::info!(path = %path.display(), "no state file yet; it is written every minute");
        }
        Err(error) => {
            tracing::warn!(%error, "starting without the saved log end histories");
        }
    }
}

/// Saves `health` to `path` off the async threads; a failure is logged.
async fn save_now(health: &Arc<ConsumerHealth>, path: &Path) {
    let histories = health.saved_histories();
    let target = path.to_owned();
    let result = tokio::task::spawn_blocking(move || save(&target, histories)).await;
    match result {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(%error, "cannot write the state file"),
        Err(error) => tracing::warn!(%error, "state file writer failed"),
    }
}

/// Saves every [`SAVE_EVERY`] and once more when `shutdown` comes.
pub async fn persist(health: Arc<ConsumerHealth>, path: PathBuf, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(SAVE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = every.tick() => save_now(&health, &path).await,
        }
    }
    save_now(&health, &path).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::health::interpolation::Point;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("dms-exporter-state-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        dir.join("state.json")
    }

    fn fed() -> ConsumerHealth {
        let health = ConsumerHealth::with_clock(Arc::new(|| 50_000));
        health.record_topic_partitions(
            "i",
            "t",
            [(
                "0".to_owned(),
                super::super::PartitionFacts {
                    log_start: Some(0),
                    last_write: Some(Point {
                        offset: 100,
                        time_ms: 10_000,
                    }),
                },
            )],
        );
        health.record_log_end("i", "t", "0", 200);
        health
    }

    #[test]
    fn histories_survive_a_save_and_a_restore() {
        let path = scratch("roundtrip");
        let before = fed();
        save(&path, before.saved_histories()).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !temporary_path(&path).exists(),
            "the temporary file was renamed"
        );
        let after = ConsumerHealth::with_clock(Arc::new(|| 50_000));
        restore(&after, &path);
        assert_eq!(after.saved_histories(), before.saved_histories());
        // The restored history answers like the live one: 150 was the log end at 30 s.
        assert_eq!(
            after.interpolated_lag_seconds("i", "t", "0", 150, 50),
            Some(20.0)
        );
    }

    #[test]
    fn a_missing_or_bad_file_is_no_history_and_no_failure() {
        let path = scratch("bad");
        assert!(matches!(load(&path), Ok(None)));
        std::fs::write(&path, b"{not json").unwrap_or_else(|e| panic!("{e}"));
        let error = load(&path).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("not a dms_exporter state file"), "{error}");
        std::fs::write(&path, br#"{"version":9,"log_end_histories":[]}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        let error = load(&path).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("version 9"), "{error}");
        let health = ConsumerHealth::default();
        restore(&health, &path);
        assert!(health.saved_histories().is_empty());
    }

    #[test]
    fn restored_points_are_checked_like_live_ones() {
        let health = ConsumerHealth::with_clock(Arc::new(|| 0));
        let points = (0..1_000)
            .map(|i| Point {
                offset: 1_000 - i,
                time_ms: i,
            })
            .collect();
        health.restore_histories(vec![SavedHistory {
            instance_id: "i".to_owned(),
            topic: "t".to_owned(),
            partition: "0".to_owned(),
            points,
        }]);
        let saved = health.saved_histories();
        // Each decreasing offset restarted the log: one point is left.
        assert_eq!(saved[0].points.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn persist_writes_on_shutdown() {
        let path = scratch("persist");
        let health = Arc::new(fed());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(persist(Arc::clone(&health), path.clone(), shutdown.clone()));
        tokio::task::yield_now().await;
        shutdown.cancel();
        task.await.unwrap_or_else(|e| panic!("{e}"));
        let saved = load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(saved, Some(health.saved_histories()));
    }
}
