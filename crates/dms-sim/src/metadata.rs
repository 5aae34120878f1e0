//! The ECS metadata service's temporary credentials, and the gateway's view of them.
//!
//! `GET /openstack/latest/securitykey` hands out an AK/SK with a security token that lives
//! [`SimConfig::temporary_key_validity`](crate::SimConfig) (an hour on a real ECS); the same
//! keys are returned until [`SimConfig::temporary_key_rotation`](crate::SimConfig) before they
//! expire, then new ones, while the old stay valid until their own expiry (the documented
//! overlap). `PUT /meta-data/latest/api/token` gives the optional session token; a request
//! that sends `X-Metadata-Token` must send a valid one. Served on the simulator's own
//! listener (the exporter is pointed at it), never on a link-local address. Faults: the service
//! down (503 on both paths), or no agency bound to the ECS (401 with the documented message).
//! Times are on tokio's clock, so tests drive rotations with paused time.

use std::collections::HashMap;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde_json::json;
use tokio::time::Instant;

use crate::Simulator;
use crate::locks::lock;

/// What the metadata service does instead of answering.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MetadataFault {
    #[default]
    None,
    /// The service is down: 503 on every path.
    Unavailable,
    /// No agency is bound to the ECS: 401 "Please configure Cloud Service Agency first".
    NoAgency,
}

/// One set of temporary keys the service issued.
pub(crate) struct TemporaryKey {
    pub secret_key: String,
    pub security_token: String,
    pub expires: Instant,
}

/// The service's state: every key issued (the gateway checks them), the current one, the
/// session tokens, the fault, and how often it was asked.
#[derive(Default)]
pub(crate) struct MetadataState {
    pub keys: HashMap<String, TemporaryKey>,
    current: Option<String>,
    serial: u64,
    sessions: Vec<String>,
    pub fault: MetadataFault,
    pub securitykey_requests: u64,
}

/// How the gateway judges an AK that is not a permanent one.
pub(crate) enum TemporaryVerdict {
    Unknown,
    Expired,
    /// Valid: its secret key and the security token the request must carry.
    Valid {
        secret_key: String,
        security_token: String,
    },
}

/// The `{"credential":{…}}` body of `key`, its expiry `left` from now on the wall clock.
pub(crate) fn credential_body(
    access_key: &str,
    key: &TemporaryKey,
    left: std::time::Duration,
) -> serde_json::Value {
    let expires_at = time::OffsetDateTime::now_utc() + left;
    let expires_at = expires_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    json!({
        "credential": {
            "access": access_key,
            "secret": key.secret_key,
            "securitytoken": key.security_token,
            "expires_at": expires_at,
        }
    })
}

impl MetadataState {
    /// Issues new temporary keys that expire at `expires` (the metadata service's and IAM's
    /// `securitytokens` alike: the gateway checks both).
    pub(crate) fn issue(&mut self, seed: u64, expires: Instant) -> (String, &TemporaryKey) {
        self.serial += 1;
        let serial = self.serial;
        let mut rng = fastrand::Rng::with_seed(seed ^ serial.rotate_left(29));
        let access_key = format!("SIMTEMPAK{serial:011}");
        let key = self.keys.entry(access_key.clone()).or_insert(TemporaryKey {
            secret_key: crate::generate::hex_id(&mut rng, 40),
            security_token: format!("simsecuritytoken{}", crate::generate::hex_id(&mut rng, 64)),
            expires,
        });
        (access_key, key)
    }

    pub(crate) fn verdict(&self, access_key: &str, now: Instant) -> TemporaryVerdict {
        match self.keys.get(access_key) {
            None => TemporaryVerdict::Unknown,
            Some(key) if now >= key.expires => TemporaryVerdict::Expired,
            Some(key) => TemporaryVerdict::Valid {
                secret_key: key.secret_key.clone(),
                security_token: key.security_token.clone(),
            },
        }
    }
}

pub(crate) fn routes() -> Router<Simulator> {
    Router::new()
        .route("/openstack/latest/securitykey", get(securitykey))
        .route("/meta-data/latest/api/token", put(session_token))
}

fn unavailable() -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response()
}

async fn session_token(State(sim): State<Simulator>) -> Response {
    let mut state = lock(&sim.inner.state);
    let metadata = &mut state.metadata;
    if metadata.fault == MetadataFault::Unavailable {
        return unavailable();
    }
    metadata.serial += 1;
    let token = format!("simsession{:08x}", metadata.serial);
    metadata.sessions.push(token.clone());
    (StatusCode::OK, token).into_response()
}

async fn securitykey(State(sim): State<Simulator>, headers: HeaderMap) -> Response {
    let config = &sim.inner.config;
    let now = Instant::now();
    let mut state = lock(&sim.inner.state);
    let metadata = &mut state.metadata;
    metadata.securitykey_requests += 1;
    match metadata.fault {
        MetadataFault::None => {}
        MetadataFault::Unavailable => return unavailable(),
        MetadataFault::NoAgency => {
            return (
                StatusCode::UNAUTHORIZED,
                "Please configure Cloud Service Agency first",
            )
                .into_response();
        }
    }
    if let Some(session) = headers.get("x-metadata-token")
        && !metadata
            .sessions
            .iter()
            .any(|known| session.as_bytes() == known.as_bytes())
    {
        return (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    }
    let due = metadata
        .current
        .as_ref()
        .and_then(|ak| metadata.keys.get(ak))
        .is_none_or(|key| now + config.temporary_key_rotation >= key.expires);
    if due {
        let (access_key, _) = metadata.issue(config.seed, now + config.temporary_key_validity);
        metadata.current = Some(access_key);
    }
    let Some((access_key, key)) = metadata
        .current
        .as_ref()
        .and_then(|ak| Some((ak.clone(), metadata.keys.get(ak)?)))
    else {
        return unavailable();
    };
    let body = credential_body(&access_key, key, key.expires.saturating_duration_since(now));
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}
