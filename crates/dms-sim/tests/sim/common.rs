//! Helpers: signed requests through `router().oneshot`, JSON shape comparison.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use dms_sim::{SimConfig, Simulator};
use serde_json::Value;
use time::OffsetDateTime;
use tower::ServiceExt;

pub(crate) const AK: &str = "SIMULATORAK000000001";
pub(crate) const SK: &str = "simulator-secret-key-0001";
pub(crate) const PROJECT: &str = "0b0e4b5d1e8f4d6c9a7f3e2d1c0b9a88";
pub(crate) const PROJECT2: &str = "1c1f5c6e2f9a5e7dab8a4f3e2d1c0a99";
pub(crate) const HOST: &str = "dms.cn-north-4.myhuaweicloud.com";

pub(crate) fn sim() -> Simulator {
    Simulator::new(SimConfig::deterministic())
}

pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub(crate) fn error_code(&self) -> String {
        self.json()["error_code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// How to sign a request.
#[derive(Clone)]
pub(crate) struct Signing {
    pub ak: String,
    pub sk: String,
    pub date: OffsetDateTime,
    /// A signed header left out of the sent request.
    pub drop_header: Option<&'static str>,
    pub project_header: Option<String>,
}

impl Default for Signing {
    fn default() -> Self {
        Signing {
            ak: AK.to_owned(),
            sk: SK.to_owned(),
            date: OffsetDateTime::now_utc(),
            drop_header: None,
            project_header: None,
        }
    }
}

pub(crate) fn signed_request(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    signing: &Signing,
) -> Request<Body> {
    signed_request_with_body(method, path, query, b"", signing)
}

/// A request signed over its body too (CES's BatchListMetricData is a POST with JSON).
pub(crate) fn signed_request_with_body(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    body: &[u8],
    signing: &Signing,
) -> Request<Body> {
    let query: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut headers = vec![
        ("Host".to_owned(), HOST.to_owned()),
        ("X-Sdk-Date".to_owned(), dms_sign::sdk_date(signing.date)),
    ];
    if let Some(project) = &signing.project_header {
        headers.push(("X-Project-Id".to_owned(), project.clone()));
    }
    let request = dms_sign::SigningRequest {
        method,
        path,
        query: &query,
        headers: &headers,
        body,
    };
    let authorization = dms_sign::authorization(&signing.ak, signing.sk.as_bytes(), &request);
    let canonical = dms_sign::canonical_query(&query);
    let mut uri = dms_sign::encode_path(path);
    if !canonical.is_empty() {
        uri.push('?');
        uri.push_str(&canonical);
    }
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in &headers {
        if signing
            .drop_header
            .is_some_and(|d| d.eq_ignore_ascii_case(name))
        {
            continue;
        }
        builder = builder.header(name.as_str(), value.as_str());
    }
    if !body.is_empty() {
        builder = builder.header("Content-Type", "application/json");
    }
    builder
        .header("Authorization", authorization)
        .body(Body::from(body.to_vec()))
        .expect("request builds")
}

pub(crate) async fn send(sim: &Simulator, request: Request<Body>) -> Reply {
    let response = sim.router().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body")
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

/// A GET signed with the deterministic AK/SK.
pub(crate) async fn get(sim: &Simulator, path: &str, query: &[(&str, &str)]) -> Reply {
    send(sim, signed_request("GET", path, query, &Signing::default())).await
}

/// A GET that must succeed, as JSON.
pub(crate) async fn get_ok(sim: &Simulator, path: &str, query: &[(&str, &str)]) -> Value {
    let reply = get(sim, path, query).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{path}: {}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()
}

/// An unauthenticated request with a JSON body (IAM tokens, control API).
pub(crate) async fn send_json(
    sim: &Simulator,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> Reply {
    let builder = Request::builder().method(method).uri(uri);
    let request = match body {
        Some(body) => builder
            .header("content-type", "application/json")
            .body(Body::from(body.to_string())),
        None => builder.body(Body::empty()),
    }
    .expect("request builds");
    send(sim, request).await
}

/// Ids of the instances of `project`, in list order.
pub(crate) async fn instances(sim: &Simulator, project: &str) -> Vec<Value> {
    let list = get_ok(sim, &format!("/v2/{project}/instances"), &[("limit", "50")]).await;
    list["instances"].as_array().cloned().unwrap_or_default()
}

/// The first instance of the first project (public access enabled).
pub(crate) async fn first_instance(sim: &Simulator) -> String {
    let all = instances(sim, PROJECT).await;
    all.iter()
        .find(|i| i["enable_publicip"] == Value::Bool(true))
        .or(all.first())
        .and_then(|i| i["instance_id"].as_str())
        .expect("an instance")
        .to_owned()
}

pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Fails with every difference when `actual` does not have the shape of `example`.
pub(crate) fn assert_shape(name: &str, example: &Value, actual: &Value) {
    let mut errors = Vec::new();
    same_shape(example, actual, "$", &mut errors);
    assert!(
        errors.is_empty(),
        "{name}: response differs from the documented example:\n  {}\nresponse: {actual}",
        errors.join("\n  ")
    );
}

/// Every field of `example` is in `actual` with the same JSON type, recursively; array
/// elements are compared pairwise (every actual element against every example element).
/// Keys starting with `$` in the example are comments.
pub(crate) fn same_shape(example: &Value, actual: &Value, at: &str, errors: &mut Vec<String>) {
    match (example, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (key, e_value) in e {
                if key.starts_with('$') {
                    continue;
                }
                match a.get(key) {
                    Some(a_value) => same_shape(e_value, a_value, &format!("{at}.{key}"), errors),
                    None => errors.push(format!("{at}.{key}: missing")),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if !e.is_empty() && a.is_empty() {
                errors.push(format!("{at}: empty array, cannot compare element shapes"));
            }
            for (i, a_item) in a.iter().enumerate() {
                for e_item in e {
                    same_shape(e_item, a_item, &format!("{at}[{i}]"), errors);
                }
            }
        }
        _ => {
            if kind(example) != kind(actual) {
                errors.push(format!(
                    "{at}: example is {} ({example}), response is {} ({actual})",
                    kind(example),
                    kind(actual)
                ));
            }
        }
    }
}

/// A documented Kafka example.
pub(crate) fn fixture(name: &str) -> Value {
    engine_fixture("kafka", name)
}

/// A documented example of an engine (`fixtures/api/{engine}/{name}`).
pub(crate) fn engine_fixture(engine: &str, name: &str) -> Value {
    let path = format!(
        "{}/../../fixtures/api/{engine}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}
