//! Rendered bodies, kept until the fleet changes.
//!
//! A DMS answer is a function of the fleet and the request's path and query, so the bytes of
//! one are reused until the fleet's generation moves (every write to the fleet moves it: an
//! evolution step, a control call). A cached answer is byte-identical to a fresh rendering.
//! Bounded: past `MAX_BYTES` the cache starts over.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;

use crate::locks::lock;

const MAX_BYTES: usize = 64 << 20;

#[derive(Default)]
struct Entries {
    bodies: HashMap<String, (u64, Bytes)>,
    bytes: usize,
}

#[derive(Default)]
pub(crate) struct BodyCache {
    entries: Mutex<Entries>,
}

impl BodyCache {
    /// The body rendered for `key` at `generation`, if there is one.
    pub(crate) fn get(&self, key: &str, generation: u64) -> Option<Bytes> {
        match lock(&self.entries).bodies.get(key) {
            Some((rendered_at, body)) if *rendered_at == generation => Some(body.clone()),
            _ => None,
        }
    }

    pub(crate) fn put(&self, key: String, generation: u64, body: Bytes) {
        let mut entries = lock(&self.entries);
        if entries.bytes + body.len() > MAX_BYTES {
            entries.bodies.clear();
            entries.bytes = 0;
        }
        entries.bytes += body.len();
        if let Some((_, old)) = entries.bodies.insert(key, (generation, body)) {
            entries.bytes -= old.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_serves_only_its_generation() {
        let cache = BodyCache::default();
        cache.put("/a".to_owned(), 1, Bytes::from_static(b"one"));
        assert_eq!(cache.get("/a", 1).as_deref(), Some(&b"one"[..]));
        assert_eq!(cache.get("/a", 2), None);
        assert_eq!(cache.get("/b", 1), None);
        cache.put("/a".to_owned(), 2, Bytes::from_static(b"two"));
        assert_eq!(cache.get("/a", 2).as_deref(), Some(&b"two"[..]));
        assert_eq!(lock(&cache.entries).bytes, 3);
    }
}
