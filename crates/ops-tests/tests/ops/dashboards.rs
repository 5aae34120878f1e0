//! Dashboards, tidy: `dashboards/*.json` are importable Grafana models that use the
//! datasource variable everywhere, describe and unit every panel, link to each other, and
//! only query metrics the exporter exports.

use std::collections::{BTreeMap, BTreeSet};

use ops_tests::dashboards::{
    Dashboard, all_panels, dashboards, panel_queries, substitute, template_variables,
    variable_query,
};
use serde_json::Value;

const EXPECTED_UIDS: [&str; 5] = [
    "dms-exporter",
    "dms-kafka",
    "dms-overview",
    "dms-rabbitmq",
    "dms-rocketmq",
];
const DATASOURCE: &str = "${datasource}";

fn by_uid(uid: &str) -> Dashboard {
    dashboards()
        .into_iter()
        .find(|d| d.uid == uid)
        .unwrap_or_else(|| panic!("no dashboard with uid {uid}"))
}

fn variable<'a>(dashboard: &'a Dashboard, name: &str) -> &'a Value {
    dashboard
        .json
        .pointer("/templating/list")
        .and_then(Value::as_array)
        .and_then(|list| {
            list.iter()
                .find(|v| v.get("name").and_then(Value::as_str) == Some(name))
        })
        .unwrap_or_else(|| panic!("{}: no variable {name}", dashboard.path))
}

/// Every object under a `"datasource"` key, anywhere in the model, with its JSON path.
fn datasource_objects<'a>(value: &'a Value, path: &str, out: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let child_path = format!("{path}/{key}");
                if key == "datasource" {
                    out.push((child_path.clone(), child));
                }
                datasource_objects(child, &child_path, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                datasource_objects(child, &format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Every string under a `"url"` key, anywhere in the model.
fn urls(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if let (true, Some(url)) = (key == "url", child.as_str()) {
                    out.push(url.to_owned());
                }
                urls(child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|child| urls(child, out)),
        _ => {}
    }
}

#[test]
fn dashboards_parse_with_the_expected_stable_uids() {
    let all = dashboards();
    let uids: Vec<&str> = all.iter().map(|d| d.uid.as_str()).collect();
    assert_eq!(uids, EXPECTED_UIDS, "dashboard uids (sorted by file name)");
    for d in &all {
        let stem = d
            .path
            .trim_start_matches("dashboards/")
            .trim_end_matches(".json");
        assert_eq!(stem, d.uid, "{}: the file is named after its uid", d.path);
        let title = d.json.get("title").and_then(Value::as_str).unwrap_or("");
        assert!(!title.is_empty(), "{}: no title", d.path);
        let schema = d.json.get("schemaVersion").and_then(Value::as_u64);
        assert!(
            schema.is_some_and(|v| (36..=41).contains(&v)),
            "{}: schemaVersion {schema:?} is not Grafana 10/11's",
            d.path
        );
        assert_eq!(d.json["refresh"], "1m", "{}: refresh", d.path);
        assert_eq!(d.json["time"]["from"], "now-6h", "{}: time range", d.path);
        assert_eq!(d.json["time"]["to"], "now", "{}: time range", d.path);
        assert!(
            d.json["id"].is_null(),
            "{}: an exported model has no id",
            d.path
        );
    }
}

#[test]
fn panel_ids_are_unique_within_each_dashboard() {
    for d in dashboards() {
        let mut ids = BTreeSet::new();
        for (title, panel) in all_panels(&d.json) {
            let id = panel["id"]
                .as_u64()
                .unwrap_or_else(|| panic!("{}: panel {title:?} has no id", d.path));
            assert!(ids.insert(id), "{}: panel id {id} used twice", d.path);
        }
    }
}

/// The data source Grafana is provisioned with in the compose stack (name, uid), from
/// `deploy/compose/grafana/provisioning/datasources/prometheus.yml`.
fn provisioned_prometheus() -> (String, String) {
    let path = "deploy/compose/grafana/provisioning/datasources/prometheus.yml";
    let file: Value =
        serde_saphyr::from_str(&ops_tests::read(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let sources = file["datasources"].as_array().expect("datasources list");
    let prometheus: Vec<&Value> = sources
        .iter()
        .filter(|s| s["type"] == "prometheus")
        .collect();
    assert_eq!(prometheus.len(), 1, "{path}: one Prometheus data source");
    let source = prometheus[0];
    assert_eq!(source["isDefault"], true, "{path}: the default data source");
    let field = |name: &str| {
        source[name]
            .as_str()
            .unwrap_or_else(|| panic!("{path}: no {name}"))
            .to_owned()
    };
    (field("name"), field("uid"))
}

/// File provisioning loads a dashboard as it is: nothing fills an import dialog's
/// `__inputs`, so a `${DS_PROMETHEUS}` left in the model stays unresolved. The datasource
/// variable's default is the provisioned data source itself: its uid as the value (what
/// Grafana's datasource variable stores) and its name as the text (what older Grafana
/// matches), so the dashboards open on it with no choice to make, and import unchanged.
#[test]
fn datasource_variable_defaults_to_the_provisioned_data_source() {
    let (name, uid) = provisioned_prometheus();
    for d in dashboards() {
        assert!(
            d.json.get("__inputs").is_none(),
            "{}: __inputs is for the import dialog only; provisioning leaves it unresolved",
            d.path
        );
        let text = ops_tests::read(&d.path);
        assert!(
            !text.contains("${DS_"),
            "{}: an import placeholder ${{DS_...}} that provisioning would not resolve",
            d.path
        );
        let variable = variable(&d, "datasource");
        assert_eq!(variable["type"], "datasource", "{}: type", d.path);
        assert_eq!(variable["query"], "prometheus", "{}: plugin", d.path);
        assert_eq!(
            variable["current"]["value"], uid,
            "{}: the default is the provisioned data source's uid",
            d.path
        );
        assert_eq!(
            variable["current"]["text"], name,
            "{}: the default's text is the provisioned data source's name",
            d.path
        );
        assert_eq!(variable["multi"], false, "{}: one data source", d.path);
        assert_eq!(variable["includeAll"], false, "{}: one data source", d.path);
    }
}

#[test]
fn every_datasource_reference_is_the_variable() {
    for d in dashboards() {
        let mut found = Vec::new();
        datasource_objects(&d.json, "", &mut found);
        assert!(
            !found.is_empty(),
            "{}: no datasource reference at all",
            d.path
        );
        for (path, ds) in found {
            let Some(object) = ds.as_object() else {
                panic!("{}{path}: datasource {ds} is not an object", d.path);
            };
            // The built-in annotation query uses Grafana's own datasource.
            if object.get("type").and_then(Value::as_str) == Some("grafana") {
                assert!(
                    path.starts_with("/annotations"),
                    "{}{path}: grafana datasource",
                    d.path
                );
                continue;
            }
            assert_eq!(
                object.get("uid").and_then(Value::as_str),
                Some(DATASOURCE),
                "{}{path}: datasource uid must be {DATASOURCE}",
                d.path
            );
            assert_eq!(
                object.get("type").and_then(Value::as_str),
                Some("prometheus")
            );
        }
        // Every panel and target names its datasource (no implicit default).
        for (title, panel) in all_panels(&d.json) {
            if panel["type"] == "row" {
                continue;
            }
            assert_eq!(
                panel["datasource"]["uid"], DATASOURCE,
                "{}: {title}",
                d.path
            );
            for target in panel["targets"].as_array().into_iter().flatten() {
                assert_eq!(
                    target["datasource"]["uid"], DATASOURCE,
                    "{}: {title}",
                    d.path
                );
            }
        }
    }
}

#[test]
fn every_panel_has_a_title_description_unit_and_queries() {
    let needs_unit = ["timeseries", "stat", "gauge", "bargauge"];
    for d in dashboards() {
        for (title, panel) in all_panels(&d.json) {
            let kind = panel["type"].as_str().unwrap_or("");
            assert!(
                !title.trim().is_empty(),
                "{}: a {kind} panel has no title",
                d.path
            );
            if kind == "row" {
                continue;
            }
            let description = panel["description"].as_str().unwrap_or("");
            assert!(
                !description.trim().is_empty(),
                "{}: {title}: no description",
                d.path
            );
            if needs_unit.contains(&kind) {
                let unit = panel["fieldConfig"]["defaults"]["unit"]
                    .as_str()
                    .unwrap_or("");
                assert!(!unit.is_empty(), "{}: {title}: no unit", d.path);
            }
            let targets = panel["targets"].as_array();
            assert!(
                targets.is_some_and(|t| !t.is_empty()),
                "{}: {title}: no targets",
                d.path
            );
            for target in targets.into_iter().flatten() {
                let expr = target["expr"].as_str().unwrap_or("");
                assert!(
                    !expr.trim().is_empty(),
                    "{}: {title}: a target has no expr",
                    d.path
                );
            }
        }
    }
}

#[test]
fn links_point_to_existing_dashboards() {
    let uids: BTreeSet<String> = dashboards().into_iter().map(|d| d.uid).collect();
    let pattern = regex::Regex::new(r"^/d/([A-Za-z0-9_-]+)").expect("link pattern");
    for d in dashboards() {
        let mut found = Vec::new();
        urls(&d.json, &mut found);
        let mut targets = BTreeSet::new();
        for url in &found {
            let caps = pattern
                .captures(url)
                .unwrap_or_else(|| panic!("{}: link {url} is not /d/<uid>", d.path));
            assert!(
                uids.contains(&caps[1]),
                "{}: link {url} to an unknown uid",
                d.path
            );
            targets.insert(caps[1].to_owned());
        }
        let expected: BTreeSet<String> = uids.iter().filter(|u| **u != d.uid).cloned().collect();
        let dashboard_links: BTreeSet<String> = d.json["links"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l["url"].as_str())
            .filter_map(|u| pattern.captures(u).map(|c| c[1].to_owned()))
            .collect();
        assert_eq!(dashboard_links, expected, "{}: dashboard links", d.path);
    }
    // The overview's lag and storage panels drill down into the engine dashboards.
    let mut overview_urls = Vec::new();
    urls(&by_uid("dms-overview").json["panels"], &mut overview_urls);
    assert!(overview_urls.iter().any(|u| u.starts_with("/d/dms-kafka")));
    assert!(
        overview_urls
            .iter()
            .any(|u| u.starts_with("/d/dms-rocketmq"))
    );
}

#[test]
fn every_metric_queried_is_exported() {
    let exported = ops_tests::exported_metric_names();
    let mut used = BTreeSet::new();
    for q in panel_queries() {
        for name in ops_tests::metric_names_in(&q.expr) {
            assert!(
                exported.contains(&name),
                "{} / {}: {name} is not exported (expr {})",
                q.dashboard,
                q.panel,
                q.expr
            );
            used.insert(name);
        }
    }
    for (dashboard, variable, query) in template_variables() {
        for name in ops_tests::metric_names_in(&query) {
            assert!(
                exported.contains(&name),
                "{dashboard}: variable {variable}: {name} is not exported"
            );
        }
    }
    // The families the brief asks the dashboards to show.
    for family in [
        "dms_instance_status",
        "dms_instance_storage_used_bytes",
        "dms_kafka_consumergroup_topic_lag",
        "dms_kafka_consumergroup_lag",
        "dms_kafka_broker_controller",
        "dms_kafka_partition_last_write_timestamp_seconds",
        "dms_background_tasks",
        "dms_collector_up",
        "dms_collector_cycle_api_calls",
        "dms_api_request_duration_seconds_bucket",
        "dms_api_throttled_total",
        "dms_api_retries_total",
        "dms_collector_errors_total",
        "dms_instance_collector_last_success_timestamp_seconds",
        "dms_exporter_build_info",
        "dms_rocketmq_consumergroup_topic_lag",
        "dms_rocketmq_consumergroup_lag",
        "dms_rabbitmq_plugin_enabled",
        "dms_rabbitmq_plugin_running",
        // Cloud Eye (the ces collector): traffic, latency, load and the data's age.
        "dms_kafka_instance_bytes_in_per_second",
        "dms_kafka_instance_bytes_out_per_second",
        "dms_kafka_broker_bytes_in_per_second",
        "dms_kafka_broker_messages_in_per_second",
        "dms_kafka_topic_bytes_in_per_second",
        "dms_kafka_topic_messages_in_per_second",
        "dms_kafka_broker_produce_latency_seconds",
        "dms_kafka_broker_fetch_latency_seconds",
        "dms_kafka_broker_cpu_usage_ratio",
        "dms_kafka_broker_memory_usage_ratio",
        "dms_kafka_broker_disk_usage_ratio",
        "dms_rocketmq_instance_produced_messages_per_second",
        "dms_rocketmq_instance_consumed_messages_per_second",
        "dms_rocketmq_topic_produced_messages_per_second",
        "dms_rocketmq_broker_cpu_core_load",
        "dms_rocketmq_broker_memory_usage_ratio",
        "dms_rabbitmq_messages_ready",
        "dms_rabbitmq_messages_unacknowledged",
        "dms_rabbitmq_queue_messages_ready",
        "dms_rabbitmq_queue_messages_unacknowledged",
        "dms_rabbitmq_node_cpu_usage_ratio",
        "dms_rabbitmq_node_memory_usage_ratio",
        "dms_ces_newest_point_timestamp_seconds",
    ] {
        assert!(used.contains(family), "no panel shows {family}");
    }
}

#[test]
fn queries_filter_by_instance_and_substitute_cleanly() {
    let values = ops_tests::dashboards::match_all_values();
    for q in panel_queries() {
        let filled = substitute(&q.expr, &values);
        assert!(
            !filled.contains('$') || filled.contains("\"$1\""),
            "{} / {}: unfilled variable in {filled}",
            q.dashboard,
            q.panel
        );
        // Per-instance families are always filtered by the instance_id variable.
        let per_instance = ops_tests::metric_names_in(&q.expr).iter().any(|name| {
            name.starts_with("dms_kafka_")
                || name.starts_with("dms_rocketmq_")
                || name.starts_with("dms_rabbitmq_")
                || name.starts_with("dms_background_")
                || name.starts_with("dms_instance_") && name != "dms_instance_info"
        });
        if per_instance {
            assert!(
                q.expr.contains(r#"instance_id=~"$instance_id""#),
                "{} / {}: not filtered by $instance_id: {}",
                q.dashboard,
                q.panel,
                q.expr
            );
        }
    }
}

#[test]
fn template_variables_are_the_documented_ones() {
    let common = [
        ("job", "label_values(dms_exporter_build_info, job)"),
        (
            "region",
            r#"label_values(dms_instance_info{job=~"$job"}, region)"#,
        ),
        (
            "project_id",
            r#"label_values(dms_instance_info{job=~"$job",region=~"$region"}, project_id)"#,
        ),
        (
            "instance",
            r#"label_values(dms_instance_info{job=~"$job",region=~"$region",project_id=~"$project_id"}, name)"#,
        ),
        (
            "instance_id",
            r#"label_values(dms_instance_info{job=~"$job",region=~"$region",project_id=~"$project_id",name=~"$instance"}, instance_id)"#,
        ),
    ];
    for d in dashboards() {
        for (name, query) in common {
            let v = variable(&d, name);
            assert_eq!(
                variable_query(v).as_deref(),
                Some(query),
                "{}: {name}",
                d.path
            );
            assert_eq!(v["datasource"]["uid"], DATASOURCE, "{}: {name}", d.path);
            assert_eq!(v["multi"], true, "{}: {name} is multi-value", d.path);
            assert_eq!(v["includeAll"], true, "{}: {name} includes All", d.path);
        }
        // The job variable comes first, so the others list what the chosen jobs export.
        let names: Vec<&str> = d.json["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v["name"].as_str())
            .collect();
        assert_eq!(
            names[..2],
            ["datasource", "job"],
            "{}: variable order",
            d.path
        );
        // Query variables follow the time range: a series that ended before it is not listed.
        for v in d.json["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if v["type"] == "query" {
                assert_eq!(
                    v["refresh"], 2,
                    "{}: variable {} refreshes on time-range change",
                    d.path, v["name"]
                );
            }
        }
        // "All" instances expands to the names the region/project allow, never `.*`.
        assert!(variable(&d, "instance").get("allValue").is_none());
        assert!(variable(&d, "instance_id").get("allValue").is_none());
        assert_eq!(
            variable(&d, "instance_id")["hide"],
            2,
            "{}: instance_id hidden",
            d.path
        );
    }
    let kafka = by_uid("dms-kafka");
    assert_eq!(
        variable_query(variable(&kafka, "topic")).as_deref(),
        Some(
            r#"label_values(dms_kafka_topic_partitions{job=~"$job",instance_id=~"$instance_id"}, topic)"#
        )
    );
    assert_eq!(
        variable_query(variable(&kafka, "group")).as_deref(),
        Some(
            r#"label_values(dms_kafka_consumergroup_members{job=~"$job",instance_id=~"$instance_id"}, group)"#
        )
    );
    let rocketmq = by_uid("dms-rocketmq");
    assert_eq!(
        variable_query(variable(&rocketmq, "topic")).as_deref(),
        Some(
            r#"label_values(dms_rocketmq_topic_read_queues{job=~"$job",instance_id=~"$instance_id"}, topic)"#
        )
    );
    assert_eq!(
        variable_query(variable(&rocketmq, "group")).as_deref(),
        Some(
            r#"label_values(dms_rocketmq_consumergroup_enabled{job=~"$job",instance_id=~"$instance_id"}, group)"#
        )
    );
    let listed: BTreeSet<(String, String)> = template_variables()
        .into_iter()
        .map(|(d, n, _)| (d, n))
        .collect();
    for (d, n) in [
        ("dms-kafka", "topic"),
        ("dms-kafka", "group"),
        ("dms-overview", "instance_id"),
    ] {
        assert!(
            listed.contains(&(d.to_owned(), n.to_owned())),
            "{d}: {n} not listed"
        );
    }
}

#[test]
fn panel_queries_include_panels_nested_in_rows() {
    let queries = panel_queries();
    assert!(
        queries
            .iter()
            .any(|q| q.dashboard == "dms-kafka" && q.panel.starts_with("Partition detail / ")),
        "the collapsed Partition detail row's panels are listed"
    );
    for uid in EXPECTED_UIDS {
        assert!(
            queries.iter().filter(|q| q.dashboard == uid).count() >= 10,
            "{uid}"
        );
    }
}

// `substitute`, unit by unit (the end-to-end test relies on it).

fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn substitutes_every_syntax() {
    let v = values(&[("instance", "kafka-a|kafka-b"), ("instance_id", "id1|id2")]);
    assert_eq!(
        substitute(r#"x{instance_id=~"$instance_id",name=~"$instance"}"#, &v),
        r#"x{instance_id=~"id1|id2",name=~"kafka-a|kafka-b"}"#
    );
    assert_eq!(
        substitute(
            r#"x{a=~"${instance_id}",b=~"${instance:regex}",c=~"[[instance]]"}"#,
            &v
        ),
        r#"x{a=~"id1|id2",b=~"kafka-a|kafka-b",c=~"kafka-a|kafka-b"}"#
    );
    assert_eq!(substitute("[[instance_id:pipe]]", &v), "id1|id2");
}

#[test]
fn substitutes_builtins() {
    let none = BTreeMap::new();
    assert_eq!(
        substitute("rate(x[$__rate_interval]) + rate(y[$__interval])", &none),
        "rate(x[1m]) + rate(y[15s])"
    );
    assert_eq!(
        substitute("increase(x[$__range]) / $__range_s / ${__range_s}", &none),
        "increase(x[1h]) / 3600 / 3600"
    );
    let over = values(&[("__rate_interval", "2m")]);
    assert_eq!(
        substitute("rate(x[$__rate_interval])", &over),
        "rate(x[2m])"
    );
}

#[test]
fn leaves_unknown_references() {
    let v = values(&[("name", "n")]);
    let expr = r#"label_replace(x, "instance_name", "$1", "name", "(.*)") * $other"#;
    assert_eq!(substitute(expr, &v), expr);
    assert_eq!(substitute("$name$name ${name}x", &v), "nn nx");
}

/// `rate()`, `irate()` and `increase()` assume a counter: a value that goes down is read as a
/// reset and the whole new value counts as growth. On a gauge, such as an offset a consumer
/// group resets backwards, that draws a spike, and Prometheus 3 warns about it. Every series
/// they read must be of a counter family of the catalogue (docs/metrics.md; a histogram's
/// `_bucket`, `_sum` and `_count` are counters).
#[test]
fn counter_functions_read_only_counters() {
    let types = ops_tests::metric_types();
    let mut failures = Vec::new();
    for q in panel_queries() {
        for (function, argument) in
            ops_tests::function_arguments(&q.expr, &["rate", "irate", "increase"])
        {
            let names = ops_tests::metric_names_in(&argument);
            if names.is_empty() {
                failures.push(format!(
                    "{} / {}: {function}() of no known family: {argument}",
                    q.dashboard, q.panel
                ));
            }
            for name in names {
                let kind = types
                    .get(&name)
                    .map_or("not in the catalogue", String::as_str);
                if kind != "counter" {
                    failures.push(format!(
                        "{} / {}: {function}() of {name}, a {kind} (use deriv(), or delta() / idelta() with clamp_min)",
                        q.dashboard, q.panel
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn function_arguments_finds_whole_calls_nested_ones_too() {
    let expr = r#"sum(rate(a{x="(",y=~"r)"}[5m])) / irate(b[1m]) + deriv(c[5m]) + increase(rate(d[5m])[1h:])"#;
    let found = ops_tests::function_arguments(expr, &["rate", "irate", "increase"]);
    assert_eq!(
        found,
        [
            ("rate", r#"a{x="(",y=~"r)"}[5m]"#),
            ("irate", "b[1m]"),
            ("increase", "rate(d[5m])[1h:]"),
            ("rate", "d[5m]"),
        ]
        .map(|(f, a)| (f.to_owned(), a.to_owned()))
    );
    let types = ops_tests::metric_types();
    assert_eq!(types["dms_api_requests_total"], "counter");
    assert_eq!(types["dms_api_request_duration_seconds_bucket"], "counter");
    assert_eq!(types["dms_kafka_consumergroup_current_offset"], "gauge");
    assert_eq!(types["dms_instance_status"], "stateset");
}

/// Every series a panel or variable reads is of the chosen jobs: each selector of a `dms_`
/// family carries `job=~"$job"` (the job variable's own query excepted), so two
/// exporters' jobs in one Prometheus are told apart.
#[test]
fn every_query_filters_by_job() {
    let selector = regex::Regex::new(r"\bdms_[a-zA-Z0-9_]+(\{[^}]*\})?").expect("pattern");
    let check = |place: String, expr: &str| {
        for m in selector.captures_iter(expr) {
            let matchers = m.get(1).map_or("", |g| g.as_str());
            assert!(
                matchers.contains(r#"job=~"$job""#),
                "{place}: {} is not filtered by job in {expr}",
                &m[0]
            );
        }
    };
    for q in panel_queries() {
        check(format!("{} / {}", q.dashboard, q.panel), &q.expr);
    }
    for (dashboard, name, query) in template_variables() {
        if name != "job" {
            check(format!("{dashboard}: variable {name}"), &query);
        }
    }
    for d in dashboards() {
        let job = variable(&d, "job");
        assert_eq!(job["multi"], true, "{}: job is multi-value", d.path);
        assert_eq!(job["includeAll"], true, "{}: job includes All", d.path);
        assert_eq!(job["datasource"]["uid"], DATASOURCE, "{}: job", d.path);
    }
}

/// The overview's lag panels cover every engine that has a consumer lag family in the
/// catalogue (`dms_<engine>_consumergroup_topic_lag`; RabbitMQ has none).
#[test]
fn overview_lags_cover_every_engine() {
    let lag_families: Vec<String> = ops_tests::metric_types()
        .into_keys()
        .filter(|name| name.ends_with("_consumergroup_topic_lag"))
        .collect();
    assert!(lag_families.len() >= 2, "lag families: {lag_families:?}");
    for title in ["Worst consumer lags", "Consumer lag (top 10)"] {
        let queried: BTreeSet<String> = panel_queries()
            .into_iter()
            .filter(|q| q.dashboard == "dms-overview" && q.panel == title)
            .flat_map(|q| ops_tests::metric_names_in(&q.expr))
            .collect();
        for family in &lag_families {
            assert!(queried.contains(family), "overview / {title}: no {family}");
        }
    }
}

/// Every dashboard parses with Grafana's own types (the `grafana-foundation-sdk` package,
/// generated from Grafana's schemas), keeps every field through them and has the declared
/// type in each (enums included). The virtual environment is cached in the target directory.
#[test]
fn dashboards_validate_against_grafanas_schema() {
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("grafana-schema");
    let python = ops_tests::dashboards::schema_venv(&cache).unwrap_or_else(|e| panic!("{e}"));
    match ops_tests::dashboards::validate_with_grafana_schema(&python) {
        Ok(summary) => println!("{summary}"),
        Err(problems) => panic!("dashboards against Grafana's schema:\n{problems}"),
    }
}

/// The pinned schema package is the Grafana of the compose stack.
#[test]
fn schema_package_is_the_compose_stacks_grafana() {
    let compose: Value = serde_saphyr::from_str(&ops_tests::read("deploy/compose/compose.yaml"))
        .unwrap_or_else(|e| panic!("compose.yaml: {e}"));
    let image = compose["services"]["grafana"]["image"]
        .as_str()
        .expect("grafana image");
    let tag = image.rsplit(':').next().unwrap_or_default();
    let minor: Vec<&str> = tag.split('.').take(2).collect();
    let pinned = ops_tests::dashboards::GRAFANA_FOUNDATION_SDK;
    assert!(
        pinned.ends_with(&format!("!{}.0", minor.join("."))),
        "{pinned} is not the types of Grafana {tag} ({image})"
    );
}
