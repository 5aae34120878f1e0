//! Injected faults: which rule a request hits, and what it does to the answer.

use axum::http::StatusCode;

use super::{Answer, Outcome, Route, to_bytes};
use crate::error::ApiError;
use crate::locks::lock;
use crate::{Fault, RequestRecord, Simulator};

/// The part of a fault that replaces or delays the answer: errors, latency, stalls.
pub(super) async fn fault_before_answer(
    sim: &Simulator,
    route: &Route,
    fault: Option<&Fault>,
) -> Result<(), ApiError> {
    match fault {
        None | Some(Fault::Malformed | Fault::Truncated) => Ok(()),
        // The gateway's default limit shows in the message.
        Some(Fault::Throttle429) => Err(ApiError::throttled(20)),
        Some(Fault::CesThrottle) => Err(crate::ces::error::throttled(
            sim.inner.config.ces.error_shape,
        )),
        Some(Fault::Throttle404) => Err(ApiError::too_frequent()),
        Some(Fault::ServerError(status)) => Err(ApiError::dms(
            *status,
            "DMS.00500000",
            "Internal service error.",
        )),
        Some(Fault::NotFound) => Err(ApiError::instance_not_found()),
        Some(Fault::Unauthorized) => Err(ApiError::apigw_auth("verify aksk signature fail")),
        Some(Fault::DmsUnauthorized) => Err(ApiError::dms(
            401,
            "DMS.10240104",
            "The project ID and token do not match.",
        )),
        Some(Fault::Forbidden) => Err(ApiError::dms(
            403,
            "DMS.10240309",
            "Access denied. You cannot perform operations on DMS.",
        )),
        Some(Fault::TokenExpired) => Err(ApiError::dms(401, "DMS.10240102", "Expired token.")),
        Some(Fault::ClockSkew) => Err(ApiError::dms(
            401,
            "APIGW.0303",
            "Incorrect app authentication information: request expired",
        )),
        Some(Fault::Latency(delay)) => {
            tokio::time::sleep(*delay).await;
            Ok(())
        }
        Some(Fault::Stall) => {
            stall(sim, route).await;
            Err(ApiError::dms(
                503,
                "DMS.00500000",
                "Internal service error.",
            ))
        }
    }
}

/// The part of a fault that spoils the body of a real answer.
pub(super) fn fault_body(fault: Option<&Fault>, answer: Answer) -> Outcome {
    match fault {
        Some(Fault::Malformed) => Outcome::Raw(StatusCode::OK, malformed().into()),
        Some(Fault::Truncated) => {
            let bytes = to_bytes(&answer.body);
            Outcome::Raw(answer.status, bytes[..bytes.len() / 2].to_vec().into())
        }
        _ => Outcome::Answer(answer),
    }
}

pub(super) fn malformed() -> Vec<u8> {
    b"{\"error_code\": <html>502 Bad Gateway</html>".to_vec()
}

/// Never returns until the server shuts down; the stalled request is logged with status 0.
pub(super) async fn stall(sim: &Simulator, route: &Route) {
    let released = sim.inner.release_stalls.notified();
    lock(&sim.inner.state).requests.record(RequestRecord {
        endpoint: route.endpoint.name(),
        status: 0,
        at: tokio::time::Instant::now(),
        instance_id: route.instance_id.clone(),
    });
    released.await;
}

/// The first matching fault rule, decrementing its remaining count.
pub(super) fn take_fault(sim: &Simulator, route: &Route) -> Option<Fault> {
    let mut state = lock(&sim.inner.state);
    let index = state.faults.iter().position(|rule| {
        (rule.endpoint == "*"
            || rule.endpoint == route.endpoint.name()
            || (rule.endpoint == crate::endpoints::CES_GROUP && route.endpoint.is_ces()))
            && rule
                .instance_id
                .as_ref()
                .is_none_or(|id| route.instance_id.as_ref() == Some(id))
            && rule.remaining != Some(0)
    })?;
    let rule = &mut state.faults[index];
    let fault = rule.fault.clone();
    if let Some(remaining) = rule.remaining.as_mut() {
        *remaining -= 1;
        if *remaining == 0 {
            state.faults.remove(index);
        }
    }
    Some(fault)
}
