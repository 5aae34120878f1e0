//! `--state.file`: the log end histories (lag in seconds by interpolation) survive a restart.
//! The file is JSON, written atomically (a temporary file beside it, synced, then renamed)
//! every [`SAVE_EVERY`] and once more at shutdown. A missing file is a first start; a file
//! that cannot be read or parsed, or is larger than [`MAX_BYTES`], is a warning and an empty
//! history, never a failed start. It is parsed as it is read, each history going straight
//! into its compact form, so restoring never holds the file (nor a copy of every history) in
//! memory.

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeSeed;
use tokio_util::sync::CancellationToken;

mod stream;

use super::{ConsumerHealth, RestoredHistories, SavedHistory};
use crate::files::{self, CappedOpenError, TooLarge};
use stream::FileSeed;

/// How often the state is written while running.
pub const SAVE_EVERY: Duration = Duration::from_secs(60);

/// The most one partition's history takes in the file: 32 points of two numbers, its
/// instance id, topic and partition (a full one with a short topic name is about 1.5 KiB;
/// `a_full_history_fits_the_per_partition_bound` checks one with a 200-character name).
const MAX_BYTES_PER_PARTITION: u64 = 2 * 1024;

/// The most partitions a state file is read for: above the 100,000 of the fleet benchmark
/// (1,000 instances, docs/performance.md), whose file is about 150 MB.
const MAX_PARTITIONS: u64 = 128 * 1024;

/// A larger file is not read (256 MiB): it is not one we wrote for a fleet we can watch.
pub const MAX_BYTES: u64 = MAX_BYTES_PER_PARTITION * MAX_PARTITIONS;

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
    #[error("state file {path}: not a dms_exporter state file: it has no version")]
    Unversioned { path: String },
    #[error("state file {path}: version {found}, this exporter reads version {VERSION}")]
    Version { path: String, found: u32 },
    #[error("state file {path}: {source}, more than a state file may be (docs/configuration.md)")]
    TooLarge { path: String, source: TooLarge },
}

/// The file as written; read back by [`FileSeed`], a history at a time.
#[derive(Serialize)]
struct StateFile<'a> {
    version: u32,
    log_end_histories: &'a [SavedHistory],
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StateFileError + '_ {
    move |source| StateFileError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A JSON error: the file's reading or writing failed, or its text is not ours.
fn json_error(path: &Path) -> impl FnOnce(serde_json::Error) -> StateFileError + '_ {
    move |source| {
        if source.is_io() {
            io_error(path)(source.into())
        } else {
            StateFileError::Parse {
                path: path.display().to_string(),
                source,
            }
        }
    }
}

/// Reads a state file; `Ok(None)` when there is none yet.
pub fn load(path: &Path) -> Result<Option<RestoredHistories>, StateFileError> {
    let shown = || path.display().to_string();
    let mut reader = match files::open_capped(path, MAX_BYTES) {
        Ok(reader) => reader,
        Err(CappedOpenError::Io(error)) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(None);
        }
        Err(CappedOpenError::Io(error)) => return Err(io_error(path)(error)),
        Err(CappedOpenError::TooLarge(source)) => {
            return Err(StateFileError::TooLarge {
                path: shown(),
                source,
            });
        }
    };
    let mut restored = RestoredHistories::default();
    let parsed = {
        let mut input = serde_json::Deserializer::from_reader(&mut reader);
        FileSeed {
            restored: &mut restored,
        }
        .deserialize(&mut input)
        .and_then(|version| input.end().map(|()| version))
    };
    // Checked first: a file that grew past the cap (or an endless device) ends mid-parse.
    if files::over_cap(&reader) {
        return Err(StateFileError::TooLarge {
            path: shown(),
            source: TooLarge {
                bytes: None,
                max_bytes: MAX_BYTES,
            },
        });
    }
    let version = parsed.map_err(json_error(path))?;
    match version {
        Some(VERSION) => Ok(Some(restored)),
        Some(found) => Err(StateFileError::Version {
            path: shown(),
            found,
        }),
        None => Err(StateFileError::Unversioned { path: shown() }),
    }
}

/// Writes `histories` to `path` atomically: a reader sees the old file or the new one.
pub fn save(path: &Path, histories: &[SavedHistory]) -> Result<(), StateFileError> {
    let file = StateFile {
        version: VERSION,
        log_end_histories: histories,
    };
    let temporary = temporary_path(path);
    let out = std::fs::File::create(&temporary).map_err(io_error(&temporary))?;
    // Written as it is encoded: the file's text is never whole in memory.
    let mut writer = BufWriter::new(out);
    serde_json::to_writer(&mut writer, &file).map_err(json_error(&temporary))?;
    let out = writer
        .into_inner()
        .map_err(|error| io_error(&temporary)(error.into_error()))?;
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
        Ok(Some(restored)) => {
            tracing::info!(path = %path.display(), partitions = restored.partitions(), "log end histories restored");
            health.restore_histories(restored);
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
    let result = tokio::task::spawn_blocking(move || save(&target, &histories)).await;
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
    use crate::collect::health::interpolation::{LagSeconds, MAX_POINTS, Point};

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
        save(&path, &before.saved_histories()).unwrap_or_else(|e| panic!("{e}"));
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
            Some(LagSeconds::Seconds(20.0))
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
        let mut restored = RestoredHistories::default();
        restored.add(SavedHistory {
            instance_id: "i".to_owned(),
            topic: "t".to_owned(),
            partition: "0".to_owned(),
            points,
        });
        health.restore_histories(restored);
        let saved = health.saved_histories();
        // Each decreasing offset restarted the log: one point is left.
        assert_eq!(saved[0].points.len(), 1);
    }

    #[test]
    fn an_oversized_file_is_refused_naming_its_size_and_nothing_is_restored() {
        let path = scratch("oversized");
        // Sparse: refused on its size, before a byte is read.
        let file = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
        file.set_len(MAX_BYTES + 1)
            .unwrap_or_else(|e| panic!("{e}"));
        let error = load(&path).err().map(|e| e.to_string()).unwrap_or_default();
        let expected = format!(
            "state file {}: {} bytes, larger than 262144 KiB, more than a state file may be",
            path.display(),
            MAX_BYTES + 1
        );
        assert!(error.starts_with(&expected), "{error}");
        let health = ConsumerHealth::default();
        restore(&health, &path);
        assert!(health.saved_histories().is_empty());
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn an_endless_device_is_read_no_further_than_its_first_bytes() {
        let error = load(Path::new("/dev/zero"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("not a dms_exporter state file"), "{error}");
    }

    #[test]
    fn a_file_without_a_version_or_with_trailing_text_is_refused() {
        let path = scratch("unversioned");
        for (text, expected) in [
            (r#"{"log_end_histories":[]}"#, "it has no version"),
            (
                r#"{"version":1,"log_end_histories":[]} x"#,
                "trailing characters",
            ),
            (r#"[1]"#, "not a dms_exporter state file"),
        ] {
            std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
            let error = load(&path).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn a_full_history_fits_the_per_partition_bound() {
        let health = ConsumerHealth::with_clock(Arc::new(|| 0));
        // Offsets and times as large as a busy partition's, a UUID and a long topic name.
        for i in 0..(2 * MAX_POINTS as i64) {
            health.restore_histories({
                let mut restored = RestoredHistories::default();
                restored.add(SavedHistory {
                    instance_id: "57504856-3663-0572-48a3-6c221f13ad10".to_owned(),
                    topic: "t".repeat(200),
                    partition: "1023".to_owned(),
                    points: vec![Point {
                        offset: 9_000_000_000 + i * 1_000_000,
                        time_ms: 1_800_000_000_000 + i * 30_000,
                    }],
                });
                restored
            });
        }
        let saved = health.saved_histories();
        assert_eq!(saved[0].points.len(), MAX_POINTS);
        let bytes = serde_json::to_vec(&saved[0])
            .map(|b| b.len())
            .unwrap_or(usize::MAX);
        assert!(
            (bytes as u64) < MAX_BYTES_PER_PARTITION,
            "{bytes} bytes for a full history"
        );
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
        let restored = ConsumerHealth::with_clock(Arc::new(|| 50_000));
        restore(&restored, &path);
        assert_eq!(restored.saved_histories(), health.saved_histories());
    }
}
