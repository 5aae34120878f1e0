//! Huawei Cloud API Gateway request signing, `SDK-HMAC-SHA256`.
//!
//! Pure functions: no clock, no I/O. The caller supplies the `X-Sdk-Date` value (see
//! [`sdk_date`]) among the headers to sign, so the same code signs requests in the exporter and
//! verifies them in the simulator. The algorithm is that of Huawei Cloud's SDK signers; their
//! own test vectors (Go and Python SDKs) are in `tests/vectors/`.

use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::percent_decode_str;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

/// The algorithm name that starts the `Authorization` header and the string to sign.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
/// Header that carries the request time; it must be signed.
pub const SDK_DATE_HEADER: &str = "X-Sdk-Date";
/// Header that replaces the payload hash with [`UNSIGNED_PAYLOAD`] when present.
pub const CONTENT_SHA256_HEADER: &str = "X-Sdk-Content-Sha256";
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

const SDK_DATE_FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");

/// Errors of parsing what a client sent (only the verifying side meets them).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignError {
    #[error("Authorization header does not start with {ALGORITHM}")]
    WrongAlgorithm,
    #[error("Authorization header lacks the {0} field")]
    MissingField(&'static str),
    #[error("X-Sdk-Date {0:?} is not in the form YYYYMMDDTHHMMSSZ")]
    BadDate(String),
}

/// A request as the signer sees it. `path` is the decoded path (`/v2/p/instances`), `query` the
/// raw (unescaped) parameters, `headers` the headers to sign (any case; names containing `_`
/// are never signed, as in both official SDKs).
#[derive(Debug, Clone, Copy)]
pub struct SigningRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a [(String, String)],
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// The parts of an `Authorization: SDK-HMAC-SHA256 …` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAuthorization {
    pub access_key: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// RFC 3986 escaping of everything but the unreserved set, upper-case hex over UTF-8 bytes.
pub fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The path as it goes on the wire: every segment strictly escaped, no trailing slash added.
pub fn encode_path(decoded_path: &str) -> String {
    decoded_path
        .split('/')
        .map(escape)
        .collect::<Vec<_>>()
        .join("/")
}

/// Decodes a wire path (the verifying side canonicalises from decoded segments, as the Python
/// SDK does).
pub fn decode_path(wire_path: &str) -> String {
    percent_decode_str(wire_path)
        .decode_utf8_lossy()
        .into_owned()
}

/// The canonical URI: the encoded path with a mandatory trailing slash.
pub fn canonical_uri(decoded_path: &str) -> String {
    let mut uri = encode_path(decoded_path);
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// The canonical query string, which is also the query to send: sorted by raw key then raw
/// value, each side escaped, joined with `&`.
pub fn canonical_query(params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    sorted
        .iter()
        .map(|(key, value)| format!("{}={}", escape(key), escape(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Headers that take part in the signature, lower-cased, trimmed and sorted.
fn signable_headers(headers: &[(String, String)]) -> Vec<(String, &str)> {
    let mut signable: Vec<(String, &str)> = headers
        .iter()
        .filter(|(name, _)| !name.contains('_'))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim()))
        .collect();
    signable.sort();
    signable
}

fn hex_sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The canonical request of Part B.1, `\n`-separated.
pub fn canonical_request(request: &SigningRequest<'_>) -> String {
    let headers = signable_headers(request.headers);
    let canonical_headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}:{value}\n"))
        .collect();
    let signed_headers = headers
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let unsigned = headers.iter().any(|(name, value)| {
        name.eq_ignore_ascii_case(CONTENT_SHA256_HEADER) && *value == UNSIGNED_PAYLOAD
    });
    let payload_hash = if unsigned && !request.body.is_empty() {
        UNSIGNED_PAYLOAD.to_owned()
    } else {
        hex_sha256(request.body)
    };
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        request.method.to_ascii_uppercase(),
        canonical_uri(request.path),
        canonical_query(request.query),
        canonical_headers,
        signed_headers,
        payload_hash
    )
}

/// `SDK-HMAC-SHA256\n<date>\n<hex sha256 of the canonical request>`.
pub fn string_to_sign(sdk_date: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{sdk_date}\n{}",
        hex_sha256(canonical_request.as_bytes())
    )
}

fn hmac_sha256(secret_key: &[u8], message: &str) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret_key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(message.as_bytes());
    mac
}

fn sdk_date_of<'a>(request: &SigningRequest<'a>) -> &'a str {
    request
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(SDK_DATE_HEADER))
        .map(|(_, value)| value.trim())
        .unwrap_or_default()
}

/// The lower-case hex signature of a request.
pub fn signature(secret_key: &[u8], request: &SigningRequest<'_>) -> String {
    let to_sign = string_to_sign(sdk_date_of(request), &canonical_request(request));
    hex::encode(hmac_sha256(secret_key, &to_sign).finalize().into_bytes())
}

/// The value of the `Authorization` header for a request.
pub fn authorization(access_key: &str, secret_key: &[u8], request: &SigningRequest<'_>) -> String {
    let signed_headers = signable_headers(request.headers)
        .into_iter()
        .map(|(name, _)| name)
        .collect::<Vec<_>>()
        .join(";");
    format!(
        "{ALGORITHM} Access={access_key}, SignedHeaders={signed_headers}, Signature={}",
        signature(secret_key, request)
    )
}

/// Checks a received signature in constant time. `request.headers` must hold exactly the
/// headers named by the `SignedHeaders` field.
pub fn verify(secret_key: &[u8], request: &SigningRequest<'_>, claimed_signature: &str) -> bool {
    let Ok(claimed) = hex::decode(claimed_signature) else {
        return false;
    };
    let to_sign = string_to_sign(sdk_date_of(request), &canonical_request(request));
    hmac_sha256(secret_key, &to_sign)
        .verify_slice(&claimed)
        .is_ok()
}

/// Splits an `Authorization` header into its fields.
pub fn parse_authorization(header: &str) -> Result<ParsedAuthorization, SignError> {
    let rest = header
        .trim()
        .strip_prefix(ALGORITHM)
        .ok_or(SignError::WrongAlgorithm)?;
    let mut access_key = None;
    let mut signed_headers = None;
    let mut signature = None;
    for field in rest.split(',') {
        match field.trim().split_once('=') {
            Some(("Access", value)) => access_key = Some(value.to_owned()),
            Some(("SignedHeaders", value)) => {
                signed_headers = Some(value.split(';').map(str::to_owned).collect())
            }
            Some(("Signature", value)) => signature = Some(value.to_owned()),
            _ => {}
        }
    }
    Ok(ParsedAuthorization {
        access_key: access_key.ok_or(SignError::MissingField("Access"))?,
        signed_headers: signed_headers.ok_or(SignError::MissingField("SignedHeaders"))?,
        signature: signature.ok_or(SignError::MissingField("Signature"))?,
    })
}

/// Formats a time as an `X-Sdk-Date` value, `YYYYMMDDTHHMMSSZ` in UTC.
pub fn sdk_date(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(SDK_DATE_FORMAT)
        .unwrap_or_else(|_| unreachable!("every UTC date formats"))
}

/// Parses an `X-Sdk-Date` value.
pub fn parse_sdk_date(value: &str) -> Result<OffsetDateTime, SignError> {
    time::PrimitiveDateTime::parse(value, SDK_DATE_FORMAT)
        .map(|at| at.assume_utc())
        .map_err(|_| SignError::BadDate(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_vector_from_both_sdks() {
        let params: Vec<(String, String)> = [
            ("limit", "1"),
            ("enable", "true"),
            ("test", "一 (&=?!#%.*)"),
            ("path", "/tmp/123"),
            ("multi", "3"),
            ("multi", "1"),
            ("multi", "2"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            canonical_query(&params),
            "enable=true&limit=1&multi=1&multi=2&multi=3&path=%2Ftmp%2F123&test=%E4%B8%80%20%28%26%3D%3F%21%23%25.%2A%29"
        );
    }

    #[test]
    fn canonical_uri_appends_slash_and_escapes_segments() {
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/v2/p/instances"), "/v2/p/instances/");
        assert_eq!(canonical_uri("/groups/a b:c"), "/groups/a%20b%3Ac/");
        assert_eq!(encode_path("/groups/a b:c"), "/groups/a%20b%3Ac");
        assert_eq!(decode_path("/groups/a%20b%3Ac"), "/groups/a b:c");
    }

    #[test]
    fn authorization_round_trips_and_detects_tampering() {
        let headers = vec![
            ("X-Sdk-Date".to_owned(), "20240102T030405Z".to_owned()),
            ("Host".to_owned(), "dms.example".to_owned()),
        ];
        let request = SigningRequest {
            method: "GET",
            path: "/v2/p/instances",
            query: &[],
            headers: &headers,
            body: b"",
        };
        let header = authorization("AK", b"SK", &request);
        let parsed = parse_authorization(&header).expect("own header parses");
        assert_eq!(parsed.access_key, "AK");
        assert_eq!(parsed.signed_headers, ["host", "x-sdk-date"]);
        assert!(verify(b"SK", &request, &parsed.signature));
        assert!(!verify(b"other", &request, &parsed.signature));
        let tampered = SigningRequest {
            path: "/v2/q/instances",
            ..request
        };
        assert!(!verify(b"SK", &tampered, &parsed.signature));
    }

    #[test]
    fn sdk_date_round_trips() {
        let at = parse_sdk_date("20191115T033655Z").expect("valid date");
        assert_eq!(sdk_date(at), "20191115T033655Z");
        assert!(matches!(
            parse_sdk_date("2019-11-15"),
            Err(SignError::BadDate(_))
        ));
    }

    #[test]
    fn parse_authorization_names_the_missing_field() {
        assert_eq!(
            parse_authorization("SDK-HMAC-SHA256 Access=a, Signature=b"),
            Err(SignError::MissingField("SignedHeaders"))
        );
        assert_eq!(
            parse_authorization("Bearer x"),
            Err(SignError::WrongAlgorithm)
        );
    }
}
