//! When each message of a queue was stored, kept compactly: a run of (end offset, time)
//! points, each saying that the messages below `end` and at or above the previous point's
//! `end` were stored at `time`. Group times (`last_message_time` of the last consumed message)
//! are read from it, so they never lie after the queue's newest message.

/// At most this many points per queue; when full, every other point is merged into its
/// successor, so the history keeps its whole span at half the resolution.
const MAX_POINTS: usize = 32;

#[derive(Debug, Clone, Default)]
pub(crate) struct StoreTimes {
    /// (end offset, store time in unix ms), both strictly increasing.
    points: Vec<(u64, i64)>,
}

impl StoreTimes {
    /// Messages up to (not including) `end` were stored by `ms`.
    pub fn record(&mut self, end: u64, ms: i64) {
        match self.points.last_mut() {
            Some(last) if last.0 >= end => return,
            // Same instant: extend the run.
            Some(last) if last.1 >= ms => last.0 = end,
            _ => self.points.push((end, ms)),
        }
        if self.points.len() > MAX_POINTS {
            // Merge pairs into the later point: a merged message reads as stored later, so a
            // derived lag in time errs low, never high.
            let points = std::mem::take(&mut self.points);
            let odd = points.len() % 2;
            self.points = points
                .iter()
                .enumerate()
                .filter(|(i, _)| (i + odd) % 2 == 1)
                .map(|(_, p)| *p)
                .collect();
        }
    }

    /// Store time of the newest message, 0 before the first one.
    pub fn newest_ms(&self) -> i64 {
        self.points.last().map_or(0, |p| p.1)
    }

    /// Store time of the message at `offset`; messages older than the history read as stored
    /// at its first point; 0 for an offset not stored yet.
    pub fn stored_ms(&self, offset: u64) -> i64 {
        self.points
            .iter()
            .find(|(end, _)| *end > offset)
            .map_or(0, |p| p.1)
    }

    /// Store time of the last message before `consumer_offset` (the last consumed one), 0
    /// when nothing was consumed.
    pub fn consumed_ms(&self, consumer_offset: u64) -> i64 {
        consumer_offset
            .checked_sub(1)
            .map_or(0, |last| self.stored_ms(last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_offset_reads_the_time_of_its_run() {
        let mut times = StoreTimes::default();
        times.record(10, 1_000);
        times.record(15, 2_000);
        times.record(15, 3_000); // nothing new
        times.record(18, 4_000);
        assert_eq!(times.stored_ms(0), 1_000);
        assert_eq!(times.stored_ms(9), 1_000);
        assert_eq!(times.stored_ms(10), 2_000);
        assert_eq!(times.stored_ms(17), 4_000);
        assert_eq!(times.stored_ms(18), 0);
        assert_eq!(times.newest_ms(), 4_000);
        assert_eq!(times.consumed_ms(15), 2_000);
        assert_eq!(times.consumed_ms(0), 0);
    }

    #[test]
    fn a_full_history_halves_its_resolution_and_keeps_its_span() {
        let mut times = StoreTimes::default();
        for k in 1..=100u64 {
            times.record(k * 10, k as i64 * 1_000);
        }
        assert!(times.points.len() <= MAX_POINTS);
        assert_eq!(times.newest_ms(), 100_000);
        // Still ordered, the oldest reading no later than before and the newest exact.
        assert!(times.points.windows(2).all(|w| w[0] < w[1]));
        assert!(times.stored_ms(0) < 50_000);
        assert_eq!(times.stored_ms(995), 100_000);
        // Merging errs towards later times.
        for offset in [0, 123, 456, 789] {
            assert!(times.stored_ms(offset) >= (offset as i64 / 10 + 1) * 1_000);
        }
    }
}
