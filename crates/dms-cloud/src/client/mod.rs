//! The DMS client: budget → auth (signature or token) → send with a timeout → classify →
//! observe → retry. Engine-specific endpoints live in one file per engine.

mod kafka;
mod rabbitmq;
mod rocketmq;

use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use backon::Retryable;
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, RETRY_AFTER};
use http::{Method, Request, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::auth::{self, AUTH_FAILURE_BACKOFF, CachedToken, Credentials, TokenState};
use crate::budget::{Budgets, HostBudget, NotSent, backoff};
use crate::dto;
use crate::error::{ApiError, ErrorKind};
use crate::retry::{MAX_RETRY_AFTER, RetryPolicy, parse_retry_after};
use crate::transport::{Transport, TransportError};
use crate::{ApiObserver, ClientConfig};

/// How long an API the account may not call (a DMS 401 or 403) is held off on one instance.
pub const DENIED_API_HOLD_OFF: Duration = Duration::from_secs(60);

/// Page size of the paged list APIs (their documented maximum).
pub const PAGE_LIMIT: u64 = 50;
/// Upper bound on pages of one listing, whatever the server says.
const MAX_PAGES: usize = 10_000;

/// One parsed endpoint: `scheme://authority`, the `Host` header value, a path prefix, and the
/// budget of its host.
struct Endpoint {
    base: String,
    host: String,
    prefix: String,
    budget: HostBudget,
}

fn parse_endpoint(raw: &str, budgets: &Budgets) -> Result<Endpoint, String> {
    let uri: http::Uri = raw
        .trim()
        .parse()
        .map_err(|_| format!("endpoint {raw:?} is not a URL"))?;
    let scheme = uri
        .scheme_str()
        .filter(|s| *s == "http" || *s == "https")
        .ok_or_else(|| format!("endpoint {raw:?} must start with https:// or http://"))?;
    let authority = uri
        .authority()
        .ok_or_else(|| format!("endpoint {raw:?} has no host"))?;
    let default_port = if scheme == "https" { 443 } else { 80 };
    let hostname = authority.host().to_ascii_lowercase();
    let host = match authority.port_u16() {
        Some(port) if port != default_port => format!("{hostname}:{port}"),
        _ => hostname,
    };
    let prefix = uri.path().trim_end_matches('/').to_owned();
    Ok(Endpoint {
        base: format!("{scheme}://{}", authority.as_str().to_ascii_lowercase()),
        budget: budgets.for_host(&host),
        host,
        prefix: dms_sign::decode_path(&prefix),
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Dms,
    Iam,
}

/// How one request authenticates.
enum Auth {
    /// AK/SK signature, with `X-Project-Id` when given.
    Sign { project_id: Option<String> },
    /// `X-Auth-Token`.
    Token(SecretString),
    /// Nothing (the IAM token request itself).
    Anonymous,
}

struct ApiRequest {
    api: &'static str,
    target: Target,
    method: Method,
    /// Decoded path segments (escaped one by one on the wire).
    segments: Vec<String>,
    /// Raw query parameters (sent as their canonical form).
    query: Vec<(String, String)>,
    body: Bytes,
}

impl ApiRequest {
    fn get(
        api: &'static str,
        target: Target,
        segments: Vec<String>,
        query: Vec<(String, String)>,
    ) -> Self {
        ApiRequest {
            api,
            target,
            method: Method::GET,
            segments,
            query,
            body: Bytes::new(),
        }
    }
}

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

struct Inner {
    region: String,
    configured_project_id: Option<String>,
    credentials: Credentials,
    request_timeout: Duration,
    retry: RetryPolicy,
    dms: Result<Endpoint, String>,
    iam: Result<Endpoint, String>,
    transport: Arc<dyn Transport>,
    observer: Arc<dyn ApiObserver>,
    project_id: OnceCell<String>,
    project_failure: Mutex<Option<(Instant, ApiError)>>,
    tokens: tokio::sync::Mutex<TokenState>,
    instances_v1: AtomicBool,
}

/// The DMS API client. Cheap to clone; clones share caches, budgets and the token.
#[derive(Clone)]
pub struct DmsClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for DmsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DmsClient")
            .field("region", &self.inner.region)
            .field("credentials", &self.inner.credentials)
            .finish_non_exhaustive()
    }
}

fn path(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| (*p).to_owned()).collect()
}

fn query(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// The API name of the tag endpoint of an engine.
fn tags_api(engine: &str) -> Option<&'static str> {
    const TABLE: [(&str, &str); 3] = [
        ("kafka", "kafka_tags"),
        ("rocketmq", "rocketmq_tags"),
        ("rabbitmq", "rabbitmq_tags"),
    ];
    TABLE
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(engine))
        .map(|(_, api)| *api)
}

fn decode<T: DeserializeOwned>(api: &'static str, body: &[u8]) -> Result<T, ApiError> {
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

fn header_value(value: &str, sensitive: bool) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(value).ok()?;
    value.set_sensitive(sensitive);
    Some(value)
}

impl DmsClient {
    pub fn new(
        config: ClientConfig,
        transport: Arc<dyn Transport>,
        budgets: &Budgets,
        observer: Arc<dyn ApiObserver>,
    ) -> Self {
        let dms = parse_endpoint(&config.endpoint, budgets);
        let iam = parse_endpoint(&config.iam_endpoint, budgets);
        DmsClient {
            inner: Arc::new(Inner {
                region: config.region,
                configured_project_id: config.project_id.filter(|p| !p.trim().is_empty()),
                credentials: config.credentials,
                request_timeout: config.request_timeout,
                retry: config.retry,
                dms,
                iam,
                transport,
                observer,
                project_id: OnceCell::new(),
                project_failure: Mutex::new(None),
                tokens: tokio::sync::Mutex::new(TokenState::default()),
                instances_v1: AtomicBool::new(false),
            }),
        }
    }

    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// The request scheduler of the DMS endpoint's host (`None` when the endpoint is invalid).
    pub fn dms_budget(&self) -> Option<&HostBudget> {
        self.inner.dms.as_ref().ok().map(|e| &e.budget)
    }

    /// Whether the last instance listing fell back to the V1 API (R28).
    pub fn uses_v1_instance_list(&self) -> bool {
        self.inner.instances_v1.load(Ordering::Relaxed)
    }

    // ----- transport pipeline -------------------------------------------------------------

    fn endpoint(&self, target: Target, api: &'static str) -> Result<&Endpoint, ApiError> {
        let endpoint = match target {
            Target::Dms => &self.inner.dms,
            Target::Iam => &self.inner.iam,
        };
        endpoint
            .as_ref()
            .map_err(|message| ApiError::new(api, ErrorKind::Config, message.clone()))
    }

    fn build_request(
        &self,
        endpoint: &Endpoint,
        req: &ApiRequest,
        auth: &Auth,
    ) -> Result<Request<Bytes>, ApiError> {
        let config_error = |message: &str| ApiError::new(req.api, ErrorKind::Config, message);
        let decoded_path = format!("{}/{}", endpoint.prefix, req.segments.join("/"));
        let wire_path = format!(
            "{}/{}",
            dms_sign::encode_path(&endpoint.prefix),
            req.segments
                .iter()
                .map(|s| dms_sign::escape(s))
                .collect::<Vec<_>>()
                .join("/")
        );
        let query = dms_sign::canonical_query(&req.query);
        let uri = if query.is_empty() {
            format!("{}{wire_path}", endpoint.base)
        } else {
            format!("{}{wire_path}?{query}", endpoint.base)
        };

        // (name, value, sensitive)
        let mut headers: Vec<(String, String)> = vec![("Host".to_owned(), endpoint.host.clone())];
        let mut extra: Vec<(&'static str, String, bool)> = Vec::new();
        match auth {
            Auth::Sign { project_id } => {
                let Credentials::AkSk {
                    access_key,
                    secret_key,
                    security_token,
                } = &self.inner.credentials
                else {
                    return Err(config_error("signing needs AK/SK credentials"));
                };
                if let Some(project_id) = project_id {
                    headers.push(("X-Project-Id".to_owned(), project_id.clone()));
                }
                if let Some(token) = security_token {
                    headers.push((
                        "X-Security-Token".to_owned(),
                        token.expose_secret().to_owned(),
                    ));
                }
                headers.push((
                    dms_sign::SDK_DATE_HEADER.to_owned(),
                    dms_sign::sdk_date(OffsetDateTime::now_utc()),
                ));
                let signing = dms_sign::SigningRequest {
                    method: req.method.as_str(),
                    path: &decoded_path,
                    query: &req.query,
                    headers: &headers,
                    body: &req.body,
                };
                let authorization = dms_sign::authorization(
                    access_key,
                    secret_key.expose_secret().as_bytes(),
                    &signing,
                );
                extra.push(("Authorization", authorization, true));
            }
            Auth::Token(token) => {
                extra.push(("X-Auth-Token", token.expose_secret().to_owned(), true));
            }
            Auth::Anonymous => {}
        }
        if !req.body.is_empty() {
            extra.push((
                "Content-Type",
                "application/json;charset=utf8".to_owned(),
                false,
            ));
        }

        let mut request = Request::builder()
            .method(req.method.clone())
            .uri(uri)
            .body(req.body.clone())
            .map_err(|_| config_error("the endpoint and path do not form a valid URL"))?;
        let map = request.headers_mut();
        let all = headers
            .into_iter()
            .map(|(name, value)| {
                let sensitive = name.eq_ignore_ascii_case("X-Security-Token");
                (name, value, sensitive)
            })
            .chain(extra.into_iter().map(|(n, v, s)| (n.to_owned(), v, s)));
        for (name, value, sensitive) in all {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| config_error("invalid header name"))?;
            let value = header_value(&value, sensitive).ok_or_else(|| {
                config_error(&format!(
                    "a value of header {name} contains invalid characters"
                ))
            })?;
            map.insert(name, value);
        }
        Ok(request)
    }

    async fn attempt(
        &self,
        endpoint: &Endpoint,
        req: &ApiRequest,
        auth: &Auth,
    ) -> Result<Response<Bytes>, AttemptError> {
        let api = req.api;
        let observer = &self.inner.observer;
        let instance = instance_of(&req.segments);
        let signed = matches!(auth, Auth::Sign { .. });
        let attempt = endpoint
            .budget
            .begin(api, instance.unwrap_or(""), signed)
            .await
            .map_err(|not_sent| AttemptError::not_sent(api, &endpoint.host, not_sent))?;
        let turn = match instance {
            Some(instance) => Some(endpoint.budget.pacer().turn(api, instance).await),
            None => None,
        };
        let _permit = endpoint.budget.acquire().await;
        attempt
            .still_allowed()
            .map_err(|not_sent| AttemptError::not_sent(api, &endpoint.host, not_sent))?;
        let request = self.build_request(endpoint, req, auth)?;
        let started = Instant::now();
        let timeout = self.inner.request_timeout;
        let outcome = tokio::time::timeout(timeout, self.inner.transport.send(request)).await;
        let elapsed = started.elapsed();
        let response = match outcome {
            Err(_) | Ok(Err(TransportError::Timeout)) => {
                observer.request_finished(api, "timeout", elapsed);
                attempt.failed(ErrorKind::Timeout, true, false);
                return Err(ApiError::new(
                    api,
                    ErrorKind::Timeout,
                    format!("no response within {:.1} s", timeout.as_secs_f64()),
                )
                .into());
            }
            Ok(Err(error)) => {
                observer.request_finished(api, "transport_error", elapsed);
                attempt.failed(ErrorKind::Transport, true, false);
                return Err(ApiError::new(api, ErrorKind::Transport, error.to_string()).into());
            }
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        if status.is_success() {
            observer.request_finished(api, status.as_str(), elapsed);
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
        observer.request_finished(api, code, elapsed);
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, OffsetDateTime::now_utc()));
        let hold_off = self.inner.retry.adjust(Duration::ZERO, true, retry_after);
        if error.is_instance_throttled() {
            // DMS's own flow control is per instance and API: only that pair waits, and the
            // host's rate is left alone. The answer came from DMS, past the signature check.
            observer.throttled(api);
            match (turn, instance) {
                (Some(turn), _) => turn.answered(Some(hold_off)),
                (None, Some(instance)) => endpoint.budget.pacer().hold_off(api, instance, hold_off),
                (None, None) => {}
            }
            attempt.failed(ErrorKind::Throttled, false, true);
        } else if error.is_throttled() {
            observer.throttled(api);
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
    async fn execute(&self, req: &ApiRequest, auth: &Auth) -> Result<Response<Bytes>, ApiError> {
        let endpoint = self.endpoint(req.target, req.api)?;
        let policy = self.inner.retry;
        let observer = &self.inner.observer;
        let instance = instance_of(&req.segments).unwrap_or("");
        (|| self.attempt(endpoint, req, auth))
            .retry(policy.backoff())
            .sleep(tokio::time::sleep)
            .when(|e: &AttemptError| !e.not_sent && e.error.is_retryable())
            .adjust(|e: &AttemptError, delay: Option<Duration>| {
                let delay = policy.adjust(delay?, e.error.is_throttled(), e.retry_after);
                let held = endpoint.budget.backoff_remaining(req.api, instance);
                (held <= backoff::FIRST_DELAY).then_some(delay.max(held))
            })
            .notify(|e: &AttemptError, delay: Duration| {
                observer.retried(req.api);
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

    /// Sends a DMS request with the configured credentials; with a token, a 401 causes one
    /// token refresh and one more try.
    async fn send_dms(&self, req: &ApiRequest) -> Result<Response<Bytes>, ApiError> {
        match &self.inner.credentials {
            Credentials::AkSk { .. } => {
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
                    Self::hold_off_denied_api(self.endpoint(req.target, req.api)?, req, error);
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
                    Self::hold_off_denied_api(self.endpoint(req.target, req.api)?, req, error);
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

    async fn dms_get<T: DeserializeOwned>(
        &self,
        api: &'static str,
        segments: Vec<String>,
        query: Vec<(String, String)>,
    ) -> Result<T, ApiError> {
        let req = ApiRequest::get(api, Target::Dms, segments, query);
        let response = self.send_dms(&req).await?;
        decode(api, response.body())
    }

    // ----- IAM: token and project -----------------------------------------------------------

    async fn request_token(&self) -> Result<(SecretString, dto::TokenBody), ApiError> {
        const API: &str = "iam_token";
        let Credentials::Password {
            user,
            password,
            domain,
        } = &self.inner.credentials
        else {
            return Err(ApiError::new(
                API,
                ErrorKind::Config,
                "token auth needs password credentials",
            ));
        };
        let body = auth::token_request_body(user, password, domain, &self.inner.region);
        let req = ApiRequest {
            api: API,
            target: Target::Iam,
            method: Method::POST,
            segments: path(&["v3", "auth", "tokens"]),
            query: Vec::new(),
            body: Bytes::from(body),
        };
        let response = self.execute(&req, &Auth::Anonymous).await?;
        let token = response
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(|v| SecretString::from(v.to_owned()))
            .ok_or_else(|| {
                ApiError::new(
                    API,
                    ErrorKind::Decode,
                    "IAM answered without an X-Subject-Token header",
                )
            })?;
        let body = match decode::<dto::TokenResponse>(API, response.body()) {
            Ok(parsed) => parsed.token,
            Err(error) => {
                tracing::warn!(%error, "unreadable IAM token body; assuming a short validity");
                dto::TokenBody::default()
            }
        };
        Ok((token, body))
    }

    async fn fetch_token_locked(&self, state: &mut TokenState) -> Result<CachedToken, ApiError> {
        if let Some(error) = state.backing_off(Instant::now()) {
            return Err(error);
        }
        match self.request_token().await {
            Ok((value, body)) => {
                let (refresh_at, expires_at) = auth::token_schedule(
                    &body.expires_at,
                    &body.issued_at,
                    OffsetDateTime::now_utc(),
                    Instant::now(),
                );
                state.next_generation += 1;
                let token = CachedToken {
                    value,
                    generation: state.next_generation,
                    refresh_at,
                    expires_at,
                    project_id: body.project.map(|p| p.id).filter(|id| !id.is_empty()),
                };
                state.token = Some(token.clone());
                state.last_failure = None;
                Ok(token)
            }
            Err(error) => {
                let auth_failure = matches!(
                    error.kind,
                    ErrorKind::Unauthorized | ErrorKind::Forbidden | ErrorKind::ClientError
                );
                if auth_failure {
                    tracing::warn!(%error, "IAM rejected the credentials; not asking again for {} s", AUTH_FAILURE_BACKOFF.as_secs());
                    state.last_failure = Some((Instant::now(), error.clone()));
                } else if let Some(token) = state.unexpired(Instant::now()) {
                    tracing::warn!(%error, "IAM token refresh failed; using the current token until it expires");
                    return Ok(token);
                }
                Err(error)
            }
        }
    }

    /// The cached IAM token, fetched or refreshed when due (single-flight).
    async fn token(&self) -> Result<CachedToken, ApiError> {
        let mut state = self.inner.tokens.lock().await;
        if let Some(token) = state.fresh(Instant::now()) {
            return Ok(token);
        }
        self.fetch_token_locked(&mut state).await
    }

    /// After DMS rejected token `generation`: a new token, unless another task already got one.
    async fn refresh_rejected_token(&self, generation: u64) -> Result<CachedToken, ApiError> {
        let mut state = self.inner.tokens.lock().await;
        if let Some(token) = state.unexpired(Instant::now())
            && token.generation != generation
        {
            return Ok(token);
        }
        state.token = None;
        self.fetch_token_locked(&mut state).await
    }

    /// The project id: configured, or discovered once and cached.
    pub async fn project_id(&self) -> Result<String, ApiError> {
        if let Some(project_id) = &self.inner.configured_project_id {
            return Ok(project_id.clone());
        }
        self.inner
            .project_id
            .get_or_try_init(|| self.discover_project_id())
            .await
            .cloned()
    }

    async fn discover_project_id(&self) -> Result<String, ApiError> {
        {
            let failure = self
                .inner
                .project_failure
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some((at, error)) = failure.as_ref()
                && at.elapsed() < AUTH_FAILURE_BACKOFF
            {
                return Err(error.clone());
            }
        }
        let result = match &self.inner.credentials {
            Credentials::Password { .. } => {
                let token = self.token().await?;
                match token.project_id {
                    Some(project_id) => Ok(project_id),
                    None => self.list_projects(&Auth::Token(token.value)).await,
                }
            }
            Credentials::AkSk { .. } => self.list_projects(&Auth::Sign { project_id: None }).await,
        };
        if let Err(error) = &result
            && matches!(
                error.kind,
                ErrorKind::Unauthorized | ErrorKind::Forbidden | ErrorKind::Config
            )
        {
            *self
                .inner
                .project_failure
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), error.clone()));
        }
        result
    }

    async fn list_projects(&self, auth: &Auth) -> Result<String, ApiError> {
        const API: &str = "iam_projects";
        let region = self.inner.region.clone();
        let req = ApiRequest::get(
            API,
            Target::Iam,
            path(&["v3", "projects"]),
            query(&[("name", region.clone())]),
        );
        let response = self.execute(&req, auth).await?;
        let list: dto::ProjectList = decode(API, response.body())?;
        let exact: Vec<&dto::Project> = list.projects.iter().filter(|p| p.name == region).collect();
        let candidates: Vec<&dto::Project> = if exact.is_empty() {
            list.projects.iter().collect()
        } else {
            exact
        };
        match candidates.as_slice() {
            [project] if !project.id.is_empty() => Ok(project.id.clone()),
            [] | [_] => Err(ApiError::new(
                API,
                ErrorKind::Config,
                format!("IAM has no project named {region:?}; set project_id for this region"),
            )),
            many => Err(ApiError::new(
                API,
                ErrorKind::Config,
                format!(
                    "IAM has {} projects named {region:?}; set project_id for this region",
                    many.len()
                ),
            )),
        }
    }

    /// `/v2/{project_id}/instances/{instance_id}/<rest>`.
    fn instance_path(project_id: &str, instance_id: &str, rest: &[&str]) -> Vec<String> {
        let mut segments = path(&["v2", project_id, "instances", instance_id]);
        segments.extend(rest.iter().map(|s| (*s).to_owned()));
        segments
    }

    // ----- engine-agnostic endpoints ------------------------------------------------------

    /// All instances of an engine (R1, paged). When V2 answers 404 this call falls back to
    /// V1 (R28; its instances are marked `listed_by_v1`); the next call tries V2 again, so
    /// one stray 404 never switches an endpoint for good.
    pub async fn list_instances(&self, engine: &str) -> Result<Vec<dto::Instance>, ApiError> {
        let v2 = self.list_instances_v2(engine).await;
        let fell_back = matches!(&v2, Err(error) if error.kind == ErrorKind::NotFound);
        let was_v1 = self.inner.instances_v1.swap(fell_back, Ordering::Relaxed);
        if !fell_back {
            if was_v1 && v2.is_ok() {
                tracing::info!(engine, "V2 instance list answers again");
            }
            return v2;
        }
        if !was_v1 && let Err(error) = &v2 {
            tracing::info!(%error, engine, "V2 instance list not available; falling back to the V1 API");
        }
        let mut instances = self.list_instances_v1(engine).await?;
        for instance in &mut instances {
            instance.listed_by_v1 = true;
        }
        Ok(instances)
    }

    async fn list_instances_v2(&self, engine: &str) -> Result<Vec<dto::Instance>, ApiError> {
        self.list_instances_paged(engine, false).await
    }

    /// R28: V1 paging is undocumented; the examples use `start` (1-based) and `limit`.
    async fn list_instances_v1(&self, engine: &str) -> Result<Vec<dto::Instance>, ApiError> {
        self.list_instances_paged(engine, true).await
    }

    async fn list_instances_paged(
        &self,
        engine: &str,
        v1: bool,
    ) -> Result<Vec<dto::Instance>, ApiError> {
        let project_id = self.project_id().await?;
        let (api, segments) = if v1 {
            (
                "instances_list_v1",
                path(&["v1.0", &project_id, "instances"]),
            )
        } else {
            ("instances_list", path(&["v2", &project_id, "instances"]))
        };
        let mut instances = Vec::new();
        let mut seen = HashSet::new();
        let mut offset = 0u64;
        for _ in 0..MAX_PAGES {
            let position = if v1 {
                ("start", (offset + 1).to_string())
            } else {
                ("offset", offset.to_string())
            };
            let page: dto::InstanceList = self
                .dms_get(
                    api,
                    segments.clone(),
                    query(&[
                        ("engine", engine.to_owned()),
                        position,
                        ("limit", PAGE_LIMIT.to_string()),
                    ]),
                )
                .await?;
            let received = page.instances.len() as u64;
            let mut added = 0usize;
            for instance in page.instances {
                if seen.insert(instance.instance_id.clone()) {
                    instances.push(instance);
                    added += 1;
                }
            }
            offset += received;
            let done = match page.instance_num {
                Some(total) => instances.len() as u64 >= total,
                None => received < PAGE_LIMIT,
            };
            if done || received == 0 || added == 0 {
                break;
            }
        }
        Ok(instances)
    }

    /// Tags of an instance (R21 for Kafka: `/v2/{project_id}/{engine}/{instance_id}/tags`).
    pub async fn instance_tags(
        &self,
        engine: &str,
        instance_id: &str,
    ) -> Result<Vec<dto::Tag>, ApiError> {
        let api = tags_api(engine).ok_or_else(|| {
            ApiError::new(
                "tags",
                ErrorKind::Config,
                format!("unknown engine {engine:?}"),
            )
        })?;
        let project_id = self.project_id().await?;
        let engine = engine.to_ascii_lowercase();
        let list: dto::TagList = self
            .dms_get(
                api,
                path(&["v2", &project_id, &engine, instance_id, "tags"]),
                Vec::new(),
            )
            .await?;
        Ok(list.tags)
    }

    /// The most recent `limit` background tasks of an instance (R19).
    pub async fn tasks(&self, instance_id: &str, limit: u32) -> Result<dto::Tasks, ApiError> {
        let project_id = self.project_id().await?;
        self.dms_get(
            "tasks",
            path(&["v2", &project_id, "instances", instance_id, "tasks"]),
            query(&[
                ("start", "1".to_owned()),
                ("limit", limit.max(1).to_string()),
            ]),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_host_and_prefix() {
        let budgets = Budgets::new(crate::BudgetConfig::default());
        let e = parse_endpoint("https://DMS.cn-north-4.myhuaweicloud.com:443/", &budgets)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.host, "dms.cn-north-4.myhuaweicloud.com");
        assert_eq!(e.prefix, "");
        let e = parse_endpoint("http://127.0.0.1:8080/proxy", &budgets)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.host, "127.0.0.1:8080");
        assert_eq!(e.base, "http://127.0.0.1:8080");
        assert_eq!(e.prefix, "/proxy");
        assert!(parse_endpoint("ftp://x", &budgets).is_err());
        assert!(parse_endpoint("not a url", &budgets).is_err());
    }

    #[test]
    fn instance_of_finds_the_addressed_instance() {
        let segments = path(&["v2", "p", "instances", "i-1", "topics", "t"]);
        assert_eq!(instance_of(&segments), Some("i-1"));
        assert_eq!(instance_of(&path(&["v2", "p", "instances"])), None);
        assert_eq!(instance_of(&path(&["v3", "projects"])), None);
    }

    #[test]
    fn tag_api_names() {
        assert_eq!(tags_api("kafka"), Some("kafka_tags"));
        assert_eq!(tags_api("RabbitMQ"), Some("rabbitmq_tags"));
        assert_eq!(tags_api("other"), None);
    }
}
