//! Cloud Eye's error answers. CES v1 bodies come in two shapes, neither with DMS's
//! `error_code` (Huawei's CES error-code page): the current
//! `{"http_code":"403","message":{"code":…,"details":…}}` and older regions'
//! `{"code":400,"element":"Bad Request","message":…,"details":{"code":…,"details":…}}`.
//! The API gateway in front of CES answers its own errors (`APIGW.0308` throttling,
//! `APIGW.0301`/`0303` signatures) in the gateway's `{"error_code","error_msg"}` shape, as
//! for DMS.

use axum::http::StatusCode;
use serde_json::json;

use crate::CesErrorShape;
use crate::error::ApiError;

/// Why a CES request is refused before any data is read (400 `ces.0014`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum CesRequestError {
    #[error("The request body exceeds 512 KB.")]
    BodyTooLarge,
    #[error("The request body is not valid: {0}")]
    Body(String),
    #[error("metrics must hold 1 to 500 metrics, not {0}.")]
    MetricCount(usize),
    #[error("a metric must have 1 to 4 dimensions, not {0}.")]
    DimensionCount(usize),
    #[error("{name} is required.")]
    Missing { name: &'static str },
    #[error("{name} is invalid: {value:?}.")]
    Invalid { name: &'static str, value: String },
    #[error("from must be less than to.")]
    EmptyWindow,
}

/// A CES error body in the configured shape.
pub(crate) fn ces_error(shape: CesErrorShape, status: u16, code: &str, details: &str) -> ApiError {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match shape {
        CesErrorShape::Current => json!({
            "http_code": status.as_u16().to_string(),
            "message": { "code": code, "details": details },
        }),
        CesErrorShape::Legacy => json!({
            "code": status.as_u16(),
            "element": status.canonical_reason().unwrap_or("Error"),
            "message": details,
            "details": { "code": code, "details": details },
        }),
    };
    ApiError { status, body }
}

impl CesRequestError {
    pub(crate) fn into_api_error(self, shape: CesErrorShape) -> ApiError {
        ces_error(shape, 400, "ces.0014", &self.to_string())
    }
}

/// CES's own throttling (429 `ces.0429`), as opposed to the gateway's `APIGW.0308`.
pub(crate) fn throttled(shape: CesErrorShape) -> ApiError {
    ces_error(shape, 429, "ces.0429", "Too Many Requests")
}

/// A DMS-shaped error raised on a CES path (a fault rule, an IAM token the project does not
/// match) in the CES shape with CES's code for its status; the gateway's `APIGW.*` answers
/// stay as they are.
pub(crate) fn translate(shape: CesErrorShape, error: ApiError) -> ApiError {
    let code = error.body["error_code"].as_str().unwrap_or_default();
    if !code.starts_with("DMS.") {
        return error;
    }
    let details = error.body["error_msg"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    match (error.status.as_u16(), code) {
        // DMS's flow control (404 `DMS.10240407`) is CES's 429.
        (429, _) | (_, "DMS.10240407") => throttled(shape),
        (400, _) => ces_error(shape, 400, "ces.0014", &details),
        (401, _) => ces_error(shape, 401, "ces.0015", &details),
        (403, _) => ces_error(shape, 403, "ces.0017", &details),
        (404, _) => ces_error(shape, 404, "ces.0016", &details),
        (status, _) => ces_error(shape, status, "ces.0007", &details),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dms_errors_become_ces_errors_and_gateway_errors_stay() {
        let forbidden = translate(
            CesErrorShape::Current,
            ApiError::dms(403, "DMS.10240309", "Access denied."),
        );
        assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
        assert_eq!(
            forbidden.body,
            json!({"http_code": "403", "message": {"code": "ces.0017", "details": "Access denied."}})
        );
        let legacy = translate(
            CesErrorShape::Legacy,
            ApiError::dms(503, "DMS.00500000", "Internal service error."),
        );
        assert_eq!(legacy.body["code"], 503);
        assert_eq!(legacy.body["element"], "Service Unavailable");
        assert_eq!(legacy.body["details"]["code"], "ces.0007");
        let throttled = translate(CesErrorShape::Current, ApiError::too_frequent());
        assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(throttled.body["message"]["code"], "ces.0429");
        let gateway = translate(CesErrorShape::Current, ApiError::throttled(20));
        assert_eq!(gateway.body["error_code"], "APIGW.0308");
    }
}
