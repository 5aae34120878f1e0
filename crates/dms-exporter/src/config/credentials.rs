//! Resolving credentials from the file, the SDK environment variables and credential files.

use std::path::{Path, PathBuf};

use dms_cloud::auth::Credentials;
use secrecy::SecretString;

use super::types::CredentialsConfig;

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
    #[error("credentials.{field}: cannot read {path}: {reason}")]
    File {
        field: &'static str,
        path: String,
        reason: String,
    },
    #[error(
        "no credentials: set credentials.access_key/secret_key (or *_file), HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK, files access_key and secret_key in $CREDENTIALS_DIRECTORY, or credentials.iam_user"
    )]
    Missing,
}

fn read_secret_file(field: &'static str, path: &Path) -> Result<String, CredentialsError> {
    std::fs::read_to_string(path)
        .map(|text| text.trim().to_owned())
        .map_err(|e| CredentialsError::File {
            field,
            path: path.display().to_string(),
            reason: e.kind().to_string(),
        })
}

/// One credential: inline value, else its file, else the SDK variable, else
/// `$CREDENTIALS_DIRECTORY/<name>` when that file exists.
fn one(
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
        return read_secret_file(field, Path::new(path)).map(Some);
    }
    if let Some(value) = env.var(env_name) {
        return Ok(Some(value));
    }
    if let Some(dir) = env.var("CREDENTIALS_DIRECTORY") {
        let path = PathBuf::from(dir).join(field);
        if path.exists() {
            return read_secret_file(field, &path).map(Some);
        }
    }
    Ok(None)
}

/// Builds the client credentials.
pub fn resolve_credentials(
    config: &CredentialsConfig,
    env: &dyn CredentialSource,
) -> Result<Credentials, CredentialsError> {
    if let Some(user) = &config.iam_user {
        let password = one(
            "password",
            &user.password,
            &user.password_file,
            "HUAWEICLOUD_SDK_PASSWORD",
            env,
        )?
        .ok_or(CredentialsError::Missing)?;
        return Ok(Credentials::Password {
            user: user.name.clone(),
            password: SecretString::from(password),
            domain: user.domain.clone(),
        });
    }
    let access_key = one(
        "access_key",
        &config.access_key,
        &config.access_key_file,
        "HUAWEICLOUD_SDK_AK",
        env,
    )?;
    let secret_key = one(
        "secret_key",
        &config.secret_key,
        &config.secret_key_file,
        "HUAWEICLOUD_SDK_SK",
        env,
    )?;
    let security_token = one(
        "security_token",
        &config.security_token,
        &config.security_token_file,
        "HUAWEICLOUD_SDK_SECURITY_TOKEN",
        env,
    )?;
    match (access_key, secret_key) {
        (Some(access_key), Some(secret_key)) => Ok(Credentials::AkSk {
            access_key,
            secret_key: SecretString::from(secret_key),
            security_token: security_token.map(SecretString::from),
        }),
        _ => Err(CredentialsError::Missing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct MapEnv(BTreeMap<&'static str, String>);
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
        let credentials =
            resolve_credentials(&CredentialsConfig::default(), &env).expect("resolves");
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
        let credentials =
            resolve_credentials(&CredentialsConfig::default(), &env).expect("resolves");
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
    fn nothing_configured_is_a_clear_error() {
        let env = MapEnv(BTreeMap::new());
        assert_eq!(
            resolve_credentials(&CredentialsConfig::default(), &env).err(),
            Some(CredentialsError::Missing)
        );
    }
}
