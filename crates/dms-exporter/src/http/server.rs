//! The accept loop, with the limits a server facing a network needs (as Prometheus's
//! `--web.max-connections` and Go's `ReadHeaderTimeout` and `IdleTimeout`): a cap on open
//! connections, shared by every listener, and deadlines for request heads and idle time.
//!
//! At the cap the loop stops accepting: the connection accepted last waits for a slot and the
//! next ones in the kernel's backlog, not refused. For each waiting accept the longest-idle
//! kept-alive connection (answered, no byte of a next request read) is closed, at once or as
//! soon as one turns idle ([`IdleConnections`]), so idle clients cannot lock out a new
//! scraper; busy and half-sent connections keep the cap. A request head is due within
//! `read_header_timeout` of its first byte, or of the accept on a new connection (the TLS
//! handshake too); a kept-alive connection may wait `idle_timeout` for its next request. A
//! connection whose answer the client stops reading fails after `write_stall_timeout`
//! without progress ([`WriteStallGuard`]).

use std::sync::Arc;
use std::time::Duration;

use std::convert::Infallible;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use tower_service::Service as _;

use super::head_deadline::{HeadDeadline, Requests, Tracked};
use super::idle::{Activity, IdleConnections, Registration};
use super::stall::WriteStallGuard;

/// How long requests in flight may take to finish once shutdown begins.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How long to wait after a failed `accept` (out of file descriptors, say) before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The connection limits; clones share one connection cap (and its idle connections).
#[derive(Clone)]
pub struct Limits {
    /// Time allowed to send a request head, from its first byte (from the accept on a new
    /// connection); also the TLS handshake's.
    pub read_header_timeout: Duration,
    /// How long a kept-alive connection may wait for the next request (head included).
    pub idle_timeout: Duration,
    /// How long writes may make no progress before the connection is dropped.
    pub write_stall_timeout: Duration,
    connections: Arc<Semaphore>,
    idle: Arc<IdleConnections>,
}

impl Limits {
    /// `max_connections` open at once; the timeouts at their defaults.
    pub fn new(max_connections: usize) -> Self {
        Self {
            read_header_timeout: DEFAULT_READ_HEADER_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            write_stall_timeout: DEFAULT_WRITE_STALL_TIMEOUT,
            connections: Arc::new(Semaphore::new(max_connections)),
            idle: Arc::default(),
        }
    }
}

/// `--web.read-header-timeout`'s default: a live client sends a head in milliseconds.
pub const DEFAULT_READ_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// `--web.idle-timeout`'s default: longer than the usual scrape intervals (up to 1m), so
/// Prometheus keeps its connection between scrapes.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// `--web.write-stall-timeout`'s default: far beyond any live reader's pause.
pub const DEFAULT_WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// `--web.max-connections`'s default, Prometheus's.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 512;

impl Default for Limits {
    /// The flags' defaults.
    fn default() -> Self {
        Self::new(DEFAULT_MAX_CONNECTIONS as usize)
    }
}

/// Serves `app` on `listener` until `shutdown`, then lets requests in flight finish (up to
/// [`SHUTDOWN_GRACE`]).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Limits,
    shutdown: CancellationToken,
) {
    let tls = tls.map(TlsAcceptor::from);
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        while let Some(ended) = connections.try_join_next() {
            log_panic(ended);
        }
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!(%error, "cannot accept a connection");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        // Accepted before its slot, so that room is made only for a connection that exists;
        // the next ones wait in the backlog meanwhile.
        let permit = tokio::select! {
            () = shutdown.cancelled() => break,
            permit = slot(&limits) => permit,
        };
        // The semaphore is never closed.
        let Some(permit) = permit else { break };
        connections.spawn(connection(
            WriteStallGuard::new(stream, limits.write_stall_timeout),
            tls.clone(),
            app.clone(),
            limits.clone(),
            limits.idle.register(permit, &shutdown),
        ));
    }
    let drained = async {
        while let Some(ended) = connections.join_next().await {
            log_panic(ended);
        }
    };
    if tokio::time::timeout(SHUTDOWN_GRACE, drained).await.is_err() {
        tracing::warn!("connections still open after the shutdown grace period; closing them");
    }
}

/// A slot under the cap. At the cap, the accept waits and has room made: the longest-idle
/// connection closed, again whenever a connection turns idle or the one closed gave its slot
/// to another listener's accept.
async fn slot(limits: &Limits) -> Option<OwnedSemaphorePermit> {
    match Arc::clone(&limits.connections).try_acquire_owned() {
        Ok(permit) => return Some(permit),
        Err(TryAcquireError::Closed) => return None,
        Err(TryAcquireError::NoPermits) => {}
    }
    let _waiting = limits.idle.wait();
    // Created once, so the accept keeps its place in the semaphore's queue.
    let acquire = Arc::clone(&limits.connections).acquire_owned();
    let mut acquire = std::pin::pin!(acquire);
    loop {
        let changed = limits.idle.changed();
        let mut changed = std::pin::pin!(changed);
        // Listening before making room, so a change in between is not missed.
        changed.as_mut().enable();
        limits.idle.make_room();
        tokio::select! {
            // A slot freed by the connection closed for this accept comes first.
            biased;
            permit = acquire.as_mut() => return permit.ok(),
            () = changed => {}
        }
    }
}

/// A panic in a handler ends its connection only; it is logged, not lost.
fn log_panic(ended: Result<(), tokio::task::JoinError>) {
    if let Err(error) = ended {
        tracing::error!(%error, "an HTTP connection's task failed");
    }
}

/// One connection, holding its slot under the cap (in `registration`) until it closes.
async fn connection(
    stream: WriteStallGuard<TcpStream>,
    tls: Option<TlsAcceptor>,
    app: Router,
    limits: Limits,
    registration: Registration,
) {
    let Some(acceptor) = tls else {
        return http(stream, app, &limits, registration).await;
    };
    match tokio::time::timeout(limits.read_header_timeout, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => http(stream, app, &limits, registration).await,
        Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
        Err(_) => tracing::debug!("TLS handshake timed out"),
    }
}

/// HTTP/1.1 on one connection; at shutdown, or closed to make room, it closes once its
/// request in flight, if any, is answered. hyper's head timer, which runs from when the
/// connection starts waiting for a request, is the idle bound; [`HeadDeadline`] times each
/// head from its first byte.
async fn http<I>(io: I, app: Router, limits: &Limits, registration: Registration)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let requests = Arc::new(Requests::default());
    let close = registration.close_token();
    let io = HeadDeadline::new(io, limits.read_header_timeout, Arc::clone(&requests));
    let io = Activity::new(io, Arc::clone(&requests), registration);
    let service = service_fn(move |request: Request<Incoming>| {
        let in_flight = requests.start();
        // Router is always ready; no `poll_ready` needed.
        let response = app.clone().call(request);
        async move {
            let response = response.await?;
            Ok::<_, Infallible>(response.map(|body| Body::new(Tracked::new(body, in_flight))))
        }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.idle_timeout)
        .serve_connection(TokioIo::new(io), service);
    let mut connection = std::pin::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = close.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        // Timeouts and clients going away: routine, not the operator's concern.
        tracing::debug!(%error, "connection ended with an error");
    }
}
