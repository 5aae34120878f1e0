//! The HTTP server over real sockets: the connection cap, the head and idle deadlines,
//! `/-/reload` behind `--web.enable-lifecycle`, and `Accept-Encoding` refusals.

use std::net::SocketAddr;
use std::time::Duration;

use dms_exporter::http::server::Limits;
use dms_exporter::http::{self, ServerState, web_config};
use dms_sim::{SimConfig, Simulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::support::in_process;

/// An exporter's state (reading a simulator in-process) and the token that stops it.
fn state() -> (ServerState, CancellationToken) {
    let sim_config = SimConfig::deterministic();
    let sim = Simulator::new(SimConfig::deterministic());
    let shutdown = CancellationToken::new();
    let exporter = in_process(&sim, &sim_config, "", &shutdown);
    (exporter.server_state("/metrics"), shutdown)
}

async fn serve(state: ServerState, limits: Limits, shutdown: &CancellationToken) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let web = web_config::settings("(none)", &web_config::WebConfig::default()).expect("web");
    tokio::spawn(http::serve(listener, state, web, limits, shutdown.clone()));
    address
}

fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .expect("client")
}

/// Reads until the server closes the connection; how long that took from `since`.
async fn closed_after(stream: &mut TcpStream, since: Instant) -> Duration {
    let mut buffer = [0u8; 4096];
    let closing = async {
        // A reset counts as closed too.
        while stream.read(&mut buffer).await.unwrap_or(0) > 0 {}
    };
    tokio::time::timeout(Duration::from_secs(20), closing)
        .await
        .expect("the server closes the connection");
    since.elapsed()
}

/// Sends one request on `stream` and reads until its answer is complete.
async fn answered(stream: &mut TcpStream) {
    stream
        .write_all(b"GET /-/healthy HTTP/1.1\r\nHost: exporter\r\n\r\n")
        .await
        .expect("write");
    let mut response = Vec::new();
    while !String::from_utf8_lossy(&response).contains("Healthy\n") {
        let mut buffer = [0u8; 1024];
        let read = stream.read(&mut buffer).await.expect("response");
        assert!(read > 0, "closed before answering");
        response.extend_from_slice(&buffer[..read]);
    }
}

/// Timers never fire early, so each lower bound is exact; the upper bounds leave seconds of
/// slack for a loaded machine and only tell the head deadline from the idle one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heads_are_due_at_the_header_deadline_and_kept_alive_connections_at_the_idle_one() {
    let (state, shutdown) = state();
    let mut limits = Limits::new(64);
    limits.read_header_timeout = Duration::from_millis(300);
    limits.idle_timeout = Duration::from_secs(6);
    let (head, idle) = (limits.read_header_timeout, limits.idle_timeout);
    let address = serve(state, limits, &shutdown).await;
    let start = Instant::now();
    let mut silent = Vec::new();
    let mut half_sent = Vec::new();
    for _ in 0..8 {
        silent.push(TcpStream::connect(address).await.expect("connect"));
        let mut stream = TcpStream::connect(address).await.expect("connect");
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: exporter\r\n")
            .await
            .expect("write");
        half_sent.push(stream);
    }
    let mut kept_alive = TcpStream::connect(address).await.expect("connect");
    answered(&mut kept_alive).await;
    let kept_alive_since = Instant::now();
    let mut half_sent_again = TcpStream::connect(address).await.expect("connect");
    answered(&mut half_sent_again).await;
    half_sent_again
        .write_all(b"GET /metrics HTTP/1.1\r\n")
        .await
        .expect("write");
    let half_sent_again_since = Instant::now();

    for stream in silent.iter_mut().chain(half_sent.iter_mut()) {
        let after = closed_after(stream, start).await;
        assert!(
            after >= head && after < idle,
            "new connection closed after {after:?}"
        );
    }
    let after = closed_after(&mut half_sent_again, half_sent_again_since).await;
    assert!(
        after >= head && after < idle,
        "a second head stalled, closed after {after:?}"
    );
    let after = closed_after(&mut kept_alive, kept_alive_since).await;
    assert!(
        after >= idle,
        "kept-alive connection closed after {after:?}"
    );
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_new_connections_wait_and_are_served_when_one_closes() {
    let (state, shutdown) = state();
    let address = serve(state, Limits::new(2), &shutdown).await;
    let mut held = vec![
        TcpStream::connect(address).await.expect("connect"),
        TcpStream::connect(address).await.expect("connect"),
    ];
    let url = format!("http://{address}/-/healthy");
    let waiting = client(Duration::from_millis(1500))
        .get(&url)
        .send()
        .await
        .expect_err("no slot free: the request waits");
    assert!(
        waiting.is_timeout(),
        "waits in the backlog, not refused: {waiting}"
    );
    held.pop();
    let served = client(Duration::from_secs(20))
        .get(&url)
        .send()
        .await
        .expect("served once a slot is free");
    assert_eq!(served.status(), 200);
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_needs_the_lifecycle_flag_and_refuses_cross_site_requests() {
    let (mut state, shutdown) = state();
    let off = serve(state.clone(), Limits::default(), &shutdown).await;
    let (requests, mut reloads) =
        tokio::sync::mpsc::channel::<tokio::sync::oneshot::Sender<Result<(), String>>>(4);
    tokio::spawn(async move {
        while let Some(reply) = reloads.recv().await {
            let _ = reply.send(Ok(()));
        }
    });
    state.reload = Some(requests);
    state.lifecycle = true;
    let on = serve(state, Limits::default(), &shutdown).await;
    let client = client(Duration::from_secs(20));

    let refused = client
        .post(format!("http://{off}/-/reload"))
        .send()
        .await
        .expect("answer");
    assert_eq!(refused.status(), 403);
    let message = refused.text().await.unwrap_or_default();
    assert!(message.contains("--web.enable-lifecycle"), "{message}");

    let url = format!("http://{on}/-/reload");
    let reloaded = client.post(&url).send().await.expect("answer");
    assert_eq!(reloaded.status(), 200);
    let form = client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("a=b")
        .send()
        .await
        .expect("answer");
    assert_eq!(form.status(), 403);
    let other_site = client
        .post(&url)
        .header("origin", "https://attacker.example")
        .send()
        .await
        .expect("answer");
    assert_eq!(other_site.status(), 403);
    let read = client.get(&url).send().await.expect("answer");
    assert_eq!(read.status(), 405);
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_honour_refused_codings() {
    let (state, shutdown) = state();
    let address = serve(state, Limits::default(), &shutdown).await;
    let client = client(Duration::from_secs(20));
    let url = format!("http://{address}/metrics");
    let get = |coding: &'static str| client.get(&url).header("accept-encoding", coding).send();
    let refused = get("identity;q=0").await.expect("answer");
    assert_eq!(refused.status(), 406);
    let message = refused.text().await.unwrap_or_default();
    assert!(message.contains("Accept-Encoding"), "{message}");
    let plain = get("gzip;q=0").await.expect("answer");
    assert_eq!(plain.status(), 200);
    assert!(!plain.headers().contains_key("content-encoding"));
    let gzip = get("gzip;q=0.5, identity;q=0.1").await.expect("answer");
    assert_eq!(gzip.headers()["content-encoding"], "gzip");
    shutdown.cancel();
}
