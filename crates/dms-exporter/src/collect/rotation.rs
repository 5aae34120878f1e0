//! A per-instance rotating cursor over detail calls that a per-cycle limit bounds (RocketMQ's
//! group and topic details, Kafka's exact lag reads): every item's turn comes in later
//! cycles, and skipped items keep their last data (`Output::kept`).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use dms_cloud::error::ApiError;

use crate::collect::{Context, Output, Part};
use crate::locks::lock;
use crate::metrics::Sample;

/// Per-instance cursor over a list of detail calls.
#[derive(Debug, Default)]
pub struct Rotation {
    cursors: Mutex<HashMap<String, usize>>,
}

/// What one cycle reads and what it leaves for later.
#[derive(Debug, PartialEq, Eq)]
pub struct Turn<T> {
    pub read: Vec<T>,
    pub skipped: Vec<T>,
}

impl Rotation {
    /// Splits `items` (in a stable order) into at most `limit` to read now, starting where the
    /// previous cycle of this instance stopped, and the rest (which the caller reports with
    /// [`Context::skip_calls`]).
    pub fn turn<T>(&self, instance_id: &str, items: Vec<T>, limit: u32) -> Turn<T> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let len = items.len();
        if len <= limit {
            return Turn {
                read: items,
                skipped: Vec::new(),
            };
        }
        let mut cursors = lock(&self.cursors);
        let cursor = cursors.entry(instance_id.to_owned()).or_default();
        let start = *cursor % len;
        *cursor = (start + limit) % len;
        drop(cursors);
        let mut read = Vec::with_capacity(limit);
        let mut skipped = Vec::with_capacity(len - limit);
        for (index, item) in items.into_iter().enumerate() {
            // Position relative to the cursor, wrapping around the end.
            if (index + len - start) % len < limit {
                read.push(item);
            } else {
                skipped.push(item);
            }
        }
        Turn { read, skipped }
    }
}

impl Rotation {
    /// Reads this cycle's turn of `items` (one call each, a few at a time) into parts of
    /// `output`, and lists the skipped ones as kept.
    pub async fn read_turn<T, Fut>(
        &self,
        cx: &Context<'_>,
        items: Vec<T>,
        limit: u32,
        key: impl Fn(&T) -> String,
        read: impl Fn(T) -> Fut,
        output: &mut Output,
    ) where
        Fut: Future<Output = Result<Vec<Sample>, ApiError>>,
    {
        let turn = self.turn(&cx.instance().id, items, limit);
        cx.skip_calls(turn.skipped.len());
        output.kept.extend(turn.skipped.iter().map(&key));
        // Every read queues at once; the host's request scheduler paces them.
        let parts: Vec<Part> = futures::future::join_all(turn.read.into_iter().map(|item| {
            let part = key(&item);
            let result = read(item);
            async move { (part, result.await) }
        }))
        .await;
        output.parts.extend(parts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_the_limit_everything_is_read() {
        let rotation = Rotation::default();
        let turn = rotation.turn("i", vec![1, 2, 3], 3);
        assert_eq!(turn.read, [1, 2, 3]);
        assert!(turn.skipped.is_empty());
    }

    #[test]
    fn over_the_limit_the_cursor_rotates_through_everything() {
        let rotation = Rotation::default();
        let items = || vec!['a', 'b', 'c', 'd', 'e'];
        let first = rotation.turn("i", items(), 2);
        assert_eq!(first.read, ['a', 'b']);
        assert_eq!(first.skipped, ['c', 'd', 'e']);
        let second = rotation.turn("i", items(), 2);
        assert_eq!(second.read, ['c', 'd']);
        let third = rotation.turn("i", items(), 2);
        // Wraps: e, then a again.
        assert_eq!(third.read, ['a', 'e']);
        assert_eq!(third.skipped, ['b', 'c', 'd']);
        // Cursors are per instance.
        assert_eq!(rotation.turn("other", items(), 2).read, ['a', 'b']);
    }

    #[test]
    fn a_zero_limit_skips_everything() {
        let rotation = Rotation::default();
        let turn = rotation.turn("i", vec![1, 2], 0);
        assert!(turn.read.is_empty());
        assert_eq!(turn.skipped, [1, 2]);
    }
}
