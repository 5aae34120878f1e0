//! Burrow's consumer status rules, engine-agnostic: a bounded sliding window of readings per
//! partition (Kafka) or queue (RocketMQ) → OK, WARN, STALL, STOP or REWIND, and a group's
//! status from its partitions' (ERR, WARN, OK).
//!
//! The API gives no commit times, so group membership stands in for Burrow's commit age: a
//! partition whose committed offset stood still for a whole window is STALL while the group
//! had members and STOP when it had none throughout. The rules, in order, on the window
//! (oldest first):
//! 1. the newest lag is 0 → OK (caught up is never an error: Burrow #38, #123, slow topics);
//! 2. the committed offset went backwards between two readings → REWIND;
//! 3. the lag was 0 at some reading → OK;
//! 4. fewer readings than the window's length → OK (not enough evidence yet);
//! 5. the committed offset never moved → STALL if a reading before the newest had members,
//!    STOP if none had, OK if only the newest had (members just joined);
//! 6. the offset moved but the lag never decreased → WARN;
//! 7. otherwise (the lag decreased at some step) → OK.

/// One cycle's view of one partition or queue of one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// When it was read, unix ms (the health state's clock).
    pub time_ms: i64,
    /// The group's committed (consumer) offset.
    pub committed: i64,
    /// Messages not yet consumed (log end − committed, as the API reports it).
    pub lag: i64,
    /// Whether the group had members (Kafka) or online consumers (RocketMQ) at the reading.
    pub has_members: bool,
}

/// The evaluated status of one partition or queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PartitionStatus {
    Ok,
    Warn,
    Stall,
    Stop,
    Rewind,
}

impl PartitionStatus {
    /// Every label value of the partition state set, in catalogue order.
    pub const LABELS: &'static [&'static str] = &["OK", "REWIND", "STALL", "STOP", "WARN"];

    pub fn label(self) -> &'static str {
        match self {
            PartitionStatus::Ok => "OK",
            PartitionStatus::Warn => "WARN",
            PartitionStatus::Stall => "STALL",
            PartitionStatus::Stop => "STOP",
            PartitionStatus::Rewind => "REWIND",
        }
    }
}

/// A group's status from its partitions'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupStatus {
    Ok,
    Warn,
    Err,
}

impl GroupStatus {
    /// Every label value of the group state set.
    pub const LABELS: &'static [&'static str] = &["ERR", "OK", "WARN"];

    pub fn label(self) -> &'static str {
        match self {
            GroupStatus::Ok => "OK",
            GroupStatus::Warn => "WARN",
            GroupStatus::Err => "ERR",
        }
    }

    /// ERR when any partition is STOP or STALL, WARN when any is WARN, else OK (a REWIND is
    /// usually an operator's offset reset: it shows on the partition only); `None` without
    /// partitions.
    pub fn of(partitions: impl IntoIterator<Item = PartitionStatus>) -> Option<GroupStatus> {
        partitions
            .into_iter()
            .map(|status| match status {
                PartitionStatus::Stop | PartitionStatus::Stall => GroupStatus::Err,
                PartitionStatus::Warn => GroupStatus::Warn,
                PartitionStatus::Ok | PartitionStatus::Rewind => GroupStatus::Ok,
            })
            .max()
    }
}

/// The smallest window the rules can use (a step needs two readings).
pub const MIN_WINDOW: usize = 2;
/// The largest window kept, whatever the configuration says (memory per partition).
pub const MAX_WINDOW: usize = 100;

/// The last `length` readings of one partition, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Window {
    readings: Vec<Reading>,
}

/// The window length in force for a configured value.
pub fn window_length(configured: u32) -> usize {
    usize::try_from(configured)
        .unwrap_or(MAX_WINDOW)
        .clamp(MIN_WINDOW, MAX_WINDOW)
}

impl Window {
    /// Adds a reading and drops the oldest beyond `length`; a reading not newer than the last
    /// one is ignored (the same answer seen twice is not new evidence).
    pub fn push(&mut self, reading: Reading, length: usize) {
        if self
            .readings
            .last()
            .is_some_and(|last| reading.time_ms <= last.time_ms)
        {
            return;
        }
        self.readings.push(reading);
        let excess = self.readings.len().saturating_sub(length.max(1));
        self.readings.drain(..excess);
    }

    pub fn readings(&self) -> &[Reading] {
        &self.readings
    }

    /// The status under the rules above; `None` without readings.
    pub fn status(&self, length: usize) -> Option<PartitionStatus> {
        evaluate(&self.readings, length)
    }
}

/// The rules of the module documentation over `readings` (oldest first) for a window of
/// `length` readings; `None` when there are no readings.
pub fn evaluate(readings: &[Reading], length: usize) -> Option<PartitionStatus> {
    let newest = readings.last()?;
    let steps = || readings.windows(2).map(|pair| (&pair[0], &pair[1]));
    let status = if newest.lag <= 0 {
        PartitionStatus::Ok
    } else if steps().any(|(a, b)| b.committed < a.committed) {
        PartitionStatus::Rewind
    } else if readings.iter().any(|r| r.lag <= 0) || readings.len() < length.max(MIN_WINDOW) {
        PartitionStatus::Ok
    } else if steps().all(|(a, b)| b.committed == a.committed) {
        let (earlier, _) = readings.split_at(readings.len() - 1);
        if earlier.iter().any(|r| r.has_members) {
            PartitionStatus::Stall
        } else if newest.has_members {
            // Members only just (re)joined: they have had no cycle to commit in yet.
            PartitionStatus::Ok
        } else {
            PartitionStatus::Stop
        }
    } else if steps().all(|(a, b)| b.lag >= a.lag) {
        PartitionStatus::Warn
    } else {
        PartitionStatus::Ok
    };
    Some(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Readings 30 s apart from (committed, lag, members).
    fn readings(points: &[(i64, i64, bool)]) -> Vec<Reading> {
        points
            .iter()
            .enumerate()
            .map(|(i, &(committed, lag, has_members))| Reading {
                time_ms: 1_000_000 + i as i64 * 30_000,
                committed,
                lag,
                has_members,
            })
            .collect()
    }

    const M: bool = true;
    const EMPTY: bool = false;

    /// (case, window length, (committed, lag, members) oldest first, expected).
    type Case = (
        &'static str,
        usize,
        &'static [(i64, i64, bool)],
        Option<PartitionStatus>,
    );

    #[test]
    fn burrow_rules_over_offset_and_lag_sequences() {
        use PartitionStatus::*;
        let cases: &[Case] = &[
            ("no readings", 3, &[], None),
            ("caught up once", 3, &[(10, 0, M)], Some(Ok)),
            (
                "slow topic, nothing new, caught up, no members (Burrow #38)",
                3,
                &[(10, 0, EMPTY), (10, 0, EMPTY), (10, 0, EMPTY)],
                Some(Ok),
            ),
            (
                "slow topic, idle consumer, caught up (Burrow #123)",
                3,
                &[(10, 0, M), (10, 0, M), (10, 0, M)],
                Some(Ok),
            ),
            (
                "behind but the window is not full yet",
                3,
                &[(10, 5, M), (10, 5, M)],
                Some(Ok),
            ),
            (
                "committed stands still with members: STALL",
                3,
                &[(10, 5, M), (10, 7, M), (10, 9, M)],
                Some(Stall),
            ),
            (
                "members left mid-window, still standing: STALL",
                3,
                &[(10, 5, M), (10, 7, EMPTY), (10, 9, EMPTY)],
                Some(Stall),
            ),
            (
                "members joined at the newest reading only: not yet judged",
                3,
                &[(10, 5, EMPTY), (10, 7, EMPTY), (10, 9, M)],
                Some(Ok),
            ),
            (
                "no members for the whole window, behind: STOP",
                3,
                &[(10, 5, EMPTY), (10, 7, EMPTY), (10, 9, EMPTY)],
                Some(Stop),
            ),
            (
                "stopped, but caught up at the window's start: not yet STOP",
                3,
                &[(10, 0, EMPTY), (10, 2, EMPTY), (10, 4, EMPTY)],
                Some(Ok),
            ),
            (
                "stopped and caught up now: OK",
                3,
                &[(10, 5, EMPTY), (10, 5, EMPTY), (10, 0, EMPTY)],
                Some(Ok),
            ),
            (
                "advancing but falling behind: WARN",
                3,
                &[(10, 5, M), (20, 5, M), (30, 8, M)],
                Some(Warn),
            ),
            (
                "advancing and lag decreasing: OK",
                3,
                &[(10, 9, M), (20, 7, M), (30, 8, M)],
                Some(Ok),
            ),
            (
                "committed offset went backwards: REWIND",
                3,
                &[(100, 0, M), (40, 60, M)],
                Some(Rewind),
            ),
            (
                "rewound and still behind at the window's end: REWIND",
                3,
                &[(100, 1, M), (40, 60, M), (50, 55, M)],
                Some(Rewind),
            ),
            (
                "rewound, then caught up: OK",
                3,
                &[(100, 1, M), (40, 60, M), (100, 0, M)],
                Some(Ok),
            ),
            (
                "rewind left the window: back to the other rules",
                2,
                &[(100, 1, M), (40, 60, M), (40, 65, M)],
                Some(Stall),
            ),
            (
                "memberless commits that advance (Flink-style): WARN, not STOP",
                3,
                &[(10, 5, EMPTY), (20, 5, EMPTY), (30, 6, EMPTY)],
                Some(Warn),
            ),
        ];
        for (case, length, points, expected) in cases {
            let mut window = Window::default();
            for reading in readings(points) {
                window.push(reading, *length);
            }
            assert_eq!(window.status(*length), *expected, "{case}");
        }
    }

    #[test]
    fn the_window_keeps_only_its_length_and_only_newer_readings() {
        let mut window = Window::default();
        for reading in readings(&[(1, 1, M), (2, 1, M), (3, 1, M), (4, 1, M)]) {
            window.push(reading, 3);
        }
        let committed: Vec<i64> = window.readings().iter().map(|r| r.committed).collect();
        assert_eq!(committed, [2, 3, 4]);
        let stale = Reading {
            time_ms: 0,
            committed: 99,
            lag: 0,
            has_members: true,
        };
        window.push(stale, 3);
        assert_eq!(window.readings().len(), 3);
        assert_eq!(window.readings()[2].committed, 4);
    }

    #[test]
    fn window_lengths_are_clamped() {
        assert_eq!(window_length(0), MIN_WINDOW);
        assert_eq!(window_length(10), 10);
        assert_eq!(window_length(100_000), MAX_WINDOW);
    }

    #[test]
    fn group_status_is_the_worst_partition() {
        use PartitionStatus::*;
        assert_eq!(GroupStatus::of([]), None);
        assert_eq!(GroupStatus::of([Ok, Rewind]), Some(GroupStatus::Ok));
        assert_eq!(GroupStatus::of([Ok, Warn, Rewind]), Some(GroupStatus::Warn));
        assert_eq!(GroupStatus::of([Warn, Stall]), Some(GroupStatus::Err));
        assert_eq!(GroupStatus::of([Ok, Stop]), Some(GroupStatus::Err));
        for status in [Ok, Warn, Stall, Stop, Rewind] {
            assert!(PartitionStatus::LABELS.contains(&status.label()));
        }
    }
}
