//! The latest good data, per collector, project, instance and part.
//!
//! A part that fails keeps its previous samples until they are older than the collector's
//! max age; a part that is no longer listed disappears at once; an instance that discovery no
//! longer lists disappears with all its parts.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use dms_cloud::error::ApiError;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::Output;
use crate::metrics::{Sample, catalog};

/// Which collector cycle a result belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ScopeKey {
    pub collector: &'static str,
    pub region: String,
    pub project_id: String,
    /// Empty for project-scoped collectors.
    pub instance_id: String,
}

#[derive(Debug)]
struct Entry {
    samples: Arc<Vec<Sample>>,
    fresh_until: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Health {
    up: bool,
    last_success_unix: Option<f64>,
}

#[derive(Debug, Default)]
struct State {
    entries: BTreeMap<(ScopeKey, String), Entry>,
    health: BTreeMap<ScopeKey, Health>,
}

/// Shared store; the publisher is woken through [`Store::changed`].
#[derive(Debug, Default)]
pub struct Store {
    state: Mutex<State>,
    changed: Notify,
}

impl Store {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notified whenever the data changed.
    pub fn changed(&self) -> &Notify {
        &self.changed
    }

    /// Applies one cycle's result for a scope; returns the error kinds it met.
    pub fn apply(
        &self,
        scope: &ScopeKey,
        result: Result<&Output, &ApiError>,
        max_age: Duration,
        now: Instant,
        now_unix: f64,
    ) -> Vec<&'static str> {
        let mut errors = Vec::new();
        let mut state = self.lock();
        match result {
            Ok(output) => {
                let listed: BTreeSet<&str> = output
                    .parts
                    .iter()
                    .map(|(name, _)| name.as_str())
                    .chain(output.kept.iter().map(String::as_str))
                    .collect();
                state
                    .entries
                    .retain(|(key, part), _| key != scope || listed.contains(part.as_str()));
                for (part, samples) in &output.parts {
                    match samples {
                        Ok(samples) => {
                            state.entries.insert(
                                (scope.clone(), part.clone()),
                                Entry {
                                    samples: Arc::new(samples.clone()),
                                    fresh_until: now + max_age,
                                },
                            );
                        }
                        Err(error) => errors.push(error.kind.as_label()),
                    }
                }
            }
            Err(error) => errors.push(error.kind.as_label()),
        }
        if !scope.instance_id.is_empty() {
            let health = state.health.entry(scope.clone()).or_insert(Health {
                up: false,
                last_success_unix: None,
            });
            health.up = errors.is_empty();
            if health.up {
                health.last_success_unix = Some(now_unix);
            }
        }
        drop(state);
        self.changed.notify_one();
        errors
    }

    /// Drops everything of the project's instances that are not in `live`.
    pub fn retain_instances(&self, region: &str, project_id: &str, live: &BTreeSet<String>) {
        let keep = |key: &ScopeKey| {
            key.region != region
                || key.project_id != project_id
                || key.instance_id.is_empty()
                || live.contains(&key.instance_id)
        };
        let mut state = self.lock();
        let before = state.entries.len() + state.health.len();
        state.entries.retain(|(key, _), _| keep(key));
        state.health.retain(|key, _| keep(key));
        let changed = before != state.entries.len() + state.health.len();
        drop(state);
        if changed {
            self.changed.notify_one();
        }
    }

    /// Drops everything of regions not in `regions` (after a reload removed them).
    pub fn retain_regions(&self, regions: &BTreeSet<String>) {
        let mut state = self.lock();
        state
            .entries
            .retain(|(key, _), _| regions.contains(&key.region));
        state.health.retain(|key, _| regions.contains(&key.region));
        drop(state);
        self.changed.notify_one();
    }

    /// Serves the data of one collector of one project `by` longer (its max age grew because
    /// its cycle stretched).
    pub fn stretch_max_age(&self, collector: &str, region: &str, project_id: &str, by: Duration) {
        let mut state = self.lock();
        for ((key, _), entry) in state.entries.iter_mut() {
            if key.collector == collector && key.region == region && key.project_id == project_id {
                entry.fresh_until += by;
            }
        }
    }

    /// Removes data older than its max age; returns the next time something expires.
    pub fn expire(&self, now: Instant) -> Option<Instant> {
        let mut state = self.lock();
        state.entries.retain(|_, entry| entry.fresh_until > now);
        state.entries.values().map(|entry| entry.fresh_until).min()
    }

    /// Every sample currently held, plus the per-instance freshness series.
    pub fn samples(&self) -> (Vec<Arc<Vec<Sample>>>, Vec<Sample>) {
        let state = self.lock();
        let parts = state
            .entries
            .values()
            .map(|entry| Arc::clone(&entry.samples))
            .collect();
        let mut health = Vec::with_capacity(state.health.len() * 2);
        for (key, value) in &state.health {
            let labels = vec![key.collector.to_owned(), key.instance_id.clone()];
            health.push(Sample::new(
                &catalog::INSTANCE_COLLECTOR_UP,
                labels.clone(),
                if value.up { 1.0 } else { 0.0 },
            ));
            if let Some(at) = value.last_success_unix {
                health.push(Sample::new(
                    &catalog::INSTANCE_COLLECTOR_LAST_SUCCESS,
                    labels,
                    at,
                ));
            }
        }
        (parts, health)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dms_cloud::error::{ApiError, ErrorKind};

    fn scope(instance: &str) -> ScopeKey {
        ScopeKey {
            collector: "kafka_groups",
            region: "r".into(),
            project_id: "p".into(),
            instance_id: instance.into(),
        }
    }

    fn sample(group: &str, value: f64) -> Sample {
        Sample::new(
            &catalog::KAFKA_GROUP_MEMBERS,
            vec!["i".into(), group.into()],
            value,
        )
    }

    fn error() -> ApiError {
        ApiError {
            api: "kafka_group",
            kind: ErrorKind::ServerError,
            status: Some(500),
            error_code: None,
            message: "boom".into(),
            request_id: None,
        }
    }

    fn values(store: &Store) -> Vec<(String, f64)> {
        let (parts, _) = store.samples();
        let mut out: Vec<(String, f64)> = parts
            .iter()
            .flat_map(|p| p.iter())
            .map(|s| (s.labels[1].clone(), s.value))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    #[test]
    fn failed_part_keeps_last_good_data_and_vanished_part_goes() {
        let store = Store::default();
        let now = Instant::now();
        let first = Output {
            parts: vec![
                ("a".into(), Ok(vec![sample("a", 1.0)])),
                ("b".into(), Ok(vec![sample("b", 2.0)])),
            ],
            ..Output::default()
        };
        store.apply(&scope("i"), Ok(&first), Duration::from_secs(60), now, 1.0);
        let second = Output {
            parts: vec![
                ("a".into(), Err(error())),
                ("c".into(), Ok(vec![sample("c", 3.0)])),
            ],
            ..Output::default()
        };
        let errors = store.apply(&scope("i"), Ok(&second), Duration::from_secs(60), now, 2.0);
        assert_eq!(errors, ["server_error"]);
        assert_eq!(
            values(&store),
            [("a".to_owned(), 1.0), ("c".to_owned(), 3.0)]
        );
    }

    #[test]
    fn kept_parts_stay_unrefreshed_and_still_age_out() {
        let store = Store::default();
        let now = Instant::now();
        let max_age = Duration::from_secs(60);
        let first = Output {
            parts: vec![
                ("a".into(), Ok(vec![sample("a", 1.0)])),
                ("b".into(), Ok(vec![sample("b", 2.0)])),
            ],
            ..Output::default()
        };
        store.apply(&scope("i"), Ok(&first), max_age, now, 1.0);
        // 30 s later: a is refreshed, b skipped but still there.
        let later = now + Duration::from_secs(30);
        let second = Output {
            parts: vec![("a".into(), Ok(vec![sample("a", 5.0)]))],
            kept: vec!["b".into()],
            ..Output::default()
        };
        let errors = store.apply(&scope("i"), Ok(&second), max_age, later, 2.0);
        assert!(errors.is_empty());
        assert_eq!(
            values(&store),
            [("a".to_owned(), 5.0), ("b".to_owned(), 2.0)]
        );
        // Kept does not refresh: b expires a max age after its last read, a does not.
        store.expire(now + max_age);
        assert_eq!(values(&store), [("a".to_owned(), 5.0)]);
        // Neither listed nor kept: gone at once.
        store.apply(&scope("i"), Ok(&Output::default()), max_age, later, 3.0);
        assert!(values(&store).is_empty());
    }

    #[test]
    fn whole_failure_keeps_everything_until_max_age() {
        let store = Store::default();
        let now = Instant::now();
        store.apply(
            &scope("i"),
            Ok(&Output::whole(vec![sample("a", 1.0)])),
            Duration::from_secs(60),
            now,
            1.0,
        );
        store.apply(
            &scope("i"),
            Err(&error()),
            Duration::from_secs(60),
            now,
            2.0,
        );
        assert_eq!(values(&store).len(), 1);
        let next = store.expire(now + Duration::from_secs(59));
        assert_eq!(next, Some(now + Duration::from_secs(60)));
        assert_eq!(values(&store).len(), 1);
        store.expire(now + Duration::from_secs(60));
        assert!(values(&store).is_empty());
        let (_, health) = store.samples();
        assert!(
            health
                .iter()
                .any(|s| s.family == &catalog::INSTANCE_COLLECTOR_UP && s.value == 0.0)
        );
    }

    #[test]
    fn stretched_max_age_keeps_data_longer_for_that_collector_only() {
        let store = Store::default();
        let now = Instant::now();
        let max_age = Duration::from_secs(60);
        store.apply(
            &scope("i"),
            Ok(&Output::whole(vec![sample("a", 1.0)])),
            max_age,
            now,
            1.0,
        );
        let other = ScopeKey {
            collector: "kafka_partitions",
            ..scope("j")
        };
        store.apply(
            &other,
            Ok(&Output::whole(vec![sample("b", 2.0)])),
            max_age,
            now,
            1.0,
        );
        store.stretch_max_age("kafka_groups", "r", "p", Duration::from_secs(30));
        store.expire(now + max_age);
        assert_eq!(values(&store), [("a".to_owned(), 1.0)]);
        store.expire(now + max_age + Duration::from_secs(30));
        assert!(values(&store).is_empty());
    }

    #[test]
    fn vanished_instances_lose_all_their_series() {
        let store = Store::default();
        let now = Instant::now();
        for id in ["i1", "i2"] {
            store.apply(
                &scope(id),
                Ok(&Output::whole(vec![sample(id, 1.0)])),
                Duration::from_secs(60),
                now,
                1.0,
            );
        }
        store.retain_instances("r", "p", &BTreeSet::from(["i2".to_owned()]));
        assert_eq!(values(&store), [("i2".to_owned(), 1.0)]);
        let (_, health) = store.samples();
        assert!(health.iter().all(|s| s.labels[1] == "i2"));
    }
}
