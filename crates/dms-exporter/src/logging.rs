//! Logs through `tracing`, one line per event on standard error: logfmt
//! (`ts=… level=info target=… msg="…" key=value`, what Loki's `| logfmt` and the Prometheus
//! programs speak) or JSON.
//!
//! The logfmt formatter is ours (about a hundred lines): tracing's own text format is not
//! logfmt (no `level=`/`msg=` keys, Debug-quoted values), and `tracing-logfmt` (maintained,
//! 0.3.7) writes the message as `message=` with no way to name it `msg=` as the Prometheus
//! programs, their dashboards and log queries expect.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use crate::cli::{LogFormat, LogLevel};

/// Installs the global subscriber. `RUST_LOG` wins over `--log.level` when set.
pub fn init(level: LogLevel, format: LogFormat) -> anyhow::Result<()> {
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref(), level)?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Logfmt => builder
            .with_ansi(false)
            .fmt_fields(LogfmtFields)
            .event_format(Logfmt)
            .try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))
}

/// The filter: `RUST_LOG` when set and not empty, else `--log.level`. A `RUST_LOG` that does
/// not parse is an error, not silently replaced by the level.
fn filter(rust_log: Option<&str>, level: LogLevel) -> anyhow::Result<EnvFilter> {
    match rust_log.filter(|v| !v.trim().is_empty()) {
        Some(directives) => EnvFilter::try_new(directives).map_err(|e| {
            anyhow::anyhow!(
                "RUST_LOG={directives:?} is not a tracing filter ({e}); e.g. info,dms_cloud=debug"
            )
        }),
        None => Ok(EnvFilter::try_new(level.directive())?),
    }
}

/// Formats events as logfmt lines.
#[derive(Debug, Clone, Copy, Default)]
pub struct Logfmt;

/// Formats span fields as logfmt pairs (each preceded by a space).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogfmtFields;

impl<'writer> FormatFields<'writer> for LogfmtFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut pairs = Pairs::default();
        fields.record(&mut pairs);
        for (key, value) in &pairs.fields {
            write_pair(&mut writer, key, value)?;
        }
        Ok(())
    }
}

impl<S, N> FormatEvent<S, N> for Logfmt
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
        write!(writer, "ts={}", timestamp())?;
        write!(writer, " level={}", level_name(*metadata.level()))?;
        write_pair(&mut writer, "target", metadata.target())?;
        let mut pairs = Pairs::default();
        event.record(&mut pairs);
        write_pair(&mut writer, "msg", pairs.message.as_deref().unwrap_or(""))?;
        for (key, value) in &pairs.fields {
            write_pair(&mut writer, key, value)?;
        }
        // Span fields were formatted by `LogfmtFields` when the span was created.
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<FormattedFields<N>>() {
                    writer.write_str(fields)?;
                }
            }
        }
        writeln!(writer)
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

/// An event's message and other fields, values as their text (not Debug-quoted).
#[derive(Default)]
struct Pairs {
    message: Option<String>,
    fields: Vec<(&'static str, String)>,
}

impl Visit for Pairs {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, format!("{value:?}"));
    }
}

impl Pairs {
    fn push(&mut self, field: &Field, value: String) {
        match field.name() {
            "message" => self.message = Some(value),
            // `log` records bridged into tracing carry these; the line has its own target.
            name if name.starts_with("log.") => {}
            name => self.fields.push((name, value)),
        }
    }
}

/// Writes ` key=value`, quoting the value when logfmt needs it.
fn write_pair(writer: &mut impl fmt::Write, key: &str, value: &str) -> fmt::Result {
    writer.write_char(' ')?;
    for c in key.chars() {
        // Keys are Rust identifiers (`r#type` included); anything else becomes `_`.
        let c = if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
            c
        } else {
            '_'
        };
        writer.write_char(c)?;
    }
    writer.write_char('=')?;
    write_value(writer, value)
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
    use std::sync::{Arc, Mutex};

    use crate::locks::lock;

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

    /// Collects what the subscriber writes.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            lock(&self.0).extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
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
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .fmt_fields(LogfmtFields)
            .event_format(Logfmt)
            .finish();
        tracing::subscriber::with_default(subscriber, event);
        let bytes = lock(&buffer.0).clone();
        String::from_utf8(bytes).expect("UTF-8 logs")
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
