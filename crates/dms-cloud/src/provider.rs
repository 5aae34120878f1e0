//! Credentials that expire: where they come from ([`CredentialSource`]) and the
//! [`CredentialProvider`] that keeps a current set, refreshed ahead of expiry.
//!
//! A refresh is due [`CredentialProvider::margin`] before the keys expire, or at half their
//! remaining life when that is sooner (so keys that live less than twice the margin are still
//! refreshed in time, and a source that hands back the same keys — the ECS metadata service
//! does until it rotates them ten minutes before expiry — is asked again later, not in a loop).
//! The current keys are kept until new ones arrive: a failed refresh is retried with capped
//! exponential backoff while they live, and counted. Keys past their expiry are never handed
//! out: a request that would need them is not sent.
//!
//! One provider belongs to one set of credentials (today the process's; later one per
//! account or agency): every client built with it shares its keys and its refreshes.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use time::OffsetDateTime;
use tokio::time::Instant;

use crate::locks::lock;
use crate::transport::Transport;

/// The default refresh margin: keys are renewed this long before they expire.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(15 * 60);
/// Keys are no longer used this long before they expire: a call takes up to its timeout,
/// and keys that would expire on the way would be refused.
pub const EXPIRY_GUARD: Duration = Duration::from_secs(10);
/// The least wait between two successful fetches, unless the keys expire sooner.
pub const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// The first wait after a failed refresh; it doubles with each failure in a row.
pub const FIRST_RETRY: Duration = Duration::from_secs(1);
/// The longest wait after failed refreshes.
pub const MAX_RETRY: Duration = Duration::from_secs(60);
/// The metadata service answers locally; the official SDKs give it three seconds.
pub const METADATA_TIMEOUT: Duration = Duration::from_secs(3);
/// Lifetime asked for a metadata session token (the SDKs' six hours).
const METADATA_SESSION_TTL_SECONDS: u64 = 21_600;
/// After the session-token API answered that it does not exist, it is not asked again for
/// this long (the SDKs' day).
const METADATA_SESSION_UNSUPPORTED: Duration = Duration::from_secs(24 * 3600);
/// IAM's answers may take longer than the local metadata service's.
pub const IAM_TIMEOUT: Duration = Duration::from_secs(10);
/// The default lifetime asked for keys bought with an id token (the Python SDK's six hours).
pub const DEFAULT_ID_TOKEN_KEY_LIFETIME: Duration = Duration::from_secs(6 * 3600);
/// The global IAM endpoint, the SDKs' default.
pub const GLOBAL_IAM_ENDPOINT: &str = "https://iam.myhuaweicloud.com";
/// A projected service-account token is a few KiB; anything far larger is not one.
const MAX_ID_TOKEN_BYTES: u64 = 64 * 1024;
/// The default address of the ECS metadata service.
pub const ECS_METADATA_ENDPOINT: &str = "http://169.254.169.254";

/// The keys one request is signed with.
#[derive(Clone)]
pub struct SigningKeys {
    pub access_key: String,
    pub secret_key: SecretString,
    /// Present with temporary keys: sent (and signed) as `X-Security-Token`.
    pub security_token: Option<SecretString>,
}

impl fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head: String = self.access_key.chars().take(4).collect();
        f.debug_struct("SigningKeys")
            .field("access_key", &format!("{head}…"))
            .field("secret_key", &"[REDACTED]")
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "[REDACTED]"),
            )
            .finish()
    }
}

/// The keys an agency is assumed with: fixed ones, or another provider's (the ECS metadata
/// service's, an id token's), fetched through it when they are needed.
#[derive(Clone)]
pub enum BaseKeys {
    Static(SigningKeys),
    Provided(CredentialProvider),
}

impl BaseKeys {
    /// Boxed: a provider's fetch may ask another provider (an agency its base's).
    fn keys(
        &self,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<SigningKeys, RefreshError>> + Send + '_>>
    {
        Box::pin(async move {
            match self {
                BaseKeys::Static(keys) => Ok(keys.clone()),
                BaseKeys::Provided(provider) => provider.keys().await,
            }
        })
    }
}

impl fmt::Debug for BaseKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BaseKeys::Static(keys) => f.debug_tuple("Static").field(keys).finish(),
            BaseKeys::Provided(provider) => f.debug_tuple("Provided").field(provider).finish(),
        }
    }
}

impl PartialEq for BaseKeys {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (BaseKeys::Static(a), BaseKeys::Static(b)) => {
                a.access_key == b.access_key
                    && a.secret_key.expose_secret() == b.secret_key.expose_secret()
            }
            (BaseKeys::Provided(a), BaseKeys::Provided(b)) => a.source() == b.source(),
            _ => false,
        }
    }
}

impl Eq for BaseKeys {}

/// An agency in another account (or this one), assumed through STS v5
/// (`POST {sts_endpoint}/v5/agencies/assume`, signed with the base keys).
#[derive(Clone)]
pub struct AgencySource {
    pub base: BaseKeys,
    pub sts_endpoint: String,
    /// `iam::{domain_id}:agency:{name}`.
    pub agency_urn: String,
    /// `agency_session_name`: who assumed it, in the other account's audit trail.
    pub session_name: String,
    /// What the agency's trust policy requires (`sts:ExternalId`); never shown.
    pub external_id: Option<SecretString>,
    /// `duration_seconds` asked for (at most an hour when the base keys are temporary:
    /// STS refuses longer for chained agencies).
    pub duration: Duration,
}

impl fmt::Debug for AgencySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgencySource")
            .field("base", &self.base)
            .field("sts_endpoint", &self.sts_endpoint)
            .field("agency_urn", &self.agency_urn)
            .field("session_name", &self.session_name)
            .field(
                "external_id",
                &self.external_id.as_ref().map(|_| "[REDACTED]"),
            )
            .field("duration", &self.duration)
            .finish()
    }
}

impl PartialEq for AgencySource {
    fn eq(&self, other: &Self) -> bool {
        self.base == other.base
            && self.sts_endpoint == other.sts_endpoint
            && self.agency_urn == other.agency_urn
            && self.session_name == other.session_name
            && self.external_id.as_ref().map(ExposeSecret::expose_secret)
                == other.external_id.as_ref().map(ExposeSecret::expose_secret)
            && self.duration == other.duration
    }
}

impl Eq for AgencySource {}

/// The longest session STS grants an agency assumed with temporary keys.
pub const CHAINED_AGENCY_LIMIT: Duration = Duration::from_secs(3600);

/// Where temporary keys come from. Each variant is one way the official SDKs obtain them,
/// each with its own fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialSource {
    /// The ECS metadata service (`GET {endpoint}/openstack/latest/securitykey`), with a
    /// session token (`PUT {endpoint}/meta-data/latest/api/token`) when the service offers
    /// one. Needs an agency bound to the ECS.
    EcsMetadata { endpoint: String },
    /// An OIDC id token (a CCE workload's projected service-account token, re-read at each
    /// refresh as the kubelet rotates it) exchanged at IAM for an unscoped token
    /// (`POST {iam_endpoint}/v3.0/OS-AUTH/id-token/tokens`, header `X-Idp-Id`), then for
    /// temporary keys (`POST {iam_endpoint}/v3.0/OS-CREDENTIAL/securitytokens`) that live
    /// `lifetime` — the official Python SDK's route.
    IdToken {
        iam_endpoint: String,
        idp_id: String,
        token_file: std::path::PathBuf,
        lifetime: Duration,
    },
    /// Keys of an agency, bought with base keys at STS (cross-account monitoring).
    Agency(Box<AgencySource>),
    /// Keys of an agency that trusts an OIDC identity provider, bought with the id token
    /// alone (`POST {sts_endpoint}/v5/agencies/assume-with-oidc`, unsigned; the token is
    /// re-read at each refresh): STS v5's route for a CCE workload, no IAM token between.
    OidcAgency(Box<OidcAgencySource>),
}

/// An agency assumed with an OIDC id token at STS v5.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcAgencySource {
    pub sts_endpoint: String,
    /// The identity provider's URN, `iam::{domain_id}:identity-provider:{name}`.
    pub provider_urn: String,
    /// `iam::{domain_id}:agency:{name}`.
    pub agency_urn: String,
    pub session_name: String,
    pub token_file: std::path::PathBuf,
    /// `duration_seconds` asked for.
    pub duration: Duration,
}

impl CredentialSource {
    /// The bounded name of the source (the `source` label of the credential metrics).
    pub fn label(&self) -> &'static str {
        match self {
            CredentialSource::EcsMetadata { .. } => "ecs_metadata",
            CredentialSource::IdToken { .. } => "id_token",
            CredentialSource::Agency(_) => "agency",
            CredentialSource::OidcAgency(_) => "oidc_agency",
        }
    }

    /// How long one request of this source may take.
    fn timeout(&self) -> Duration {
        match self {
            CredentialSource::EcsMetadata { .. } => METADATA_TIMEOUT,
            CredentialSource::IdToken { .. }
            | CredentialSource::Agency(_)
            | CredentialSource::OidcAgency(_) => IAM_TIMEOUT,
        }
    }
}

/// Why keys could not be obtained. Never carries a key, a token or an answer's body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefreshError {
    #[error("{source_name}: no answer from {url}: {reason}")]
    Unreachable {
        source_name: &'static str,
        url: String,
        reason: String,
    },
    #[error("{source_name}: {url} answered HTTP {status}{hint}")]
    Refused {
        source_name: &'static str,
        url: String,
        status: u16,
        hint: &'static str,
    },
    #[error("{source_name}: cannot read the id token file {path}: {reason}")]
    TokenFile {
        source_name: &'static str,
        path: String,
        reason: String,
    },
    #[error("{source_name}: unusable answer from {url}: {reason}")]
    Unusable {
        source_name: &'static str,
        url: String,
        reason: &'static str,
    },
}

/// What the credential metrics show of one provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderStatus {
    pub source: &'static str,
    /// When the current keys expire (`None` before the first keys arrive).
    pub expires_at: Option<OffsetDateTime>,
    /// Refreshes that failed since the provider was made.
    pub failed_refreshes: u64,
    /// Refreshes that failed since the last one that succeeded.
    pub consecutive_failures: u32,
}

/// Keys and their lifetime, by both clocks: tokio's decides (tests pause it), the wall
/// clock's is shown.
#[derive(Clone)]
struct Issued {
    keys: SigningKeys,
    expires: Instant,
    expires_at: OffsetDateTime,
}

/// The metadata service's session token, or that it has none.
#[derive(Clone)]
enum Session {
    Token { value: SecretString, until: Instant },
    Unsupported { until: Instant },
}

#[derive(Default)]
struct State {
    issued: Option<Issued>,
    consecutive_failures: u32,
    last_failure: Option<(Instant, RefreshError)>,
    /// When the refresh task next fetches (after a success: ahead of expiry; after a
    /// failure: the backoff); `None` until the first fetch.
    next_refresh: Option<Instant>,
    /// Whether the log said that no unexpired keys are left (once per spell of failures).
    told_without_keys: bool,
    session: Option<Session>,
}

struct Inner {
    source: CredentialSource,
    transport: Arc<dyn Transport>,
    margin: Duration,
    state: Mutex<State>,
    /// One fetch at a time: the refresh task and a request that found no keys share it.
    fetching: tokio::sync::Mutex<()>,
    failed_refreshes: AtomicU64,
    /// Counts the sets of keys received: a new set may be the fix for keys the gateway
    /// rejected, which whoever holds signed calls back wants to know at once.
    renewals: tokio::sync::watch::Sender<u64>,
}

/// Keeps the current keys of one [`CredentialSource`]. Cheap to clone: clones share them.
#[derive(Clone)]
pub struct CredentialProvider {
    inner: Arc<Inner>,
}

impl fmt::Debug for CredentialProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialProvider")
            .field("source", &self.inner.source.label())
            .field("margin", &self.inner.margin)
            .finish_non_exhaustive()
    }
}

/// The body of `securitykey` (and of IAM's `securitytokens`; STS's is `credentials`).
#[derive(Deserialize)]
struct SecurityKeyBody {
    #[serde(alias = "credentials")]
    credential: SecurityKey,
}

/// The names the official Python SDK accepts for each field (`StsAccessor`).
#[derive(Deserialize)]
struct SecurityKey {
    #[serde(alias = "accessKeyId", alias = "access_key_id")]
    access: String,
    #[serde(alias = "secretAccessKey", alias = "secret_access_key")]
    secret: SecretString,
    #[serde(alias = "securityToken", alias = "security_token")]
    securitytoken: Option<SecretString>,
    #[serde(alias = "expiration")]
    expires_at: String,
}

/// The wait after `failures` failed refreshes in a row (the first is 1).
fn retry_delay(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    FIRST_RETRY.saturating_mul(1u32 << doublings).min(MAX_RETRY)
}

/// The wait before refreshing keys that have `remaining` to live.
fn refresh_delay(remaining: Duration, margin: Duration) -> Duration {
    let ahead = margin.min(remaining / 2);
    remaining
        .saturating_sub(ahead)
        .max(MIN_REFRESH_INTERVAL.min(remaining / 2))
        .max(Duration::from_millis(100))
}

impl CredentialProvider {
    /// A provider of `source`'s keys, renewed `margin` before they expire.
    pub fn new(source: CredentialSource, transport: Arc<dyn Transport>, margin: Duration) -> Self {
        CredentialProvider {
            inner: Arc::new(Inner {
                source,
                transport,
                margin,
                state: Mutex::new(State::default()),
                fetching: tokio::sync::Mutex::new(()),
                failed_refreshes: AtomicU64::new(0),
                renewals: tokio::sync::watch::Sender::new(0),
            }),
        }
    }

    pub fn source(&self) -> &CredentialSource {
        &self.inner.source
    }

    pub fn margin(&self) -> Duration {
        self.inner.margin
    }

    /// Changes each time new keys (another access key) arrive.
    pub fn renewals(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.renewals.subscribe()
    }

    pub fn status(&self) -> ProviderStatus {
        let state = lock(&self.inner.state);
        ProviderStatus {
            source: self.inner.source.label(),
            // From tokio's clock, which decides, placed on the wall clock now: the two
            // agree in production, and tests with paused time see the remaining life.
            expires_at: state.issued.as_ref().map(|issued| {
                OffsetDateTime::now_utc() + issued.expires.saturating_duration_since(Instant::now())
            }),
            failed_refreshes: self.inner.failed_refreshes.load(Ordering::Relaxed),
            consecutive_failures: state.consecutive_failures,
        }
    }

    /// The current keys while they have not expired (with [`EXPIRY_GUARD`] to spare).
    pub fn current(&self) -> Option<SigningKeys> {
        let state = lock(&self.inner.state);
        state
            .issued
            .as_ref()
            .filter(|issued| Instant::now() + EXPIRY_GUARD < issued.expires)
            .map(|issued| issued.keys.clone())
    }

    /// Keys to sign with now: the current ones, or fetched when there are none — unless a
    /// fetch failed within its backoff, whose error is returned instead of asking again.
    pub async fn keys(&self) -> Result<SigningKeys, RefreshError> {
        if let Some(keys) = self.current() {
            return Ok(keys);
        }
        let _one_fetch = self.inner.fetching.lock().await;
        if let Some(keys) = self.current() {
            return Ok(keys);
        }
        if let Some(error) = self.backing_off() {
            return Err(error);
        }
        self.fetch_and_keep().await.map(|(keys, _)| keys)
    }

    /// The last error while its backoff lasts.
    fn backing_off(&self) -> Option<RefreshError> {
        let state = lock(&self.inner.state);
        let (at, error) = state.last_failure.as_ref()?;
        (Instant::now() < *at + retry_delay(state.consecutive_failures)).then(|| error.clone())
    }

    /// Refreshes now (the next refresh is then scheduled).
    pub async fn refresh(&self) {
        let _one_fetch = self.inner.fetching.lock().await;
        // The outcome is kept in the state, and logged.
        let _ = self.fetch_and_keep().await;
    }

    /// Refreshes ahead of expiry (and retries failures) until the future is dropped. Keys a
    /// request already fetched are not fetched again before they are due.
    pub async fn run(&self) {
        loop {
            let due = lock(&self.inner.state).next_refresh;
            match due {
                Some(at) if Instant::now() < at => tokio::time::sleep_until(at).await,
                _ => self.refresh().await,
            }
        }
    }

    /// Fetches keys and keeps them (or keeps the old ones and records the failure).
    async fn fetch_and_keep(&self) -> Result<(SigningKeys, Duration), RefreshError> {
        let source = self.inner.source.label();
        let result = match &self.inner.source {
            CredentialSource::EcsMetadata { endpoint } => self.fetch_metadata(endpoint).await,
            CredentialSource::IdToken {
                iam_endpoint,
                idp_id,
                token_file,
                lifetime,
            } => {
                self.fetch_with_id_token(iam_endpoint, idp_id, token_file, *lifetime)
                    .await
            }
            CredentialSource::Agency(agency) => self.fetch_agency(agency).await,
            CredentialSource::OidcAgency(agency) => self.fetch_oidc_agency(agency).await,
        };
        let mut state = lock(&self.inner.state);
        match result {
            Ok(issued) => {
                let remaining = issued.expires.saturating_duration_since(Instant::now());
                let next = refresh_delay(remaining, self.inner.margin);
                let renewed = state
                    .issued
                    .as_ref()
                    .is_none_or(|old| old.keys.access_key != issued.keys.access_key);
                if state.consecutive_failures > 0 {
                    tracing::info!(
                        source,
                        failures = state.consecutive_failures,
                        "temporary credentials refreshed again"
                    );
                }
                if renewed {
                    tracing::info!(
                        source,
                        expires_at = %issued.expires_at,
                        next_refresh_s = next.as_secs(),
                        "new temporary credentials"
                    );
                }
                let keys = issued.keys.clone();
                state.issued = Some(issued);
                if renewed {
                    self.inner.renewals.send_modify(|count| *count += 1);
                }
                state.consecutive_failures = 0;
                state.told_without_keys = false;
                state.last_failure = None;
                state.next_refresh = Some(Instant::now() + next);
                Ok((keys, next))
            }
            Err(error) => {
                self.inner.failed_refreshes.fetch_add(1, Ordering::Relaxed);
                state.consecutive_failures = state.consecutive_failures.saturating_add(1);
                let still_valid = state
                    .issued
                    .as_ref()
                    .map(|issued| {
                        issued
                            .expires
                            .saturating_duration_since(Instant::now() + EXPIRY_GUARD)
                    })
                    .filter(|left| !left.is_zero());
                // Said once per change of state (failing, then without keys); the retries
                // go to debug.
                if still_valid.is_none() && !state.told_without_keys {
                    state.told_without_keys = true;
                    tracing::warn!(
                        %error,
                        failures = state.consecutive_failures,
                        "no unexpired temporary credentials; requests are not sent until new keys arrive"
                    );
                } else if state.consecutive_failures == 1 {
                    tracing::warn!(
                        %error,
                        current_keys_expire_in_s = still_valid.unwrap_or_default().as_secs(),
                        "refreshing temporary credentials failed; the current keys are used until they expire"
                    );
                } else {
                    tracing::debug!(
                        %error,
                        failures = state.consecutive_failures,
                        "refreshing temporary credentials failed again"
                    );
                }
                state.last_failure = Some((Instant::now(), error.clone()));
                state.next_refresh = Some(Instant::now() + retry_delay(state.consecutive_failures));
                Err(error)
            }
        }
    }

    async fn send(
        &self,
        request: Request<Bytes>,
        url: &str,
    ) -> Result<http::Response<Bytes>, RefreshError> {
        let source_name = self.inner.source.label();
        let unreachable = |reason: String| RefreshError::Unreachable {
            source_name,
            url: url.to_owned(),
            reason,
        };
        let timeout = self.inner.source.timeout();
        match tokio::time::timeout(timeout, self.inner.transport.send(request)).await {
            Err(_) => Err(unreachable(format!(
                "no answer within {} s",
                timeout.as_secs()
            ))),
            Ok(Err(error)) => Err(unreachable(error.to_string())),
            Ok(Ok(response)) => Ok(response),
        }
    }

    /// The metadata session token to send, asking for one when none is known.
    async fn metadata_session(&self, endpoint: &str) -> Option<SecretString> {
        let now = Instant::now();
        match lock(&self.inner.state).session.clone() {
            Some(Session::Token { value, until }) if now < until => return Some(value),
            Some(Session::Unsupported { until }) if now < until => return None,
            _ => {}
        }
        let url = format!("{endpoint}/meta-data/latest/api/token");
        let request = Request::builder()
            .method(Method::PUT)
            .uri(&url)
            .header(
                "X-Metadata-Token-Ttl-Seconds",
                METADATA_SESSION_TTL_SECONDS.to_string(),
            )
            .body(Bytes::new())
            .ok()?;
        let response = self.send(request, &url).await.ok()?;
        let status = response.status();
        let session = if status.is_success() {
            let value = std::str::from_utf8(response.body()).ok()?.trim().to_owned();
            if value.is_empty() {
                return None;
            }
            // Renewed well before the service would drop it.
            let ttl = Duration::from_secs(METADATA_SESSION_TTL_SECONDS);
            Session::Token {
                value: SecretString::from(value),
                until: now + ttl / 2,
            }
        } else if matches!(
            status,
            StatusCode::NOT_FOUND
                | StatusCode::METHOD_NOT_ALLOWED
                | StatusCode::SERVICE_UNAVAILABLE
        ) {
            Session::Unsupported {
                until: now + METADATA_SESSION_UNSUPPORTED,
            }
        } else {
            // Another answer says nothing lasting: go without a token this time.
            return None;
        };
        let token = match &session {
            Session::Token { value, .. } => Some(value.clone()),
            Session::Unsupported { .. } => None,
        };
        lock(&self.inner.state).session = Some(session);
        token
    }

    /// The id token, as the file holds it now.
    fn read_id_token(&self, path: &std::path::Path) -> Result<SecretString, RefreshError> {
        let error = |reason: String| RefreshError::TokenFile {
            source_name: self.inner.source.label(),
            path: path.display().to_string(),
            reason,
        };
        // The reasons are the I/O errors', which never quote the file.
        let length = std::fs::metadata(path)
            .map_err(|e| error(e.to_string()))?
            .len();
        if length > MAX_ID_TOKEN_BYTES {
            return Err(error(format!(
                "{length} bytes, more than an id token's {MAX_ID_TOKEN_BYTES}"
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
        let token = text.trim();
        if token.is_empty() {
            return Err(error("the file is empty".to_owned()));
        }
        Ok(SecretString::from(token.to_owned()))
    }

    /// POSTs `body` to `url`; the answer when it is a success, else why not.
    async fn post_json(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &serde_json::Value,
    ) -> Result<http::Response<Bytes>, RefreshError> {
        let source_name = self.inner.source.label();
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri(url)
            .header("Content-Type", "application/json;charset=UTF-8");
        for (name, value) in headers {
            // Tokens among them: marked sensitive, so no HTTP layer ever shows them.
            let mut value =
                http::HeaderValue::from_str(value).map_err(|_| RefreshError::Unusable {
                    source_name,
                    url: url.to_owned(),
                    reason: "a header value is not valid",
                })?;
            value.set_sensitive(true);
            builder = builder.header(*name, value);
        }
        let request =
            builder
                .body(Bytes::from(body.to_string()))
                .map_err(|_| RefreshError::Unusable {
                    source_name,
                    url: url.to_owned(),
                    reason: "the endpoint does not form a valid URL, or a header is not valid",
                })?;
        let response = self.send(request, url).await?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(RefreshError::Refused {
                source_name,
                url: url.to_owned(),
                status: response.status().as_u16(),
                hint: match response.status() {
                    StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                        " (is the identity provider's id right, and does it trust this token's issuer and subject?)"
                    }
                    _ => "",
                },
            })
        }
    }

    async fn fetch_with_id_token(
        &self,
        iam_endpoint: &str,
        idp_id: &str,
        token_file: &std::path::Path,
        lifetime: Duration,
    ) -> Result<Issued, RefreshError> {
        let source_name = self.inner.source.label();
        let iam = iam_endpoint.trim_end_matches('/');
        let id_token = self.read_id_token(token_file)?;
        let url = format!("{iam}/v3.0/OS-AUTH/id-token/tokens");
        let body =
            serde_json::json!({ "auth": { "id_token": { "id": id_token.expose_secret() } } });
        let response = self.post_json(&url, &[("X-Idp-Id", idp_id)], &body).await?;
        let token = response
            .headers()
            .get("x-subject-token")
            .and_then(|value| value.to_str().ok())
            .filter(|value| !value.is_empty())
            .map(|value| SecretString::from(value.to_owned()))
            .ok_or(RefreshError::Unusable {
                source_name,
                url,
                reason: "no X-Subject-Token header",
            })?;
        let url = format!("{iam}/v3.0/OS-CREDENTIAL/securitytokens");
        // The token goes in the header, as IAM documents it now, and in the body, where the
        // official SDK still puts it.
        let body = serde_json::json!({
            "auth": { "identity": {
                "methods": ["token"],
                "token": { "id": token.expose_secret(), "duration_seconds": lifetime.as_secs() },
            } }
        });
        let response = self
            .post_json(&url, &[("X-Auth-Token", token.expose_secret())], &body)
            .await?;
        issued_from(response.body(), OffsetDateTime::now_utc(), Instant::now()).map_err(|reason| {
            RefreshError::Unusable {
                source_name,
                url,
                reason,
            }
        })
    }

    /// `POST {sts}/v5/agencies/assume-with-oidc` with the id token (unsigned: STS checks the
    /// token against the identity provider's keys).
    async fn fetch_oidc_agency(&self, agency: &OidcAgencySource) -> Result<Issued, RefreshError> {
        let source_name = self.inner.source.label();
        let url = format!(
            "{}/v5/agencies/assume-with-oidc",
            agency.sts_endpoint.trim_end_matches('/')
        );
        let id_token = self.read_id_token(&agency.token_file)?;
        let body = serde_json::json!({
            "provider_urn": agency.provider_urn,
            "agency_urn": agency.agency_urn,
            "agency_session_name": agency.session_name,
            "id_token": id_token.expose_secret(),
            "duration_seconds": agency.duration.as_secs(),
        });
        let response = self.post_json(&url, &[], &body).await?;
        issued_from(response.body(), OffsetDateTime::now_utc(), Instant::now()).map_err(|reason| {
            RefreshError::Unusable {
                source_name,
                url,
                reason,
            }
        })
    }

    /// `POST {sts}/v5/agencies/assume`, signed with the base keys (and their security token).
    async fn fetch_agency(&self, agency: &AgencySource) -> Result<Issued, RefreshError> {
        let source_name = self.inner.source.label();
        let url = format!(
            "{}/v5/agencies/assume",
            agency.sts_endpoint.trim_end_matches('/')
        );
        let unusable = |reason: &'static str| RefreshError::Unusable {
            source_name,
            url: url.clone(),
            reason,
        };
        let base = agency.base.keys().await?;
        let duration = if base.security_token.is_some() {
            agency.duration.min(CHAINED_AGENCY_LIMIT)
        } else {
            agency.duration
        };
        let mut body = serde_json::json!({
            "agency_urn": agency.agency_urn,
            "agency_session_name": agency.session_name,
            "duration_seconds": duration.as_secs(),
        });
        if let Some(external_id) = &agency.external_id {
            body["external_id"] = serde_json::Value::from(external_id.expose_secret());
        }
        let body = Bytes::from(body.to_string());
        let uri: http::Uri = url
            .parse()
            .map_err(|_| unusable("the STS endpoint does not form a valid URL"))?;
        let host = uri
            .authority()
            .map(|authority| authority.as_str().to_owned())
            .ok_or_else(|| unusable("the STS endpoint has no host"))?;
        let mut headers = vec![("Host".to_owned(), host)];
        if let Some(token) = &base.security_token {
            headers.push((
                "X-Security-Token".to_owned(),
                token.expose_secret().to_owned(),
            ));
        }
        headers.push((
            dms_sign::SDK_DATE_HEADER.to_owned(),
            dms_sign::sdk_date(OffsetDateTime::now_utc()),
        ));
        let path = dms_sign::decode_path(uri.path());
        let signing = dms_sign::SigningRequest {
            method: "POST",
            path: &path,
            query: &[],
            headers: &headers,
            body: &body,
        };
        let authorization = dms_sign::authorization(
            &base.access_key,
            base.secret_key.expose_secret().as_bytes(),
            &signing,
        );
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header("Content-Type", "application/json;charset=UTF-8");
        for (name, value) in headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .chain([("Authorization", authorization.as_str())])
        {
            let mut value = http::HeaderValue::from_str(value)
                .map_err(|_| unusable("a header value is not valid"))?;
            value.set_sensitive(true);
            builder = builder.header(name, value);
        }
        let request = builder
            .body(body)
            .map_err(|_| unusable("the request could not be built"))?;
        let response = self.send(request, &url).await?;
        let status = response.status();
        if !status.is_success() {
            return Err(RefreshError::Refused {
                source_name,
                url,
                status: status.as_u16(),
                hint: match status {
                    StatusCode::UNAUTHORIZED => {
                        " (STS rejected the base credentials' signature or security token)"
                    }
                    StatusCode::FORBIDDEN => {
                        " (does the agency exist, trust this account's principal, and require this external_id?)"
                    }
                    StatusCode::BAD_REQUEST => {
                        " (is the duration within the agency's longest session, one hour when the base keys are temporary?)"
                    }
                    _ => "",
                },
            });
        }
        issued_from(response.body(), OffsetDateTime::now_utc(), Instant::now()).map_err(|reason| {
            RefreshError::Unusable {
                source_name,
                url,
                reason,
            }
        })
    }

    async fn fetch_metadata(&self, endpoint: &str) -> Result<Issued, RefreshError> {
        let source_name = self.inner.source.label();
        let endpoint = endpoint.trim_end_matches('/');
        let url = format!("{endpoint}/openstack/latest/securitykey");
        // A 401 with a session token may mean the token lapsed: one more try with a new one.
        for attempt in 0..2 {
            let session = self.metadata_session(endpoint).await;
            let mut builder = Request::builder().method(Method::GET).uri(&url);
            if let Some(token) = &session {
                builder = builder.header("X-Metadata-Token", token.expose_secret());
            }
            let request = builder
                .body(Bytes::new())
                .map_err(|_| RefreshError::Unusable {
                    source_name,
                    url: url.clone(),
                    reason: "the endpoint does not form a valid URL",
                })?;
            let response = self.send(request, &url).await?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED {
                // The body is not quoted: it could echo what was sent.
                let no_agency = String::from_utf8_lossy(response.body())
                    .contains("Please configure Cloud Service Agency first");
                if !no_agency && session.is_some() && attempt == 0 {
                    lock(&self.inner.state).session = None;
                    continue;
                }
                return Err(RefreshError::Refused {
                    source_name,
                    url,
                    status: status.as_u16(),
                    hint: if no_agency {
                        " (no agency is bound to this ECS: bind one with DMS read permissions)"
                    } else {
                        ""
                    },
                });
            }
            if !status.is_success() {
                return Err(RefreshError::Refused {
                    source_name,
                    url,
                    status: status.as_u16(),
                    hint: "",
                });
            }
            return issued_from(response.body(), OffsetDateTime::now_utc(), Instant::now())
                .map_err(|reason| RefreshError::Unusable {
                    source_name,
                    url,
                    reason,
                });
        }
        Err(RefreshError::Refused {
            source_name,
            url,
            status: StatusCode::UNAUTHORIZED.as_u16(),
            hint: "",
        })
    }
}

/// The keys of a `{"credential":{"access","secret","securitytoken","expires_at"}}` body, their
/// expiry placed on tokio's clock by its distance from the wall clock `wall_now`.
fn issued_from(
    body: &[u8],
    wall_now: OffsetDateTime,
    now: Instant,
) -> Result<Issued, &'static str> {
    // The parse error is not kept: it could quote the body.
    let parsed: SecurityKeyBody =
        serde_json::from_slice(body).map_err(|_| "not a credential body")?;
    let key = parsed.credential;
    if key.access.trim().is_empty() || key.secret.expose_secret().trim().is_empty() {
        return Err("the access or secret key is empty");
    }
    let expires_at = OffsetDateTime::parse(
        key.expires_at.trim(),
        &time::format_description::well_known::Rfc3339,
    )
    .map_err(|_| "expires_at is not an RFC 3339 time")?;
    let remaining = Duration::try_from(expires_at - wall_now)
        .ok()
        .filter(|left| !left.is_zero())
        .ok_or("the keys have already expired (is the clock right?)")?;
    Ok(Issued {
        keys: SigningKeys {
            access_key: key.access.trim().to_owned(),
            secret_key: key.secret,
            security_token: key
                .securitytoken
                .filter(|token| !token.expose_secret().trim().is_empty()),
        },
        expires: now + remaining,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_comes_a_margin_early_or_at_half_the_remaining_life() {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        assert_eq!(refresh_delay(minutes(60), minutes(15)), minutes(45));
        // The metadata service hands back the same keys until it rotates them 10 min before
        // expiry: asked again at half the rest, past the rotation.
        assert_eq!(
            refresh_delay(minutes(15), minutes(15)),
            Duration::from_secs(450)
        );
        assert_eq!(refresh_delay(minutes(20), minutes(5)), minutes(15));
        assert_eq!(
            refresh_delay(Duration::from_secs(20), minutes(15)),
            Duration::from_secs(10),
            "never after the expiry"
        );
    }

    #[test]
    fn failed_refreshes_back_off_to_a_minute() {
        let waits: Vec<u64> = (1..=9).map(|n| retry_delay(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(retry_delay(u32::MAX), MAX_RETRY);
    }

    #[test]
    fn a_credential_body_is_read_with_either_time_form() {
        let wall = OffsetDateTime::from_unix_timestamp(1_700_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let now = Instant::now();
        for expires in ["2023-11-14T23:13:20.000000Z", "2023-11-14T23:13:20Z"] {
            let body = format!(
                r#"{{"credential":{{"access":"TMPAK","secret":"tmp-secret","securitytoken":"tok","expires_at":"{expires}"}}}}"#
            );
            let issued = issued_from(body.as_bytes(), wall, now).map_err(str::to_owned);
            let issued = issued.unwrap_or_else(|e| panic!("{expires}: {e}"));
            assert_eq!(issued.expires - now, Duration::from_secs(3600));
            assert_eq!(issued.keys.access_key, "TMPAK");
            assert!(issued.keys.security_token.is_some());
        }
        let sts = br#"{"credentials":{"access_key_id":"STSAK","secret_access_key":"s","security_token":"t","expiration":"2023-11-14T22:53:20Z"}}"#;
        let issued = issued_from(sts, wall, now).map_err(str::to_owned);
        assert_eq!(
            issued.map(|i| (i.keys.access_key, i.expires - now)),
            Ok(("STSAK".to_owned(), Duration::from_secs(2400))),
            "STS's field names, as the SDK reads them"
        );
        let past =
            br#"{"credential":{"access":"A","secret":"S","expires_at":"2023-11-14T21:00:00Z"}}"#;
        assert!(issued_from(past, wall, now).is_err());
        let secret_in_garbage = br#"{"credential":{"access":"A","secret":"leaky-secret"}}"#;
        let error = issued_from(secret_in_garbage, wall, now)
            .err()
            .unwrap_or_default();
        assert!(!error.contains("leaky-secret"), "{error}");
        assert!(issued_from(b"<html>", wall, now).is_err());
    }

    #[test]
    fn debug_shows_no_key() {
        let keys = SigningKeys {
            access_key: "TEMPORARYAK1234".to_owned(),
            secret_key: SecretString::from("temporary-secret".to_owned()),
            security_token: Some(SecretString::from("session-token-value".to_owned())),
        };
        let text = format!("{keys:?}");
        for secret in ["TEMPORARYAK1234", "temporary-secret", "session-token-value"] {
            assert!(!text.contains(secret), "{text}");
        }
    }
}
