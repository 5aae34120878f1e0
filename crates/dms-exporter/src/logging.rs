//! Logs through `tracing`, one line per event on standard error: logfmt
//! (`ts=… level=info target=… msg="…" key=value`, what Loki's `| logfmt` and the Prometheus
//! programs speak) or JSON with the same keys (`{"ts":…,"level":"info","target":…,"msg":…}`),
//! so a log query or alert works whichever format a deployment picked.
//!
//! The formatters are ours (a couple of hundred lines): tracing's own text format is not
//! logfmt (no `level=`/`msg=` keys, Debug-quoted values), its JSON names the keys
//! `timestamp`/`message` and upper-cases levels, and `tracing-logfmt` (maintained, 0.3.7)
//! writes the message as `message=` with no way to name it `msg=` as the Prometheus programs,
//! their dashboards and log queries expect.
//!
//! `--log.level=debug` turns on the exporter's own crates only: the HTTP stack (hyper,
//! reqwest, rustls, h2) stays at info, since its connection-pool chatter drowned the
//! collectors' decisions (673 of 705 debug lines). `RUST_LOG` asks for it explicitly.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::cli::{LogFormat, LogLevel};
use crate::locks::lock;

/// The workspace's crates: `--log.level=debug` is about their decisions. (The binary's
/// events carry the `dms_exporter` target too.)
const OWN_CRATES: [&str; 4] = ["dms_exporter", "dms_cloud", "dms_sign", "dms_sim"];

/// Installs the global subscriber. `RUST_LOG` wins over `--log.level` when set.
pub fn init(level: LogLevel, format: LogFormat) -> anyhow::Result<()> {
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref(), level)?;
    subscriber(filter, format, std::io::stderr)
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))
}

/// The subscriber `init` installs, writing to `writer` (tests capture the lines with it).
pub fn subscriber<W>(
    filter: EnvFilter,
    format: LogFormat,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    Box::new(
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(writer)
            .with_ansi(false)
            .fmt_fields(SpanFields)
            .event_format(Lines(format))
            .finish(),
    )
}

/// Lines kept in memory, for tests that read what the exporter logs.
#[derive(Debug, Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&lock(&self.0)).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        lock(&self.0).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The filter: `RUST_LOG` when set and not empty, else `--log.level`. A `RUST_LOG` that does
/// not parse is an error, not silently replaced by the level.
pub fn filter(rust_log: Option<&str>, level: LogLevel) -> anyhow::Result<EnvFilter> {
    match rust_log.filter(|v| !v.trim().is_empty()) {
        Some(directives) => EnvFilter::try_new(directives).map_err(|e| {
            anyhow::anyhow!(
                "RUST_LOG={directives:?} is not a tracing filter ({e}); e.g. info,dms_cloud=debug"
            )
        }),
        None => Ok(EnvFilter::try_new(level_directives(level))?),
    }
}

/// `--log.level` as filter directives: debug only for the workspace's crates, info for the
/// rest (the HTTP stack's debug lines are about connections, not about the exporter).
fn level_directives(level: LogLevel) -> String {
    match level {
        LogLevel::Debug => std::iter::once("info".to_owned())
            .chain(OWN_CRATES.iter().map(|c| format!("{c}=debug")))
            .collect::<Vec<_>>()
            .join(","),
        other => other.directive().to_owned(),
    }
}

/// Formats events as logfmt or JSON lines: the same keys in the same order, `ts`, `level`,
/// `target`, `msg`, the event's fields, then its spans' fields (each key once, the first value
/// winning), so the two formats differ only in how they write them.
#[derive(Debug, Clone, Copy)]
pub struct Lines(pub LogFormat);

/// Keeps span fields as one JSON object (typed), for [`Lines`] to merge into its lines.
#[derive(Debug, Clone, Copy, Default)]
pub struct SpanFields;

impl<'writer> FormatFields<'writer> for SpanFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut pairs = Pairs::default();
        fields.record(&mut pairs);
        let object: serde_json::Map<String, Value> = pairs
            .fields
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect();
        write!(writer, "{}", Value::Object(object))
    }

    /// `Span::record` adds fields: merged into the object, not appended after it.
    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        let mut object = span_object(current);
        let mut pairs = Pairs::default();
        fields.record(&mut pairs);
        for (key, value) in pairs.fields {
            object.insert(key.to_owned(), value);
        }
        current.fields = Value::Object(object).to_string();
        Ok(())
    }
}

/// A span's fields as `SpanFields` stored them.
fn span_object(fields: &str) -> serde_json::Map<String, Value> {
    match serde_json::from_str(fields) {
        Ok(Value::Object(object)) => object,
        _ => serde_json::Map::new(),
    }
}

impl<S, N> FormatEvent<S, N> for Lines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let metadata = event.metadata();
        let mut pairs = Pairs::default();
        event.record(&mut pairs);
        let mut entries: Vec<(String, Value)> = vec![
            ("ts".to_owned(), Value::String(timestamp())),
            (
                "level".to_owned(),
                Value::String(level_name(*metadata.level()).to_owned()),
            ),
            (
                "target".to_owned(),
                Value::String(metadata.target().to_owned()),
            ),
            (
                "msg".to_owned(),
                Value::String(pairs.message.take().unwrap_or_default()),
            ),
        ];
        entries.extend(pairs.fields.into_iter().map(|(k, v)| (k.to_owned(), v)));
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<FormattedFields<N>>() {
                    entries.extend(span_object(fields));
                }
            }
        }
        let mut seen = HashSet::new();
        for (name, _) in &mut entries {
            *name = key(name);
        }
        entries.retain(|(name, _)| seen.insert(name.clone()));
        match self.0 {
            LogFormat::Logfmt => {
                for (index, (key, value)) in entries.iter().enumerate() {
                    if index > 0 {
                        writer.write_char(' ')?;
                    }
                    write_pair(&mut writer, key, &text(value))?;
                }
                writeln!(writer)
            }
            LogFormat::Json => {
                writer.write_char('{')?;
                for (index, (key, value)) in entries.into_iter().enumerate() {
                    if index > 0 {
                        writer.write_char(',')?;
                    }
                    write!(writer, "{}:{value}", Value::String(key))?;
                }
                writer.write_str("}\n")
            }
        }
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// The wall clock in UTC, RFC 3339 with milliseconds, as the Prometheus programs write it.
fn timestamp() -> String {
    // A log line's time is the wall clock's by definition.
    let now = time::OffsetDateTime::now_utc();
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    now.format(&format).unwrap_or_default()
}

/// An event's message and other fields: numbers and booleans typed (JSON keeps them so),
/// everything else as its text (not Debug-quoted).
#[derive(Default)]
struct Pairs {
    message: Option<String>,
    fields: Vec<(&'static str, Value)>,
}

impl Visit for Pairs {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, Value::String(value.to_owned()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinity: those stay text.
        let value = serde_json::Number::from_f64(value)
            .map_or_else(|| Value::String(value.to_string()), Value::Number);
        self.push(field, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Value::Bool(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, Value::String(format!("{value:?}")));
    }
}

impl Pairs {
    fn push(&mut self, field: &Field, value: Value) {
        match field.name() {
            "message" => self.message = Some(text(&value)),
            // `log` records bridged into tracing carry these; the line has its own target.
            name if name.starts_with("log.") => {}
            name => self.fields.push((name, value)),
        }
    }
}

/// A field's value as logfmt text.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Writes `key=value`, quoting the value when logfmt needs it (keys went through [`key`]).
fn write_pair(writer: &mut impl fmt::Write, key: &str, value: &str) -> fmt::Result {
    writer.write_str(key)?;
    writer.write_char('=')?;
    write_value(writer, value)
}

/// A key both formats can write bare: field names are Rust identifiers (`r#type` included);
/// anything else becomes `_`.
fn key(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A logfmt value: bare when it has no space, `=`, quote or control character; otherwise
/// double-quoted with `\\`, `\"`, `\n`, `\r`, `\t` escaped.
fn write_value(writer: &mut impl fmt::Write, value: &str) -> fmt::Result {
    let needs_quotes = value.is_empty()
        || value
            .chars()
            .any(|c| c == ' ' || c == '=' || c == '"' || c == '\\' || c.is_control());
    if !needs_quotes {
        return writer.write_str(value);
    }
    writer.write_char('"')?;
    for c in value.chars() {
        match c {
            '"' => writer.write_str("\\\"")?,
            '\\' => writer.write_str("\\\\")?,
            '\n' => writer.write_str("\\n")?,
            '\r' => writer.write_str("\\r")?,
            '\t' => writer.write_str("\\t")?,
            c if c.is_control() => write!(writer, "\\u{:04x}", u32::from(c))?,
            c => writer.write_char(c)?,
        }
    }
    writer.write_char('"')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

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
}
