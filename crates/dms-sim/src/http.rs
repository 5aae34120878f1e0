//! The DMS and IAM HTTP surface: routing, authentication, faults, the request log.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::fleet::{DiskQuery, TaskQuery, iso_ms, parse_size};
use crate::{Fault, RequestRecord, Simulator, Token};

/// An error answer: status + JSON body.
pub(crate) struct ApiError {
    status: StatusCode,
    body: Value,
}

impl ApiError {
    pub fn dms(status: u16, code: &str, msg: &str) -> ApiError {
        ApiError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body: json!({ "error_code": code, "error_msg": msg }),
        }
    }

    fn iam(status: u16, title: &str, message: &str) -> ApiError {
        ApiError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::UNAUTHORIZED),
            body: json!({ "error": { "code": status, "message": message, "title": title } }),
        }
    }

    pub fn url_not_found() -> ApiError {
        ApiError::dms(404, "DMS.00404001", "The requested URL does not exist.")
    }

    fn instance_not_found() -> ApiError {
        ApiError::dms(404, "DMS.00404022", "This instance does not exist.")
    }

    pub(crate) fn bad_parameter() -> ApiError {
        ApiError::dms(400, "DMS.00400062", "Invalid request parameter.")
    }

    fn too_frequent() -> ApiError {
        ApiError::dms(
            404,
            "DMS.10240407",
            "The request is too frequent. Flow control is being performed. Please try again later.",
        )
    }

    fn apigw_auth(detail: &str) -> ApiError {
        ApiError::dms(
            401,
            "APIGW.0301",
            &format!("Incorrect IAM authentication information: {detail}"),
        )
    }
}

/// A successful answer.
struct Answer {
    status: StatusCode,
    body: Value,
    headers: Vec<(&'static str, String)>,
}

impl Answer {
    fn ok(body: Value) -> Answer {
        Answer {
            status: StatusCode::OK,
            body,
            headers: Vec::new(),
        }
    }
}

/// A recognised route.
struct Route {
    endpoint: &'static str,
    project_id: Option<String>,
    instance_id: Option<String>,
    /// The trailing path parameter (topic, group, task id).
    item: Option<String>,
}

fn route(method: &Method, segments: &[String]) -> Option<Route> {
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    let make = |endpoint, project: Option<&str>, instance: Option<&str>, item: Option<&str>| {
        Some(Route {
            endpoint,
            project_id: project.map(str::to_owned),
            instance_id: instance.map(str::to_owned),
            item: item.map(str::to_owned),
        })
    };
    if method == Method::POST {
        return match s.as_slice() {
            ["v3", "auth", "tokens"] => make("iam_tokens", None, None, None),
            _ => None,
        };
    }
    if method != Method::GET {
        return None;
    }
    match s.as_slice() {
        ["v3", "projects"] => make("iam_projects", None, None, None),
        ["v2", p, "instances"] => make("instances_list", Some(p), None, None),
        ["v2", p, "instances", i] => make("instance_get", Some(p), Some(i), None),
        ["v1.0", p, "instances"] => make("instances_list_v1", Some(p), None, None),
        ["v1.0", p, "instances", i] => make("instance_get_v1", Some(p), Some(i), None),
        ["v2", p, "instances", i, "management", "cluster"] => {
            make("kafka_cluster", Some(p), Some(i), None)
        }
        ["v2", p, "instances", i, "management", "coordinators"] => {
            make("kafka_coordinators", Some(p), Some(i), None)
        }
        ["v2", p, "instances", i, "management", "groups", g] => {
            make("kafka_management_group", Some(p), Some(i), Some(g))
        }
        ["v2", p, "instances", i, "management", "topics", t] => {
            make("kafka_topic_detail", Some(p), Some(i), Some(t))
        }
        ["v2", p, "instances", i, "topics"] => make("kafka_topics", Some(p), Some(i), None),
        ["v2", p, "instances", i, "topics", "diskusage"] => {
            make("kafka_diskusage", Some(p), Some(i), None)
        }
        ["v2", p, "instances", i, "groups"] => make("kafka_groups", Some(p), Some(i), None),
        ["v2", p, "instances", i, "groups", g] => make("kafka_group", Some(p), Some(i), Some(g)),
        ["v2", p, "instances", i, "tasks"] => make("tasks", Some(p), Some(i), None),
        ["v2", p, "instances", i, "tasks", t] => make("task_get", Some(p), Some(i), Some(t)),
        ["v2", p, "kafka", i, "tags"] => make("kafka_tags", Some(p), Some(i), None),
        // RocketMQ-only paths; the paths it shares with Kafka are renamed by `engine_route`.
        ["v2", p, "instances", i, "brokers"] => make("rocketmq_brokers", Some(p), Some(i), None),
        ["v2", p, "instances", i, "groups", g, "topics"] => {
            make("rocketmq_group_topics", Some(p), Some(i), Some(g))
        }
        ["v2", "rocketmq", p, "instances", i, "groups", g, "clients"] => {
            make("rocketmq_group_clients", Some(p), Some(i), Some(g))
        }
        ["v2", p, "instances", i, "topics", t] => make("rocketmq_topic", Some(p), Some(i), Some(t)),
        ["v2", p, "instances", i, "topics", t, "status"] => {
            make("rocketmq_topic_status", Some(p), Some(i), Some(t))
        }
        ["v2", p, "instances", i, "topics", t, "groups"] => {
            make("rocketmq_topic_groups", Some(p), Some(i), Some(t))
        }
        ["v2", p, "instances", i, "users"] => make("rocketmq_users", Some(p), Some(i), None),
        ["v2", p, "rocketmq", i, "tags"] => make("rocketmq_tags", Some(p), Some(i), None),
        // RabbitMQ-only paths.
        ["v2", p, "instances", i, "rabbitmq", "plugins"] => {
            make("rabbitmq_plugins", Some(p), Some(i), None)
        }
        ["v2", p, "rabbitmq", i, "tags"] => make("rabbitmq_tags", Some(p), Some(i), None),
        _ => None,
    }
}

/// Paths RocketMQ shares with Kafka are named after the engine of the instance they address,
/// so request counts, faults and the client's `api` label tell the engines apart.
fn engine_route(sim: &Simulator, route: &mut Route) {
    const ROCKETMQ_NAMES: &[(&str, &str)] = &[
        ("kafka_topics", "rocketmq_topics"),
        ("kafka_groups", "rocketmq_groups"),
        ("kafka_group", "rocketmq_group"),
    ];
    let Some(instance_id) = route.instance_id.as_deref() else {
        return;
    };
    if sim.lock().fleet.engine_of(instance_id) != Some("reliability") {
        return;
    }
    if let Some((_, name)) = ROCKETMQ_NAMES
        .iter()
        .find(|(kafka, _)| *kafka == route.endpoint)
    {
        route.endpoint = name;
    }
}

/// Raw query pairs, percent-decoded, in wire order.
fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (dms_sign::decode_path(k), dms_sign::decode_path(v))
        })
        .collect()
}

pub(crate) fn router(sim: Simulator) -> Router {
    crate::control::routes()
        .fallback(api)
        .with_state(sim.clone())
        .layer(axum::middleware::map_response_with_state(
            sim,
            add_request_id,
        ))
}

async fn add_request_id(State(sim): State<Simulator>, mut response: Response) -> Response {
    let n = sim.inner.request_serial.fetch_add(1, Ordering::Relaxed) + 1;
    if let Ok(value) = HeaderValue::from_str(&format!("{n:032x}")) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

fn json_response(
    status: StatusCode,
    body: Vec<u8>,
    headers: &[(&'static str, String)],
) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().insert(*name, value);
        }
    }
    response
}

fn to_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

async fn api(
    State(sim): State<Simulator>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let segments: Vec<String> = uri
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(dms_sign::decode_path)
        .collect();
    let Some(mut route) = route(&method, &segments) else {
        let error = ApiError::dms(404, "DMS.00404001", "The requested URL does not exist.");
        sim.lock().record(RequestRecord {
            endpoint: "unknown",
            status: error.status.as_u16(),
            at: tokio::time::Instant::now(),
            instance_id: None,
        });
        return json_response(error.status, to_bytes(&error.body), &[]);
    };
    engine_route(&sim, &mut route);
    let query = query_pairs(&uri);
    let result = handle(&sim, &route, &method, &uri, &headers, &query, &body).await;
    let response = match result {
        Ok(Outcome::Answer(answer)) => {
            json_response(answer.status, to_bytes(&answer.body), &answer.headers)
        }
        Ok(Outcome::Raw(status, bytes)) => json_response(status, bytes, &[]),
        Err(error) => json_response(error.status, to_bytes(&error.body), &[]),
    };
    sim.lock().record(RequestRecord {
        endpoint: route.endpoint,
        status: response.status().as_u16(),
        at: tokio::time::Instant::now(),
        instance_id: route.instance_id.clone(),
    });
    response
}

enum Outcome {
    Answer(Answer),
    /// A body sent as-is (malformed or truncated).
    Raw(StatusCode, Vec<u8>),
}

async fn handle(
    sim: &Simulator,
    route: &Route,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    query: &[(String, String)],
    body: &[u8],
) -> Result<Outcome, ApiError> {
    if route.endpoint == "iam_tokens" {
        // No DMS authentication here; a faulted request issues no token.
        let fault = take_fault(sim, route);
        fault_before_answer(sim, route, fault.as_ref()).await?;
        let answer = issue_token(sim, body)?;
        return Ok(fault_body(fault.as_ref(), answer));
    }
    authenticate(sim, route, method, uri, headers, query, body)?;
    let fault = take_fault(sim, route);
    fault_before_answer(sim, route, fault.as_ref()).await?;
    let answer = dispatch(sim, route, query)?;
    Ok(fault_body(fault.as_ref(), answer))
}

/// The part of a fault that replaces or delays the answer: errors, latency, stalls.
async fn fault_before_answer(
    sim: &Simulator,
    route: &Route,
    fault: Option<&Fault>,
) -> Result<(), ApiError> {
    match fault {
        None | Some(Fault::Malformed | Fault::Truncated) => Ok(()),
        Some(Fault::Throttle429) => Err(ApiError::dms(
            429,
            "APIGW.0308",
            "The throttling threshold has been reached: policy user over ratelimit,limit:20,time:1 second",
        )),
        Some(Fault::Throttle404) => Err(ApiError::too_frequent()),
        Some(Fault::ServerError(status)) => Err(ApiError::dms(
            *status,
            "DMS.00500000",
            "Internal service error.",
        )),
        Some(Fault::NotFound) => Err(ApiError::instance_not_found()),
        Some(Fault::Unauthorized) => Err(ApiError::apigw_auth("verify aksk signature fail")),
        Some(Fault::Latency(delay)) => {
            tokio::time::sleep(*delay).await;
            Ok(())
        }
        Some(Fault::Stall) => {
            stall(sim, route).await;
            Err(ApiError::dms(
                503,
                "DMS.00500000",
                "Internal service error.",
            ))
        }
    }
}

/// The part of a fault that spoils the body of a real answer.
fn fault_body(fault: Option<&Fault>, answer: Answer) -> Outcome {
    match fault {
        Some(Fault::Malformed) => Outcome::Raw(StatusCode::OK, malformed()),
        Some(Fault::Truncated) => {
            let bytes = to_bytes(&answer.body);
            Outcome::Raw(answer.status, bytes[..bytes.len() / 2].to_vec())
        }
        _ => Outcome::Answer(answer),
    }
}

fn malformed() -> Vec<u8> {
    b"{\"error_code\": <html>502 Bad Gateway</html>".to_vec()
}

/// Never returns until the server shuts down; the stalled request is logged with status 0.
async fn stall(sim: &Simulator, route: &Route) {
    let released = sim.inner.release_stalls.notified();
    sim.lock().record(RequestRecord {
        endpoint: route.endpoint,
        status: 0,
        at: tokio::time::Instant::now(),
        instance_id: route.instance_id.clone(),
    });
    released.await;
}

/// The first matching fault rule, decrementing its remaining count.
fn take_fault(sim: &Simulator, route: &Route) -> Option<Fault> {
    let mut state = sim.lock();
    let index = state.faults.iter().position(|rule| {
        (rule.endpoint == "*" || rule.endpoint == route.endpoint)
            && rule
                .instance_id
                .as_ref()
                .is_none_or(|id| route.instance_id.as_ref() == Some(id))
            && rule.remaining != Some(0)
    })?;
    let rule = &mut state.faults[index];
    let fault = rule.fault.clone();
    if let Some(remaining) = rule.remaining.as_mut() {
        *remaining -= 1;
        if *remaining == 0 {
            state.faults.remove(index);
        }
    }
    Some(fault)
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn authenticate(
    sim: &Simulator,
    route: &Route,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    query: &[(String, String)],
    body: &[u8],
) -> Result<(), ApiError> {
    let config = &sim.inner.config;
    if let Some(token) = header_str(headers, "x-auth-token") {
        let state = sim.lock();
        let Some(Token {
            project_id,
            expires,
        }) = state.tokens.get(token)
        else {
            return Err(ApiError::dms(401, "DMS.10240101", "Invalid token."));
        };
        if tokio::time::Instant::now() >= *expires {
            return Err(ApiError::dms(401, "DMS.10240102", "Expired token."));
        }
        if let Some(path_project) = &route.project_id
            && path_project != project_id
        {
            return Err(ApiError::dms(
                401,
                "DMS.10240104",
                "The project ID and token do not match.",
            ));
        }
        return Ok(());
    }
    let Some(authorization) = header_str(headers, "authorization") else {
        return Err(ApiError::apigw_auth("no authorization header found"));
    };
    let parsed = dms_sign::parse_authorization(authorization)
        .map_err(|_| ApiError::apigw_auth("authorization header is malformed"))?;
    let Some(key) = config
        .credentials
        .iter()
        .find(|k| k.access_key == parsed.access_key)
    else {
        return Err(ApiError::apigw_auth("ak not found"));
    };
    let mut signed: Vec<(String, String)> = Vec::new();
    for name in &parsed.signed_headers {
        let Some(value) = header_str(headers, name) else {
            return Err(ApiError::apigw_auth("verify aksk signature fail"));
        };
        signed.push((name.clone(), value.to_owned()));
    }
    let date = signed
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(dms_sign::SDK_DATE_HEADER))
        .and_then(|(_, value)| dms_sign::parse_sdk_date(value.trim()).ok());
    let Some(date) = date else {
        return Err(ApiError::dms(
            401,
            "APIGW.0303",
            "Incorrect app authentication information: x-sdk-date is missing or invalid",
        ));
    };
    let skew = (time::OffsetDateTime::now_utc() - date).unsigned_abs();
    if skew > config.max_clock_skew {
        return Err(ApiError::dms(
            401,
            "APIGW.0303",
            "Incorrect app authentication information: request expired",
        ));
    }
    let path = dms_sign::decode_path(uri.path());
    let request = dms_sign::SigningRequest {
        method: method.as_str(),
        path: &path,
        query,
        headers: &signed,
        body,
    };
    if !dms_sign::verify(key.secret_key.as_bytes(), &request, &parsed.signature) {
        return Err(ApiError::apigw_auth("verify aksk signature fail"));
    }
    if let Some(path_project) = &route.project_id {
        if !config
            .projects
            .iter()
            .any(|p| &p.project_id == path_project)
        {
            return Err(ApiError::dms(
                403,
                "DMS.10240309",
                "Access denied. You cannot perform operations on DMS.",
            ));
        }
        if let Some(header_project) = header_str(headers, "x-project-id")
            && header_project != path_project
        {
            return Err(ApiError::dms(
                401,
                "DMS.10240104",
                "The project ID and token do not match.",
            ));
        }
    }
    Ok(())
}

fn issue_token(sim: &Simulator, body: &[u8]) -> Result<Answer, ApiError> {
    let config = &sim.inner.config;
    let bad_request = || {
        ApiError::iam(
            400,
            "Bad Request",
            "The request you have made requires authentication.",
        )
    };
    let request: Value = serde_json::from_slice(body).map_err(|_| bad_request())?;
    let auth = &request["auth"];
    let user = &auth["identity"]["password"]["user"];
    let (Some(name), Some(password)) = (user["name"].as_str(), user["password"].as_str()) else {
        return Err(bad_request());
    };
    let domain = user["domain"]["name"].as_str().unwrap_or_default();
    let known = config
        .iam_users
        .iter()
        .any(|u| u.name == name && u.password == password && u.domain == domain);
    if !known {
        return Err(ApiError::iam(
            401,
            "Unauthorized",
            "The username or password is wrong.",
        ));
    }
    let Some(region) = auth["scope"]["project"]["name"].as_str() else {
        return Err(bad_request());
    };
    let Some(project) = config.projects.iter().find(|p| p.region == region) else {
        return Err(ApiError::iam(
            400,
            "Bad Request",
            &format!("Project {region} not found."),
        ));
    };
    let mut state = sim.lock();
    state.token_serial += 1;
    let mut rng = fastrand::Rng::with_seed(config.seed ^ state.token_serial.rotate_left(17));
    let token = format!(
        "MIISim{:08x}{}",
        state.token_serial,
        crate::fleet::hex_id(&mut rng, 56)
    );
    state.tokens.insert(
        token.clone(),
        Token {
            project_id: project.project_id.clone(),
            expires: tokio::time::Instant::now() + config.token_validity,
        },
    );
    drop(state);
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
    )
    .unwrap_or(0);
    let validity_ms = i64::try_from(config.token_validity.as_millis()).unwrap_or(i64::MAX / 4);
    let domain_json = json!({ "id": sim.inner.domain_id, "name": domain });
    Ok(Answer {
        status: StatusCode::CREATED,
        body: json!({
            "token": {
                "expires_at": iso_ms(now_ms.saturating_add(validity_ms)),
                "issued_at": iso_ms(now_ms),
                "methods": ["password"],
                "catalog": [],
                "project": {
                    "id": project.project_id,
                    "name": project.region,
                    "domain": domain_json,
                },
                "user": {
                    "id": format!("{:0>32}", name.len()),
                    "name": name,
                    "domain": domain_json,
                    "password_expires_at": "",
                },
                "roles": [{ "id": "0", "name": "readonly" }],
            }
        }),
        headers: vec![("x-subject-token", token)],
    })
}

pub(crate) fn first<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

pub(crate) fn parse_number(
    query: &[(String, String)],
    name: &str,
) -> Result<Option<usize>, ApiError> {
    first(query, name)
        .map(|v| {
            v.trim()
                .parse::<i64>()
                .map_err(|_| ApiError::bad_parameter())
        })
        .transpose()
        .and_then(|v| match v {
            Some(n) if n < 0 => Err(ApiError::bad_parameter()),
            Some(n) => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
            None => Ok(None),
        })
}

/// `offset` (≥ 0, default 0) and `limit` (1..=50, default 10).
pub(crate) fn page(query: &[(String, String)]) -> Result<(usize, usize), ApiError> {
    let offset = parse_number(query, "offset")?.unwrap_or(0);
    let limit = parse_number(query, "limit")?.unwrap_or(10);
    if !(1..=50).contains(&limit) {
        return Err(ApiError::dms(
            400,
            "DMS.10240042",
            "The number of records on each page for pagination query exceeds the upper limit.",
        ));
    }
    Ok((offset, limit))
}

/// `YYYYMMDDHHmmss` → unix ms.
pub(crate) fn parse_compact_time(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year][month][day][hour][minute][second]");
    time::PrimitiveDateTime::parse(text, format)
        .ok()
        .map(|t| i64::try_from(t.assume_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0))
}

/// The task list's query (R19 Kafka, R5 RabbitMQ): `start` (1-based, default 1), `limit`
/// (default 10), `begin_time` / `end_time` as `YYYYMMDDHHmmss`.
pub(crate) fn task_query(query: &[(String, String)]) -> Result<TaskQuery, ApiError> {
    let time = |name| {
        first(query, name)
            .map(|t| parse_compact_time(t).ok_or_else(ApiError::bad_parameter))
            .transpose()
    };
    Ok(TaskQuery {
        start: parse_number(query, "start")?.unwrap_or(1).max(1),
        limit: parse_number(query, "limit")?.unwrap_or(10).max(1),
        begin_ms: time("begin_time")?,
        end_ms: time("end_time")?,
    })
}

fn dispatch(
    sim: &Simulator,
    route: &Route,
    query: &[(String, String)],
) -> Result<Answer, ApiError> {
    let config = &sim.inner.config;
    let mut state = sim.lock();
    if route.endpoint == "iam_projects" {
        let name = first(query, "name");
        let projects: Vec<Value> = config
            .projects
            .iter()
            .filter(|p| name.is_none_or(|n| n == p.region))
            .map(|p| {
                json!({
                    "id": p.project_id,
                    "name": p.region,
                    "domain_id": sim.inner.domain_id,
                    "enabled": true,
                    "is_domain": false,
                    "parent_id": sim.inner.domain_id,
                    "description": "",
                })
            })
            .collect();
        return Ok(Answer::ok(json!({
            "projects": projects,
            "links": { "self": "https://iam.myhuaweicloud.com/v3/projects", "next": null, "previous": null },
        })));
    }
    let project_id = route.project_id.clone().unwrap_or_default();
    if matches!(route.endpoint, "instances_list" | "instances_list_v1") {
        let engine = first(query, "engine").unwrap_or("kafka");
        let v1 = route.endpoint == "instances_list_v1";
        let id_filter = first(query, if v1 { "id" } else { "instance_id" });
        let exact = first(
            query,
            if v1 {
                "exactMatchName"
            } else {
                "exact_match_name"
            },
        ) == Some("true");
        let name = first(query, "name");
        let status = first(query, "status");
        let (offset, limit) = if v1 {
            // Undocumented V1 paging seen in the examples: `start` (1-based) and `limit`.
            let start = parse_number(query, "start")?.unwrap_or(1).max(1);
            let limit = parse_number(query, "limit")?.unwrap_or(10);
            if !(1..=50).contains(&limit) {
                return Err(ApiError::dms(
                    400,
                    "DMS.10240042",
                    "The number of records on each page for pagination query exceeds the upper limit.",
                ));
            }
            (start - 1, limit)
        } else {
            page(query)?
        };
        let fleet = &state.fleet;
        // (id, project, name, status, rendering) of every instance of the asked engine.
        type Listed<'a> = (
            &'a str,
            &'a str,
            &'a str,
            &'a str,
            Box<dyn Fn() -> Value + 'a>,
        );
        let mut all: Vec<Listed<'_>> = Vec::new();
        if engine.eq_ignore_ascii_case("kafka") {
            all.extend(fleet.instances.values().map(|i| -> Listed<'_> {
                (
                    &i.id,
                    &i.project_id,
                    &i.name,
                    &i.status,
                    Box::new(move || if v1 { i.show_v1(fleet) } else { i.show(fleet) }),
                )
            }));
        }
        if engine.eq_ignore_ascii_case("reliability") {
            all.extend(fleet.rocketmq.values().map(|i| -> Listed<'_> {
                (
                    &i.id,
                    &i.project_id,
                    &i.name,
                    &i.status,
                    Box::new(move || if v1 { i.show_v1() } else { i.show() }),
                )
            }));
        }
        if engine.eq_ignore_ascii_case("rabbitmq") {
            all.extend(fleet.rabbitmq.values().map(|i| -> Listed<'_> {
                (
                    &i.id,
                    &i.project_id,
                    &i.name,
                    &i.status,
                    Box::new(move || if v1 { i.show_v1() } else { i.show() }),
                )
            }));
        }
        all.sort_by(|a, b| a.0.cmp(b.0));
        let matching: Vec<_> = all
            .into_iter()
            .filter(|(_, project, ..)| *project == project_id)
            .filter(|(id, ..)| id_filter.is_none_or(|wanted| *id == wanted))
            .filter(|(_, _, instance_name, ..)| {
                name.is_none_or(|n| {
                    if exact {
                        *instance_name == n
                    } else {
                        instance_name.contains(n)
                    }
                })
            })
            .filter(|(_, _, _, instance_status, _)| {
                status.is_none_or(|s| instance_status.eq_ignore_ascii_case(s))
            })
            .collect();
        let instances: Vec<Value> = matching
            .iter()
            .skip(offset)
            .take(limit)
            .map(|(.., render)| render())
            .collect();
        return Ok(Answer::ok(
            json!({ "instances": instances, "instance_num": matching.len() }),
        ));
    }
    let instance_id = route.instance_id.clone().unwrap_or_default();
    // Topic-detail flow control: at most one call per interval per instance.
    if route.endpoint == "kafka_topic_detail" && !config.topic_detail_interval.is_zero() {
        let exists = state
            .fleet
            .instances
            .get(&instance_id)
            .is_some_and(|i| i.project_id == project_id);
        if exists {
            let now = tokio::time::Instant::now();
            if let Some(last) = state.topic_detail_last.get(&instance_id)
                && now.duration_since(*last) < config.topic_detail_interval
            {
                return Err(ApiError::too_frequent());
            }
            state.topic_detail_last.insert(instance_id.clone(), now);
        }
    }
    let fleet = &state.fleet;
    let item = route.item.as_deref().unwrap_or_default();
    if let Some(instance) = fleet.rocketmq.get(&instance_id) {
        if instance.project_id != project_id {
            return Err(ApiError::instance_not_found());
        }
        return crate::rocketmq::dispatch(instance, route.endpoint, item, query).map(Answer::ok);
    }
    if let Some(instance) = fleet.rabbitmq.get(&instance_id) {
        if instance.project_id != project_id {
            return Err(ApiError::instance_not_found());
        }
        return crate::rabbitmq::dispatch(instance, route.endpoint, item, query).map(Answer::ok);
    }
    let instance = fleet
        .instances
        .get(&instance_id)
        .filter(|i| i.project_id == project_id)
        .ok_or_else(ApiError::instance_not_found)?;
    let group_not_found = || {
        ApiError::dms(
            404,
            "DMS.10240405",
            "The consumption group ID is incorrect or not found.",
        )
    };
    let body = match route.endpoint {
        "instance_get" => instance.show(fleet),
        "instance_get_v1" => instance.show_v1(fleet),
        "kafka_cluster" => instance.cluster(),
        "kafka_coordinators" => instance.coordinators(),
        "kafka_topics" => instance.topics_list(),
        "kafka_topic_detail" => instance.topic_detail(item).ok_or_else(|| {
            ApiError::dms(
                404,
                "DMS.10240401",
                "The queue ID is incorrect or not found.",
            )
        })?,
        "kafka_diskusage" => {
            let min_size = match first(query, "minSize") {
                Some(text) => parse_size(text).ok_or_else(ApiError::bad_parameter)?,
                None => crate::fleet::GIB,
            };
            let top = parse_number(query, "top")?;
            let percentage = first(query, "percentage")
                .map(|p| {
                    p.trim()
                        .parse::<f64>()
                        .map_err(|_| ApiError::bad_parameter())
                })
                .transpose()?;
            instance.disk_usage(&DiskQuery {
                min_size,
                top,
                percentage,
            })
        }
        "kafka_groups" => {
            let (offset, limit) = page(query)?;
            instance.groups_list(offset, limit, first(query, "group"))
        }
        "kafka_group" => instance
            .group_detail(item, false)
            .ok_or_else(group_not_found)?,
        "kafka_management_group" => instance
            .group_detail(item, true)
            .ok_or_else(group_not_found)?,
        "tasks" => instance.tasks_list(fleet, &task_query(query)?),
        "task_get" => instance.task(fleet, item).ok_or_else(|| {
            ApiError::dms(404, "DMS.00404001", "The requested URL does not exist.")
        })?,
        "kafka_tags" => instance.tags(),
        _ => {
            return Err(ApiError::dms(
                404,
                "DMS.00404001",
                "The requested URL does not exist.",
            ));
        }
    };
    Ok(Answer::ok(body))
}

/// Per-endpoint counts as JSON (for `GET /_sim/requests`).
pub(crate) fn counts_json(counts: &BTreeMap<String, u64>) -> Value {
    json!(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(path: &str) -> Vec<String> {
        path.split('/')
            .filter(|s| !s.is_empty())
            .map(dms_sign::decode_path)
            .collect()
    }

    #[test]
    fn routes_resolve_to_endpoint_names() {
        let cases = [
            ("/v2/p/instances", "instances_list"),
            ("/v2/p/instances/i", "instance_get"),
            ("/v1.0/p/instances", "instances_list_v1"),
            ("/v1.0/p/instances/i", "instance_get_v1"),
            ("/v2/p/instances/i/management/cluster", "kafka_cluster"),
            (
                "/v2/p/instances/i/management/coordinators",
                "kafka_coordinators",
            ),
            (
                "/v2/p/instances/i/management/groups/g",
                "kafka_management_group",
            ),
            (
                "/v2/p/instances/i/management/topics/t",
                "kafka_topic_detail",
            ),
            ("/v2/p/instances/i/topics", "kafka_topics"),
            ("/v2/p/instances/i/topics/diskusage", "kafka_diskusage"),
            ("/v2/p/instances/i/groups", "kafka_groups"),
            ("/v2/p/instances/i/groups/g", "kafka_group"),
            ("/v2/p/instances/i/tasks", "tasks"),
            ("/v2/p/instances/i/tasks/t", "task_get"),
            ("/v2/p/kafka/i/tags", "kafka_tags"),
            ("/v3/projects", "iam_projects"),
        ];
        for (path, name) in cases {
            let route = route(&Method::GET, &segments(path)).map(|r| r.endpoint);
            assert_eq!(route, Some(name), "{path}");
            assert!(crate::ENDPOINTS.contains(&name));
        }
        let tokens = route(&Method::POST, &segments("/v3/auth/tokens")).map(|r| r.endpoint);
        assert_eq!(tokens, Some("iam_tokens"));
        assert!(route(&Method::DELETE, &segments("/v2/p/instances/i")).is_none());
        let group = route(
            &Method::GET,
            &segments("/v2/p/instances/i/groups/a%20b%2Fc"),
        );
        assert_eq!(group.and_then(|r| r.item).as_deref(), Some("a b/c"));
    }

    #[test]
    fn query_pairs_are_decoded() {
        let uri: Uri = "/x?name=a%20b&empty=&flag&limit=10".parse().expect("uri");
        assert_eq!(
            query_pairs(&uri),
            vec![
                ("name".to_owned(), "a b".to_owned()),
                ("empty".to_owned(), String::new()),
                ("flag".to_owned(), String::new()),
                ("limit".to_owned(), "10".to_owned()),
            ]
        );
    }
}
