//! Collection targets: one per configured (account, region, project), each resolved on its
//! own (its project id from IAM unless configured), so a region IAM cannot answer for — or an
//! account whose keys are refused — delays and stops no other. `dms_target_up` shows which
//! are collecting. An account with `regions: all` finds its targets in IAM's project list,
//! read again every discovery interval ([`discover`]). A named account's id is learnt once,
//! by the first of its targets to resolve ([`AccountIdentity`]).

use std::sync::Arc;
use std::time::Duration;

use dms_cloud::auth::Credentials;
use dms_cloud::error::ApiError;
use dms_cloud::{Budgets, ClientConfig, ClientError, DmsClient, RetryPolicy, Transport};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::api_observer::MetricsObserver;
use crate::collect::{Project, Target};
use crate::config::{ApiConfig, DiscoveryConfig, Engine, RegionConfig};
use crate::metrics::self_metrics::SelfMetrics;

/// The APIs resolving a target may call (`dms_cloud::apis` names): an IAM token for password
/// credentials, IAM's project list when the project id is not configured, STS's caller
/// identity for a named account's id.
pub const RESOLUTION_APIS: &[&str] = &["iam_token", "iam_projects", "sts_caller_identity"];

/// A named account's id: configured (`accounts[].account_id`), or learnt once — the first
/// of its targets to resolve asks, the others wait for that answer — from STS
/// `caller-identity` signed with its keys, or from the IAM token for a password. Until it is
/// known the account's targets are not collected: `dms_instance_info` always carries it.
pub struct AccountIdentity {
    configured: Option<String>,
    learnt: tokio::sync::OnceCell<String>,
}

impl AccountIdentity {
    pub fn new(configured: Option<String>) -> Self {
        AccountIdentity {
            configured: configured.filter(|id| !id.trim().is_empty()),
            learnt: tokio::sync::OnceCell::new(),
        }
    }

    /// Whether the id is asked (not configured).
    pub fn to_learn(&self) -> bool {
        self.configured.is_none()
    }

    /// The account's id, asked with `client` unless configured or already learnt.
    pub async fn id(&self, client: &DmsClient) -> Result<String, ApiError> {
        if let Some(id) = &self.configured {
            return Ok(id.clone());
        }
        self.learnt
            .get_or_try_init(|| client.account_id())
            .await
            .cloned()
    }
}

/// How long to wait before asking IAM again for a project id it could not give.
pub const PROJECT_RETRY: Duration = Duration::from_secs(30);

/// A configured target whose project id may still be unknown.
pub struct Unresolved {
    /// The account's name, "" in a file without `accounts:`.
    account: String,
    /// Whether readiness waits for its first attempt (not for one discovered later).
    initial: bool,
    region: String,
    /// The configured project id, `""` when it is discovered (the `dms_target_up` label).
    configured_project: String,
    engines: Vec<Engine>,
    /// The named account's id, learnt on resolution; `None` without `accounts:`.
    identity: Option<Arc<AccountIdentity>>,
    /// Cancelled when IAM no longer lists the (discovered) project: the resolution or the
    /// collection stops and its series and `dms_target_up` go.
    retired: CancellationToken,
    /// An error only for an endpoint the configuration's checks let through (they refuse
    /// every URL the client cannot use, with its file and line).
    client: Result<DmsClient, ClientError>,
}

/// What a target's resolution reports to the collection.
pub enum Resolution {
    /// The project id is known: collect. `first_attempt` tells whether readiness waits
    /// for it (only targets resolved at once do; a failing one joins later).
    Resolved { target: Target, first_attempt: bool },
    /// The first attempt failed; the resolution goes on in the background (or not at all,
    /// for a target whose client could not be built).
    Retrying,
}

/// What the targets of one account are built with.
pub struct AccountTargets<'a> {
    /// "" in a file without `accounts:`.
    pub account: &'a str,
    pub credentials: &'a Credentials,
    pub api: &'a ApiConfig,
    pub transport: &'a Arc<dyn Transport>,
    /// The account's own host schedulers (the gateway judges and limits each key apart).
    pub budgets: &'a Budgets,
    pub metrics: &'a Arc<SelfMetrics>,
    /// A named account's id; `None` without `accounts:`.
    pub identity: Option<&'a Arc<AccountIdentity>>,
    /// Where the account's id is asked (`accounts[].sts_endpoint`; default the region's STS).
    pub sts_endpoint: Option<&'a str>,
}

/// Every target of `regions` with its client (no I/O yet). `env_project` is the SDK
/// variable's project, used for a single region without projects.
pub fn configured<'a>(
    account: &AccountTargets<'_>,
    regions: impl ExactSizeIterator<Item = &'a RegionConfig>,
    env_project: Option<String>,
    initial: bool,
) -> Vec<Unresolved> {
    let observer: Arc<dyn dms_cloud::ApiObserver> = Arc::new(MetricsObserver::new(
        Arc::clone(account.metrics),
        account.account,
    ));
    let single = regions.len() == 1;
    let mut out = Vec::new();
    for region in regions {
        let (default_dms, default_iam) = dms_cloud::default_endpoints(&region.name);
        let mut projects: Vec<Option<String>> = region.projects.iter().cloned().map(Some).collect();
        if projects.is_empty() {
            // The SDK variable names one project; it only makes sense with one region.
            projects.push(if single { env_project.clone() } else { None });
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
                ces_endpoint: region
                    .ces_endpoint
                    .clone()
                    .unwrap_or_else(|| dms_cloud::service_endpoint("ces", &region.name)),
                sts_endpoint: account
                    .identity
                    .is_some_and(|identity| identity.to_learn())
                    .then(|| {
                        account.sts_endpoint.map_or_else(
                            || dms_cloud::service_endpoint("sts", &region.name),
                            str::to_owned,
                        )
                    }),
                project_id: project.clone(),
                credentials: account.credentials.clone(),
                request_timeout: account.api.timeout.0,
                retry: RetryPolicy {
                    max_retries: account.api.max_retries,
                    ..RetryPolicy::default()
                },
            };
            out.push(Unresolved {
                account: account.account.to_owned(),
                initial,
                region: region.name.clone(),
                configured_project: project.unwrap_or_default(),
                engines: region.engines.clone(),
                identity: account.identity.cloned(),
                retired: CancellationToken::new(),
                client: DmsClient::new(
                    client_config,
                    Arc::clone(account.transport),
                    account.budgets,
                    Arc::clone(&observer),
                ),
            });
        }
    }
    out
}

/// How an account with `regions: all` reads IAM's project list.
pub struct Discovery {
    pub interval: Duration,
    /// The client of the list (IAM's endpoint; its region is not used).
    pub client: DmsClient,
    /// The settings of every region found (endpoint overrides, engines).
    pub template: RegionConfig,
}

/// The default interval between two reads of IAM's project list.
pub const DISCOVERY_INTERVAL: Duration = Duration::from_secs(3600);

impl Discovery {
    /// The project list of `account` as `settings` say (IAM's global endpoint by default).
    pub fn new(
        account: &AccountTargets<'_>,
        settings: &DiscoveryConfig,
    ) -> Result<Discovery, ClientError> {
        let iam_endpoint = settings
            .iam_endpoint
            .clone()
            .unwrap_or_else(|| dms_cloud::provider::GLOBAL_IAM_ENDPOINT.to_owned());
        let client_config = ClientConfig {
            region: "global".to_owned(),
            endpoint: iam_endpoint.clone(),
            iam_endpoint: iam_endpoint.clone(),
            ces_endpoint: iam_endpoint,
            sts_endpoint: None,
            project_id: None,
            credentials: account.credentials.clone(),
            request_timeout: account.api.timeout.0,
            retry: RetryPolicy {
                max_retries: account.api.max_retries,
                ..RetryPolicy::default()
            },
        };
        let observer: Arc<dyn dms_cloud::ApiObserver> = Arc::new(MetricsObserver::new(
            Arc::clone(account.metrics),
            account.account,
        ));
        let client = DmsClient::new(
            client_config,
            Arc::clone(account.transport),
            account.budgets,
            observer,
        )?;
        Ok(Discovery {
            interval: settings
                .interval
                .map_or(DISCOVERY_INTERVAL, |interval| interval.0),
            client,
            template: RegionConfig {
                name: String::new(),
                endpoint: settings.endpoint.clone(),
                iam_endpoint: settings.iam_endpoint.clone(),
                ces_endpoint: settings.ces_endpoint.clone(),
                projects: Vec::new(),
                engines: settings.engines.clone(),
                insecure_http: settings.insecure_http,
            },
        })
    }

    /// The region of a listed project, read with the template's settings; `None` for a
    /// project that is no region (IAM lists `MOS`: a region has a dash). The region is the
    /// part of the project's name before `_` (sub-projects are named `cn-north-4_sub`).
    pub fn region_of(&self, project: &dms_cloud::dto::Project) -> Option<RegionConfig> {
        let region = project.name.split('_').next()?;
        region.contains('-').then(|| RegionConfig {
            name: region.to_owned(),
            projects: vec![project.id.clone()],
            ..self.template.clone()
        })
    }
}

/// Reads the account's projects now and every `interval` until `shutdown`, sends each
/// project not seen before to `found` as a target (`region` the part of the project's name
/// before `_`: sub-projects are named `cn-north-4_sub`), and retires the target of each
/// project a successful read no longer lists (deleted). A failed read is logged and shown as
/// `dms_target_up{account, region="", project_id=""} 0`; the targets found before go on.
pub async fn discover(
    account: AccountTargets<'_>,
    discovery: Discovery,
    found: mpsc::UnboundedSender<Vec<Unresolved>>,
    shutdown: CancellationToken,
) {
    // Each project found, with what retires its target.
    let mut known: std::collections::BTreeMap<String, CancellationToken> =
        std::collections::BTreeMap::new();
    loop {
        let listed = tokio::select! {
            () = shutdown.cancelled() => return,
            listed = discovery.client.all_projects() => listed,
        };
        match listed {
            Ok(projects) => {
                account.metrics.forget_target(account.account, "", "");
                let listed: std::collections::BTreeSet<&str> =
                    projects.iter().map(|p| p.id.as_str()).collect();
                known.retain(|project_id, retired| {
                    let kept = listed.contains(project_id.as_str());
                    if !kept {
                        tracing::info!(account = account.account, %project_id, "IAM no longer lists the project; its target and series go");
                        retired.cancel();
                    }
                    kept
                });
                let regions: Vec<RegionConfig> = projects
                    .iter()
                    .filter(|project| !known.contains_key(&project.id))
                    .filter_map(|project| discovery.region_of(project))
                    .collect();
                if !regions.is_empty() {
                    tracing::info!(
                        account = account.account,
                        projects = regions.len(),
                        "projects discovered"
                    );
                    let targets = configured(&account, regions.iter(), None, false);
                    for target in &targets {
                        known.insert(target.configured_project.clone(), target.retired.clone());
                    }
                    if found.send(targets).is_err() {
                        return;
                    }
                }
            }
            Err(error) => {
                account
                    .metrics
                    .record_target(account.account, "", "", false);
                tracing::error!(account = account.account, %error, retry_s = PROJECT_RETRY.as_secs(), "cannot list the account's projects; its targets found before collect meanwhile");
            }
        }
        let wait = if account.metrics.target_down(account.account, "", "") {
            PROJECT_RETRY
        } else {
            discovery.interval
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

impl Unresolved {
    /// The engines its region reads.
    pub fn engines(&self) -> &[Engine] {
        &self.engines
    }

    /// Its client, or why there is none.
    pub fn client(&self) -> Result<&DmsClient, &ClientError> {
        self.client.as_ref()
    }

    /// (account or "", region, configured project id or ""), as `dms_target_up` labels it.
    pub fn key(&self) -> (String, String, String) {
        (
            self.account.clone(),
            self.region.clone(),
            self.configured_project.clone(),
        )
    }

    /// The project id, and the account's id for a named account ("" otherwise).
    async fn identify(
        client: &DmsClient,
        identity: Option<&AccountIdentity>,
    ) -> Result<(String, String), ApiError> {
        let project_id = client.project_id().await?;
        let account_id = match identity {
            Some(identity) => identity.id(client).await?,
            None => String::new(),
        };
        Ok((project_id, account_id))
    }

    /// Asks for the project id (and a named account's id) until they come (then reports the
    /// target) or `shutdown`. A target without a client stays unresolved, its error logged.
    pub async fn resolve(
        self,
        metrics: Arc<SelfMetrics>,
        report: mpsc::UnboundedSender<Resolution>,
        shutdown: CancellationToken,
    ) {
        let client = match self.client {
            Ok(client) => client,
            Err(error) => {
                metrics.record_target(&self.account, &self.region, &self.configured_project, false);
                tracing::error!(account = %self.account, region = %self.region, %error, "cannot build the API client; this target is not collected");
                if self.initial {
                    let _ = report.send(Resolution::Retrying);
                }
                return;
            }
        };
        let mut first_attempt = self.initial;
        loop {
            let attempt = tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.retired.cancelled() => {
                    metrics.forget_target(&self.account, &self.region, &self.configured_project);
                    return;
                }
                attempt = Self::identify(&client, self.identity.as_deref()) => attempt,
            };
            match attempt {
                Ok((project_id, account_id)) => {
                    if self.identity.is_some() {
                        metrics.record_account(&self.account, &account_id);
                    }
                    metrics.record_target(
                        &self.account,
                        &self.region,
                        &self.configured_project,
                        true,
                    );
                    if !first_attempt {
                        tracing::info!(account = %self.account, region = %self.region, %project_id, "project resolved; collecting it");
                    }
                    let target = Target {
                        project: Project {
                            account: self.account,
                            account_id,
                            region: self.region,
                            project_id,
                            engines: self.engines,
                        },
                        client,
                        retired: self.retired,
                    };
                    let _ = report.send(Resolution::Resolved {
                        target,
                        first_attempt,
                    });
                    return;
                }
                Err(error) => {
                    metrics.record_target(
                        &self.account,
                        &self.region,
                        &self.configured_project,
                        false,
                    );
                    tracing::error!(account = %self.account, region = %self.region, %error, retry_s = PROJECT_RETRY.as_secs(), "cannot resolve the project id or the account's id; the other targets collect meanwhile");
                    if first_attempt {
                        first_attempt = false;
                        let _ = report.send(Resolution::Retrying);
                    }
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.retired.cancelled() => {
                    metrics.forget_target(&self.account, &self.region, &self.configured_project);
                    return;
                }
                () = tokio::time::sleep(PROJECT_RETRY) => {}
            }
        }
    }
}
