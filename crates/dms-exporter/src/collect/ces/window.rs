//! Time done right for Cloud Eye: points arrive minutes late and are stamped at the start of
//! their minute. Each series keeps a cursor (its newest point); each cycle asks for
//! `[cursor − lateness horizon, now]` (`[now − horizon, now]` for a series without one), so a
//! late point is picked up, never skipped; only a point newer than the cursor is taken, so
//! none is exported twice or out of order. Queries are cut so that none asks for more points
//! than CES answers (it would move `from` later without a word).

use dms_cloud::dto::ces::Datapoint;
use dms_cloud::{MAX_POINTS_PER_ANSWER, MAX_SERIES_PER_QUERY};

/// CES's raw period for DMS metrics: one point a minute.
pub const PERIOD_MS: i64 = 60_000;

/// The newest point of one series, and when the exporter first saw it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Newest {
    /// Start of the point's minute, unix ms.
    pub timestamp_ms: i64,
    /// In the family's unit.
    pub value: f64,
    /// When it was read, unix ms: a series with no new point for `max_age` goes away.
    pub seen_ms: i64,
}

/// One query: the series (indices into the caller's list) and the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub series: Vec<usize>,
    pub from_ms: i64,
    pub to_ms: i64,
}

/// How many points a window holds per series: CES rounds `from` down to the period and
/// counts both ends.
fn points(from_ms: i64, to_ms: i64) -> usize {
    let from = from_ms.div_euclid(PERIOD_MS) * PERIOD_MS;
    usize::try_from((to_ms - from).div_euclid(PERIOD_MS) + 1).unwrap_or(usize::MAX)
}

/// The queries that read series with these cursors (`None`: no point yet) at `now_ms`: each
/// window starts `horizon_ms` before the series' cursor, but never more than `lookback_ms`
/// before now (an older point could not be served anyway), and no query holds more than
/// CES's series or points per answer.
pub fn queries(
    cursors: &[Option<i64>],
    now_ms: i64,
    horizon_ms: i64,
    lookback_ms: i64,
) -> Vec<Query> {
    let oldest = now_ms - lookback_ms.max(horizon_ms);
    let mut starts: Vec<(i64, usize)> = cursors
        .iter()
        .enumerate()
        .map(|(index, cursor)| {
            let from = cursor.unwrap_or(now_ms).min(now_ms) - horizon_ms;
            (from.max(oldest).div_euclid(PERIOD_MS) * PERIOD_MS, index)
        })
        .collect();
    // Newest windows first: series with similar cursors share a query.
    starts.sort_unstable_by(|a, b| b.cmp(a));
    let mut out: Vec<Query> = Vec::new();
    for (from, index) in starts {
        if let Some(query) = out.last_mut() {
            let from_then = query.from_ms.min(from);
            let fits = query.series.len() < MAX_SERIES_PER_QUERY
                && (query.series.len() + 1).saturating_mul(points(from_then, now_ms))
                    <= MAX_POINTS_PER_ANSWER;
            if fits {
                query.series.push(index);
                query.from_ms = from_then;
                continue;
            }
        }
        out.push(Query {
            series: vec![index],
            from_ms: from,
            to_ms: now_ms,
        });
    }
    out
}

/// Takes the newest point of `datapoints` (statistic `filter`, over `divisor`) if it is newer
/// than `newest`; points stamped in the future are ignored. Says whether it took one.
pub fn advance(
    newest: &mut Option<Newest>,
    datapoints: &[Datapoint],
    filter: &str,
    divisor: f64,
    now_ms: i64,
) -> bool {
    let candidate = datapoints
        .iter()
        .filter_map(|point| Some((point.timestamp?, point.value(filter)?)))
        .filter(|(timestamp, value)| *timestamp <= now_ms && value.is_finite())
        .max_by_key(|(timestamp, _)| *timestamp);
    match candidate {
        Some((timestamp_ms, value))
            if newest.is_none_or(|current| timestamp_ms > current.timestamp_ms) =>
        {
            *newest = Some(Newest {
                timestamp_ms,
                value: value / divisor,
                seen_ms: now_ms,
            });
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = PERIOD_MS;
    const NOW: i64 = 1_800_000_000_000;

    fn point(minutes_ago: i64, value: f64) -> Datapoint {
        Datapoint {
            average: Some(value),
            timestamp: Some(NOW - minutes_ago * MINUTE),
            ..Datapoint::default()
        }
    }

    #[test]
    fn no_query_asks_for_more_than_ces_answers() {
        // 2,000 series with a cursor a minute old, 10 minutes of horizon: 12 points each
        // (from rounded down), so 250 per query.
        let cursors = vec![Some(NOW - MINUTE); 2000];
        let read = queries(&cursors, NOW, 10 * MINUTE, 30 * MINUTE);
        for query in &read {
            assert!(query.series.len() <= MAX_SERIES_PER_QUERY);
            assert!(
                query.series.len() * points(query.from_ms, query.to_ms) <= MAX_POINTS_PER_ANSWER
            );
            assert_eq!(query.from_ms % MINUTE, 0);
        }
        assert_eq!(read.len(), 8);
        let mut all: Vec<usize> = read.iter().flat_map(|q| q.series.clone()).collect();
        all.sort_unstable();
        assert_eq!(all, (0..2000).collect::<Vec<_>>(), "every series once");
        // A short window reaches CES's series limit before its points limit.
        let fresh = queries(&vec![Some(NOW); 1200], NOW, 2 * MINUTE, 2 * MINUTE);
        assert_eq!(
            fresh.iter().map(|q| q.series.len()).collect::<Vec<_>>(),
            [500, 500, 200]
        );
    }

    #[test]
    fn windows_start_a_horizon_before_the_cursor_within_the_lookback() {
        let horizon = 10 * MINUTE;
        let cursors = [None, Some(NOW - 25 * MINUTE), Some(NOW - 600 * MINUTE)];
        let one = |cursor| queries(&[cursor], NOW, horizon, 60 * MINUTE)[0].from_ms;
        assert_eq!(one(cursors[0]), NOW - 10 * MINUTE);
        assert_eq!(one(cursors[1]), NOW - 35 * MINUTE);
        assert_eq!(
            one(cursors[2]),
            NOW - 60 * MINUTE,
            "never past the lookback"
        );
    }

    #[test]
    fn a_point_is_taken_once_in_order_and_late_ones_are_not_lost() {
        let mut newest = None;
        // On time: the newest of the answer.
        assert!(advance(
            &mut newest,
            &[point(3, 1.0), point(2, 2.0)],
            "average",
            1.0,
            NOW
        ));
        assert_eq!(newest.map(|n| n.value), Some(2.0));
        // The same answer again (the window overlaps): nothing new.
        assert!(!advance(
            &mut newest,
            &[point(3, 1.0), point(2, 2.0)],
            "average",
            1.0,
            NOW
        ));
        // A point for an older minute that arrived late: not exported after a newer one.
        assert!(!advance(&mut newest, &[point(4, 9.0)], "average", 1.0, NOW));
        // The next minute, 25 minutes late, still inside the window: taken.
        assert!(advance(
            &mut newest,
            &[point(1, 3.0)],
            "average",
            2.0,
            NOW + 25 * MINUTE
        ));
        assert_eq!(
            newest.map(|n| (n.value, n.seen_ms)),
            Some((1.5, NOW + 25 * MINUTE))
        );
        // A point stamped in the future, or without the asked statistic: ignored.
        assert!(!advance(
            &mut newest,
            &[point(-5, 7.0)],
            "average",
            1.0,
            NOW
        ));
        assert!(!advance(&mut newest, &[point(0, 7.0)], "max", 1.0, NOW));
    }
}
