//! When each offset of a Kafka partition or RocketMQ queue was produced (stored): a compact
//! history of (log end after a step, time of that step), from which the produce time of any
//! retained offset is computed. Every message a step adds is produced at that step's time.
//! Offsets older than the history are placed back from its oldest entry at the partition's
//! mean rate.

use std::collections::VecDeque;

/// Entries kept per partition (16 bytes each; one per step that produced, so about 2.8 hours
/// at the default 10 s tick). When full, every other entry of the older half goes: older
/// offsets get coarser times (a test's truth is exact for offsets of the newest half), and the
/// history still spans the whole retained log.
const MAX_ENTRIES: usize = 1024;

/// The logical time one message rate (`Partition::rate`) is spread over before the history.
const PRE_HISTORY_MS_PER_RATE: f64 = 10_000.0;

#[derive(Debug, Clone, Default)]
pub(crate) struct Produced {
    /// (log end after the step, step time ms), oldest first; both increase.
    entries: VecDeque<(u64, i64)>,
}

impl Produced {
    /// A history whose log end `leo` was reached at `time_ms`.
    pub(crate) fn starting_at(leo: u64, time_ms: i64) -> Self {
        Self {
            entries: VecDeque::from([(leo, time_ms)]),
        }
    }

    /// A step produced messages up to `leo` at `time_ms`.
    pub(crate) fn record(&mut self, leo: u64, time_ms: i64) {
        if self.entries.back().is_some_and(|(end, _)| *end >= leo) {
            return;
        }
        self.entries.push_back((leo, time_ms));
        if self.entries.len() > MAX_ENTRIES {
            let half = self.entries.len() / 2;
            let mut index = 0;
            self.entries.retain(|_| {
                let keep = index >= half || index % 2 == 0;
                index += 1;
                keep
            });
        }
    }

    /// The produce time of the message at `offset` (below the log end `leo`), unix ms.
    pub(crate) fn time_of(&self, offset: u64, rate: u64) -> Option<i64> {
        let (first_end, first_time) = *self.entries.front()?;
        // The first entry whose log end is beyond the offset produced it.
        let index = self.entries.partition_point(|(end, _)| *end <= offset);
        if index > 0 {
            return self.entries.get(index).map(|(_, time)| *time);
        }
        if offset >= first_end {
            return None;
        }
        let back = (first_end - 1 - offset) as f64 * PRE_HISTORY_MS_PER_RATE / rate.max(1) as f64;
        Some(first_time - back as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_the_step_that_produced_them() {
        let mut produced = Produced::starting_at(100, 1_000);
        produced.record(150, 11_000);
        produced.record(150, 21_000);
        produced.record(180, 31_000);
        assert_eq!(produced.time_of(99, 10), Some(1_000));
        assert_eq!(produced.time_of(89, 10), Some(-9_000), "before the history");
        assert_eq!(produced.time_of(100, 10), Some(11_000));
        assert_eq!(produced.time_of(149, 10), Some(11_000));
        assert_eq!(produced.time_of(150, 10), Some(31_000));
        assert_eq!(produced.time_of(179, 10), Some(31_000));
        assert_eq!(produced.time_of(180, 10), None, "not produced yet");
    }

    #[test]
    fn the_history_stays_bounded() {
        let mut produced = Produced::starting_at(0, 0);
        for step in 1..5_000u64 {
            produced.record(step * 10, step as i64 * 1_000);
            assert!(produced.entries.len() <= MAX_ENTRIES);
        }
        // Recent offsets keep their exact step.
        assert_eq!(produced.time_of(49_985, 10), Some(4_999_000));
    }
}
