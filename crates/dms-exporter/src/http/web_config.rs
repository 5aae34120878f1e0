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
use tokio::sync::Semaphore;

use crate::config::{ConfigError, load_yaml_file};
use crate::locks::lock;

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
    basic_auth: Option<BasicAuth>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

/// How many accepted `(user, password)` pairs are remembered (exporter-toolkit's figure).
const ACCEPTED_CAPACITY: usize = 100;

/// bcrypt checks, off the async workers: on the blocking pool, at most one per core at a
/// time (a flood of wrong passwords queues there, while scrapes whose credentials were
/// accepted before skip bcrypt altogether), and as slow for an unknown user as for a known
/// one.
struct BasicAuth {
    users: BTreeMap<String, String>,
    /// A hash of a random password at the users' highest cost, checked for unknown users so
    /// the answer's timing does not say which names exist.
    dummy: String,
    /// SHA-256 of `(user, password, hash)` that bcrypt accepted: bcrypt is slow on purpose,
    /// and a scrape every few seconds should not pay for it each time. The lock is held for
    /// a lookup or an insert only, never during bcrypt.
    accepted: Mutex<HashSet<[u8; 32]>>,
    verifications: Arc<Semaphore>,
}

impl BasicAuth {
    fn new(users: BTreeMap<String, String>) -> Result<Self, bcrypt::BcryptError> {
        let cost = users
            .values()
            .filter_map(|hash| hash.parse::<bcrypt::HashParts>().ok())
            .map(|parts| parts.get_cost())
            .max()
            .unwrap_or(bcrypt::DEFAULT_COST);
        let dummy = bcrypt::hash(fastrand::u64(..).to_le_bytes(), cost)?;
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(Self {
            users,
            dummy,
            accepted: Mutex::default(),
            verifications: Arc::new(Semaphore::new(cores)),
        })
    }

    /// The hash `user`'s password is checked against, and whether the user exists.
    fn hash_for(&self, user: &str) -> (&str, bool) {
        match self.users.get(user) {
            Some(hash) => (hash, true),
            None => (&self.dummy, false),
        }
    }

    async fn verify(&self, user: &str, password: &str) -> bool {
        let (hash, known) = self.hash_for(user);
        let key: [u8; 32] = Sha256::new()
            .chain_update(user)
            .chain_update([0])
            .chain_update(password)
            .chain_update([0])
            .chain_update(hash)
            .finalize()
            .into();
        let accepted = || lock(&self.accepted);
        if known && accepted().contains(&key) {
            return true;
        }
        let Ok(_slot) = self.verifications.acquire().await else {
            return false;
        };
        let (password, hash) = (password.to_owned(), hash.to_owned());
        let matches = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash))
            .await
            .is_ok_and(|verified| verified.unwrap_or(false));
        if !(known && matches) {
            return false;
        }
        let mut accepted = accepted();
        if accepted.len() >= ACCEPTED_CAPACITY
            && let Some(evicted) = accepted.iter().next().copied()
        {
            accepted.remove(&evicted);
        }
        accepted.insert(key);
        true
    }
}

impl Guard {
    async fn authorised(&self, headers: &HeaderMap) -> bool {
        let Some(basic_auth) = &self.basic_auth else {
            return true;
        };
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
        match text.split_once(':') {
            Some((user, password)) => basic_auth.verify(user, password).await,
            None => false,
        }
    }
}

/// The middleware: 401 with a challenge without valid credentials; configured headers on
/// every answer.
pub async fn guard(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let mut response = if guard.authorised(request.headers()).await {
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

/// A PEM file's text, read with the configuration files' size cap (a `/dev/zero` must not
/// fill memory).
fn pem_text(file: &str, field: &str, path: &str) -> Result<String, WebConfigError> {
    crate::config::read_capped(std::path::Path::new(path))
        .map_err(|e| invalid(file, field, format!("{path}: {e}")))
}

fn tls_config(file: &str, tls: &TlsServerConfig) -> Result<rustls::ServerConfig, WebConfigError> {
    let cert_pem = pem_text(file, "tls_server_config.cert_file", &tls.cert_file)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
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
    let key_pem = pem_text(file, "tls_server_config.key_file", &tls.key_file)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| {
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
        let ca_pem = pem_text(file, "tls_server_config.client_ca_file", path)?;
        let certs = CertificateDer::pem_slice_iter(ca_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
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
    let basic_auth = if config.basic_auth_users.is_empty() {
        None
    } else {
        let auth = BasicAuth::new(config.basic_auth_users.clone())
            .map_err(|e| invalid(file, "basic_auth_users", e.to_string()))?;
        Some(auth)
    };
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
            basic_auth,
            headers,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Certificate, key and client CA files are read with the configuration files' cap: an
    /// endless file is refused by name instead of filling memory.
    #[test]
    fn endless_tls_files_are_refused_by_field() {
        let tls = |cert: &str, key: &str| TlsServerConfig {
            cert_file: cert.to_owned(),
            key_file: key.to_owned(),
            client_auth_type: no_client_cert(),
            client_ca_file: None,
            min_version: None,
        };
        let error = |tls: TlsServerConfig| {
            tls_config("web.yml", &tls)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        let cert = error(tls("/dev/zero", "/dev/zero"));
        assert!(
            cert.contains("tls_server_config.cert_file") && cert.contains("/dev/zero"),
            "{cert}"
        );
        let dir = std::env::temp_dir().join(format!("web-config-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let pki = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("cert");
        let cert_path = dir.join("cert.pem");
        std::fs::write(&cert_path, pki.cert.pem()).expect("write cert");
        let key = error(tls(&cert_path.to_string_lossy(), "/dev/zero"));
        assert!(key.contains("tls_server_config.key_file"), "{key}");
        std::fs::remove_dir_all(dir).ok();
    }

    fn guard_with(users: &[(&str, &str)], cost: u32) -> Guard {
        let users = users
            .iter()
            .map(|(user, password)| {
                (
                    (*user).to_owned(),
                    bcrypt::hash(password, cost).expect("hash"),
                )
            })
            .collect();
        Guard {
            basic_auth: Some(BasicAuth::new(users).expect("dummy hash")),
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

    fn accepted_count(guard: &Guard) -> usize {
        guard
            .basic_auth
            .as_ref()
            .map_or(0, |auth| lock(&auth.accepted).len())
    }

    #[tokio::test]
    async fn basic_auth_accepts_only_the_right_password() {
        let guard = guard_with(&[("prometheus", "s3cret")], 4);
        assert!(guard.authorised(&basic("prometheus", "s3cret")).await);
        assert_eq!(accepted_count(&guard), 1, "success remembered");
        assert!(guard.authorised(&basic("prometheus", "s3cret")).await);
        assert!(!guard.authorised(&basic("prometheus", "wrong")).await);
        assert!(!guard.authorised(&basic("other", "s3cret")).await);
        assert!(!guard.authorised(&HeaderMap::new()).await);
        assert_eq!(accepted_count(&guard), 1, "failures are not remembered");
    }

    #[tokio::test]
    async fn no_users_means_no_auth() {
        assert!(Guard::default().authorised(&HeaderMap::new()).await);
    }

    #[test]
    fn unknown_users_cost_as_much_as_the_dearest_known_one() {
        let guard = guard_with(&[("a", "x")], 4);
        let mut users = guard.basic_auth.map(|auth| auth.users).unwrap_or_default();
        users.insert("b".to_owned(), bcrypt::hash("y", 6).expect("hash"));
        let auth = BasicAuth::new(users).expect("dummy hash");
        let (dummy, known) = auth.hash_for("nobody");
        assert!(!known);
        let parts = dummy
            .parse::<bcrypt::HashParts>()
            .expect("a real bcrypt hash");
        assert_eq!(parts.get_cost(), 6);
        let (hash, known) = auth.hash_for("a");
        assert!(known && hash != dummy);
    }

    #[tokio::test]
    async fn remembered_successes_are_bounded() {
        let users: Vec<(String, String)> = (0..=ACCEPTED_CAPACITY)
            .map(|i| (format!("user{i}"), format!("password{i}")))
            .collect();
        let pairs: Vec<(&str, &str)> = users
            .iter()
            .map(|(u, p)| (u.as_str(), p.as_str()))
            .collect();
        let guard = guard_with(&pairs, 4);
        for (user, password) in &pairs {
            assert!(guard.authorised(&basic(user, password)).await, "{user}");
        }
        assert_eq!(accepted_count(&guard), ACCEPTED_CAPACITY);
    }

    /// On one async worker, wrong passwords being checked must not hold up a request whose
    /// credentials were accepted before: bcrypt runs on the blocking pool.
    #[tokio::test(flavor = "current_thread")]
    async fn verification_runs_off_the_async_workers() {
        let guard = Arc::new(guard_with(&[("prometheus", "s3cret")], 8));
        assert!(guard.authorised(&basic("prometheus", "s3cret")).await);
        let wrong: Vec<_> = (0..4)
            .map(|i| {
                let guard = Arc::clone(&guard);
                tokio::spawn(async move {
                    guard
                        .authorised(&basic("prometheus", &format!("guess{i}")))
                        .await
                })
            })
            .collect();
        // Lets every wrong-password task start its check.
        tokio::task::yield_now().await;
        assert!(guard.authorised(&basic("prometheus", "s3cret")).await);
        assert!(
            wrong.iter().any(|task| !task.is_finished()),
            "the good request waited for every bcrypt check"
        );
        for task in wrong {
            assert_eq!(task.await.ok(), Some(false));
        }
    }

    #[test]
    fn plain_passwords_and_malformed_hashes_are_refused() {
        for hash in [
            "plain",
            "$2y$10$too-short",
            "$2y$99$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi",
            "$2y$31$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi",
            "$2x$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi",
        ] {
            let config = WebConfig {
                basic_auth_users: BTreeMap::from([("u".to_owned(), hash.to_owned())]),
                ..WebConfig::default()
            };
            let error = settings("web.yml", &config)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                error.contains("basic_auth_users.u") && error.contains("bcrypt"),
                "{hash}: {error}"
            );
        }
    }
}
