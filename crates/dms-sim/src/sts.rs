//! STS v5: `POST /v5/agencies/assume` lends temporary keys of this account to a principal of
//! another account through one of its agencies ([`SimConfig::agencies`](crate::SimConfig)),
//! and `GET /v5/caller-identity` says whose keys sign a call. `POST
//! /v5/agencies/assume-with-oidc` lends the keys of the agency that trusts the account's OIDC
//! identity provider ([`SimConfig::oidc_agency`](crate::SimConfig)) for an id token,
//! unsigned (no JWKS here: any JWT-shaped token of that provider is taken).
//!
//! The call is signed with the caller's keys (a permanent key the agency trusts, or
//! temporary keys with their security token). The agency is named by its URN
//! `iam::{domain_id}:agency:{name}`; an agency whose trust policy sets an external id
//! grants only to a call that brings the same one. `duration_seconds` is 900 to the
//! agency's longest session (default 3600), at most 3600 when the caller itself signs with
//! temporary keys (agency chaining). The keys it issues are checked by the gateway like the
//! metadata service's. Answers `{"credentials":{"access_key_id","secret_access_key",
//! "security_token","expiration"},"assumed_agency":{"urn","id"}}`; errors in the gateway's
//! `{"error_code","error_msg","request_id"}` shape (the codes are the simulator's, as the
//! documentation lists none). Faults: STS down (503), every assume refused (403).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::Simulator;
use crate::error::ApiError;
use crate::locks::lock;
use crate::query::query_pairs;
use crate::signature::{Signed, verify_signature};

/// What STS does instead of answering.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AgencyFault {
    #[default]
    None,
    /// STS answers 503.
    Unavailable,
    /// Every assume is refused (403), as when the agency was deleted or no longer trusts
    /// the caller.
    NotAuthorized,
}

#[derive(Default)]
pub(crate) struct StsState {
    pub fault: AgencyFault,
    /// Assume calls received, granted or not.
    pub assumes: u64,
    /// Caller-identity calls received, answered or not.
    pub identity_calls: u64,
}

pub(crate) fn routes() -> Router<Simulator> {
    Router::new()
        .route("/v5/agencies/assume", post(assume))
        .route("/v5/caller-identity", get(caller_identity))
        .route("/v5/agencies/assume-with-oidc", post(assume_with_oidc))
}

fn sts_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "error_code": code, "error_msg": message, "request_id": "" });
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn refused(error: ApiError) -> Response {
    (
        error.status,
        [("content-type", "application/json")],
        error.body.to_string(),
    )
        .into_response()
}

fn signed<'a>(
    uri: &'a Uri,
    headers: &'a HeaderMap,
    query: &'a [(String, String)],
    body: &'a [u8],
    method: &'a str,
) -> Signed<'a> {
    Signed {
        method,
        path: uri.path(),
        headers,
        query,
        body,
    }
}

async fn assume(
    State(sim): State<Simulator>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let config = &sim.inner.config;
    lock(&sim.inner.state).sts.assumes += 1;
    if let Some(answer) = fault(&sim) {
        return answer;
    }
    let query = query_pairs(&uri);
    let trusted: Vec<_> = config.agencies.iter().map(|a| a.trusted.clone()).collect();
    let caller = match verify_signature(
        &sim,
        &signed(&uri, &headers, &query, &body, "POST"),
        &trusted,
    ) {
        Ok(caller) => caller,
        Err(error) => return refused(error),
    };
    let temporary_caller = headers.contains_key("x-security-token");
    let request: Value = serde_json::from_slice(&body).unwrap_or_default();
    let (Some(urn), Some(session)) = (
        request["agency_urn"].as_str(),
        request["agency_session_name"].as_str(),
    ) else {
        return sts_error(
            StatusCode::BAD_REQUEST,
            "STS.0400",
            "agency_urn and agency_session_name are required.",
        );
    };
    if !(2..=128).contains(&session.len()) {
        return sts_error(
            StatusCode::BAD_REQUEST,
            "STS.0400",
            "agency_session_name must be 2 to 128 characters.",
        );
    }
    let duration = request["duration_seconds"].as_u64().unwrap_or(3600);
    // Parameters are checked before the agency's trust: a chained session over an hour is
    // refused whoever asks.
    if temporary_caller && duration > 3600 {
        return sts_error(
            StatusCode::BAD_REQUEST,
            "STS.0400",
            "duration_seconds must be at most 3600 when assumed with temporary credentials.",
        );
    }
    let agency = urn
        .strip_prefix(&format!("iam::{}:agency:", sim.inner.domain_id))
        .and_then(|name| config.agencies.iter().find(|a| a.name == name));
    // An unknown agency and one that does not trust the caller look alike from outside.
    let Some(agency) = agency.filter(|a| a.trusted.access_key == caller) else {
        return sts_error(
            StatusCode::FORBIDDEN,
            "STS.0403",
            "You are not authorized to assume this agency.",
        );
    };
    if agency.external_id.is_some()
        && request["external_id"].as_str() != agency.external_id.as_deref()
    {
        return sts_error(
            StatusCode::FORBIDDEN,
            "STS.0403",
            "You are not authorized to assume this agency.",
        );
    }
    let longest = agency.max_duration.as_secs();
    if !(900..=longest).contains(&duration) {
        return sts_error(
            StatusCode::BAD_REQUEST,
            "STS.0400",
            &format!("duration_seconds must be between 900 and {longest}."),
        );
    }
    lend(&sim, &agency.name, session, duration)
}

/// The fault STS answers with instead, if any.
fn fault(sim: &Simulator) -> Option<Response> {
    match lock(&sim.inner.state).sts.fault {
        AgencyFault::None => None,
        AgencyFault::Unavailable => Some(sts_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "STS.0500",
            "Service unavailable.",
        )),
        AgencyFault::NotAuthorized => Some(sts_error(
            StatusCode::FORBIDDEN,
            "STS.0403",
            "You are not authorized to assume this agency.",
        )),
    }
}

/// Issues the agency's temporary keys for `duration` seconds (checked by the gateway like
/// the metadata service's) and answers with them.
fn lend(sim: &Simulator, agency: &str, session: &str, duration: u64) -> Response {
    let now = Instant::now();
    let mut state = lock(&sim.inner.state);
    let (access_key, key) = state.metadata.issue(
        sim.inner.config.seed ^ 0x575,
        now + std::time::Duration::from_secs(duration),
    );
    let left = key.expires.saturating_duration_since(now);
    let credential = crate::metadata::credential_body(&access_key, key, left);
    drop(state);
    let credential = &credential["credential"];
    let body = json!({
        "credentials": {
            "access_key_id": credential["access"],
            "secret_access_key": credential["secret"],
            "security_token": credential["securitytoken"],
            "expiration": credential["expires_at"],
        },
        "assumed_agency": {
            "urn": format!("sts::{}:assumed-agency:{agency}/{session}", sim.inner.domain_id),
            "id": format!("{agency}:{session}"),
        },
    });
    (
        StatusCode::CREATED,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// `POST /v5/agencies/assume-with-oidc`: the identity provider's URN, the agency that trusts
/// it, a session name, a JWT-shaped id token and `duration_seconds` (900 to 43200).
async fn assume_with_oidc(State(sim): State<Simulator>, body: Bytes) -> Response {
    let config = &sim.inner.config;
    lock(&sim.inner.state).sts.assumes += 1;
    if let Some(answer) = fault(&sim) {
        return answer;
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or_default();
    let field = |name: &str| request[name].as_str().unwrap_or_default().to_owned();
    let (provider, urn, session, token) = (
        field("provider_urn"),
        field("agency_urn"),
        field("agency_session_name"),
        field("id_token"),
    );
    if !(2..=128).contains(&session.len()) || !(4..=20_000).contains(&token.len()) {
        return sts_error(
            StatusCode::BAD_REQUEST,
            "STS.0400",
            "agency_session_name (2 to 128 characters) and id_token (4 to 20000) are required.",
        );
    }
    let duration = request["duration_seconds"].as_u64().unwrap_or(3600);
    if !(900..=43_200).contains(&duration) {
        return sts_error(
            StatusCode::BAD_REQUEST,
            "STS.0400",
            "duration_seconds must be between 900 and 43200.",
        );
    }
    let domain = &sim.inner.domain_id;
    let trusted_provider = format!("iam::{domain}:identity-provider:{}", config.id_token_idp);
    let trusting_agency = format!("iam::{domain}:agency:{}", config.oidc_agency);
    // An unknown provider or agency and an untrusted token look alike from outside.
    if provider != trusted_provider
        || urn != trusting_agency
        || !crate::identity::jwt_shaped(&token)
    {
        return sts_error(
            StatusCode::FORBIDDEN,
            "STS.0403",
            "You are not authorized to assume this agency.",
        );
    }
    lend(&sim, &config.oidc_agency, &session, duration)
}

async fn caller_identity(State(sim): State<Simulator>, uri: Uri, headers: HeaderMap) -> Response {
    lock(&sim.inner.state).sts.identity_calls += 1;
    let query = query_pairs(&uri);
    let trusted: Vec<_> = sim
        .inner
        .config
        .agencies
        .iter()
        .map(|a| a.trusted.clone())
        .collect();
    match verify_signature(&sim, &signed(&uri, &headers, &query, &[], "GET"), &trusted) {
        Ok(caller) => {
            let body = json!({
                "account_id": sim.inner.domain_id,
                "principal_urn": format!("iam::{}:user:{caller}", sim.inner.domain_id),
                "principal_id": caller,
            });
            (
                StatusCode::OK,
                [("content-type", "application/json")],
                body.to_string(),
            )
                .into_response()
        }
        Err(error) => refused(error),
    }
}
