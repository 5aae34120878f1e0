//! The configuration's shape, with defaults. Field docs are the reference in
//! docs/configuration.md.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

pub use crate::collect::settings::{
    CollectorSettings, CollectorsConfig, DEFAULT_JITTER, FiltersConfig, HumanDuration,
    InstanceFilter, NameFilter, Pattern, ShardingConfig,
};
pub use dms_cloud::Engine;

/// The whole configuration file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub credentials: CredentialsConfig,
    pub regions: Vec<Spanned<RegionConfig>>,
    #[serde(default)]
    pub collectors: CollectorsConfig,
    #[serde(default)]
    pub api: ApiConfig,
    #[serde(default)]
    pub filters: FiltersConfig,
    #[serde(default)]
    pub sharding: ShardingConfig,
}

/// Where credentials come from. Anything left empty falls back to the SDK environment
/// variables, then to files in `$CREDENTIALS_DIRECTORY`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsConfig {
    pub access_key: Option<String>,
    pub access_key_file: Option<String>,
    pub secret_key: Option<String>,
    pub secret_key_file: Option<String>,
    pub security_token: Option<String>,
    pub security_token_file: Option<String>,
    /// IAM password authentication instead of AK/SK.
    pub iam_user: Option<IamUserConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IamUserConfig {
    pub name: String,
    pub domain: String,
    pub password: Option<String>,
    pub password_file: Option<String>,
}

/// `Some` secrets as a placeholder, so `Debug` of a configuration never shows one.
fn hidden(secret: &Option<String>) -> Option<&'static str> {
    secret.as_ref().map(|_| super::redact::REDACTED)
}

impl fmt::Debug for CredentialsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialsConfig")
            .field("access_key", &self.access_key)
            .field("access_key_file", &self.access_key_file)
            .field("secret_key", &hidden(&self.secret_key))
            .field("secret_key_file", &self.secret_key_file)
            .field("security_token", &hidden(&self.security_token))
            .field("security_token_file", &self.security_token_file)
            .field("iam_user", &self.iam_user)
            .finish()
    }
}

impl fmt::Debug for IamUserConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IamUserConfig")
            .field("name", &self.name)
            .field("domain", &self.domain)
            .field("password", &hidden(&self.password))
            .field("password_file", &self.password_file)
            .finish()
    }
}

/// One region and its projects.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionConfig {
    pub name: String,
    /// DMS endpoint override, e.g. `https://dms.cn-north-4.myhuaweicloud.com`.
    pub endpoint: Option<String>,
    /// IAM endpoint override.
    pub iam_endpoint: Option<String>,
    /// Cloud Eye endpoint override (the `ces` collector), default
    /// `https://ces.{region}.myhuaweicloud.com`.
    pub ces_endpoint: Option<String>,
    /// Project ids to watch; empty means "the project named after the region", discovered
    /// through IAM (or `HUAWEICLOUD_SDK_PROJECT_ID`).
    #[serde(default)]
    pub projects: Vec<String>,
    #[serde(default = "default_engines")]
    pub engines: Vec<Engine>,
    /// Allows `http://` endpoints (a local simulator or a TLS-terminating proxy on the same
    /// host): without it they are refused with an IAM password and warned about otherwise.
    #[serde(default)]
    pub insecure_http: bool,
}

fn default_engines() -> Vec<Engine> {
    Engine::ALL.to_vec()
}

/// The API budget per endpoint host and the client's patience.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Requests per second per endpoint host, shared by the whole process.
    pub rate_limit: f64,
    pub burst: u32,
    /// Requests in flight per endpoint host.
    pub concurrency: usize,
    pub timeout: HumanDuration,
    pub max_retries: u32,
    /// Overrides per endpoint host (`dms.cn-north-4.myhuaweicloud.com`).
    pub hosts: BTreeMap<String, HostBudgetConfig>,
    /// PEM certificates trusted besides the system's roots, for DMS and IAM endpoints and
    /// proxies signed by a private CA. Read at start-up (a reload does not re-read it).
    pub ca_file: Option<String>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            // docs/configuration.md, "API budget": faster than a sequential SDK script, a
            // quarter of the gateway's documented 200 calls/s, and adaptive below it.
            rate_limit: 50.0,
            burst: 20,
            concurrency: 16,
            timeout: HumanDuration(Duration::from_secs(10)),
            max_retries: 3,
            hosts: BTreeMap::new(),
            ca_file: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostBudgetConfig {
    pub rate_limit: Option<f64>,
    pub burst: Option<u32>,
    pub concurrency: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_secret() {
        let credentials: CredentialsConfig = serde_saphyr::from_str(
            "access_key: AKVISIBLE\nsecret_key: SKHIDDEN\nsecurity_token: TOKENHIDDEN\niam_user: {name: u, domain: d, password: PWHIDDEN}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let debug = format!("{credentials:?}");
        assert!(debug.contains("AKVISIBLE"), "{debug}");
        for secret in ["SKHIDDEN", "TOKENHIDDEN", "PWHIDDEN"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        assert!(debug.contains("<redacted>"), "{debug}");
    }
}
