//! The HTTP server: landing page, metrics, health and readiness. Scrapes read the encoded
//! snapshot and encode only the small self-metrics; they never call the cloud.

mod body;
pub mod landing;
pub mod web_config;

use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::collect::scheduler::Readiness;
use crate::config::CollectorsConfig;
use crate::metrics::exposition::Format;
use crate::metrics::self_metrics::{SelfMetrics, unix_now};
use crate::snapshot::{SnapshotHandle, gzip};

/// What the handlers read.
#[derive(Clone)]
pub struct ServerState {
    pub snapshot: SnapshotHandle,
    pub self_metrics: Arc<SelfMetrics>,
    pub readiness: Arc<Readiness>,
    pub telemetry_path: String,
    /// The running collection's collector settings (their intervals, for the landing page).
    pub collectors: Arc<ArcSwap<CollectorsConfig>>,
    /// The configuration file (`None` in `--demo`), for the landing page.
    pub config_file: Option<String>,
    /// Where `POST /-/reload` asks for a reload; `None` when there is nothing to reload.
    pub reload: Option<mpsc::Sender<oneshot::Sender<Result<(), String>>>>,
}

/// Picks the exposition format from `Accept`: OpenMetrics when the client lists it.
pub fn negotiate(headers: &HeaderMap) -> Format {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    if accept.contains("application/openmetrics-text") {
        Format::OpenMetrics
    } else {
        Format::Text
    }
}

fn wants_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.trim().split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| p.trim().replace(' ', "") == "q=0");
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}

async fn metrics(State(state): State<ServerState>, headers: HeaderMap) -> Response {
    let format = negotiate(&headers);
    let snapshot = state.snapshot.load();
    let body = snapshot.body(format);
    let mut tail = String::with_capacity(16 * 1024);
    state.self_metrics.encode(format, &mut tail);
    if format == Format::OpenMetrics {
        tail.push_str("# EOF\n");
    }
    // The snapshot's chunks are shared, not copied; the tail is the only per-scrape bytes.
    let (chunks, tail, encoding) = if wants_gzip(&headers) {
        // Gzip members in a row form one valid gzip stream (RFC 1952 §2.2).
        (body.gzip.chunks(), gzip(tail.as_bytes()), Some("gzip"))
    } else {
        (body.plain.chunks(), Bytes::from(tail), None)
    };
    let body = body::ChunksBody::new(Arc::clone(chunks), tail);
    let mut response = (StatusCode::OK, axum::body::Body::new(body)).into_response();
    let response_headers = response.headers_mut();
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Some(encoding) = encoding {
        response_headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    response_headers.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Accept-Encoding"),
    );
    response
}

async fn healthy() -> &'static str {
    "Healthy\n"
}

async fn ready(State(state): State<ServerState>) -> (StatusCode, &'static str) {
    if state.readiness.is_ready() {
        (StatusCode::OK, "Ready\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "Not ready: the first refresh has not finished\n",
        )
    }
}

async fn reload(State(state): State<ServerState>) -> (StatusCode, String) {
    let Some(requests) = &state.reload else {
        return (
            StatusCode::BAD_REQUEST,
            "nothing to reload: no configuration file\n".to_owned(),
        );
    };
    let (reply, answer) = oneshot::channel();
    if requests.send(reply).await.is_err() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting down\n".to_owned(),
        );
    }
    match answer.await {
        Ok(Ok(())) => (StatusCode::OK, "configuration reloaded\n".to_owned()),
        Ok(Err(error)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reload failed: {error}\n"),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting down\n".to_owned(),
        ),
    }
}

async fn landing(State(state): State<ServerState>) -> Html<String> {
    let status = state.self_metrics.status();
    let collectors = state.collectors.load();
    Html(landing::render(&landing::Page {
        status: &status,
        collectors: &collectors,
        config_file: state.config_file.as_deref(),
        telemetry_path: &state.telemetry_path,
        now_unix: unix_now(),
    }))
}

/// The router, for tests and for [`serve`].
pub fn router(state: ServerState) -> Router {
    Router::new()
        .route("/", get(landing))
        .route(&state.telemetry_path.clone(), get(metrics))
        .route("/-/healthy", get(healthy).head(healthy))
        .route("/-/ready", get(ready).head(ready))
        .route("/-/reload", post(reload).put(reload))
        .with_state(state)
}

/// How long requests in flight may take to finish once shutdown begins (TLS server).
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves until `shutdown` is cancelled, then finishes the requests in flight. With TLS in
/// `web`, speaks HTTPS (and checks client certificates when configured).
pub async fn serve(
    listener: TcpListener,
    state: ServerState,
    web: web_config::WebSettings,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let app = router(state).layer(axum::middleware::from_fn_with_state(
        Arc::clone(&web.guard),
        web_config::guard,
    ));
    match web.tls {
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { shutdown.cancelled().await })
                .await
        }
        Some(tls) => {
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                shutdown.cancelled().await;
                stopper.graceful_shutdown(Some(SHUTDOWN_GRACE));
            });
            let config = axum_server::tls_rustls::RustlsConfig::from_config(tls);
            axum_server::tls_rustls::from_tcp_rustls(listener.into_std()?, config)?
                .handle(handle)
                .serve(app.into_make_service())
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_choose_the_format() {
        let mut headers = HeaderMap::new();
        assert_eq!(negotiate(&headers), Format::Text);
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static(
                "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
            ),
        );
        assert_eq!(negotiate(&headers), Format::OpenMetrics);
    }

    #[test]
    fn gzip_only_when_accepted() {
        let mut headers = HeaderMap::new();
        assert!(!wants_gzip(&headers));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("deflate, gzip;q=0.8"),
        );
        assert!(wants_gzip(&headers));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0"),
        );
        assert!(!wants_gzip(&headers));
    }
}
