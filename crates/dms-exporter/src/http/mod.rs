//! The HTTP server: landing page, metrics, health and readiness. Scrapes read the encoded
//! snapshot and encode only the small self-metrics; they never call the cloud.

mod body;
mod head_deadline;
mod idle;
pub mod landing;
mod lifecycle;
pub mod negotiate;
pub mod server;
mod stall;
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
use crate::http::negotiate::Encoding;
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
    /// `--web.enable-lifecycle`: without it `/-/reload` refuses (SIGHUP still reloads).
    pub lifecycle: bool,
}

async fn metrics(State(state): State<ServerState>, headers: HeaderMap) -> Response {
    let encoding = match negotiate::encoding(&headers) {
        Ok(encoding) => encoding,
        Err(refused) => {
            return (StatusCode::NOT_ACCEPTABLE, format!("{refused}\n")).into_response();
        }
    };
    let format = negotiate::format(&headers);
    let snapshot = state.snapshot.load();
    let body = snapshot.body(format);
    let mut tail = String::with_capacity(16 * 1024);
    state.self_metrics.encode(format, &mut tail);
    if format == Format::OpenMetrics {
        tail.push_str("# EOF\n");
    }
    // The snapshot's chunks are shared, not copied; the tail is the only per-scrape bytes.
    let (chunks, tail, encoding) = match encoding {
        // Gzip members in a row form one valid gzip stream (RFC 1952 §2.2).
        Encoding::Gzip => (body.gzip.chunks(), gzip(tail.as_bytes()), Some("gzip")),
        Encoding::Identity => (body.plain.chunks(), Bytes::from(tail), None),
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
        .route("/-/reload", post(lifecycle::reload).put(lifecycle::reload))
        .with_state(state)
}

/// Serves until `shutdown` is cancelled, then finishes the requests in flight. With TLS in
/// `web`, speaks HTTPS (and checks client certificates when configured); `limits` cap the
/// connections and how long one may wait, send a head or stall.
pub async fn serve(
    listener: TcpListener,
    state: ServerState,
    web: web_config::WebSettings,
    limits: server::Limits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let app = router(state).layer(axum::middleware::from_fn_with_state(
        Arc::clone(&web.guard),
        web_config::guard,
    ));
    server::serve(listener, app, web.tls, limits, shutdown).await;
    Ok(())
}
