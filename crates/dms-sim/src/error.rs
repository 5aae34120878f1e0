//! The error answers of the DMS and IAM APIs: an HTTP status and the documented JSON body.

use axum::http::StatusCode;
use serde_json::{Value, json};

/// An error answer: status + JSON body.
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub body: Value,
}

impl ApiError {
    pub(crate) fn dms(status: u16, code: &str, msg: &str) -> ApiError {
        ApiError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body: json!({ "error_code": code, "error_msg": msg }),
        }
    }

    pub(crate) fn iam(status: u16, title: &str, message: &str) -> ApiError {
        ApiError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::UNAUTHORIZED),
            body: json!({ "error": { "code": status, "message": message, "title": title } }),
        }
    }

    /// The API gateway's throttling answer (429 `APIGW.0308`), `limit` requests per second.
    pub(crate) fn throttled(limit: u32) -> ApiError {
        ApiError::dms(
            429,
            "APIGW.0308",
            &format!(
                "The throttling threshold has been reached: policy user over ratelimit,limit:{limit},time:1 second"
            ),
        )
    }

    pub(crate) fn url_not_found() -> ApiError {
        ApiError::dms(404, "DMS.00404001", "The requested URL does not exist.")
    }

    pub(crate) fn instance_not_found() -> ApiError {
        ApiError::dms(404, "DMS.00404022", "This instance does not exist.")
    }

    pub(crate) fn bad_parameter() -> ApiError {
        ApiError::dms(400, "DMS.00400062", "Invalid request parameter.")
    }

    pub(crate) fn too_frequent() -> ApiError {
        ApiError::dms(
            404,
            "DMS.10240407",
            "The request is too frequent. Flow control is being performed. Please try again later.",
        )
    }

    pub(crate) fn apigw_auth(detail: &str) -> ApiError {
        ApiError::dms(
            401,
            "APIGW.0301",
            &format!("Incorrect IAM authentication information: {detail}"),
        )
    }
}
