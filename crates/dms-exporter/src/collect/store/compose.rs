//! Building a scope's fragments from its parts: refreshed parts' lines come from their new
//! encoding, the other parts' lines are copied from the scope's current fragment, so the
//! work is bounded by the scope, never by the fleet.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use tokio::time::Instant;

use super::{ScopeKey, ScopePages};
use crate::metrics::Family;
use crate::metrics::catalog::{S, families};
use crate::metrics::exposition::write_sample;
use crate::metrics::fragment::EncodedPart;

/// Whether an instance-scoped collector's last cycle succeeded, and when one last did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Health {
    pub up: bool,
    pub last_success_unix: Option<f64>,
}

/// What is kept of a part once encoded: when it expires, and how many bytes of lines it has
/// in each family's fragment of its scope (the lines themselves live in the pages).
#[derive(Debug, Clone)]
pub(super) struct PartMeta {
    /// When it was last read successfully.
    pub read_at: Instant,
    /// `read_at` plus the max age in force: served until then.
    pub fresh_until: Instant,
    lens: Box<[(&'static Family, u32)]>,
}

impl PartMeta {
    pub(super) fn new(encoded: &EncodedPart, read_at: Instant, max_age: Duration) -> Self {
        Self {
            read_at,
            fresh_until: read_at + max_age,
            lens: encoded
                .spans
                .iter()
                .map(|span| (span.family, span.len))
                .collect(),
        }
    }

    fn len(&self, family: &Family) -> Option<u32> {
        self.lens
            .iter()
            .find(|(f, _)| std::ptr::eq(*f, family))
            .map(|(_, len)| *len)
    }
}

// Every collector has these, so they are declared where the store writes them rather than
// next to one collector.
families! {
    INSTANCE_COLLECTOR_UP = "dms_instance_collector_up", Gauge, None,
        ["collector", "instance_id"],
        "self",
        "1 if the collector's last cycle read this instance without error, else 0 (the last good data is still served until it is too old).";
    INSTANCE_COLLECTOR_LAST_SUCCESS = "dms_instance_collector_last_success_timestamp_seconds", Gauge, S,
        ["collector", "instance_id"],
        "self",
        "When the collector last read this instance without error, as a Unix timestamp.";
}

/// The freshness families the store writes for every collector and instance.
pub const HEALTH_FAMILIES: [&Family; 2] =
    [&INSTANCE_COLLECTOR_UP, &INSTANCE_COLLECTOR_LAST_SUCCESS];

fn health_lines(key: &ScopeKey, health: Option<&Health>, family: &Family) -> String {
    let mut out = String::new();
    let Some(health) = health else {
        return out;
    };
    let value = if std::ptr::eq(family, &INSTANCE_COLLECTOR_UP) {
        Some(if health.up { 1.0 } else { 0.0 })
    } else {
        health.last_success_unix
    };
    if let Some(value) = value {
        let labels = [key.collector.to_owned(), key.instance_id.clone()];
        write_sample(family.name, family.labels, &labels, None, value, &mut out);
    }
    out
}

/// Rewrites the scope's fragments after its parts went from `old` to `new`; `fresh` holds
/// the parts encoded this time. With `parts_changed` false only the health lines change.
pub(super) fn compose(
    pages: &mut ScopePages,
    key: &Arc<ScopeKey>,
    old: &BTreeMap<String, PartMeta>,
    new: &BTreeMap<String, PartMeta>,
    fresh: &HashMap<&str, EncodedPart>,
    (old_health, new_health): (Option<&Health>, Option<&Health>),
    parts_changed: bool,
) {
    let mut families: BTreeMap<&'static str, &'static Family> = BTreeMap::new();
    if parts_changed {
        for part in old.values().chain(new.values()) {
            families.extend(part.lens.iter().map(|(family, _)| (family.name, *family)));
        }
    }
    if old_health != new_health {
        families.extend(HEALTH_FAMILIES.iter().map(|family| (family.name, *family)));
    }
    for family in families.into_values() {
        let current = pages.get(family, key).cloned().unwrap_or_default();
        let mut at = 0usize;
        let mut old_lines: HashMap<&str, Bytes> = HashMap::new();
        for (name, part) in old {
            if let Some(len) = part.len(family) {
                let end = (at + len as usize).min(current.len());
                old_lines.insert(name.as_str(), current.slice(at.min(end)..end));
                at = end;
            }
        }
        let mut fragment = BytesMut::new();
        for name in new.keys() {
            match fresh.get(name.as_str()) {
                Some(encoded) => fragment.extend_from_slice(&encoded.lines(family)),
                None => {
                    if let Some(lines) = old_lines.get(name.as_str()) {
                        fragment.extend_from_slice(lines);
                    }
                }
            }
        }
        if HEALTH_FAMILIES.iter().any(|f| std::ptr::eq(*f, family)) {
            fragment.extend_from_slice(health_lines(key, new_health, family).as_bytes());
        }
        pages.set(family, key, fragment.freeze());
    }
}
