//! Logging failed reads once per state change: a read that starts failing is a warning
//! naming the collector, the instance and the part (a group's detail, an engine's list); a
//! recovery is one info line; a persistent failure logs nothing more (the self-metrics count
//! every cycle).

use std::collections::HashSet;
use std::sync::Mutex;

use dms_cloud::ApiError;

use super::Output;
use crate::locks::lock;

/// The part key of a whole cycle's failure (no part was read at all).
const WHOLE: &str = "*";

/// What is failing now, per (instance, part), of one collector of one project.
#[derive(Debug, Default)]
pub(super) struct FailureLog {
    failing: Mutex<HashSet<(String, String)>>,
}

/// Where the reads happened, for the log lines.
pub(super) struct Origin<'a> {
    pub collector: &'static str,
    pub region: &'a str,
    pub project_id: &'a str,
    /// Empty for a project-scoped collector.
    pub instance_id: &'a str,
}

/// One change of a read's state.
#[derive(Debug, PartialEq)]
enum Change {
    /// `part` started failing (`None`: the whole cycle).
    Failing {
        part: Option<String>,
        error: ApiError,
    },
    Recovered {
        part: Option<String>,
    },
}

impl FailureLog {
    /// Logs the changes a cycle's result brings.
    pub(super) fn observe(&self, origin: &Origin<'_>, result: Result<&Output, &ApiError>) {
        let Origin {
            collector,
            region,
            project_id,
            instance_id,
        } = *origin;
        for change in self.changes(instance_id, result) {
            match change {
                Change::Failing { part: None, error } => {
                    tracing::warn!(collector, region, project_id, instance_id, %error, "collection failed; serving the last good data");
                }
                Change::Failing {
                    part: Some(part),
                    error,
                } => {
                    tracing::warn!(collector, region, project_id, instance_id, part, %error, "part failed; serving its last good data");
                }
                Change::Recovered { part: None } => {
                    tracing::info!(
                        collector,
                        region,
                        project_id,
                        instance_id,
                        "collection works again"
                    );
                }
                Change::Recovered { part: Some(part) } => {
                    tracing::info!(
                        collector,
                        region,
                        project_id,
                        instance_id,
                        part,
                        "part works again"
                    );
                }
            }
        }
    }

    /// Forgets the reads of instances not in `live` (discovery no longer lists them): the
    /// state stays bounded by the fleet over weeks of churn, and an id that comes back starts
    /// afresh instead of logging a stale recovery.
    pub(super) fn retain_instances<'a>(&self, live: impl IntoIterator<Item = &'a str>) {
        let live: HashSet<&str> = live.into_iter().collect();
        lock(&self.failing).retain(|(instance, _)| live.contains(instance.as_str()));
    }

    /// What changed with this result, remembering what fails now.
    fn changes(&self, instance_id: &str, result: Result<&Output, &ApiError>) -> Vec<Change> {
        let mut failing = lock(&self.failing);
        let key = |part: &str| (instance_id.to_owned(), part.to_owned());
        let named = |part: &str| (part != WHOLE).then(|| part.to_owned());
        let mut changes = Vec::new();
        let output = match result {
            Err(error) => {
                if failing.insert(key(WHOLE)) {
                    changes.push(Change::Failing {
                        part: None,
                        error: error.clone(),
                    });
                }
                return changes;
            }
            Ok(output) => output,
        };
        if failing.remove(&key(WHOLE)) {
            changes.push(Change::Recovered { part: None });
        }
        for (part, samples) in &output.parts {
            match samples {
                Err(error) if failing.insert(key(part)) => changes.push(Change::Failing {
                    part: named(part),
                    error: error.clone(),
                }),
                Ok(_) if failing.remove(&key(part)) => {
                    changes.push(Change::Recovered { part: named(part) });
                }
                _ => {}
            }
        }
        // Parts that vanished are no longer failing (nor anything else).
        failing.retain(|(instance, part)| {
            instance != instance_id
                || part == WHOLE
                || output.parts.iter().any(|(p, _)| p == part)
                || output.kept.contains(part)
        });
        changes
    }
}

#[cfg(test)]
mod tests {
    use dms_cloud::ErrorKind;

    use super::*;

    fn boom() -> ApiError {
        ApiError::new("kafka_group", ErrorKind::ServerError, "boom")
    }

    fn cycle(groups: &[(&str, bool)]) -> Output {
        Output {
            parts: groups
                .iter()
                .map(|(name, ok)| {
                    let samples = if *ok { Ok(Vec::new()) } else { Err(boom()) };
                    ((*name).to_owned(), samples)
                })
                .collect(),
            ..Output::default()
        }
    }

    #[test]
    fn a_failure_is_reported_once_per_change_and_per_part() {
        let log = FailureLog::default();
        let failing = log.changes("i-1", Ok(&cycle(&[("g1", true), ("g2", false)])));
        assert_eq!(
            failing,
            [Change::Failing {
                part: Some("g2".into()),
                error: boom()
            }]
        );
        for _ in 0..5 {
            let again = log.changes("i-1", Ok(&cycle(&[("g1", true), ("g2", false)])));
            assert_eq!(again, [], "a persistent failure is not repeated");
        }
        // The same part of another instance is its own state.
        assert_eq!(log.changes("i-2", Ok(&cycle(&[("g2", false)]))).len(), 1);
        let recovered = log.changes("i-1", Ok(&cycle(&[("g1", true), ("g2", true)])));
        assert_eq!(
            recovered,
            [Change::Recovered {
                part: Some("g2".into())
            }]
        );
        assert_eq!(log.changes("i-1", Ok(&cycle(&[("g2", true)]))), []);

        // A whole failure, then recovery: once each.
        let error = ApiError::new("kafka_groups", ErrorKind::Timeout, "slow");
        assert_eq!(log.changes("i-1", Err(&error)).len(), 1);
        assert_eq!(log.changes("i-1", Err(&error)), []);
        assert_eq!(
            log.changes("i-1", Ok(&cycle(&[("g1", true)]))),
            [Change::Recovered { part: None }]
        );

        // A part that vanished while failing is forgotten: failing again is news.
        assert_eq!(log.changes("i-2", Ok(&cycle(&[]))), []);
        assert_eq!(log.changes("i-2", Ok(&cycle(&[("g2", false)]))).len(), 1);
    }

    #[test]
    fn instances_that_left_the_inventory_are_forgotten() {
        let log = FailureLog::default();
        assert_eq!(log.changes("gone", Ok(&cycle(&[("g", false)]))).len(), 1);
        assert_eq!(log.changes("gone", Err(&boom())).len(), 1);
        assert_eq!(log.changes("stays", Ok(&cycle(&[("g", false)]))).len(), 1);
        log.retain_instances(["stays", "idle"]);
        let failing = lock(&log.failing).len();
        assert_eq!(failing, 1, "only the listed instance's failure is kept");
        // An id that comes back starts afresh: no stale "works again" line.
        assert_eq!(log.changes("gone", Ok(&cycle(&[("g", true)]))), []);
        // The listed instance keeps its state: its recovery is still news.
        assert_eq!(
            log.changes("stays", Ok(&cycle(&[("g", true)]))),
            [Change::Recovered {
                part: Some("g".into())
            }]
        );
    }
}
