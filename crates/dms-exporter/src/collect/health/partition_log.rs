//! The per-partition facts other cycles leave for the groups cycle: the log end history
//! (lag in seconds by interpolation), the log start offset (messages lost) and the topic's
//! retention (lag retention ratio), plus the exact produce times R15 gave.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use serde::{Deserialize, Serialize};

use super::interpolation::{self, LagSeconds, LogEndHistory, Point};
use super::{ConsumerHealth, ExactTime};
use crate::locks::lock;

/// One partition's log as the partitions and groups cycles saw it.
#[derive(Debug, Default)]
pub(super) struct PartitionLog {
    pub history: LogEndHistory,
    /// Log start offset (R11 `lso`).
    pub log_start: Option<i64>,
}

/// What the partitions cycle read of one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionFacts {
    /// Log start offset.
    pub log_start: Option<i64>,
    /// The log end and when it was last written.
    pub last_write: Option<Point>,
}

/// One partition's log end history as the state file keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedHistory {
    pub instance_id: String,
    pub topic: String,
    pub partition: String,
    pub points: Vec<Point>,
}

/// Log end histories read from a state file, kept aside until the whole file has been read
/// (a bad file then leaves nothing behind). Each point goes through the same checks and
/// bounds as a live one as it is read, so they take the room of the histories they become,
/// whatever the file's size.
#[derive(Debug, Default)]
pub struct RestoredHistories {
    /// Instance → topic → partition → history.
    logs: HashMap<String, HashMap<String, HashMap<String, LogEndHistory>>>,
}

impl RestoredHistories {
    pub fn add(&mut self, saved: SavedHistory) {
        let history = self
            .logs
            .entry(saved.instance_id)
            .or_default()
            .entry(saved.topic)
            .or_default()
            .entry(saved.partition)
            .or_default();
        for point in saved.points {
            history.add(point);
        }
    }

    /// How many partitions have a history.
    pub fn partitions(&self) -> usize {
        self.logs
            .values()
            .flat_map(HashMap::values)
            .map(HashMap::len)
            .sum()
    }
}

impl ConsumerHealth {
    /// Every partition's log end history (for the state file), in a stable order.
    pub fn saved_histories(&self) -> Vec<SavedHistory> {
        let inner = lock(&self.inner);
        let mut out: Vec<SavedHistory> = inner
            .instances
            .iter()
            .flat_map(|(instance, state)| {
                state.logs.iter().flat_map(move |(topic, partitions)| {
                    partitions.iter().map(move |(partition, log)| SavedHistory {
                        instance_id: instance.clone(),
                        topic: topic.clone(),
                        partition: partition.clone(),
                        points: log.history.points().to_vec(),
                    })
                })
            })
            .filter(|saved| !saved.points.is_empty())
            .collect();
        out.sort_by(|a, b| {
            (&a.instance_id, &a.topic, &a.partition).cmp(&(&b.instance_id, &b.topic, &b.partition))
        });
        out
    }

    /// Adds the histories a state file gave (a restart's), merged with any already kept.
    pub fn restore_histories(&self, restored: RestoredHistories) {
        let now = self.now_ms();
        let mut inner = lock(&self.inner);
        for (instance, topics) in restored.logs {
            let state = Self::instance(&mut inner, &instance, now);
            for (topic, partitions) in topics {
                let logs = state.logs.entry(topic).or_default();
                for (partition, history) in partitions {
                    match logs.entry(partition) {
                        Entry::Vacant(entry) => {
                            entry.insert(PartitionLog {
                                history,
                                log_start: None,
                            });
                        }
                        Entry::Occupied(mut entry) => {
                            for point in history.points() {
                                entry.get_mut().history.add(*point);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Records the log end one partition has now (a groups cycle's `message_log_end_offset`).
    pub fn record_log_end(&self, instance: &str, topic: &str, partition: &str, offset: i64) {
        let point = Point {
            offset,
            time_ms: self.now_ms(),
        };
        self.with_instance(instance, |state| {
            let partitions = state.logs.entry(topic.to_owned()).or_default();
            partitions
                .entry(partition.to_owned())
                .or_default()
                .history
                .add(point);
        });
    }

    /// Records a topic's partitions as a partitions cycle read them; partitions not given are
    /// forgotten.
    pub fn record_topic_partitions(
        &self,
        instance: &str,
        topic: &str,
        partitions: impl IntoIterator<Item = (String, PartitionFacts)>,
    ) {
        self.with_instance(instance, |state| {
            let mut previous = state.logs.remove(topic).unwrap_or_default();
            let mut current = HashMap::with_capacity(previous.len());
            for (partition, facts) in partitions {
                let mut log = previous.remove(&partition).unwrap_or_default();
                log.log_start = facts.log_start;
                if let Some(point) = facts.last_write {
                    log.history.add(point);
                }
                current.insert(partition, log);
            }
            state.logs.insert(topic.to_owned(), current);
        });
    }

    /// Forgets the logs of the instance's topics `keep` refuses (deleted topics).
    pub fn retain_log_topics(&self, instance: &str, keep: impl Fn(&str) -> bool) {
        self.with_instance(instance, |state| state.logs.retain(|topic, _| keep(topic)));
    }

    /// Records every topic's retention (ms) as the topics cycle listed them.
    pub fn record_retention(
        &self,
        instance: &str,
        topics: impl IntoIterator<Item = (String, i64)>,
    ) {
        let retention = topics.into_iter().collect();
        self.with_instance(instance, |state| state.retention_ms = retention);
    }

    /// Reads one partition's log in place.
    fn read_log<R>(
        &self,
        instance: &str,
        topic: &str,
        partition: &str,
        f: impl FnOnce(&PartitionLog) -> Option<R>,
    ) -> Option<R> {
        self.read_instance(instance, |state| {
            f(state.logs.get(topic)?.get(partition)?)
        })
    }

    /// The lag in seconds of `committed` by interpolation over the partition's log end
    /// history (see [`interpolation::lag_seconds`]).
    pub fn interpolated_lag_seconds(
        &self,
        instance: &str,
        topic: &str,
        partition: &str,
        committed: i64,
        lag: i64,
    ) -> Option<LagSeconds> {
        if lag <= 0 {
            return Some(LagSeconds::Seconds(0.0));
        }
        let now = self.now_ms();
        self.read_log(instance, topic, partition, |log| {
            interpolation::lag_seconds(&log.history, committed, lag, now)
        })
    }

    /// The partition's log start offset, as the last partitions cycle read it.
    pub fn log_start(&self, instance: &str, topic: &str, partition: &str) -> Option<i64> {
        self.read_log(instance, topic, partition, |log| log.log_start)
    }

    /// The topic's retention in seconds, as the last topics cycle read it.
    pub fn retention_seconds(&self, instance: &str, topic: &str) -> Option<f64> {
        self.read_instance(instance, |state| state.retention_ms.get(topic).copied())
            .map(|ms| ms as f64 / 1000.0)
    }

    /// The produce time (unix ms) R15 gave for the group's `committed` offset, if it was read
    /// for that same offset (the group has not moved since).
    pub fn exact_produced_ms(
        &self,
        instance: &str,
        group: &str,
        topic: &str,
        partition: &str,
        committed: i64,
    ) -> Option<i64> {
        self.read_instance(instance, |state| {
            let exact = state.groups.get(group)?.get(topic)?.get(partition)?.exact?;
            (exact.committed == committed).then_some(exact.produced_ms)
        })
    }

    /// Remembers the produce time of the message at the group's `committed` offset; kept
    /// as long as the partition's status window (call after [`ConsumerHealth::observe`]).
    pub fn remember_exact(
        &self,
        instance: &str,
        group: &str,
        topic: &str,
        partition: &str,
        committed: i64,
        produced_ms: i64,
    ) {
        self.with_instance(instance, |state| {
            if let Some(tracked) = state
                .groups
                .get_mut(group)
                .and_then(|topics| topics.get_mut(topic))
                .and_then(|partitions| partitions.get_mut(partition))
            {
                tracked.exact = Some(ExactTime {
                    committed,
                    produced_ms,
                });
            }
        });
    }
}
