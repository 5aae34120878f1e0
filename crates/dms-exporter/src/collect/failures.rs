//! Logging failed reads once per state change: a read that starts failing is a warning
//! naming the collector, the instance and the part (a group's detail, an engine's list); a
//! recovery is one info line; a persistent failure logs nothing more (the self-metrics count
//! every cycle).

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use dms_cloud::ApiError;

use super::Output;

/// The part key of a whole cycle's failure (no part was read at all).
const WHOLE: &str = "*";

/// What is failing now, per (instance, part), of one collector of one project.
#[derive(Debug, Default)]
pub struct FailureLog {
    failing: Mutex<HashSet<(String, String)>>,
}

/// Where the reads happened, for the log lines.
pub struct Origin<'a> {
    pub collector: &'static str,
    pub region: &'a str,
    pub project_id: &'a str,
    /// Empty for a project-scoped collector.
    pub instance_id: &'a str,
}

impl FailureLog {
    /// Logs the changes a cycle's result brings.
    pub fn observe(&self, origin: &Origin<'_>, result: Result<&Output, &ApiError>) {
        let Origin {
            collector,
            region,
            project_id,
            instance_id,
        } = *origin;
        let mut failing = self.failing.lock().unwrap_or_else(PoisonError::into_inner);
        let key = |part: &str| (instance_id.to_owned(), part.to_owned());
        let output = match result {
            Err(error) => {
                if failing.insert(key(WHOLE)) {
                    tracing::warn!(collector, region, project_id, instance_id, %error, "collection failed; serving the last good data");
                }
                return;
            }
            Ok(output) => output,
        };
        if failing.remove(&key(WHOLE)) {
            tracing::info!(
                collector,
                region,
                project_id,
                instance_id,
                "collection works again"
            );
        }
        for (part, samples) in &output.parts {
            match samples {
                Err(error) => {
                    if failing.insert(key(part)) {
                        tracing::warn!(collector, region, project_id, instance_id, part = %part, %error, "part failed; serving its last good data");
                    }
                }
                Ok(_) => {
                    if failing.remove(&key(part)) {
                        tracing::info!(collector, region, project_id, instance_id, part = %part, "part works again");
                    }
                }
            }
        }
        // Parts that vanished are no longer failing (nor anything else).
        failing.retain(|(instance, part)| {
            instance != instance_id
                || part == WHOLE
                || output.parts.iter().any(|(p, _)| p == part)
                || output.kept.contains(part)
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use dms_cloud::ErrorKind;

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged(run: impl FnOnce()) -> Vec<String> {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, run);
        let bytes = buffer
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn cycle(groups: &[(&str, bool)]) -> Output {
        Output {
            parts: groups
                .iter()
                .map(|(name, ok)| {
                    let samples = if *ok {
                        Ok(Vec::new())
                    } else {
                        Err(ApiError::new("kafka_group", ErrorKind::ServerError, "boom"))
                    };
                    ((*name).to_owned(), samples)
                })
                .collect(),
            ..Output::default()
        }
    }

    #[test]
    fn a_failing_part_is_logged_once_naming_collector_instance_and_part() {
        let log = FailureLog::default();
        let origin = Origin {
            collector: "kafka_groups",
            region: "cn-north-4",
            project_id: "p",
            instance_id: "i-1",
        };
        let lines = logged(|| {
            for _ in 0..5 {
                log.observe(&origin, Ok(&cycle(&[("g1", true), ("g2", false)])));
            }
        });
        assert_eq!(lines.len(), 1, "{lines:?}");
        let line = &lines[0];
        assert!(line.contains("WARN"), "{line}");
        for needle in ["kafka_groups", "i-1", "part=g2", "boom"] {
            assert!(line.contains(needle), "{needle} in {line}");
        }

        let lines = logged(|| {
            log.observe(&origin, Ok(&cycle(&[("g1", true), ("g2", true)])));
            log.observe(&origin, Ok(&cycle(&[("g1", true), ("g2", true)])));
        });
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].contains("INFO") && lines[0].contains("works again"),
            "{lines:?}"
        );

        // A whole failure, then recovery: once each.
        let error = ApiError::new("kafka_groups", ErrorKind::Timeout, "slow");
        let lines = logged(|| {
            log.observe(&origin, Err(&error));
            log.observe(&origin, Err(&error));
            log.observe(&origin, Ok(&cycle(&[("g1", true)])));
        });
        assert_eq!(lines.len(), 2, "{lines:?}");
    }
}
