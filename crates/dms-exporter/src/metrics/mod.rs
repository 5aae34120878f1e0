//! The metrics layer: what a family is ([`catalog`]: the type, the `families!` macro that
//! declares them, the exporter's own families), plain samples ([`Sample`]), and the
//! exposition encoders. It knows neither HTTP nor the cloud.

pub mod catalog;
pub mod exposition;
pub mod fragment;
pub mod pages;
pub mod process;
pub mod self_metrics;

pub use catalog::{Family, Kind};

/// One series: a family, label values in the family's label order, and a value in base units.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub family: &'static Family,
    pub labels: Vec<String>,
    pub value: f64,
    /// The source's own time of the value, unix ms (Cloud Eye's point minute with
    /// `ces_timestamps`); `None`, the rule, leaves the time to the scrape.
    pub timestamp_ms: Option<i64>,
}

impl Sample {
    /// Builds a sample; the label count must match the family (checked in debug builds and by
    /// the catalogue tests).
    pub fn new(family: &'static Family, labels: Vec<String>, value: f64) -> Self {
        debug_assert_eq!(
            family.labels.len(),
            labels.len(),
            "label count of {}",
            family.name
        );
        Self {
            family,
            labels,
            value,
            timestamp_ms: None,
        }
    }

    /// The sample stamped with its source's time; only a [`Family::timestamped`] family's
    /// samples may be (their OpenMetrics lines are built apart).
    pub fn at(mut self, timestamp_ms: i64) -> Self {
        debug_assert!(
            self.family.timestamped,
            "{} is not timestamped",
            self.family.name
        );
        self.timestamp_ms = Some(timestamp_ms);
        self
    }
}

/// A growing list of samples; collectors push into it.
#[derive(Debug, Default, Clone)]
pub struct Samples(pub Vec<Sample>);

impl Samples {
    pub fn push<L: Into<String>, const N: usize>(
        &mut self,
        family: &'static Family,
        labels: [L; N],
        value: f64,
    ) {
        self.0.push(Sample::new(
            family,
            labels.into_iter().map(Into::into).collect(),
            value,
        ));
    }

    /// Pushes a sample only when the API gave the value: a missing field is no series,
    /// never a zero.
    pub fn push_some<L: Into<String>, const N: usize, V: Into<Option<f64>>>(
        &mut self,
        family: &'static Family,
        labels: [L; N],
        value: V,
    ) {
        if let Some(value) = value.into() {
            self.push(family, labels, value);
        }
    }

    /// One sample per known state: 1 for `current`, 0 for the others (a Prometheus state set).
    pub fn push_state_set<const N: usize>(
        &mut self,
        family: &'static Family,
        labels: [&str; N],
        states: &[&str],
        current: &str,
    ) {
        for state in states {
            let mut values: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
            values.push((*state).to_owned());
            let value = if *state == current { 1.0 } else { 0.0 };
            self.0.push(Sample::new(family, values, value));
        }
    }
}

impl AsRef<[Sample]> for Samples {
    fn as_ref(&self) -> &[Sample] {
        &self.0
    }
}

impl From<Samples> for Vec<Sample> {
    fn from(samples: Samples) -> Self {
        samples.0
    }
}
