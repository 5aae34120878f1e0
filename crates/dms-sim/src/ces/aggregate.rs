//! CES's time rules: the periods and filters, the window limits (`from` moved forward, never
//! an error), `from` rounded down to the period, aggregates stamped at their period's start
//! and only once the period is over, and the rollup's rounding.

use super::error::CesRequestError;
use super::history::MINUTE_MS;

/// Most datapoints one BatchListMetricData answer holds, over all its series.
pub(crate) const MAX_POINTS: usize = 3000;
/// Most metrics one BatchListMetricData request may name.
pub(crate) const MAX_METRICS: usize = 500;
/// The smallest and largest timestamps CES accepts (ms).
const TIME_RANGE: std::ops::RangeInclusive<i64> = 1_111_111_111_111..=9_999_999_999_999;

/// An aggregation period: `1` is the raw data (one point a minute for DMS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Period(u32);

impl Period {
    pub(crate) fn parse(text: &str) -> Result<Period, CesRequestError> {
        match text.trim().parse::<u32>() {
            Ok(seconds @ (1 | 60 | 300 | 1200 | 3600 | 14400 | 86400)) => Ok(Period(seconds)),
            _ => Err(CesRequestError::Invalid {
                name: "period",
                value: text.to_owned(),
            }),
        }
    }

    pub(crate) fn is_raw(self) -> bool {
        self.0 == 1
    }

    /// The spacing of its points: a minute for raw DMS data.
    pub(crate) fn interval_ms(self) -> i64 {
        if self.is_raw() {
            MINUTE_MS
        } else {
            i64::from(self.0) * 1000
        }
    }

    /// The longest window the SDK documents for the period (`from` moves up to it).
    fn max_window_ms(self) -> i64 {
        const HOUR: i64 = 3_600_000;
        match self.0 {
            1 | 60 => 4 * HOUR,
            300 => 24 * HOUR,
            1200 => 3 * 24 * HOUR,
            3600 => 10 * 24 * HOUR,
            14400 => 30 * 24 * HOUR,
            _ => 180 * 24 * HOUR,
        }
    }
}

/// The statistic asked for; the datapoints carry only that field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Filter {
    Average,
    Variance,
    Min,
    Max,
    Sum,
}

impl Filter {
    pub(crate) fn parse(text: &str) -> Result<Filter, CesRequestError> {
        Ok(match text {
            "average" => Filter::Average,
            "variance" => Filter::Variance,
            "min" => Filter::Min,
            "max" => Filter::Max,
            "sum" => Filter::Sum,
            _ => {
                return Err(CesRequestError::Invalid {
                    name: "filter",
                    value: text.to_owned(),
                });
            }
        })
    }

    pub(crate) fn field(self) -> &'static str {
        match self {
            Filter::Average => "average",
            Filter::Variance => "variance",
            Filter::Min => "min",
            Filter::Max => "max",
            Filter::Sum => "sum",
        }
    }

    fn apply(self, values: &[f64]) -> f64 {
        let n = values.len().max(1) as f64;
        let mean = values.iter().sum::<f64>() / n;
        match self {
            Filter::Average => mean,
            Filter::Sum => values.iter().sum(),
            Filter::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
            Filter::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            Filter::Variance => values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n,
        }
    }
}

/// A checked time window (`from < to`, both in CES's range).
pub(crate) fn window(from: i64, to: i64) -> Result<(i64, i64), CesRequestError> {
    for (name, value) in [("from", from), ("to", to)] {
        if !TIME_RANGE.contains(&value) {
            return Err(CesRequestError::Invalid {
                name,
                value: value.to_string(),
            });
        }
    }
    if from >= to {
        return Err(CesRequestError::EmptyWindow);
    }
    Ok((from, to))
}

/// `from` as CES uses it: moved forward to the period's longest window and, for a batch of
/// `metrics`, until `metrics × (to − from) / interval ≤ 3000` (silently, as the SDK
/// documents: "若超出阈值，会自动调整from"); then rounded down to the period.
pub(crate) fn effective_from(from: i64, to: i64, period: Period, metrics: usize) -> i64 {
    let interval = period.interval_ms();
    let mut from = from.max(to - period.max_window_ms());
    let metrics = i64::try_from(metrics.max(1)).unwrap_or(i64::MAX);
    let budget = i64::try_from(MAX_POINTS).unwrap_or(i64::MAX) * interval / metrics;
    from = from.max(to - budget);
    from - from.rem_euclid(interval)
}

/// The datapoints of one series in [from, to] from its visible raw points (which must cover
/// [from, to + period)): raw points as they are; aggregates per period, stamped at the
/// period's start, only for periods over at `now_ms`, with the rollup's rounding (integers
/// stay integers, other values keep two decimals).
pub(crate) fn datapoints(
    raw: &[(i64, f64)],
    period: Period,
    filter: Filter,
    (from, to): (i64, i64),
    now_ms: i64,
) -> Vec<(i64, f64)> {
    if period.is_raw() {
        return raw
            .iter()
            .filter(|(at, _)| *at >= from && *at <= to)
            .copied()
            .collect();
    }
    let interval = period.interval_ms();
    let mut buckets: std::collections::BTreeMap<i64, Vec<f64>> = std::collections::BTreeMap::new();
    for (at, value) in raw {
        let start = at - at.rem_euclid(interval);
        if start >= from && start <= to && start + interval <= now_ms {
            buckets.entry(start).or_default().push(*value);
        }
    }
    buckets
        .into_iter()
        .map(|(start, values)| {
            let value = filter.apply(&values);
            let integers = values.iter().all(|v| v.fract() == 0.0);
            let value = if integers && filter != Filter::Variance {
                value.round()
            } else {
                (value * 100.0).trunc() / 100.0
            };
            (start, value)
        })
        .collect()
}

/// Drops the oldest points of the longest series until all together hold at most
/// [`MAX_POINTS`] (rounding `from` down can add a point per series beyond the budget).
pub(crate) fn cap_points(series: &mut [Vec<(i64, f64)>]) {
    let mut total: usize = series.iter().map(Vec::len).sum();
    while total > MAX_POINTS {
        let Some(longest) = series.iter_mut().max_by_key(|points| points.len()) else {
            return;
        };
        longest.remove(0);
        total -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_704_067_200_000;

    #[test]
    fn from_moves_forward_for_the_3000_point_rule_and_rounds_down() {
        let raw = Period::parse("1").expect("raw");
        // 300 metrics: 10 minutes at most.
        assert_eq!(effective_from(T - 3_600_000, T, raw, 300), T - 600_000);
        // 500 metrics: 6 minutes.
        assert_eq!(effective_from(T - 3_600_000, T, raw, 500), T - 360_000);
        // Within the budget: only rounded down to the minute.
        assert_eq!(effective_from(T - 125_000, T, raw, 10), T - 180_000);
        // One metric: the period's own cap, 4 hours for raw data.
        assert_eq!(effective_from(T - 86_400_000, T, raw, 1), T - 4 * 3_600_000);
        let five = Period::parse("300").expect("300");
        assert_eq!(effective_from(T - 299_000, T, five, 1), T - 300_000);
        assert!(Period::parse("120").is_err());
        assert!(Period::parse("x").is_err());
    }

    #[test]
    fn aggregates_are_stamped_at_the_period_start_once_it_is_over() {
        let raw: Vec<(i64, f64)> = (0..10).map(|m| (T + m * MINUTE_MS, m as f64)).collect();
        let five = Period::parse("300").expect("300");
        let window = (T, T + 600_000);
        let done = datapoints(&raw, five, Filter::Average, window, T + 600_000);
        assert_eq!(done, vec![(T, 2.0), (T + 300_000, 7.0)]);
        // The second period is not over yet: absent.
        let early = datapoints(&raw, five, Filter::Max, window, T + 590_000);
        assert_eq!(early, vec![(T, 4.0)]);
        let halves: Vec<(i64, f64)> =
            vec![(T, 1.0), (T + MINUTE_MS, 1.5), (T + 2 * MINUTE_MS, 1.555)];
        let average = datapoints(&halves, five, Filter::Average, window, T + 600_000);
        assert_eq!(average, vec![(T, 1.35)]);
        let sum = datapoints(&raw, five, Filter::Sum, window, T + 600_000);
        assert_eq!(sum, vec![(T, 10.0), (T + 300_000, 35.0)]);
        let variance = datapoints(&raw, five, Filter::Variance, window, T + 600_000);
        assert_eq!(variance, vec![(T, 2.0), (T + 300_000, 2.0)]);
    }

    #[test]
    fn the_answer_never_holds_more_than_3000_points() {
        let mut series: Vec<Vec<(i64, f64)>> = (0..300)
            .map(|_| (0..11).map(|m| (T + m * MINUTE_MS, 1.0)).collect())
            .collect();
        cap_points(&mut series);
        assert_eq!(series.iter().map(Vec::len).sum::<usize>(), 3000);
        assert!(
            series
                .iter()
                .all(|s| s.len() == 10 && s[0].0 == T + MINUTE_MS)
        );
    }
}
