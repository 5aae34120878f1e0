//! IAM's exchange of an OIDC id token (a CCE workload's projected service-account token) for
//! temporary keys, as the official Python SDK makes it: `POST /v3.0/OS-AUTH/id-token/tokens`
//! with `X-Idp-Id` gives an unscoped token in `X-Subject-Token`; `POST
//! /v3.0/OS-CREDENTIAL/securitytokens` with that token (header or body) gives
//! `{"credential":{"access","secret","securitytoken","expires_at"}}` for `duration_seconds`
//! (900 to 86400, default 900). The keys are checked by the gateway like the metadata
//! service's. The simulator does not verify the token's signature (no JWKS): it accepts any
//! JWT-shaped token (three dot-separated parts) for its one identity provider,
//! [`SimConfig::id_token_idp`](crate::SimConfig). Faults: tokens rejected (401), IAM down (503).

use std::collections::HashMap;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::Simulator;
use crate::locks::lock;

/// What the id-token exchange does instead of answering.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IdentityFault {
    #[default]
    None,
    /// IAM answers 503 on both steps.
    Unavailable,
    /// IAM rejects every id token (401), as when the identity provider does not trust it.
    RejectIdTokens,
}

/// Unscoped tokens bought with id tokens, the fault and the counts.
#[derive(Default)]
pub(crate) struct IdentityState {
    unscoped: HashMap<String, Instant>,
    serial: u64,
    pub fault: IdentityFault,
    pub exchanges: u64,
}

pub(crate) fn routes() -> Router<Simulator> {
    Router::new()
        .route("/v3.0/OS-AUTH/id-token/tokens", post(token_by_id_token))
        .route("/v3.0/OS-CREDENTIAL/securitytokens", post(securitytokens))
}

fn iam_error(status: StatusCode, message: &str) -> Response {
    let body = json!({ "error": { "code": status.as_u16(), "message": message, "title": status.canonical_reason() } });
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

pub(crate) fn jwt_shaped(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3 && parts.iter().all(|part| !part.is_empty())
}

async fn token_by_id_token(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let config = &sim.inner.config;
    let mut state = lock(&sim.inner.state);
    let identity = &mut state.identity;
    identity.exchanges += 1;
    match identity.fault {
        IdentityFault::Unavailable => {
            return iam_error(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable.");
        }
        IdentityFault::RejectIdTokens => {
            return iam_error(StatusCode::UNAUTHORIZED, "The id_token is invalid.");
        }
        IdentityFault::None => {}
    }
    let idp = headers.get("x-idp-id").and_then(|v| v.to_str().ok());
    if idp != Some(config.id_token_idp.as_str()) {
        return iam_error(
            StatusCode::NOT_FOUND,
            "The identity provider does not exist.",
        );
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or_default();
    let Some(id_token) = request["auth"]["id_token"]["id"].as_str() else {
        return iam_error(StatusCode::BAD_REQUEST, "auth.id_token.id is required.");
    };
    if !jwt_shaped(id_token) {
        return iam_error(StatusCode::UNAUTHORIZED, "The id_token is invalid.");
    }
    identity.serial += 1;
    let mut rng = fastrand::Rng::with_seed(config.seed ^ identity.serial.rotate_left(41));
    let token = format!(
        "MIISimUnscoped{:08x}{}",
        identity.serial,
        crate::generate::hex_id(&mut rng, 48)
    );
    identity
        .unscoped
        .insert(token.clone(), Instant::now() + config.token_validity);
    let body = json!({ "token": { "methods": ["mapped"], "expires_at": "", "issued_at": "" } });
    (
        StatusCode::CREATED,
        [
            ("content-type", "application/json".to_owned()),
            ("x-subject-token", token),
        ],
        body.to_string(),
    )
        .into_response()
}

async fn securitytokens(State(sim): State<Simulator>, headers: HeaderMap, body: Bytes) -> Response {
    let now = Instant::now();
    let request: Value = serde_json::from_slice(&body).unwrap_or_default();
    let token_json = &request["auth"]["identity"]["token"];
    let token = headers
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .or_else(|| token_json["id"].as_str())
        .unwrap_or_default()
        .to_owned();
    let duration = token_json["duration_seconds"].as_u64().unwrap_or(900);
    let mut state = lock(&sim.inner.state);
    if state.identity.fault == IdentityFault::Unavailable {
        return iam_error(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable.");
    }
    let valid = state
        .identity
        .unscoped
        .get(&token)
        .is_some_and(|expires| now < *expires);
    if !valid {
        return iam_error(StatusCode::UNAUTHORIZED, "The token is invalid or expired.");
    }
    if !(900..=86_400).contains(&duration) {
        return iam_error(
            StatusCode::BAD_REQUEST,
            "duration_seconds must be between 900 and 86400.",
        );
    }
    let (access_key, key) = state.metadata.issue(
        sim.inner.config.seed,
        now + std::time::Duration::from_secs(duration),
    );
    let left = key.expires.saturating_duration_since(now);
    let body = crate::metadata::credential_body(&access_key, key, left);
    drop(state);
    (
        StatusCode::CREATED,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}
