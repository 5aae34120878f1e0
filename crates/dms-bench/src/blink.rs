//! Blinking series: a data series that was present, then absent from a scrape, then present
//! again. The exporter promises none while the fleet does not change.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use serde::Serialize;

use crate::scrape::{metric_name, sample_lines, split_series};

/// Self-metric families whose series may come and go by design (per-api codes, histogram
/// buckets of new apis, reload state); they are not data.
const SELF_METRIC_PREFIXES: [&str; 3] = ["dms_api_", "dms_collector_", "dms_exporter_"];

/// How many blinking series the report names.
const EXAMPLES: usize = 10;

pub(crate) fn is_data_series(series: &str) -> bool {
    let name = metric_name(series);
    !SELF_METRIC_PREFIXES
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

/// Tracks series by a 64-bit hash of their text, so a million series cost ~16 MB here rather
/// than their full text.
#[derive(Default)]
pub(crate) struct BlinkTracker {
    hasher: RandomState,
    /// Series hash → the number of the last scrape it was in (scrapes count from 1).
    last_seen: HashMap<u64, u32>,
    scrapes: u32,
    blinked: HashMap<u64, u32>,
    appeared_later: usize,
    examples: Vec<String>,
    appeared_examples: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub(crate) struct BlinkSummary {
    pub scrapes: u32,
    /// Distinct data series seen in any scrape.
    pub series: usize,
    /// Series that were present, absent, then present again.
    pub blinked: usize,
    /// Absences, counted once per return.
    pub blinks: u32,
    /// Series first seen after the first scrape.
    pub appeared_later: usize,
    /// Series absent from the last scrape after having been seen.
    pub gone_at_end: usize,
    pub examples: Vec<String>,
    /// Up to ten series first seen after the first scrape.
    pub appeared_examples: Vec<String>,
}

impl BlinkTracker {
    /// Records one scrape's body.
    pub(crate) fn observe(&mut self, body: &str) {
        self.scrapes += 1;
        let now = self.scrapes;
        for line in sample_lines(body) {
            let Some((series, _)) = split_series(line) else {
                continue;
            };
            if !is_data_series(series) {
                continue;
            }
            let key = self.hasher.hash_one(series);
            match self.last_seen.insert(key, now) {
                // Seen before, but not in the previous scrape: it was absent in between.
                Some(previous) if previous + 1 < now => {
                    *self.blinked.entry(key).or_default() += 1;
                    if self.examples.len() < EXAMPLES {
                        self.examples.push(series.to_owned());
                    }
                }
                Some(_) => {}
                None if now > 1 => {
                    self.appeared_later += 1;
                    if self.appeared_examples.len() < EXAMPLES {
                        self.appeared_examples.push(series.to_owned());
                    }
                }
                None => {}
            }
        }
    }

    pub(crate) fn summary(&self) -> BlinkSummary {
        BlinkSummary {
            scrapes: self.scrapes,
            series: self.last_seen.len(),
            blinked: self.blinked.len(),
            blinks: self.blinked.values().sum(),
            appeared_later: self.appeared_later,
            gone_at_end: self
                .last_seen
                .values()
                .filter(|&&seen| seen < self.scrapes)
                .count(),
            examples: self.examples.clone(),
            appeared_examples: self.appeared_examples.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracker(scrapes: &[&str]) -> BlinkSummary {
        let mut tracker = BlinkTracker::default();
        for body in scrapes {
            tracker.observe(body);
        }
        tracker.summary()
    }

    #[test]
    fn a_series_that_leaves_and_returns_blinks() {
        let summary = tracker(&["a{x=\"1\"} 1\nb 2\n", "b 2\n", "a{x=\"1\"} 5\nb 3\n"]);
        assert_eq!(summary.blinked, 1);
        assert_eq!(summary.blinks, 1);
        assert_eq!(summary.examples, ["a{x=\"1\"}"]);
        assert_eq!(summary.series, 2);
        assert_eq!(summary.gone_at_end, 0);
    }

    #[test]
    fn leaving_for_good_or_arriving_late_is_not_blinking() {
        let summary = tracker(&["a 1\nb 1\n", "b 1\nc 1\n", "b 1\nc 1\n"]);
        assert_eq!(summary.blinked, 0);
        assert_eq!(summary.gone_at_end, 1);
        assert_eq!(summary.appeared_later, 1);
        assert_eq!(summary.appeared_examples, ["c"]);
    }

    #[test]
    fn value_changes_and_self_metrics_are_ignored() {
        let summary = tracker(&[
            "a 1\ndms_api_requests_total{code=\"429\"} 1\n",
            "a 2\n",
            "a 3\ndms_api_requests_total{code=\"429\"} 2\n",
        ]);
        assert_eq!(summary.blinked, 0);
        assert_eq!(summary.series, 1);
    }

    #[test]
    fn each_return_counts() {
        let summary = tracker(&["a 1\n", "", "a 1\n", "", "a 1\n"]);
        assert_eq!(summary.blinked, 1);
        assert_eq!(summary.blinks, 2);
    }
}
