//! The request pipeline: budget → auth (signature or token) → send with a timeout → classify →
//! observe → retry. Every call of every endpoint passes here.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use backon::Retryable;
use bytes::Bytes;
use http::Response;
use http::header::RETRY_AFTER;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use tokio::time::Instant;

use super::DmsClient;
use super::request::{ApiRequest, Auth, Endpoint, Target};
use crate::auth::Credentials;
use crate::budget::{NotSent, backoff};
use crate::error::{ApiError, ErrorKind};
use crate::retry::{MAX_RETRY_AFTER, parse_retry_after};
use crate::transport::TransportError;

/// How long an API the account may not call (a DMS 401 or 403) is held off on one instance.
pub const DENIED_API_HOLD_OFF: Duration = Duration::from_secs(60);

/// The `code` of `dms_api_requests_total` for DMS's flow control (`DMS.10240407`, sent as a
/// 404), so that it is not mistaken for a resource that does not exist.
pub const FLOW_CONTROL_CODE: &str = "404_flow_control";

/// A failed attempt with what the retry loop needs beyond the error.
struct AttemptError {
    error: ApiError,
    retry_after: Option<Duration>,
    /// The call was not sent (held by a backoff or a rejected key): retrying now is pointless.
    not_sent: bool,
}

impl From<ApiError> for AttemptError {
    fn from(error: ApiError) -> Self {
        AttemptError {
            error,
            retry_after: None,
            not_sent: false,
        }
    }
}

impl AttemptError {
    /// A call that was not sent: never retried at once.
    fn unsent(error: ApiError) -> Self {
        AttemptError {
            error,
            retry_after: None,
            not_sent: true,
        }
    }

    fn not_sent(api: &'static str, host: &str, not_sent: NotSent) -> Self {
        let error = match not_sent {
            NotSent::Backoff(held) => ApiError::new(
                api,
                held.kind,
                format!(
                    "not sent: {} keeps failing ({}); next try in {:.0} s",
                    if held.host {
                        "the API host"
                    } else {
                        "this API of this instance"
                    },
                    held.kind,
                    held.remaining.as_secs_f64().ceil()
                ),
            ),
            NotSent::CredentialsRejected(remaining) => ApiError::new(
                api,
                ErrorKind::Unauthorized,
                format!(
                    "not sent: the API gateway of {host} rejects the AK/SK; next try in {:.0} s, or at once after a reload or a change of the credential files",
                    remaining.as_secs_f64().ceil()
                ),
            ),
        };
        AttemptError {
            error,
            retry_after: None,
            not_sent: true,
        }
    }
}

/// A call that got no answer, named for its error message: an operator reading
/// `connect to dms.cn-north-4.myhuaweicloud.com: Connection refused (GET /v2/…/instances)`
/// knows which host to check, where reqwest says only `error sending request for url`.
struct Call<'a> {
    host: &'a str,
    /// `GET /v2/{project}/instances` (the decoded path, no query).
    request: String,
}

impl<'a> Call<'a> {
    fn of(endpoint: &'a Endpoint, req: &ApiRequest) -> Self {
        Call {
            host: &endpoint.host,
            request: format!("{} {}", req.method, endpoint.path(req)),
        }
    }

    fn timed_out(&self, timeout: Duration) -> String {
        format!(
            "no response from {} within {:.1} s ({})",
            self.host,
            timeout.as_secs_f64(),
            self.request
        )
    }

    fn failed(&self, error: &TransportError) -> String {
        let (host, request) = (self.host, &self.request);
        match error {
            TransportError::Timeout => format!("no response from {host} ({request})"),
            TransportError::Connect(cause) => format!("connect to {host}: {cause} ({request})"),
            TransportError::Other(cause) => format!("{host}: {cause} ({request})"),
        }
    }
}

pub(super) fn decode<T: DeserializeOwned>(api: &'static str, body: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        ApiError::new(
            api,
            ErrorKind::Decode,
            format!("invalid response body at `{}`: {}", e.path(), e.inner()),
        )
    })?;
    deserializer.end().map_err(|e| {
        ApiError::new(
            api,
            ErrorKind::Decode,
            format!("invalid response body: {e}"),
        )
    })?;
    Ok(value)
}

/// The instance a request addresses (`…/instances/{instance_id}/…`), for per-instance limits.
fn instance_of(segments: &[String]) -> Option<&str> {
    let position = segments.iter().position(|s| s == "instances")?;
    segments.get(position + 1).map(String::as_str)
}

impl DmsClient {
    fn endpoint(&self, target: Target) -> &Endpoint {
        match target {
            Target::Dms => &self.inner.dms,
            Target::Iam => &self.inner.iam,
            Target::Ces => &self.inner.ces,
            // `account_id` refuses before a request to a missing STS endpoint is built.
            Target::Sts => self.inner.sts.as_ref().unwrap_or(&self.inner.iam),
        }
    }

    /// One attempt went on the wire and ended with `code`: the observer and this handle's
    /// tally learn of it.
    fn finished(&self, host: &str, api: &'static str, code: &str, elapsed: Duration) {
        self.inner
            .observer
            .request_finished(host, api, code, elapsed);
        if let Some(tally) = &self.tally {
            tally.count(api, code.starts_with('2'));
        }
    }

    async fn attempt(
        &self,
        endpoint: &Endpoint,
        req: &ApiRequest,
        auth: &Auth,
    ) -> Result<Response<Bytes>, AttemptError> {
        let api = req.api;
        // One vocabulary: a call named outside `apis::APIS` (no IAM action, no preflight row,
        // no simulator endpoint) fails every test that makes it.
        debug_assert!(
            crate::apis::find(api).is_some(),
            "API {api:?} is not in dms_cloud::apis::APIS"
        );
        let observer = &self.inner.observer;
        let instance = instance_of(&req.segments);
        let signed = matches!(auth, Auth::Sign { .. });
        // Keys are fetched (when there are none) before the call waits its turn, and taken
        // again right before it is sent, so an expired key is never sent.
        if signed {
            self.signing_keys_ready(api)
                .await
                .map_err(AttemptError::unsent)?;
        }
        let attempt = endpoint
            .budget
            .begin(api, instance.unwrap_or(""), signed)
            .await
            .map_err(|not_sent| AttemptError::not_sent(api, &endpoint.host, not_sent))?;
        let turn = match instance {
            Some(instance) => Some(endpoint.budget.pacer().turn(api, instance).await),
            None => None,
        };
        let _permit = endpoint.budget.acquire(&self.flow).await;
        attempt
            .still_allowed()
            .map_err(|not_sent| AttemptError::not_sent(api, &endpoint.host, not_sent))?;
        let keys = if signed {
            Some(self.signing_keys_now(api).map_err(AttemptError::unsent)?)
        } else {
            None
        };
        let request = self.build_request(endpoint, req, auth, keys.as_ref())?;
        let started = Instant::now();
        let timeout = self.inner.request_timeout;
        let outcome = tokio::time::timeout(timeout, self.inner.transport.send(request)).await;
        let elapsed = started.elapsed();
        let response = match outcome {
            Err(_) | Ok(Err(TransportError::Timeout)) => {
                self.finished(&endpoint.host, api, "timeout", elapsed);
                attempt.failed(ErrorKind::Timeout, true, false);
                let call = Call::of(endpoint, req);
                return Err(ApiError::new(api, ErrorKind::Timeout, call.timed_out(timeout)).into());
            }
            Ok(Err(error)) => {
                self.finished(&endpoint.host, api, "transport_error", elapsed);
                attempt.failed(ErrorKind::Transport, true, false);
                let call = Call::of(endpoint, req);
                return Err(ApiError::new(api, ErrorKind::Transport, call.failed(&error)).into());
            }
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        if status.is_success() {
            self.finished(&endpoint.host, api, status.as_str(), elapsed);
            endpoint.budget.succeeded();
            attempt.answered(true);
            if let Some(turn) = turn {
                turn.answered(None);
            }
            return Ok(response);
        }
        let error =
            ApiError::from_response(api, status.as_u16(), response.headers(), response.body());
        // DMS's flow control is told apart from a real 404 in the request counts.
        let code = if error.is_instance_throttled() {
            FLOW_CONTROL_CODE
        } else {
            status.as_str()
        };
        self.finished(&endpoint.host, api, code, elapsed);
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, OffsetDateTime::now_utc()));
        let hold_off = self.inner.retry.adjust(Duration::ZERO, true, retry_after);
        if error.is_instance_throttled() {
            // DMS's own flow control is per instance and API: only that pair waits, and the
            // host's rate is left alone. The answer came from DMS, past the signature check.
            observer.throttled(&endpoint.host, api);
            match (turn, instance) {
                (Some(turn), _) => turn.answered(Some(hold_off)),
                (None, Some(instance)) => endpoint.budget.pacer().hold_off(api, instance, hold_off),
                (None, None) => {}
            }
            attempt.failed(ErrorKind::Throttled, false, true);
        } else if error.is_throttled() {
            observer.throttled(&endpoint.host, api);
            // A probe of a scope that keeps being throttled while the rest of the host is
            // answered speaks for that scope: it does not lower the whole host's rate again.
            // The throttled call itself waits before its retry; the whole host waits only
            // when the gateway says for how long (a pause after every 429 of a storm in which
            // one answer in four is throttled would hold the host nearly all the time).
            if !attempt.is_probe() {
                endpoint
                    .budget
                    .throttled(retry_after.map(|after| after.min(MAX_RETRY_AFTER)));
            }
            if let Some(turn) = turn {
                turn.answered(None);
            }
            attempt.failed(ErrorKind::Throttled, false, false);
        } else {
            if let Some(turn) = turn {
                turn.answered(None);
            }
            if error.is_signature_rejected() {
                attempt.signature_rejected();
            } else if error.kind == ErrorKind::ServerError {
                // A 5xx may come from the gateway itself: it says nothing of the signature.
                attempt.failed(ErrorKind::ServerError, true, false);
            } else {
                attempt.answered(true);
            }
        }
        Err(AttemptError {
            error,
            retry_after,
            not_sent: false,
        })
    }

    /// Sends a request with retries (throttling, 5xx, timeouts, transport errors). A retry
    /// waits for a scope held by the backoff only as long as its first delay: past that the
    /// call fails now, and the scope's next probe comes with a later cycle.
    pub(super) async fn execute(
        &self,
        req: &ApiRequest,
        auth: &Auth,
    ) -> Result<Response<Bytes>, ApiError> {
        let endpoint = self.endpoint(req.target);
        let policy = self.inner.retry;
        let observer = &self.inner.observer;
        let instance = instance_of(&req.segments).unwrap_or("");
        // Throttling slows a call, it does not fail it: throttled answers are retried without
        // counting against `max_retries`, until the scope has been throttled so often in a
        // row that the budget holds it (`backoff::THROTTLED_TRIP`) and the call is not sent.
        // A policy without retries keeps none.
        let failures = AtomicU32::new(0);
        let retries = match policy.max_retries {
            0 => 0,
            n => n.max(backoff::THROTTLED_TRIP - 1),
        };
        (|| self.attempt(endpoint, req, auth))
            .retry(policy.backoff().with_max_times(retries as usize))
            .sleep(tokio::time::sleep)
            .when(|e: &AttemptError| {
                if e.not_sent || !e.error.is_retryable() {
                    return false;
                }
                e.error.is_throttled()
                    || failures.fetch_add(1, Ordering::Relaxed) < policy.max_retries
            })
            .adjust(|e: &AttemptError, delay: Option<Duration>| {
                let delay = policy.adjust(delay?, e.error.is_throttled(), e.retry_after);
                let held = endpoint.budget.backoff_remaining(req.api, instance);
                (held <= backoff::FIRST_DELAY).then_some(delay.max(held))
            })
            .notify(|e: &AttemptError, delay: Duration| {
                observer.retried(&endpoint.host, req.api);
                tracing::debug!(
                    api = req.api,
                    kind = e.error.kind.as_label(),
                    status = e.error.status,
                    delay_ms = delay.as_millis() as u64,
                    "retrying DMS API call"
                );
            })
            .await
            .map_err(|e| e.error)
    }

    /// Sends a DMS (or Cloud Eye) request with the configured credentials; with a token, a 401 causes one
    /// token refresh and one more try.
    pub(super) async fn send_dms(&self, req: &ApiRequest) -> Result<Response<Bytes>, ApiError> {
        match &self.inner.credentials {
            Credentials::AkSk { .. } | Credentials::Provided(_) => {
                let project_id = self.project_id().await?;
                let result = self
                    .execute(
                        req,
                        &Auth::Sign {
                            project_id: Some(project_id),
                        },
                    )
                    .await;
                // A rejected signature holds the host's signed calls (`budget::signature`).
                if let Err(error) = &result
                    && !error.is_signature_rejected()
                {
                    Self::hold_off_denied_api(self.endpoint(req.target), req, error);
                }
                result
            }
            Credentials::Password { .. } => {
                let token = self.token().await?;
                let result = match self.execute(req, &Auth::Token(token.value.clone())).await {
                    Err(error) if error.is_token_rejected() => {
                        tracing::info!(
                            api = req.api,
                            "DMS rejected the IAM token; refreshing it once"
                        );
                        let fresh = self.refresh_rejected_token(token.generation).await?;
                        self.execute(req, &Auth::Token(fresh.value)).await
                    }
                    other => other,
                };
                if let Err(error) = &result
                    && !error.is_token_rejected()
                {
                    Self::hold_off_denied_api(self.endpoint(req.target), req, error);
                }
                result
            }
        }
    }

    /// After a DMS 401 or 403 that is about one API (not the credentials): the account may
    /// not call this API on this instance, so only that pair is held — its calls fail at once
    /// for a while, rather than wait — and the rest goes on.
    fn hold_off_denied_api(endpoint: &Endpoint, req: &ApiRequest, error: &ApiError) {
        // Only an answer holds: a call that was not sent (held already) carries no status.
        if matches!(error.kind, ErrorKind::Unauthorized | ErrorKind::Forbidden)
            && error.status.is_some()
            && let Some(instance) = instance_of(&req.segments)
        {
            endpoint
                .budget
                .hold(req.api, instance, error.kind, DENIED_API_HOLD_OFF);
        }
    }

    /// A DMS GET, its body decoded as `T`.
    pub(super) async fn dms_get<T: DeserializeOwned>(
        &self,
        api: &'static str,
        segments: Vec<String>,
        query: Vec<(String, String)>,
    ) -> Result<T, ApiError> {
        let req = ApiRequest::get(api, Target::Dms, segments, query);
        let response = self.send_dms(&req).await?;
        decode(api, response.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::path;

    #[test]
    fn calls_without_an_answer_name_the_host_and_the_path() {
        let budgets = crate::Budgets::new(crate::BudgetConfig::default());
        let endpoint = super::super::request::parse_endpoint(
            "https://dms.cn-north-4.myhuaweicloud.com",
            &budgets,
        )
        .expect("endpoint");
        let req = ApiRequest::get(
            "kafka_instances",
            Target::Dms,
            path(&["v2", "p1", "instances"]),
            vec![("offset".into(), "0".into())],
        );
        let call = Call::of(&endpoint, &req);
        assert_eq!(
            call.failed(&TransportError::Connect(
                "tcp connect error: Connection refused (os error 111)".into()
            )),
            "connect to dms.cn-north-4.myhuaweicloud.com: tcp connect error: Connection refused (os error 111) (GET /v2/p1/instances)"
        );
        assert_eq!(
            call.failed(&TransportError::Other("connection reset".into())),
            "dms.cn-north-4.myhuaweicloud.com: connection reset (GET /v2/p1/instances)"
        );
        assert_eq!(
            call.timed_out(Duration::from_secs(10)),
            "no response from dms.cn-north-4.myhuaweicloud.com within 10.0 s (GET /v2/p1/instances)"
        );
        let error = ApiError::new(
            req.api,
            ErrorKind::Transport,
            call.failed(&TransportError::Timeout),
        );
        assert_eq!(
            error.to_string(),
            "kafka_instances failed (transport): no response from dms.cn-north-4.myhuaweicloud.com (GET /v2/p1/instances)"
        );
    }

    #[test]
    fn instance_of_finds_the_addressed_instance() {
        let segments = path(&["v2", "p", "instances", "i-1", "topics", "t"]);
        assert_eq!(instance_of(&segments), Some("i-1"));
        assert_eq!(instance_of(&path(&["v2", "p", "instances"])), None);
        assert_eq!(instance_of(&path(&["v3", "projects"])), None);
    }
}
