//! Lag in seconds without extra calls (kafka-lag-exporter's method): a bounded history of
//! (log end offset, time) points per partition, fed by every groups cycle (the log end seen
//! now) and every partitions cycle (the log end and the time of the last write), tells when
//! the log end was at the group's committed offset; the lag in seconds is now minus that time.
//!
//! - Between two points the time is interpolated linearly. Below the oldest point the history
//!   cannot tell: extrapolating gave guesses such as 1,553 s for an instance created 168 s
//!   before, so such an offset gets no value, only the mark [`LagSeconds::BeyondHistory`].
//! - A flat run (no new messages across several points) keeps only its first and last points:
//!   the first says when the log end reached that offset, the last how long it stayed there.
//! - The history holds at most [`MAX_POINTS`]; when full, every other point of its older half
//!   goes, so it spans ever longer at coarser resolution instead of forgetting the past.

use serde::{Deserialize, Serialize};

/// One observation: the log end was at `offset` at `time_ms` (unix ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    pub offset: i64,
    pub time_ms: i64,
}

/// The most points one partition keeps (16 bytes each).
pub const MAX_POINTS: usize = 32;

/// A partition's log end history, oldest first: times strictly increase, offsets never
/// decrease.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogEndHistory {
    points: Vec<Point>,
}

impl LogEndHistory {
    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// Adds a point in time order. A point that contradicts its neighbours (a larger offset
    /// earlier, a smaller one later) is dropped, except a newest point with a smaller offset:
    /// the log restarted (the topic was recreated), so the history starts again from it.
    pub fn add(&mut self, point: Point) {
        let index = self.points.partition_point(|p| p.time_ms < point.time_ms);
        if self
            .points
            .get(index)
            .is_some_and(|p| p.time_ms == point.time_ms)
        {
            return;
        }
        let before = index.checked_sub(1).map(|i| self.points[i]);
        let after = self.points.get(index).copied();
        if before.is_some_and(|b| point.offset < b.offset) {
            if after.is_none() {
                self.points.clear();
                self.points.push(point);
            }
            return;
        }
        if after.is_some_and(|a| point.offset > a.offset) {
            return;
        }
        self.points.insert(index, point);
        self.collapse_flat_runs();
        if self.points.len() > MAX_POINTS {
            self.thin();
        }
    }

    /// Keeps the first and last point of each run of equal offsets.
    fn collapse_flat_runs(&mut self) {
        let points = &self.points;
        let keep: Vec<bool> = (0..points.len())
            .map(|i| {
                let inner = i > 0
                    && i + 1 < points.len()
                    && points[i - 1].offset == points[i].offset
                    && points[i + 1].offset == points[i].offset;
                !inner
            })
            .collect();
        let mut flags = keep.into_iter();
        self.points.retain(|_| flags.next().unwrap_or(true));
    }

    /// Drops every other point of the older half, keeping the oldest.
    fn thin(&mut self) {
        let half = self.points.len() / 2;
        let mut index = 0;
        self.points.retain(|_| {
            let keep = index >= half || index % 2 == 0;
            index += 1;
            keep
        });
    }

    /// When the log end was at `offset`: `None` with fewer than two points or at or beyond
    /// the newest offset (no estimate yet).
    pub fn time_at(&self, offset: i64) -> Option<Dated> {
        let points = &self.points;
        if points.len() < 2 {
            return None;
        }
        // Offsets never decrease, so the points at or below `offset` come first.
        let above = points.partition_point(|p| p.offset <= offset);
        let high = *points.get(above)?;
        let Some(low) = above.checked_sub(1).map(|i| points[i]) else {
            return Some(Dated::BeforeHistory);
        };
        let rate_ms = (high.time_ms - low.time_ms) as f64 / (high.offset - low.offset) as f64;
        Some(Dated::At(
            low.time_ms as f64 + (offset - low.offset) as f64 * rate_ms,
        ))
    }
}

/// When the log end was at an offset, as far as the history tells.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dated {
    /// At this time, unix ms, interpolated between the two points around it.
    At(f64),
    /// Before the oldest point, by an unknown amount.
    BeforeHistory,
}

/// A committed offset's lag in seconds, as far as the history tells.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LagSeconds {
    /// Exactly 0 when caught up, else interpolated; never negative.
    Seconds(f64),
    /// The committed offset is older than the oldest point: the group is at least now minus
    /// that point's time behind, by an amount the history cannot tell.
    BeyondHistory,
}

/// The lag in seconds of a committed offset at `now_ms`; `None` when the history cannot
/// tell yet (see [`LogEndHistory::time_at`]).
pub fn lag_seconds(
    history: &LogEndHistory,
    committed: i64,
    lag: i64,
    now_ms: i64,
) -> Option<LagSeconds> {
    if lag <= 0 {
        return Some(LagSeconds::Seconds(0.0));
    }
    Some(match history.time_at(committed)? {
        Dated::At(at) => LagSeconds::Seconds(((now_ms as f64 - at) / 1000.0).max(0.0)),
        Dated::BeforeHistory => LagSeconds::BeyondHistory,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(points: &[(i64, i64)]) -> LogEndHistory {
        let mut history = LogEndHistory::default();
        for &(offset, time_ms) in points {
            history.add(Point { offset, time_ms });
        }
        history
    }

    fn offsets_and_times(history: &LogEndHistory) -> Vec<(i64, i64)> {
        history
            .points()
            .iter()
            .map(|p| (p.offset, p.time_ms))
            .collect()
    }

    #[test]
    fn lag_seconds_from_offset_histories() {
        // (case, points (offset, ms), committed, lag, now ms, expected)
        type Case = (
            &'static str,
            &'static [(i64, i64)],
            i64,
            i64,
            i64,
            Option<LagSeconds>,
        );
        use LagSeconds::{BeyondHistory, Seconds};
        let cases: &[Case] = &[
            (
                "caught up, no history",
                &[],
                100,
                0,
                50_000,
                Some(Seconds(0.0)),
            ),
            ("behind, one point", &[(100, 0)], 50, 50, 50_000, None),
            (
                "interpolated between two points",
                &[(100, 0), (200, 10_000)],
                150,
                50,
                20_000,
                Some(Seconds(15.0)),
            ),
            (
                "exactly on a point",
                &[(100, 0), (200, 10_000), (300, 20_000)],
                200,
                100,
                30_000,
                Some(Seconds(20.0)),
            ),
            (
                "below the oldest point: beyond the history, never a guess",
                &[(100, 10_000), (200, 20_000)],
                50,
                150,
                30_000,
                Some(BeyondHistory),
            ),
            (
                "on the oldest point: dated",
                &[(100, 10_000), (200, 20_000)],
                100,
                100,
                30_000,
                Some(Seconds(20.0)),
            ),
            (
                "after a flat run the run's last point is the lower end",
                &[(100, 0), (100, 5_000), (100, 10_000), (200, 20_000)],
                100,
                100,
                30_000,
                Some(Seconds(20.0)),
            ),
            (
                "below a flat start: beyond the history",
                &[(100, 0), (100, 10_000), (200, 20_000)],
                50,
                150,
                30_000,
                Some(BeyondHistory),
            ),
            (
                "at the newest offset with lag: no estimate yet",
                &[(100, 0), (100, 10_000)],
                100,
                50,
                30_000,
                None,
            ),
            (
                "never negative (clock behind the points)",
                &[(100, 0), (200, 10_000)],
                150,
                50,
                1_000,
                Some(Seconds(0.0)),
            ),
        ];
        for (case, points, committed, lag, now, expected) in cases {
            let got = lag_seconds(&history(points), *committed, *lag, *now);
            assert_eq!(got, *expected, "{case}");
        }
    }

    #[test]
    fn a_burst_between_two_readings_is_dated_within_one_interval() {
        // Readings every 30 s; idle until 30 s, then 1,000 messages in one burst at 31 s.
        let h = history(&[(0, 0), (0, 30_000), (1_000, 60_000), (1_000, 90_000)]);
        let now = 100_000;
        let truth = (now - 31_000) as f64 / 1000.0;
        for committed in [0, 250, 500, 999] {
            let estimate = match lag_seconds(&h, committed, 1_000 - committed, now) {
                Some(LagSeconds::Seconds(seconds)) => seconds,
                other => panic!("{committed}: {other:?}"),
            };
            let error = estimate - truth;
            // Interpolation spreads the burst over the interval: the error grows with the
            // offset's distance from the burst, and stays under one interval.
            assert!(error.abs() < 30.0, "{committed}: {estimate} vs {truth}");
            // At most the 1 s between the idle reading and the burst too high.
            assert!(error <= 1.0, "{committed}: {estimate} vs {truth}");
        }
        assert_eq!(
            lag_seconds(&h, 0, 1_000, now),
            Some(LagSeconds::Seconds(70.0))
        );
        assert_eq!(
            lag_seconds(&h, 500, 500, now),
            Some(LagSeconds::Seconds(55.0))
        );
    }

    #[test]
    fn flat_runs_collapse_to_their_ends_and_late_points_slot_in() {
        let mut h = history(&[(100, 0), (100, 10), (100, 20), (100, 30), (150, 40)]);
        assert_eq!(offsets_and_times(&h), [(100, 0), (100, 30), (150, 40)]);
        // A partitions cycle's last write time, older than what the groups cycle saw.
        h.add(Point {
            offset: 90,
            time_ms: -5,
        });
        assert_eq!(
            offsets_and_times(&h),
            [(90, -5), (100, 0), (100, 30), (150, 40)]
        );
        // Contradicting points are dropped; the same time twice is one point.
        h.add(Point {
            offset: 200,
            time_ms: 35,
        });
        h.add(Point {
            offset: 120,
            time_ms: 40,
        });
        assert_eq!(
            offsets_and_times(&h),
            [(90, -5), (100, 0), (100, 30), (150, 40)]
        );
        // A smaller newest offset: the log restarted.
        h.add(Point {
            offset: 3,
            time_ms: 50,
        });
        assert_eq!(offsets_and_times(&h), [(3, 50)]);
    }

    #[test]
    fn the_history_stays_bounded_and_keeps_its_oldest_point() {
        let mut h = LogEndHistory::default();
        for i in 0..1_000 {
            h.add(Point {
                offset: i * 10,
                time_ms: i * 1_000,
            });
            assert!(h.points().len() <= MAX_POINTS);
        }
        assert_eq!(
            h.points()[0],
            Point {
                offset: 0,
                time_ms: 0
            }
        );
        assert_eq!(h.points().last().map(|p| p.offset), Some(9_990));
        // Steady traffic: interpolation over thinned points is still exact.
        assert_eq!(
            lag_seconds(&h, 5_000, 4_990, 1_000_000),
            Some(LagSeconds::Seconds(500.0))
        );
    }
}
