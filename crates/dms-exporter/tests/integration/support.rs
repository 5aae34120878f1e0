//! Shared helpers: an in-process transport into the simulator's router, and exporter set-up.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use dms_cloud::auth::Credentials;
use dms_cloud::{
    BudgetConfig, Budgets, ClientConfig, DmsClient, NoopObserver, Transport, TransportError,
};
use dms_exporter::app::{self, Exporter};
use dms_exporter::collect::{Project, Target};
use dms_exporter::config::{self, Config, Engine};
use dms_exporter::demo::config_yaml;
use dms_sim::{SimConfig, Simulator};
use futures::FutureExt;
use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

/// Locks `mutex`, recovering it from a panic elsewhere like the crates' own `locks::lock`
/// (ARCHITECTURE.md, "Locks"): the panic itself fails the test.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Dispatches requests straight into the simulator: no sockets, so tests can run under
/// `tokio::time::pause()`.
pub(crate) struct RouterTransport(pub Simulator);

impl Transport for RouterTransport {
    fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> BoxFuture<'static, Result<http::Response<Bytes>, TransportError>> {
        let sim = self.0.clone();
        async move {
            sim.handle(request)
                .await
                .map_err(|e| TransportError::Other(e.to_string()))
        }
        .boxed()
    }
}

/// The simulator's one access key as client credentials.
pub(crate) fn credentials(sim: &SimConfig) -> Credentials {
    let key = &sim.credentials[0];
    Credentials::aksk(key.access_key.clone(), key.secret_key.clone())
}

/// The simulator's first project as a collection target, read in-process under `budget`.
pub(crate) fn in_process_target(
    sim: &Simulator,
    sim_config: &SimConfig,
    engines: Vec<Engine>,
    budget: BudgetConfig,
) -> Target {
    let transport: Arc<dyn Transport> = Arc::new(RouterTransport(sim.clone()));
    let budgets = Budgets::new(budget);
    let project = &sim_config.projects[0];
    let mut client_config = ClientConfig::new(project.region.clone(), credentials(sim_config));
    client_config.endpoint = "http://sim".into();
    client_config.iam_endpoint = "http://sim".into();
    client_config.project_id = Some(project.project_id.clone());
    Target {
        project: Project {
            account: String::new(),
            account_id: String::new(),
            region: project.region.clone(),
            project_id: project.project_id.clone(),
            engines,
        },
        retired: tokio_util::sync::CancellationToken::new(),
        client: DmsClient::new(client_config, transport, &budgets, Arc::new(NoopObserver))
            .unwrap_or_else(|e| panic!("{e}")),
    }
}

/// A configuration for a simulator at `address` (any address for in-process use).
pub(crate) fn config_for(sim: &SimConfig, address: SocketAddr, extra: &str) -> Config {
    let yaml = config_yaml(sim, address, extra);
    config::parse_str(&yaml, "(test)").unwrap_or_else(|e| panic!("test config: {e}\n{yaml}"))
}

/// An exporter reading a simulator in-process.
pub(crate) fn in_process(
    sim: &Simulator,
    sim_config: &SimConfig,
    extra: &str,
    shutdown: &CancellationToken,
) -> Exporter {
    let config = config_for(sim_config, "127.0.0.1:9".parse().expect("address"), extra);
    let transport: Arc<dyn Transport> = Arc::new(RouterTransport(sim.clone()));
    app::start(
        config,
        credentials(sim_config),
        transport,
        None,
        shutdown.clone(),
    )
}

/// Serves the exporter's HTTP endpoints on a free local port until `shutdown`; returns
/// `http://address`.
pub(crate) async fn serve_http(exporter: &Exporter, shutdown: &CancellationToken) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind exporter");
    let base = format!(
        "http://{}",
        listener.local_addr().expect("exporter address")
    );
    let web = dms_exporter::http::web_config::settings("(none)", &Default::default())
        .expect("no web config");
    tokio::spawn(dms_exporter::http::serve(
        listener,
        exporter.server_state("/metrics"),
        web,
        dms_exporter::http::server::Limits::default(),
        shutdown.clone(),
    ));
    base
}

/// The current snapshot as text, without the per-scrape self-metrics.
pub(crate) fn snapshot_text(exporter: &Exporter) -> String {
    String::from_utf8_lossy(&exporter.snapshot.load().text.plain.to_bytes()).into_owned()
}

/// Lines of the snapshot for one metric family.
pub(crate) fn series(exporter: &Exporter, family: &str) -> Vec<String> {
    snapshot_text(exporter)
        .lines()
        .filter(|line| line.starts_with(family) && line[family.len()..].starts_with(['{', ' ']))
        .map(str::to_owned)
        .collect()
}

/// One request the exporter sent: when, to which host, which path.
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    pub at: tokio::time::Instant,
    pub host: String,
    pub path: String,
}

/// Sends each request to the simulator its host names (regions on hosts of their own), logs
/// it, and refuses connections to a host marked dead.
#[derive(Default)]
pub(crate) struct HostRouter {
    sims: std::collections::BTreeMap<String, Simulator>,
    dead: std::sync::Mutex<Option<String>>,
    /// One answer in `n` is this error instead (status, code), whatever the request.
    every: std::sync::Mutex<Option<(u64, u16, &'static str)>>,
    log: std::sync::Mutex<Vec<Sent>>,
}

impl HostRouter {
    pub(crate) fn new<'a>(hosts: impl IntoIterator<Item = (&'a str, &'a Simulator)>) -> Self {
        Self {
            sims: hosts
                .into_iter()
                .map(|(host, sim)| (host.to_owned(), sim.clone()))
                .collect(),
            ..Self::default()
        }
    }

    /// Connections to `host` are refused from now on (`None`: none is).
    pub(crate) fn set_dead(&self, host: Option<&str>) {
        *lock(&self.dead) = host.map(str::to_owned);
    }

    /// From now on about one answer in `n`, chosen pseudo-randomly, is an error of `status`
    /// with `code` (a storm of throttling, say); `None` ends it.
    pub(crate) fn set_one_in(&self, storm: Option<(u64, u16, &'static str)>) {
        *lock(&self.every) = storm;
    }

    /// Every request sent so far.
    pub(crate) fn log(&self) -> Vec<Sent> {
        lock(&self.log).clone()
    }
}

/// SplitMix64's finalizer: consecutive request numbers map to independent-looking values
/// (a multiplicative hash alone keeps a lattice pattern that hits some calls far more often).
fn splitmix64(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Transport for HostRouter {
    fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> BoxFuture<'static, Result<http::Response<Bytes>, TransportError>> {
        let host = request.uri().host().unwrap_or_default().to_owned();
        let sent = {
            let mut log = lock(&self.log);
            log.push(Sent {
                at: tokio::time::Instant::now(),
                host: host.clone(),
                path: request.uri().path().to_owned(),
            });
            log.len() as u64
        };
        let storm = *lock(&self.every);
        // Pseudo-random, not every n-th: a periodic pattern would hit the same calls of a
        // periodic schedule every cycle.
        let mixed = splitmix64(sent);
        if let Some((n, status, code)) = storm
            && mixed.is_multiple_of(n)
        {
            let body = format!(r#"{{"error_code":"{code}","error_msg":"injected by the test"}}"#);
            let response = http::Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Bytes::from(body))
                .map_err(|e| TransportError::Other(e.to_string()));
            return async move { response }.boxed();
        }
        let dead = lock(&self.dead).as_deref() == Some(host.as_str());
        let sim = self.sims.get(&host).cloned();
        async move {
            if dead {
                return Err(TransportError::Other(format!(
                    "connect to {host}: connection refused"
                )));
            }
            let sim = sim.ok_or_else(|| TransportError::Other(format!("no host {host}")))?;
            sim.handle(request)
                .await
                .map_err(|e| TransportError::Other(e.to_string()))
        }
        .boxed()
    }
}

/// The configuration of the two-region fault tests: region `cn-north-4` on host `sim-a`,
/// `ap-southeast-1` on `sim-b`, each collector `enabled` by name every `interval`, no jitter,
/// and `api` as given (YAML lines under `api:`).
pub(crate) fn two_region_yaml(
    sim: &SimConfig,
    enabled: impl Fn(&str) -> bool,
    interval: std::time::Duration,
    api: &str,
) -> String {
    let mut yaml = String::from("regions:\n");
    for (project, host) in sim.projects.iter().zip(["sim-a", "sim-b"]) {
        yaml.push_str(&format!(
            "  - name: {}\n    endpoint: http://{host}\n    iam_endpoint: http://{host}\n    ces_endpoint: http://{host}\n    projects: [{}]\n",
            project.region, project.project_id
        ));
    }
    yaml.push_str("collectors:\n  jitter: 0\n");
    for description in dms_exporter::collect::registry::descriptions() {
        yaml.push_str(&format!(
            "  {}: {{enabled: {}, interval: {}s}}\n",
            description.name,
            enabled(description.name),
            interval.as_secs()
        ));
    }
    yaml.push_str("api:\n");
    yaml.push_str(api);
    yaml
}
