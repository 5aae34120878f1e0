//! Test helpers for the collectors' response → samples mappings.

use dms_cloud::dto::rocketmq::Listed;

use crate::metrics::Sample;
use crate::metrics::exposition::write_sample;

/// The text of a documented example response, `fixtures/api/{path}` at the repository's root
/// (shared with dms-cloud's DTO tests and dms-sim's fidelity tests).
pub(crate) fn fixture(path: &str) -> String {
    let full = format!("{}/../../fixtures/api/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// A response body (a fixture or an inline example) read as the client's DTO would be.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(body: &str) -> T {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// A RocketMQ listing of one page, as the client returns it once paging ends.
pub(crate) fn single_page<T>(
    items: Vec<T>,
    total: Option<i64>,
    max: Option<i64>,
    remaining: Option<i64>,
) -> Listed<T> {
    Listed {
        items,
        total,
        max,
        remaining,
    }
}

/// Samples as the lines /metrics would serve, in the order they were pushed: readable
/// expectations, and times compared as printed (to the millisecond) rather than as floats.
pub(crate) fn lines(samples: impl AsRef<[Sample]>) -> Vec<String> {
    samples
        .as_ref()
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

/// The lines of a state set, one per state in `states`' order: 1 for `current`, 0 for the
/// others. `series` is the line up to its last label, e.g.
/// `dms_instance_status{engine="kafka",instance_id="i-1"`; `label` names the state's label.
pub(crate) fn state_set(series: &str, label: &str, states: &[&str], current: &str) -> Vec<String> {
    states
        .iter()
        .map(|state| {
            let value = u8::from(*state == current);
            format!(r#"{series},{label}="{state}"}} {value}"#)
        })
        .collect()
}
