//! What goes on the wire: endpoints parsed once, a request's path, query and body, and its
//! headers with the signature or the token.

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{Method, Request};
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use super::DmsClient;
use crate::auth::Credentials;
use crate::budget::{Budgets, HostBudget};
use crate::error::{ApiError, ErrorKind};
use crate::provider::SigningKeys;

/// One parsed endpoint: `scheme://authority`, the `Host` header value, a path prefix, and the
/// budget of its host.
pub(super) struct Endpoint {
    base: String,
    pub(super) host: String,
    prefix: String,
    pub(super) budget: HostBudget,
}

/// Why an endpoint URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("endpoint {0:?} is not a URL")]
    NotUrl(String),
    #[error("endpoint {0:?} must start with https:// or http://")]
    Scheme(String),
    #[error("endpoint {0:?} has no host")]
    NoHost(String),
}

impl Endpoint {
    /// The decoded path of `req` on this endpoint (what is signed; no query).
    pub(super) fn path(&self, req: &ApiRequest) -> String {
        format!("{}/{}", self.prefix, req.segments.join("/"))
    }
}

pub(super) fn parse_endpoint(raw: &str, budgets: &Budgets) -> Result<Endpoint, EndpointError> {
    let uri: http::Uri = raw
        .trim()
        .parse()
        .map_err(|_| EndpointError::NotUrl(raw.to_owned()))?;
    let scheme = uri
        .scheme_str()
        .filter(|s| *s == "http" || *s == "https")
        .ok_or_else(|| EndpointError::Scheme(raw.to_owned()))?;
    let authority = uri
        .authority()
        .ok_or_else(|| EndpointError::NoHost(raw.to_owned()))?;
    let default_port = if scheme == "https" { 443 } else { 80 };
    let hostname = authority.host().to_ascii_lowercase();
    let host = match authority.port_u16() {
        Some(port) if port != default_port => format!("{hostname}:{port}"),
        _ => hostname,
    };
    let prefix = uri.path().trim_end_matches('/').to_owned();
    Ok(Endpoint {
        base: format!("{scheme}://{}", authority.as_str().to_ascii_lowercase()),
        budget: budgets.for_host(&host),
        host,
        prefix: dms_sign::decode_path(&prefix),
    })
}

/// Which endpoint a request goes to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    Dms,
    Iam,
    Ces,
    Sts,
}

/// How one request authenticates.
pub(super) enum Auth {
    /// AK/SK signature, with `X-Project-Id` when given.
    Sign { project_id: Option<String> },
    /// `X-Auth-Token`.
    Token(SecretString),
    /// Nothing (the IAM token request itself).
    Anonymous,
}

/// One call of an API, as the retries send it again.
pub(super) struct ApiRequest {
    pub(super) api: &'static str,
    pub(super) target: Target,
    pub(super) method: Method,
    /// Decoded path segments (escaped one by one on the wire).
    pub(super) segments: Vec<String>,
    /// Raw query parameters (sent as their canonical form).
    pub(super) query: Vec<(String, String)>,
    pub(super) body: Bytes,
}

impl ApiRequest {
    pub(super) fn get(
        api: &'static str,
        target: Target,
        segments: Vec<String>,
        query: Vec<(String, String)>,
    ) -> Self {
        ApiRequest {
            api,
            target,
            method: Method::GET,
            segments,
            query,
            body: Bytes::new(),
        }
    }
}

/// How the message of a call not sent for want of unexpired temporary keys begins: no
/// verdict on the call's permission (the preflight tells it from a denial by this).
pub const NOT_SENT_WITHOUT_KEYS: &str = "not sent: no unexpired temporary credentials";

/// A call not sent for want of unexpired keys.
fn no_keys(api: &'static str, why: &str) -> ApiError {
    ApiError::new(
        api,
        ErrorKind::Unauthorized,
        format!("{NOT_SENT_WITHOUT_KEYS} ({why})"),
    )
}

fn header_value(value: &str, sensitive: bool) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(value).ok()?;
    value.set_sensitive(sensitive);
    Some(value)
}

impl DmsClient {
    /// Waits for keys to sign with: static ones at once; a provider's current ones, fetched
    /// first when it has none.
    pub(super) async fn signing_keys_ready(&self, api: &'static str) -> Result<(), ApiError> {
        match &self.inner.credentials {
            Credentials::Provided(provider) => provider
                .keys()
                .await
                .map(drop)
                .map_err(|error| no_keys(api, &error.to_string())),
            _ => Ok(()),
        }
    }

    /// The keys to sign with now; a provider's only while they have not expired.
    pub(super) fn signing_keys_now(&self, api: &'static str) -> Result<SigningKeys, ApiError> {
        match &self.inner.credentials {
            Credentials::AkSk {
                access_key,
                secret_key,
                security_token,
            } => Ok(SigningKeys {
                access_key: access_key.clone(),
                secret_key: secret_key.clone(),
                security_token: security_token.clone(),
            }),
            Credentials::Provided(provider) => provider
                .current()
                .ok_or_else(|| no_keys(api, "the temporary keys expired before the call's turn")),
            Credentials::Password { .. } => Err(ApiError::new(
                api,
                ErrorKind::Config,
                "signing needs AK/SK credentials",
            )),
        }
    }

    /// The HTTP request of one attempt: URL, `Host`, and the signature (dated now) or token.
    pub(super) fn build_request(
        &self,
        endpoint: &Endpoint,
        req: &ApiRequest,
        auth: &Auth,
        keys: Option<&SigningKeys>,
    ) -> Result<Request<Bytes>, ApiError> {
        let config_error = |message: &str| ApiError::new(req.api, ErrorKind::Config, message);
        let decoded_path = endpoint.path(req);
        let wire_path = format!(
            "{}/{}",
            dms_sign::encode_path(&endpoint.prefix),
            req.segments
                .iter()
                .map(|s| dms_sign::escape(s))
                .collect::<Vec<_>>()
                .join("/")
        );
        let query = dms_sign::canonical_query(&req.query);
        let uri = if query.is_empty() {
            format!("{}{wire_path}", endpoint.base)
        } else {
            format!("{}{wire_path}?{query}", endpoint.base)
        };

        // (name, value, sensitive)
        let mut headers: Vec<(String, String)> = vec![("Host".to_owned(), endpoint.host.clone())];
        let mut extra: Vec<(&'static str, String, bool)> = Vec::new();
        match auth {
            Auth::Sign { project_id } => {
                let Some(SigningKeys {
                    access_key,
                    secret_key,
                    security_token,
                }) = keys
                else {
                    return Err(config_error("signing needs AK/SK credentials"));
                };
                if let Some(project_id) = project_id {
                    headers.push(("X-Project-Id".to_owned(), project_id.clone()));
                }
                if let Some(token) = security_token {
                    headers.push((
                        "X-Security-Token".to_owned(),
                        token.expose_secret().to_owned(),
                    ));
                }
                headers.push((
                    dms_sign::SDK_DATE_HEADER.to_owned(),
                    dms_sign::sdk_date(OffsetDateTime::now_utc()),
                ));
                let signing = dms_sign::SigningRequest {
                    method: req.method.as_str(),
                    path: &decoded_path,
                    query: &req.query,
                    headers: &headers,
                    body: &req.body,
                };
                let authorization = dms_sign::authorization(
                    access_key,
                    secret_key.expose_secret().as_bytes(),
                    &signing,
                );
                extra.push(("Authorization", authorization, true));
            }
            Auth::Token(token) => {
                extra.push(("X-Auth-Token", token.expose_secret().to_owned(), true));
            }
            Auth::Anonymous => {}
        }
        if !req.body.is_empty() {
            extra.push((
                "Content-Type",
                "application/json;charset=utf8".to_owned(),
                false,
            ));
        }

        let mut request = Request::builder()
            .method(req.method.clone())
            .uri(uri)
            .body(req.body.clone())
            .map_err(|_| config_error("the endpoint and path do not form a valid URL"))?;
        let map = request.headers_mut();
        let all = headers
            .into_iter()
            .map(|(name, value)| {
                let sensitive = name.eq_ignore_ascii_case("X-Security-Token");
                (name, value, sensitive)
            })
            .chain(extra.into_iter().map(|(n, v, s)| (n.to_owned(), v, s)));
        for (name, value, sensitive) in all {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| config_error("invalid header name"))?;
            let value = header_value(&value, sensitive).ok_or_else(|| {
                config_error(&format!(
                    "a value of header {name} contains invalid characters"
                ))
            })?;
            map.insert(name, value);
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_host_and_prefix() {
        let budgets = Budgets::new(crate::BudgetConfig::default());
        let e = parse_endpoint("https://DMS.cn-north-4.myhuaweicloud.com:443/", &budgets)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.host, "dms.cn-north-4.myhuaweicloud.com");
        assert_eq!(e.prefix, "");
        let e = parse_endpoint("http://127.0.0.1:8080/proxy", &budgets)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.host, "127.0.0.1:8080");
        assert_eq!(e.base, "http://127.0.0.1:8080");
        assert_eq!(e.prefix, "/proxy");
        assert!(parse_endpoint("ftp://x", &budgets).is_err());
        assert!(parse_endpoint("not a url", &budgets).is_err());
    }
}
