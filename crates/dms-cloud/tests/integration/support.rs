//! Test doubles: a scripted in-process transport that records what it receives, and an observer
//! that records what it is told. Everything runs on tokio time (use `start_paused = true`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use dms_cloud::transport::{FnTransport, Transport, TransportError};
use dms_cloud::{
    ApiObserver, BudgetConfig, Budgets, ClientConfig, Credentials, DmsClient, RetryPolicy,
};
use secrecy::SecretString;
use tokio::time::Instant;

pub(crate) const AK: &str = "TESTAK00000000000001";
pub(crate) const SK: &str = "test-secret-key-do-not-leak";
pub(crate) const SECURITY_TOKEN: &str = "test-security-token-do-not-leak";
pub(crate) const PROJECT: &str = "0b0e4b5d1e8f4d6c9a7f3e2d1c0b9a88";

/// Locks `mutex`, recovering it from a panic elsewhere like the crates' own `locks::lock`
/// (ARCHITECTURE.md, "Locks"): the panic itself fails the test.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub index: usize,
    pub at: Instant,
    pub method: String,
    pub host: String,
    pub path: String,
    pub query: String,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The raw query parameters, decoded.
    pub(crate) fn query_pairs(&self) -> Vec<(String, String)> {
        if self.query.is_empty() {
            return Vec::new();
        }
        self.query
            .split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (dms_sign::decode_path(k), dms_sign::decode_path(v))
            })
            .collect()
    }

    pub(crate) fn param(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

/// What the scripted server answers.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub delay: Duration,
}

impl Reply {
    pub(crate) fn json(status: u16, value: serde_json::Value) -> Self {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Bytes::from(value.to_string()),
            delay: Duration::ZERO,
        }
    }
    pub(crate) fn raw(status: u16, body: &str) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: Bytes::from(body.to_owned()),
            delay: Duration::ZERO,
        }
    }
    pub(crate) fn error(status: u16, code: &str, msg: &str) -> Self {
        Reply::json(
            status,
            serde_json::json!({"error_code": code, "error_msg": msg}),
        )
    }
    /// Never answers (well, after a day).
    pub(crate) fn stall() -> Self {
        Reply {
            delay: Duration::from_secs(86_400),
            ..Reply::raw(200, "{}")
        }
    }
    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
    pub(crate) fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Handler = dyn Fn(&Recorded) -> Reply + Send + Sync;

/// The server side of the fake: its log and concurrency counters.
#[derive(Clone, Default)]
pub(crate) struct FakeServer {
    pub log: Arc<Mutex<Vec<Recorded>>>,
    in_flight: Arc<AtomicUsize>,
    pub max_in_flight: Arc<AtomicUsize>,
}

impl FakeServer {
    pub(crate) fn requests(&self) -> Vec<Recorded> {
        lock(&self.log).clone()
    }
    pub(crate) fn count(&self) -> usize {
        self.requests().len()
    }
    pub(crate) fn count_path(&self, needle: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.path.contains(needle))
            .count()
    }
    pub(crate) fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }
}

/// A transport answering with `handler`, recording every request.
pub(crate) fn fake(
    handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
) -> (Arc<dyn Transport>, FakeServer) {
    let server = FakeServer::default();
    let handler: Arc<Handler> = Arc::new(handler);
    let state = server.clone();
    let transport = FnTransport::new(move |request: http::Request<Bytes>| {
        let state = state.clone();
        let handler = handler.clone();
        async move {
            let (parts, body) = request.into_parts();
            let recorded = {
                let mut log = lock(&state.log);
                let recorded = Recorded {
                    index: log.len(),
                    at: Instant::now(),
                    method: parts.method.to_string(),
                    host: parts.uri.host().unwrap_or_default().to_owned(),
                    path: parts.uri.path().to_owned(),
                    query: parts.uri.query().unwrap_or_default().to_owned(),
                    headers: parts.headers.clone(),
                    body,
                };
                log.push(recorded.clone());
                recorded
            };
            let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            state.max_in_flight.fetch_max(now, Ordering::SeqCst);
            let reply = handler(&recorded);
            let guard = InFlight(state.in_flight.clone());
            tokio::time::sleep(reply.delay).await;
            drop(guard);
            let mut response = http::Response::new(reply.body);
            *response.status_mut() = http::StatusCode::from_u16(reply.status)
                .map_err(|_| TransportError::Other("bad status".into()))?;
            for (name, value) in reply.headers {
                if let (Ok(n), Ok(v)) = (
                    http::HeaderName::from_bytes(name.as_bytes()),
                    http::HeaderValue::from_str(&value),
                ) {
                    response.headers_mut().append(n, v);
                }
            }
            Ok(response)
        }
    });
    (Arc::new(transport), server)
}

struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Records observer calls as `(event, api, code)`.
#[derive(Default)]
pub(crate) struct RecordingObserver {
    pub events: Mutex<Vec<(String, String, String)>>,
}

impl RecordingObserver {
    pub(crate) fn events_of(&self, event: &str) -> Vec<(String, String)> {
        lock(&self.events)
            .iter()
            .filter(|(ev, _, _)| ev == event)
            .map(|(_, api, code)| (api.clone(), code.clone()))
            .collect()
    }
    pub(crate) fn codes(&self) -> Vec<String> {
        self.events_of("finished")
            .into_iter()
            .map(|(_, c)| c)
            .collect()
    }
    pub(crate) fn count(&self, event: &str) -> usize {
        self.events_of(event).len()
    }
    fn push(&self, event: &str, api: &str, code: &str) {
        lock(&self.events).push((event.into(), api.into(), code.into()));
    }
}

impl ApiObserver for RecordingObserver {
    fn request_finished(&self, _host: &str, api: &'static str, code: &str, _elapsed: Duration) {
        self.push("finished", api, code);
    }
    fn throttled(&self, _host: &str, api: &'static str) {
        self.push("throttled", api, "");
    }
    fn retried(&self, _host: &str, api: &'static str) {
        self.push("retried", api, "");
    }
}

pub(crate) fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        min_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(2),
        throttle_min_delay: Duration::from_secs(2),
    }
}

pub(crate) fn aksk_with_token() -> Credentials {
    Credentials::AkSk {
        access_key: AK.into(),
        secret_key: SecretString::from(SK.to_owned()),
        security_token: Some(SecretString::from(SECURITY_TOKEN.to_owned())),
    }
}

pub(crate) fn config(credentials: Credentials) -> ClientConfig {
    ClientConfig {
        region: "cn-north-4".into(),
        endpoint: "http://dms.test:8080".into(),
        iam_endpoint: "http://iam.test".into(),
        ces_endpoint: "http://ces.test".into(),
        sts_endpoint: Some("http://sts.test".into()),
        project_id: Some(PROJECT.into()),
        credentials,
        request_timeout: Duration::from_secs(10),
        retry: fast_retry(),
    }
}

pub(crate) fn unlimited() -> Budgets {
    Budgets::new(BudgetConfig {
        rate_per_second: 0.0,
        burst: 1,
        concurrency: 64,
    })
}

pub(crate) fn client_with(
    config: ClientConfig,
    transport: Arc<dyn Transport>,
    budgets: &Budgets,
) -> (DmsClient, Arc<RecordingObserver>) {
    let observer = Arc::new(RecordingObserver::default());
    let client = DmsClient::new(config, transport, budgets, observer.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    (client, observer)
}

pub(crate) fn fixture(name: &str) -> serde_json::Value {
    parse_fixture("kafka", name)
}

/// The directory of an engine's documented examples.
pub(crate) fn fixture_dir(engine: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/api")
        .join(engine)
}

/// A documented example of an engine, parsed as `T`; a failure names the JSON path.
pub(crate) fn parse_fixture<T: serde::de::DeserializeOwned>(engine: &str, name: &str) -> T {
    let path = fixture_dir(engine).join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut de = serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(&mut de)
        .unwrap_or_else(|e| panic!("{name}: {} at {}", e.inner(), e.path()))
}

/// The `.json` files of an engine's documented examples, sorted.
pub(crate) fn fixture_names(engine: &str) -> Vec<String> {
    let dir = fixture_dir(engine);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    names.sort();
    names
}
