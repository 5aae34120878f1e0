//! Wiring: configuration → cloud clients → scheduler → snapshot → HTTP server.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use arc_swap::ArcSwap;
use dms_cloud::auth::Credentials;
use dms_cloud::{BudgetConfig, Budgets, ClientConfig, DmsClient, RetryPolicy, Transport};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::collect::scheduler::{Readiness, Scheduler};
use crate::collect::store::Store;
use crate::collect::{self, Target};
use crate::config::Config;
use crate::http::{self, ServerState};
use crate::metrics::self_metrics::{BuildInfo, SelfMetrics};
use crate::snapshot::{self, Encoded, SnapshotHandle};

/// How long to wait before asking IAM again for a project id it could not give.
const PROJECT_RETRY: Duration = Duration::from_secs(30);

/// A running exporter, without its HTTP listener (tests read the pieces directly).
pub struct Exporter {
    pub snapshot: SnapshotHandle,
    pub self_metrics: Arc<SelfMetrics>,
    pub readiness: Arc<Readiness>,
    pub store: Arc<Store>,
    tasks: JoinSet<()>,
}

impl Exporter {
    /// The state the HTTP server needs.
    pub fn server_state(&self, telemetry_path: &str) -> ServerState {
        ServerState {
            snapshot: Arc::clone(&self.snapshot),
            self_metrics: Arc::clone(&self.self_metrics),
            readiness: Arc::clone(&self.readiness),
            telemetry_path: telemetry_path.to_owned(),
        }
    }

    /// Waits for the collector and publisher tasks to end (after shutdown).
    pub async fn join(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

fn budgets(config: &Config) -> Budgets {
    let api = &config.api;
    let default = BudgetConfig {
        rate_per_second: api.rate_limit,
        burst: api.burst,
        concurrency: api.concurrency,
    };
    api.hosts
        .iter()
        .fold(Budgets::new(default), |budgets, (host, o)| {
            budgets.with_host(
                host.clone(),
                BudgetConfig {
                    rate_per_second: o.rate_limit.unwrap_or(api.rate_limit),
                    burst: o.burst.unwrap_or(api.burst),
                    concurrency: o.concurrency.unwrap_or(api.concurrency),
                },
            )
        })
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

/// Starts collection and publishing. Readiness stays false until the projects are resolved
/// and every collector has finished one cycle.
pub fn start(
    config: Config,
    credentials: Credentials,
    transport: Arc<dyn Transport>,
    env_project: Option<String>,
    shutdown: CancellationToken,
) -> Exporter {
    let store = Arc::new(Store::default());
    let snapshot: SnapshotHandle = Arc::new(ArcSwap::from_pointee(Encoded::default()));
    let self_metrics = Arc::new(SelfMetrics::new(BuildInfo::current()));
    let readiness = Arc::new(Readiness::pending_startup());
    let mut tasks = JoinSet::new();
    tasks.spawn(snapshot::publish(
        Arc::clone(&store),
        Arc::clone(&snapshot),
        shutdown.clone(),
    ));
    let budgets = budgets(&config);
    {
        let store = Arc::clone(&store);
        let metrics = Arc::clone(&self_metrics);
        let readiness = Arc::clone(&readiness);
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
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
                collectors: collect::all(),
                settings: Arc::new(config.collectors.clone()),
                filters: Arc::new(config.filters.clone()),
                store,
                metrics,
            };
            let (mut jobs, job_readiness) = scheduler.spawn(targets, shutdown);
            readiness.follow(job_readiness).await;
            while jobs.join_next().await.is_some() {}
        });
    }
    Exporter {
        snapshot,
        self_metrics,
        readiness,
        store,
        tasks,
    }
}

/// Where and how the HTTP server listens.
pub struct Serving {
    pub listener: TcpListener,
    pub telemetry_path: String,
    pub web: http::web_config::WebSettings,
}

/// Runs the exporter and its HTTP server until `shutdown`.
pub async fn run(
    config: Config,
    credentials: Credentials,
    transport: Arc<dyn Transport>,
    env_project: Option<String>,
    serving: Serving,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let exporter = start(
        config,
        credentials,
        transport,
        env_project,
        shutdown.clone(),
    );
    let state = exporter.server_state(&serving.telemetry_path);
    http::serve(serving.listener, state, serving.web, shutdown.clone())
        .await
        .context("HTTP server failed")?;
    shutdown.cancel();
    exporter.join().await;
    Ok(())
}
