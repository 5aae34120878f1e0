//! Wiring: configuration → cloud clients → scheduler → snapshot → HTTP server.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use arc_swap::ArcSwap;
use dms_cloud::auth::Credentials;
use dms_cloud::{BudgetConfig, Budgets, ClientConfig, DmsClient, RetryPolicy, Transport};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::collect::health::{ConsumerHealth, state_file};
use crate::collect::scheduler::{Readiness, Scheduler};
use crate::collect::store::Store;
use crate::collect::{self, Target};
use crate::config::{CollectorsConfig, Config};
use crate::http::{self, ServerState};
use crate::metrics::self_metrics::{BuildInfo, SelfMetrics};
use crate::snapshot::{self, Encoded, SnapshotHandle};

/// How long to wait before asking IAM again for a project id it could not give.
const PROJECT_RETRY: Duration = Duration::from_secs(30);

/// A running exporter, without its HTTP listener (tests read the pieces directly). The
/// snapshot, self-metrics, readiness and store outlive configuration reloads; only the
/// collection is replaced.
pub struct Exporter {
    pub snapshot: SnapshotHandle,
    /// The request schedulers of the endpoint hosts: their adaptive rate, pauses and pacing
    /// outlive reloads, so a reload never hands out a fresh burst.
    pub budgets: Budgets,
    pub self_metrics: Arc<SelfMetrics>,
    pub readiness: Arc<Readiness>,
    pub store: Arc<Store>,
    /// Consumer state kept across cycles (status windows, log end history): like the
    /// budgets, it outlives reloads.
    pub health: Arc<ConsumerHealth>,
    /// The running collection's collector settings (the landing page shows the intervals).
    pub collectors: Arc<ArcSwap<CollectorsConfig>>,
    publisher: JoinSet<()>,
    collection: Option<(CancellationToken, JoinHandle<()>)>,
    shutdown: CancellationToken,
}

/// What collection needs besides the shared pieces.
pub struct CollectionInput {
    pub config: Config,
    pub credentials: Credentials,
    pub transport: Arc<dyn Transport>,
    pub env_project: Option<String>,
}

impl Exporter {
    /// The shared pieces and the publisher; no collection yet.
    pub fn new(shutdown: CancellationToken) -> Self {
        let store = Arc::new(Store::default());
        let snapshot: SnapshotHandle = Arc::new(ArcSwap::from_pointee(Encoded::default()));
        let mut publisher = JoinSet::new();
        publisher.spawn(snapshot::publish(
            Arc::clone(&store),
            Arc::clone(&snapshot),
            shutdown.clone(),
        ));
        let budgets = Budgets::new(BudgetConfig::default());
        let self_metrics = Arc::new(SelfMetrics::new(BuildInfo::current()));
        self_metrics.watch_budgets(budgets.clone());
        Self {
            snapshot,
            budgets,
            self_metrics,
            readiness: Arc::new(Readiness::pending_startup()),
            store,
            health: Arc::new(ConsumerHealth::default()),
            collectors: Arc::new(ArcSwap::from_pointee(CollectorsConfig::default())),
            publisher,
            collection: None,
            shutdown,
        }
    }

    /// The state the HTTP server needs.
    pub fn server_state(&self, telemetry_path: &str) -> ServerState {
        ServerState {
            snapshot: Arc::clone(&self.snapshot),
            self_metrics: Arc::clone(&self.self_metrics),
            readiness: Arc::clone(&self.readiness),
            telemetry_path: telemetry_path.to_owned(),
            collectors: Arc::clone(&self.collectors),
            config_file: None,
            reload: None,
        }
    }

    /// Starts collection with `input`, after stopping the running one (a reload). Data of
    /// regions the new configuration no longer lists is dropped at once; the rest stays
    /// until the new collectors replace it.
    pub async fn start_collection(&mut self, input: CollectionInput) {
        if let Some((token, task)) = self.collection.take() {
            token.cancel();
            let _ = task.await;
        }
        let regions: BTreeSet<String> = input
            .config
            .regions
            .iter()
            .map(|r| r.value.name.clone())
            .collect();
        self.store.retain_regions(&regions);
        self.self_metrics.retain_regions(&regions);
        self.spawn_collection(input);
    }

    /// Spawns collection under a child of the shutdown token, so a reload can stop it alone.
    fn spawn_collection(&mut self, input: CollectionInput) {
        let sharding = input.config.sharding;
        self.self_metrics
            .record_sharding(sharding.shard, sharding.total_shards);
        self.collectors
            .store(Arc::new(input.config.collectors.clone()));
        let token = self.shutdown.child_token();
        let task = tokio::spawn(collect_all(
            input,
            self.budgets.clone(),
            Arc::clone(&self.store),
            Arc::clone(&self.self_metrics),
            Arc::clone(&self.health),
            Arc::clone(&self.readiness),
            token.clone(),
        ));
        self.collection = Some((token, task));
    }

    /// Waits for every task to end (after shutdown).
    pub async fn join(mut self) {
        if let Some((_, task)) = self.collection.take() {
            let _ = task.await;
        }
        while self.publisher.join_next().await.is_some() {}
    }
}

/// Applies the configuration's API budget to the process's host schedulers.
fn configure_budgets(budgets: &Budgets, config: &Config) {
    let api = &config.api;
    let default = BudgetConfig {
        rate_per_second: api.rate_limit,
        burst: api.burst,
        concurrency: api.concurrency,
    };
    let overrides = api
        .hosts
        .iter()
        .map(|(host, o)| {
            (
                host.clone(),
                BudgetConfig {
                    rate_per_second: o.rate_limit.unwrap_or(api.rate_limit),
                    burst: o.burst.unwrap_or(api.burst),
                    concurrency: o.concurrency.unwrap_or(api.concurrency),
                },
            )
        })
        .collect();
    budgets.reconfigure(default, overrides);
}

/// Resolves every configured project into a target; projects IAM cannot name yet are retried
/// until it can or shutdown comes.
async fn targets(
    config: &Config,
    credentials: &Credentials,
    transport: &Arc<dyn Transport>,
    budgets: &Budgets,
    metrics: &Arc<SelfMetrics>,
    env_project: Option<String>,
    shutdown: &CancellationToken,
) -> Vec<Target> {
    let mut out = Vec::new();
    for region in &config.regions {
        let region = &region.value;
        let (default_dms, default_iam) = dms_cloud::default_endpoints(&region.name);
        let mut projects: Vec<Option<String>> = region.projects.iter().cloned().map(Some).collect();
        if projects.is_empty() {
            // The SDK variable names one project; it only makes sense with one region.
            let env = if config.regions.len() == 1 {
                env_project.clone()
            } else {
                None
            };
            projects.push(env);
        }
        for project in projects {
            let client_config = ClientConfig {
                region: region.name.clone(),
                endpoint: region
                    .endpoint
                    .clone()
                    .unwrap_or_else(|| default_dms.clone()),
                iam_endpoint: region
                    .iam_endpoint
                    .clone()
                    .unwrap_or_else(|| default_iam.clone()),
                project_id: project,
                credentials: credentials.clone(),
                request_timeout: config.api.timeout.0,
                retry: RetryPolicy {
                    max_retries: config.api.max_retries,
                    ..RetryPolicy::default()
                },
            };
            let observer: Arc<dyn dms_cloud::ApiObserver> = metrics.clone();
            let client = DmsClient::new(client_config, Arc::clone(transport), budgets, observer);
            let project_id = loop {
                match client.project_id().await {
                    Ok(id) => break id,
                    Err(error) => {
                        tracing::error!(region = %region.name, %error, "cannot resolve the project id; retrying");
                        tokio::select! {
                            () = shutdown.cancelled() => return out,
                            () = tokio::time::sleep(PROJECT_RETRY) => {}
                        }
                    }
                }
            };
            out.push(Target {
                region: region.name.clone(),
                project_id,
                engines: region.engines.clone(),
                client,
            });
        }
    }
    out
}

/// Resolves the projects, then runs every collector until `shutdown`.
async fn collect_all(
    input: CollectionInput,
    budgets: Budgets,
    store: Arc<Store>,
    metrics: Arc<SelfMetrics>,
    health: Arc<ConsumerHealth>,
    readiness: Arc<Readiness>,
    shutdown: CancellationToken,
) {
    let CollectionInput {
        config,
        credentials,
        transport,
        env_project,
    } = input;
    configure_budgets(&budgets, &config);
    let targets = targets(
        &config,
        &credentials,
        &transport,
        &budgets,
        &metrics,
        env_project,
        &shutdown,
    )
    .await;
    let scheduler = Scheduler {
        collectors: collect::all(config.sharding),
        settings: Arc::new(config.collectors.clone()),
        filters: Arc::new(config.filters.clone()),
        store: Arc::clone(&store),
        metrics,
        health,
    };
    let (mut jobs, job_readiness) = scheduler.spawn(targets, shutdown.clone());
    // A reload may cancel this collection before its first cycles end.
    tokio::select! {
        () = readiness.follow(job_readiness, &store) => {}
        () = shutdown.cancelled() => {}
    }
    while jobs.join_next().await.is_some() {}
}

/// Starts collection and publishing. Readiness stays false until the projects are resolved
/// and every collector has finished one cycle.
pub fn start(
    config: Config,
    credentials: Credentials,
    transport: Arc<dyn Transport>,
    env_project: Option<String>,
    shutdown: CancellationToken,
) -> Exporter {
    let mut exporter = Exporter::new(shutdown);
    exporter.spawn_collection(CollectionInput {
        config,
        credentials,
        transport,
        env_project,
    });
    exporter
}

/// Re-reads the configuration and credentials for a reload.
pub type Reloader = Box<dyn Fn() -> anyhow::Result<(Config, Credentials)> + Send + Sync>;

/// Where and how the HTTP server listens.
pub struct Serving {
    /// One server per listener (repeated `--web.listen-address`, or systemd's sockets).
    pub listeners: Vec<TcpListener>,
    pub telemetry_path: String,
    pub web: http::web_config::WebSettings,
    /// The configuration file, for the landing page (`None` in `--demo`).
    pub config_file: Option<String>,
    /// Whether the data is simulated (`--demo`): a banner and `dms_exporter_demo`.
    pub demo: bool,
    /// Where the consumer log end histories persist (`--state.file`), if anywhere.
    pub state_file: Option<std::path::PathBuf>,
}

/// Runs the exporter and its HTTP server until `shutdown`; SIGHUP and `POST /-/reload`
/// re-read the configuration through `reload` (a bad one is reported and the running one
/// kept).
pub async fn run(
    input: CollectionInput,
    reload: Option<Reloader>,
    serving: Serving,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let transport = Arc::clone(&input.transport);
    let env_project = input.env_project.clone();
    let mut exporter = Exporter::new(shutdown.clone());
    exporter.self_metrics.set_demo(serving.demo);
    let persister = serving.state_file.map(|path| {
        state_file::restore(&exporter.health, &path);
        tokio::spawn(state_file::persist(
            Arc::clone(&exporter.health),
            path,
            shutdown.clone(),
        ))
    });
    exporter.start_collection(input).await;
    let (requests, mut reloads) = mpsc::channel::<oneshot::Sender<Result<(), String>>>(4);
    let mut state = exporter.server_state(&serving.telemetry_path);
    state.reload = reload.is_some().then_some(requests);
    state.config_file = serving.config_file;
    let mut servers = JoinSet::new();
    for listener in serving.listeners {
        servers.spawn(http::serve(
            listener,
            state.clone(),
            serving.web.clone(),
            shutdown.clone(),
        ));
    }
    // A server that fails ends the exporter rather than leaving it half reachable.
    let server_failed = shutdown.clone();
    let servers = tokio::spawn(async move {
        let mut outcome = Ok(());
        while let Some(result) = servers.join_next().await {
            let result = result
                .context("HTTP server task")
                .and_then(|r| r.context("HTTP server failed"));
            if result.is_err() {
                server_failed.cancel();
                if outcome.is_ok() {
                    outcome = result;
                }
            }
        }
        outcome
    });
    let mut hangups = hangup_signals();
    loop {
        let reply = tokio::select! {
            () = shutdown.cancelled() => break,
            Some(()) = hangups.recv() => None,
            Some(reply) = reloads.recv() => Some(reply),
        };
        let result = match &reload {
            None => Err("this exporter runs without a configuration file (--demo)".to_owned()),
            Some(reload) => match reload() {
                Ok((config, credentials)) => {
                    let input = CollectionInput {
                        config,
                        credentials,
                        transport: Arc::clone(&transport),
                        env_project: env_project.clone(),
                    };
                    exporter.start_collection(input).await;
                    tracing::info!("configuration reloaded");
                    Ok(())
                }
                Err(error) => {
                    tracing::error!("reload failed, keeping the running configuration: {error:#}");
                    Err(format!("{error:#}"))
                }
            },
        };
        exporter.self_metrics.record_reload(result.is_ok());
        if let Some(reply) = reply {
            let _ = reply.send(result);
        }
    }
    let served = servers.await.context("HTTP servers task")?;
    exporter.join().await;
    if let Some(persister) = persister {
        // Its last save happens at shutdown.
        persister.await.context("state file task")?;
    }
    served?;
    Ok(())
}

/// SIGHUPs as a channel (none on platforms without them).
fn hangup_signals() -> mpsc::Receiver<()> {
    let (sender, receiver) = mpsc::channel(1);
    #[cfg(unix)]
    tokio::spawn(async move {
        let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while signal.recv().await.is_some() {
            if sender.send(()).await.is_err() {
                return;
            }
        }
    });
    #[cfg(not(unix))]
    drop(sender);
    receiver
}
