//! RabbitMQ depth (Huawei SDK; beyond the seed): every SDK-model fixture
//! (`fixtures/api/rabbitmq/sdk_*.json`) has the fields and JSON types of the simulator's answer
//! on the SDK's path; vhost paths, SDK paging, and the control API's consumers and floods.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

use crate::fidelity_rabbitmq::{fixture, rabbit};

/// Queue `arguments` hold only what was set: each key the simulator sends must be one of the
/// SDK's `QueueArguments` with its type; the rest of the queue is compared whole.
fn assert_queue_shape(name: &str, example: &Value, actual: &Value) {
    let mut example = example.clone();
    let known = example["arguments"].take();
    let mut actual = actual.clone();
    let sent = actual["arguments"].take();
    assert_shape(name, &example, &actual);
    let sent = sent.as_object().expect("arguments is an object");
    for (key, value) in sent {
        let documented = known
            .get(key)
            .unwrap_or_else(|| panic!("{name}: argument {key}"));
        assert_eq!(kind(documented), kind(value), "{name}: argument {key}");
    }
}

#[tokio::test(start_paused = true)]
async fn sdk_models_have_the_simulators_fields_and_types() {
    let sim = sim();
    let id = rabbit(&sim);
    let base = format!("/v2/rabbitmq/{PROJECT}/instances/{id}");

    let vhosts = get_ok(&sim, &format!("{base}/vhosts"), &[("limit", "50")]).await;
    assert_shape("vhosts", &fixture("sdk_vhosts.json"), &vhosts);
    let names: Vec<&str> = vhosts["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    assert_eq!(names, ["/", "/staging", "billing"], "the cluster has three");

    let example_list = fixture("sdk_queues.json");
    let queues = get_ok(&sim, &format!("{base}/vhosts/__F_SLASH__/queues"), &[]).await;
    let mut list_shape = example_list.clone();
    list_shape["items"] = json!([]);
    let mut bare = queues.clone();
    bare["items"] = json!([]);
    assert_shape("queues", &list_shape, &bare);
    for queue in queues["items"].as_array().expect("items") {
        assert_queue_shape("queue item", &example_list["items"][0], queue);
        assert_eq!(queue["vhost"], "/");
    }

    let detail = get_ok(
        &sim,
        &format!("{base}/vhosts/__F_SLASH__/queues/orders.created"),
        &[],
    )
    .await;
    let example = fixture("sdk_queue.json");
    assert_queue_shape("queue detail", &example, &detail);
    assert_eq!(detail["consumer_details"].as_array().map(Vec::len), Some(2));
    assert!(
        detail["queue_bindings"]
            .as_array()
            .is_some_and(|b| b.iter().any(|b| b["source"] == "orders")),
        "{detail}"
    );

    let exchanges = get_ok(&sim, &format!("{base}/vhosts/billing/exchanges"), &[]).await;
    assert_shape("exchanges", &fixture("sdk_exchanges.json"), &exchanges);
    assert_eq!(exchanges["total"], 8, "seven built in and dlx");

    let users = get_ok(&sim, &format!("/v2/{PROJECT}/instances/{id}/users"), &[]).await;
    assert_shape("users", &fixture("sdk_users.json"), &users);
    assert_eq!(users["total"], 2);

    let quotas = get_ok(&sim, &format!("/v2/{PROJECT}/quotas"), &[]).await;
    assert_shape("quotas", &fixture("sdk_quotas.json"), &quotas);
    let rabbit_quota = quotas["quotas"]["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["type"] == "rabbitmqInstance"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(rabbit_quota["used"], 1, "{quotas}");

    // Only the endpoints' own names are counted.
    let counts = sim.request_counts();
    for endpoint in [
        "rabbitmq_vhosts",
        "rabbitmq_queues",
        "rabbitmq_queue",
        "rabbitmq_exchanges",
        "rabbitmq_users",
        "quotas",
    ] {
        assert_eq!(counts.get(endpoint), Some(&1), "{endpoint}: {counts:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn vhost_paths_and_paging_follow_the_sdk() {
    let sim = sim();
    let id = rabbit(&sim);
    let base = format!("/v2/rabbitmq/{PROJECT}/instances/{id}/vhosts");
    let staging = get_ok(&sim, &format!("{base}/__F_SLASH__staging/queues"), &[]).await;
    assert_eq!(staging["total"], 1);
    assert_eq!(staging["items"][0]["vhost"], "/staging");
    let raw = get(&sim, &format!("{base}/%2F/queues"), &[]).await;
    assert_eq!(raw.status, StatusCode::NOT_FOUND, "a raw / is refused");
    let missing = get(&sim, &format!("{base}/nowhere/queues"), &[]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let added = send_json(
        &sim,
        "POST",
        &format!("/_sim/instances/{id}/vhosts/billing/queues"),
        Some(json!({"count": 120})),
    )
    .await;
    assert_eq!(added.status, StatusCode::OK);
    let path = format!("{base}/billing/queues");
    let first = get_ok(&sim, &path, &[("limit", "50")]).await;
    assert_eq!(
        (first["size"].clone(), first["total"].clone()),
        (json!(50), json!(122))
    );
    let default = get_ok(&sim, &path, &[]).await;
    assert_eq!(default["size"], 10, "the SDK's default limit");
    let last = get_ok(&sim, &path, &[("offset", "100"), ("limit", "50")]).await;
    assert_eq!(last["size"], 22);
    let too_many = get(&sim, &path, &[("limit", "51")]).await;
    assert_eq!(too_many.status, StatusCode::BAD_REQUEST);
}

fn depth_of(sim: &dms_sim::Simulator, vhost: &str, queue: &str) -> (u64, u64) {
    let state = sim.state_summary();
    let q = &state["rabbitmq"][0]["depth"]["vhosts"][vhost]["queues"][queue];
    (
        q["messages"].as_u64().expect("messages"),
        q["consumers"].as_u64().expect("consumers"),
    )
}

#[tokio::test(start_paused = true)]
async fn stopped_consumers_let_a_queue_grow_and_a_flood_sets_its_depth() {
    let sim = sim();
    let id = rabbit(&sim);
    let control = format!("/_sim/instances/{id}/vhosts/__F_SLASH__/queues/orders.created");
    let stop = send_json(
        &sim,
        "PUT",
        &format!("{control}/consumers"),
        Some(json!({"running": false})),
    )
    .await;
    assert_eq!(stop.status, StatusCode::OK);
    let (before, consumers) = depth_of(&sim, "/", "orders.created");
    assert_eq!(consumers, 0);
    for _ in 0..5 {
        sim.step();
    }
    let (after, _) = depth_of(&sim, "/", "orders.created");
    assert!(after >= before + 5, "{before} -> {after}");
    let listed = get_ok(
        &sim,
        &format!("/v2/rabbitmq/{PROJECT}/instances/{id}/vhosts/__F_SLASH__/queues"),
        &[],
    )
    .await;
    let item = listed["items"]
        .as_array()
        .and_then(|items| items.iter().find(|q| q["name"] == "orders.created"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (item["messages"].as_u64(), item["consumers"].as_u64()),
        (Some(after), Some(0))
    );

    let flood = send_json(
        &sim,
        "PUT",
        &format!("{control}/messages"),
        Some(json!({"messages": 1_000_000})),
    )
    .await;
    assert_eq!(flood.status, StatusCode::OK);
    assert_eq!(depth_of(&sim, "/", "orders.created").0, 1_000_000);
    let restart = send_json(
        &sim,
        "PUT",
        &format!("{control}/consumers"),
        Some(json!({"running": true})),
    )
    .await;
    assert_eq!(restart.status, StatusCode::OK);
    assert_eq!(depth_of(&sim, "/", "orders.created").1, 2);
    let unknown = send_json(
        &sim,
        "PUT",
        &format!("/_sim/instances/{id}/vhosts/__F_SLASH__/queues/none/messages"),
        Some(json!({"messages": 1})),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}
