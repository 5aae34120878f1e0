//! RabbitMQ behaviour: task windowing and paging, plugin control, V1 list paging, evolution.

use axum::http::StatusCode;
use dms_sim::{SimConfig, Simulator};
use serde_json::{Value, json};

use crate::common::*;

fn rabbit(sim: &Simulator) -> String {
    sim.instance_ids_of("rabbitmq")
        .into_iter()
        .next()
        .expect("a RabbitMQ instance")
}

fn statuses(tasks: &Value) -> Vec<String> {
    tasks["tasks"]
        .as_array()
        .map(|t| {
            t.iter()
                .map(|t| t["status"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// `YYYYMMDDHHmmss` of an ISO time.
fn compact(iso: &str) -> String {
    iso.chars().filter(char::is_ascii_digit).take(14).collect()
}

#[tokio::test]
async fn tasks_page_newest_first_and_window_by_time() {
    let sim = sim();
    let id = rabbit(&sim);
    let path = format!("/v2/{PROJECT}/instances/{id}/tasks");
    let all = get_ok(&sim, &path, &[]).await;
    assert_eq!(statuses(&all), ["EXECUTING", "FAILED", "SUCCESS"]);
    let second = get_ok(&sim, &path, &[("start", "2"), ("limit", "1")]).await;
    assert_eq!(second["task_count"], "3", "count ignores paging");
    assert_eq!(statuses(&second), ["FAILED"]);
    let failed_at = compact(
        second["tasks"][0]["created_at"]
            .as_str()
            .unwrap_or_default(),
    );
    let window = get_ok(
        &sim,
        &path,
        &[("begin_time", &failed_at), ("end_time", &failed_at)],
    )
    .await;
    assert_eq!(window["task_count"], "1");
    assert_eq!(statuses(&window), ["FAILED"]);
    let bad = get(&sim, &path, &[("begin_time", "yesterday")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let missing = get(&sim, &format!("{path}/0000"), &[]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn control_api_adds_and_deletes_rabbitmq_tasks() {
    let sim = sim();
    let id = rabbit(&sim);
    let added = send_json(
        &sim,
        "POST",
        &format!("/_sim/instances/{id}/tasks"),
        Some(json!({"name": "restartInstance", "status": "FAILED"})),
    )
    .await;
    assert_eq!(added.status, StatusCode::CREATED);
    let task_id = added.json()["task_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let path = format!("/v2/{PROJECT}/instances/{id}/tasks");
    let tasks = get_ok(&sim, &path, &[]).await;
    assert_eq!(tasks["task_count"], "4");
    assert_eq!(tasks["tasks"][0]["id"], task_id.as_str());
    let one = get_ok(&sim, &format!("{path}/{task_id}"), &[]).await;
    assert_eq!(one["tasks"][0]["status"], "FAILED");
    assert!(sim.delete_task(&id, &task_id));
    assert!(!sim.delete_task(&id, &task_id));
    assert_eq!(get_ok(&sim, &path, &[]).await["task_count"], "3");
}

#[tokio::test]
async fn a_stopped_plugin_stays_enabled() {
    let sim = sim();
    let id = rabbit(&sim);
    let path = format!("/v2/{PROJECT}/instances/{id}/rabbitmq/plugins");
    let plugin = |list: &Value, name: &str| {
        list["plugins"]
            .as_array()
            .and_then(|p| p.iter().find(|p| p["name"] == name).cloned())
            .unwrap_or_default()
    };
    let before = get_ok(&sim, &path, &[]).await;
    assert_eq!(plugin(&before, "rabbitmq_shovel")["running"], true);
    let stopped = send_json(
        &sim,
        "PUT",
        &format!("/_sim/instances/{id}/plugins/rabbitmq_shovel"),
        Some(json!({"running": false})),
    )
    .await;
    assert_eq!(stopped.status, StatusCode::OK);
    let after = get_ok(&sim, &path, &[]).await;
    let shovel = plugin(&after, "rabbitmq_shovel");
    assert_eq!(
        (shovel["enable"].clone(), shovel["running"].clone()),
        (json!(true), json!(false))
    );
    // A disabled plugin cannot run; an unknown one is not found.
    assert!(sim.set_plugin_running(&id, "rabbitmq_federation", true));
    let federation = plugin(&get_ok(&sim, &path, &[]).await, "rabbitmq_federation");
    assert_eq!(federation["running"], false);
    assert!(!sim.set_plugin_running(&id, "no_such_plugin", false));
    assert!(sim.set_plugin_running(&id, "rabbitmq_shovel", true));
    assert_eq!(
        plugin(&get_ok(&sim, &path, &[]).await, "rabbitmq_shovel")["running"],
        true
    );
}

#[tokio::test]
async fn v1_list_pages_with_start_and_limit() {
    let mut config = SimConfig::deterministic();
    config.fleet.rabbitmq_instances = 5;
    let sim = Simulator::new(config);
    let path = format!("/v1.0/{PROJECT}/instances");
    let query = |start: &'static str| [("engine", "rabbitmq"), ("start", start), ("limit", "2")];
    let ids = |page: &Value| -> Vec<String> {
        page["instances"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|i| i["instance_id"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let first = get_ok(&sim, &path, &query("1")).await;
    let second = get_ok(&sim, &path, &query("3")).await;
    // Round robin over two projects: 3 of the 5 are in PROJECT.
    assert_eq!(first["instance_num"], 3);
    assert_eq!(ids(&first).len(), 2);
    assert_eq!(ids(&second).len(), 1);
    assert!(!ids(&first).contains(&ids(&second)[0]));
    let too_big = get(&sim, &path, &[("engine", "rabbitmq"), ("limit", "51")]).await;
    assert_eq!(too_big.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_demo_fleet_lives() {
    let sim = Simulator::new(SimConfig::demo());
    let ids = sim.instance_ids_of("rabbitmq");
    assert_eq!(ids.len(), 2);
    let mut stopped_seen = false;
    let mut new_tasks = false;
    let mut failed_later = false;
    for _ in 0..400 {
        sim.step();
        let state = sim.state_summary();
        for instance in state["rabbitmq"].as_array().into_iter().flatten() {
            let plugins = instance["plugins"].as_array().cloned().unwrap_or_default();
            stopped_seen |= plugins
                .iter()
                .any(|p| p["enable"] == true && p["running"] == false);
            let tasks = instance["tasks"].as_array().cloned().unwrap_or_default();
            new_tasks |= tasks.len() > 3;
            failed_later |= tasks.iter().filter(|t| t["status"] == "FAILED").count() > 1;
        }
    }
    assert!(
        stopped_seen,
        "an enabled plugin stopped running at some point"
    );
    assert!(new_tasks, "new tasks started");
    assert!(failed_later, "a new task failed");
}

#[tokio::test]
async fn steps_finish_running_tasks_but_not_pinned_ones() {
    let sim = sim();
    let id = rabbit(&sim);
    let pinned = sim
        .add_task(&id, "restartInstance", "EXECUTING")
        .expect("instance exists");
    for _ in 0..40 {
        sim.step();
    }
    let tasks = get_ok(&sim, &format!("/v2/{PROJECT}/instances/{id}/tasks"), &[]).await;
    let list = tasks["tasks"].as_array().cloned().unwrap_or_default();
    for task in &list {
        let executing = task["status"] == "EXECUTING";
        assert_eq!(executing, task["id"] == pinned.as_str(), "{task}");
    }
    assert_eq!(list.len(), 4, "no churn: no new tasks");
}
