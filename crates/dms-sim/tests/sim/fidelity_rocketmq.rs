//! RocketMQ fidelity and behaviour: the simulator's answers have the field names and JSON types
//! of every documented example (and of the SDK-model fixtures), and its state is consistent
//! across endpoints (lag = broker offset - consumer offset, broker offset = topic max offset).

use dms_sim::{SimConfig, Simulator};
use serde_json::Value;

use crate::common::*;

fn rocket_fixture(name: &str) -> Value {
    let path = format!(
        "{}/../../fixtures/api/rocketmq/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn assert_shape(name: &str, example: &Value, actual: &Value) {
    let mut errors = Vec::new();
    same_shape(example, actual, "$", &mut errors);
    assert!(
        errors.is_empty(),
        "{name}: response differs from the example:\n  {}\nresponse: {actual}",
        errors.join("\n  ")
    );
}

/// Two RocketMQ instances: one broker with ACL, two brokers without.
fn two_instance_sim() -> Simulator {
    let mut config = SimConfig::deterministic();
    config.fleet.rocketmq_instances = 2;
    Simulator::new(config)
}

/// (project, instance) of every RocketMQ instance.
async fn rocket_instances(sim: &Simulator) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for project in [PROJECT, PROJECT2] {
        let list = get_ok(
            sim,
            &format!("/v2/{project}/instances"),
            &[("engine", "reliability")],
        )
        .await;
        for i in list["instances"].as_array().cloned().unwrap_or_default() {
            out.push((project.to_owned(), i));
        }
    }
    out
}

#[tokio::test]
async fn every_rocketmq_example_has_the_same_shape() {
    let sim = two_instance_sim();
    let instances = rocket_instances(&sim).await;
    assert_eq!(instances.len(), 2);
    let mut status_shapes = Vec::new();
    let mut acl_seen = false;
    for (project, instance) in &instances {
        let id = instance["instance_id"].as_str().expect("id");
        let base = format!("/v2/{project}/instances/{id}");
        let list = get_ok(
            &sim,
            &format!("/v2/{project}/instances"),
            &[("engine", "reliability"), ("instance_id", id)],
        )
        .await;
        assert_shape("2.1", &rocket_fixture("instances.json"), &list);
        let one = get_ok(&sim, &base, &[]).await;
        assert_shape("2.2", &rocket_fixture("instance.json"), &one);
        assert_eq!(&one, instance, "detail equals the list entry");

        let brokers = get_ok(&sim, &format!("{base}/brokers"), &[]).await;
        assert_shape("2.3", &rocket_fixture("brokers.json"), &brokers);
        let groups = get_ok(&sim, &format!("{base}/groups"), &[]).await;
        assert_shape("2.4", &rocket_fixture("groups.json"), &groups);
        let group = groups["groups"][0]["name"].as_str().expect("a group");
        let detail = get_ok(&sim, &format!("{base}/groups/{group}"), &[]).await;
        assert_shape("2.5", &rocket_fixture("group.json"), &detail);

        // §2.6's example shows the list and the detail in one body; compare each half.
        let example = rocket_fixture("group_topics.json");
        let topics = get_ok(&sim, &format!("{base}/groups/{group}/topics"), &[]).await;
        let list_half =
            serde_json::json!({ "topics": example["topics"], "total": example["total"] });
        assert_shape("2.6 list", &list_half, &topics);
        let topic = topics["topics"][0].as_str().expect("a topic");
        let lag = get_ok(
            &sim,
            &format!("{base}/groups/{group}/topics"),
            &[("topic", topic)],
        )
        .await;
        let detail_half = serde_json::json!({ "brokers": example["brokers"] });
        assert_shape("2.6 detail", &detail_half, &lag);

        let t = get_ok(&sim, &format!("{base}/topics/{topic}"), &[]).await;
        assert_shape("2.7", &rocket_fixture("topic.json"), &t);
        let tg = get_ok(&sim, &format!("{base}/topics/{topic}/groups"), &[]).await;
        assert_shape("2.8", &rocket_fixture("topic_groups.json"), &tg);
        let status = get_ok(&sim, &format!("{base}/topics/{topic}/status"), &[]).await;
        let fixture = if status["brokers"].is_array() {
            "topic_status_array.json"
        } else {
            "topic_status.json"
        };
        status_shapes.push(fixture);
        assert_shape("2.9", &rocket_fixture(fixture), &status);

        if one["enable_acl"] == Value::Bool(true) {
            acl_seen = true;
            let users = get_ok(
                &sim,
                &format!("{base}/users"),
                &[("offset", "0"), ("limit", "10")],
            )
            .await;
            assert_shape("2.13", &rocket_fixture("users.json"), &users);
        }

        let all_topics = get_ok(&sim, &format!("{base}/topics"), &[]).await;
        assert_shape(
            "SDK topics",
            &rocket_fixture("sdk_topics.json"),
            &all_topics,
        );
        let running = groups["groups"]
            .as_array()
            .and_then(|g| g.iter().find(|g| g["name"] == "group-orders"))
            .and_then(|g| g["name"].as_str())
            .expect("group-orders");
        let clients = get_ok(
            &sim,
            &format!("/v2/rocketmq/{project}/instances/{id}/groups/{running}/clients"),
            &[],
        )
        .await;
        assert_shape(
            "SDK clients",
            &rocket_fixture("sdk_group_clients.json"),
            &clients,
        );
        let tags = get_ok(&sim, &format!("/v2/{project}/rocketmq/{id}/tags"), &[]).await;
        assert_shape("SDK tags", &rocket_fixture("sdk_tags.json"), &tags);
        let tasks = get_ok(&sim, &format!("{base}/tasks"), &[("start", "1")]).await;
        assert_shape("SDK tasks", &rocket_fixture("sdk_tasks.json"), &tasks);
        let task_id = tasks["tasks"][0]["id"].as_str().expect("a task");
        let task = get_ok(&sim, &format!("{base}/tasks/{task_id}"), &[]).await;
        assert_shape("SDK task", &rocket_fixture("sdk_tasks.json"), &task);
    }
    status_shapes.sort();
    assert_eq!(
        status_shapes,
        ["topic_status.json", "topic_status_array.json"],
        "both documented shapes of topic status are served"
    );
    assert!(acl_seen, "one instance has ACL users");
}

/// The documented type of every `ShowInstanceResp` field (rocketmq.md §2.1, 51 fields).
const SHOW_INSTANCE_TYPES: &[(&str, &str)] = &[
    ("name", "s"),
    ("engine", "s"),
    ("status", "s"),
    ("description", "s"),
    ("type", "s"),
    ("specification", "s"),
    ("engine_version", "s"),
    ("instance_id", "s"),
    ("charging_mode", "i"),
    ("vpc_id", "s"),
    ("vpc_name", "s"),
    ("created_at", "s"),
    ("product_id", "s"),
    ("security_group_id", "s"),
    ("security_group_name", "s"),
    ("subnet_id", "s"),
    ("subnet_name", "s"),
    ("subnet_cidr", "s"),
    ("available_zones", "a"),
    ("user_id", "s"),
    ("user_name", "s"),
    ("maintain_begin", "s"),
    ("maintain_end", "s"),
    ("enable_log_collection", "b"),
    ("storage_space", "i"),
    ("used_storage_space", "i"),
    ("enable_publicip", "b"),
    ("publicip_id", "s"),
    ("publicip_address", "s"),
    ("ssl_enable", "b"),
    ("cross_vpc_info", "s"),
    ("storage_resource_id", "s"),
    ("storage_spec_code", "s"),
    ("service_type", "s"),
    ("storage_type", "s"),
    ("extend_times", "i"),
    ("ipv6_enable", "b"),
    ("support_features", "s"),
    ("disk_encrypted", "b"),
    ("ces_version", "s"),
    ("node_num", "i"),
    ("new_spec_billing_enable", "b"),
    ("enable_acl", "b"),
    ("broker_num", "i"),
    ("namesrv_address", "s"),
    ("broker_address", "s"),
    ("public_namesrv_address", "s"),
    ("public_broker_address", "s"),
    ("tags", "a"),
    ("total_storage_space", "i"),
    ("resource_spec_code", "s"),
];

#[tokio::test]
async fn instance_objects_have_every_documented_field() {
    assert_eq!(SHOW_INSTANCE_TYPES.len(), 51);
    let sim = two_instance_sim();
    for (_, instance) in rocket_instances(&sim).await {
        let object = instance.as_object().expect("object");
        assert_eq!(object.len(), 51, "exactly the documented fields");
        for (field, kind) in SHOW_INSTANCE_TYPES {
            let value = &instance[*field];
            let ok = match *kind {
                "s" => value.is_string(),
                "i" => value.is_i64() || value.is_u64(),
                "b" => value.is_boolean(),
                _ => value.is_array(),
            };
            assert!(ok, "{field}: documented {kind}, got {value}");
        }
        assert!(
            instance["created_at"]
                .as_str()
                .is_some_and(|s| s.parse::<i64>().is_ok())
        );
        assert_eq!(instance["status"], "RUNNING");
    }
}

/// Σ over every queue the group consumes of (lag, broker offset - consumer offset), and the
/// topic status max offsets must equal the broker offsets; the group's last consumed message is
/// never stored after the queue's newest, and is the newest when the queue is caught up. Also
/// returns the largest difference of the two times over the queues, seconds.
async fn check_consistency(sim: &Simulator, base: &str, group: &str) -> (i64, f64) {
    let topics = get_ok(sim, &format!("{base}/groups/{group}/topics"), &[]).await;
    let mut total = 0;
    let mut lag_ms = 0;
    for topic in topics["topics"].as_array().expect("topics") {
        let topic = topic.as_str().expect("name");
        let lag = get_ok(
            sim,
            &format!("{base}/groups/{group}/topics"),
            &[("topic", topic)],
        )
        .await;
        let status = get_ok(sim, &format!("{base}/topics/{topic}/status"), &[]).await;
        let status_brokers = match &status["brokers"] {
            Value::Array(a) => a.clone(),
            one => vec![one.clone()],
        };
        for broker in lag["brokers"].as_array().expect("brokers") {
            let name = &broker["broker_name"];
            let st = status_brokers
                .iter()
                .find(|b| &b["broker_name"] == name)
                .expect("same brokers");
            for q in broker["queues"].as_array().expect("queues") {
                let (l, b, c) = (
                    q["lag"].as_i64().expect("lag"),
                    q["broker_offset"].as_i64().expect("b"),
                    q["consumer_offset"].as_i64().expect("c"),
                );
                assert_eq!(l, b - c, "{group}/{topic}: lag = broker - consumer");
                let sq = st["queues"]
                    .as_array()
                    .and_then(|qs| qs.iter().find(|s| s["id"] == q["id"]))
                    .expect("queue in status");
                assert_eq!(
                    sq["max_offset"].as_i64(),
                    Some(b),
                    "broker offset = max offset"
                );
                let consumed = q["last_message_time"].as_i64().expect("consumed time");
                let newest = sq["last_message_time"].as_i64().expect("newest time");
                assert!(consumed <= newest, "{group}/{topic}: {consumed} > {newest}");
                if l == 0 {
                    assert_eq!(consumed, newest, "{group}/{topic}: caught up");
                }
                lag_ms = lag_ms.max(newest - consumed);
                total += l;
            }
        }
    }
    (total, lag_ms as f64 / 1000.0)
}

fn truth_lag_seconds(sim: &Simulator, id: &str, group: &str) -> f64 {
    let state = sim.state_summary();
    state["rocketmq"]
        .as_array()
        .and_then(|all| all.iter().find(|i| i["instance_id"] == id))
        .and_then(|i| i["groups"][group]["lag_seconds"].as_f64())
        .expect("group in the state")
}

#[tokio::test]
async fn lag_is_consistent_and_a_stopped_consumer_falls_behind() {
    let sim = sim();
    let (project, instance) = rocket_instances(&sim).await.remove(0);
    let id = instance["instance_id"].as_str().expect("id").to_owned();
    let base = format!("/v2/{project}/instances/{id}");
    let (before, _) = check_consistency(&sim, &base, "group-orders").await;
    assert!(sim.set_consumer_running(&id, "group-orders", false));
    for _ in 0..5 {
        sim.step();
    }
    let (after, seconds) = check_consistency(&sim, &base, "group-orders").await;
    assert!(
        after > before,
        "lag grows while stopped: {before} -> {after}"
    );
    // A queue written in the last of the 5 ticks (10 s each) is at least 50 s ahead.
    assert!(
        seconds >= 50.0,
        "lag in time grows while stopped: {seconds}"
    );
    assert_eq!(seconds, truth_lag_seconds(&sim, &id, "group-orders"));
    // Running groups (sometimes half caught up) and the stopped billing group hold too.
    for group in ["group-billing", "group-archive"] {
        let (_, seconds) = check_consistency(&sim, &base, group).await;
        assert_eq!(seconds, truth_lag_seconds(&sim, &id, group), "{group}");
    }
    let clients = get_ok(
        &sim,
        &format!("/v2/rocketmq/{project}/instances/{id}/groups/group-orders/clients"),
        &[],
    )
    .await;
    assert_eq!(clients["online"], false);
    assert_eq!(clients["total"], 0);
    assert!(sim.set_consumer_running(&id, "group-orders", true));
    sim.step();
    let (resumed, _) = check_consistency(&sim, &base, "group-orders").await;
    assert!(resumed < after, "consumption resumes: {after} -> {resumed}");
}

#[tokio::test]
async fn groups_page_and_unknown_names_are_404() {
    let sim = sim();
    let (project, instance) = rocket_instances(&sim).await.remove(0);
    let id = instance["instance_id"].as_str().expect("id");
    let base = format!("/v2/{project}/instances/{id}");
    let first = get_ok(
        &sim,
        &format!("{base}/groups"),
        &[("offset", "0"), ("limit", "2")],
    )
    .await;
    assert_eq!(first["total"], 3);
    assert_eq!(first["groups"].as_array().map(Vec::len), Some(2));
    assert_eq!(first["next_offset"], 2);
    let second = get_ok(
        &sim,
        &format!("{base}/groups"),
        &[("offset", "2"), ("limit", "2")],
    )
    .await;
    assert_eq!(second["groups"].as_array().map(Vec::len), Some(1));
    assert_eq!(second["next_offset"], -1);
    let too_many = get(&sim, &format!("{base}/groups"), &[("limit", "51")]).await;
    assert_eq!(too_many.error_code(), "DMS.10240042");
    let missing = get(&sim, &format!("{base}/groups/nope"), &[]).await;
    assert_eq!(missing.status.as_u16(), 404);
    assert_eq!(missing.error_code(), "DMS.10240405");
    let missing = get(&sim, &format!("{base}/topics/nope/status"), &[]).await;
    assert_eq!(missing.status.as_u16(), 404);
}

#[tokio::test]
async fn tasks_include_a_failure_and_can_be_added_and_deleted() {
    let sim = sim();
    let (project, instance) = rocket_instances(&sim).await.remove(0);
    let id = instance["instance_id"].as_str().expect("id");
    let base = format!("/v2/{project}/instances/{id}");
    let tasks = get_ok(&sim, &format!("{base}/tasks"), &[]).await;
    let statuses: Vec<&str> = tasks["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["status"].as_str())
        .collect();
    assert!(statuses.contains(&"FAILED"), "{statuses:?}");
    let added = sim.add_task(id, "resetOffset", "EXECUTING").expect("added");
    let tasks = get_ok(&sim, &format!("{base}/tasks"), &[]).await;
    assert_eq!(tasks["task_count"], "4");
    assert_eq!(tasks["tasks"][0]["id"], added.as_str());
    assert!(sim.delete_task(id, &added));
    let tasks = get_ok(&sim, &format!("{base}/tasks"), &[]).await;
    assert_eq!(tasks["task_count"], "3");
}

/// Σ consumer offsets of a group over its queues.
async fn consumer_offsets(sim: &Simulator, base: &str, group: &str) -> i64 {
    let topics = get_ok(sim, &format!("{base}/groups/{group}/topics"), &[]).await;
    let mut total = 0;
    for topic in topics["topics"].as_array().expect("topics") {
        let detail = get_ok(
            sim,
            &format!("{base}/groups/{group}/topics"),
            &[("topic", topic.as_str().expect("name"))],
        )
        .await;
        for broker in detail["brokers"].as_array().expect("brokers") {
            for q in broker["queues"].as_array().expect("queues") {
                total += q["consumer_offset"].as_i64().expect("consumer offset");
            }
        }
    }
    total
}

#[tokio::test]
async fn control_stalls_and_rewinds_a_group() {
    use axum::http::StatusCode;
    use serde_json::json;

    let sim = sim();
    let (project, instance) = rocket_instances(&sim).await.remove(0);
    let id = instance["instance_id"].as_str().expect("id").to_owned();
    let base = format!("/v2/{project}/instances/{id}");
    let group = "group-orders";
    let stall = send_json(
        &sim,
        "PUT",
        &format!("/_sim/instances/{id}/groups/{group}/commits"),
        Some(json!({"paused": true})),
    )
    .await;
    assert_eq!(stall.status, StatusCode::OK);
    let (lag_before, _) = check_consistency(&sim, &base, group).await;
    let offsets_before = consumer_offsets(&sim, &base, group).await;
    for _ in 0..3 {
        sim.step();
    }
    let (lag_after, _) = check_consistency(&sim, &base, group).await;
    assert_eq!(consumer_offsets(&sim, &base, group).await, offsets_before);
    assert!(lag_after > lag_before, "{lag_before} -> {lag_after}");
    let clients = get_ok(
        &sim,
        &format!("/v2/rocketmq/{project}/instances/{id}/groups/{group}/clients"),
        &[],
    )
    .await;
    assert_eq!(clients["online"], true, "a stalled group keeps its members");

    let rewind = send_json(
        &sim,
        "POST",
        &format!("/_sim/instances/{id}/groups/{group}/rewind"),
        Some(json!({"messages": 5})),
    )
    .await;
    assert_eq!(rewind.status, StatusCode::OK);
    let queues: i64 = 3 * instance_brokers(&instance);
    assert_eq!(
        consumer_offsets(&sim, &base, group).await,
        offsets_before - 5 * queues
    );
    let (lag_rewound, _) = check_consistency(&sim, &base, group).await;
    assert_eq!(lag_rewound, lag_after + 5 * queues);
    // Back to the oldest retained message: minutes behind the newest (the simulated queues
    // hold their production of the last 10 minutes or more).
    assert!(sim.rewind_group(&id, group, u64::MAX));
    let (_, seconds) = check_consistency(&sim, &base, group).await;
    assert!(seconds > 300.0, "{seconds}");
    assert_eq!(seconds, truth_lag_seconds(&sim, &id, group));
    let unknown = send_json(
        &sim,
        "POST",
        &format!("/_sim/instances/{id}/groups/nope/rewind"),
        Some(json!({"messages": 5})),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

/// Brokers of an instance object (`broker_num`).
fn instance_brokers(instance: &Value) -> i64 {
    instance["broker_num"].as_i64().expect("broker_num")
}
