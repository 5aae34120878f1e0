//! RabbitMQ fidelity: every documented example response (`fixtures/api/rabbitmq`) of an
//! endpoint the simulator serves has the same field names and JSON types as the simulator's
//! answer to the same request, recursively; the instance objects carry all 43 documented
//! `ShowInstanceResp` fields with their documented types (rabbitmq.md §2.0.1).
//!
//! Where an example contradicts its table, the simulator follows the table and the comparison
//! uses the example with that one value's type corrected:
//! - R12 [CN]: `"enable_publicip": "true"` (a string; the table says Boolean).

use serde_json::{Value, json};

use crate::common::*;

pub(crate) fn fixture(name: &str) -> Value {
    engine_fixture("rabbitmq", name)
}

/// The deterministic fleet's RabbitMQ instance (a cluster with public access).
pub(crate) fn rabbit(sim: &dms_sim::Simulator) -> String {
    sim.instance_ids_of("rabbitmq")
        .into_iter()
        .next()
        .expect("a RabbitMQ instance")
}

#[tokio::test(start_paused = true)]
async fn every_documented_example_has_the_same_shape() {
    let sim = sim();
    let id = rabbit(&sim);
    let base = format!("/v2/{PROJECT}/instances/{id}");

    let list = get_ok(
        &sim,
        &format!("/v2/{PROJECT}/instances"),
        &[("engine", "rabbitmq")],
    )
    .await;
    assert_shape("R1", &fixture("R1_instances.json"), &list);
    let one = get_ok(&sim, &base, &[]).await;
    assert_shape("R2", &fixture("R2_instance.json"), &one);
    assert_eq!(one, list["instances"][0], "R2 equals the R1 entry");

    let plugins = get_ok(&sim, &format!("{base}/rabbitmq/plugins"), &[]).await;
    assert_shape("R3", &fixture("R3_plugins.json"), &plugins);

    let tasks = get_ok(
        &sim,
        &format!("{base}/tasks"),
        &[("start", "1"), ("limit", "10")],
    )
    .await;
    assert_shape("R5", &fixture("R5_tasks.json"), &tasks);
    let task_id = tasks["tasks"][0]["id"].as_str().expect("a task").to_owned();
    let task = get_ok(&sim, &format!("{base}/tasks/{task_id}"), &[]).await;
    assert_shape("R6", &fixture("R6_task.json"), &task);

    let tags = get_ok(&sim, &format!("/v2/{PROJECT}/rabbitmq/{id}/tags"), &[]).await;
    assert_shape("R7", &fixture("R7_instance_tags.json"), &tags);

    let v1 = get_ok(&sim, &format!("/v1.0/{PROJECT}/instances/{id}"), &[]).await;
    assert_shape("R12 a", &fixture("R12_instance_v1_a.json"), &v1);
    let mut cn = fixture("R12_instance_v1_b.json");
    cn["enable_publicip"] = json!(true);
    assert_shape("R12 b (Boolean as documented)", &cn, &v1);

    let v1_list = get_ok(
        &sim,
        &format!("/v1.0/{PROJECT}/instances"),
        &[("engine", "rabbitmq")],
    )
    .await;
    assert_shape("R13", &fixture("R13_instances_v1.json"), &v1_list);
    assert_eq!(v1_list["instances"][0], v1, "R12 equals the R13 entry");
}

/// The 43 fields of rabbitmq.md §2.0.1 and their documented JSON types.
const SHOW_INSTANCE_RESP: [(&str, &str); 43] = [
    ("access_user", "string"),
    ("broker_num", "integer"),
    ("name", "string"),
    ("engine", "string"),
    ("engine_version", "string"),
    ("specification", "string"),
    ("storage_space", "integer"),
    ("used_storage_space", "integer"),
    ("connect_address", "string"),
    ("port", "integer"),
    ("status", "string"),
    ("description", "string"),
    ("instance_id", "string"),
    ("resource_spec_code", "string"),
    ("charging_mode", "integer"),
    ("vpc_id", "string"),
    ("vpc_name", "string"),
    ("created_at", "string"),
    ("user_id", "string"),
    ("user_name", "string"),
    ("order_id", "string"),
    ("maintain_begin", "string"),
    ("maintain_end", "string"),
    ("enable_publicip", "boolean"),
    ("publicip_address", "public"),
    ("publicip_id", "public"),
    ("management_connect_address", "string"),
    ("ssl_enable", "boolean"),
    ("enterprise_project_id", "string"),
    ("is_logical_volume", "boolean"),
    ("extend_times", "integer"),
    ("type", "string"),
    ("product_id", "string"),
    ("security_group_id", "string"),
    ("security_group_name", "string"),
    ("subnet_id", "string"),
    ("available_zones", "strings"),
    ("total_storage_space", "integer"),
    ("storage_resource_id", "string"),
    ("storage_spec_code", "string"),
    ("ipv6_enable", "boolean"),
    ("ipv6_connect_addresses", "strings"),
    ("tags", "tags"),
];

fn check_instance(instance: &Value) {
    let object = instance.as_object().expect("instance is an object");
    let public = instance["enable_publicip"] == Value::Bool(true);
    for (field, documented) in SHOW_INSTANCE_RESP {
        let value = object
            .get(field)
            .unwrap_or_else(|| panic!("{field} missing"));
        let ok = match documented {
            "string" => value.is_string(),
            "integer" => value.is_u64() || value.is_i64(),
            "boolean" => value.is_boolean(),
            "strings" => value
                .as_array()
                .is_some_and(|a| a.iter().all(Value::is_string)),
            "tags" => value.as_array().is_some_and(|a| {
                a.iter()
                    .all(|t| t["key"].is_string() && t["value"].is_string())
            }),
            // String when public access is on, null when off (documented).
            "public" => value.is_string() == public && value.is_null() != public,
            _ => unreachable!(),
        };
        assert!(ok, "{field}: documented {documented}, got {value}");
    }
    assert_eq!(object.len(), 43, "no undocumented fields");
    let clock = |v: &Value| {
        v.as_str()
            .is_some_and(|s| s.len() == 8 && s.as_bytes()[2] == b':')
    };
    assert!(clock(&instance["maintain_begin"]) && clock(&instance["maintain_end"]));
    assert!(
        instance["created_at"]
            .as_str()
            .is_some_and(|s| s.parse::<i64>().is_ok()),
        "created_at is epoch ms as a string"
    );
    let brokers = match instance["type"].as_str() {
        Some("single") => 1,
        Some("cluster") => 3,
        other => panic!("type {other:?}"),
    };
    assert_eq!(instance["broker_num"], brokers);
}

#[tokio::test]
async fn instance_objects_follow_the_documented_schema() {
    // The demo fleet has one single node without public access and one cluster with it.
    let sim = dms_sim::Simulator::new(dms_sim::SimConfig::demo());
    let mut kinds = Vec::new();
    for project in [PROJECT, PROJECT2] {
        let list = get_ok(
            &sim,
            &format!("/v2/{project}/instances"),
            &[("engine", "rabbitmq")],
        )
        .await;
        for instance in list["instances"].as_array().expect("instances") {
            check_instance(instance);
            kinds.push((
                instance["type"].as_str().unwrap_or_default().to_owned(),
                instance["enable_publicip"] == Value::Bool(true),
            ));
        }
    }
    kinds.sort();
    assert_eq!(
        kinds,
        [("cluster".to_owned(), true), ("single".to_owned(), false)]
    );
}

#[tokio::test]
async fn documented_string_numbers_and_v1_formats() {
    let sim = sim();
    let id = rabbit(&sim);
    let tasks = get_ok(&sim, &format!("/v2/{PROJECT}/instances/{id}/tasks"), &[]).await;
    assert_eq!(tasks["task_count"], "3");
    let created = tasks["tasks"][0]["created_at"].as_str().unwrap_or_default();
    // ISO-8601 UTC with milliseconds, like `2020-06-23T03:00:03.471Z`.
    assert_eq!(created.len(), 24, "{created}");
    assert!(created.ends_with('Z') && created.as_bytes()[19] == b'.');
    let v1 = get_ok(&sim, &format!("/v1.0/{PROJECT}/instances/{id}"), &[]).await;
    assert_eq!(v1["maintain_begin"], "22:00", "V1 documents HH:mm");
    assert!(v1["error_code"].is_null());
    assert!(v1["support_features"].is_string());
}
