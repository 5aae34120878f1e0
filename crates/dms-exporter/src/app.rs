//! Wiring: configuration → cloud clients → scheduler → snapshot → HTTP server.

use std::collections::BTreeSet;
use std::sync::Arc;

use anyhow::Context as _;
use arc_swap::ArcSwap;
use dms_cloud::auth::Credentials;
use dms_cloud::{BudgetConfig, Budgets, Transport};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::api_observer;
use crate::collect;
use crate::collect::health::{ConsumerHealth, state_file};
use crate::collect::scheduler::{Readiness, Scheduler};
use crate::collect::store::Store;
use crate::config::{self, CollectorsConfig, Config};
use crate::http::{self, ServerState};
use crate::metrics::self_metrics::{BuildInfo, SelfMetrics};
use crate::snapshot::{self, Encoded, SnapshotHandle};
use crate::supervisor::Supervisor;
use crate::targets::{self, Resolution};

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
    /// Ends the process when a background task panics.
    pub supervisor: Supervisor,
    /// The host schedulers of each named account (`accounts:`), kept across reloads like
    /// `budgets`, which the targets of a file without accounts use.
    pub account_budgets: Arc<std::sync::Mutex<std::collections::BTreeMap<String, Budgets>>>,
    publisher: JoinHandle<()>,
    collection: Option<(CancellationToken, JoinHandle<()>)>,
    shutdown: CancellationToken,
}

/// What collection needs besides the shared pieces.
pub struct CollectionInput {
    pub config: Config,
    /// The credentials of the top-level block (not used when `config.accounts` is set).
    pub credentials: Credentials,
    /// Each account's credentials, in the order of `config.accounts`.
    pub accounts: Vec<Credentials>,
    pub transport: Arc<dyn Transport>,
    pub env_project: Option<String>,
}

impl Exporter {
    /// The shared pieces and the publisher; no collection yet.
    pub fn new(shutdown: CancellationToken) -> Self {
        let store = Arc::new(Store::default());
        let snapshot: SnapshotHandle = Arc::new(ArcSwap::from_pointee(Encoded::default()));
        let supervisor = Supervisor::new(shutdown.clone());
        let publisher = supervisor.spawn(
            "publisher",
            snapshot::publish(Arc::clone(&store), Arc::clone(&snapshot), shutdown.clone()),
        );
        let budgets = Budgets::new(BudgetConfig::default());
        let self_metrics = Arc::new(SelfMetrics::new(BuildInfo::current()));
        self_metrics.watch_hosts(api_observer::host_rows(budgets.clone()));
        Self {
            snapshot,
            budgets,
            self_metrics,
            readiness: Arc::new(Readiness::pending_startup()),
            store,
            health: Arc::new(ConsumerHealth::default()),
            collectors: Arc::new(ArcSwap::from_pointee(CollectorsConfig::default())),
            supervisor,
            account_budgets: Arc::default(),
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
            lifecycle: false,
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
        // With an account that discovers its regions, any region may still be read.
        if let Some(regions) = configured_regions(&input.config) {
            self.store.retain_regions(&regions);
            self.self_metrics.retain_regions(&regions);
        }
        // New credentials may be the fix for a key the gateway rejected: probe them at once.
        self.budgets.credentials_changed();
        for budgets in crate::locks::lock(&self.account_budgets).values() {
            budgets.credentials_changed();
        }
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
        let shared = Shared {
            budgets: self.budgets.clone(),
            account_budgets: Arc::clone(&self.account_budgets),
            store: Arc::clone(&self.store),
            metrics: Arc::clone(&self.self_metrics),
            health: Arc::clone(&self.health),
            readiness: Arc::clone(&self.readiness),
            supervisor: self.supervisor.clone(),
        };
        let task = self
            .supervisor
            .spawn("collection", collect_all(input, shared, token.clone()));
        self.collection = Some((token, task));
    }

    /// Waits for every task to end (after shutdown).
    pub async fn join(mut self) {
        if let Some((_, task)) = self.collection.take() {
            let _ = task.await;
        }
        let _ = self.publisher.await;
    }
}

/// Applies the configuration's API budget to the process's host schedulers.
pub(crate) fn configure_budgets(budgets: &Budgets, config: &Config) {
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

/// Resolves each target on its own and runs its collectors as soon as it is resolved, until
/// `shutdown`. Readiness waits for the targets resolved at the first attempt (and their first
/// cycles); one that fails joins when it resolves, shown meanwhile as `dms_target_up` 0.
async fn collect_all(input: CollectionInput, shared: Shared, shutdown: CancellationToken) {
    let CollectionInput {
        config,
        credentials,
        accounts,
        transport,
        env_project,
    } = input;
    let Shared {
        budgets,
        account_budgets,
        store,
        metrics,
        health,
        readiness,
        supervisor,
    } = shared;
    // One account (the top-level block) or each of `accounts:`, with its host schedulers.
    let plans: Vec<AccountPlan> = if config.accounts.is_empty() {
        vec![AccountPlan {
            name: String::new(),
            credentials,
            budgets: budgets.clone(),
            regions: config.regions.iter().map(|r| r.value.clone()).collect(),
            discovery: None,
            identity: None,
            sts_endpoint: None,
        }]
    } else {
        let mut by_name = crate::locks::lock(&account_budgets);
        config
            .accounts
            .iter()
            .zip(accounts)
            .map(|(account, credentials)| {
                let account = &account.value;
                let budgets = by_name
                    .entry(account.name.clone())
                    .or_insert_with(|| Budgets::new(BudgetConfig::default()))
                    .clone();
                AccountPlan {
                    name: account.name.clone(),
                    credentials,
                    budgets,
                    regions: account
                        .regions
                        .listed()
                        .iter()
                        .map(|r| r.value.clone())
                        .collect(),
                    discovery: matches!(account.regions, config::AccountRegions::All)
                        .then(|| account.discovery.clone().unwrap_or_default()),
                    identity: Some(Arc::new(targets::AccountIdentity::new(
                        account.account_id.clone(),
                    ))),
                    sts_endpoint: account.identity_endpoint(),
                }
            })
            .collect()
    };
    for plan in &plans {
        configure_budgets(&plan.budgets, &config);
    }
    metrics.watch_hosts(api_observer::account_host_rows(
        plans
            .iter()
            .map(|plan| (plan.name.clone(), plan.budgets.clone()))
            .collect(),
    ));
    // Temporary keys are renewed ahead of expiry for as long as this collection runs; the
    // self-metrics show when the keys in use expire.
    let mut renewing = Vec::new();
    for plan in &plans {
        if let Credentials::Provided(provider) = &plan.credentials {
            renewing.push((plan.name.clone(), provider.clone()));
            let (provider, stop, hosts) =
                (provider.clone(), shutdown.clone(), plan.budgets.clone());
            let mut renewals = provider.renewals();
            supervisor.spawn("credential refresh", async move {
                // New keys may be the fix for keys a gateway rejected: probed at once.
                let probe_new_keys = async {
                    while renewals.changed().await.is_ok() {
                        hosts.credentials_changed();
                    }
                };
                tokio::select! {
                    () = provider.run() => {}
                    () = probe_new_keys => {}
                    () = stop.cancelled() => {}
                }
            });
        }
    }
    metrics.watch_credentials(
        (!renewing.is_empty()).then(|| api_observer::account_credential_rows(renewing)),
    );
    let mut configured = Vec::new();
    let (found, mut discovered) = mpsc::unbounded_channel();
    for plan in &plans {
        let account = targets::AccountTargets {
            account: &plan.name,
            credentials: &plan.credentials,
            api: &config.api,
            transport: &transport,
            budgets: &plan.budgets,
            metrics: &metrics,
            identity: plan.identity.as_ref(),
            sts_endpoint: plan.sts_endpoint.as_deref(),
        };
        configured.extend(targets::configured(
            &account,
            plan.regions.iter(),
            env_project.clone(),
            true,
        ));
        if let Some(settings) = &plan.discovery {
            spawn_discovery(
                plan,
                settings,
                &config,
                &transport,
                &metrics,
                &supervisor,
                found.clone(),
                &shutdown,
            );
        }
    }
    drop(found);
    metrics.retain_targets(&configured.iter().map(targets::Unresolved::key).collect());
    metrics.retain_accounts(&plans.iter().map(|plan| plan.name.clone()).collect());
    let mut collectors = collect::all(config.sharding);
    crate::supervisor::debug_hooks(&mut collectors);
    let scheduler = Scheduler {
        collectors,
        settings: Arc::new(config.collectors.clone()),
        filters: Arc::new(config.filters.clone()),
        store: Arc::clone(&store),
        metrics: Arc::clone(&metrics),
        health,
    };
    let (report, mut resolutions) = mpsc::unbounded_channel();
    let mut resolvers = JoinSet::new();
    let mut unsettled = configured.len();
    for target in configured {
        resolvers.spawn(target.resolve(Arc::clone(&metrics), report.clone(), shutdown.clone()));
    }
    let mut jobs = JoinSet::new();
    let mut initial = Vec::new();
    let mut following = false;
    loop {
        if unsettled == 0 && !following {
            following = true;
            let (readiness, store, shutdown) =
                (Arc::clone(&readiness), Arc::clone(&store), shutdown.clone());
            let initial = std::mem::take(&mut initial);
            supervisor.spawn("readiness", async move {
                tokio::select! {
                    () = readiness.follow(initial, &store) => {}
                    () = shutdown.cancelled() => {}
                }
            });
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            Some(resolution) = resolutions.recv() => match resolution {
                Resolution::Resolved { target, first_attempt } => {
                    let ready = scheduler.spawn_into(vec![target], &mut jobs, &shutdown);
                    if first_attempt {
                        initial.push(ready);
                        unsettled -= 1;
                    }
                }
                Resolution::Retrying => unsettled -= 1,
            },
            Some(joined) = jobs.join_next(), if !jobs.is_empty() => {
                supervisor.check("collection", joined);
            }
            Some(joined) = resolvers.join_next(), if !resolvers.is_empty() => {
                supervisor.check("target resolution", joined);
            }
            Some(targets) = discovered.recv() => {
                for target in targets {
                    resolvers.spawn(target.resolve(Arc::clone(&metrics), report.clone(), shutdown.clone()));
                }
            }
        }
    }
    while let Some(joined) = jobs.join_next().await {
        supervisor.check("collection", joined);
    }
    while let Some(joined) = resolvers.join_next().await {
        supervisor.check("target resolution", joined);
    }
}

/// One account as a collection reads it.
struct AccountPlan {
    /// "" for the top-level block.
    name: String,
    credentials: Credentials,
    budgets: Budgets,
    regions: Vec<config::RegionConfig>,
    /// `regions: all`: how its projects are found.
    discovery: Option<config::DiscoveryConfig>,
    /// A named account's id, learnt once for all its targets; `None` for the top-level block.
    identity: Option<Arc<targets::AccountIdentity>>,
    /// Where a named account's id is asked (default each region's STS).
    sts_endpoint: Option<String>,
}

/// Starts reading IAM's project list for an account with `regions: all`.
#[allow(clippy::too_many_arguments)]
fn spawn_discovery(
    plan: &AccountPlan,
    settings: &config::DiscoveryConfig,
    config: &Config,
    transport: &Arc<dyn Transport>,
    metrics: &Arc<SelfMetrics>,
    supervisor: &Supervisor,
    found: mpsc::UnboundedSender<Vec<targets::Unresolved>>,
    shutdown: &CancellationToken,
) {
    let account = targets::AccountTargets {
        account: &plan.name,
        credentials: &plan.credentials,
        api: &config.api,
        transport,
        budgets: &plan.budgets,
        metrics,
        identity: plan.identity.as_ref(),
        sts_endpoint: plan.sts_endpoint.as_deref(),
    };
    let discovery = match targets::Discovery::new(&account, settings) {
        Ok(discovery) => discovery,
        Err(error) => {
            metrics.record_target(&plan.name, "", "", false);
            tracing::error!(account = %plan.name, %error, "cannot build the IAM client of the account's project list; its regions are not read");
            return;
        }
    };
    let (identity, sts_endpoint) = (plan.identity.clone(), plan.sts_endpoint.clone());
    let (name, credentials, budgets, api, transport, metrics, stop) = (
        plan.name.clone(),
        plan.credentials.clone(),
        plan.budgets.clone(),
        config.api.clone(),
        Arc::clone(transport),
        Arc::clone(metrics),
        shutdown.clone(),
    );
    supervisor.spawn("project discovery", async move {
        let account = targets::AccountTargets {
            account: &name,
            credentials: &credentials,
            api: &api,
            transport: &transport,
            budgets: &budgets,
            metrics: &metrics,
            identity: identity.as_ref(),
            sts_endpoint: sts_endpoint.as_deref(),
        };
        targets::discover(account, discovery, found, stop).await;
    });
}

/// Every region the configuration names, or `None` when an account discovers its own.
fn configured_regions(config: &Config) -> Option<BTreeSet<String>> {
    let mut regions: BTreeSet<String> = config
        .regions
        .iter()
        .map(|r| r.value.name.clone())
        .collect();
    for account in &config.accounts {
        match &account.value.regions {
            config::AccountRegions::All => return None,
            config::AccountRegions::Listed(listed) => {
                regions.extend(listed.iter().map(|r| r.value.name.clone()));
            }
        }
    }
    Some(regions)
}

/// The pieces every collection shares with the exporter (they outlive reloads).
struct Shared {
    budgets: Budgets,
    account_budgets: Arc<std::sync::Mutex<std::collections::BTreeMap<String, Budgets>>>,
    store: Arc<Store>,
    metrics: Arc<SelfMetrics>,
    health: Arc<ConsumerHealth>,
    readiness: Arc<Readiness>,
    supervisor: Supervisor,
}

/// Starts collection and publishing. Readiness stays false until every target has had its
/// first resolution attempt and the collectors of those resolved then have finished one
/// cycle (a target IAM cannot resolve does not hold readiness; `dms_target_up` shows it).
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
        accounts: Vec::new(),
        transport,
        env_project,
    });
    exporter
}

/// Re-reads the configuration and credentials for a reload.
/// Re-reads the configuration and credentials for a reload: the top-level block's and each
/// account's.
pub type Reloader =
    Box<dyn Fn() -> anyhow::Result<(Config, Credentials, Vec<Credentials>)> + Send + Sync>;

/// Where and how the HTTP server listens.
pub struct Serving {
    /// One server per listener (repeated `--web.listen-address`, or systemd's sockets).
    pub listeners: Vec<TcpListener>,
    pub telemetry_path: String,
    pub web: http::web_config::WebSettings,
    /// `--web.enable-lifecycle`: whether `POST /-/reload` is served.
    pub lifecycle: bool,
    /// The connection cap (shared by the listeners) and the request head deadline.
    pub limits: http::server::Limits,
    /// The configuration file, for the landing page (`None` in `--demo`).
    pub config_file: Option<String>,
    /// Whether the data is simulated (`--demo`): a banner and `dms_exporter_demo`.
    pub demo: bool,
    /// Where the consumer log end histories persist (`--state.file`), if anywhere.
    pub state_file: Option<std::path::PathBuf>,
}

/// Runs the exporter and its HTTP server until `shutdown`; SIGHUP and `POST /-/reload`
/// (with `--web.enable-lifecycle`) re-read the configuration through `reload` (a bad one is reported and the running one
/// kept).
pub async fn run(
    input: CollectionInput,
    reload: Option<Reloader>,
    serving: Serving,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let transport = Arc::clone(&input.transport);
    let env_project = input.env_project.clone();
    log_start(&input.config, &serving);
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
    let watched = crate::credential_watch::Watched::default();
    watched.set(all_credential_files(&input.config));
    exporter.start_collection(input).await;
    let (requests, mut reloads) = mpsc::channel::<oneshot::Sender<Result<(), String>>>(4);
    let mut state = exporter.server_state(&serving.telemetry_path);
    state.reload = reload.is_some().then_some(requests);
    state.config_file = serving.config_file;
    state.lifecycle = serving.lifecycle;
    let mut servers = JoinSet::new();
    for listener in serving.listeners {
        servers.spawn(http::serve(
            listener,
            state.clone(),
            serving.web.clone(),
            serving.limits.clone(),
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
    let (credentials_changed, mut credential_changes) = mpsc::channel(1);
    if reload.is_some() {
        tokio::spawn(crate::credential_watch::watch(
            watched.clone(),
            credentials_changed,
            shutdown.clone(),
        ));
    }
    loop {
        let reply = tokio::select! {
            () = shutdown.cancelled() => break,
            Some(()) = hangups.recv() => None,
            Some(()) = credential_changes.recv() => None,
            Some(reply) = reloads.recv() => Some(reply),
        };
        let result = match &reload {
            None => Err("this exporter runs without a configuration file (--demo)".to_owned()),
            Some(reload) => match reload() {
                Ok((config, credentials, accounts)) => {
                    watched.set(all_credential_files(&config));
                    let input = CollectionInput {
                        config,
                        credentials,
                        accounts,
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
    let supervisor = exporter.supervisor.clone();
    exporter.join().await;
    if let Some(persister) = persister {
        // Its last save happens at shutdown.
        persister.await.context("state file task")?;
    }
    served?;
    match supervisor.failure() {
        Some(failure) => Err(anyhow::anyhow!("{failure}")),
        None => Ok(()),
    }
}

/// The credential files of the top-level block and of every account.
fn all_credential_files(config: &Config) -> Vec<std::path::PathBuf> {
    std::iter::once(&config.credentials)
        .chain(config.accounts.iter().map(|a| &a.value.credentials))
        .flat_map(|block| config::credential_files(block, &config::ProcessEnv))
        .collect()
}

/// The one info line of start-up: which build reads what, with which collectors, serving
/// where. After it, info lines are the first collection's and changes of state only.
fn log_start(config: &Config, serving: &Serving) {
    let region_targets =
        |account: &str, regions: &[serde_saphyr::Spanned<config::RegionConfig>]| {
            let account = if account.is_empty() {
                String::new()
            } else {
                format!("{account}:")
            };
            regions
                .iter()
                .flat_map(|region| {
                    let region = &region.value;
                    let projects: Vec<&str> = if region.projects.is_empty() {
                        vec!["(project from IAM)"]
                    } else {
                        region.projects.iter().map(String::as_str).collect()
                    };
                    projects
                        .into_iter()
                        .map(|project| format!("{account}{}/{project}", region.name))
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<String>>()
        };
    let mut targets = region_targets("", &config.regions);
    for account in &config.accounts {
        let account = &account.value;
        match &account.regions {
            config::AccountRegions::All => {
                targets.push(format!("{}:(all projects from IAM)", account.name))
            }
            config::AccountRegions::Listed(listed) => {
                targets.extend(region_targets(&account.name, listed))
            }
        }
    }
    let collectors: Vec<&'static str> = collect::all(config.sharding)
        .iter()
        .map(|c| c.name())
        .filter(|name| config.collectors.enabled(name))
        .collect();
    let listen: Vec<String> = serving
        .listeners
        .iter()
        .filter_map(|l| l.local_addr().ok())
        .map(|a| a.to_string())
        .collect();
    let source = match (&serving.config_file, serving.demo) {
        (_, true) => "demo",
        (Some(path), false) => path.as_str(),
        (None, false) => "(none)",
    };
    tracing::info!(
        version = %BuildInfo::current().version,
        config = source,
        targets = targets.len(),
        target_list = %targets.join(","),
        collectors = %collectors.join(","),
        listen = %listen.join(","),
        scheme = if serving.web.tls.is_some() { "https" } else { "http" },
        path = %serving.telemetry_path,
        shard = config.sharding.shard,
        total_shards = config.sharding.total_shards,
        "dms_exporter starting"
    );
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
