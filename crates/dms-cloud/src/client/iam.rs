//! IAM: the password token (cached, refreshed when due or rejected, one request at a time) and
//! the project id (configured, or discovered once from the token or the project list).

use bytes::Bytes;
use http::Method;
use secrecy::SecretString;
use time::OffsetDateTime;
use tokio::time::Instant;

use super::pipeline::decode;
use super::request::{ApiRequest, Auth, Target};
use super::{DmsClient, path, query};
use crate::auth::{self, AUTH_FAILURE_BACKOFF, CachedToken, Credentials, TokenState};
use crate::dto;
use crate::error::{ApiError, ErrorKind};
use crate::locks::lock;

impl DmsClient {
    async fn request_token(&self) -> Result<(SecretString, dto::TokenBody), ApiError> {
        const API: &str = "iam_token";
        let Credentials::Password {
            user,
            password,
            domain,
        } = &self.inner.credentials
        else {
            return Err(ApiError::new(
                API,
                ErrorKind::Config,
                "token auth needs password credentials",
            ));
        };
        let body = auth::token_request_body(user, password, domain, &self.inner.region);
        let req = ApiRequest {
            api: API,
            target: Target::Iam,
            method: Method::POST,
            segments: path(&["v3", "auth", "tokens"]),
            query: Vec::new(),
            body: Bytes::from(body),
        };
        let response = self.execute(&req, &Auth::Anonymous).await?;
        let token = response
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(|v| SecretString::from(v.to_owned()))
            .ok_or_else(|| {
                ApiError::new(
                    API,
                    ErrorKind::Decode,
                    "IAM answered without an X-Subject-Token header",
                )
            })?;
        let body = match decode::<dto::TokenResponse>(API, response.body()) {
            Ok(parsed) => parsed.token,
            Err(error) => {
                tracing::warn!(%error, "unreadable IAM token body; assuming a short validity");
                dto::TokenBody::default()
            }
        };
        Ok((token, body))
    }

    async fn fetch_token_locked(&self, state: &mut TokenState) -> Result<CachedToken, ApiError> {
        if let Some(error) = state.backing_off(Instant::now()) {
            return Err(error);
        }
        match self.request_token().await {
            Ok((value, body)) => {
                let (refresh_at, expires_at) = auth::token_schedule(
                    &body.expires_at,
                    &body.issued_at,
                    OffsetDateTime::now_utc(),
                    Instant::now(),
                );
                state.next_generation += 1;
                let token = CachedToken {
                    value,
                    generation: state.next_generation,
                    refresh_at,
                    expires_at,
                    domain_id: body.domain_id(),
                    project_id: body.project.map(|p| p.id).filter(|id| !id.is_empty()),
                };
                state.token = Some(token.clone());
                state.last_failure = None;
                Ok(token)
            }
            Err(error) => {
                let auth_failure = matches!(
                    error.kind,
                    ErrorKind::Unauthorized | ErrorKind::Forbidden | ErrorKind::ClientError
                );
                if auth_failure {
                    tracing::warn!(%error, "IAM rejected the credentials; not asking again for {} s", AUTH_FAILURE_BACKOFF.as_secs());
                    state.last_failure = Some((Instant::now(), error.clone()));
                } else if let Some(token) = state.unexpired(Instant::now()) {
                    tracing::warn!(%error, "IAM token refresh failed; using the current token until it expires");
                    return Ok(token);
                }
                Err(error)
            }
        }
    }

    /// The cached IAM token, fetched or refreshed when due (single-flight).
    pub(super) async fn token(&self) -> Result<CachedToken, ApiError> {
        let mut state = self.inner.tokens.lock().await;
        if let Some(token) = state.fresh(Instant::now()) {
            return Ok(token);
        }
        self.fetch_token_locked(&mut state).await
    }

    /// After DMS rejected token `generation`: a new token, unless another task already got one.
    pub(super) async fn refresh_rejected_token(
        &self,
        generation: u64,
    ) -> Result<CachedToken, ApiError> {
        let mut state = self.inner.tokens.lock().await;
        if let Some(token) = state.unexpired(Instant::now())
            && token.generation != generation
        {
            return Ok(token);
        }
        state.token = None;
        self.fetch_token_locked(&mut state).await
    }

    /// The project id: configured, or discovered once and cached.
    pub async fn project_id(&self) -> Result<String, ApiError> {
        if let Some(project_id) = &self.inner.configured_project_id {
            return Ok(project_id.clone());
        }
        self.inner
            .project_id
            .get_or_try_init(|| self.discover_project_id())
            .await
            .cloned()
    }

    async fn discover_project_id(&self) -> Result<String, ApiError> {
        {
            let failure = lock(&self.inner.project_failure);
            if let Some((at, error)) = failure.as_ref()
                && at.elapsed() < AUTH_FAILURE_BACKOFF
            {
                return Err(error.clone());
            }
        }
        let result = match &self.inner.credentials {
            Credentials::Password { .. } => {
                let token = self.token().await?;
                match token.project_id {
                    Some(project_id) => Ok(project_id),
                    None => self.list_projects(&Auth::Token(token.value)).await,
                }
            }
            Credentials::AkSk { .. } | Credentials::Provided(_) => {
                self.list_projects(&Auth::Sign { project_id: None }).await
            }
        };
        if let Err(error) = &result
            && matches!(
                error.kind,
                ErrorKind::Unauthorized | ErrorKind::Forbidden | ErrorKind::Config
            )
        {
            *lock(&self.inner.project_failure) = Some((Instant::now(), error.clone()));
        }
        result
    }

    /// The id of the account whose credentials these are: from the IAM token's body for a
    /// password, else STS `GET /v5/caller-identity` signed with the keys (an agency's keys
    /// name the agency's account).
    pub async fn account_id(&self) -> Result<String, ApiError> {
        const API: &str = "sts_caller_identity";
        let from_token = match &self.inner.credentials {
            Credentials::Password { .. } => Some(self.token().await?.domain_id),
            Credentials::AkSk { .. } | Credentials::Provided(_) => None,
        };
        let account_id = match from_token {
            Some(domain_id) => domain_id.unwrap_or_default(),
            None if self.inner.sts.is_none() => {
                return Err(ApiError::new(
                    API,
                    ErrorKind::Config,
                    "no STS endpoint to ask the account's id",
                ));
            }
            None => {
                let req = ApiRequest::get(
                    API,
                    Target::Sts,
                    path(&["v5", "caller-identity"]),
                    Vec::new(),
                );
                let response = self.execute(&req, &Auth::Sign { project_id: None }).await?;
                decode::<dto::CallerIdentity>(API, response.body())?.account_id
            }
        };
        if account_id.trim().is_empty() {
            return Err(ApiError::new(
                API,
                ErrorKind::Decode,
                "the answer names no account id",
            ));
        }
        Ok(account_id)
    }

    /// Every project IAM lists for the credentials' account (`GET /v3/projects`, one page:
    /// IAM does not page it), for an account that reads all its regions.
    pub async fn all_projects(&self) -> Result<Vec<dto::Project>, ApiError> {
        const API: &str = "iam_projects";
        let auth = match &self.inner.credentials {
            Credentials::Password { .. } => Auth::Token(self.token().await?.value),
            Credentials::AkSk { .. } | Credentials::Provided(_) => Auth::Sign { project_id: None },
        };
        let req = ApiRequest::get(API, Target::Iam, path(&["v3", "projects"]), Vec::new());
        let response = self.execute(&req, &auth).await?;
        let list: dto::ProjectList = decode(API, response.body())?;
        Ok(list
            .projects
            .into_iter()
            .filter(|project| !project.id.is_empty())
            .collect())
    }

    async fn list_projects(&self, auth: &Auth) -> Result<String, ApiError> {
        const API: &str = "iam_projects";
        let region = self.inner.region.clone();
        let req = ApiRequest::get(
            API,
            Target::Iam,
            path(&["v3", "projects"]),
            query(&[("name", region.clone())]),
        );
        let response = self.execute(&req, auth).await?;
        let list: dto::ProjectList = decode(API, response.body())?;
        let exact: Vec<&dto::Project> = list.projects.iter().filter(|p| p.name == region).collect();
        let candidates: Vec<&dto::Project> = if exact.is_empty() {
            list.projects.iter().collect()
        } else {
            exact
        };
        match candidates.as_slice() {
            [project] if !project.id.is_empty() => Ok(project.id.clone()),
            [] | [_] => Err(ApiError::new(
                API,
                ErrorKind::Config,
                format!("IAM has no project named {region:?}; set project_id for this region"),
            )),
            many => Err(ApiError::new(
                API,
                ErrorKind::Config,
                format!(
                    "IAM has {} projects named {region:?}; set project_id for this region",
                    many.len()
                ),
            )),
        }
    }
}
