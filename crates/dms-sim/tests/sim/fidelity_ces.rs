//! CES fidelity: every answer of the CES reads and of ces-hierarchy has the same field
//! names and JSON types as its fixture (`fixtures/api/ces`, written from the Huawei SDK's
//! models; `kafka/R26_ces_hierarchy.json` is the seed's example), recursively; and the batch
//! request fixture is accepted as sent.
//!
//! A hierarchy's `dimensions` are compared level by level with the example's level of the
//! same name (the examples' levels differ in fields: only some have `children`).

use serde_json::{Value, json};

use crate::ces::{
    batch, batch_ok, hierarchy, instance_of, series_of, show_metric_data, step_minutes,
};
use crate::common::*;

fn ces_fixture(name: &str) -> Value {
    engine_fixture("ces", name)
}

fn assert_hierarchy_shape(name: &str, example: &Value, actual: &Value) {
    let without_dimensions = |value: &Value| {
        let mut value = value.clone();
        if let Some(map) = value.as_object_mut() {
            map.remove("dimensions");
        }
        value
    };
    assert_shape(
        name,
        &without_dimensions(example),
        &without_dimensions(actual),
    );
    let levels = |value: &Value| value["dimensions"].as_array().cloned().unwrap_or_default();
    let mut compared = 0;
    for documented in levels(example) {
        let level = levels(actual)
            .into_iter()
            .find(|l| l["name"] == documented["name"]);
        // The seed documents a REST-proxy level the simulator has no model for.
        if documented["name"] == "kafka_rest" {
            assert!(level.is_none());
            continue;
        }
        let level = level.unwrap_or_else(|| panic!("{name}: no level {}", documented["name"]));
        assert_shape(
            &format!("{name} {}", documented["name"]),
            &documented,
            &level,
        );
        assert_eq!(level["dim_router"], documented["dim_router"], "{name}");
        assert_eq!(level["key_name"], documented["key_name"], "{name}");
        compared += 1;
    }
    assert!(compared >= 1, "{name}: no level compared");
    // Every level of the answer has the fields of a level without children.
    let bare = json!({"name": "", "metrics": [""], "key_name": [""], "dim_router": [""]});
    for level in levels(actual) {
        assert_shape(&format!("{name} level"), &bare, &level);
    }
}

#[tokio::test(start_paused = true)]
async fn hierarchies_have_the_documented_shape() {
    let sim = sim();
    for (engine, folder, file) in [
        ("kafka", "kafka", "R26_ces_hierarchy.json"),
        ("reliability", "rocketmq", "sdk_ces_hierarchy.json"),
        ("rabbitmq", "rabbitmq", "sdk_ces_hierarchy.json"),
    ] {
        let id = instance_of(&sim, engine).await;
        let answer = hierarchy(&sim, &id).await;
        assert_hierarchy_shape(file, &engine_fixture(folder, file), &answer);
        assert_eq!(answer["instance_ids"], json!([{ "name": id }]), "{engine}");
    }
}

#[tokio::test(start_paused = true)]
async fn ces_answers_have_the_shape_of_the_sdk_models() {
    let sim = sim();
    step_minutes(&sim, 10);
    let list = get_ok(
        &sim,
        &format!("/V1.0/{PROJECT}/metrics"),
        &[("limit", "50")],
    )
    .await;
    assert_shape("ListMetrics", &ces_fixture("list_metrics.json"), &list);

    let id = instance_of(&sim, "kafka").await;
    let series = series_of(&hierarchy(&sim, &id).await);
    let now = sim.now_ms();
    let answer = batch_ok(&sim, &series, "1", "average", (now - 10 * 60_000, now)).await;
    // Series without datapoints answer `[]`: compare those without the points.
    let example = ces_fixture("batch_list_metric_data.json");
    let mut with_points = answer.clone();
    if let Some(list) = with_points["metrics"].as_array_mut() {
        list.retain(|m| m["datapoints"].as_array().is_some_and(|p| !p.is_empty()));
    }
    assert!(
        with_points["metrics"]
            .as_array()
            .is_some_and(|l| l.len() > 10)
    );
    assert_shape("BatchListMetricData", &example, &with_points);

    let broker = series
        .iter()
        .find(|s| s.0 == "broker_messages_in_rate")
        .expect("a broker series");
    let show = show_metric_data(&sim, broker, "average", (now - 10 * 60_000, now)).await;
    let example = ces_fixture("show_metric_data.json");
    if show["datapoints"].as_array().is_some_and(|p| !p.is_empty()) {
        assert_shape("ShowMetricData", &example, &show);
    } else {
        assert_shape(
            "ShowMetricData",
            &json!({"datapoints": [], "metric_name": ""}),
            &show,
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_documented_request_is_accepted_and_errors_have_the_documented_shapes() {
    let sim = sim();
    let request = ces_fixture("batch_list_metric_data_request.json");
    let reply = batch(&sim, &request).await;
    assert_eq!(reply.status, axum::http::StatusCode::OK);
    // Its instance is not ours: the series has no datapoints, and the unit of the metric.
    assert_eq!(reply.json()["metrics"][0]["datapoints"], json!([]));
    assert_eq!(reply.json()["metrics"][0]["unit"], "Byte/s");

    let bad = get(&sim, &format!("/V1.0/{PROJECT}/metrics"), &[("limit", "0")]).await;
    assert_shape("CES error", &ces_fixture("error_current.json"), &bad.json());
    sim.set_fault(dms_sim::FaultRule {
        endpoint: "ces".to_owned(),
        instance_id: None,
        fault: dms_sim::Fault::Throttle429,
        remaining: Some(1),
    });
    let throttled = get(&sim, &format!("/V1.0/{PROJECT}/metrics"), &[]).await;
    assert_shape(
        "gateway throttling",
        &ces_fixture("error_gateway_throttled.json"),
        &throttled.json(),
    );
    let legacy = dms_sim::Simulator::new(dms_sim::SimConfig {
        ces: dms_sim::CesSpec {
            error_shape: dms_sim::CesErrorShape::Legacy,
            ..dms_sim::CesSpec::typical()
        },
        ..dms_sim::SimConfig::deterministic()
    });
    let bad = get(
        &legacy,
        &format!("/V1.0/{PROJECT}/metrics"),
        &[("order", "x")],
    )
    .await;
    assert_shape(
        "CES legacy error",
        &ces_fixture("error_legacy.json"),
        &bad.json(),
    );
}
