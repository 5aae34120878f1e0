//! Labelled self-metric families: a counter, a gauge and a histogram kept per label set, each
//! encoded in label order so scrapes are deterministic. Our own rather than a registry crate's,
//! because they write through our exposition encoder (ARCHITECTURE.md).

use std::collections::BTreeMap;

use crate::metrics::Family;
use crate::metrics::exposition::{Format, write_header, write_sample};

/// A part of the self-metrics that writes its families.
pub(super) trait Encode {
    fn encode(&self, format: Format, out: &mut String);
}

/// A series key: its label values, in the family's label order.
pub(super) trait LabelValues: Ord {
    fn label_values(&self) -> Vec<String>;
}

impl LabelValues for &'static str {
    fn label_values(&self) -> Vec<String> {
        vec![(*self).to_owned()]
    }
}

/// Tuples of strings are keys with one label per element.
macro_rules! tuple_label_values {
    ($($element:ident $index:tt),+) => {
        impl<$($element: AsRef<str> + Ord),+> LabelValues for ($($element,)+) {
            fn label_values(&self) -> Vec<String> {
                vec![$(self.$index.as_ref().to_owned()),+]
            }
        }
    };
}

tuple_label_values!(A 0, B 1);
tuple_label_values!(A 0, B 1, C 2);
tuple_label_values!(A 0, B 1, C 2, D 3);

/// Writes one family: its header, then a sample per (label values, value).
pub(super) fn encode_family(
    family: &Family,
    series: impl IntoIterator<Item = (Vec<String>, f64)>,
    format: Format,
    out: &mut String,
) {
    write_header(family, format, out);
    for (labels, value) in series {
        write_sample(family.name, family.labels, &labels, None, value, out);
    }
}

/// Writes a family of one unlabelled series.
pub(super) fn encode_single(family: &Family, value: f64, format: Format, out: &mut String) {
    encode_family(family, [(Vec::new(), value)], format, out);
}

/// A gauge per label set.
#[derive(Debug)]
pub(super) struct GaugeVec<K> {
    family: &'static Family,
    values: BTreeMap<K, f64>,
}

impl<K: LabelValues> GaugeVec<K> {
    pub(super) const fn new(family: &'static Family) -> Self {
        Self {
            family,
            values: BTreeMap::new(),
        }
    }

    pub(super) fn set(&mut self, key: K, value: f64) {
        self.values.insert(key, value);
    }

    pub(super) fn retain(&mut self, mut keep: impl FnMut(&K) -> bool) {
        self.values.retain(|key, _| keep(key));
    }

    pub(super) fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub(super) fn get(&self, key: &K) -> Option<f64> {
        self.values.get(key).copied()
    }
}

impl<K: LabelValues> Encode for GaugeVec<K> {
    fn encode(&self, format: Format, out: &mut String) {
        self.encode_as(self.family, 0, format, out);
    }
}

impl<K: LabelValues> ByAccount for GaugeVec<K> {
    fn has_account(&self) -> bool {
        self.values.keys().any(first_label_set)
    }

    fn encode_as(&self, family: &Family, skip: usize, format: Format, out: &mut String) {
        let series = self
            .values
            .iter()
            .map(|(key, value)| (key.label_values().split_off(skip), *value));
        encode_family(family, series, format, out);
    }
}

/// Series whose key starts with the account ("" in a file without `accounts:`).
pub(super) trait ByAccount {
    /// Whether a series belongs to a named account.
    fn has_account(&self) -> bool;
    /// Writes the series as `family`, the first `skip` label values left out.
    fn encode_as(&self, family: &Family, skip: usize, format: Format, out: &mut String);
}

fn first_label_set<K: LabelValues>(key: &K) -> bool {
    key.label_values()
        .first()
        .is_some_and(|first| !first.is_empty())
}

/// Families keyed by (account, …) that carry the `account` label only in a file with
/// `accounts:` (`by_account`); otherwise they are written as `plain`, without it, so a
/// file without accounts keeps its exposition.
#[derive(Debug)]
pub(super) struct Accounted<V> {
    pub(super) series: V,
    plain: &'static Family,
    by_account: &'static Family,
}

impl<V> Accounted<V> {
    pub(super) const fn new(
        series: V,
        plain: &'static Family,
        by_account: &'static Family,
    ) -> Self {
        Self {
            series,
            plain,
            by_account,
        }
    }
}

impl<V: ByAccount> Encode for Accounted<V> {
    fn encode(&self, format: Format, out: &mut String) {
        if self.series.has_account() {
            self.series.encode_as(self.by_account, 0, format, out);
        } else {
            self.series.encode_as(self.plain, 1, format, out);
        }
    }
}

/// A counter per label set: a gauge that only goes up (exact to 2^53, beyond any count here).
#[derive(Debug)]
pub(super) struct CounterVec<K>(GaugeVec<K>);

impl<K: LabelValues> CounterVec<K> {
    pub(super) const fn new(family: &'static Family) -> Self {
        Self(GaugeVec::new(family))
    }

    pub(super) fn inc(&mut self, key: K) {
        *self.0.values.entry(key).or_default() += 1.0;
    }

    pub(super) fn retain(&mut self, keep: impl FnMut(&K) -> bool) {
        self.0.retain(keep);
    }
}

impl<K: LabelValues> Encode for CounterVec<K> {
    fn encode(&self, format: Format, out: &mut String) {
        self.0.encode(format, out);
    }
}

impl<K: LabelValues> ByAccount for CounterVec<K> {
    fn has_account(&self) -> bool {
        self.0.has_account()
    }

    fn encode_as(&self, family: &Family, skip: usize, format: Format, out: &mut String) {
        self.0.encode_as(family, skip, format, out);
    }
}

/// One label set's observations: per-bucket (not yet cumulative) counts, count and sum.
#[derive(Debug)]
struct Histogram {
    buckets: Vec<u64>,
    count: u64,
    sum: f64,
}

/// A histogram per label set, with fixed upper bounds.
#[derive(Debug)]
pub(super) struct HistogramVec<K> {
    family: &'static Family,
    bounds: &'static [f64],
    series: BTreeMap<K, Histogram>,
}

impl<K: LabelValues> HistogramVec<K> {
    pub(super) const fn new(family: &'static Family, bounds: &'static [f64]) -> Self {
        Self {
            family,
            bounds,
            series: BTreeMap::new(),
        }
    }

    pub(super) fn observe(&mut self, key: K, value: f64) {
        let histogram = self.series.entry(key).or_insert_with(|| Histogram {
            buckets: vec![0; self.bounds.len()],
            count: 0,
            sum: 0.0,
        });
        // Above the last bound it counts only in `+Inf`, which is the count.
        if let Some(index) = self.bounds.iter().position(|bound| value <= *bound) {
            histogram.buckets[index] += 1;
        }
        histogram.count += 1;
        histogram.sum += value;
    }
}

impl<K: LabelValues> Encode for HistogramVec<K> {
    fn encode(&self, format: Format, out: &mut String) {
        self.encode_as(self.family, 0, format, out);
    }
}

impl<K: LabelValues> ByAccount for HistogramVec<K> {
    fn has_account(&self) -> bool {
        self.series.keys().any(first_label_set)
    }

    fn encode_as(&self, family: &Family, skip: usize, format: Format, out: &mut String) {
        write_header(family, format, out);
        let bucket = format!("{}_bucket", family.name);
        let sum = format!("{}_sum", family.name);
        let count = format!("{}_count", family.name);
        for (key, histogram) in &self.series {
            let labels = key.label_values().split_off(skip);
            let mut cumulative = 0;
            for (bound, in_bucket) in self.bounds.iter().zip(&histogram.buckets) {
                cumulative += in_bucket;
                let le = bound.to_string();
                let le = Some(("le", le.as_str()));
                write_sample(&bucket, family.labels, &labels, le, cumulative as f64, out);
            }
            let total = histogram.count as f64;
            write_sample(
                &bucket,
                family.labels,
                &labels,
                Some(("le", "+Inf")),
                total,
                out,
            );
            write_sample(&sum, family.labels, &labels, None, histogram.sum, out);
            write_sample(&count, family.labels, &labels, None, total, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog;

    #[test]
    fn series_are_written_in_label_order_with_one_header() {
        let mut targets = GaugeVec::new(&catalog::TARGET_UP);
        targets.set(("r2".to_owned(), "p".to_owned()), 1.0);
        targets.set(("r1".to_owned(), "p".to_owned()), 0.0);
        let mut out = String::new();
        targets.encode(Format::Text, &mut out);
        assert_eq!(
            out.matches("# TYPE dms_target_up gauge\n").count(),
            1,
            "{out}"
        );
        let r1 = out.find("region=\"r1\"").expect("r1 written");
        let r2 = out.find("region=\"r2\"").expect("r2 written");
        assert!(r1 < r2, "{out}");
    }

    #[test]
    fn retained_counters_drop_the_others() {
        let mut retries = CounterVec::new(&catalog::API_RETRIES);
        retries.inc(("h", "a"));
        retries.inc(("h", "b"));
        retries.inc(("h", "b"));
        retries.retain(|(_, api)| *api == "b");
        let mut out = String::new();
        retries.encode(Format::Text, &mut out);
        assert!(
            out.contains("\ndms_api_retries_total{host=\"h\",api=\"b\"} 2\n"),
            "{out}"
        );
        assert!(!out.contains("api=\"a\""), "{out}");
    }

    #[test]
    fn a_value_above_every_bound_counts_only_in_inf() {
        let mut durations = HistogramVec::new(&catalog::API_REQUEST_DURATION, &[1.0]);
        durations.observe(("h", "x"), 2.0);
        let mut out = String::new();
        durations.encode(Format::Text, &mut out);
        let name = "dms_api_request_duration_seconds";
        assert!(
            out.contains(&format!(
                "{name}_bucket{{host=\"h\",api=\"x\",le=\"1\"}} 0\n"
            )),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "{name}_bucket{{host=\"h\",api=\"x\",le=\"+Inf\"}} 1\n"
            )),
            "{out}"
        );
        assert!(
            out.contains(&format!("{name}_sum{{host=\"h\",api=\"x\"}} 2\n")),
            "{out}"
        );
    }
}
