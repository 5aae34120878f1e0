//! The DMS and IAM HTTP surface: one pipeline every request goes through (route,
//! authenticate, gateway limit, faults, arrival checks, latency, answer, log); each stage in
//! its own module.

mod auth;
pub(crate) mod cache;
mod faults;
pub(crate) mod gateway;
mod iam;
mod routes;

use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

use crate::endpoints::Endpoint;
use crate::error::ApiError;
use crate::locks::lock;
use crate::query::query_pairs;
use crate::{RequestRecord, Simulator};
use routes::Route;

/// A successful answer.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub headers: Vec<(&'static str, String)>,
}

impl Answer {
    pub(crate) fn ok(body: Value) -> Answer {
        Answer {
            status: StatusCode::OK,
            body,
            headers: Vec::new(),
        }
    }
}

pub(crate) fn router(sim: Simulator) -> Router {
    crate::control::routes()
        .merge(crate::metadata::routes())
        .merge(crate::identity::routes())
        .merge(crate::sts::routes())
        .fallback(api)
        .with_state(sim.clone())
        .layer(axum::middleware::map_response_with_state(
            sim,
            add_request_id,
        ))
}

async fn add_request_id(State(sim): State<Simulator>, mut response: Response) -> Response {
    let n = sim.inner.request_serial.fetch_add(1, Ordering::Relaxed) + 1;
    if let Ok(value) = HeaderValue::from_str(&format!("{n:032x}")) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

fn json_response(
    status: StatusCode,
    body: impl Into<Bytes>,
    headers: &[(&'static str, String)],
) -> Response {
    let mut response = (status, body.into()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().insert(*name, value);
        }
    }
    response
}

pub(crate) fn to_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

async fn api(
    State(sim): State<Simulator>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let segments: Vec<String> = uri
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(dms_sign::decode_path)
        .collect();
    let Some(mut route) = routes::route(&method, &segments) else {
        let error = ApiError::url_not_found();
        lock(&sim.inner.state).requests.record(RequestRecord {
            endpoint: "unknown",
            status: error.status.as_u16(),
            at: tokio::time::Instant::now(),
            instance_id: None,
        });
        return json_response(error.status, to_bytes(&error.body), &[]);
    };
    routes::engine_route(&sim, &mut route);
    let query = query_pairs(&uri);
    let incoming = Incoming {
        route: &route,
        method: &method,
        uri: &uri,
        headers: &headers,
        query: &query,
        body: &body,
    };
    let mut result = handle(&sim, &incoming).await;
    if route.endpoint.is_ces() {
        // Whatever refused a CES read answers in CES's shape (gateway errors excepted).
        let shape = sim.inner.config.ces.error_shape;
        result = result.map_err(|error| crate::ces::error::translate(shape, error));
    }
    let response = match result {
        Ok(Outcome::Answer(answer)) => {
            json_response(answer.status, to_bytes(&answer.body), &answer.headers)
        }
        Ok(Outcome::Raw(status, bytes)) => json_response(status, bytes, &[]),
        Err(error) => json_response(error.status, to_bytes(&error.body), &[]),
    };
    lock(&sim.inner.state).requests.record(RequestRecord {
        endpoint: route.endpoint.name(),
        status: response.status().as_u16(),
        at: tokio::time::Instant::now(),
        instance_id: route.instance_id.clone(),
    });
    response
}

/// A recognised request, as it arrived.
struct Incoming<'a> {
    pub route: &'a Route,
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub query: &'a [(String, String)],
    pub body: &'a [u8],
}

enum Outcome {
    Answer(Answer),
    /// A body sent as-is (malformed or truncated).
    Raw(StatusCode, Bytes),
}

async fn handle(sim: &Simulator, request: &Incoming<'_>) -> Result<Outcome, ApiError> {
    let route = request.route;
    let admitted = admit(sim, request).await;
    // The configured latency comes after every arrival check (limits count arrivals) and
    // before every answer, an error as much as a body.
    sim.inner.gateway.delay().await;
    let fault = admitted?;
    let answer = if route.endpoint == Endpoint::IamTokens {
        iam::issue_token(sim, request.body)?
    } else if route.endpoint.is_ces() {
        // Never cached: the batch body is not in the key, and visibility moves with time.
        let project_id = route.project_id.as_deref().unwrap_or_default();
        let body = crate::ces::api::dispatch(
            sim,
            route.endpoint,
            project_id,
            request.query,
            request.body,
        )?;
        Answer::ok(body)
    } else if fault.is_none() {
        return cached_dispatch(sim, request);
    } else {
        routes::dispatch(sim, &sim.fleet(), route, request.query)?
    };
    Ok(faults::fault_body(fault.as_ref(), answer))
}

/// The DMS answer, rendered once per fleet generation (see `cache`).
fn cached_dispatch(sim: &Simulator, request: &Incoming<'_>) -> Result<Outcome, ApiError> {
    let key = request.uri.to_string();
    if let Some(body) = sim.inner.bodies.get(&key, sim.generation()) {
        return Ok(Outcome::Raw(StatusCode::OK, body));
    }
    let fleet = sim.fleet();
    // Read under the fleet lock: no write can come between it and the rendering.
    let generation = sim.generation();
    let answer = routes::dispatch(sim, &fleet, request.route, request.query)?;
    drop(fleet);
    if answer.status != StatusCode::OK || !answer.headers.is_empty() {
        return Ok(Outcome::Answer(answer));
    }
    let body = Bytes::from(to_bytes(&answer.body));
    sim.inner.bodies.put(key, generation, body.clone());
    Ok(Outcome::Raw(StatusCode::OK, body))
}

/// Everything decided when a request arrives: who sends it, whether the gateway lets it
/// through, which fault it hits, and the per-instance call limits. Returns the fault whose
/// effect on the body is still to come.
async fn admit(sim: &Simulator, request: &Incoming<'_>) -> Result<Option<crate::Fault>, ApiError> {
    let route = request.route;
    if route.endpoint != Endpoint::IamTokens {
        // IAM token requests carry a password, not an AK: the gateway limit is per AK.
        let caller = auth::authenticate(sim, request)?;
        sim.inner.gateway.admit(&caller)?;
    }
    let fault = faults::take_fault(sim, route);
    faults::fault_before_answer(sim, route, fault.as_ref()).await?;
    routes::admit_topic_detail(sim, route)?;
    Ok(fault)
}
