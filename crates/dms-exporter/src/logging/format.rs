//! The formatters are ours (a couple of hundred lines): tracing's own text format is not
//! logfmt (no `level=`/`msg=` keys, Debug-quoted values), its JSON names the keys
//! `timestamp`/`message` and upper-cases levels, and `tracing-logfmt` (maintained, 0.3.7)
//! writes the message as `message=` with no way to name it `msg=` as the Prometheus programs,
//! their dashboards and log queries expect.

use std::collections::HashSet;
use std::fmt;

use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use crate::cli::LogFormat;

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
pub(super) fn text(value: &Value) -> String {
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
pub(super) fn write_value(writer: &mut impl fmt::Write, value: &str) -> fmt::Result {
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
