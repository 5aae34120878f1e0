//! The HTTP seam: the real transport is reqwest; tests plug in the simulator's router or a closure.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;

/// Why no response came back. Messages never carry credentials (no headers, no URLs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("request timed out")]
    Timeout,
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("transport error: {0}")]
    Other(String),
}

/// Sends one HTTP request and returns the whole response.
pub trait Transport: Send + Sync + 'static {
    fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> BoxFuture<'static, Result<http::Response<Bytes>, TransportError>>;
}

/// The production transport: reqwest with rustls, HTTP/1.1 only (the `host` header is signed),
/// a connection pool, no redirects, user agent `dms_exporter/<version>`.
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

/// The user agent sent by [`ReqwestTransport`].
pub const USER_AGENT: &str = concat!("dms_exporter/", env!("CARGO_PKG_VERSION"));

impl ReqwestTransport {
    pub fn new(connect_timeout: Duration) -> Result<Self, TransportError> {
        Self::trusting(connect_timeout, None)
    }

    /// Like [`ReqwestTransport::new`], also trusting the PEM certificates of `ca_pem` (a
    /// private CA of DMS/IAM endpoints or of a TLS-inspecting proxy) besides the system's.
    pub fn trusting(
        connect_timeout: Duration,
        ca_pem: Option<&[u8]>,
    ) -> Result<Self, TransportError> {
        let extra_roots = match ca_pem {
            Some(pem) => {
                let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                    TransportError::Other(format!("CA certificates: {}", describe(&e)))
                })?;
                if certs.is_empty() {
                    return Err(TransportError::Other(
                        "CA certificates: no PEM certificate (-----BEGIN CERTIFICATE-----) found"
                            .to_owned(),
                    ));
                }
                certs
            }
            None => Vec::new(),
        };
        let client = reqwest::Client::builder()
            .tls_certs_merge(extra_roots)
            .connect_timeout(connect_timeout)
            .http1_only()
            .user_agent(USER_AGENT)
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(16)
            .tcp_keepalive(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| TransportError::Other(describe(&e)))?;
        Ok(ReqwestTransport { client })
    }

    /// Wraps an already configured client (it should be HTTP/1.1 only).
    pub fn from_client(client: reqwest::Client) -> Self {
        ReqwestTransport { client }
    }
}

fn describe(error: &reqwest::Error) -> String {
    // The URL holds no secret, but leave it out anyway: the caller names the host and path.
    let url = error.url().map(|url| format!(" for url ({url})"));
    causes(error, url.as_deref())
}

/// The chain of `error`'s causes, outermost first, without the wrappers that say nothing but
/// "a request failed" (reqwest's `error sending request for url (…)`, hyper-util's `client
/// error (Connect)`): `tcp connect error: Connection refused (os error 111)`, not the
/// wrapper alone. `url_text` is cut out wherever it appears.
fn causes(error: &(dyn std::error::Error + 'static), url_text: Option<&str>) -> String {
    const WRAPPERS: [&str; 2] = ["error sending request", "client error ("];
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(current) = next {
        let mut text = current.to_string();
        if let Some(url_text) = url_text {
            text = text.replace(url_text, "");
        }
        let wrapper = WRAPPERS.iter().any(|w| text.starts_with(w));
        // A cause that repeats its source's text word for word adds nothing either.
        if !wrapper && !text.is_empty() && parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
        next = current.source();
    }
    if parts.is_empty() {
        parts.push(error.to_string());
    }
    crate::error::sanitize(&parts.join(": "), 300)
}

fn map_reqwest_error(error: reqwest::Error) -> TransportError {
    if error.is_timeout() {
        TransportError::Timeout
    } else if error.is_connect() {
        TransportError::Connect(describe(&error))
    } else {
        TransportError::Other(describe(&error))
    }
}

impl Transport for ReqwestTransport {
    fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> BoxFuture<'static, Result<http::Response<Bytes>, TransportError>> {
        let client = self.client.clone();
        async move {
            let request = reqwest::Request::try_from(request)
                .map_err(|e| TransportError::Other(describe(&e)))?;
            let response = client.execute(request).await.map_err(map_reqwest_error)?;
            let status = response.status();
            let headers = response.headers().clone();
            let version = response.version();
            let body = response.bytes().await.map_err(map_reqwest_error)?;
            let mut out = http::Response::new(body);
            *out.status_mut() = status;
            *out.headers_mut() = headers;
            *out.version_mut() = version;
            Ok(out)
        }
        .boxed()
    }
}

/// A transport made of a closure; handy for tests and for wiring an in-process server.
pub struct FnTransport<F> {
    f: F,
}

impl<F, Fut> FnTransport<F>
where
    F: Fn(http::Request<Bytes>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<http::Response<Bytes>, TransportError>> + Send + 'static,
{
    pub fn new(f: F) -> Self {
        FnTransport { f }
    }
}

impl<F, Fut> Transport for FnTransport<F>
where
    F: Fn(http::Request<Bytes>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<http::Response<Bytes>, TransportError>> + Send + 'static,
{
    fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> BoxFuture<'static, Result<http::Response<Bytes>, TransportError>> {
        (self.f)(request).boxed()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A private CA's PEM and an HTTPS server on 127.0.0.1 with a certificate it signed,
    /// answering every connection with one `200 OK`.
    async fn private_ca_server() -> (String, std::net::SocketAddr) {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);
        let server_key = KeyPair::generate().expect("server key");
        let server_cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .expect("server params")
            .signed_by(&server_key, &issuer)
            .expect("server certificate");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(server_cert.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
            )
            .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that does not trust the CA aborts the handshake: nothing to do.
                    let Ok(mut tls) = acceptor.accept(socket).await else {
                        return;
                    };
                    let mut request = [0_u8; 4096];
                    let _ = tls.read(&mut request).await;
                    let _ = tls
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                        )
                        .await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        (ca_cert.pem(), address)
    }

    fn get(address: std::net::SocketAddr) -> http::Request<Bytes> {
        http::Request::builder()
            .uri(format!("https://127.0.0.1:{}/v2/projects", address.port()))
            .body(Bytes::new())
            .expect("request")
    }

    #[tokio::test]
    async fn a_private_ca_is_trusted_only_when_configured() {
        let (ca_pem, address) = private_ca_server().await;
        let timeout = Duration::from_secs(5);

        let trusting = ReqwestTransport::trusting(timeout, Some(ca_pem.as_bytes()))
            .expect("transport with the CA");
        let response = trusting.send(get(address)).await.expect("trusted answer");
        assert_eq!(response.status(), http::StatusCode::OK);
        assert_eq!(response.body().as_ref(), b"ok");

        let default = ReqwestTransport::new(timeout).expect("transport");
        let error = default
            .send(get(address))
            .await
            .expect_err("an unknown CA is refused");
        assert!(matches!(error, TransportError::Connect(_)), "{error:?}");
    }

    /// An error wrapping `source`, displayed as `text`.
    #[derive(Debug)]
    struct Wrapped(&'static str, Option<Box<Wrapped>>);

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn causes_skip_the_wrappers_and_keep_the_root_cause() {
        let chain = Wrapped(
            "error sending request for url (https://dms.example.com/v2/p/instances)",
            Some(Box::new(Wrapped(
                "client error (Connect)",
                Some(Box::new(Wrapped(
                    "tcp connect error: Connection refused (os error 111)",
                    Some(Box::new(Wrapped("Connection refused (os error 111)", None))),
                ))),
            ))),
        );
        assert_eq!(
            causes(
                &chain,
                Some(" for url (https://dms.example.com/v2/p/instances)")
            ),
            "tcp connect error: Connection refused (os error 111)"
        );
        let decoding = Wrapped(
            "error decoding response body for url (https://h/p)",
            Some(Box::new(Wrapped("unexpected end of file", None))),
        );
        assert_eq!(
            causes(&decoding, Some(" for url (https://h/p)")),
            "error decoding response body: unexpected end of file"
        );
        // Nothing but wrappers: the outermost is better than nothing.
        let bare = Wrapped("client error (SendRequest)", None);
        assert_eq!(causes(&bare, None), "client error (SendRequest)");
    }

    #[tokio::test]
    async fn a_refused_connection_says_so_without_the_url() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        // Nothing listens there any more: the connection is refused.
        drop(listener);
        let request = http::Request::builder()
            .uri(format!("http://{address}/v2/p/instances"))
            .body(Bytes::new())
            .expect("request");
        let transport = ReqwestTransport::new(Duration::from_secs(5)).expect("transport");
        let error = transport.send(request).await.expect_err("refused");
        let TransportError::Connect(cause) = &error else {
            panic!("{error:?}")
        };
        assert!(cause.to_lowercase().contains("refused"), "{cause}");
        for noise in ["error sending request", "client error", "url", "/v2/"] {
            assert!(!cause.contains(noise), "{noise:?} in {cause}");
        }
    }

    #[test]
    fn a_file_without_certificates_is_refused() {
        let error = ReqwestTransport::trusting(Duration::from_secs(1), Some(b"not a PEM file"))
            .expect_err("no certificate");
        assert!(error.to_string().contains("no PEM certificate"), "{error}");
    }
}
