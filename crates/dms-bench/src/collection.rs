//! Collection figures from the exporter's self-metrics: per collector, its last full cycle
//! against its bound; throttled answers between two scrapes.

use std::collections::BTreeMap;
use std::ops::Sub;

use serde::Serialize;

use crate::scrape::{Sample, Samples};

pub(crate) const CYCLE_API_CALLS: &str = "dms_collector_cycle_api_calls";
pub(crate) const CYCLE_SECONDS: &str = "dms_collector_duration_seconds";
pub(crate) const EXPECTED_CYCLE_SECONDS: &str = "dms_collector_expected_cycle_seconds";
pub(crate) const LAST_SUCCESS: &str = "dms_collector_last_success_timestamp_seconds";
pub(crate) const REQUESTS: &str = "dms_api_requests_total";
pub(crate) const THROTTLED: &str = "dms_api_throttled_total";
pub(crate) const EFFECTIVE_RATE: &str = "dms_api_effective_rate_limit";

/// The families the benchmark reads; the rest of a scrape is not parsed.
pub(crate) fn is_self_metric(name: &str) -> bool {
    name.starts_with("dms_collector_") || name.starts_with("dms_api_")
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct CollectorRow {
    pub collector: String,
    pub projects: usize,
    /// Calls of the last full cycle, summed over projects.
    pub api_calls: f64,
    /// The slowest project's last cycle.
    pub cycle_seconds: f64,
    /// The largest per-project bound; `None` when the exporter does not export it.
    pub bound_seconds: Option<f64>,
    /// The worst per-project cycle ÷ bound.
    pub ratio: Option<f64>,
}

fn project(sample: &Sample) -> (String, String) {
    (
        sample.label("region").to_owned(),
        sample.label("project_id").to_owned(),
    )
}

pub(crate) fn collector_rows(samples: &Samples) -> Vec<CollectorRow> {
    let bounds: BTreeMap<(String, (String, String)), f64> = samples
        .family(EXPECTED_CYCLE_SECONDS)
        .map(|s| ((s.label("collector").to_owned(), project(s)), s.value))
        .collect();
    let calls = samples.by_label(CYCLE_API_CALLS, "collector");
    samples
        .by_label(CYCLE_SECONDS, "collector")
        .into_iter()
        .map(|(collector, cycles)| {
            let bound_of = |s: &Sample| bounds.get(&(collector.clone(), project(s))).copied();
            let ratio = cycles
                .iter()
                .filter_map(|s| bound_of(s).filter(|b| *b > 0.0).map(|b| s.value / b))
                .reduce(f64::max);
            CollectorRow {
                projects: cycles.len(),
                api_calls: calls
                    .get(&collector)
                    .map_or(0.0, |c| c.iter().map(|s| s.value).sum()),
                cycle_seconds: cycles.iter().map(|s| s.value).fold(0.0, f64::max),
                bound_seconds: cycles.iter().filter_map(|s| bound_of(s)).reduce(f64::max),
                ratio,
                collector,
            }
        })
        .collect()
}

/// Throttled answers as counted by the exporter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub(crate) struct Throttling {
    /// `dms_api_throttled_total`: 429 `APIGW.0308` and 404 `DMS.10240407`.
    pub throttled: f64,
    pub code_429: f64,
    /// Every 404, throttling or not.
    pub code_404: f64,
}

impl Throttling {
    pub(crate) fn total(samples: &Samples) -> Self {
        Self::matching(samples, None)
    }

    pub(crate) fn by_api(samples: &Samples) -> BTreeMap<String, Self> {
        samples
            .by_label(REQUESTS, "api")
            .into_keys()
            .map(|api| {
                let figures = Self::matching(samples, Some(&api));
                (api, figures)
            })
            .collect()
    }

    fn matching(samples: &Samples, api: Option<&str>) -> Self {
        let mut filter = vec![];
        if let Some(api) = api {
            filter.push(("api", api));
        }
        let with_code = |code| {
            let mut filter = filter.clone();
            filter.push(("code", code));
            samples.sum(REQUESTS, &filter)
        };
        Self {
            throttled: samples.sum(THROTTLED, &filter),
            code_429: with_code("429"),
            code_404: with_code("404"),
        }
    }

    pub(crate) fn any(&self) -> bool {
        self.throttled > 0.0 || self.code_429 > 0.0
    }
}

impl Sub for Throttling {
    type Output = Self;
    fn sub(self, earlier: Self) -> Self {
        Self {
            throttled: self.throttled - earlier.throttled,
            code_429: self.code_429 - earlier.code_429,
            code_404: self.code_404 - earlier.code_404,
        }
    }
}

/// Every request the exporter made, any api, any code.
pub(crate) fn total_requests(samples: &Samples) -> f64 {
    samples.sum(REQUESTS, &[])
}

/// `(host, requests per second)`; empty when the exporter does not export it.
pub(crate) fn effective_rates(samples: &Samples) -> Vec<(String, f64)> {
    samples
        .family(EFFECTIVE_RATE)
        .map(|s| (s.label("host").to_owned(), s.value))
        .collect()
}

/// The last successful cycle end of one collector, per project (in exposition order, which
/// is stable), as Unix times. Projects' cycles end at different moments, so each is kept.
pub(crate) fn cycle_ends(samples: &Samples, collector: &str) -> Vec<f64> {
    samples
        .family(LAST_SUCCESS)
        .filter(|s| s.label("collector") == collector)
        .map(|s| s.value)
        .collect()
}

/// The latest cycle end of every collector, to tell whether any finished between scrapes.
pub(crate) fn last_successes(samples: &Samples) -> Vec<f64> {
    samples.family(LAST_SUCCESS).map(|s| s.value).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"
dms_collector_duration_seconds{collector="kafka_groups",project_id="p1",region="r"} 12
dms_collector_duration_seconds{collector="kafka_groups",project_id="p2",region="r"} 30
dms_collector_duration_seconds{collector="tags",project_id="p1",region="r"} 1
dms_collector_cycle_api_calls{collector="kafka_groups",project_id="p1",region="r"} 100
dms_collector_cycle_api_calls{collector="kafka_groups",project_id="p2",region="r"} 300
dms_collector_cycle_api_calls{collector="tags",project_id="p1",region="r"} 5
dms_collector_expected_cycle_seconds{collector="kafka_groups",project_id="p1",region="r"} 10
dms_collector_expected_cycle_seconds{collector="kafka_groups",project_id="p2",region="r"} 40
dms_api_requests_total{api="kafka_groups",code="200"} 390
dms_api_requests_total{api="kafka_groups",code="429"} 7
dms_api_requests_total{api="kafka_topic",code="404"} 2
dms_api_throttled_total{api="kafka_groups"} 7
dms_api_throttled_total{api="kafka_topic"} 1
dms_api_effective_rate_limit{host="dms.r"} 180
"#;

    #[test]
    fn rows_sum_calls_and_take_the_worst_project() {
        let rows = collector_rows(&Samples::parse(BODY, is_self_metric));
        assert_eq!(rows.len(), 2);
        let groups = &rows[0];
        assert_eq!(groups.collector, "kafka_groups");
        assert_eq!(groups.projects, 2);
        assert_eq!(groups.api_calls, 400.0);
        assert_eq!(groups.cycle_seconds, 30.0);
        assert_eq!(groups.bound_seconds, Some(40.0));
        // p1 took 1.2 × its bound, p2 0.75 ×.
        assert_eq!(groups.ratio, Some(1.2));
        let tags = &rows[1];
        assert_eq!((tags.bound_seconds, tags.ratio), (None, None));
    }

    #[test]
    fn throttling_totals_per_api_and_differences() {
        let samples = Samples::parse(BODY, is_self_metric);
        let total = Throttling::total(&samples);
        assert_eq!(
            total,
            Throttling {
                throttled: 8.0,
                code_429: 7.0,
                code_404: 2.0
            }
        );
        let by_api = Throttling::by_api(&samples);
        assert_eq!(by_api["kafka_topic"].code_404, 2.0);
        assert_eq!(by_api["kafka_topic"].code_429, 0.0);
        assert_eq!((total - by_api["kafka_groups"]).throttled, 1.0);
        assert_eq!(total_requests(&samples), 399.0);
        assert_eq!(effective_rates(&samples), [("dms.r".to_owned(), 180.0)]);
    }
}
