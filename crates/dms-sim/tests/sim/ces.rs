//! Cloud Eye (CES): the hierarchy follows the fleet and names every series ListMetrics lists;
//! BatchListMetricData's limits (500 metrics, the 3000-point rule by moving `from`), `from`
//! rounded down, aggregates at the period start; points visible only after their lateness;
//! values that agree with the DMS answers; errors in CES's shapes.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use dms_sim::{CesErrorShape, CesSpec, Fault, FaultRule, SimConfig, Simulator};
use serde_json::{Value, json};

use crate::common::*;

const MINUTE: i64 = 60_000;

/// (metric, dimensions in `dim_router` order).
pub(crate) type Series = (String, Vec<(String, String)>);

/// Moves the fleet clock `minutes` minutes on (the deterministic tick is 10 s).
pub(crate) fn step_minutes(sim: &Simulator, minutes: usize) {
    for _ in 0..minutes * 6 {
        sim.step();
    }
}

/// The first instance of an engine in the first project.
pub(crate) async fn instance_of(sim: &Simulator, engine: &str) -> String {
    let list = get_ok(
        sim,
        &format!("/v2/{PROJECT}/instances"),
        &[("engine", engine)],
    )
    .await;
    list["instances"][0]["instance_id"]
        .as_str()
        .expect("an instance of the engine in the first project")
        .to_owned()
}

pub(crate) async fn hierarchy(sim: &Simulator, id: &str) -> Value {
    get_ok(
        sim,
        &format!("/v2/{PROJECT}/instances/{id}/ces-hierarchy"),
        &[],
    )
    .await
}

/// Every series a hierarchy names, built as a collector would: for each level (children
/// too), the instance id, then one value per `key_name` list. A list named after the first
/// is a field of the element above (Kafka's `queues` → `partitions`); where the element has
/// no such field, it is the top-level list whose elements' `vhost` is the element above
/// (RabbitMQ's `vhosts` → `queues`).
pub(crate) fn series_of(hierarchy: &Value) -> Vec<Series> {
    let id = hierarchy["instance_ids"][0]["name"]
        .as_str()
        .expect("the instance id")
        .to_owned();
    let mut levels: Vec<&Value> = Vec::new();
    for level in hierarchy["dimensions"].as_array().expect("dimensions") {
        levels.push(level);
        levels.extend(level["children"].as_array().into_iter().flatten());
    }
    let strings = |value: &Value| -> Vec<String> {
        value
            .as_array()
            .expect("a list")
            .iter()
            .map(|v| v.as_str().expect("a string").to_owned())
            .collect()
    };
    let mut series = Vec::new();
    for level in levels {
        let router = strings(&level["dim_router"]);
        let keys = strings(&level["key_name"]);
        let tuples: Vec<Vec<String>> = if keys == ["instance_ids"] {
            vec![Vec::new()]
        } else {
            walk(hierarchy, &keys)
        };
        for metric in strings(&level["metrics"]) {
            for tuple in &tuples {
                let values = std::iter::once(id.clone()).chain(tuple.iter().cloned());
                let dimensions = router.iter().cloned().zip(values).collect();
                series.push((metric.clone(), dimensions));
            }
        }
    }
    series
}

fn walk(hierarchy: &Value, keys: &[String]) -> Vec<Vec<String>> {
    let name = |v: &Value| v["name"].as_str().expect("a name").to_owned();
    let mut rows: Vec<(Vec<String>, &Value)> = hierarchy[&keys[0]]
        .as_array()
        .expect("a key list")
        .iter()
        .map(|element| (vec![name(element)], element))
        .collect();
    for key in &keys[1..] {
        rows = rows
            .into_iter()
            .flat_map(|(values, element)| {
                let below: Vec<&Value> = match element[key].as_array() {
                    Some(nested) => nested.iter().collect(),
                    None => hierarchy[key]
                        .as_array()
                        .expect("a top-level list")
                        .iter()
                        .filter(|e| e["vhost"] == element["name"])
                        .collect(),
                };
                below.into_iter().map(move |e| {
                    let mut values = values.clone();
                    values.push(name(e));
                    (values, e)
                })
            })
            .collect();
    }
    rows.into_iter().map(|(values, _)| values).collect()
}

pub(crate) fn metric_json(series: &Series) -> Value {
    let dimensions: Vec<Value> = series
        .1
        .iter()
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect();
    json!({ "namespace": "SYS.DMS", "metric_name": series.0, "dimensions": dimensions })
}

pub(crate) async fn batch(sim: &Simulator, body: &Value) -> Reply {
    let bytes = serde_json::to_vec(body).expect("serialises");
    batch_bytes(sim, &bytes).await
}

async fn batch_bytes(sim: &Simulator, bytes: &[u8]) -> Reply {
    let path = format!("/V1.0/{PROJECT}/batch-query-metric-data");
    let request = signed_request_with_body("POST", &path, &[], bytes, &Signing::default());
    send(sim, request).await
}

pub(crate) async fn batch_ok(
    sim: &Simulator,
    series: &[Series],
    period: &str,
    filter: &str,
    (from, to): (i64, i64),
) -> Value {
    let metrics: Vec<Value> = series.iter().map(metric_json).collect();
    let body =
        json!({ "metrics": metrics, "period": period, "filter": filter, "from": from, "to": to });
    let reply = batch(sim, &body).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()
}

/// ShowMetricData of one series with raw points (`period=1`), as JSON.
pub(crate) async fn show_metric_data(
    sim: &Simulator,
    series: &Series,
    filter: &str,
    (from, to): (i64, i64),
) -> Value {
    let (from, to) = (from.to_string(), to.to_string());
    let dims: Vec<String> = series.1.iter().map(|(n, v)| format!("{n},{v}")).collect();
    let mut query: Vec<(&str, &str)> = vec![
        ("namespace", "SYS.DMS"),
        ("metric_name", &series.0),
        ("filter", filter),
        ("period", "1"),
        ("from", &from),
        ("to", &to),
    ];
    let names = ["dim.0", "dim.1", "dim.2", "dim.3"];
    query.extend(names.iter().zip(&dims).map(|(n, d)| (*n, d.as_str())));
    get_ok(sim, &format!("/V1.0/{PROJECT}/metric-data"), &query).await
}

/// (timestamp, value) of one answer entry's datapoints, reading the `filter` field.
fn points(entry: &Value, filter: &str) -> Vec<(i64, f64)> {
    entry["datapoints"]
        .as_array()
        .expect("datapoints")
        .iter()
        .map(|p| {
            (
                p["timestamp"].as_i64().expect("a timestamp"),
                p[filter].as_f64().expect("the filter's field"),
            )
        })
        .collect()
}

fn truth(sim: &Simulator, series: &Series) -> Vec<dms_sim::CesPoint> {
    let dimensions: Vec<(&str, &str)> = series
        .1
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    sim.ces_points(&series.0, &dimensions)
}

fn last_value(sim: &Simulator, series: &Series) -> f64 {
    let points = truth(sim, series);
    assert_eq!(
        points.last().map(|p| p.timestamp),
        Some(sim.now_ms()),
        "{series:?} was sampled at this minute"
    );
    points.last().map_or(f64::NAN, |p| p.value)
}

fn find(series: &[Series], metric: &str, last_value: &str) -> Series {
    series
        .iter()
        .find(|(m, d)| m == metric && d.last().is_some_and(|(_, v)| v == last_value))
        .cloned()
        .unwrap_or_else(|| panic!("no {metric} for {last_value}"))
}

/// The first series of `metric` that has datapoints (some series never do).
fn with_points(sim: &Simulator, series: &[Series], metric: &str) -> Series {
    series
        .iter()
        .filter(|s| s.0 == metric)
        .find(|s| {
            truth(sim, s)
                .first()
                .is_some_and(|p| p.visible_from.is_some())
        })
        .cloned()
        .unwrap_or_else(|| panic!("a {metric} series with datapoints"))
}

/// A Kafka broker's `broker_data_size` series with datapoints, `minutes` of history later.
async fn broker_data_size_after(sim: &Simulator, minutes: usize) -> Series {
    let id = instance_of(sim, "kafka").await;
    let series = series_of(&hierarchy(sim, &id).await);
    let series = with_points(sim, &series, "broker_data_size");
    step_minutes(sim, minutes);
    series
}

/// Every series of ListMetrics for one instance, following the marker page by page.
async fn list_all(sim: &Simulator, dim0: &str, limit: usize) -> (Vec<Series>, usize) {
    let mut series = Vec::new();
    let mut start = String::new();
    let mut pages = 0;
    loop {
        let limit = limit.to_string();
        let page = get_ok(
            sim,
            &format!("/V1.0/{PROJECT}/metrics"),
            &[
                ("namespace", "SYS.DMS"),
                ("dim.0", dim0),
                ("start", &start),
                ("limit", &limit),
            ],
        )
        .await;
        let metrics = page["metrics"].as_array().expect("metrics").clone();
        assert_eq!(page["meta_data"]["count"], metrics.len());
        if metrics.is_empty() {
            return (series, pages);
        }
        pages += 1;
        for metric in metrics {
            let dimensions = metric["dimensions"]
                .as_array()
                .expect("dimensions")
                .iter()
                .map(|d| {
                    let text = |f: &str| d[f].as_str().expect("a string").to_owned();
                    (text("name"), text("value"))
                })
                .collect();
            let name = metric["metric_name"].as_str().expect("a name").to_owned();
            series.push((name, dimensions));
        }
        start = page["meta_data"]["marker"]
            .as_str()
            .expect("marker")
            .to_owned();
    }
}

#[tokio::test(start_paused = true)]
async fn hierarchy_names_every_listed_series_and_follows_the_fleet() {
    let sim = sim();
    for engine in ["kafka", "reliability", "rabbitmq"] {
        let id = instance_of(&sim, engine).await;
        let named: BTreeSet<Series> = series_of(&hierarchy(&sim, &id).await).into_iter().collect();
        let dim0 = named.iter().next().expect("a series").1[0].clone();
        let filter = format!("{},{}", dim0.0, dim0.1);
        let (listed, pages) = list_all(&sim, &filter, 7).await;
        assert!(pages > 3, "{engine}: paged ({pages} pages)");
        let unique: BTreeSet<Series> = listed.iter().cloned().collect();
        assert_eq!(
            unique.len(),
            listed.len(),
            "{engine}: a series listed twice"
        );
        assert_eq!(
            unique, named,
            "{engine}: ListMetrics and the hierarchy agree"
        );
    }

    // A deleted topic leaves the hierarchy at once; CES keeps listing its series (3 hours).
    let id = instance_of(&sim, "kafka").await;
    let before = hierarchy(&sim, &id).await;
    let topic = before["queues"][0]["name"]
        .as_str()
        .expect("a topic")
        .to_owned();
    let topics = get_ok(&sim, &format!("/v2/{PROJECT}/instances/{id}/topics"), &[]).await;
    assert!(topics.to_string().contains(&format!("\"{topic}\"")));
    assert!(sim.delete_topic(&id, &topic));
    step_minutes(&sim, 1);
    let after = hierarchy(&sim, &id).await;
    let names = |h: &Value| -> BTreeSet<String> {
        h["queues"]
            .as_array()
            .expect("queues")
            .iter()
            .map(|q| q["name"].as_str().expect("name").to_owned())
            .collect()
    };
    assert!(names(&before).contains(&topic));
    assert!(!names(&after).contains(&topic), "the deleted topic is gone");
    assert!(
        !after["groups"]
            .to_string()
            .contains(&format!("\"{topic}\""))
    );
    let in_rate = (
        "topic_messages_in_rate".to_owned(),
        vec![
            ("kafka_instance_id".to_owned(), id.clone()),
            ("kafka_topics".to_owned(), topic.clone()),
        ],
    );
    let (listed, _) = list_all(&sim, &format!("kafka_instance_id,{id}"), 1000).await;
    assert!(
        listed.contains(&in_rate),
        "CES still lists the deleted topic"
    );
    let points = truth(&sim, &in_rate);
    assert!(
        points.iter().all(|p| p.timestamp < sim.now_ms()),
        "no point after the deletion: {points:?}"
    );
    step_minutes(&sim, 181);
    let (listed, _) = list_all(&sim, &format!("kafka_instance_id,{id}"), 1000).await;
    assert!(!listed.contains(&in_rate), "gone after 3 hours");

    let missing = get(
        &sim,
        &format!("/v2/{PROJECT}/instances/no-such-instance/ces-hierarchy"),
        &[],
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.error_code(), "DMS.00404022");
}

#[tokio::test(start_paused = true)]
async fn list_metrics_filters_orders_and_checks_its_parameters() {
    let sim = sim();
    let path = format!("/V1.0/{PROJECT}/metrics");
    let all = get_ok(&sim, &path, &[]).await;
    let total = all["meta_data"]["total"].as_u64().expect("total");
    assert_eq!(
        all["metrics"].as_array().map(Vec::len),
        Some(total as usize)
    );
    let kafka = instance_of(&sim, "kafka").await;
    let one = get_ok(
        &sim,
        &path,
        &[
            ("metric_name", "broker_data_size"),
            ("dim.0", &format!("kafka_instance_id,{kafka}")),
        ],
    )
    .await;
    assert_eq!(one["meta_data"]["total"], 3, "three brokers: {one}");
    let desc = get_ok(&sim, &path, &[("order", "desc"), ("limit", "5")]).await;
    let asc = get_ok(&sim, &path, &[("order", "asc")]).await;
    let last_five: Vec<&Value> = asc["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .rev()
        .take(5)
        .collect();
    let first_five: Vec<&Value> = desc["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .collect();
    assert_eq!(first_five, last_five);
    // The other project sees its own instances only.
    let other = get_ok(&sim, &format!("/V1.0/{PROJECT2}/metrics"), &[]).await;
    assert!(!other.to_string().contains(&kafka));
    for bad in [
        ("limit", "0"),
        ("limit", "1001"),
        ("order", "up"),
        ("dim.0", "nocomma"),
    ] {
        let reply = get(&sim, &path, &[bad]).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad:?}");
        assert_eq!(reply.json()["message"]["code"], "ces.0014", "{bad:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn batch_refuses_more_than_500_metrics_and_bodies_over_512_kb() {
    let sim = sim();
    let id = instance_of(&sim, "kafka").await;
    let series = find(
        &series_of(&hierarchy(&sim, &id).await),
        "broker_data_size",
        "broker-0",
    );
    let now = sim.now_ms();
    let body = |n: usize| {
        json!({
            "metrics": vec![metric_json(&series); n],
            "period": "1", "filter": "average", "from": now - 10 * MINUTE, "to": now,
        })
    };
    assert_eq!(batch(&sim, &body(500)).await.status, StatusCode::OK);
    for n in [0, 501] {
        let reply = batch(&sim, &body(n)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{n} metrics");
        let error = reply.json();
        assert_eq!(error["http_code"], "400");
        assert_eq!(error["message"]["code"], "ces.0014");
        assert!(
            error.get("error_code").is_none(),
            "not DMS's shape: {error}"
        );
    }
    let mut large = body(1);
    large["padding"] = json!("x".repeat(512 * 1024));
    assert_eq!(batch(&sim, &large).await.status, StatusCode::BAD_REQUEST);
    for (field, value) in [
        ("period", json!(1)),
        ("period", json!("120")),
        ("filter", json!("median")),
        ("from", json!(now)),
        ("to", json!(10_000_000_000_000_i64)),
    ] {
        let mut bad = body(1);
        bad[field] = value.clone();
        let reply = batch(&sim, &bad).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{field} = {value}");
    }
    for (pointer, value) in [
        ("/metrics/0/namespace", json!("X")),
        ("/metrics/0/metric_name", json!("")),
        ("/metrics/0/dimensions/0/value", json!("")),
        ("/metrics/0/dimensions/0/name", json!("n".repeat(33))),
    ] {
        let mut bad = body(1);
        if let Some(field) = bad.pointer_mut(pointer) {
            *field = value;
        }
        let reply = batch(&sim, &bad).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{pointer}");
    }
    let mut no_dimensions = body(1);
    no_dimensions["metrics"][0]["dimensions"] = json!([]);
    assert_eq!(
        batch(&sim, &no_dimensions).await.status,
        StatusCode::BAD_REQUEST
    );
    let garbage = batch_bytes(&sim, b"{not json").await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
}

#[tokio::test(start_paused = true)]
async fn the_3000_point_rule_moves_from_and_from_rounds_down_to_the_period() {
    let sim = sim();
    let series = broker_data_size_after(&sim, 90).await;
    let now = sim.now_ms();
    // Long after the lateness: every point of the window is visible.
    let truth: Vec<(i64, f64)> = truth(&sim, &series)
        .iter()
        .filter(|p| p.visible_from.is_some_and(|v| v <= now))
        .map(|p| (p.timestamp, p.value))
        .collect();
    assert!(truth.len() > 80, "the series has points: {}", truth.len());

    // 300 metrics over an hour of raw points: `from` moves to `to` − 10 minutes, no error,
    // and rounds down to the minute, so [from, to] holds 11 minutes a series: the answer
    // stops at 3000 points, the oldest left out. (`to` a quarter of an hour back: every
    // point of the window is visible, the very late ones too.)
    let to = now - 15 * MINUTE + 30_000;
    let answer = batch_ok(
        &sim,
        &vec![series.clone(); 300],
        "1",
        "average",
        (to - 60 * MINUTE, to),
    )
    .await;
    let entries = answer["metrics"].as_array().expect("metrics");
    assert_eq!(entries.len(), 300);
    let total: usize = entries.iter().map(|e| points(e, "average").len()).sum();
    assert_eq!(total, 3000, "capped at 3000 points");
    for entry in entries {
        let got = points(entry, "average");
        assert!(got.iter().all(|(at, _)| *at > to - 10 * MINUTE), "{got:?}");
        assert!(got.len() == 10, "{}", got.len());
    }
    // One metric, a `from` inside a minute: rounded down to the minute.
    let answer = batch_ok(
        &sim,
        std::slice::from_ref(&series),
        "1",
        "average",
        (now - 5 * MINUTE + 30_000, now),
    )
    .await;
    let got = points(&answer["metrics"][0], "average");
    let expected: Vec<(i64, f64)> = truth
        .iter()
        .filter(|p| p.0 >= now - 5 * MINUTE)
        .copied()
        .collect();
    assert_eq!(got, expected, "raw points from the minute `from` falls in");

    // Five-minute averages: stamped at the period's start, `from` rounded down to it, the
    // period in progress absent.
    let answer = batch_ok(
        &sim,
        std::slice::from_ref(&series),
        "300",
        "average",
        (now - 20 * MINUTE - 90_000, now),
    )
    .await;
    let got = points(&answer["metrics"][0], "average");
    let five = 5 * MINUTE;
    let first = now - 20 * MINUTE - 90_000;
    let first = first - first.rem_euclid(five);
    let mut expected = Vec::new();
    let mut start = first;
    while start + five <= now {
        let values: Vec<f64> = truth
            .iter()
            .filter(|p| p.0 >= start && p.0 < start + five)
            .map(|p| p.1)
            .collect();
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        expected.push((start, mean.round()));
        start += five;
    }
    assert_eq!(got, expected);
    assert_eq!(got.first().map(|p| p.0), Some(first));
    let max = batch_ok(
        &sim,
        std::slice::from_ref(&series),
        "300",
        "max",
        (now - 20 * MINUTE, now),
    )
    .await;
    assert!(max["metrics"][0]["datapoints"][0].get("max").is_some());
    assert!(
        max["metrics"][0]["datapoints"][0].get("average").is_none(),
        "only the filter's field"
    );
}

#[tokio::test(start_paused = true)]
async fn points_become_visible_only_after_their_lateness() {
    let sim = sim();
    let id = instance_of(&sim, "kafka").await;
    let series = series_of(&hierarchy(&sim, &id).await);
    assert!(
        series.len() <= 200,
        "{} series fit one 15-minute batch",
        series.len()
    );
    let (mut held_back, mut very_late, mut without_points, mut out_of_order) = (0, 0, 0, false);
    for _ in 0..40 {
        step_minutes(&sim, 1);
        let now = sim.now_ms();
        let answer = batch_ok(&sim, &series, "1", "average", (now - 15 * MINUTE, now)).await;
        let mut seen_this_minute: Vec<(i64, bool)> = Vec::new();
        for (entry, one) in answer["metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .zip(&series)
        {
            let got = points(entry, "average");
            let truth = truth(&sim, one);
            let expected: Vec<(i64, f64)> = truth
                .iter()
                .filter(|p| p.timestamp >= now - 15 * MINUTE)
                .filter(|p| p.visible_from.is_some_and(|v| v <= now))
                .map(|p| (p.timestamp, p.value))
                .collect();
            assert_eq!(got, expected, "{one:?} at {now}");
            for point in &truth {
                match point.visible_from {
                    None => without_points += 1,
                    Some(visible) => {
                        assert!(
                            visible >= point.timestamp + MINUTE,
                            "at least the base lateness"
                        );
                        if visible > now && point.timestamp + 3 * MINUTE <= now {
                            very_late += 1;
                        } else if visible > now {
                            held_back += 1;
                        }
                    }
                }
                if point.timestamp == now - 2 * MINUTE {
                    seen_this_minute.push((
                        point.timestamp,
                        point.visible_from.is_some_and(|v| v <= now),
                    ));
                }
            }
        }
        // The same minute is visible for some series and not yet for others.
        let visible: BTreeSet<bool> = seen_this_minute.iter().map(|s| s.1).collect();
        out_of_order |= visible.len() == 2;
    }
    assert!(held_back > 0, "recent points are held back");
    assert!(very_late > 0, "some points are very late");
    assert!(without_points > 0, "some series have no datapoints");
    assert!(
        out_of_order,
        "series of one minute become visible at different times"
    );
}

#[tokio::test(start_paused = true)]
async fn kafka_values_agree_with_the_dms_answers() {
    let sim = sim();
    let id = instance_of(&sim, "kafka").await;
    let series = series_of(&hierarchy(&sim, &id).await);
    let base = format!("/v2/{PROJECT}/instances/{id}");
    let topics: Vec<String> = hierarchy(&sim, &id).await["queues"]
        .as_array()
        .expect("queues")
        .iter()
        .map(|q| q["name"].as_str().expect("name").to_owned())
        .collect();
    // Σ log end offsets of a topic, from the DMS topic detail (one call a second).
    async fn log_end(sim: &Simulator, base: &str, topic: &str) -> u64 {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let detail = get_ok(sim, &format!("{base}/management/topics/{topic}"), &[]).await;
        detail["partitions"]
            .as_array()
            .expect("partitions")
            .iter()
            .map(|p| p["leo"].as_u64().expect("leo"))
            .sum()
    }
    let mut before = Vec::new();
    for topic in &topics {
        before.push(log_end(&sim, &base, topic).await);
    }
    let mut grew = false;
    for _ in 0..5 {
        step_minutes(&sim, 1);
        for (topic, before) in topics.iter().zip(before.iter_mut()) {
            let after = log_end(&sim, &base, topic).await;
            let rate = last_value(&sim, &find(&series, "topic_messages_in_rate", topic));
            assert_eq!(
                rate,
                ((after - *before) / 60) as f64,
                "{topic}: messages a second, rounded down"
            );
            grew |= rate > 0.0;
            *before = after;
        }
        // A broker's data size is its disk use in the disk-usage answer (`du -h`, rounded up).
        let usage = get_ok(&sim, &format!("{base}/topics/diskusage"), &[]).await;
        for broker in usage["broker_list"].as_array().expect("brokers") {
            let name = broker["broker_name"].as_str().expect("name");
            let shown = broker["data_disk_use"].as_str().expect("use");
            let size = last_value(&sim, &find(&series, "broker_data_size", name));
            let (number, unit) = shown.split_at(shown.len() - 1);
            let scale = match unit {
                "K" => 1024.0,
                "M" => 1024.0 * 1024.0,
                "G" => 1024.0 * 1024.0 * 1024.0,
                other => panic!("unit {other}"),
            };
            let step = if number.contains('.') { 0.1 } else { 1.0 };
            let shown: f64 = number.parse().expect("a number");
            let in_units = size / scale;
            assert!(
                in_units <= shown && in_units > shown - step,
                "{name}: {size} bytes shown as {shown}{unit}"
            );
        }
    }
    assert!(grew, "some topic received messages");
    // The instance's totals are its levels' sums.
    let instance = |metric: &str| {
        last_value(
            &sim,
            &(
                metric.to_owned(),
                vec![("kafka_instance_id".to_owned(), id.clone())],
            ),
        )
    };
    assert_eq!(instance("current_topics"), topics.len() as f64);
    let remained: f64 = series
        .iter()
        .filter(|s| s.0 == "consumer_messages_remained")
        .map(|s| last_value(&sim, s))
        .sum();
    assert_eq!(instance("group_msgs"), remained);
}

#[tokio::test(start_paused = true)]
async fn rabbitmq_ready_and_unacknowledged_add_up_to_the_queue_depth() {
    let sim = sim();
    let id = instance_of(&sim, "rabbitmq").await;
    let tree = hierarchy(&sim, &id).await;
    let series = series_of(&tree);
    let mut checked = 0;
    for _ in 0..3 {
        step_minutes(&sim, 1);
        let (mut ready_total, mut unacked_total) = (0.0, 0.0);
        for vhost in tree["vhosts"].as_array().expect("vhosts") {
            let vhost = vhost["name"].as_str().expect("vhost");
            let path = format!(
                "/v2/rabbitmq/{PROJECT}/instances/{id}/vhosts/{}/queues",
                vhost.replace('/', "__F_SLASH__")
            );
            let queues = get_ok(&sim, &path, &[("limit", "50")]).await;
            for queue in queues["items"].as_array().expect("items") {
                let name = queue["name"].as_str().expect("name");
                let of = |metric: &str| {
                    let key = (
                        metric.to_owned(),
                        vec![
                            ("rabbitmq_instance_id".to_owned(), id.clone()),
                            ("rabbitmq_vhost".to_owned(), vhost.to_owned()),
                            ("rabbitmq_queue".to_owned(), name.to_owned()),
                        ],
                    );
                    assert!(series.contains(&key), "{key:?} is in the hierarchy");
                    last_value(&sim, &key)
                };
                let (ready, unacked) = (
                    of("queue_messages_ready"),
                    of("queue_messages_unacknowledged"),
                );
                assert_eq!(
                    ready + unacked,
                    queue["messages"].as_f64().expect("messages"),
                    "{vhost} {name}"
                );
                assert_eq!(
                    of("queue_consumers"),
                    queue["consumers"].as_f64().expect("consumers")
                );
                ready_total += ready;
                unacked_total += unacked;
                checked += 1;
            }
        }
        let instance = |metric: &str| {
            last_value(
                &sim,
                &(
                    metric.to_owned(),
                    vec![("rabbitmq_instance_id".to_owned(), id.clone())],
                ),
            )
        };
        assert_eq!(instance("messages_ready"), ready_total);
        assert_eq!(instance("messages_unacknowledged"), unacked_total);
        assert!(unacked_total > 0.0, "consumers hold messages");
    }
    assert!(checked > 6, "{checked} queues checked");
}

#[tokio::test(start_paused = true)]
async fn show_metric_data_answers_one_series_as_the_batch_does() {
    let sim = sim();
    let series = broker_data_size_after(&sim, 30).await;
    let now = sim.now_ms();
    let window = (now - 20 * MINUTE, now);
    let batch = batch_ok(&sim, std::slice::from_ref(&series), "1", "average", window).await;
    let show = show_metric_data(&sim, &series, "average", window).await;
    assert_eq!(show["metric_name"], "broker_data_size");
    assert_eq!(series.1.len(), 2);
    let got = points(&show, "average");
    assert!(got.len() > 10);
    assert_eq!(got, points(&batch["metrics"][0], "average"));
    assert!(
        show["datapoints"]
            .as_array()
            .expect("points")
            .iter()
            .all(|p| p["unit"] == "Byte")
    );
    let missing = get(
        &sim,
        &format!("/V1.0/{PROJECT}/metric-data"),
        &[("namespace", "SYS.DMS")],
    )
    .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.json()["message"]["code"], "ces.0014");
}

#[tokio::test(start_paused = true)]
async fn errors_come_in_ces_shapes_and_ces_faults_stay_on_ces_paths() {
    let sim = sim();
    let metrics = format!("/V1.0/{PROJECT}/metrics");
    let cases = [
        (
            Fault::CesThrottle,
            StatusCode::TOO_MANY_REQUESTS,
            "ces.0429",
        ),
        (Fault::Forbidden, StatusCode::FORBIDDEN, "ces.0017"),
        (
            Fault::ServerError(503),
            StatusCode::SERVICE_UNAVAILABLE,
            "ces.0007",
        ),
        (
            Fault::ServerError(500),
            StatusCode::INTERNAL_SERVER_ERROR,
            "ces.0007",
        ),
        (Fault::DmsUnauthorized, StatusCode::UNAUTHORIZED, "ces.0015"),
        (
            Fault::Throttle404,
            StatusCode::TOO_MANY_REQUESTS,
            "ces.0429",
        ),
    ];
    for (fault, status, code) in cases {
        sim.set_fault(FaultRule {
            endpoint: "ces".to_owned(),
            instance_id: None,
            fault: fault.clone(),
            remaining: Some(1),
        });
        // The DMS paths are untouched by a CES rule.
        get_ok(&sim, &format!("/v2/{PROJECT}/instances"), &[]).await;
        let reply = get(&sim, &metrics, &[]).await;
        assert_eq!(reply.status, status, "{fault:?}");
        let body = reply.json();
        assert_eq!(body["http_code"], status.as_u16().to_string(), "{fault:?}");
        assert_eq!(body["message"]["code"], code, "{fault:?}");
        assert!(body.get("error_code").is_none(), "{fault:?}: {body}");
        assert_eq!(
            get(&sim, &metrics, &[]).await.status,
            StatusCode::OK,
            "one request only"
        );
    }
    // The gateway's throttling and signature errors keep the gateway's shape.
    sim.set_fault(FaultRule {
        endpoint: "ces_batch_metric_data".to_owned(),
        instance_id: None,
        fault: Fault::Throttle429,
        remaining: Some(1),
    });
    let now = sim.now_ms();
    let body =
        json!({"metrics": [], "period": "1", "filter": "average", "from": now - MINUTE, "to": now});
    let throttled = batch(&sim, &body).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.error_code(), "APIGW.0308");
    let wrong_key = Signing {
        sk: "not-the-secret".to_owned(),
        ..Signing::default()
    };
    let unsigned = send(&sim, signed_request("GET", &metrics, &[], &wrong_key)).await;
    assert_eq!(unsigned.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unsigned.error_code(), "APIGW.0301");

    // Older regions' shape, when configured.
    let legacy = Simulator::new(SimConfig {
        ces: CesSpec {
            error_shape: CesErrorShape::Legacy,
            ..CesSpec::typical()
        },
        ..SimConfig::deterministic()
    });
    let reply = get(&legacy, &metrics, &[("limit", "0")]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let body = reply.json();
    assert_eq!(body["code"], 400);
    assert_eq!(body["element"], "Bad Request");
    assert_eq!(body["details"]["code"], "ces.0014");

    // Without CES the paths do not exist; the DMS hierarchy stays.
    let off = Simulator::new(SimConfig {
        ces: CesSpec {
            enabled: false,
            ..CesSpec::typical()
        },
        ..SimConfig::deterministic()
    });
    let reply = get(&off, &metrics, &[]).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.json()["message"]["code"], "ces.0016");
    let id = instance_of(&off, "kafka").await;
    hierarchy(&off, &id).await;
}

#[tokio::test(start_paused = true)]
async fn the_control_api_tells_the_recorded_points() {
    let sim = sim();
    let id = instance_of(&sim, "kafka").await;
    step_minutes(&sim, 3);
    let uri = format!("/_sim/ces/points?metric=current_topics&dim.0=kafka_instance_id,{id}");
    let answer = send_json(&sim, "GET", &uri, None).await.json();
    let expected = sim.ces_points("current_topics", &[("kafka_instance_id", &id)]);
    let points = answer["points"].as_array().expect("points");
    assert_eq!(points.len(), 4, "one a minute since the start: {answer}");
    for (point, expected) in points.iter().zip(&expected) {
        assert_eq!(point["timestamp"], expected.timestamp);
        assert_eq!(point["value"].as_f64(), Some(expected.value));
        assert_eq!(point["visible_from"].as_i64(), expected.visible_from);
    }
    let missing = send_json(&sim, "GET", "/_sim/ces/points", None).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
}

#[tokio::test(start_paused = true)]
async fn iam_tokens_work_on_ces_paths_and_their_refusals_are_ces_errors() {
    use crate::auth::{token_body, with_token};
    let sim = sim();
    let body = token_body("monitor-password", "cn-north-4");
    let reply = send_json(&sim, "POST", "/v3/auth/tokens", Some(body)).await;
    let token = reply.headers["x-subject-token"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let ours = with_token(&sim, &token, &format!("/V1.0/{PROJECT}/metrics")).await;
    assert_eq!(ours.status, StatusCode::OK);
    for (token, path) in [
        (token.as_str(), format!("/V1.0/{PROJECT2}/metrics")),
        ("MIInotatoken", format!("/V1.0/{PROJECT}/metrics")),
    ] {
        let refused = with_token(&sim, token, &path).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(refused.json()["message"]["code"], "ces.0015", "{path}");
    }
}

#[tokio::test(start_paused = true)]
async fn rocketmq_accumulation_and_consumption_agree_with_the_group_answers() {
    let sim = sim();
    let id = instance_of(&sim, "reliability").await;
    let tree = hierarchy(&sim, &id).await;
    let series = series_of(&tree);
    // (Σ lag, Σ consumer offset) of a group on a topic, from the DMS group-topic answer.
    async fn consumption(sim: &Simulator, id: &str, group: &str, topic: &str) -> (u64, u64) {
        let path = format!("/v2/{PROJECT}/instances/{id}/groups/{group}/topics");
        let answer = get_ok(sim, &path, &[("topic", topic)]).await;
        let queues: Vec<Value> = answer["brokers"]
            .as_array()
            .expect("brokers")
            .iter()
            .flat_map(|b| b["queues"].as_array().cloned().unwrap_or_default())
            .collect();
        let sum = |field: &str| {
            queues
                .iter()
                .map(|q| q[field].as_u64().expect("a number"))
                .sum()
        };
        (sum("lag"), sum("consumer_offset"))
    }
    let pairs: Vec<(String, String)> = tree["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| {
            let group = g["name"].as_str().expect("name").to_owned();
            g["topics"]
                .as_array()
                .expect("topics")
                .iter()
                .map(move |t| (group.clone(), t["name"].as_str().expect("name").to_owned()))
        })
        .collect();
    assert!(pairs.len() >= 3, "{pairs:?}");
    let mut before = Vec::new();
    for (group, topic) in &pairs {
        before.push(consumption(&sim, &id, group, topic).await.1);
    }
    let mut consumed = false;
    for _ in 0..3 {
        step_minutes(&sim, 1);
        for ((group, topic), before) in pairs.iter().zip(before.iter_mut()) {
            let (lag, offset) = consumption(&sim, &id, group, topic).await;
            let key = |metric: &str| {
                let dimensions = vec![
                    ("reliablemq_instance_id".to_owned(), id.clone()),
                    ("reliablemq_groups".to_owned(), group.clone()),
                    ("reliablemq_groups_topics".to_owned(), topic.clone()),
                ];
                let key = (metric.to_owned(), dimensions);
                assert!(series.contains(&key), "{key:?} is in the hierarchy");
                key
            };
            let accumulation = last_value(&sim, &key("group_topic_accumulation"));
            assert_eq!(accumulation, lag as f64, "{group} on {topic}");
            let count = last_value(&sim, &key("group_topic_consume_msg"));
            let rate = last_value(&sim, &key("group_topic_consume_rate"));
            assert_eq!(
                count,
                (offset - *before) as f64,
                "{group} on {topic}: consumed"
            );
            assert_eq!(
                rate,
                ((offset - *before) / 60) as f64,
                "{group} on {topic}: a second"
            );
            consumed |= count > 0.0;
            *before = offset;
        }
    }
    assert!(consumed, "some group consumed");
}
