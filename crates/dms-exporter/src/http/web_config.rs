//! `--web.config.file`: TLS, mutual TLS, basic auth and extra response headers, in the format
//! of Prometheus's exporter-toolkit, so node_exporter-style files can be reused.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::config::{ConfigError, load_yaml_file};

/// The file's shape (a subset of exporter-toolkit's; unknown keys are errors).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    pub tls_server_config: Option<TlsServerConfig>,
    #[serde(default)]
    pub basic_auth_users: BTreeMap<String, String>,
    #[serde(default)]
    pub http_server_config: HttpServerConfig,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsServerConfig {
    pub cert_file: String,
    pub key_file: String,
    #[serde(default = "no_client_cert")]
    pub client_auth_type: String,
    pub client_ca_file: Option<String>,
    pub min_version: Option<String>,
}

fn no_client_cert() -> String {
    "NoClientCert".to_owned()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpServerConfig {
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// Why the web configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    #[error(transparent)]
    File(#[from] ConfigError),
    #[error("{file}: {field}: {message}")]
    Invalid {
        file: String,
        field: String,
        message: String,
    },
}

/// What the server needs: a TLS configuration when TLS is on, and the request guard (shared
/// by every listener).
#[derive(Clone)]
pub struct WebSettings {
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub guard: Arc<Guard>,
}

/// Checks basic auth and adds the configured headers.
#[derive(Default)]
pub struct Guard {
    users: BTreeMap<String, String>,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// SHA-256 of `user:password` pairs bcrypt already accepted: bcrypt is slow on purpose,
    /// and a scrape every few seconds should not pay for it each time.
    accepted: Mutex<HashSet<[u8; 32]>>,
}

impl Guard {
    fn verify(&self, user: &str, password: &str) -> bool {
        let Some(hash) = self.users.get(user) else {
            return false;
        };
        let key: [u8; 32] = Sha256::digest(format!("{user}:{password}:{hash}")).into();
        let mut accepted = self.accepted.lock().unwrap_or_else(|e| e.into_inner());
        if accepted.contains(&key) {
            return true;
        }
        let ok = bcrypt::verify(password, hash).unwrap_or(false);
        if ok {
            accepted.insert(key);
        }
        ok
    }

    fn authorised(&self, headers: &HeaderMap) -> bool {
        if self.users.is_empty() {
            return true;
        }
        let Some(encoded) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
        else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let Ok(text) = String::from_utf8(decoded) else {
            return false;
        };
        text.split_once(':')
            .is_some_and(|(user, password)| self.verify(user, password))
    }
}

/// The middleware: 401 with a challenge without valid credentials; configured headers on
/// every answer.
pub async fn guard(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let mut response = if guard.authorised(request.headers()) {
        next.run(request).await
    } else {
        let mut denied = (StatusCode::UNAUTHORIZED, "Unauthorized\n").into_response();
        denied.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"dms_exporter\""),
        );
        denied
    };
    for (name, value) in &guard.headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

fn invalid(file: &str, field: &str, message: impl Into<String>) -> WebConfigError {
    WebConfigError::Invalid {
        file: file.to_owned(),
        field: field.to_owned(),
        message: message.into(),
    }
}

fn tls_config(file: &str, tls: &TlsServerConfig) -> Result<rustls::ServerConfig, WebConfigError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&tls.cert_file)
        .and_then(|iter| iter.collect())
        .map_err(|e| {
            invalid(
                file,
                "tls_server_config.cert_file",
                format!("{}: {e}", tls.cert_file),
            )
        })?;
    if certs.is_empty() {
        return Err(invalid(
            file,
            "tls_server_config.cert_file",
            format!("{}: no certificate", tls.cert_file),
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&tls.key_file).map_err(|e| {
        invalid(
            file,
            "tls_server_config.key_file",
            format!("{}: {e}", tls.key_file),
        )
    })?;
    let versions: &[&rustls::SupportedProtocolVersion] = match tls.min_version.as_deref() {
        None | Some("TLS12") => &[&rustls::version::TLS13, &rustls::version::TLS12],
        Some("TLS13") => &[&rustls::version::TLS13],
        Some(other) => {
            return Err(invalid(
                file,
                "tls_server_config.min_version",
                format!("{other:?}: use TLS12 or TLS13"),
            ));
        }
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(versions)
        .map_err(|e| invalid(file, "tls_server_config", e.to_string()))?;
    let client_ca = || -> Result<Arc<rustls::RootCertStore>, WebConfigError> {
        let path = tls.client_ca_file.as_deref().ok_or_else(|| {
            invalid(
                file,
                "tls_server_config.client_ca_file",
                format!("required with client_auth_type {}", tls.client_auth_type),
            )
        })?;
        let mut roots = rustls::RootCertStore::empty();
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
            .map_err(|e| {
                invalid(
                    file,
                    "tls_server_config.client_ca_file",
                    format!("{path}: {e}"),
                )
            })?;
        for cert in certs {
            roots.add(cert).map_err(|e| {
                invalid(
                    file,
                    "tls_server_config.client_ca_file",
                    format!("{path}: {e}"),
                )
            })?;
        }
        Ok(Arc::new(roots))
    };
    let builder = match tls.client_auth_type.as_str() {
        "NoClientCert" => builder.with_no_client_auth(),
        kind @ ("RequireAndVerifyClientCert" | "VerifyClientCertIfGiven") => {
            let verifier = WebPkiClientVerifier::builder_with_provider(client_ca()?, provider);
            let verifier = if kind == "VerifyClientCertIfGiven" {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier
                .build()
                .map_err(|e| invalid(file, "tls_server_config.client_ca_file", e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        other => {
            return Err(invalid(
                file,
                "tls_server_config.client_auth_type",
                format!(
                    "{other:?} is not supported: use NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert"
                ),
            ));
        }
    };
    let mut config = builder.with_single_cert(certs, key).map_err(|e| {
        invalid(
            file,
            "tls_server_config",
            format!("certificate and key do not match: {e}"),
        )
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Reads and checks a web configuration file.
pub fn load(path: &Path) -> Result<WebSettings, WebConfigError> {
    let file = path.display().to_string();
    let config: WebConfig = load_yaml_file(path)?;
    settings(&file, &config)
}

/// Turns a parsed configuration into server settings.
pub fn settings(file: &str, config: &WebConfig) -> Result<WebSettings, WebConfigError> {
    for (user, hash) in &config.basic_auth_users {
        if let Some(problem) = crate::config::bcrypt_hash_problem(hash) {
            return Err(invalid(file, &format!("basic_auth_users.{user}"), problem));
        }
    }
    let mut headers = Vec::new();
    for (name, value) in &config.http_server_config.headers {
        let field = format!("http_server_config.headers.{name}");
        let name = HeaderName::try_from(name.as_str())
            .map_err(|e| invalid(file, &field, e.to_string()))?;
        let value = HeaderValue::try_from(value.as_str())
            .map_err(|e| invalid(file, &field, e.to_string()))?;
        headers.push((name, value));
    }
    let tls = config
        .tls_server_config
        .as_ref()
        .map(|tls| tls_config(file, tls).map(Arc::new))
        .transpose()?;
    Ok(WebSettings {
        tls,
        guard: Arc::new(Guard {
            users: config.basic_auth_users.clone(),
            headers,
            accepted: Mutex::default(),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard_with(user: &str, password: &str) -> Guard {
        let hash = bcrypt::hash(password, 4).expect("hash");
        Guard {
            users: BTreeMap::from([(user.to_owned(), hash)]),
            ..Guard::default()
        }
    }

    fn basic(user: &str, password: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::try_from(format!("Basic {encoded}")).expect("header"),
        );
        headers
    }

    #[test]
    fn basic_auth_accepts_only_the_right_password() {
        let guard = guard_with("prometheus", "s3cret");
        assert!(guard.authorised(&basic("prometheus", "s3cret")));
        assert!(
            guard.authorised(&basic("prometheus", "s3cret")),
            "cached success"
        );
        assert!(!guard.authorised(&basic("prometheus", "wrong")));
        assert!(!guard.authorised(&basic("other", "s3cret")));
        assert!(!guard.authorised(&HeaderMap::new()));
    }

    #[test]
    fn no_users_means_no_auth() {
        assert!(Guard::default().authorised(&HeaderMap::new()));
    }

    #[test]
    fn plain_passwords_are_refused_as_hashes() {
        let config = WebConfig {
            basic_auth_users: BTreeMap::from([("u".to_owned(), "plain".to_owned())]),
            ..WebConfig::default()
        };
        let error = settings("web.yml", &config)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("basic_auth_users.u") && error.contains("bcrypt"),
            "{error}"
        );
    }
}
