//! Both halves: the filter the levels give, and the lines the formatters write.

use std::collections::BTreeMap;

use serde_json::Value;
use tracing_subscriber::EnvFilter;

use super::format::{text, write_value};
use super::*;
use crate::cli::{LogFormat, LogLevel};

#[test]
fn rust_log_wins_and_a_malformed_one_is_refused() {
    let level = |rust_log| {
        filter(rust_log, LogLevel::Warn)
            .map(|f| f.max_level_hint().map(|l| l.to_string()))
            .map_err(|e| e.to_string())
    };
    assert_eq!(level(None), Ok(Some("warn".to_owned())));
    assert_eq!(level(Some("")), Ok(Some("warn".to_owned())));
    assert_eq!(level(Some("debug")), Ok(Some("debug".to_owned())));
    let refused = level(Some("dms_cloud=loud")).expect_err("not a level");
    assert!(refused.contains("RUST_LOG=\"dms_cloud=loud\""), "{refused}");
}

/// A logfmt parser written from the format's definition (go-logfmt's decoder): bare or
/// double-quoted values with backslash escapes. Panics on anything else.
fn parse_logfmt(line: &str) -> BTreeMap<String, String> {
    let mut pairs = BTreeMap::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        if chars.peek().is_none() {
            return pairs;
        }
        let key: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ' ')).collect();
        assert_eq!(chars.next(), Some('='), "key {key:?} without '=' in {line}");
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some('n') => value.push('\n'),
                        Some('t') => value.push('\t'),
                        Some('r') => value.push('\r'),
                        Some(c @ ('"' | '\\')) => value.push(c),
                        other => panic!("bad escape {other:?} in {line}"),
                    },
                    Some(c) => value.push(c),
                    None => panic!("unterminated quote in {line}"),
                }
            }
            assert!(
                matches!(chars.peek(), None | Some(' ')),
                "junk after a quoted value in {line}"
            );
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ' ')).collect();
            assert!(
                !value.contains(['"', '=']),
                "bare value {value:?} in {line}"
            );
        }
        assert!(pairs.insert(key.clone(), value).is_none(), "{key} twice");
    }
}

fn emit(event: impl FnOnce()) -> String {
    emit_with(EnvFilter::new("trace"), LogFormat::Logfmt, event)
}

/// What the subscriber `init` installs writes for `event`.
fn emit_with(filter: EnvFilter, format: LogFormat, event: impl FnOnce()) -> String {
    let buffer = Captured::default();
    let subscriber = subscriber(filter, format, buffer.clone());
    tracing::subscriber::with_default(subscriber, event);
    buffer.text()
}

/// One event of each target the HTTP stack logs with, and two of ours.
fn http_stack_and_ours() {
    tracing::debug!(target: "hyper_util::client::legacy::pool", "reuse idle connection");
    tracing::debug!(target: "reqwest::connect", "starting new connection");
    tracing::debug!(target: "rustls::client::hs", "resuming session");
    tracing::debug!(target: "h2::codec", "frame");
    tracing::info!(target: "hyper::proto", "an info line of the stack");
    tracing::debug!(target: "dms_cloud::budget", "host rate cut");
    tracing::debug!(target: "dms_exporter::collect::scheduler", "round planned");
    tracing::trace!(target: "dms_exporter::collect::scheduler", "too fine");
}

fn targets_logged(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| parse_logfmt(line).remove("target").expect("target"))
        .collect()
}

#[test]
fn debug_level_is_the_exporters_own_and_rust_log_can_ask_for_the_http_stack() {
    let debug = filter(None, LogLevel::Debug).expect("filter");
    assert_eq!(
        targets_logged(&emit_with(debug, LogFormat::Logfmt, http_stack_and_ours)),
        [
            "hyper::proto",
            "dms_cloud::budget",
            "dms_exporter::collect::scheduler"
        ]
    );
    let info = filter(None, LogLevel::Info).expect("filter");
    assert_eq!(
        targets_logged(&emit_with(info, LogFormat::Logfmt, http_stack_and_ours)),
        ["hyper::proto"]
    );
    let asked = filter(Some("debug"), LogLevel::Info).expect("filter");
    let text = emit_with(asked, LogFormat::Logfmt, http_stack_and_ours);
    assert_eq!(targets_logged(&text).len(), 7, "{text}");
}

#[test]
fn json_and_logfmt_lines_have_the_same_keys_and_values() {
    let event = || {
        let span = tracing::info_span!("cycle", collector = "kafka_groups", round = 2_u64);
        let _entered = span.enter();
        tracing::warn!(
            region = "cn-north-4",
            calls = 3,
            ratio = 0.5,
            stalled = true,
            error = %std::io::Error::other("reset by \"peer\""),
            "instances still busy"
        );
    };
    let logfmt = emit_with(EnvFilter::new("info"), LogFormat::Logfmt, event);
    let json = emit_with(EnvFilter::new("info"), LogFormat::Json, event);
    assert_eq!((logfmt.lines().count(), json.lines().count()), (1, 1));
    let mut from_logfmt = parse_logfmt(logfmt.trim_end());
    let parsed: Value = serde_json::from_str(json.trim_end()).expect("a JSON line");
    let Value::Object(object) = parsed else {
        panic!("not an object: {json}")
    };
    let mut from_json: BTreeMap<String, String> =
        object.iter().map(|(k, v)| (k.clone(), text(v))).collect();
    assert!(json.starts_with("{\"ts\":"), "{json}");
    assert_eq!(
        object.get("calls"),
        Some(&Value::from(3)),
        "numbers stay numbers"
    );
    assert_eq!(object.get("stalled"), Some(&Value::Bool(true)));
    // The two lines were written at different milliseconds, perhaps.
    let ts = (from_logfmt.remove("ts"), from_json.remove("ts"));
    assert!(ts.0.is_some() && ts.1.is_some(), "{logfmt}{json}");
    assert_eq!(from_logfmt, from_json, "{logfmt}{json}");
    assert_eq!(
        from_json.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "calls",
            "collector",
            "error",
            "level",
            "msg",
            "ratio",
            "region",
            "round",
            "stalled",
            "target"
        ]
    );
    assert_eq!(from_json.get("level").map(String::as_str), Some("warn"));
}

#[test]
fn json_span_fields_recorded_later_are_merged() {
    let json = emit_with(EnvFilter::new("info"), LogFormat::Json, || {
        let span = tracing::info_span!(
            "cycle",
            collector = "tags",
            instances = tracing::field::Empty
        );
        span.record("instances", 4_u64);
        let _entered = span.enter();
        tracing::info!("done");
    });
    let parsed: Value = serde_json::from_str(json.trim_end()).expect("a JSON line");
    assert_eq!(
        parsed.get("collector"),
        Some(&Value::from("tags")),
        "{json}"
    );
    assert_eq!(parsed.get("instances"), Some(&Value::from(4)), "{json}");
}

#[test]
fn lines_are_logfmt_with_ts_level_and_msg() {
    let error = std::io::Error::other("connection reset by \"peer\"");
    let text = emit(|| {
        let span = tracing::info_span!("cycle", collector = "kafka_groups");
        let _entered = span.enter();
        tracing::warn!(
            region = "cn-north-4",
            calls = 3,
            %error,
            path = "C:\\dir with space",
            "reload failed, keeping the running configuration"
        );
    });
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    let pairs = parse_logfmt(lines[0]);
    assert_eq!(
        pairs.get("msg").map(String::as_str),
        Some("reload failed, keeping the running configuration"),
        "{text}"
    );
    assert_eq!(pairs.get("level").map(String::as_str), Some("warn"));
    assert_eq!(pairs.get("region").map(String::as_str), Some("cn-north-4"));
    assert_eq!(pairs.get("calls").map(String::as_str), Some("3"));
    assert_eq!(
        pairs.get("error").map(String::as_str),
        Some("connection reset by \"peer\"")
    );
    assert_eq!(
        pairs.get("path").map(String::as_str),
        Some("C:\\dir with space")
    );
    assert_eq!(
        pairs.get("collector").map(String::as_str),
        Some("kafka_groups"),
        "span fields are logfmt too: {text}"
    );
    let ts = pairs.get("ts").expect("ts");
    assert!(
        time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).is_ok(),
        "ts {ts:?} is RFC 3339"
    );
    assert!(lines[0].starts_with("ts="), "{text}");
}

#[test]
fn values_are_quoted_only_when_needed() {
    let mut out = String::new();
    write_value(&mut out, "plain").expect("write");
    write_value(&mut out, "").expect("write");
    write_value(&mut out, "a=b").expect("write");
    write_value(&mut out, "two\nlines").expect("write");
    assert_eq!(out, "plain\"\"\"a=b\"\"two\\nlines\"");
}
