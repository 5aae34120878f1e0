//! The gateway's check of an `SDK-HMAC-SHA256` signature, shared by the DMS pipeline
//! (`http::auth`) and STS (`sts`).

use axum::http::HeaderMap;

use crate::Simulator;
use crate::config::AccessKey;
use crate::error::ApiError;
use crate::locks::lock;
use crate::metadata::TemporaryVerdict;

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The secret key and security token of a temporary AK the metadata service issued, or the
/// gateway's answer to an unknown or expired one.
fn temporary_key(
    sim: &Simulator,
    parsed: &dms_sign::ParsedAuthorization,
) -> Result<(String, Option<String>), ApiError> {
    let state = lock(&sim.inner.state);
    match state
        .metadata
        .verdict(&parsed.access_key, tokio::time::Instant::now())
    {
        TemporaryVerdict::Unknown => Err(ApiError::apigw_auth("ak not found")),
        TemporaryVerdict::Expired => Err(ApiError::apigw_auth("the security token has expired")),
        TemporaryVerdict::Valid {
            secret_key,
            security_token,
        } => Ok((secret_key, Some(security_token))),
    }
}

/// What a signature covers: the request as it arrived.
pub(crate) struct Signed<'a> {
    pub method: &'a str,
    /// The path as sent (percent-encoded).
    pub path: &'a str,
    pub headers: &'a HeaderMap,
    pub query: &'a [(String, String)],
    pub body: &'a [u8],
}

/// Checks an `SDK-HMAC-SHA256` signature as the gateway does: a permanent key of this
/// account or of `trusted` principals (another account's, calling STS), or unexpired
/// temporary keys with their own security token signed; the date within the allowed skew.
/// Returns the access key.
pub(crate) fn verify_signature(
    sim: &Simulator,
    request: &Signed<'_>,
    trusted: &[AccessKey],
) -> Result<String, ApiError> {
    let config = &sim.inner.config;
    let headers = request.headers;
    let Some(authorization) = header_str(headers, "authorization") else {
        return Err(ApiError::apigw_auth("no authorization header found"));
    };
    let parsed = dms_sign::parse_authorization(authorization)
        .map_err(|_| ApiError::apigw_auth("authorization header is malformed"))?;
    let permanent = config
        .credentials
        .iter()
        .chain(trusted)
        .find(|k| k.access_key == parsed.access_key)
        .map(|k| k.secret_key.clone());
    let (secret_key, security_token) = match permanent {
        Some(secret_key) => (secret_key, None),
        None => temporary_key(sim, &parsed)?,
    };
    let mut signed: Vec<(String, String)> = Vec::new();
    for name in &parsed.signed_headers {
        let Some(value) = header_str(headers, name) else {
            return Err(ApiError::apigw_auth("verify aksk signature fail"));
        };
        signed.push((name.clone(), value.to_owned()));
    }
    let date = signed
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(dms_sign::SDK_DATE_HEADER))
        .and_then(|(_, value)| dms_sign::parse_sdk_date(value.trim()).ok());
    let Some(date) = date else {
        return Err(ApiError::dms(
            401,
            "APIGW.0303",
            "Incorrect app authentication information: x-sdk-date is missing or invalid",
        ));
    };
    let skew = (time::OffsetDateTime::now_utc() - date).unsigned_abs();
    if skew > config.max_clock_skew {
        return Err(ApiError::dms(
            401,
            "APIGW.0303",
            "Incorrect app authentication information: request expired",
        ));
    }
    let path = dms_sign::decode_path(request.path);
    let query = request.query;
    let body = request.body;
    let request = dms_sign::SigningRequest {
        method: request.method,
        path: &path,
        query,
        headers: &signed,
        body,
    };
    if let Some(expected) = security_token
        && signed
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("x-security-token"))
            .is_none_or(|(_, token)| token.trim() != expected)
    {
        // Temporary keys are accepted only with their own token, signed.
        return Err(ApiError::apigw_auth("verify security token fail"));
    }
    if !dms_sign::verify(secret_key.as_bytes(), &request, &parsed.signature) {
        return Err(ApiError::apigw_auth("verify aksk signature fail"));
    }
    Ok(parsed.access_key)
}
