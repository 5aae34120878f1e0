//! The HTTP control API under `/_sim/`.

use axum::http::StatusCode;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn control_api_over_http() {
    let sim = sim();
    let state = send_json(&sim, "GET", "/_sim/state", None).await;
    assert_eq!(state.status, StatusCode::OK);
    assert!(state.headers.contains_key("x-request-id"));
    let state = state.json();
    assert_eq!(state["tick"], 0);
    assert_eq!(state["instances"].as_array().map(Vec::len), Some(3));

    // Step.
    let reply = send_json(&sim, "POST", "/_sim/step?count=3", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        send_json(&sim, "GET", "/_sim/state", None).await.json()["tick"],
        3
    );

    // Faults.
    let rule = json!({"endpoint":"kafka_groups","instance_id":null,"fault":{"kind":"throttle429"},"remaining":1});
    assert_eq!(
        send_json(&sim, "POST", "/_sim/faults", Some(rule))
            .await
            .status,
        StatusCode::OK
    );
    let id = first_instance(&sim).await;
    let groups = format!("/v2/{PROJECT}/instances/{id}/groups");
    assert_eq!(
        get(&sim, &groups, &[]).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(get(&sim, &groups, &[]).await.status, StatusCode::OK);
    let rule = json!({"endpoint":"*","fault":{"kind":"server_error","status":503}});
    send_json(&sim, "POST", "/_sim/faults", Some(rule)).await;
    assert_eq!(
        get(&sim, &groups, &[]).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        send_json(&sim, "DELETE", "/_sim/faults", None).await.status,
        StatusCode::OK
    );
    assert_eq!(get(&sim, &groups, &[]).await.status, StatusCode::OK);

    // Instances.
    let created = send_json(
        &sim,
        "POST",
        "/_sim/instances",
        Some(json!({"project_id": PROJECT, "name": "kafka-ctl"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let new_id = created.json()["instance_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let status = send_json(
        &sim,
        "PUT",
        &format!("/_sim/instances/{new_id}/status"),
        Some(json!({"status": "FAULTY"})),
    )
    .await;
    assert_eq!(status.status, StatusCode::OK);
    assert_eq!(
        get_ok(&sim, &format!("/v2/{PROJECT}/instances/{new_id}"), &[]).await["status"],
        "FAULTY"
    );
    let task = send_json(
        &sim,
        "POST",
        &format!("/_sim/instances/{new_id}/tasks"),
        Some(json!({"name": "restartInstance", "status": "EXECUTING"})),
    )
    .await;
    assert_eq!(task.status, StatusCode::CREATED);
    assert_eq!(
        send_json(&sim, "DELETE", &format!("/_sim/instances/{new_id}"), None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        send_json(&sim, "DELETE", &format!("/_sim/instances/{new_id}"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Consumer, broker, disk.
    let group = get_ok(&sim, &groups, &[]).await["groups"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["state"] == "STABLE"))
        .and_then(|g| g["group_id"].as_str())
        .expect("stable group")
        .to_owned();
    let reply = send_json(
        &sim,
        "PUT",
        &format!("/_sim/instances/{id}/groups/{group}/consumer"),
        Some(json!({"running": false})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let detail = get_ok(&sim, &format!("{groups}/{group}"), &[]).await;
    assert_eq!(detail["group"]["state"], "EMPTY");
    let reply = send_json(
        &sim,
        "PUT",
        &format!("/_sim/instances/{id}/brokers/2"),
        Some(json!({"up": false})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let cluster = get_ok(
        &sim,
        &format!("/v2/{PROJECT}/instances/{id}/management/cluster"),
        &[],
    )
    .await;
    assert_eq!(cluster["cluster"]["brokers"][2]["is_health"], false);
    let reply = send_json(
        &sim,
        "PUT",
        &format!("/_sim/instances/{id}/disk"),
        Some(json!({"used_ratio": 0.5})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let instance = get_ok(&sim, &format!("/v2/{PROJECT}/instances/{id}"), &[]).await;
    let used = instance["used_storage_space"].as_u64().expect("used");
    let total = instance["total_storage_space"].as_u64().expect("total");
    assert!(
        used + 1 >= total / 2 && used <= total / 2,
        "{used} of {total}"
    );
    assert_eq!(
        send_json(
            &sim,
            "DELETE",
            &format!("/_sim/instances/{id}/topics/orders"),
            None
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        send_json(
            &sim,
            "DELETE",
            &format!("/_sim/instances/{id}/groups/{group}"),
            None
        )
        .await
        .status,
        StatusCode::OK
    );

    // Tokens.
    let token = send_json(
        &sim,
        "POST",
        "/v3/auth/tokens",
        Some(crate::auth::token_body("monitor-password", "cn-north-4")),
    )
    .await;
    let token = token.headers["x-subject-token"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(
        send_json(&sim, "POST", "/_sim/tokens/expire", None)
            .await
            .status,
        StatusCode::OK
    );
    let request = axum::http::Request::builder()
        .uri(format!("/v2/{PROJECT}/instances"))
        .header("X-Auth-Token", token)
        .body(axum::body::Body::empty())
        .expect("request");
    assert_eq!(send(&sim, request).await.status, StatusCode::UNAUTHORIZED);

    // Request counts.
    let counts = send_json(&sim, "GET", "/_sim/requests", None).await.json();
    assert_eq!(counts["kafka_groups"], 5);
    assert_eq!(counts["iam_tokens"], 1);
    assert!(
        counts.get("_sim").is_none(),
        "control calls are not API requests"
    );
}

/// The committed offsets of the instance's first EMPTY (stopped) group, from R8.
async fn stopped_group(sim: &dms_sim::Simulator, id: &str) -> (String, serde_json::Value) {
    let base = format!("/v2/{PROJECT}/instances/{id}");
    let groups = get_ok(sim, &format!("{base}/groups"), &[]).await;
    let group = groups["groups"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["state"] == "EMPTY"))
        .and_then(|g| g["group_id"].as_str())
        .expect("an EMPTY group")
        .to_owned();
    let detail = get_ok(sim, &format!("{base}/groups/{group}"), &[]).await;
    (group, detail["group"]["group_message_offsets"].clone())
}

#[tokio::test(start_paused = true)]
async fn groups_rewind_pause_and_are_overtaken_by_retention() {
    let sim = sim();
    let id = first_instance(&sim).await;
    let (group, before) = stopped_group(&sim, &id).await;
    let committed = |offsets: &serde_json::Value| -> Vec<u64> {
        offsets
            .as_array()
            .map(|o| {
                o.iter()
                    .filter_map(|o| o["message_current_offset"].as_u64())
                    .collect()
            })
            .unwrap_or_default()
    };
    let reply = send_json(
        &sim,
        "POST",
        &format!("/_sim/instances/{id}/groups/{group}/rewind"),
        Some(json!({"messages": 5})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let (_, after) = stopped_group(&sim, &id).await;
    let moved: Vec<u64> = committed(&before)
        .iter()
        .map(|c| c.saturating_sub(5))
        .collect();
    assert_eq!(committed(&after), moved);

    // A STABLE group whose commits are paused keeps its members and its offsets.
    let groups = get_ok(&sim, &format!("/v2/{PROJECT}/instances/{id}/groups"), &[]).await;
    let stable = groups["groups"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["state"] == "STABLE"))
        .and_then(|g| g["group_id"].as_str())
        .expect("a STABLE group")
        .to_owned();
    let reply = send_json(
        &sim,
        "PUT",
        &format!("/_sim/instances/{id}/groups/{stable}/commits"),
        Some(json!({"paused": true})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let path = format!("/v2/{PROJECT}/instances/{id}/groups/{stable}");
    let paused = get_ok(&sim, &path, &[]).await;
    sim.step();
    sim.step();
    let later = get_ok(&sim, &path, &[]).await;
    assert_eq!(
        committed(&paused["group"]["group_message_offsets"]),
        committed(&later["group"]["group_message_offsets"])
    );
    assert_eq!(later["group"]["state"], "STABLE");

    // Retention overtakes the stopped group by 7 messages: the log start moves past it.
    let reply = send_json(
        &sim,
        "POST",
        &format!("/_sim/instances/{id}/groups/{group}/overtake"),
        Some(json!({"messages": 7})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let offsets = sim.committed_offsets(&id, &group).expect("the group");
    for ((topic, partition), committed) in offsets {
        // Topic detail allows one call per second per instance.
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let detail = get_ok(
            &sim,
            &format!("/v2/{PROJECT}/instances/{id}/management/topics/{topic}"),
            &[],
        )
        .await;
        let lso = detail["partitions"]
            .as_array()
            .and_then(|p| p.iter().find(|p| p["partition"] == partition))
            .and_then(|p| p["lso"].as_u64())
            .expect("the partition's lso");
        assert!(
            lso >= committed + 7,
            "{topic}/{partition}: lso {lso}, committed {committed}"
        );
        assert_eq!(
            sim.produce_time_ms(&id, &topic, partition, committed),
            None,
            "deleted"
        );
    }
    let unknown = send_json(
        &sim,
        "POST",
        &format!("/_sim/instances/{id}/groups/nope/overtake"),
        Some(json!({"messages": 1})),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_topics_retention_can_be_set() {
    let sim = sim();
    let id = first_instance(&sim).await;
    let path = format!("/v2/{PROJECT}/instances/{id}/topics");
    let topics = get_ok(&sim, &path, &[]).await;
    let topic = topics["topics"][0]["name"]
        .as_str()
        .expect("a topic")
        .to_owned();
    let reply = send_json(
        &sim,
        "PUT",
        &format!("/_sim/instances/{id}/topics/{topic}/retention"),
        Some(json!({"hours": 1})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let topics = get_ok(&sim, &path, &[]).await;
    let retention = topics["topics"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["name"] == topic.as_str()))
        .map(|t| t["retention_time"].clone());
    assert_eq!(retention, Some(json!(1)));
    let unknown = send_json(
        &sim,
        "PUT",
        &format!("/_sim/instances/{id}/topics/nope/retention"),
        Some(json!({"hours": 1})),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}
