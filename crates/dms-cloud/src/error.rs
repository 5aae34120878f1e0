//! Typed API errors with a bounded kind for labels.

use std::fmt;

use http::HeaderMap;

/// What went wrong, as a bounded set (safe for metric labels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// HTTP 429, `APIG.0308`/`APIGW.0308`, or `DMS.10240407` (sent as HTTP 404).
    Throttled,
    Unauthorized,
    Forbidden,
    NotFound,
    ClientError,
    ServerError,
    Timeout,
    Transport,
    Decode,
    Config,
}

impl ErrorKind {
    /// Every kind, in label order.
    pub const ALL: [ErrorKind; 10] = [
        ErrorKind::Throttled,
        ErrorKind::Unauthorized,
        ErrorKind::Forbidden,
        ErrorKind::NotFound,
        ErrorKind::ClientError,
        ErrorKind::ServerError,
        ErrorKind::Timeout,
        ErrorKind::Transport,
        ErrorKind::Decode,
        ErrorKind::Config,
    ];

    /// The snake-case label value.
    pub fn as_label(&self) -> &'static str {
        match self {
            ErrorKind::Throttled => "throttled",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::ClientError => "client_error",
            ErrorKind::ServerError => "server_error",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Transport => "transport",
            ErrorKind::Decode => "decode",
            ErrorKind::Config => "config",
        }
    }

    /// Whether the client retries this kind (throttling, 5xx, timeouts, transport errors).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ErrorKind::Throttled
                | ErrorKind::ServerError
                | ErrorKind::Timeout
                | ErrorKind::Transport
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_label())
    }
}

/// Error codes that mean "throttled", whatever the HTTP status.
pub const THROTTLING_CODES: [&str; 4] = [
    "APIGW.0308",
    "APIG.0308",
    // Cloud Eye's own (with a 429).
    "ces.0429",
    INSTANCE_THROTTLING_CODE,
];

/// The gateway's answers to a bad signature or an unknown AK (`APIGW.0301`: signature or key
/// rejected; `APIGW.0303`: the request's date is out of range). Only these count towards the
/// gateway's lock of an AK after repeated failures.
pub const SIGNATURE_REJECTED_CODES: [&str; 2] = ["APIGW.0301", "APIGW.0303"];

/// DMS's and the gateway's answers that the IAM token itself is bad (invalid, expired,
/// missing, or rejected by the gateway): only these make the client drop its token. Other
/// 401s, such as `DMS.10240104` on an API the account may not call, leave a valid token alone.
pub const TOKEN_REJECTED_CODES: [&str; 6] = [
    "DMS.10240101",
    "DMS.10240102",
    "DMS.10240103",
    "111401001",
    "111401003",
    "APIGW.0301",
];

/// DMS flow control per instance and API.
pub const INSTANCE_THROTTLING_CODE: &str = "DMS.10240407";

/// One failed API call. Never contains credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ApiError {
    /// The bounded API name (`"kafka_groups"`, ...).
    pub api: &'static str,
    pub kind: ErrorKind,
    /// HTTP status when there was a response.
    pub status: Option<u16>,
    /// The DMS / APIG / IAM error code (`DMS.10240407`, `APIGW.0308`, ...).
    pub error_code: Option<String>,
    pub message: String,
    /// `X-Request-Id` (or IAM's `X-IAM-Trace-Id`) of the response.
    pub request_id: Option<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed ({})", self.api, self.kind)?;
        if let Some(status) = self.status {
            write!(f, ": HTTP {status}")?;
        }
        if let Some(code) = &self.error_code {
            write!(f, " {code}")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

const MAX_MESSAGE_CHARS: usize = 300;
const NON_JSON_PREFIX_CHARS: usize = 120;

impl ApiError {
    /// An error without an HTTP response.
    pub fn new(api: &'static str, kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            api,
            kind,
            status: None,
            error_code: None,
            message: message.into(),
            request_id: None,
        }
    }

    /// Builds the error of a non-success HTTP answer, reading the error body
    /// (`{"error_code","error_msg"}`, `{"code","message"}`, IAM's `{"error":{"code","message"}}`
    /// or Cloud Eye v1's two shapes, see [`parse_error_body`]).
    pub fn from_response(api: &'static str, status: u16, headers: &HeaderMap, body: &[u8]) -> Self {
        let (error_code, message) = parse_error_body(body);
        let message = if message.is_empty() {
            http::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("")
                .to_owned()
        } else {
            message
        };
        ApiError {
            api,
            kind: classify(status, error_code.as_deref()),
            status: Some(status),
            error_code,
            message,
            request_id: request_id(headers),
        }
    }

    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }

    pub fn is_throttled(&self) -> bool {
        self.kind == ErrorKind::Throttled
    }

    /// The gateway rejected the request's signature or key ([`SIGNATURE_REJECTED_CODES`]), as
    /// opposed to an API the account may not call.
    pub fn is_signature_rejected(&self) -> bool {
        self.kind == ErrorKind::Unauthorized
            && self.code_in(&SIGNATURE_REJECTED_CODES) == Some(true)
    }

    /// Whether the error code is one of `codes` (`None` without a code).
    fn code_in(&self, codes: &[&str]) -> Option<bool> {
        let code = self.error_code.as_deref()?;
        Some(codes.iter().any(|c| code.eq_ignore_ascii_case(c)))
    }

    /// A 401 saying the IAM token is bad ([`TOKEN_REJECTED_CODES`], or no code at all), as
    /// opposed to a 401 about one API.
    pub fn is_token_rejected(&self) -> bool {
        // A call that was not sent (held) has no status and says nothing of the token.
        self.kind == ErrorKind::Unauthorized
            && self.status.is_some()
            && self.code_in(&TOKEN_REJECTED_CODES) != Some(false)
    }

    /// DMS's own flow control (`DMS.10240407`, a 404), which limits one API on one instance,
    /// unlike the gateway's 429 that limits the whole AK.
    pub fn is_instance_throttled(&self) -> bool {
        self.is_throttled()
            && self
                .error_code
                .as_deref()
                .is_some_and(|code| code.eq_ignore_ascii_case(INSTANCE_THROTTLING_CODE))
    }
}

/// The kind of an HTTP answer with an optional error code.
pub fn classify(status: u16, error_code: Option<&str>) -> ErrorKind {
    if status == 429
        || error_code.is_some_and(|code| {
            THROTTLING_CODES
                .iter()
                .any(|t| code.eq_ignore_ascii_case(t))
        })
    {
        return ErrorKind::Throttled;
    }
    match status {
        401 => ErrorKind::Unauthorized,
        403 => ErrorKind::Forbidden,
        404 => ErrorKind::NotFound,
        408 => ErrorKind::Timeout,
        500..=599 => ErrorKind::ServerError,
        _ => ErrorKind::ClientError,
    }
}

fn request_id(headers: &HeaderMap) -> Option<String> {
    ["x-request-id", "x-iam-trace-id", "x-openstack-request-id"]
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|value| value.to_str().ok())
        .map(|value| sanitize(value, 128))
        .filter(|value| !value.is_empty())
}

/// Keeps at most `max_chars` characters, replacing control characters with spaces.
pub(crate) fn sanitize(text: &str, max_chars: usize) -> String {
    let mut out: String = text
        .trim()
        .chars()
        .take(max_chars)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.trim().chars().count() > max_chars {
        out.push('…');
    }
    out
}

fn string_field(value: &serde_json::Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|key| match value.get(*key) {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// Extracts `(error_code, message)` from an error body; a body that is not JSON gives a short
/// prefix of its text as the message. Cloud Eye v1 has two shapes of its own, neither with an
/// `error_code`: `{"http_code","message":{"details","code"}}` and
/// `{"code":400,"element","message","details":{"details","code":"ces.0014"}}`, whose inner
/// code is the one that means something.
pub(crate) fn parse_error_body(body: &[u8]) -> (Option<String>, String) {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) => {
            for (outer, text) in [("message", "details"), ("details", "details")] {
                if let Some(inner @ serde_json::Value::Object(_)) = value.get(outer) {
                    let code = string_field(inner, &["code"]).map(|code| sanitize(&code, 64));
                    let details = string_field(inner, &[text]).unwrap_or_default();
                    let message = match string_field(&value, &["message"]) {
                        Some(head) if !details.is_empty() => format!("{head}: {details}"),
                        Some(head) => head,
                        None => details,
                    };
                    return (code, sanitize(&message, MAX_MESSAGE_CHARS));
                }
            }
            let inner = match value.get("error") {
                Some(inner @ serde_json::Value::Object(_)) => inner,
                _ => &value,
            };
            let code = string_field(inner, &["error_code", "code", "errorCode"])
                .map(|code| sanitize(&code, 64));
            let message = string_field(
                inner,
                &["error_msg", "message", "error_message", "errorMsg"],
            )
            .map(|m| sanitize(&m, MAX_MESSAGE_CHARS))
            .unwrap_or_default();
            (code, message)
        }
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            (None, sanitize(&text, NON_JSON_PREFIX_CHARS))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_error_shapes() {
        let (code, msg) = parse_error_body(br#"{"error_msg":"bad","error_code":"AS.0001"}"#);
        assert_eq!((code.as_deref(), msg.as_str()), (Some("AS.0001"), "bad"));
        let (code, msg) = parse_error_body(br#"{"code":"APIGW.0308","message":"slow down"}"#);
        assert_eq!(
            (code.as_deref(), msg.as_str()),
            (Some("APIGW.0308"), "slow down")
        );
        let (code, msg) = parse_error_body(
            br#"{"error":{"code":401,"message":"The password is wrong","title":"Unauthorized"}}"#,
        );
        assert_eq!(
            (code.as_deref(), msg.as_str()),
            (Some("401"), "The password is wrong")
        );
        // Cloud Eye v1: the code inside, never the HTTP status beside it.
        let (code, msg) = parse_error_body(
            br#"{"http_code":"403","message":{"details":"Policy doesn't allow [ces:metricData:list] to be performed","code":"ces.0017"}}"#,
        );
        assert_eq!(code.as_deref(), Some("ces.0017"));
        assert_eq!(
            msg,
            "Policy doesn't allow [ces:metricData:list] to be performed"
        );
        let (code, msg) = parse_error_body(
            br#"{"code":400,"element":"Bad Request","message":"The request body is invalid","details":{"details":"from must be less than to","code":"ces.0014"}}"#,
        );
        assert_eq!(code.as_deref(), Some("ces.0014"));
        assert_eq!(
            msg,
            "The request body is invalid: from must be less than to"
        );
        assert_eq!(classify(429, Some("ces.0429")), ErrorKind::Throttled);
        let long = "x".repeat(1000);
        let (code, msg) = parse_error_body(format!("<html>\n{long}").as_bytes());
        assert_eq!(code, None);
        assert!(msg.starts_with("<html> xxx"));
        assert!(msg.chars().count() <= NON_JSON_PREFIX_CHARS + 1);
    }

    #[test]
    fn classifies_throttling_and_statuses() {
        assert_eq!(classify(429, None), ErrorKind::Throttled);
        assert_eq!(classify(404, Some("DMS.10240407")), ErrorKind::Throttled);
        assert_eq!(classify(403, Some("APIG.0308")), ErrorKind::Throttled);
        assert_eq!(classify(404, Some("DMS.00404001")), ErrorKind::NotFound);
        assert_eq!(classify(401, Some("APIGW.0301")), ErrorKind::Unauthorized);
        assert_eq!(classify(403, None), ErrorKind::Forbidden);
        assert_eq!(classify(400, None), ErrorKind::ClientError);
        assert_eq!(classify(503, None), ErrorKind::ServerError);
        assert!(ErrorKind::ALL.iter().all(|k| !k.as_label().is_empty()));
    }

    #[test]
    fn display_names_api_status_code_message_and_request_id() {
        let mut headers = HeaderMap::new();
        headers.insert("x-request-id", http::HeaderValue::from_static("req-123"));
        let err = ApiError::from_response(
            "kafka_groups",
            404,
            &headers,
            br#"{"error_code":"DMS.10240407","error_msg":"The request is too frequent"}"#,
        );
        assert_eq!(err.kind, ErrorKind::Throttled);
        let text = err.to_string();
        for part in [
            "kafka_groups",
            "404",
            "DMS.10240407",
            "too frequent",
            "req-123",
        ] {
            assert!(text.contains(part), "{text} lacks {part}");
        }
    }
}
