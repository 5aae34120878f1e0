//! Huawei Cloud DMS API client: transport, SDK-HMAC-SHA256 signing or IAM token auth, an API
//! budget per host, retries with backoff, and lenient DTOs.
//!
//! This crate knows HTTP and signing, not Prometheus: it reports what happened through
//! [`ApiObserver`], which the exporter implements.

pub mod apis;
pub mod auth;
pub mod budget;
mod client;
pub mod dto;
mod engine;
pub mod error;
mod locks;
pub mod provider;
pub mod retry;
pub mod transport;

use std::fmt;
use std::time::Duration;

pub use auth::Credentials;
pub use budget::{BudgetConfig, Budgets, Flow, HostBudget, HostStatus};
pub use client::{
    CallTally, ClientError, DENIED_API_HOLD_OFF, DmsClient, EndpointError, FLOW_CONTROL_CODE,
    MAX_POINTS_PER_ANSWER, MAX_QUERY_BYTES, MAX_SERIES_PER_QUERY, NOT_SENT_WITHOUT_KEYS,
};
pub use engine::Engine;
pub use error::{ApiError, ErrorKind};
pub use provider::{
    AgencySource, BaseKeys, CredentialProvider, CredentialSource, OidcAgencySource, ProviderStatus,
    RefreshError, SigningKeys,
};
pub use retry::RetryPolicy;
pub use transport::{ReqwestTransport, Transport, TransportError};

/// Receives what happened on the wire. Implementations must be cheap and must not block.
///
/// `host` is the endpoint host the request went to (`dms.cn-north-4.myhuaweicloud.com`, with
/// the port when not the scheme's), as the host schedulers name it: one region's failing API
/// stays visible among the others.
pub trait ApiObserver: Send + Sync + 'static {
    /// One finished HTTP attempt. `code` is the HTTP status as a string ("200", "429", ...),
    /// [`FLOW_CONTROL_CODE`] for DMS's flow control (a 404 `DMS.10240407`), or one of
    /// "timeout", "transport_error" when there was no response. Bounded values only.
    fn request_finished(&self, host: &str, api: &'static str, code: &str, elapsed: Duration);
    /// A 429 / APIG(W).0308 / 404 DMS.10240407 answer.
    fn throttled(&self, host: &str, api: &'static str);
    /// A retry is about to happen.
    fn retried(&self, host: &str, api: &'static str);
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopObserver;

impl ApiObserver for NoopObserver {
    fn request_finished(&self, _host: &str, _api: &'static str, _code: &str, _elapsed: Duration) {}
    fn throttled(&self, _host: &str, _api: &'static str) {}
    fn retried(&self, _host: &str, _api: &'static str) {}
}

/// Configuration of one client (one region × project × credentials).
#[derive(Clone)]
pub struct ClientConfig {
    pub region: String,
    /// DMS endpoint, e.g. `https://dms.cn-north-4.myhuaweicloud.com` (tests: `http://127.0.0.1:PORT`).
    pub endpoint: String,
    /// IAM endpoint, e.g. `https://iam.cn-north-4.myhuaweicloud.com`.
    pub iam_endpoint: String,
    /// Cloud Eye endpoint, e.g. `https://ces.cn-north-4.myhuaweicloud.com`: a host of its own,
    /// with its own request scheduler.
    pub ces_endpoint: String,
    /// STS endpoint, e.g. `https://sts.cn-north-4.myhuaweicloud.com`: asked whose keys these
    /// are (`caller-identity`) when an account's id is learnt; `None` for a client that never
    /// asks (no host scheduler of it then).
    pub sts_endpoint: Option<String>,
    /// `None`: discovered with `GET {iam}/v3/projects?name={region}` (AK/SK), or taken from the
    /// token body (password).
    pub project_id: Option<String>,
    pub credentials: Credentials,
    /// Timeout of every attempt (default 10 s).
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
}

/// Default timeout of one attempt.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

impl ClientConfig {
    /// A configuration with the default endpoints of `region`, a 10 s timeout and the default
    /// retry policy.
    pub fn new(region: impl Into<String>, credentials: Credentials) -> Self {
        let region = region.into();
        let (endpoint, iam_endpoint) = default_endpoints(&region);
        ClientConfig {
            ces_endpoint: service_endpoint("ces", &region),
            sts_endpoint: None,
            region,
            endpoint,
            iam_endpoint,
            project_id: None,
            credentials,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            retry: RetryPolicy::default(),
        }
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("iam_endpoint", &self.iam_endpoint)
            .field("project_id", &self.project_id)
            .field("credentials", &self.credentials)
            .field("request_timeout", &self.request_timeout)
            .field("retry", &self.retry)
            .finish()
    }
}

/// The region ids of the Huawei Cloud SDK's region tables (`huaweicloudsdkkafka`'s
/// `KafkaRegion`, 2025): a name outside them is probably a typo, but new regions appear, so
/// callers warn rather than refuse.
pub const KNOWN_REGIONS: &[&str] = &[
    "ae-ad-1",
    "af-north-1",
    "af-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "cn-east-2",
    "cn-east-3",
    "cn-east-4",
    "cn-east-5",
    "cn-north-1",
    "cn-north-2",
    "cn-north-4",
    "cn-north-9",
    "cn-north-11",
    "cn-north-12",
    "cn-south-1",
    "cn-south-2",
    "cn-south-4",
    "cn-southwest-2",
    "cn-southwest-3",
    "eu-west-0",
    "eu-west-101",
    "la-north-2",
    "la-south-2",
    "me-east-1",
    "my-kualalumpur-1",
    "na-mexico-1",
    "ru-moscow-1",
    "ru-northwest-2",
    "sa-brazil-1",
    "tr-west-1",
];

/// Whether the SDK's region tables know `region`.
pub fn is_known_region(region: &str) -> bool {
    KNOWN_REGIONS.contains(&region)
}

/// The default `(dms, iam)` endpoints of a region: `https://dms.{region}.myhuaweicloud.com` and
/// `https://iam.{region}.myhuaweicloud.com` (`.myhuaweicloud.eu` for eu-west-101).
pub fn default_endpoints(region: &str) -> (String, String) {
    (
        service_endpoint("dms", region),
        service_endpoint("iam", region),
    )
}

/// The default endpoint of `service` (`dms`, `iam`, `ces`) in `region`.
pub fn service_endpoint(service: &str, region: &str) -> String {
    let domain = if region == "eu-west-101" {
        "myhuaweicloud.eu"
    } else {
        "myhuaweicloud.com"
    };
    format!("https://{service}.{region}.{domain}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            default_endpoints("cn-north-4"),
            (
                "https://dms.cn-north-4.myhuaweicloud.com".to_owned(),
                "https://iam.cn-north-4.myhuaweicloud.com".to_owned()
            )
        );
        assert_eq!(
            default_endpoints("eu-west-101").0,
            "https://dms.eu-west-101.myhuaweicloud.eu"
        );
    }

    #[test]
    fn config_debug_hides_secrets() {
        let mut config = ClientConfig::new(
            "cn-north-4",
            Credentials::AkSk {
                access_key: "AKEXAMPLE0001".into(),
                secret_key: secrecy::SecretString::from("very-secret-sk-value".to_owned()),
                security_token: Some(secrecy::SecretString::from("temp-token-value".to_owned())),
            },
        );
        let text = format!("{config:?}");
        assert!(!text.contains("very-secret-sk-value"), "{text}");
        assert!(!text.contains("temp-token-value"), "{text}");
        config.credentials = Credentials::password("u", "hunter2-password", "d");
        let text = format!("{config:?}");
        assert!(!text.contains("hunter2-password"), "{text}");
    }
}
