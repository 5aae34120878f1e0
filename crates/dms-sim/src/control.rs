//! The HTTP control API under `/_sim/` (no authentication): the same operations as the
//! Rust-level control methods of [`Simulator`].

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::{FaultRule, Simulator};

pub(crate) fn routes() -> Router<Simulator> {
    Router::new()
        .route("/_sim/state", get(state))
        .route("/_sim/step", post(step))
        .route("/_sim/faults", post(add_fault).delete(clear_faults))
        .route("/_sim/instances", post(create_instance))
        .route("/_sim/instances/{id}", delete(delete_instance))
        .route("/_sim/instances/{id}/status", put(set_status))
        .route(
            "/_sim/instances/{id}/groups/{group}/consumer",
            put(set_consumer),
        )
        .route("/_sim/instances/{id}/groups/{group}", delete(delete_group))
        .route(
            "/_sim/instances/{id}/groups/{group}/rewind",
            post(rewind_group),
        )
        .route(
            "/_sim/instances/{id}/groups/{group}/commits",
            put(set_commits),
        )
        .route(
            "/_sim/instances/{id}/groups/{group}/overtake",
            post(overtake_group),
        )
        .route("/_sim/instances/{id}/topics/{topic}", delete(delete_topic))
        .route(
            "/_sim/instances/{id}/topics/{topic}/retention",
            put(set_retention),
        )
        .route("/_sim/instances/{id}/brokers/{broker}", put(set_broker))
        .route("/_sim/instances/{id}/disk", put(fill_disk))
        .route("/_sim/instances/{id}/tasks", post(add_task))
        .route("/_sim/instances/{id}/tasks/{task_id}", delete(delete_task))
        .route(
            "/_sim/instances/{id}/plugins/{plugin}",
            put(set_plugin_running),
        )
        .route(
            "/_sim/instances/{id}/vhosts/{vhost}/queues",
            post(add_queues),
        )
        .route(
            "/_sim/instances/{id}/vhosts/{vhost}/queues/{queue}/consumers",
            put(set_queue_consumers),
        )
        .route(
            "/_sim/instances/{id}/vhosts/{vhost}/queues/{queue}/messages",
            put(set_queue_messages),
        )
        .route("/_sim/tokens/expire", post(expire_tokens))
        .route("/_sim/requests", get(requests))
        .route("/_sim/ces/points", get(ces_points))
}

fn found(ok: bool) -> Response {
    if ok {
        (StatusCode::OK, Json(json!({"ok": true}))).into_response()
    } else {
        (StatusCode::NOT_FOUND, Json(json!({"ok": false}))).into_response()
    }
}

async fn state(State(sim): State<Simulator>) -> Response {
    Json(sim.state_summary()).into_response()
}

#[derive(Deserialize)]
struct StepQuery {
    count: Option<u32>,
}

async fn step(State(sim): State<Simulator>, Query(query): Query<StepQuery>) -> Response {
    let count = query.count.unwrap_or(1);
    for _ in 0..count {
        sim.step();
    }
    Json(json!({"ok": true, "now_ms": sim.now_ms()})).into_response()
}

async fn add_fault(State(sim): State<Simulator>, Json(rule): Json<FaultRule>) -> Response {
    sim.set_fault(rule);
    found(true)
}

async fn clear_faults(State(sim): State<Simulator>) -> Response {
    sim.clear_faults();
    found(true)
}

#[derive(Deserialize)]
struct NewInstance {
    project_id: String,
    name: String,
}

async fn create_instance(State(sim): State<Simulator>, Json(body): Json<NewInstance>) -> Response {
    let id = sim.create_kafka_instance(&body.project_id, &body.name);
    (StatusCode::CREATED, Json(json!({"instance_id": id}))).into_response()
}

async fn delete_instance(State(sim): State<Simulator>, Path(id): Path<String>) -> Response {
    found(sim.delete_instance(&id))
}

#[derive(Deserialize)]
struct StatusBody {
    status: String,
}

async fn set_status(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    Json(body): Json<StatusBody>,
) -> Response {
    found(sim.set_instance_status(&id, &body.status))
}

#[derive(Deserialize)]
struct ConsumerBody {
    running: bool,
}

async fn set_consumer(
    State(sim): State<Simulator>,
    Path((id, group)): Path<(String, String)>,
    Json(body): Json<ConsumerBody>,
) -> Response {
    found(sim.set_consumer_running(&id, &group, body.running))
}

#[derive(Deserialize)]
struct MessagesBody {
    messages: u64,
}

/// Moves the group's committed offsets `messages` back on every partition or queue.
async fn rewind_group(
    State(sim): State<Simulator>,
    Path((id, group)): Path<(String, String)>,
    Json(body): Json<MessagesBody>,
) -> Response {
    found(sim.rewind_group(&id, &group, body.messages))
}

#[derive(Deserialize)]
struct CommitsBody {
    paused: bool,
}

/// The group's members (online consumers) stay but commit nothing (`paused: true`) or resume.
async fn set_commits(
    State(sim): State<Simulator>,
    Path((id, group)): Path<(String, String)>,
    Json(body): Json<CommitsBody>,
) -> Response {
    found(sim.set_commits_paused(&id, &group, body.paused))
}

/// Kafka: retention deletes `messages` beyond the group's committed offsets.
async fn overtake_group(
    State(sim): State<Simulator>,
    Path((id, group)): Path<(String, String)>,
    Json(body): Json<MessagesBody>,
) -> Response {
    found(sim.overtake_group(&id, &group, body.messages))
}

async fn delete_group(
    State(sim): State<Simulator>,
    Path((id, group)): Path<(String, String)>,
) -> Response {
    found(sim.delete_group(&id, &group))
}

async fn delete_topic(
    State(sim): State<Simulator>,
    Path((id, topic)): Path<(String, String)>,
) -> Response {
    found(sim.delete_topic(&id, &topic))
}

#[derive(Deserialize)]
struct RetentionBody {
    hours: u64,
}

/// Kafka: the topic's retention, hours.
async fn set_retention(
    State(sim): State<Simulator>,
    Path((id, topic)): Path<(String, String)>,
    Json(body): Json<RetentionBody>,
) -> Response {
    found(sim.set_topic_retention(&id, &topic, body.hours))
}

#[derive(Deserialize)]
struct BrokerBody {
    up: bool,
}

async fn set_broker(
    State(sim): State<Simulator>,
    Path((id, broker)): Path<(String, u32)>,
    Json(body): Json<BrokerBody>,
) -> Response {
    found(sim.set_broker_up(&id, broker, body.up))
}

#[derive(Deserialize)]
struct DiskBody {
    used_ratio: f64,
}

async fn fill_disk(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    Json(body): Json<DiskBody>,
) -> Response {
    found(sim.fill_disk(&id, body.used_ratio))
}

#[derive(Deserialize)]
struct TaskBody {
    name: String,
    status: String,
    /// How long ago the task started.
    #[serde(default)]
    age_seconds: u64,
}

async fn add_task(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    Json(body): Json<TaskBody>,
) -> Response {
    let age = std::time::Duration::from_secs(body.age_seconds);
    match sim.add_task_aged(&id, &body.name, &body.status, age) {
        Some(task_id) => (StatusCode::CREATED, Json(json!({"task_id": task_id}))).into_response(),
        None => found(false),
    }
}

async fn delete_task(
    State(sim): State<Simulator>,
    Path((id, task_id)): Path<(String, String)>,
) -> Response {
    found(sim.delete_task(&id, &task_id))
}

#[derive(Deserialize)]
struct PluginBody {
    running: bool,
}

async fn set_plugin_running(
    State(sim): State<Simulator>,
    Path((id, plugin)): Path<(String, String)>,
    Json(body): Json<PluginBody>,
) -> Response {
    found(sim.set_plugin_running(&id, &plugin, body.running))
}

/// A vhost in a control path: `%2F` or `__F_SLASH__` for each `/`, as in the API.
fn vhost_name(path: &str) -> String {
    path.replace(crate::rabbitmq::depth::SLASH, "/")
}

async fn set_queue_consumers(
    State(sim): State<Simulator>,
    Path((id, vhost, queue)): Path<(String, String, String)>,
    Json(body): Json<ConsumerBody>,
) -> Response {
    found(sim.set_queue_consumers_running(&id, &vhost_name(&vhost), &queue, body.running))
}

async fn set_queue_messages(
    State(sim): State<Simulator>,
    Path((id, vhost, queue)): Path<(String, String, String)>,
    Json(body): Json<MessagesBody>,
) -> Response {
    found(sim.set_queue_messages(&id, &vhost_name(&vhost), &queue, body.messages))
}

#[derive(Deserialize)]
struct NewQueues {
    count: usize,
    #[serde(default = "bulk_prefix")]
    prefix: String,
}

fn bulk_prefix() -> String {
    "bulk".to_owned()
}

async fn add_queues(
    State(sim): State<Simulator>,
    Path((id, vhost)): Path<(String, String)>,
    Json(body): Json<NewQueues>,
) -> Response {
    found(sim.add_queues(&id, &vhost_name(&vhost), &body.prefix, body.count))
}

async fn expire_tokens(State(sim): State<Simulator>) -> Response {
    sim.expire_tokens();
    found(true)
}

async fn requests(State(sim): State<Simulator>) -> Response {
    Json(sim.request_counts()).into_response()
}

/// `?metric=NAME&dim.0=key,value…`: every raw CES point recorded for the series, visible yet
/// or not (`visible_from` `null` for a series without datapoints): the truth a test of a
/// separate process compares its CES readings with.
async fn ces_points(State(sim): State<Simulator>, uri: axum::http::Uri) -> Response {
    let query = crate::query::query_pairs(&uri);
    let Some(metric) = crate::query::first(&query, "metric") else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "metric is required"})),
        )
            .into_response();
    };
    let dimensions: Vec<(&str, &str)> = ["dim.0", "dim.1", "dim.2", "dim.3"]
        .iter()
        .filter_map(|name| crate::query::first(&query, name))
        .filter_map(|pair| pair.split_once(','))
        .collect();
    let points: Vec<serde_json::Value> = sim
        .ces_points(metric, &dimensions)
        .iter()
        .map(
            |p| json!({"timestamp": p.timestamp, "value": p.value, "visible_from": p.visible_from}),
        )
        .collect();
    Json(json!({ "points": points })).into_response()
}
