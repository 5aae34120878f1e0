//! Resolving credentials from the file, the SDK environment variables, credential files,
//! the ECS metadata service or an OIDC id token (a block that is incomplete or contradictory
//! is refused before, by `validate::credential_block`).
//!
//! The chain, when `credentials.source` names none: `iam_user` when that block is present
//! (IAM password), else AK/SK (and a security token) from the file's keys, their files, the
//! SDK variables `HUAWEICLOUD_SDK_AK`/`_SK`/`_SECURITY_TOKEN`, then `$CREDENTIALS_DIRECTORY`;
//! when none gives a key, an OIDC id token when `HUAWEICLOUD_SDK_IDP_ID` and
//! `HUAWEICLOUD_SDK_ID_TOKEN_FILE` are set (as the SDKs do).
//! The ECS metadata service is used only when named: falling back to a link-local address
//! on a machine that is not an ECS would hide a missing key behind retries, and a
//! configuration without keys is refused at start-up as before.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use dms_cloud::auth::Credentials;
use dms_cloud::provider::{
    DEFAULT_ID_TOKEN_KEY_LIFETIME, DEFAULT_REFRESH_MARGIN, ECS_METADATA_ENDPOINT,
    GLOBAL_IAM_ENDPOINT,
};
use dms_cloud::{
    AgencySource, BaseKeys, CredentialProvider, CredentialSource as CloudSource, OidcAgencySource,
    SigningKeys, Transport,
};
use secrecy::SecretString;

use super::types::{Config, CredentialSourceName, CredentialsConfig};
use crate::files::read_capped;

/// Where the environment comes from: real in production, a map in tests.
pub trait CredentialSource {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl CredentialSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

/// Why credentials could not be assembled.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialsError {
    #[error("{field}: cannot read {path}: {reason}")]
    File {
        /// The key that named the file (`credentials.secret_key_file`), or the credential
        /// `$CREDENTIALS_DIRECTORY` was searched for.
        field: String,
        path: String,
        reason: String,
    },
    /// No source gave the keys; the text says where it looked and what it found.
    #[error("no credentials: {0}")]
    Missing(String),
}

impl CredentialsError {
    /// The configuration key the error is about, when it names one (`credentials.…`).
    pub fn field(&self) -> Option<&str> {
        match self {
            CredentialsError::File { field, .. }
                if field.starts_with("credentials.") || field.starts_with("accounts[") =>
            {
                Some(field)
            }
            _ => None,
        }
    }
}

/// Where `$CREDENTIALS_DIRECTORY` points, for the message of a missing credential.
fn directory_text(env: &dyn CredentialSource, files: &str) -> String {
    match env.var("CREDENTIALS_DIRECTORY") {
        Some(dir) => format!("{files} in $CREDENTIALS_DIRECTORY ({dir})"),
        None => format!("{files} in $CREDENTIALS_DIRECTORY (unset)"),
    }
}

fn read_secret_file(field: &str, path: &Path) -> Result<String, CredentialsError> {
    let error = |reason: String| CredentialsError::File {
        field: field.to_owned(),
        path: path.display().to_string(),
        reason,
    };
    // The reason is the I/O error's, which never quotes the file's content.
    let text = read_capped(path).map_err(|e| error(e.to_string()))?;
    let value = text.trim();
    if value.is_empty() {
        return Err(error("the file is empty".to_owned()));
    }
    Ok(value.to_owned())
}

/// One credential: inline value, else its file, else the SDK variable, else
/// `$CREDENTIALS_DIRECTORY/<name>` when that file exists.
fn one(
    prefix: &str,
    field: &'static str,
    inline: &Option<String>,
    file: &Option<String>,
    env_name: &str,
    env: &dyn CredentialSource,
) -> Result<Option<String>, CredentialsError> {
    if let Some(value) = inline {
        return Ok(Some(value.clone()));
    }
    if let Some(path) = file {
        return read_secret_file(&format!("{prefix}{field}_file"), Path::new(path)).map(Some);
    }
    if let Some(value) = env.var(env_name) {
        return Ok(Some(value));
    }
    if let Some(dir) = env.var("CREDENTIALS_DIRECTORY") {
        let path = PathBuf::from(dir).join(field);
        if path.exists() {
            return read_secret_file(&format!("credentials.{field}"), &path).map(Some);
        }
    }
    Ok(None)
}

/// Reads every credential file the configuration names as start-up would, so that
/// `--check-config` reports one that is missing, a directory, empty or too large.
pub fn check_credential_files(config: &CredentialsConfig) -> Vec<CredentialsError> {
    let iam_password = config
        .iam_user
        .as_ref()
        .map(|user| ("credentials.iam_user.password_file", &user.password_file));
    let id_token_file = config
        .id_token
        .as_ref()
        .map(|token| ("credentials.id_token.token_file", &token.token_file));
    [
        ("credentials.access_key_file", &config.access_key_file),
        ("credentials.secret_key_file", &config.secret_key_file),
        (
            "credentials.security_token_file",
            &config.security_token_file,
        ),
    ]
    .into_iter()
    .chain(iam_password)
    .chain(id_token_file)
    .filter_map(|(field, path)| Some((field, path.as_deref()?)))
    .filter_map(|(field, path)| read_secret_file(field, Path::new(path)).err())
    .collect()
}

/// An account's error, naming the account (`accounts[1].credentials.secret_key_file`).
fn in_account(index: usize, name: &str, error: CredentialsError) -> CredentialsError {
    match error {
        CredentialsError::File {
            field,
            path,
            reason,
        } => CredentialsError::File {
            field: if field.starts_with("credentials.") {
                format!("accounts[{index}].{field}")
            } else {
                format!("{field} (account {name})")
            },
            path,
            reason,
        },
        CredentialsError::Missing(text) => {
            CredentialsError::Missing(format!("account {name} (accounts[{index}]): {text}"))
        }
    }
}

/// [`check_credential_files`] of the top-level block and of every account.
pub fn check_all_credential_files(config: &Config) -> Vec<CredentialsError> {
    let mut errors = check_credential_files(&config.credentials);
    for (index, account) in config.accounts.iter().enumerate() {
        let account = &account.value;
        errors.extend(
            check_credential_files(&account.credentials)
                .into_iter()
                .map(|error| in_account(index, &account.name, error)),
        );
    }
    errors
}

/// The credentials of a whole file: the top-level block's and each account's, in the order
/// of `accounts:`. A file with accounts has no top-level block: its place is held by keys that
/// sign nothing (no target uses them).
pub fn resolve_all(
    config: &Config,
    env: &dyn CredentialSource,
    transport: &Arc<dyn Transport>,
) -> Result<(Credentials, Vec<Credentials>), CredentialsError> {
    if config.accounts.is_empty() {
        return Ok((
            resolve_credentials(&config.credentials, env, transport)?,
            Vec::new(),
        ));
    }
    let accounts = config
        .accounts
        .iter()
        .enumerate()
        .map(|(index, account)| {
            let account = &account.value;
            resolve_credentials(&account.credentials, env, transport)
                .map_err(|error| in_account(index, &account.name, error))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((Credentials::aksk(String::new(), String::new()), accounts))
}

/// The files credentials may be read from: those the configuration names and those in
/// `$CREDENTIALS_DIRECTORY`. A change to one of them is a change of credentials.
pub fn credential_files(config: &CredentialsConfig, env: &dyn CredentialSource) -> Vec<PathBuf> {
    let named = [
        &config.access_key_file,
        &config.secret_key_file,
        &config.security_token_file,
    ]
    .into_iter()
    .chain(config.iam_user.as_ref().map(|user| &user.password_file))
    .filter_map(|path| path.as_ref().map(PathBuf::from));
    let directory = env
        .var("CREDENTIALS_DIRECTORY")
        .map(PathBuf::from)
        .into_iter()
        .flat_map(|dir| {
            ["access_key", "secret_key", "security_token", "password"].map(|name| dir.join(name))
        });
    named.chain(directory).collect()
}

const ENV_IDP_ID: &str = "HUAWEICLOUD_SDK_IDP_ID";
const ENV_ID_TOKEN_FILE: &str = "HUAWEICLOUD_SDK_ID_TOKEN_FILE";
const ENV_IAM_ENDPOINT: &str = "HUAWEICLOUD_SDK_IAM_ENDPOINT";

const ENV_OIDC_PROVIDER_URN: &str = "HUAWEICLOUD_OIDC_PROVIDER_URN";
const ENV_OIDC_AGENCY_URN: &str = "HUAWEICLOUD_OIDC_AGENCY_URN";
const ENV_OIDC_SESSION_NAME: &str = "HUAWEICLOUD_OIDC_SESSION_NAME";

/// Keys bought with an OIDC id token: each setting from `credentials.id_token`, else its SDK
/// variable. The token file must be readable now (it is re-read at each refresh). With a
/// provider URN the token buys an agency's keys at STS; otherwise IAM's identity provider
/// exchanges it.
fn id_token_credentials(
    config: &CredentialsConfig,
    env: &dyn CredentialSource,
    transport: &Arc<dyn Transport>,
    margin: Duration,
) -> Result<Credentials, CredentialsError> {
    let block = config.id_token.as_ref();
    if let Some(provider_urn) = setting(
        env,
        block.and_then(|t| t.provider_urn.as_ref()),
        ENV_OIDC_PROVIDER_URN,
    ) {
        return oidc_agency_credentials(block, provider_urn, env, transport, margin);
    }
    let idp_id = setting(env, block.and_then(|t| t.idp_id.as_ref()), ENV_IDP_ID);
    let token_file = setting(
        env,
        block.and_then(|t| t.token_file.as_ref()),
        ENV_ID_TOKEN_FILE,
    );
    let (Some(idp_id), Some(token_file)) = (idp_id, token_file) else {
        return Err(CredentialsError::Missing(format!(
            "source: id_token needs the identity provider's id and the id token's file: looked in credentials.id_token.idp_id/token_file and the environment variables {ENV_IDP_ID}/{ENV_ID_TOKEN_FILE}"
        )));
    };
    check_token_file(block, &token_file)?;
    let iam_endpoint = setting(
        env,
        block.and_then(|t| t.iam_endpoint.as_ref()),
        ENV_IAM_ENDPOINT,
    )
    .unwrap_or_else(|| GLOBAL_IAM_ENDPOINT.to_owned());
    let lifetime = key_lifetime(block);
    Ok(Credentials::Provided(CredentialProvider::new(
        CloudSource::IdToken {
            iam_endpoint: iam_endpoint.trim_end_matches('/').to_owned(),
            idp_id,
            token_file: PathBuf::from(token_file),
            lifetime,
        },
        Arc::clone(transport),
        margin,
    )))
}

/// A setting of the credential block, else its SDK variable.
fn setting(env: &dyn CredentialSource, value: Option<&String>, variable: &str) -> Option<String> {
    value.cloned().or_else(|| env.var(variable))
}

/// The id token's file must be readable now (it is re-read at each refresh); an error names
/// where it was set.
fn check_token_file(
    block: Option<&super::types::IdTokenConfig>,
    token_file: &str,
) -> Result<(), CredentialsError> {
    let field = if block.and_then(|t| t.token_file.as_ref()).is_some() {
        "credentials.id_token.token_file"
    } else {
        ENV_ID_TOKEN_FILE
    };
    read_secret_file(field, Path::new(token_file)).map(drop)
}

/// How long the keys bought with the id token live.
fn key_lifetime(block: Option<&super::types::IdTokenConfig>) -> Duration {
    block
        .and_then(|t| t.key_lifetime)
        .map_or(DEFAULT_ID_TOKEN_KEY_LIFETIME, |lifetime| lifetime.0)
}

/// An agency's keys bought with the id token at STS (`assume-with-oidc`).
fn oidc_agency_credentials(
    block: Option<&super::types::IdTokenConfig>,
    provider_urn: String,
    env: &dyn CredentialSource,
    transport: &Arc<dyn Transport>,
    margin: Duration,
) -> Result<Credentials, CredentialsError> {
    let agency_urn = setting(env, block.and_then(|t| t.agency_urn.as_ref()), ENV_OIDC_AGENCY_URN)
        .ok_or_else(|| {
            CredentialsError::Missing(format!(
                "an identity provider's URN exchanges the token at STS for an agency's keys: name the agency in credentials.id_token.agency_urn or {ENV_OIDC_AGENCY_URN}"
            ))
        })?;
    let token_file = setting(env, block.and_then(|t| t.token_file.as_ref()), ENV_ID_TOKEN_FILE)
        .ok_or_else(|| {
            CredentialsError::Missing(format!(
                "source: id_token needs the id token's file: credentials.id_token.token_file or {ENV_ID_TOKEN_FILE}"
            ))
        })?;
    check_token_file(block, &token_file)?;
    let sts_endpoint = setting(env, block.and_then(|t| t.sts_endpoint.as_ref()), ENV_STS_ENDPOINT)
        .ok_or_else(|| {
            CredentialsError::Missing(format!(
                "the agency is assumed at STS: set credentials.id_token.sts_endpoint or {ENV_STS_ENDPOINT}"
            ))
        })?;
    let session_name = setting(
        env,
        block.and_then(|t| t.session_name.as_ref()),
        ENV_OIDC_SESSION_NAME,
    )
    .unwrap_or_else(|| DEFAULT_SESSION_NAME.to_owned());
    let duration = key_lifetime(block);
    Ok(Credentials::Provided(CredentialProvider::new(
        CloudSource::OidcAgency(Box::new(OidcAgencySource {
            sts_endpoint: sts_endpoint.trim_end_matches('/').to_owned(),
            provider_urn,
            agency_urn,
            session_name,
            token_file: PathBuf::from(token_file),
            duration,
        })),
        Arc::clone(transport),
        margin,
    )))
}

const ENV_STS_ENDPOINT: &str = "HUAWEICLOUD_SDK_STS_ENDPOINT";
/// The session name an agency is assumed under unless configured.
const DEFAULT_SESSION_NAME: &str = "dms-exporter";
/// How long agency keys live unless configured (STS's default).
const DEFAULT_AGENCY_DURATION: Duration = Duration::from_secs(3600);

/// Builds the client credentials. `transport` carries the requests of a source that fetches
/// keys (the metadata service, IAM for an id token, STS for an agency); nothing is fetched
/// here.
pub fn resolve_credentials(
    config: &CredentialsConfig,
    env: &dyn CredentialSource,
    transport: &Arc<dyn Transport>,
) -> Result<Credentials, CredentialsError> {
    let base = resolve_base(config, env, transport)?;
    let Some(agency) = &config.agency else {
        return Ok(base);
    };
    let base = match base {
        Credentials::AkSk {
            access_key,
            secret_key,
            security_token,
        } => BaseKeys::Static(SigningKeys {
            access_key,
            secret_key,
            security_token,
        }),
        Credentials::Provided(provider) => BaseKeys::Provided(provider),
        Credentials::Password { .. } => {
            return Err(CredentialsError::Missing(
                "credentials.agency is assumed at STS with keys, and the block gives an IAM password: give access_key/secret_key (or source: ecs_metadata or id_token)".to_owned(),
            ));
        }
    };
    let sts_endpoint = setting(env, agency.sts_endpoint.as_ref(), ENV_STS_ENDPOINT)
        .or_else(|| {
            agency
                .region
                .as_deref()
                .map(|region| dms_cloud::service_endpoint("sts", region))
        })
        .ok_or_else(|| {
            CredentialsError::Missing(format!(
                "credentials.agency needs STS's endpoint: set its sts_endpoint or region, or the environment variable {ENV_STS_ENDPOINT}"
            ))
        })?;
    let agency_urn = agency.agency_urn().ok_or_else(|| {
        CredentialsError::Missing(
            "credentials.agency names no agency: set urn, or domain_id and name".to_owned(),
        )
    })?;
    let margin = config
        .refresh_margin
        .map_or(DEFAULT_REFRESH_MARGIN, |margin| margin.0);
    Ok(Credentials::Provided(CredentialProvider::new(
        CloudSource::Agency(Box::new(AgencySource {
            base,
            sts_endpoint: sts_endpoint.trim_end_matches('/').to_owned(),
            agency_urn,
            session_name: agency
                .session_name
                .clone()
                .unwrap_or_else(|| DEFAULT_SESSION_NAME.to_owned()),
            external_id: agency.external_id.clone().map(SecretString::from),
            duration: agency.duration.map_or(DEFAULT_AGENCY_DURATION, |d| d.0),
        })),
        Arc::clone(transport),
        margin,
    )))
}

/// The credentials the block gives, before any agency.
fn resolve_base(
    config: &CredentialsConfig,
    env: &dyn CredentialSource,
    transport: &Arc<dyn Transport>,
) -> Result<Credentials, CredentialsError> {
    let source = config.selected_source();
    let margin = config
        .refresh_margin
        .map_or(DEFAULT_REFRESH_MARGIN, |margin| margin.0);
    if source == CredentialSourceName::IdToken {
        return id_token_credentials(config, env, transport, margin);
    }
    if source == CredentialSourceName::EcsMetadata {
        let endpoint = config
            .ecs_metadata
            .as_ref()
            .and_then(|metadata| metadata.endpoint.clone())
            .unwrap_or_else(|| ECS_METADATA_ENDPOINT.to_owned());
        return Ok(Credentials::Provided(CredentialProvider::new(
            CloudSource::EcsMetadata {
                endpoint: endpoint.trim_end_matches('/').to_owned(),
            },
            Arc::clone(transport),
            margin,
        )));
    }
    if let Some(user) = config
        .iam_user
        .as_ref()
        .filter(|_| source == CredentialSourceName::IamPassword)
    {
        let password = one(
            "credentials.iam_user.",
            "password",
            &user.password,
            &user.password_file,
            "HUAWEICLOUD_SDK_PASSWORD",
            env,
        )?
        .ok_or_else(|| {
            CredentialsError::Missing(format!(
                "credentials.iam_user has no password: looked in credentials.iam_user.password, credentials.iam_user.password_file, the environment variable HUAWEICLOUD_SDK_PASSWORD and {}",
                directory_text(env, "the file password")
            ))
        })?;
        return Ok(Credentials::Password {
            user: user.name.clone(),
            password: SecretString::from(password),
            domain: user.domain.clone(),
        });
    }
    let access_key = one(
        "credentials.",
        "access_key",
        &config.access_key,
        &config.access_key_file,
        "HUAWEICLOUD_SDK_AK",
        env,
    )?;
    let secret_key = one(
        "credentials.",
        "secret_key",
        &config.secret_key,
        &config.secret_key_file,
        "HUAWEICLOUD_SDK_SK",
        env,
    )?;
    let security_token = one(
        "credentials.",
        "security_token",
        &config.security_token,
        &config.security_token_file,
        "HUAWEICLOUD_SDK_SECURITY_TOKEN",
        env,
    )?;
    // The chain's last link, as in the SDKs: the id-token variables, when no key was found.
    if config.source.is_none()
        && access_key.is_none()
        && secret_key.is_none()
        && security_token.is_none()
        && env.var(ENV_IDP_ID).is_some()
        && env.var(ENV_ID_TOKEN_FILE).is_some()
    {
        return id_token_credentials(config, env, transport, margin);
    }
    let found = match (access_key, secret_key) {
        (Some(_), Some(_)) if source == CredentialSourceName::IamPassword => {
            "found no credentials.iam_user for source: iam_password"
        }
        (Some(access_key), Some(secret_key)) => {
            return Ok(Credentials::AkSk {
                access_key,
                secret_key: SecretString::from(secret_key),
                security_token: security_token.map(SecretString::from),
            });
        }
        (Some(_), None) => "found an access key but no secret key",
        (None, Some(_)) => "found a secret key but no access key",
        (None, None) if security_token.is_some() => {
            "found a security token but neither key it belongs to"
        }
        (None, None) => "found neither",
    };
    Err(CredentialsError::Missing(format!(
        "looked for an access key and a secret key in the configuration file (credentials.access_key/secret_key, credentials.access_key_file/secret_key_file), the environment variables HUAWEICLOUD_SDK_AK/HUAWEICLOUD_SDK_SK and {}, and {found}; or configure credentials.iam_user, credentials.source: ecs_metadata on an ECS with an agency, or HUAWEICLOUD_SDK_IDP_ID/HUAWEICLOUD_SDK_ID_TOKEN_FILE for an OIDC id token",
        directory_text(env, "the files access_key/secret_key")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct MapEnv(BTreeMap<&'static str, String>);

    /// Resolving fetches nothing: a transport that would fail every request.
    struct NoTransport;
    impl Transport for NoTransport {
        fn send(
            &self,
            _request: http::Request<bytes::Bytes>,
        ) -> futures::future::BoxFuture<
            'static,
            Result<http::Response<bytes::Bytes>, dms_cloud::TransportError>,
        > {
            Box::pin(async {
                Err(dms_cloud::TransportError::Other(
                    "no network in unit tests".to_owned(),
                ))
            })
        }
    }

    fn resolve(
        config: &CredentialsConfig,
        env: &dyn CredentialSource,
    ) -> Result<Credentials, CredentialsError> {
        let transport: Arc<dyn Transport> = Arc::new(NoTransport);
        resolve_credentials(config, env, &transport)
    }
    impl CredentialSource for MapEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).cloned()
        }
    }

    #[test]
    fn sdk_environment_variables_fill_what_the_file_leaves_empty() {
        let env = MapEnv(BTreeMap::from([
            ("HUAWEICLOUD_SDK_AK", "AKENV".to_owned()),
            ("HUAWEICLOUD_SDK_SK", "SKENV".to_owned()),
        ]));
        let credentials = resolve(&CredentialsConfig::default(), &env).expect("resolves");
        match credentials {
            Credentials::AkSk {
                access_key,
                security_token,
                ..
            } => {
                assert_eq!(access_key, "AKENV");
                assert!(security_token.is_none());
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn credentials_directory_is_read_for_systemd_load_credential() {
        let dir = std::env::temp_dir().join(format!("dms-creds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("access_key"), "AKFILE\n").expect("write");
        std::fs::write(dir.join("secret_key"), "SKFILE\n").expect("write");
        let env = MapEnv(BTreeMap::from([(
            "CREDENTIALS_DIRECTORY",
            dir.display().to_string(),
        )]));
        let credentials = resolve(&CredentialsConfig::default(), &env).expect("resolves");
        let debug = format!("{credentials:?}");
        assert!(
            !debug.contains("SKFILE"),
            "secret leaked into Debug: {debug}"
        );
        assert!(
            matches!(credentials, Credentials::AkSk { ref access_key, .. } if access_key == "AKFILE")
        );
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn credential_files_that_cannot_be_read_are_each_named() {
        let dir = std::env::temp_dir().join(format!("dms-cred-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("empty"), " \n").expect("write");
        std::fs::write(dir.join("good"), "SECRETVALUE\n").expect("write");
        let path = |name: &str| Some(dir.join(name).display().to_string());
        let config = CredentialsConfig {
            access_key_file: path("missing"),
            secret_key_file: Some(dir.display().to_string()),
            security_token_file: path("empty"),
            ..CredentialsConfig::default()
        };
        let errors: Vec<String> = check_credential_files(&config)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(
            errors[0].starts_with("credentials.access_key_file: cannot read "),
            "{errors:?}"
        );
        assert!(errors[0].contains("No such file"), "{errors:?}");
        assert!(
            errors[1].starts_with("credentials.secret_key_file: "),
            "{errors:?}"
        );
        assert!(errors[1].contains("is a directory"), "{errors:?}");
        assert!(errors[2].contains("the file is empty"), "{errors:?}");
        let good = CredentialsConfig {
            secret_key_file: path("good"),
            ..CredentialsConfig::default()
        };
        assert!(check_credential_files(&good).is_empty());
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn nothing_configured_is_a_clear_error() {
        let env = MapEnv(BTreeMap::new());
        let error = resolve(&CredentialsConfig::default(), &env)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        for place in [
            "no credentials: ",
            "credentials.access_key_file/secret_key_file",
            "HUAWEICLOUD_SDK_AK/HUAWEICLOUD_SDK_SK",
            "$CREDENTIALS_DIRECTORY (unset)",
            "found neither",
        ] {
            assert!(error.contains(place), "{place:?} missing from {error:?}");
        }
        // Half a key pair says which half came, and where the directory pointed.
        let env = MapEnv(BTreeMap::from([
            ("HUAWEICLOUD_SDK_AK", "AKENV".to_owned()),
            ("CREDENTIALS_DIRECTORY", "/nonexistent/creds".to_owned()),
        ]));
        let error = resolve(&CredentialsConfig::default(), &env)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("found an access key but no secret key"),
            "{error}"
        );
        assert!(
            error.contains("$CREDENTIALS_DIRECTORY (/nonexistent/creds)"),
            "{error}"
        );
    }

    #[test]
    fn ecs_metadata_is_used_only_when_named_with_its_endpoint_and_margin() {
        let env = MapEnv(BTreeMap::new());
        let named = CredentialsConfig {
            source: Some(CredentialSourceName::EcsMetadata),
            ..CredentialsConfig::default()
        };
        let Ok(Credentials::Provided(provider)) = resolve(&named, &env) else {
            panic!("source: ecs_metadata gives a provider");
        };
        assert_eq!(
            provider.source(),
            &CloudSource::EcsMetadata {
                endpoint: ECS_METADATA_ENDPOINT.to_owned()
            }
        );
        assert_eq!(provider.margin(), DEFAULT_REFRESH_MARGIN);
        let placed = CredentialsConfig {
            source: Some(CredentialSourceName::EcsMetadata),
            ecs_metadata: Some(super::super::types::EcsMetadataConfig {
                endpoint: Some("http://127.0.0.1:8080/".to_owned()),
            }),
            refresh_margin: Some(crate::collect::settings::HumanDuration(
                Duration::from_secs(300),
            )),
            ..CredentialsConfig::default()
        };
        let Ok(Credentials::Provided(provider)) = resolve(&placed, &env) else {
            panic!("source: ecs_metadata gives a provider");
        };
        assert_eq!(
            provider.source(),
            &CloudSource::EcsMetadata {
                endpoint: "http://127.0.0.1:8080".to_owned()
            }
        );
        assert_eq!(provider.margin(), Duration::from_secs(300));
        // Not named: no keys is still an error, not a silent turn to the metadata service.
        let error = resolve(&CredentialsConfig::default(), &env)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("credentials.source: ecs_metadata"),
            "{error}"
        );
    }

    #[test]
    fn a_security_token_without_keys_is_named_and_not_shown() {
        let env = MapEnv(BTreeMap::from([(
            "HUAWEICLOUD_SDK_SECURITY_TOKEN",
            "env-session-token-value".to_owned(),
        )]));
        let error = resolve(&CredentialsConfig::default(), &env)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("found a security token but neither key"),
            "{error}"
        );
        assert!(!error.contains("env-session-token-value"), "{error}");
    }

    #[test]
    fn an_id_token_ends_the_chain_and_its_file_must_be_readable() {
        let dir = std::env::temp_dir().join(format!("dms-id-token-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let token = dir.join("token");
        std::fs::write(&token, "header.payload.signature\n").expect("write");
        let env = MapEnv(BTreeMap::from([
            ("HUAWEICLOUD_SDK_IDP_ID", "cce-idp".to_owned()),
            ("HUAWEICLOUD_SDK_ID_TOKEN_FILE", token.display().to_string()),
        ]));
        let Ok(Credentials::Provided(provider)) = resolve(&CredentialsConfig::default(), &env)
        else {
            panic!("the id-token variables end the chain");
        };
        assert_eq!(
            provider.source(),
            &CloudSource::IdToken {
                iam_endpoint: GLOBAL_IAM_ENDPOINT.to_owned(),
                idp_id: "cce-idp".to_owned(),
                token_file: token.clone(),
                lifetime: DEFAULT_ID_TOKEN_KEY_LIFETIME,
            }
        );
        // A key found earlier in the chain wins, as in the SDKs.
        let keys = MapEnv(BTreeMap::from([
            ("HUAWEICLOUD_SDK_AK", "AKENV".to_owned()),
            ("HUAWEICLOUD_SDK_SK", "SKENV".to_owned()),
            ("HUAWEICLOUD_SDK_IDP_ID", "cce-idp".to_owned()),
            ("HUAWEICLOUD_SDK_ID_TOKEN_FILE", token.display().to_string()),
        ]));
        assert!(matches!(
            resolve(&CredentialsConfig::default(), &keys),
            Ok(Credentials::AkSk { .. })
        ));
        // A token file that does not exist is named with the variable that gave it.
        let absent = MapEnv(BTreeMap::from([
            ("HUAWEICLOUD_SDK_IDP_ID", "cce-idp".to_owned()),
            (
                "HUAWEICLOUD_SDK_ID_TOKEN_FILE",
                dir.join("absent").display().to_string(),
            ),
        ]));
        let error = resolve(&CredentialsConfig::default(), &absent)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.starts_with("HUAWEICLOUD_SDK_ID_TOKEN_FILE: cannot read "),
            "{error}"
        );
        // Named without an identity provider anywhere: where it looked.
        let named = CredentialsConfig {
            source: Some(CredentialSourceName::IdToken),
            ..CredentialsConfig::default()
        };
        let error = resolve(&named, &MapEnv(BTreeMap::new()))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("credentials.id_token.idp_id/token_file"),
            "{error}"
        );
        std::fs::remove_dir_all(dir).ok();
    }
}
