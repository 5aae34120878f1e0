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
        let client = reqwest::Client::builder()
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
    // The URL holds no secret, but leave it out anyway: the caller names the API.
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "<url>");
    }
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    crate::error::sanitize(&text, 300)
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
