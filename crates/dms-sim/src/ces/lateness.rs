//! When a raw point becomes visible, and which series never get one: both fixed by the seed
//! and the series, so every run (and every simulator built from one configuration) agrees.

use super::SeriesKey;
use crate::CesSpec;

/// A number in [0, 1) from the seed, the series and `salt` (FNV-1a, then a splitmix64 round
/// so that neighbouring inputs spread).
fn unit(seed: u64, key: &SeriesKey, salt: i64) -> f64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    let mut eat = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(key.metric.as_bytes());
    for (name, value) in &key.dimensions {
        eat(&[0xff]);
        eat(name.as_bytes());
        eat(&[0xfe]);
        eat(value.as_bytes());
    }
    eat(&salt.to_le_bytes());
    let mut z = hash.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

fn ms(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The fleet time (unix ms) from which the raw point of `key` stamped `timestamp` is visible.
pub(crate) fn visible_from(spec: &CesSpec, seed: u64, key: &SeriesKey, timestamp: i64) -> i64 {
    let spread = ms(spec.lateness_spread) as f64 * unit(seed, key, timestamp);
    let very_late = unit(seed ^ 0x1a7e, key, timestamp) < spec.very_late_fraction;
    let extra = if very_late {
        ms(spec.very_late_extra)
    } else {
        0
    };
    timestamp
        .saturating_add(ms(spec.lateness_base))
        .saturating_add(spread as i64)
        .saturating_add(extra)
}

/// Whether `key` is one of the series CES lists but never has a datapoint for.
pub(crate) fn without_points(spec: &CesSpec, seed: u64, key: &SeriesKey) -> bool {
    unit(seed ^ 0xe3b7, key, 0) < spec.empty_series_fraction
}

/// A value in [low, high) for a metric the model has nothing behind (CPU, latency), fixed
/// per (series, minute).
pub(crate) fn synthetic(seed: u64, key: &SeriesKey, timestamp: i64, low: f64, high: f64) -> f64 {
    low + (high - low) * unit(seed ^ 0x5e7a, key, timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: usize) -> SeriesKey {
        SeriesKey {
            metric: "broker_data_size".to_owned(),
            dimensions: vec![("kafka_broker".to_owned(), format!("broker-{n}"))],
        }
    }

    #[test]
    fn lateness_stays_within_its_bounds_and_varies() {
        let spec = CesSpec::typical();
        let mut delays = std::collections::BTreeSet::new();
        let mut very_late = 0;
        for n in 0..400 {
            let delay = visible_from(&spec, 7, &key(n), 60_000) - 60_000;
            assert!(delay >= 60_000, "{delay}");
            assert!(delay < 60_000 + 120_000 + 600_000, "{delay}");
            if delay >= 600_000 {
                very_late += 1;
            }
            delays.insert(delay);
        }
        assert!(delays.len() > 300, "lateness differs between series");
        assert!(
            (5..=50).contains(&very_late),
            "{very_late} very late of 400"
        );
        let empty = (0..1000)
            .filter(|n| without_points(&spec, 7, &key(*n)))
            .count();
        assert!(
            (50..=150).contains(&empty),
            "{empty} of 1000 without points"
        );
    }
}
