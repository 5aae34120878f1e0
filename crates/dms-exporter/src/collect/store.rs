//! The latest good data, per collector, project, instance and part.
//!
//! A part that fails keeps its previous samples until its last successful read is older than
//! the collector's max age in force; a part that is no longer listed disappears at once; an
//! instance disappears with all its parts once discovery no longer lists it, or once
//! discovery's own listing of it has aged out.
//!
//! Samples are encoded when they arrive and only their lines are kept: per scope and family
//! one fragment in the exposition [`Pages`], and per part the length of its lines in each
//! fragment, so a refresh re-encodes only its own scope.

mod compose;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dms_cloud::error::ApiError;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::Output;
use crate::locks::lock;
use crate::metrics::fragment::{EncodedPart, encode_part};
use crate::metrics::pages::Pages;
pub use compose::{HEALTH_FAMILIES, INSTANCE_COLLECTOR_LAST_SUCCESS, INSTANCE_COLLECTOR_UP};
use compose::{Health, PartMeta, compose};

/// Which collector cycle a result belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ScopeKey {
    pub collector: &'static str,
    pub region: String,
    pub project_id: String,
    /// Empty for project-scoped collectors.
    pub instance_id: String,
}

/// The exposition pages, keyed by scope.
pub type ScopePages = Pages<Arc<ScopeKey>>;

#[derive(Debug, Default)]
struct ScopeState {
    parts: BTreeMap<String, PartMeta>,
    health: Option<Health>,
    /// When the first of its parts expires (its entry in `State::deadlines`).
    deadline: Option<Instant>,
}

#[derive(Debug, Default)]
struct State {
    scopes: BTreeMap<Arc<ScopeKey>, ScopeState>,
    /// Expiry in time order, so expiring touches only what expires.
    deadlines: BTreeSet<(Instant, Arc<ScopeKey>)>,
    pages: ScopePages,
    /// Per discovery scope, the instances each of its parts lists: when such a part goes,
    /// its instances' data goes with it.
    inventories: BTreeMap<Arc<ScopeKey>, BTreeMap<String, BTreeSet<String>>>,
}

impl State {
    fn key(&self, scope: &ScopeKey) -> Arc<ScopeKey> {
        self.scopes
            .get_key_value(scope)
            .map_or_else(|| Arc::new(scope.clone()), |(key, _)| Arc::clone(key))
    }

    /// Replaces a scope's parts (and health), re-encoding only its fragments.
    fn update(
        &mut self,
        key: &Arc<ScopeKey>,
        parts: BTreeMap<String, PartMeta>,
        fresh: &HashMap<&str, EncodedPart>,
        health: Option<Health>,
        parts_changed: bool,
    ) {
        let mut scope = self.scopes.remove(key).unwrap_or_default();
        let orphans: Vec<String> = match self.inventories.get(key) {
            Some(inventory) => scope
                .parts
                .keys()
                .filter(|part| !parts.contains_key(*part))
                .filter_map(|part| inventory.get(part))
                .flatten()
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        compose(
            &mut self.pages,
            key,
            &scope.parts,
            &parts,
            fresh,
            (scope.health.as_ref(), health.as_ref()),
            parts_changed,
        );
        if let Some(at) = scope.deadline.take() {
            self.deadlines.remove(&(at, Arc::clone(key)));
        }
        scope.parts = parts;
        scope.health = health;
        scope.deadline = scope.parts.values().map(|part| part.fresh_until).min();
        if let Some(at) = scope.deadline {
            self.deadlines.insert((at, Arc::clone(key)));
        }
        if !scope.parts.is_empty() || scope.health.is_some() {
            self.scopes.insert(Arc::clone(key), scope);
        }
        if !orphans.is_empty() {
            // Discovery's listing of these instances is gone: so is everything about them.
            let orphans: BTreeSet<String> = orphans.into_iter().collect();
            self.remove_scopes(|other| {
                other.region == key.region
                    && other.project_id == key.project_id
                    && orphans.contains(&other.instance_id)
            });
        }
    }

    fn remove_scopes(&mut self, drop: impl Fn(&ScopeKey) -> bool) -> bool {
        let gone: Vec<Arc<ScopeKey>> = self
            .scopes
            .keys()
            .filter(|key| drop(key))
            .cloned()
            .collect();
        for key in &gone {
            self.update(key, BTreeMap::new(), &HashMap::new(), None, true);
        }
        !gone.is_empty()
    }
}

/// Shared store; the publisher is woken through [`Store::changed`].
#[derive(Debug, Default)]
pub struct Store {
    state: Mutex<State>,
    changed: Notify,
    /// Counts changes; the publisher reports which count it has published.
    version: AtomicU64,
    published: watch::Sender<u64>,
}

impl Store {
    /// Notified whenever the data changed.
    fn notify_changed(&self) {
        self.version.fetch_add(1, Ordering::AcqRel);
        self.changed.notify_one();
    }

    /// The count of changes so far.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// The publisher has published everything up to change `version`.
    pub fn mark_published(&self, version: u64) {
        self.published.send_if_modified(|published| {
            let newer = version > *published;
            if newer {
                *published = version;
            }
            newer
        });
    }

    /// Resolves once every change made before this call is in a published snapshot.
    pub async fn wait_published(&self) {
        let wanted = self.version();
        let mut published = self.published.subscribe();
        let _ = published.wait_for(|v| *v >= wanted).await;
    }

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
        // Encoding happens before taking the lock: it is the only work that grows with the
        // scope's size besides copying its lines.
        let mut fresh = HashMap::new();
        if let Ok(output) = result {
            for (part, samples) in &output.parts {
                match samples {
                    Ok(samples) => {
                        fresh.insert(part.as_str(), encode_part(samples));
                    }
                    Err(error) => errors.push(error.kind.as_label()),
                }
            }
        }
        if let Err(error) = result {
            errors.push(error.kind.as_label());
        }
        let mut state = lock(&self.state);
        let key = state.key(scope);
        let current = state.scopes.get(&key);
        let mut parts = current.map(|s| s.parts.clone()).unwrap_or_default();
        if let Ok(output) = result {
            let listed: BTreeSet<&str> = output
                .parts
                .iter()
                .map(|(name, _)| name.as_str())
                .chain(output.kept.iter().map(String::as_str))
                .collect();
            parts.retain(|name, _| listed.contains(name.as_str()));
            for (name, encoded) in &fresh {
                parts.insert((*name).to_owned(), PartMeta::new(encoded, now, max_age));
            }
        }
        let mut health = current.and_then(|s| s.health);
        if !scope.instance_id.is_empty() {
            let health = health.get_or_insert(Health {
                up: false,
                last_success_unix: None,
            });
            health.up = errors.is_empty();
            if health.up {
                health.last_success_unix = Some(now_unix);
            }
        }
        state.update(&key, parts, &fresh, health, result.is_ok());
        drop(state);
        self.notify_changed();
        errors
    }

    /// Drops everything of the project's instances that are not in `live`.
    pub fn retain_instances(&self, region: &str, project_id: &str, live: &BTreeSet<String>) {
        let changed = lock(&self.state).remove_scopes(|key| {
            key.region == region
                && key.project_id == project_id
                && !key.instance_id.is_empty()
                && !live.contains(&key.instance_id)
        });
        if changed {
            self.notify_changed();
        }
    }

    /// Drops everything of one collector in one project (a project no longer listed).
    pub fn forget_project(&self, collector: &str, region: &str, project_id: &str) {
        let of_project = |key: &ScopeKey| {
            key.collector == collector && key.region == region && key.project_id == project_id
        };
        let mut state = lock(&self.state);
        let changed = state.remove_scopes(of_project);
        state.inventories.retain(|key, _| !of_project(key));
        drop(state);
        if changed {
            self.notify_changed();
        }
    }

    /// Drops everything of regions not in `regions` (after a reload removed them).
    pub fn retain_regions(&self, regions: &BTreeSet<String>) {
        lock(&self.state).remove_scopes(|key| !regions.contains(&key.region));
        self.notify_changed();
    }

    /// Removes data older than its max age; returns the next time something expires.
    pub fn expire(&self, now: Instant) -> Option<Instant> {
        let mut state = lock(&self.state);
        while let Some((at, key)) = state.deadlines.first().cloned()
            && at <= now
        {
            let Some(scope) = state.scopes.get(&key) else {
                state.deadlines.remove(&(at, key));
                continue;
            };
            let mut parts = scope.parts.clone();
            parts.retain(|_, part| part.fresh_until > now);
            let health = scope.health;
            state.update(&key, parts, &HashMap::new(), health, true);
        }
        state.deadlines.first().map(|(at, _)| *at)
    }

    /// Sets the max age in force for one collector of one project: every part of it is
    /// served until its last successful read plus `max_age`, whether that is later or sooner
    /// than before (a cycle stretched by the budget, then back to normal).
    pub fn set_max_age(
        &self,
        collector: &'static str,
        region: &str,
        project_id: &str,
        max_age: Duration,
    ) {
        let mut state = lock(&self.state);
        let state = &mut *state;
        for (key, scope) in state.scopes.iter_mut() {
            if key.collector != collector || key.region != region || key.project_id != project_id {
                continue;
            }
            for part in scope.parts.values_mut() {
                part.fresh_until = part.read_at + max_age;
            }
            if let Some(at) = scope.deadline.take() {
                state.deadlines.remove(&(at, Arc::clone(key)));
            }
            scope.deadline = scope.parts.values().map(|part| part.fresh_until).min();
            if let Some(at) = scope.deadline {
                state.deadlines.insert((at, Arc::clone(key)));
            }
        }
    }

    /// Records which instances each part of a discovery scope lists (after a successful
    /// discovery): an instance's data lives no longer than discovery's listing of it.
    pub fn set_inventory(
        &self,
        discovery: &ScopeKey,
        inventory: BTreeMap<String, BTreeSet<String>>,
    ) {
        let mut state = lock(&self.state);
        let key = state.key(discovery);
        state.inventories.insert(key, inventory);
    }

    /// Runs `f` on the exposition pages under the store's lock (keep it short).
    pub fn with_pages<R>(&self, f: impl FnOnce(&mut ScopePages) -> R) -> R {
        f(&mut lock(&self.state).pages)
    }
}

#[cfg(test)]
mod tests;
