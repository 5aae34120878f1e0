//! The raw points of every series: one per minute of the fleet clock, kept for the
//! configured retention; a series whose resource is gone stays listed for `linger`.

use std::collections::{BTreeMap, VecDeque};

use super::catalogue::{Kind, Metric};
use super::{SeriesKey, lateness};
use crate::CesSpec;

/// CES's raw period for every DMS metric.
pub(crate) const MINUTE_MS: i64 = 60_000;

/// What the model says of one series at a sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Reading {
    /// A gauge's value.
    Value(f64),
    /// A counter: the point is its growth since the previous sample.
    Counter(u64),
    /// Nothing in the model behind it (CPU, latency): a seeded value in [low, high),
    /// rounded to an integer when `integer`.
    Synthetic { low: f64, high: f64, integer: bool },
}

/// One series' reading at a sample, with the project that owns it.
#[derive(Clone, Debug)]
pub(crate) struct Observation {
    pub project_id: String,
    pub key: SeriesKey,
    pub metric: Metric,
    pub reading: Reading,
}

pub(crate) struct Series {
    pub project_id: String,
    pub unit: &'static str,
    /// (timestamp, value), oldest first.
    points: VecDeque<(i64, f64)>,
    /// The counter and fleet time of the previous sample (rates and increases).
    counter: Option<(i64, u64)>,
    /// The last sample that observed the series (its resource existed).
    last_seen_ms: i64,
}

impl Series {
    /// The counter's growth since the previous sample: per second, rounded down, for a
    /// rate; `None` at the first sample (nothing to compare with).
    fn growth(&mut self, counter: u64, now_ms: i64, kind: Kind) -> Option<f64> {
        let (at, before) = self.counter.replace((now_ms, counter))?;
        // A counter that went back (a rewound group) grew by nothing.
        let grown = counter.saturating_sub(before) as f64;
        match kind {
            Kind::Rate => {
                let seconds = (now_ms - at) as f64 / 1000.0;
                (seconds > 0.0).then(|| (grown / seconds).floor())
            }
            Kind::Increase | Kind::Gauge => Some(grown),
        }
    }
}

pub(crate) struct History {
    pub spec: CesSpec,
    pub seed: u64,
    last_sample_minute: Option<i64>,
    pub series: BTreeMap<SeriesKey, Series>,
}

fn ms(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl History {
    pub(crate) fn new(spec: CesSpec, seed: u64) -> History {
        History {
            spec,
            seed,
            last_sample_minute: None,
            series: BTreeMap::new(),
        }
    }

    /// Whether the fleet clock at `now_ms` has reached a minute not sampled yet.
    pub(crate) fn due(&self, now_ms: i64) -> bool {
        self.spec.enabled
            && self
                .last_sample_minute
                .is_none_or(|last| minute_of(now_ms) > last)
    }

    /// One sample: a point stamped with the minute `now_ms` falls in, for every observation;
    /// rates divide by the fleet time since the previous sample (one minute when the tick
    /// divides a minute).
    pub(crate) fn record(&mut self, now_ms: i64, observations: Vec<Observation>) {
        let minute = minute_of(now_ms);
        self.last_sample_minute = Some(minute);
        for observation in observations {
            let Observation {
                project_id,
                key,
                metric,
                reading,
            } = observation;
            // A synthetic value hashes the key, which the map takes next.
            let synthetic = match reading {
                Reading::Synthetic { low, high, integer } => {
                    let value = lateness::synthetic(self.seed, &key, minute, low, high);
                    Some(if integer {
                        value.floor()
                    } else {
                        (value * 100.0).floor() / 100.0
                    })
                }
                _ => None,
            };
            let series = self.series.entry(key).or_insert_with(|| Series {
                project_id,
                unit: metric.unit,
                points: VecDeque::new(),
                counter: None,
                last_seen_ms: now_ms,
            });
            series.last_seen_ms = now_ms;
            let value = match reading {
                Reading::Value(value) => Some(value),
                Reading::Synthetic { .. } => synthetic,
                Reading::Counter(counter) => series.growth(counter, now_ms, metric.kind),
            };
            if let Some(value) = value {
                series.points.push_back((minute, value));
            }
            let oldest = minute.saturating_sub(ms(self.spec.retention));
            while series.points.front().is_some_and(|(at, _)| *at < oldest) {
                series.points.pop_front();
            }
        }
        let forgotten = now_ms.saturating_sub(ms(self.spec.linger));
        self.series
            .retain(|_, series| series.last_seen_ms >= forgotten);
    }

    /// The raw points of `key` in [from, to] that are visible at `now_ms`, oldest first.
    pub(crate) fn visible(
        &self,
        key: &SeriesKey,
        from: i64,
        to: i64,
        now_ms: i64,
    ) -> Vec<(i64, f64)> {
        let Some(series) = self.series.get(key) else {
            return Vec::new();
        };
        if lateness::without_points(&self.spec, self.seed, key) {
            return Vec::new();
        }
        series
            .points
            .iter()
            .filter(|(at, _)| *at >= from && *at <= to)
            .filter(|(at, _)| lateness::visible_from(&self.spec, self.seed, key, *at) <= now_ms)
            .copied()
            .collect()
    }

    /// Every raw point of `key`, visible or not, with the fleet time it becomes visible
    /// (`None`: a series without datapoints).
    pub(crate) fn truth(&self, key: &SeriesKey) -> Vec<(i64, f64, Option<i64>)> {
        let Some(series) = self.series.get(key) else {
            return Vec::new();
        };
        let empty = lateness::without_points(&self.spec, self.seed, key);
        series
            .points
            .iter()
            .map(|(at, value)| {
                let visible =
                    (!empty).then(|| lateness::visible_from(&self.spec, self.seed, key, *at));
                (*at, *value, visible)
            })
            .collect()
    }
}

pub(crate) fn minute_of(ms: i64) -> i64 {
    ms - ms.rem_euclid(MINUTE_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observation(reading: Reading, kind: Kind) -> Observation {
        Observation {
            project_id: "p".to_owned(),
            key: SeriesKey {
                metric: "m".to_owned(),
                dimensions: vec![("kafka_instance_id".to_owned(), "i".to_owned())],
            },
            metric: Metric {
                name: "m",
                unit: "Count/s",
                kind,
            },
            reading,
        }
    }

    fn points(history: &History, key: &SeriesKey) -> Vec<(i64, f64)> {
        history.truth(key).iter().map(|p| (p.0, p.1)).collect()
    }

    #[test]
    fn rates_are_counter_growth_per_second_rounded_down() {
        let mut history = History::new(CesSpec::typical(), 1);
        let key = observation(Reading::Counter(0), Kind::Rate).key;
        history.record(0, vec![observation(Reading::Counter(1000), Kind::Rate)]);
        assert!(!history.due(59_999));
        assert!(history.due(60_000));
        history.record(
            60_000,
            vec![observation(Reading::Counter(1119), Kind::Rate)],
        );
        history.record(
            120_000,
            vec![observation(Reading::Counter(1100), Kind::Rate)],
        );
        // No point for the first sample (no growth yet); 119 / 60 s rounds down to 1; a
        // counter that went back grew by nothing.
        assert_eq!(points(&history, &key), vec![(60_000, 1.0), (120_000, 0.0)]);
    }

    #[test]
    fn retention_and_linger_bound_the_history() {
        let spec = CesSpec {
            retention: std::time::Duration::from_secs(120),
            linger: std::time::Duration::from_secs(600),
            ..CesSpec::typical()
        };
        let mut history = History::new(spec, 1);
        let key = observation(Reading::Value(0.0), Kind::Gauge).key;
        for minute in 0..5 {
            let value = Reading::Value(f64::from(minute));
            history.record(
                i64::from(minute) * MINUTE_MS,
                vec![observation(value, Kind::Gauge)],
            );
        }
        let kept: Vec<i64> = points(&history, &key).iter().map(|p| p.0).collect();
        assert_eq!(kept, vec![120_000, 180_000, 240_000]);
        // The resource is gone: the series lingers, then goes.
        history.record(10 * MINUTE_MS, Vec::new());
        assert!(history.series.contains_key(&key));
        history.record(15 * MINUTE_MS, Vec::new());
        assert!(!history.series.contains_key(&key));
    }
}
