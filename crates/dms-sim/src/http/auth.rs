//! Authentication of DMS requests: IAM tokens and `SDK-HMAC-SHA256` AK/SK signatures.

use axum::http::HeaderMap;

use super::Incoming;
use crate::error::ApiError;
use crate::locks::lock;
use crate::signature::{Signed, verify_signature};
use crate::{Simulator, Token};

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Checks the token or the signature; returns who is calling (the AK, or the token), the
/// key of the gateway's per-caller limit.
pub(super) fn authenticate(sim: &Simulator, request: &Incoming<'_>) -> Result<String, ApiError> {
    let Incoming {
        route,
        method,
        uri,
        headers,
        query,
        body,
    } = *request;
    if let Some(token) = header_str(headers, "x-auth-token") {
        let state = lock(&sim.inner.state);
        let Some(Token {
            project_id,
            expires,
        }) = state.tokens.get(token)
        else {
            return Err(ApiError::dms(401, "DMS.10240101", "Invalid token."));
        };
        if tokio::time::Instant::now() >= *expires {
            return Err(ApiError::dms(401, "DMS.10240102", "Expired token."));
        }
        if let Some(path_project) = &route.project_id
            && path_project != project_id
        {
            return Err(ApiError::dms(
                401,
                "DMS.10240104",
                "The project ID and token do not match.",
            ));
        }
        return Ok(token.to_owned());
    }
    let access_key = verify_signature(
        sim,
        &Signed {
            method: method.as_str(),
            path: uri.path(),
            headers,
            query,
            body,
        },
        &[],
    )?;
    if let Some(path_project) = &route.project_id {
        if !sim.projects().iter().any(|p| &p.project_id == path_project) {
            return Err(ApiError::dms(
                403,
                "DMS.10240309",
                "Access denied. You cannot perform operations on DMS.",
            ));
        }
        if let Some(header_project) = header_str(headers, "x-project-id")
            && header_project != path_project
        {
            return Err(ApiError::dms(
                401,
                "DMS.10240104",
                "The project ID and token do not match.",
            ));
        }
    }
    Ok(access_key)
}
