//! One part's samples encoded once, as sample lines grouped per family.
//!
//! Sample lines are identical in text 0.0.4 and OpenMetrics (only headers and `# EOF`
//! differ), so one fragment serves both formats and the samples need not be kept; the one
//! exception, a sample's own timestamp (milliseconds in text, seconds in OpenMetrics), is
//! written in the text format's unit and rewritten when a page is built
//! (`pages::BuildJob::build`).

use bytes::Bytes;

use super::exposition::write_sample_at;
use super::{Family, Sample};

/// A family's lines inside [`EncodedPart::bytes`].
#[derive(Debug, Clone, Copy)]
pub struct FamilySpan {
    pub family: &'static Family,
    pub start: u32,
    pub len: u32,
}

/// The lines of one part: families in name order, series sorted by label values.
#[derive(Debug, Clone, Default)]
pub struct EncodedPart {
    pub bytes: Bytes,
    pub spans: Vec<FamilySpan>,
}

impl EncodedPart {
    /// The lines of `family`, empty when the part has none.
    pub fn lines(&self, family: &Family) -> Bytes {
        self.spans
            .iter()
            .find(|span| std::ptr::eq(span.family, family))
            .map(|span| {
                let start = span.start as usize;
                self.bytes.slice(start..start + span.len as usize)
            })
            .unwrap_or_default()
    }
}

/// Encodes samples of any families into per-family runs of lines. A series that appears
/// twice keeps its first sample, so a collector bug cannot produce an exposition Prometheus
/// rejects.
pub fn encode_part(samples: &[Sample]) -> EncodedPart {
    let mut sorted: Vec<&Sample> = samples.iter().collect();
    sorted.sort_by(|a, b| {
        a.family
            .name
            .cmp(b.family.name)
            .then_with(|| a.labels.cmp(&b.labels))
    });
    sorted.dedup_by(|later, earlier| {
        std::ptr::eq(later.family, earlier.family) && later.labels == earlier.labels
    });
    let mut out = String::with_capacity(sorted.len() * 112);
    let mut spans: Vec<FamilySpan> = Vec::new();
    for sample in sorted {
        let start = out.len();
        write_sample_at(
            sample.family.name,
            sample.family.labels,
            &sample.labels,
            None,
            sample.value,
            sample.timestamp_ms,
            &mut out,
        );
        let written = (out.len() - start) as u32;
        match spans.last_mut() {
            Some(span) if std::ptr::eq(span.family, sample.family) => span.len += written,
            _ => spans.push(FamilySpan {
                family: sample.family,
                start: start as u32,
                len: written,
            }),
        }
    }
    EncodedPart {
        bytes: Bytes::from(out),
        spans,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog;

    #[test]
    fn groups_lines_per_family_sorted_and_without_duplicates() {
        let samples = [
            Sample::new(&catalog::API_THROTTLED, vec!["dms".into(), "b".into()], 3.0),
            Sample::new(&catalog::TARGET_UP, vec!["dms".into(), "a".into()], 9.0),
            Sample::new(&catalog::API_THROTTLED, vec!["dms".into(), "a".into()], 5.0),
            Sample::new(&catalog::API_THROTTLED, vec!["dms".into(), "a".into()], 7.0),
        ];
        let part = encode_part(&samples);
        assert_eq!(
            part.lines(&catalog::API_THROTTLED),
            "dms_api_throttled_total{host=\"dms\",api=\"a\"} 5\n\
             dms_api_throttled_total{host=\"dms\",api=\"b\"} 3\n"
        );
        assert_eq!(
            part.lines(&catalog::TARGET_UP),
            "dms_target_up{region=\"dms\",project_id=\"a\"} 9\n"
        );
        assert!(part.lines(&catalog::BUILD_INFO).is_empty());
        let names: Vec<&str> = part.spans.iter().map(|s| s.family.name).collect();
        assert_eq!(names, ["dms_api_throttled_total", "dms_target_up"]);
    }
}
