//! Collection targets: one per configured (region, project), each resolved on its own (its
//! project id from IAM unless configured), so a region IAM cannot answer for delays and
//! stops no other. `dms_target_up` shows which are collecting.

use std::sync::Arc;
use std::time::Duration;

use dms_cloud::auth::Credentials;
use dms_cloud::{Budgets, ClientConfig, ClientError, DmsClient, RetryPolicy, Transport};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::api_observer::MetricsObserver;
use crate::collect::{Project, Target};
use crate::config::{Config, Engine};
use crate::metrics::self_metrics::SelfMetrics;

/// The APIs resolving a target may call (`dms_cloud::apis` names): an IAM token for password
/// credentials, IAM's project list when the project id is not configured.
pub const RESOLUTION_APIS: &[&str] = &["iam_token", "iam_projects"];

/// How long to wait before asking IAM again for a project id it could not give.
pub const PROJECT_RETRY: Duration = Duration::from_secs(30);

/// A configured target whose project id may still be unknown.
pub struct Unresolved {
    region: String,
    /// The configured project id, `""` when it is discovered (the `dms_target_up` label).
    configured_project: String,
    engines: Vec<Engine>,
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

/// Every configured target with its client (no I/O yet).
pub fn configured(
    config: &Config,
    credentials: &Credentials,
    transport: &Arc<dyn Transport>,
    budgets: &Budgets,
    metrics: &Arc<SelfMetrics>,
    env_project: Option<String>,
) -> Vec<Unresolved> {
    let observer: Arc<dyn dms_cloud::ApiObserver> =
        Arc::new(MetricsObserver::new(Arc::clone(metrics)));
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
                ces_endpoint: region
                    .ces_endpoint
                    .clone()
                    .unwrap_or_else(|| dms_cloud::service_endpoint("ces", &region.name)),
                project_id: project.clone(),
                credentials: credentials.clone(),
                request_timeout: config.api.timeout.0,
                retry: RetryPolicy {
                    max_retries: config.api.max_retries,
                    ..RetryPolicy::default()
                },
            };
            out.push(Unresolved {
                region: region.name.clone(),
                configured_project: project.unwrap_or_default(),
                engines: region.engines.clone(),
                client: DmsClient::new(
                    client_config,
                    Arc::clone(transport),
                    budgets,
                    Arc::clone(&observer),
                ),
            });
        }
    }
    out
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

    /// (region, configured project id or ""), as `dms_target_up` labels it.
    pub fn key(&self) -> (String, String) {
        (self.region.clone(), self.configured_project.clone())
    }

    /// Asks for the project id until it comes (then reports the target) or `shutdown`. A
    /// target without a client stays unresolved, its error logged.
    pub async fn resolve(
        self,
        metrics: Arc<SelfMetrics>,
        report: mpsc::UnboundedSender<Resolution>,
        shutdown: CancellationToken,
    ) {
        let client = match self.client {
            Ok(client) => client,
            Err(error) => {
                metrics.record_target(&self.region, &self.configured_project, false);
                tracing::error!(region = %self.region, %error, "cannot build the API client; this target is not collected");
                let _ = report.send(Resolution::Retrying);
                return;
            }
        };
        let mut first_attempt = true;
        loop {
            let attempt = tokio::select! {
                () = shutdown.cancelled() => return,
                attempt = client.project_id() => attempt,
            };
            match attempt {
                Ok(project_id) => {
                    metrics.record_target(&self.region, &self.configured_project, true);
                    if !first_attempt {
                        tracing::info!(region = %self.region, %project_id, "project resolved; collecting it");
                    }
                    let target = Target {
                        project: Project {
                            region: self.region,
                            project_id,
                            engines: self.engines,
                        },
                        client,
                    };
                    let _ = report.send(Resolution::Resolved {
                        target,
                        first_attempt,
                    });
                    return;
                }
                Err(error) => {
                    metrics.record_target(&self.region, &self.configured_project, false);
                    tracing::error!(region = %self.region, %error, retry_s = PROJECT_RETRY.as_secs(), "cannot resolve the project id; the other targets collect meanwhile");
                    if first_attempt {
                        first_attempt = false;
                        let _ = report.send(Resolution::Retrying);
                    }
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(PROJECT_RETRY) => {}
            }
        }
    }
}
