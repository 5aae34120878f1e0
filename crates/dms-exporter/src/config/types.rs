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
    /// The regions of the one account of `credentials` (a file without `accounts:`).
    #[serde(default)]
    pub regions: Vec<Spanned<RegionConfig>>,
    /// Several accounts, each with its credentials and regions, instead of the top-level
    /// `credentials` and `regions` (docs/configuration.md, "Several accounts").
    #[serde(default)]
    pub accounts: Vec<Spanned<AccountConfig>>,
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
    /// Which source gives the credentials; unset, the chain decides (docs/configuration.md).
    pub source: Option<CredentialSourceName>,
    /// Where the ECS metadata service is (`source: ecs_metadata`).
    pub ecs_metadata: Option<EcsMetadataConfig>,
    /// The OIDC id token and the IAM identity provider (`source: id_token`).
    pub id_token: Option<IdTokenConfig>,
    /// Temporary keys are renewed this long before they expire (default 15m).
    pub refresh_margin: Option<HumanDuration>,
    /// Assume this agency with the keys the rest of the block gives (STS).
    pub agency: Option<AgencyConfig>,
    /// Never valid here: the external id belongs in `agency` (kept to say so, with the line).
    pub external_id: Option<String>,
}

/// `credentials.agency`: an agency (in another account, usually) assumed through STS v5
/// with the block's own keys, whose temporary keys then sign every call.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgencyConfig {
    /// The agency's URN, `iam::{domain_id}:agency:{name}`; or `domain_id` and `name`.
    pub urn: Option<String>,
    /// The account (domain) id that owns the agency.
    pub domain_id: Option<String>,
    /// The agency's name.
    pub name: Option<String>,
    /// What the agency's trust policy requires (`sts:ExternalId`).
    pub external_id: Option<String>,
    /// Who assumed it, in the owner's audit trail (default `dms-exporter`).
    pub session_name: Option<String>,
    /// How long the keys live (default 1h; 15m to 12h; at most 1h with temporary base keys).
    pub duration: Option<HumanDuration>,
    /// STS's endpoint (default `HUAWEICLOUD_SDK_STS_ENDPOINT`, else
    /// `https://sts.{region}.myhuaweicloud.com` of `region`).
    pub sts_endpoint: Option<String>,
    /// The region of the default STS endpoint (default: the first region listed beside).
    pub region: Option<String>,
}

impl AgencyConfig {
    /// The agency's URN from `urn`, or from `domain_id` and `name`.
    pub fn agency_urn(&self) -> Option<String> {
        match (&self.urn, &self.domain_id, &self.name) {
            (Some(urn), _, _) => Some(urn.clone()),
            (None, Some(domain), Some(name)) => Some(format!("iam::{domain}:agency:{name}")),
            _ => None,
        }
    }
}

impl fmt::Debug for AgencyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgencyConfig")
            .field("urn", &self.urn)
            .field("domain_id", &self.domain_id)
            .field("name", &self.name)
            .field("external_id", &hidden(&self.external_id))
            .field("session_name", &self.session_name)
            .field("duration", &self.duration)
            .field("sts_endpoint", &self.sts_endpoint)
            .field("region", &self.region)
            .finish()
    }
}

/// One account of `accounts:`: its name (the `account` label), credentials and regions.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    pub name: String,
    #[serde(default)]
    pub credentials: CredentialsConfig,
    pub regions: AccountRegions,
    /// With `regions: all`: how discovered regions are read.
    pub discovery: Option<DiscoveryConfig>,
    /// The account's id (`dms_account_info`, `dms_instance_info`); learnt from STS
    /// `caller-identity` (or the IAM token for a password) when unset.
    pub account_id: Option<String>,
    /// STS's endpoint for `caller-identity` (default the agency's `sts_endpoint`, else each
    /// region's `https://sts.{region}.myhuaweicloud.com`).
    pub sts_endpoint: Option<String>,
}

impl AccountConfig {
    /// Where the account's id is asked: `sts_endpoint`, else its agency's STS; `None`: each
    /// region's default STS.
    pub fn identity_endpoint(&self) -> Option<String> {
        self.sts_endpoint.clone().or_else(|| {
            self.credentials
                .agency
                .as_ref()
                .and_then(|agency| agency.sts_endpoint.clone())
        })
    }
}

/// An account's regions: listed as at the top level, or `all` that IAM lists for it.
#[derive(Debug)]
pub enum AccountRegions {
    All,
    Listed(Vec<Spanned<RegionConfig>>),
}

impl AccountRegions {
    pub fn listed(&self) -> &[Spanned<RegionConfig>] {
        match self {
            AccountRegions::All => &[],
            AccountRegions::Listed(regions) => regions,
        }
    }
}

impl<'de> Deserialize<'de> for AccountRegions {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = AccountRegions;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of regions, or `all`")
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
                if value == "all" {
                    Ok(AccountRegions::All)
                } else {
                    Err(E::invalid_value(serde::de::Unexpected::Str(value), &self))
                }
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<Self::Value, A::Error> {
                Deserialize::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
                    .map(AccountRegions::Listed)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// `accounts[].discovery`: every project IAM lists for the account, re-read every
/// `interval`; each region found read with these settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoveryConfig {
    /// How often IAM's project list is read again (default 1h).
    pub interval: Option<HumanDuration>,
    /// IAM's endpoint for the list (default the global one).
    pub iam_endpoint: Option<String>,
    /// Endpoint overrides for every discovered region (a proxy, the simulator).
    pub endpoint: Option<String>,
    pub ces_endpoint: Option<String>,
    #[serde(default = "default_engines")]
    pub engines: Vec<Engine>,
    #[serde(default)]
    pub insecure_http: bool,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        DiscoveryConfig {
            interval: None,
            iam_endpoint: None,
            endpoint: None,
            ces_endpoint: None,
            engines: default_engines(),
            insecure_http: false,
        }
    }
}

impl CredentialsConfig {
    /// Whether the block sets nothing (the chain then decides).
    pub fn is_unset(&self) -> bool {
        let CredentialsConfig {
            access_key,
            access_key_file,
            secret_key,
            secret_key_file,
            security_token,
            security_token_file,
            iam_user,
            source,
            ecs_metadata,
            id_token,
            refresh_margin,
            agency,
            external_id,
        } = self;
        [
            access_key,
            access_key_file,
            secret_key,
            secret_key_file,
            security_token,
            security_token_file,
            external_id,
        ]
        .iter()
        .all(|value| value.is_none())
            && iam_user.is_none()
            && source.is_none()
            && ecs_metadata.is_none()
            && id_token.is_none()
            && refresh_margin.is_none()
            && agency.is_none()
    }

    /// The source this block selects: named, or as before `source` existed, `iam_password`
    /// when `iam_user` is present and `access_key` otherwise (the chain may still end with
    /// an id token from the SDK variables when no key is found).
    pub fn selected_source(&self) -> CredentialSourceName {
        self.source.unwrap_or(if self.iam_user.is_some() {
            CredentialSourceName::IamPassword
        } else {
            CredentialSourceName::AccessKey
        })
    }
}

/// The credential sources `credentials.source` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialSourceName {
    /// AK/SK (and a security token) from the file, its files, the SDK variables or
    /// `$CREDENTIALS_DIRECTORY`.
    AccessKey,
    /// Temporary keys from the ECS metadata service (an agency bound to the ECS).
    EcsMetadata,
    /// Temporary keys bought at IAM with an OIDC id token (CCE workload identity).
    IdToken,
    /// `credentials.iam_user`, exchanged for IAM tokens.
    IamPassword,
}

impl CredentialSourceName {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialSourceName::AccessKey => "access_key",
            CredentialSourceName::EcsMetadata => "ecs_metadata",
            CredentialSourceName::IdToken => "id_token",
            CredentialSourceName::IamPassword => "iam_password",
        }
    }
}

/// `credentials.id_token`. Each value left out is taken from the SDK variable named.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdTokenConfig {
    /// The IAM identity provider's id (`HUAWEICLOUD_SDK_IDP_ID`).
    pub idp_id: Option<String>,
    /// The file holding the id token, re-read at each refresh
    /// (`HUAWEICLOUD_SDK_ID_TOKEN_FILE`).
    pub token_file: Option<String>,
    /// IAM's endpoint (`HUAWEICLOUD_SDK_IAM_ENDPOINT`; default the global one).
    pub iam_endpoint: Option<String>,
    /// How long the temporary keys live (default 6h).
    pub key_lifetime: Option<HumanDuration>,
    /// With an agency that trusts the identity provider: the provider's URN
    /// (`iam::{domain_id}:identity-provider:{name}`; `HUAWEICLOUD_OIDC_PROVIDER_URN`). The
    /// token is then exchanged at STS (`assume-with-oidc`) for the agency's keys, not at IAM.
    pub provider_urn: Option<String>,
    /// That agency's URN, `iam::{domain_id}:agency:{name}` (`HUAWEICLOUD_OIDC_AGENCY_URN`).
    pub agency_urn: Option<String>,
    /// STS's endpoint for it (`HUAWEICLOUD_SDK_STS_ENDPOINT`).
    pub sts_endpoint: Option<String>,
    /// The session name in the agency's audit trail (`HUAWEICLOUD_OIDC_SESSION_NAME`;
    /// default `dms-exporter`).
    pub session_name: Option<String>,
}

/// `credentials.ecs_metadata`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcsMetadataConfig {
    /// The metadata service's address (default `http://169.254.169.254`).
    pub endpoint: Option<String>,
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
            .field("source", &self.source)
            .field("ecs_metadata", &self.ecs_metadata)
            .field("id_token", &self.id_token)
            .field("refresh_margin", &self.refresh_margin)
            .field("agency", &self.agency)
            .field("external_id", &hidden(&self.external_id))
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
#[derive(Debug, Clone, Deserialize)]
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

    #[test]
    fn debug_never_shows_an_external_id() {
        let credentials: CredentialsConfig = serde_saphyr::from_str(
            "access_key: AK\nsecret_key: SK\nagency: {domain_id: d1, name: a, external_id: EXTERNALHIDDEN}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let debug = format!("{credentials:?}");
        assert!(!debug.contains("EXTERNALHIDDEN"), "{debug}");
        assert_eq!(
            credentials.agency.and_then(|a| a.agency_urn()).as_deref(),
            Some("iam::d1:agency:a")
        );
    }

    #[test]
    fn account_regions_are_a_list_or_all() {
        let all: AccountConfig =
            serde_saphyr::from_str("name: a\nregions: all\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(all.regions, AccountRegions::All));
        let listed: AccountConfig =
            serde_saphyr::from_str("name: a\nregions:\n  - name: cn-north-4\n    projects: [p1]\n")
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(listed.regions.listed().len(), 1);
        assert_eq!(listed.regions.listed()[0].referenced.line(), 3);
        assert!(serde_saphyr::from_str::<AccountConfig>("name: a\nregions: some\n").is_err());
    }
}
