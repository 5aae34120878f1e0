//! Pagination, flow control, faults, determinism, evolution and cross-endpoint consistency.

use std::time::Duration;

use axum::http::StatusCode;
use dms_sim::{Fault, FaultRule, SimConfig, Simulator};
use serde_json::Value;

use crate::common::*;

#[tokio::test]
async fn instance_pagination() {
    let sim = sim();
    let path = format!("/v2/{PROJECT}/instances");
    let all = get_ok(&sim, &path, &[]).await;
    let total = all["instance_num"].as_u64().expect("instance_num");
    assert_eq!(total, 2, "3 instances spread over 2 projects");
    let page = get_ok(&sim, &path, &[("offset", "1"), ("limit", "1")]).await;
    assert_eq!(page["instance_num"], total);
    assert_eq!(page["instances"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["instances"][0], all["instances"][1]);
    let past = get_ok(&sim, &path, &[("offset", "5")]).await;
    assert_eq!(past["instances"].as_array().map(Vec::len), Some(0));
    for limit in ["51", "0"] {
        let reply = get(&sim, &path, &[("limit", limit)]).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(reply.error_code(), "DMS.10240042");
    }
    let reply = get(&sim, &path, &[("offset", "x")]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    // Filters.
    let name = all["instances"][0]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    let by_name = get_ok(&sim, &path, &[("name", &name[..8])]).await;
    assert!(by_name["instance_num"].as_u64() >= Some(1));
    let faulty = get_ok(&sim, &path, &[("status", "FAULTY")]).await;
    assert_eq!(faulty["instance_num"], 0);
    // The engine filter: each engine lists only its own instances.
    for (engine, count) in [("kafka", 2), ("reliability", 1), ("rabbitmq", 1)] {
        let listed = get_ok(&sim, &path, &[("engine", engine)]).await;
        assert_eq!(listed["instance_num"], count, "{engine}");
        for instance in listed["instances"].as_array().expect("instances") {
            assert_eq!(instance["engine"], engine);
        }
    }
}

#[tokio::test]
async fn group_pagination_and_filter() {
    let sim = sim();
    let id = first_instance(&sim).await;
    let path = format!("/v2/{PROJECT}/instances/{id}/groups");
    let all = get_ok(&sim, &path, &[]).await;
    assert_eq!(all["total"], 3);
    let page = get_ok(&sim, &path, &[("offset", "2"), ("limit", "2")]).await;
    assert_eq!(page["total"], 3);
    assert_eq!(page["groups"].as_array().map(Vec::len), Some(1));
    let reply = get(&sim, &path, &[("limit", "51")]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "DMS.10240042");
    let first = all["groups"][0]["group_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let filtered = get_ok(&sim, &path, &[("group", &first)]).await;
    assert_eq!(filtered["total"], 1);
    let states: Vec<&str> = all["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(|g| g["state"].as_str())
        .collect();
    assert!(
        states.contains(&"STABLE") && states.contains(&"EMPTY"),
        "{states:?}"
    );
}

#[tokio::test]
async fn unknown_things_are_404_with_documented_codes() {
    let sim = sim();
    let id = first_instance(&sim).await;
    let reply = get(&sim, &format!("/v2/{PROJECT}/instances/nope"), &[]).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.json()["error_msg"], "This instance does not exist.");
    assert_eq!(reply.error_code(), "DMS.00404022");
    // An instance of another project is not found either.
    let reply = get(&sim, &format!("/v2/{PROJECT2}/instances/{id}"), &[]).await;
    assert_eq!(reply.error_code(), "DMS.00404022");
    let reply = get(
        &sim,
        &format!("/v2/{PROJECT}/instances/{id}/groups/nope"),
        &[],
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.error_code(), "DMS.10240405");
    let reply = get(
        &sim,
        &format!("/v2/{PROJECT}/instances/{id}/management/groups/nope"),
        &[],
    )
    .await;
    assert_eq!(reply.error_code(), "DMS.10240405");
    let reply = get(
        &sim,
        &format!("/v2/{PROJECT}/instances/{id}/management/topics/nope"),
        &[],
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = get(
        &sim,
        &format!("/v2/{PROJECT}/instances/{id}/tasks/nope"),
        &[],
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = get(&sim, "/v2/nowhere", &[]).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test(start_paused = true)]
async fn topic_detail_is_limited_to_one_call_per_second_per_instance() {
    let sim = sim();
    let id = first_instance(&sim).await;
    let detail =
        |topic: &'static str| format!("/v2/{PROJECT}/instances/{id}/management/topics/{topic}");
    assert_eq!(
        get(&sim, &detail("orders"), &[]).await.status,
        StatusCode::OK
    );
    let reply = get(&sim, &detail("payments"), &[]).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.error_code(), "DMS.10240407");
    // Another instance has its own budget.
    let other = instances(&sim, PROJECT2).await[0]["instance_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let reply = get(
        &sim,
        &format!("/v2/{PROJECT2}/instances/{other}/management/topics/orders"),
        &[],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    tokio::time::advance(Duration::from_millis(1000)).await;
    assert_eq!(
        get(&sim, &detail("payments"), &[]).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn tasks_page_newest_first() {
    let sim = sim();
    let id = first_instance(&sim).await;
    let path = format!("/v2/{PROJECT}/instances/{id}/tasks");
    let all = get_ok(&sim, &path, &[]).await;
    let tasks = all["tasks"].as_array().expect("tasks").clone();
    assert_eq!(tasks.len(), 3);
    let times: Vec<&str> = tasks
        .iter()
        .filter_map(|t| t["created_at"].as_str())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    let statuses: Vec<&str> = tasks.iter().filter_map(|t| t["status"].as_str()).collect();
    for s in ["SUCCESS", "FAILED", "EXECUTING"] {
        assert!(statuses.contains(&s), "{statuses:?}");
    }
    let second = get_ok(&sim, &path, &[("start", "2"), ("limit", "1")]).await;
    assert_eq!(second["task_count"], "3");
    assert_eq!(second["tasks"][0], tasks[1]);
}

fn rule(endpoint: &str, fault: Fault, remaining: Option<u32>) -> FaultRule {
    FaultRule {
        endpoint: endpoint.to_owned(),
        instance_id: None,
        fault,
        remaining,
    }
}

#[tokio::test]
async fn faults_of_every_kind() {
    let sim = sim();
    let id = first_instance(&sim).await;
    let groups = format!("/v2/{PROJECT}/instances/{id}/groups");
    let good = get(&sim, &groups, &[]).await;

    sim.set_fault(rule("kafka_groups", Fault::Throttle429, Some(2)));
    for _ in 0..2 {
        let reply = get(&sim, &groups, &[]).await;
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(reply.error_code(), "APIGW.0308");
        assert!(
            reply.json()["error_msg"]
                .as_str()
                .is_some_and(|m| m.starts_with("The throttling threshold has been reached"))
        );
    }
    assert_eq!(
        get(&sim, &groups, &[]).await.status,
        StatusCode::OK,
        "remaining count used up"
    );

    sim.set_fault(rule("kafka_groups", Fault::Throttle404, Some(1)));
    let reply = get(&sim, &groups, &[]).await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (StatusCode::NOT_FOUND, "DMS.10240407")
    );

    sim.set_fault(rule("*", Fault::ServerError(503), Some(1)));
    let reply = get(&sim, &groups, &[]).await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "DMS.00500000")
    );

    sim.set_fault(rule("kafka_groups", Fault::NotFound, Some(1)));
    let reply = get(&sim, &groups, &[]).await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (StatusCode::NOT_FOUND, "DMS.00404022")
    );

    sim.set_fault(rule("kafka_groups", Fault::Malformed, Some(1)));
    let reply = get(&sim, &groups, &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(serde_json::from_slice::<Value>(&reply.body).is_err());

    sim.set_fault(rule("kafka_groups", Fault::Truncated, Some(1)));
    let reply = get(&sim, &groups, &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(serde_json::from_slice::<Value>(&reply.body).is_err());
    assert_eq!(reply.body, good.body[..good.body.len() / 2]);

    // Unlimited until cleared, and only for the named endpoint.
    sim.set_fault(rule("kafka_groups", Fault::ServerError(500), None));
    for _ in 0..3 {
        assert_eq!(
            get(&sim, &groups, &[]).await.status,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
    assert_eq!(
        get(&sim, &format!("/v2/{PROJECT}/instances/{id}"), &[])
            .await
            .status,
        StatusCode::OK
    );
    sim.clear_faults();
    assert_eq!(get(&sim, &groups, &[]).await.status, StatusCode::OK);

    // Faults come after authentication.
    sim.set_fault(rule("*", Fault::ServerError(500), None));
    let reply = send_json(&sim, "GET", &groups, None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    sim.clear_faults();

    let statuses: Vec<u16> = sim
        .request_log()
        .iter()
        .filter(|r| r.endpoint == "kafka_groups")
        .map(|r| r.status)
        .collect();
    assert_eq!(
        statuses,
        vec![
            200, 429, 429, 200, 404, 503, 404, 200, 200, 500, 500, 500, 200, 401
        ]
    );
    assert!(
        sim.request_log()
            .iter()
            .filter(|r| r.endpoint == "kafka_groups")
            .all(|r| r.instance_id.as_deref() == Some(id.as_str()))
    );
    assert_eq!(sim.request_counts().get("kafka_groups"), Some(&14));
}

#[tokio::test]
async fn fault_instance_filter() {
    let sim = sim();
    let ids = sim.instance_ids_of("kafka");
    sim.set_fault(FaultRule {
        endpoint: "*".to_owned(),
        instance_id: Some(ids[0].clone()),
        fault: Fault::ServerError(502),
        remaining: None,
    });
    for id in &ids {
        for project in [PROJECT, PROJECT2] {
            let reply = get(
                &sim,
                &format!("/v2/{project}/instances/{id}/management/cluster"),
                &[],
            )
            .await;
            if reply.status == StatusCode::OK {
                assert_ne!(id, &ids[0]);
            } else if id == &ids[0] {
                assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
            } else {
                assert_eq!(reply.error_code(), "DMS.00404022", "wrong project");
            }
        }
    }
    // Lists (no instance id) are not affected.
    assert_eq!(
        get(&sim, &format!("/v2/{PROJECT}/instances"), &[])
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test(start_paused = true)]
async fn latency_and_stall() {
    let sim = sim();
    let path = format!("/v2/{PROJECT}/instances");
    sim.set_fault(rule(
        "instances_list",
        Fault::Latency(Duration::from_millis(1500)),
        Some(1),
    ));
    let started = tokio::time::Instant::now();
    assert_eq!(get(&sim, &path, &[]).await.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(1500));

    sim.set_fault(rule("instances_list", Fault::Stall, Some(1)));
    let stalled = tokio::time::timeout(Duration::from_secs(30), get(&sim, &path, &[])).await;
    assert!(stalled.is_err(), "a stalled request never answers");
    assert_eq!(sim.request_log().last().map(|r| r.status), Some(0));
    assert_eq!(get(&sim, &path, &[]).await.status, StatusCode::OK);
}

/// Every read endpoint of every instance, as raw bytes.
async fn snapshot(sim: &Simulator) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for project in [PROJECT, PROJECT2] {
        let mut paths = vec![
            format!("/v2/{project}/instances"),
            format!("/v1.0/{project}/instances"),
        ];
        for instance in instances(sim, project).await {
            let id = instance["instance_id"].as_str().expect("id").to_owned();
            let base = format!("/v2/{project}/instances/{id}");
            paths.extend([
                base.clone(),
                format!("/v1.0/{project}/instances/{id}"),
                format!("{base}/management/cluster"),
                format!("{base}/management/coordinators"),
                format!("{base}/topics"),
                format!("{base}/topics/diskusage?minSize=1K"),
                format!("{base}/groups"),
                format!("{base}/tasks"),
                format!("/v2/{project}/kafka/{id}/tags"),
            ]);
            let groups = get_ok(sim, &format!("{base}/groups"), &[]).await;
            for g in groups["groups"].as_array().expect("groups") {
                let g = g["group_id"].as_str().expect("group");
                paths.push(format!("{base}/groups/{g}"));
                paths.push(format!("{base}/management/groups/{g}"));
            }
        }
        for path in paths {
            let (p, q) = path.split_once('?').unwrap_or((&path, ""));
            let query: Vec<(&str, &str)> = q
                .split('&')
                .filter(|s| !s.is_empty())
                .filter_map(|kv| kv.split_once('='))
                .collect();
            let reply = get(sim, p, &query).await;
            assert_eq!(reply.status, StatusCode::OK, "{path}");
            out.push((path, reply.body));
        }
    }
    out
}

#[tokio::test]
async fn deterministic_config_is_byte_identical_until_stepped() {
    let a = sim();
    let b = sim();
    let first = snapshot(&a).await;
    assert_eq!(first, snapshot(&b).await);
    assert_eq!(first, snapshot(&a).await, "nothing changes by itself");
    a.step();
    b.step();
    let stepped = snapshot(&a).await;
    assert_eq!(stepped, snapshot(&b).await, "stepping is deterministic too");
    assert_ne!(stepped, first);
}

async fn group_offsets(sim: &Simulator, id: &str, group: &str) -> Vec<(u64, u64, u64)> {
    let detail = get_ok(
        sim,
        &format!("/v2/{PROJECT}/instances/{id}/groups/{group}"),
        &[],
    )
    .await;
    detail["group"]["group_message_offsets"]
        .as_array()
        .expect("offsets")
        .iter()
        .map(|o| {
            let current = o["message_current_offset"].as_u64().expect("current");
            let end = o["message_log_end_offset"].as_u64().expect("end");
            let lag = o["lag"].as_u64().expect("lag");
            assert_eq!(lag, end - current);
            (current, end, lag)
        })
        .collect()
}

#[tokio::test]
async fn step_moves_offsets_and_a_stopped_consumer_falls_behind() {
    let sim = sim();
    let id = first_instance(&sim).await;
    let groups = get_ok(&sim, &format!("/v2/{PROJECT}/instances/{id}/groups"), &[]).await;
    let group_ids: Vec<String> = groups["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(|g| g["group_id"].as_str().map(str::to_owned))
        .collect();
    let stable = groups["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["state"] == "STABLE")
        .and_then(|g| g["group_id"].as_str())
        .expect("stable")
        .to_owned();

    let before = group_offsets(&sim, &id, &stable).await;
    sim.step();
    let after = group_offsets(&sim, &id, &stable).await;
    assert!(
        before.iter().zip(&after).all(|(b, a)| a.1 > b.1),
        "log end offsets grow"
    );
    assert!(
        before.iter().zip(&after).any(|(b, a)| a.0 > b.0),
        "a running consumer commits"
    );

    assert!(sim.set_consumer_running(&id, &stable, false));
    let detail = get_ok(
        &sim,
        &format!("/v2/{PROJECT}/instances/{id}/management/groups/{stable}"),
        &[],
    )
    .await;
    assert_eq!(detail["group"]["state"], "EMPTY");
    assert_eq!(detail["group"]["members"], Value::Array(vec![]));
    let stopped = group_offsets(&sim, &id, &stable).await;
    let lag_before: u64 = stopped.iter().map(|o| o.2).sum();
    for _ in 0..3 {
        sim.step();
    }
    let later = group_offsets(&sim, &id, &stable).await;
    let lag_after: u64 = later.iter().map(|o| o.2).sum();
    assert!(lag_after > lag_before, "{lag_before} -> {lag_after}");
    assert!(
        stopped.iter().zip(&later).all(|(b, a)| a.0 == b.0),
        "no commits while stopped"
    );

    assert!(sim.set_consumer_running(&id, &stable, true));
    let detail = get_ok(
        &sim,
        &format!("/v2/{PROJECT}/instances/{id}/management/groups/{stable}"),
        &[],
    )
    .await;
    assert_eq!(detail["group"]["state"], "STABLE");
    assert!(
        !detail["group"]["members"]
            .as_array()
            .expect("members")
            .is_empty()
    );
    assert!(group_ids.len() == 3);
}

#[tokio::test(start_paused = true)]
async fn endpoints_agree_with_each_other() {
    let sim = sim();
    sim.step();
    let id = first_instance(&sim).await;
    assert!(sim.set_broker_up(&id, 1, false));
    sim.step();
    let base = format!("/v2/{PROJECT}/instances/{id}");
    let cluster = get_ok(&sim, &format!("{base}/management/cluster"), &[]).await["cluster"].clone();
    let topics = get_ok(&sim, &format!("{base}/topics"), &[]).await;
    let mut partitions = 0;
    let mut online = 0;
    let mut replicas = 0;
    let mut isr = 0;
    let mut replica_bytes: std::collections::BTreeMap<u64, u64> = Default::default();
    let mut leo: std::collections::BTreeMap<(String, u64), u64> = Default::default();
    for topic in topics["topics"].as_array().expect("topics") {
        let name = topic["name"].as_str().expect("name");
        tokio::time::advance(Duration::from_secs(1)).await;
        let detail = get_ok(&sim, &format!("{base}/management/topics/{name}"), &[]).await;
        for p in detail["partitions"].as_array().expect("partitions") {
            partitions += 1;
            if p["leader"].as_i64() != Some(-1) {
                online += 1;
            }
            leo.insert(
                (name.to_owned(), p["partition"].as_u64().expect("p")),
                p["leo"].as_u64().expect("leo"),
            );
            for r in p["replicas"].as_array().expect("replicas") {
                replicas += 1;
                if r["in_sync"] == true {
                    isr += 1;
                }
                *replica_bytes
                    .entry(r["broker"].as_u64().expect("broker"))
                    .or_default() += r["size"].as_u64().expect("size");
            }
        }
        assert_eq!(
            topic["partition"],
            detail["partitions"].as_array().map(Vec::len).unwrap_or(0)
        );
    }
    assert_eq!(cluster["topics_count"], topics["total"]);
    assert_eq!(cluster["partitions_count"], partitions);
    assert_eq!(cluster["online_partitions_count"], online);
    assert!(online < partitions, "broker 1 leads some partitions");
    assert_eq!(cluster["replicas_count"], replicas);
    assert_eq!(cluster["isr_replicas_count"], isr);
    assert!(isr < replicas);
    assert_eq!(cluster["brokers"][1]["is_health"], false);
    let groups = get_ok(&sim, &format!("{base}/groups"), &[]).await;
    assert_eq!(cluster["consumers_count"], groups["total"]);
    for g in groups["groups"].as_array().expect("groups") {
        let g = g["group_id"].as_str().expect("id");
        let detail = get_ok(&sim, &format!("{base}/management/groups/{g}"), &[]).await;
        for o in detail["group"]["group_message_offsets"]
            .as_array()
            .expect("offsets")
        {
            let key = (
                o["topic"].as_str().expect("topic").to_owned(),
                o["partition"].as_u64().expect("p"),
            );
            assert_eq!(
                Some(&o["message_log_end_offset"].as_u64().expect("end")),
                leo.get(&key)
            );
        }
    }
    // Disk usage: data_disk_use is the sum of the broker's replicas (as a rounded-up human size).
    let disk = get_ok(
        &sim,
        &format!("{base}/topics/diskusage"),
        &[("minSize", "0")],
    )
    .await;
    for broker in disk["broker_list"].as_array().expect("brokers") {
        let b: u64 = broker["broker_name"]
            .as_str()
            .and_then(|n| n.strip_prefix("broker-"))
            .and_then(|n| n.parse().ok())
            .expect("broker id");
        let listed = broker["topic_list"].as_array().expect("list").len();
        assert_eq!(
            listed as u64,
            replicas as u64 / 3,
            "every replica of broker {b} listed"
        );
        let kib = replica_bytes[&b] as f64 / 1024.0;
        let text = broker["data_disk_use"].as_str().expect("use");
        let parsed = parse_human(text);
        assert!(
            parsed >= kib && parsed <= kib * 1.1 + 1.0,
            "{text} vs {kib} KiB"
        );
    }
    // used_storage_space derives from disk usage.
    assert!(sim.fill_disk(&id, 0.95));
    let instance = get_ok(&sim, &base, &[]).await;
    let used = instance["used_storage_space"].as_u64().expect("used");
    let total = instance["total_storage_space"].as_u64().expect("total");
    assert!(
        used * 100 >= total * 94 && used * 100 <= total * 95,
        "{used} of {total}"
    );
    let disk = get_ok(&sim, &format!("{base}/topics/diskusage"), &[]).await;
    assert!(
        !disk["broker_list"][0]["topic_list"]
            .as_array()
            .expect("list")
            .is_empty(),
        "big partitions pass minSize=1G"
    );
    let percent: u64 = disk["broker_list"][0]["data_disk_use_percentage"]
        .as_str()
        .and_then(|p| p.parse().ok())
        .expect("percentage");
    assert!((90..=100).contains(&percent), "{percent}");
    let top = get_ok(
        &sim,
        &format!("{base}/topics/diskusage"),
        &[("minSize", "1K"), ("top", "2")],
    )
    .await;
    assert_eq!(
        top["broker_list"][0]["topic_list"].as_array().map(Vec::len),
        Some(2)
    );
}

/// `"8.0K"` → KiB.
fn parse_human(text: &str) -> f64 {
    let (number, unit) = text.split_at(text.len() - 1);
    let factor = match unit {
        "K" => 1.0,
        "M" => 1024.0,
        "G" => 1024.0 * 1024.0,
        _ => panic!("unit of {text}"),
    };
    number.parse::<f64>().expect("number") * factor
}

#[tokio::test]
async fn control_methods_change_the_fleet() {
    let sim = Simulator::new(SimConfig::deterministic());
    let id = sim.create_kafka_instance(PROJECT, "kafka-new");
    let reply = get_ok(&sim, &format!("/v2/{PROJECT}/instances/{id}"), &[]).await;
    assert_eq!(reply["status"], "CREATING");
    assert_eq!(reply["name"], "kafka-new");
    sim.step();
    let reply = get_ok(&sim, &format!("/v2/{PROJECT}/instances/{id}"), &[]).await;
    assert_eq!(reply["status"], "RUNNING");
    assert!(sim.set_instance_status(&id, "FAULTY"));
    let faulty = get_ok(
        &sim,
        &format!("/v2/{PROJECT}/instances"),
        &[("status", "FAULTY")],
    )
    .await;
    assert_eq!(faulty["instance_num"], 1);
    let task = sim
        .add_task(&id, "restartInstance", "EXECUTING")
        .expect("task");
    let tasks = get_ok(&sim, &format!("/v2/{PROJECT}/instances/{id}/tasks"), &[]).await;
    assert_eq!(tasks["tasks"][0]["id"], task.as_str());
    assert!(sim.delete_instance(&id));
    assert!(!sim.delete_instance(&id));
    assert_eq!(
        get(&sim, &format!("/v2/{PROJECT}/instances/{id}"), &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let first = first_instance(&sim).await;
    assert!(sim.delete_topic(&first, "orders"));
    let topics = get_ok(
        &sim,
        &format!("/v2/{PROJECT}/instances/{first}/topics"),
        &[],
    )
    .await;
    assert!(
        topics["topics"]
            .as_array()
            .expect("topics")
            .iter()
            .all(|t| t["name"] != "orders")
    );
    let groups = get_ok(
        &sim,
        &format!("/v2/{PROJECT}/instances/{first}/groups"),
        &[],
    )
    .await;
    let g = groups["groups"][0]["group_id"]
        .as_str()
        .expect("group")
        .to_owned();
    assert!(sim.delete_group(&first, &g));
    let groups = get_ok(
        &sim,
        &format!("/v2/{PROJECT}/instances/{first}/groups"),
        &[],
    )
    .await;
    assert_eq!(groups["total"], 2);
    assert!(!sim.set_consumer_running(&first, "nope", false));
    assert!(!sim.set_broker_up(&first, 99, false));
    assert!(!sim.fill_disk("nope", 0.5));
}

fn reqwest_signed(
    client: &reqwest::Client,
    addr: std::net::SocketAddr,
    path: &str,
    query: &[(&str, &str)],
) -> reqwest::RequestBuilder {
    let date = dms_sign::sdk_date(time::OffsetDateTime::now_utc());
    let headers = vec![
        ("Host".to_owned(), addr.to_string()),
        ("X-Sdk-Date".to_owned(), date.clone()),
    ];
    let query: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let request = dms_sign::SigningRequest {
        method: "GET",
        path,
        query: &query,
        headers: &headers,
        body: b"",
    };
    let authorization = dms_sign::authorization(AK, SK.as_bytes(), &request);
    let mut url = format!("http://{addr}{}", dms_sign::encode_path(path));
    let canonical = dms_sign::canonical_query(&query);
    if !canonical.is_empty() {
        url.push('?');
        url.push_str(&canonical);
    }
    client
        .get(url)
        .header("X-Sdk-Date", date)
        .header("Authorization", authorization)
}

#[tokio::test]
async fn serves_on_a_real_listener() {
    let sim = sim();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = {
        let sim = sim.clone();
        tokio::spawn(async move {
            sim.serve(listener, async {
                let _ = stopped.await;
            })
            .await
        })
    };
    let client = reqwest::Client::new();
    let path = format!("/v2/{PROJECT}/instances");
    let response = reqwest_signed(&client, addr, &path, &[("limit", "5")])
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["instance_num"], 2);

    // A stalled request times out on the client and does not block graceful shutdown.
    let id = first_instance(&sim).await;
    sim.set_fault(rule("kafka_tags", Fault::Stall, Some(1)));
    let stalled = reqwest_signed(
        &client,
        addr,
        &format!("/v2/{PROJECT}/kafka/{id}/tags"),
        &[],
    )
    .timeout(Duration::from_millis(300))
    .send()
    .await;
    assert!(stalled.is_err_and(|e| e.is_timeout()));
    let _ = stop.send(());
    let result = tokio::time::timeout(Duration::from_secs(10), server).await;
    assert!(matches!(result, Ok(Ok(Ok(())))), "server shut down cleanly");
}

#[tokio::test]
async fn unauthorized_fault_answers_like_a_rejected_signature() {
    let sim = sim();
    let id = first_instance(&sim).await;
    let groups = format!("/v2/{PROJECT}/instances/{id}/groups");
    sim.set_fault(rule("kafka_groups", Fault::Unauthorized, Some(1)));
    let reply = get(&sim, &groups, &[]).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "APIGW.0301");
    assert_eq!(get(&sim, &groups, &[]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn aged_tasks_stay_as_set_and_can_be_deleted() {
    let sim = sim();
    let id = first_instance(&sim).await;
    let task = sim
        .add_task_aged(
            &id,
            "stuckTask",
            "EXECUTING",
            std::time::Duration::from_secs(3 * 3600),
        )
        .expect("instance exists");
    for _ in 0..20 {
        sim.step();
    }
    let tasks = get_ok(
        &sim,
        &format!("/v2/{PROJECT}/instances/{id}/tasks"),
        &[("limit", "50")],
    )
    .await;
    let entry = tasks["tasks"]
        .as_array()
        .and_then(|all| all.iter().find(|t| t["id"] == task.as_str()))
        .expect("task listed")
        .clone();
    assert_eq!(entry["status"], "EXECUTING", "pinned tasks do not evolve");
    let created = entry["created_at"].as_str().expect("created_at");
    let now_ms = sim.now_ms();
    let created_ms =
        time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339)
            .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
            .expect("ISO time");
    assert!(
        now_ms - created_ms >= 3 * 3600 * 1000,
        "started three hours ago"
    );
    assert!(sim.delete_task(&id, &task));
    assert!(!sim.delete_task(&id, &task), "deleted once");
}

#[tokio::test]
async fn a_repeated_read_is_identical_until_the_fleet_changes() {
    let sim = sim();
    let id = first_instance(&sim).await;
    let groups = get_ok(&sim, &format!("/v2/{PROJECT}/instances/{id}/groups"), &[]).await;
    let group = groups["groups"][0]["group_id"]
        .as_str()
        .expect("a group")
        .to_owned();
    let path = format!("/v2/{PROJECT}/instances/{id}/groups/{group}");
    let first = get(&sim, &path, &[]).await.body;
    assert_eq!(get(&sim, &path, &[]).await.body, first);
    sim.step();
    let stepped = get(&sim, &path, &[]).await.body;
    assert_ne!(stepped, first, "a step moves the offsets");
    assert!(sim.set_consumer_running(&id, &group, false));
    let stopped = get(&sim, &path, &[]).await.json();
    assert_eq!(
        stopped["group"]["state"], "EMPTY",
        "a control call shows at once"
    );
    // The same request on a fresh simulator at the same point renders the same bytes.
    let fresh = Simulator::new(SimConfig::deterministic());
    fresh.step();
    assert_eq!(get(&fresh, &path, &[]).await.body, stepped);
}
