//! Per-collector cycle reports: the last cycle of each (collector, region, project) and the
//! errors cycles met.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::families::{CounterVec, Encode, LabelValues, encode_family};
use super::status::CycleStatus;
use crate::metrics::catalog::{self, Family};
use crate::metrics::exposition::Format;

/// What one collector cycle for one project reported.
#[derive(Debug, Clone)]
pub struct CycleReport {
    pub collector: &'static str,
    pub region: String,
    pub project_id: String,
    pub duration: Duration,
    pub api_calls: u64,
    /// Calls a per-cycle limit skipped.
    pub skipped_calls: u64,
    pub finished_unix: f64,
    /// Error kinds met in the cycle, one entry per failed read.
    pub errors: Vec<&'static str>,
    /// The text of one of those errors (bounded by the API's message; never a secret).
    pub last_error: Option<String>,
    /// What the cycle needs within the budget (`None`: unlimited rate and no paced API).
    pub expected: Option<Duration>,
    /// How much later than planned the cycle started.
    pub lateness: Duration,
    /// The max age in force for the cycle's data.
    pub max_age: Duration,
}

/// The last cycle of one project's collector, in seconds.
#[derive(Debug, Default, Clone)]
struct CycleState {
    up: bool,
    last_error: Option<String>,
    duration: f64,
    last_success: Option<f64>,
    api_calls: u64,
    skipped_calls: u64,
    expected: Option<f64>,
    lateness: f64,
    max_age: f64,
}

/// (collector, region, project id).
type CycleKey = (&'static str, String, String);

/// A gauge read from each last cycle; `None` writes no series.
type CycleGauge = (&'static Family, fn(&CycleState) -> Option<f64>);

/// The cycle families.
#[derive(Debug)]
pub(super) struct Cycles {
    last: BTreeMap<CycleKey, CycleState>,
    errors: CounterVec<(&'static str, String, String, &'static str)>,
}

impl Cycles {
    pub(super) fn new() -> Self {
        Self {
            last: BTreeMap::new(),
            errors: CounterVec::new(&catalog::COLLECTOR_ERRORS),
        }
    }

    /// Records a finished cycle: its state replaces the previous one, but a failed cycle
    /// keeps the last success time.
    pub(super) fn record(&mut self, report: &CycleReport) {
        let key = (
            report.collector,
            report.region.clone(),
            report.project_id.clone(),
        );
        let state = self.last.entry(key).or_default();
        state.up = report.errors.is_empty();
        state.last_error = if state.up {
            None
        } else {
            report.last_error.clone()
        };
        state.duration = report.duration.as_secs_f64();
        state.api_calls = report.api_calls;
        state.skipped_calls = report.skipped_calls;
        state.expected = report.expected.map(|d| d.as_secs_f64());
        state.lateness = report.lateness.as_secs_f64();
        state.max_age = report.max_age.as_secs_f64();
        if state.up {
            state.last_success = Some(report.finished_unix);
        }
        for kind in &report.errors {
            self.errors.inc((
                report.collector,
                report.region.clone(),
                report.project_id.clone(),
                kind,
            ));
        }
    }

    /// Forgets one collector's cycles of one project (a project no longer listed).
    pub(super) fn forget_project(&mut self, collector: &str, region: &str, project_id: &str) {
        let of_project =
            |c: &str, r: &str, p: &str| c == collector && r == region && p == project_id;
        self.last.retain(|(c, r, p), _| !of_project(c, r, p));
        self.errors.retain(|(c, r, p, _)| !of_project(c, r, p));
    }

    /// Forgets the cycles of regions a reload removed.
    pub(super) fn retain_regions(&mut self, regions: &BTreeSet<String>) {
        self.last
            .retain(|(_, region, _), _| regions.contains(region));
        self.errors
            .retain(|(_, region, _, _)| regions.contains(region));
    }

    /// What the landing page shows, in (collector, region, project) order.
    pub(super) fn statuses(&self) -> Vec<CycleStatus> {
        self.last
            .iter()
            .map(|((collector, region, project), state)| CycleStatus {
                collector,
                region: region.clone(),
                project_id: project.clone(),
                up: state.up,
                last_error: state.last_error.clone(),
                last_success_unix: state.last_success,
                last_duration: Duration::try_from_secs_f64(state.duration).unwrap_or_default(),
            })
            .collect()
    }

    fn encode_gauges(&self, gauges: &[CycleGauge], format: Format, out: &mut String) {
        for (family, value) in gauges {
            let series = self
                .last
                .iter()
                .filter_map(|(key, state)| value(state).map(|v| (key.label_values(), v)));
            encode_family(family, series, format, out);
        }
    }
}

impl Encode for Cycles {
    fn encode(&self, format: Format, out: &mut String) {
        let before_errors: [CycleGauge; 6] = [
            (&catalog::COLLECTOR_API_CALLS, |s| Some(s.api_calls as f64)),
            (&catalog::COLLECTOR_SKIPPED_CALLS, |s| {
                Some(s.skipped_calls as f64)
            }),
            (&catalog::COLLECTOR_DURATION, |s| Some(s.duration)),
            (&catalog::COLLECTOR_EXPECTED, |s| s.expected),
            (&catalog::COLLECTOR_LATENESS, |s| Some(s.lateness)),
            (&catalog::COLLECTOR_MAX_AGE, |s| Some(s.max_age)),
        ];
        let after_errors: [CycleGauge; 2] = [
            (&catalog::COLLECTOR_LAST_SUCCESS, |s| s.last_success),
            (&catalog::COLLECTOR_UP, |s| Some(f64::from(u8::from(s.up)))),
        ];
        self.encode_gauges(&before_errors, format, out);
        self.errors.encode(format, out);
        self.encode_gauges(&after_errors, format, out);
    }
}
