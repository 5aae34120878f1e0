//! The fault model: how an endpoint misbehaves ([`Fault`]) and which requests it hits
//! ([`FaultRule`]). The JSON of the control API is the serde form of these types.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How an endpoint misbehaves.
///
/// JSON (control API): `{"kind":"throttle429"}`, `{"kind":"throttle404"}`,
/// `{"kind":"server_error","status":503}`, `{"kind":"latency","ms":500}`, `{"kind":"stall"}`,
/// `{"kind":"malformed"}`, `{"kind":"truncated"}`, `{"kind":"not_found"}`,
/// `{"kind":"unauthorized"}`, `{"kind":"dms_unauthorized"}`, `{"kind":"forbidden"}`,
/// `{"kind":"token_expired"}`, `{"kind":"clock_skew"}`, `{"kind":"ces_throttle"}`.
///
/// On a CES read every error fault answers in CES's error shape with CES's code for its
/// status (403 `ces.0017`, 5xx `ces.0007`, 401 `ces.0015`, 404 `ces.0016`, `throttle404`
/// as 429 `ces.0429`); `throttle429`, `unauthorized` and `clock_skew` are the gateway's and
/// keep its `APIGW.*` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// HTTP 429 `APIGW.0308`.
    Throttle429,
    /// HTTP 404 `DMS.10240407` (the documented DMS flow control).
    Throttle404,
    /// The given status with `DMS.00500000`.
    #[serde(with = "status")]
    ServerError(u16),
    /// Answers normally after a delay (`tokio::time::sleep`).
    #[serde(with = "ms")]
    Latency(Duration),
    /// Never answers (until the server shuts down).
    Stall,
    /// HTTP 200 with a body that is not JSON.
    Malformed,
    /// HTTP 200 with the real body cut in half.
    Truncated,
    /// HTTP 404 `DMS.00404022`.
    NotFound,
    /// HTTP 401 `APIGW.0301`, as for a rejected signature.
    Unauthorized,
    /// HTTP 401 `DMS.10240104`: an API this account may not call (the credentials are fine).
    DmsUnauthorized,
    /// HTTP 403 `DMS.10240309`: access denied to this API.
    Forbidden,
    /// HTTP 401 `DMS.10240102`: the IAM token expired (as if the server dropped it early).
    TokenExpired,
    /// HTTP 401 `APIGW.0303`: the request's `X-Sdk-Date` is out of range (clock skew).
    ClockSkew,
    /// HTTP 429 `ces.0429` in CES's error shape: Cloud Eye's own throttling.
    CesThrottle,
}

/// `ServerError(503)` ⇄ `"status":503` next to the tag.
mod status {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Status {
        status: u16,
    }

    pub(super) fn serialize<S: Serializer>(status: &u16, serializer: S) -> Result<S::Ok, S::Error> {
        Status { status: *status }.serialize(serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u16, D::Error> {
        Status::deserialize(deserializer).map(|s| s.status)
    }
}

/// `Latency(500 ms)` ⇄ `"ms":500` next to the tag.
mod ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Ms {
        ms: u64,
    }

    pub(super) fn serialize<S: Serializer>(
        delay: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        Ms { ms }.serialize(serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        Ms::deserialize(deserializer).map(|m| Duration::from_millis(m.ms))
    }
}

/// A fault injected into matching requests (after authentication).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    /// An endpoint name (see [`ENDPOINTS`](crate::ENDPOINTS)), `"ces"` (every CES read:
    /// `ces_metrics`, `ces_metric_data`, `ces_batch_metric_data`) or `"*"`.
    pub endpoint: String,
    /// Only requests about this instance, if set.
    #[serde(default)]
    pub instance_id: Option<String>,
    pub fault: Fault,
    /// How many more requests it hits; `None` = until cleared.
    #[serde(default)]
    pub remaining: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_serde_shapes() {
        let rule: FaultRule = serde_json::from_str(
            r#"{"endpoint":"kafka_groups","instance_id":null,"fault":{"kind":"throttle429"},"remaining":3}"#,
        )
        .expect("rule parses");
        assert_eq!(rule.fault, Fault::Throttle429);
        assert_eq!(rule.remaining, Some(3));
        let latency: Fault =
            serde_json::from_str(r#"{"kind":"latency","ms":500}"#).expect("parses");
        assert_eq!(latency, Fault::Latency(Duration::from_millis(500)));
        let error: Fault =
            serde_json::from_str(r#"{"kind":"server_error","status":503}"#).expect("parses");
        assert_eq!(error, Fault::ServerError(503));
        assert_eq!(
            serde_json::to_string(&Fault::Latency(Duration::from_millis(7))).expect("serialises"),
            r#"{"kind":"latency","ms":7}"#
        );
        for kind in [
            "throttle404",
            "stall",
            "malformed",
            "truncated",
            "not_found",
        ] {
            let fault: Result<Fault, _> = serde_json::from_str(&format!(r#"{{"kind":"{kind}"}}"#));
            assert!(fault.is_ok(), "{kind}");
        }
    }

    /// Every fault serialises as before the wire form was folded into the type, and reads back.
    #[test]
    fn every_fault_round_trips_in_its_documented_shape() {
        let cases = [
            (Fault::Throttle429, r#"{"kind":"throttle429"}"#),
            (Fault::Throttle404, r#"{"kind":"throttle404"}"#),
            (
                Fault::ServerError(503),
                r#"{"kind":"server_error","status":503}"#,
            ),
            (
                Fault::Latency(Duration::from_millis(500)),
                r#"{"kind":"latency","ms":500}"#,
            ),
            (Fault::Stall, r#"{"kind":"stall"}"#),
            (Fault::Malformed, r#"{"kind":"malformed"}"#),
            (Fault::Truncated, r#"{"kind":"truncated"}"#),
            (Fault::NotFound, r#"{"kind":"not_found"}"#),
            (Fault::Unauthorized, r#"{"kind":"unauthorized"}"#),
            (Fault::DmsUnauthorized, r#"{"kind":"dms_unauthorized"}"#),
            (Fault::Forbidden, r#"{"kind":"forbidden"}"#),
            (Fault::TokenExpired, r#"{"kind":"token_expired"}"#),
            (Fault::ClockSkew, r#"{"kind":"clock_skew"}"#),
            (Fault::CesThrottle, r#"{"kind":"ces_throttle"}"#),
        ];
        for (fault, json) in cases {
            assert_eq!(serde_json::to_string(&fault).expect("serialises"), json);
            assert_eq!(serde_json::from_str::<Fault>(json).expect("parses"), fault);
        }
        // Field order does not matter, unknown fields are ignored, a missing field is an error.
        let error: Fault =
            serde_json::from_str(r#"{"status":500,"kind":"server_error","x":1}"#).expect("parses");
        assert_eq!(error, Fault::ServerError(500));
        assert!(serde_json::from_str::<Fault>(r#"{"kind":"latency"}"#).is_err());
        assert!(serde_json::from_str::<Fault>(r#"{"kind":"nonsense"}"#).is_err());
    }
}
