//! The accept loop, with the limits a server facing a network needs (as Prometheus's
//! `--web.max-connections` and Go's `ReadHeaderTimeout`): a cap on open connections, shared
//! by every listener, and a deadline for each request head.
//!
//! At the cap the loop stops accepting: new connections wait in the kernel's backlog, not
//! refused, and are served as soon as a connection closes. The head deadline starts when a
//! connection begins waiting for a request — a new one, or a kept-alive one after its last
//! response (hyper's `header_read_timeout`) — so it also bounds idle keep-alive connections,
//! as Go does when `IdleTimeout` is unset; on TLS the handshake must finish within it too.
//! A connection whose answer the client stops reading fails after `write_stall_timeout`
//! without progress ([`WriteStallGuard`]).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::stall::WriteStallGuard;

/// How long requests in flight may take to finish once shutdown begins.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How long to wait after a failed `accept` (out of file descriptors, say) before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The connection limits; clones share one connection cap.
#[derive(Clone)]
pub struct Limits {
    /// Time allowed to send a request head, from when the connection starts waiting for it.
    pub read_header_timeout: Duration,
    /// How long writes may make no progress before the connection is dropped.
    pub write_stall_timeout: Duration,
    connections: Arc<Semaphore>,
}

impl Limits {
    pub fn new(read_header_timeout: Duration, max_connections: usize) -> Self {
        Self {
            read_header_timeout,
            write_stall_timeout: DEFAULT_WRITE_STALL_TIMEOUT,
            connections: Arc::new(Semaphore::new(max_connections)),
        }
    }
}

/// `--web.read-header-timeout`'s default: hyper's, and longer than the usual 15 s scrape
/// interval, so Prometheus keeps its connection between scrapes.
pub const DEFAULT_READ_HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// `--web.write-stall-timeout`'s default: far beyond any live reader's pause.
pub const DEFAULT_WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// `--web.max-connections`'s default, Prometheus's.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 512;

impl Default for Limits {
    /// The flags' defaults.
    fn default() -> Self {
        Self::new(
            DEFAULT_READ_HEADER_TIMEOUT,
            DEFAULT_MAX_CONNECTIONS as usize,
        )
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
        let permit = tokio::select! {
            () = shutdown.cancelled() => break,
            permit = Arc::clone(&limits.connections).acquire_owned() => permit,
        };
        // The semaphore is never closed.
        let Ok(permit) = permit else { break };
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        while let Some(ended) = connections.try_join_next() {
            log_panic(ended);
        }
        match accepted {
            Ok((stream, _)) => {
                connections.spawn(connection(
                    WriteStallGuard::new(stream, limits.write_stall_timeout),
                    tls.clone(),
                    app.clone(),
                    limits.read_header_timeout,
                    shutdown.clone(),
                    permit,
                ));
            }
            Err(error) => {
                tracing::warn!(%error, "cannot accept a connection");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
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

/// A panic in a handler ends its connection only; it is logged, not lost.
fn log_panic(ended: Result<(), tokio::task::JoinError>) {
    if let Err(error) = ended {
        tracing::error!(%error, "an HTTP connection's task failed");
    }
}

/// One connection, holding its slot under the cap until it closes.
async fn connection(
    stream: WriteStallGuard<TcpStream>,
    tls: Option<TlsAcceptor>,
    app: Router,
    read_header_timeout: Duration,
    shutdown: CancellationToken,
    _slot: OwnedSemaphorePermit,
) {
    let Some(acceptor) = tls else {
        return http(stream, app, read_header_timeout, shutdown).await;
    };
    match tokio::time::timeout(read_header_timeout, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => http(stream, app, read_header_timeout, shutdown).await,
        Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
        Err(_) => tracing::debug!("TLS handshake timed out"),
    }
}

/// HTTP/1.1 on one connection; at shutdown it closes once its request in flight is answered.
async fn http<I>(io: I, app: Router, read_header_timeout: Duration, shutdown: CancellationToken)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(read_header_timeout)
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(app));
    let mut connection = std::pin::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        // Timeouts and clients going away: routine, not the operator's concern.
        tracing::debug!(%error, "connection ended with an error");
    }
}
