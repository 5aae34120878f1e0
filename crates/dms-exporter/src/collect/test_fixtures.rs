//! Test helpers for the collectors' response → samples mappings.

use crate::metrics::Samples;
use crate::metrics::exposition::write_sample;

/// The text of a documented example response, `fixtures/api/{path}` at the repository's root
/// (shared with dms-cloud's DTO tests and dms-sim's fidelity tests).
pub(crate) fn fixture(path: &str) -> String {
    let full = format!("{}/../../fixtures/api/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// Samples as the lines /metrics would serve, in the order they were pushed: readable
/// expectations, and times compared as printed (to the millisecond) rather than as floats.
pub(crate) fn lines(samples: &Samples) -> Vec<String> {
    samples
        .0
        .iter()
        .map(|sample| {
            let mut line = String::new();
            let family = sample.family;
            write_sample(
                family.name,
                family.labels,
                &sample.labels,
                None,
                sample.value,
                &mut line,
            );
            line.trim_end().to_owned()
        })
        .collect()
}
