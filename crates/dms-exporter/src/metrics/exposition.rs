//! Prometheus text format 0.0.4 and OpenMetrics 1.0 encoders for plain samples.
//!
//! Neither Rust metrics crate encodes both formats from an external snapshot (see
//! ARCHITECTURE.md), and the snapshot is encoded once per refresh, so this small encoder writes
//! straight into a byte buffer. Sample lines are the same in both formats; only headers and
//! `# EOF` differ, which lets [`super::fragment`] encode a part once for both.

use std::fmt::Write as _;

use super::{Family, Kind};

/// Which exposition format to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`
    Text,
    /// `application/openmetrics-text; version=1.0.0`
    OpenMetrics,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Escapes a label value: backslash, double quote and line feed.
pub fn escape_label_value(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
}

fn escape_help(help: &str, out: &mut String) {
    for c in help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
}

/// Writes a float the way Prometheus parsers read it: integers without a fraction.
pub fn write_value(value: f64, out: &mut String) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        let _ = write!(out, "{}", value as i64);
    } else {
        let _ = write!(out, "{value}");
    }
}

/// Writes a time in seconds to the millisecond, the precision of every time the APIs give:
/// a time read in milliseconds and divided by 1000 would print as `1796517311.9550002`.
pub fn write_timestamp(value: f64, out: &mut String) {
    if !value.is_finite() || (value.fract() == 0.0 && value.abs() < 1e15) {
        return write_value(value, out);
    }
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    out.push_str(text);
}

/// The family header lines. In OpenMetrics, counters and info families are named without
/// their `_total` / `_info` suffix, and `# UNIT` is written when the name ends in the unit.
pub fn write_header(family: &Family, format: Format, out: &mut String) {
    let (type_name, om_name) = match (family.kind, format) {
        (Kind::Counter, Format::OpenMetrics) => (
            "counter",
            family.name.strip_suffix("_total").unwrap_or(family.name),
        ),
        (Kind::Info, Format::OpenMetrics) => (
            "info",
            family.name.strip_suffix("_info").unwrap_or(family.name),
        ),
        (Kind::Counter, Format::Text) => ("counter", family.name),
        (Kind::Histogram, _) => ("histogram", family.name),
        (Kind::Gauge | Kind::StateSet | Kind::Info, _) => ("gauge", family.name),
    };
    match format {
        Format::Text => {
            out.push_str("# HELP ");
            out.push_str(family.name);
            out.push(' ');
            escape_help(family.help, out);
            out.push_str("\n# TYPE ");
            out.push_str(family.name);
            out.push(' ');
            out.push_str(type_name);
            out.push('\n');
        }
        Format::OpenMetrics => {
            let _ = writeln!(out, "# TYPE {om_name} {type_name}");
            if let Some(unit) = family.unit
                && om_name.ends_with(&format!("_{unit}"))
            {
                let _ = writeln!(out, "# UNIT {om_name} {unit}");
            }
            out.push_str("# HELP ");
            out.push_str(om_name);
            out.push(' ');
            escape_help(family.help, out);
            out.push('\n');
        }
    }
}

/// Writes one sample line; `name` is the sample's whole name (a histogram part's `_bucket`,
/// `_sum` or `_count` included) and `extra` is one more label (`le`).
pub fn write_sample(
    name: &str,
    label_names: &[&str],
    label_values: &[String],
    extra: Option<(&str, &str)>,
    value: f64,
    out: &mut String,
) {
    write_sample_at(name, label_names, label_values, extra, value, None, out);
}

/// [`write_sample`] with the sample's own time, in the text format's unit (integer
/// milliseconds); [`openmetrics_timestamps`] rewrites it for OpenMetrics (seconds).
pub fn write_sample_at(
    name: &str,
    label_names: &[&str],
    label_values: &[String],
    extra: Option<(&str, &str)>,
    value: f64,
    timestamp_ms: Option<i64>,
    out: &mut String,
) {
    out.push_str(name);
    if !label_names.is_empty() || extra.is_some() {
        out.push('{');
        let mut first = true;
        for (label, label_value) in label_names.iter().zip(label_values) {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(label);
            out.push_str("=\"");
            escape_label_value(label_value, out);
            out.push('"');
        }
        if let Some((label, label_value)) = extra {
            if !first {
                out.push(',');
            }
            out.push_str(label);
            out.push_str("=\"");
            escape_label_value(label_value, out);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    if name.ends_with("_timestamp_seconds") {
        write_timestamp(value, out);
    } else {
        write_value(value, out);
    }
    if let Some(timestamp_ms) = timestamp_ms {
        let _ = write!(out, " {timestamp_ms}");
    }
    out.push('\n');
}

/// Text-format lines rewritten for OpenMetrics, whose timestamps are seconds, or `None` when
/// no line carries a timestamp (the lines are then the same in both formats). A line's
/// timestamp is the second token after its label set's closing brace: neither a value nor a
/// timestamp holds a brace or a space, and every timestamped family has labels.
pub fn openmetrics_timestamps(lines: &[u8]) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    let mut start = 0;
    let mut seconds = String::new();
    for line in lines.split_inclusive(|b| *b == b'\n') {
        let brace = line.iter().rposition(|b| *b == b'}').map_or(0, |at| at + 1);
        let mut tokens = line[brace..]
            .split(|b| *b == b' ' || *b == b'\n')
            .filter(|token| !token.is_empty());
        let stamped = match (tokens.next(), tokens.next(), tokens.next()) {
            (Some(_), Some(stamp), None) => std::str::from_utf8(stamp)
                .ok()
                .and_then(|text| text.parse::<i64>().ok()),
            _ => None,
        };
        match stamped {
            Some(ms) => {
                let out = out.get_or_insert_with(|| {
                    let mut copy = Vec::with_capacity(lines.len() + lines.len() / 8);
                    copy.extend_from_slice(&lines[..start]);
                    copy
                });
                let cut = line.iter().rposition(|b| *b == b' ').map_or(0, |at| at + 1);
                out.extend_from_slice(&line[..cut]);
                seconds.clear();
                write_timestamp(ms as f64 / 1000.0, &mut seconds);
                out.extend_from_slice(seconds.as_bytes());
                out.push(b'\n');
            }
            None => {
                if let Some(out) = out.as_mut() {
                    out.extend_from_slice(line);
                }
            }
        }
        start += line.len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog;

    #[test]
    fn escapes_label_values_and_help() {
        let mut out = String::new();
        escape_label_value("a\\b\"c\nd", &mut out);
        assert_eq!(out, "a\\\\b\\\"c\\nd");
    }

    #[test]
    fn writes_values_as_prometheus_reads_them() {
        let cases = [
            (1.0, "1"),
            (0.5, "0.5"),
            (-3.0, "-3"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (1e20, "100000000000000000000"),
        ];
        for (value, expected) in cases {
            let mut out = String::new();
            write_value(value, &mut out);
            assert_eq!(out, expected);
        }
    }

    #[test]
    fn a_sample_time_is_milliseconds_in_text_and_seconds_in_openmetrics() {
        let mut text = String::new();
        let labels = ["i-1".to_owned(), "a}b c".to_owned()];
        write_sample_at(
            "m",
            &["instance_id", "queue"],
            &labels,
            None,
            0.5,
            Some(1_796_517_300_000),
            &mut text,
        );
        write_sample(
            "m",
            &["instance_id", "queue"],
            &labels,
            None,
            2.0,
            &mut text,
        );
        write_sample_at(
            "m",
            &["instance_id", "queue"],
            &labels,
            None,
            1.0,
            Some(1_796_517_360_500),
            &mut text,
        );
        assert_eq!(
            text,
            "m{instance_id=\"i-1\",queue=\"a}b c\"} 0.5 1796517300000\n\
             m{instance_id=\"i-1\",queue=\"a}b c\"} 2\n\
             m{instance_id=\"i-1\",queue=\"a}b c\"} 1 1796517360500\n"
        );
        let openmetrics = openmetrics_timestamps(text.as_bytes()).unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(&openmetrics),
            "m{instance_id=\"i-1\",queue=\"a}b c\"} 0.5 1796517300\n\
             m{instance_id=\"i-1\",queue=\"a}b c\"} 2\n\
             m{instance_id=\"i-1\",queue=\"a}b c\"} 1 1796517360.5\n"
        );
        // Lines without a timestamp need no second copy.
        let mut plain = String::new();
        write_sample("m", &["instance_id"], &labels[..1], None, 7.0, &mut plain);
        assert_eq!(openmetrics_timestamps(plain.as_bytes()), None);
    }

    #[test]
    fn timestamps_print_to_the_millisecond_without_float_noise() {
        for (value, expected) in [
            (1_796_517_311_955.0 / 1000.0, "1796517311.955"),
            (1_696_619_517_320.0 / 1000.0, "1696619517.32"),
            (1_690_420_185.0, "1690420185"),
            (1.0004, "1"),
            (f64::NAN, "NaN"),
        ] {
            let mut out = String::new();
            write_timestamp(value, &mut out);
            assert_eq!(out, expected, "{value}");
        }
        let mut line = String::new();
        write_sample(
            "dms_instance_created_timestamp_seconds",
            &[],
            &[],
            None,
            1_796_517_311_955.0 / 1000.0,
            &mut line,
        );
        assert_eq!(
            line,
            "dms_instance_created_timestamp_seconds 1796517311.955\n"
        );
    }

    #[test]
    fn openmetrics_names_counters_and_info_without_suffix() {
        let mut text = String::new();
        write_header(&catalog::API_REQUESTS, Format::OpenMetrics, &mut text);
        assert!(
            text.starts_with("# TYPE dms_api_requests counter\n"),
            "{text}"
        );
        let mut info = String::new();
        write_header(&catalog::BUILD_INFO, Format::OpenMetrics, &mut info);
        assert!(
            info.starts_with("# TYPE dms_exporter_build info\n"),
            "{info}"
        );
        let mut bytes = String::new();
        write_header(
            &catalog::PROCESS_RESIDENT_MEMORY,
            Format::OpenMetrics,
            &mut bytes,
        );
        assert!(
            bytes.contains("# UNIT process_resident_memory_bytes bytes\n"),
            "{bytes}"
        );
    }
}
