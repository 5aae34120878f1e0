//! The HTTP server over real sockets: the connection cap and the request head deadline,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_half_sent_and_kept_alive_connections_are_closed_after_the_head_deadline() {
    let (state, shutdown) = state();
    let deadline = Duration::from_millis(500);
    let address = serve(state, Limits::new(deadline, 64), &shutdown).await;
    let start = Instant::now();
    let mut idle = Vec::new();
    let mut half_sent = Vec::new();
    for _ in 0..8 {
        idle.push(TcpStream::connect(address).await.expect("connect"));
        let mut stream = TcpStream::connect(address).await.expect("connect");
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: exporter\r\n")
            .await
            .expect("write");
        half_sent.push(stream);
    }
    let mut kept_alive = TcpStream::connect(address).await.expect("connect");
    kept_alive
        .write_all(b"GET /-/healthy HTTP/1.1\r\nHost: exporter\r\n\r\n")
        .await
        .expect("write");
    let mut response = Vec::new();
    while !String::from_utf8_lossy(&response).contains("Healthy\n") {
        let mut buffer = [0u8; 1024];
        let read = kept_alive.read(&mut buffer).await.expect("response");
        assert!(read > 0, "closed before answering");
        response.extend_from_slice(&buffer[..read]);
    }
    let answered = Instant::now();
    for stream in idle.iter_mut().chain(half_sent.iter_mut()) {
        let after = closed_after(stream, start).await;
        // Timers never fire early: a close before the deadline would be for another reason.
        assert!(after >= deadline, "closed after {after:?}");
    }
    let after = closed_after(&mut kept_alive, answered).await;
    assert!(
        after >= deadline,
        "kept-alive connection closed after {after:?}"
    );
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_new_connections_wait_and_are_served_when_one_closes() {
    let (state, shutdown) = state();
    let address = serve(state, Limits::new(Duration::from_secs(60), 2), &shutdown).await;
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
    let plain = get("gzip;q=0").await.expect("answer");
    assert_eq!(plain.status(), 200);
    assert!(!plain.headers().contains_key("content-encoding"));
    let gzip = get("gzip;q=0.5, identity;q=0.1").await.expect("answer");
    assert_eq!(gzip.headers()["content-encoding"], "gzip");
    shutdown.cancel();
}
