//! Content negotiation of `/metrics` (RFC 9110 §12.5): the exposition format from `Accept`,
//! gzip or not from `Accept-Encoding`, both by quality value, `q=0` meaning "not this".

use axum::http::{HeaderMap, HeaderName, header};

use crate::metrics::exposition::Format;

/// One element of an `Accept` or `Accept-Encoding` list: its name and quality (0 to 1000).
struct Weighted<'a> {
    name: &'a str,
    quality: u16,
}

/// Every element of every `name` header. An unparsable `q` counts as 0 (refused): a client
/// that garbles its preferences gets the safe answer, not a guess.
fn elements(headers: &HeaderMap, name: HeaderName) -> Vec<Weighted<'_>> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            let mut parts = element.split(';').map(str::trim);
            let name = parts.next().filter(|n| !n.is_empty())?;
            let quality = parts
                .filter_map(|p| p.split_once('='))
                .find(|(key, _)| key.trim().eq_ignore_ascii_case("q"))
                .map_or(1000, |(_, value)| parse_quality(value.trim()).unwrap_or(0));
            Some(Weighted { name, quality })
        })
        .collect()
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
fn parse_quality(value: &str) -> Option<u16> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// The quality the `Accept` list gives `media_type`: that of its most specific matching
/// range (`type/subtype`, then `type/*`, then `*/*`), and whether the match was explicit.
/// Version parameters are not compared: one version of each format is served.
fn media_quality(accept: &[Weighted<'_>], media_type: &str) -> Option<(u16, bool)> {
    let main = media_type.split('/').next().unwrap_or_default();
    let specificity = |range: &str| {
        if range.eq_ignore_ascii_case(media_type) {
            Some(2)
        } else if range
            .split_once('/')
            .is_some_and(|(t, s)| s == "*" && t.eq_ignore_ascii_case(main))
        {
            Some(1)
        } else if range == "*/*" {
            Some(0)
        } else {
            None
        }
    };
    accept
        .iter()
        .filter_map(|e| specificity(e.name).map(|s| (s, e.quality)))
        // Of equally specific ranges (the same type listed per version), the best quality.
        .max()
        .map(|(s, quality)| (quality, s == 2))
}

/// The exposition format: OpenMetrics when `Accept` prefers it to the text format (or
/// names it explicitly at the same quality); the text format otherwise, which is also the
/// answer to a client that accepts neither (as Prometheus's client libraries do).
pub fn format(headers: &HeaderMap) -> Format {
    let accept = elements(headers, header::ACCEPT);
    let Some((open_metrics, explicit)) = media_quality(&accept, "application/openmetrics-text")
    else {
        return Format::Text;
    };
    let text = media_quality(&accept, "text/plain").map_or(0, |(quality, _)| quality);
    if open_metrics > text || (open_metrics == text && open_metrics > 0 && explicit) {
        Format::OpenMetrics
    } else {
        Format::Text
    }
}

/// How the body is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
}

/// The client refused every coding we have (`identity;q=0` or `*;q=0` without gzip).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Accept-Encoding refuses both gzip and identity")]
pub struct NotAcceptable;

/// The content coding: gzip when its quality is positive and at least identity's. A coding
/// the list does not name takes `*`'s quality; identity, unnamed, is acceptable but the last
/// choice (RFC 9110 §12.5.3), so `deflate, gzip;q=0.8` still gets gzip.
pub fn encoding(headers: &HeaderMap) -> Result<Encoding, NotAcceptable> {
    let codings = elements(headers, header::ACCEPT_ENCODING);
    let quality_of = |names: &[&str]| {
        codings
            .iter()
            .find(|e| names.iter().any(|n| e.name.eq_ignore_ascii_case(n)))
            .map(|e| e.quality)
    };
    let any = quality_of(&["*"]);
    let gzip = quality_of(&["gzip", "x-gzip"]).or(any).unwrap_or(0);
    let identity = quality_of(&["identity"]).or(any).unwrap_or(1);
    if gzip > 0 && gzip >= identity {
        Ok(Encoding::Gzip)
    } else if identity > 0 {
        Ok(Encoding::Identity)
    } else {
        Err(NotAcceptable)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(name: HeaderName, value: Option<&'static str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = value {
            headers.insert(name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn accept_chooses_the_format_by_quality() {
        use Format::{OpenMetrics, Text};
        let cases = [
            (None, Text),
            (Some("text/plain"), Text),
            (Some("*/*"), Text),
            (Some("application/json"), Text),
            (Some("application/openmetrics-text"), OpenMetrics),
            // Prometheus's scrape header.
            (
                Some(
                    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                ),
                OpenMetrics,
            ),
            (Some("application/openmetrics-text;q=0"), Text),
            (
                Some(
                    "application/openmetrics-text;version=1.0.0;q=0.4,application/openmetrics-text;version=0.0.1;q=0.1,text/plain;q=0.3",
                ),
                OpenMetrics,
            ),
            (Some("application/openmetrics-text; q=0.0, */*"), Text),
            (
                Some("text/plain;q=0.9, application/openmetrics-text;q=0.5"),
                Text,
            ),
            (
                Some("text/plain;q=0.5, application/openmetrics-text;q=0.9"),
                OpenMetrics,
            ),
            (
                Some("text/plain, application/openmetrics-text"),
                OpenMetrics,
            ),
            (Some("text/plain;q=0, application/*"), OpenMetrics),
            (Some("application/*;q=0.2, */*;q=0.8"), Text),
            (Some("application/openmetrics-text;q=2"), Text),
            (Some("application/openmetrics-text;q=0.5000"), Text),
        ];
        for (accept, expected) in cases {
            assert_eq!(
                format(&headers(header::ACCEPT, accept)),
                expected,
                "Accept: {accept:?}"
            );
        }
    }

    #[test]
    fn accept_encoding_chooses_gzip_by_quality() {
        use Encoding::{Gzip, Identity};
        let cases = [
            (None, Ok(Identity)),
            (Some("gzip"), Ok(Gzip)),
            (Some("deflate, gzip;q=0.8"), Ok(Gzip)),
            (Some("GZIP;Q=1.0"), Ok(Gzip)),
            (Some("x-gzip"), Ok(Gzip)),
            (Some("gzip;q=0"), Ok(Identity)),
            (Some("gzip; q=0.000"), Ok(Identity)),
            (Some("gzip;q=0.5, identity"), Ok(Identity)),
            (Some("gzip;q=0.5, identity;q=0.1"), Ok(Gzip)),
            (Some("*"), Ok(Gzip)),
            (Some("*;q=0.3, identity"), Ok(Identity)),
            (Some("br"), Ok(Identity)),
            (Some("identity;q=0"), Err(NotAcceptable)),
            (Some("*;q=0"), Err(NotAcceptable)),
            (Some("gzip;q=0, identity;q=0"), Err(NotAcceptable)),
            (Some("gzip;q=0, *;q=0"), Err(NotAcceptable)),
            (Some("identity;q=0, gzip;q=0.1"), Ok(Gzip)),
            (Some("*;q=0, gzip"), Ok(Gzip)),
            (Some("gzip;q=nonsense"), Ok(Identity)),
        ];
        for (accept, expected) in cases {
            assert_eq!(
                encoding(&headers(header::ACCEPT_ENCODING, accept)),
                expected,
                "Accept-Encoding: {accept:?}"
            );
        }
    }

    #[test]
    fn repeated_headers_form_one_list() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("identity;q=0"),
        );
        headers.append(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        assert_eq!(encoding(&headers), Ok(Encoding::Gzip));
    }

    #[test]
    fn quality_values_follow_the_grammar() {
        assert_eq!(parse_quality("1"), Some(1000));
        assert_eq!(parse_quality("1.000"), Some(1000));
        assert_eq!(parse_quality("0.5"), Some(500));
        assert_eq!(parse_quality("0.05"), Some(50));
        assert_eq!(parse_quality("0"), Some(0));
        assert_eq!(parse_quality("1.5"), None);
        assert_eq!(parse_quality("0.1234"), None);
        assert_eq!(parse_quality("-0"), None);
        assert_eq!(parse_quality(""), None);
    }
}
