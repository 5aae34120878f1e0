//! The DMS client. `request` builds what goes on the wire, `pipeline` sends it (budget → auth →
//! send with a timeout → classify → observe → retry), `iam` holds the token and the project id,
//! `paging` reads listings; endpoints live in `instances` (every engine's) and one file per
//! engine.

mod ces;
mod iam;
mod instances;
mod kafka;
mod paging;
mod pipeline;
mod rabbitmq;
mod request;
mod rocketmq;
mod tally;

use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::auth::{Credentials, TokenState};
use crate::budget::{Budgets, Flow, HostBudget};
use crate::error::ApiError;
use crate::retry::RetryPolicy;
use crate::transport::Transport;
use crate::{ApiObserver, ClientConfig};

pub use ces::{MAX_POINTS_PER_ANSWER, MAX_QUERY_BYTES, MAX_SERIES_PER_QUERY};
pub use pipeline::{DENIED_API_HOLD_OFF, FLOW_CONTROL_CODE};
use request::{Endpoint, parse_endpoint};
pub use request::{EndpointError, NOT_SENT_WITHOUT_KEYS};
pub use tally::CallTally;

/// Why a client cannot be built: which endpoint, and what is wrong with its URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("DMS {0}")]
    Dms(EndpointError),
    #[error("IAM {0}")]
    Iam(EndpointError),
    #[error("Cloud Eye {0}")]
    Ces(EndpointError),
    #[error("STS {0}")]
    Sts(EndpointError),
}

struct Inner {
    region: String,
    configured_project_id: Option<String>,
    credentials: Credentials,
    request_timeout: Duration,
    retry: RetryPolicy,
    dms: Endpoint,
    iam: Endpoint,
    ces: Endpoint,
    /// `None`: this client never asks STS.
    sts: Option<Endpoint>,
    transport: Arc<dyn Transport>,
    observer: Arc<dyn ApiObserver>,
    project_id: OnceCell<String>,
    project_failure: Mutex<Option<(Instant, ApiError)>>,
    tokens: tokio::sync::Mutex<TokenState>,
    instances_v1: AtomicBool,
}

/// The DMS API client. Cheap to clone; clones share caches, budgets and the token. A handle
/// made by [`DmsClient::for_flow`] queues its requests as that flow and counts them in its
/// tally; the others queue as [`Flow::other`].
#[derive(Clone)]
pub struct DmsClient {
    inner: Arc<Inner>,
    flow: Flow,
    tally: Option<Arc<CallTally>>,
}

impl fmt::Debug for DmsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DmsClient")
            .field("region", &self.inner.region)
            .field("credentials", &self.inner.credentials)
            .finish_non_exhaustive()
    }
}

fn path(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| (*p).to_owned()).collect()
}

fn query(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

impl DmsClient {
    /// A client of one region and project; fails when an endpoint is not a usable URL.
    pub fn new(
        config: ClientConfig,
        transport: Arc<dyn Transport>,
        budgets: &Budgets,
        observer: Arc<dyn ApiObserver>,
    ) -> Result<Self, ClientError> {
        let dms = parse_endpoint(&config.endpoint, budgets).map_err(ClientError::Dms)?;
        let iam = parse_endpoint(&config.iam_endpoint, budgets).map_err(ClientError::Iam)?;
        let ces = parse_endpoint(&config.ces_endpoint, budgets).map_err(ClientError::Ces)?;
        let sts = config
            .sts_endpoint
            .map(|url| parse_endpoint(&url, budgets).map_err(ClientError::Sts))
            .transpose()?;
        Ok(DmsClient {
            flow: Flow::other(),
            tally: None,
            inner: Arc::new(Inner {
                region: config.region,
                configured_project_id: config.project_id.filter(|p| !p.trim().is_empty()),
                credentials: config.credentials,
                request_timeout: config.request_timeout,
                retry: config.retry,
                dms,
                iam,
                ces,
                sts,
                transport,
                observer,
                project_id: OnceCell::new(),
                project_failure: Mutex::new(None),
                tokens: tokio::sync::Mutex::new(TokenState::default()),
                instances_v1: AtomicBool::new(false),
            }),
        })
    }

    /// A handle whose requests queue as `flow` in the host schedulers and add up in `tally`.
    pub fn for_flow(&self, flow: Flow, tally: Arc<CallTally>) -> DmsClient {
        DmsClient {
            inner: Arc::clone(&self.inner),
            flow,
            tally: Some(tally),
        }
    }

    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// The request scheduler of the DMS endpoint's host.
    pub fn dms_budget(&self) -> &HostBudget {
        &self.inner.dms.budget
    }

    /// `/v2/{project_id}/instances/{instance_id}/<rest>` of this client's project.
    async fn instance_path(
        &self,
        instance_id: &str,
        rest: &[&str],
    ) -> Result<Vec<String>, ApiError> {
        let project_id = self.project_id().await?;
        let mut segments = path(&["v2", &project_id, "instances", instance_id]);
        segments.extend(rest.iter().map(|s| (*s).to_owned()));
        Ok(segments)
    }

    /// `/v2/{engine}/{project_id}/instances/{instance_id}/<rest>`: the paths of the Huawei
    /// SDK's RocketMQ and RabbitMQ models.
    async fn engine_instance_path(
        &self,
        engine: &str,
        instance_id: &str,
        rest: &[&str],
    ) -> Result<Vec<String>, ApiError> {
        let project_id = self.project_id().await?;
        let mut segments = path(&["v2", engine, &project_id, "instances", instance_id]);
        segments.extend(rest.iter().map(|s| (*s).to_owned()));
        Ok(segments)
    }

    /// A GET of `/v2/{project_id}/instances/{instance_id}/<rest>`, its body decoded as `T`.
    async fn instance_get<T: DeserializeOwned>(
        &self,
        api: &'static str,
        instance_id: &str,
        rest: &[&str],
        query: Vec<(String, String)>,
    ) -> Result<T, ApiError> {
        let segments = self.instance_path(instance_id, rest).await?;
        self.dms_get(api, segments, query).await
    }
}
