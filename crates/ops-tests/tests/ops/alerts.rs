//! Alert rules: `alerts/*.yml` pass `promtool check rules`, their unit tests
//! (`alerts/tests/*.yml`) pass `promtool test rules` and cover every alert both firing and
//! quiet, every alert is labelled, annotated and has a runbook section, and every expression
//! only uses metrics the exporter exports.

use std::collections::{BTreeMap, BTreeSet};

use ops_tests::alerts::{
    AlertRule, alert_rules, heading_anchor, parse_alert_rules, recording_rules, rule_files,
    rule_test_files,
};
use ops_tests::{exported_metric_names, metric_names_in, read, run_tool};
use serde::Deserialize;

const RUNBOOKS: &str = "docs/runbooks.md";

/// The alerts the operations bundle promises (more may exist).
const REQUIRED: [&str; 45] = [
    "DmsInstanceNotRunning",
    "DmsInstanceNotRunningPlanned",
    "DmsKafkaControllerCountAbnormal",
    "DmsKafkaPartitionsNearLimit",
    "DmsKafkaBrokerDiskHigh",
    "DmsKafkaBrokerDiskFullInOneDay",
    "DmsKafkaConsumerLagHigh",
    "DmsKafkaConsumerGroupRebalancing",
    "DmsRocketMqConsumerLagHigh",
    "DmsRocketMqConsumerGroupsNearLimit",
    "DmsExporterDown",
    "DmsExporterAbsent",
    "DmsExporterShardMissing",
    "DmsExporterConfigReloadFailed",
    "DmsExporterCollectorOverBudget",
    "DmsInstanceStorageHigh",
    "DmsInstanceStorageFullInOneDay",
    "DmsKafkaBrokerDown",
    "DmsKafkaOfflinePartitions",
    "DmsKafkaUnderReplicatedPartitions",
    "DmsKafkaConsumerLagGrowing",
    "DmsKafkaConsumerGroupWithoutMembers",
    "DmsBackgroundTaskFailed",
    "DmsBackgroundTaskStuck",
    "DmsExporterCollectorDown",
    "DmsExporterDataStale",
    "DmsApiThrottlingSustained",
    "DmsApiAuthenticationFailures",
    "DmsRocketMqConsumerLagSecondsHigh",
    "DmsRocketMqConsumerGroupStatusError",
    "DmsKafkaConsumerLagSecondsHigh",
    "DmsKafkaConsumerGroupStatusError",
    "DmsKafkaConsumerMessagesLost",
    "DmsKafkaConsumerLagNearRetention",
    "DmsKafkaConsumerGroupNotCatchingUp",
    "DmsRocketMqConsumerGroupNotCatchingUp",
    "DmsKafkaBrokerCpuHigh",
    "DmsKafkaBrokerMemoryHigh",
    "DmsKafkaProduceLatencyHigh",
    "DmsRocketMqBrokerCpuLoadHigh",
    "DmsRocketMqBrokerMemoryHigh",
    "DmsRabbitMqNodeCpuHigh",
    "DmsRabbitMqNodeMemoryHigh",
    "DmsRabbitMqUnacknowledgedGrowing",
    "DmsCesDataStale",
];

/// The kafka_exporter series the compatibility rules promise (docs/compatibility.md).
const KAFKA_EXPORTER_SERIES: [&str; 12] = [
    "kafka_brokers",
    "kafka_topic_partitions",
    "kafka_topic_partition_current_offset",
    "kafka_topic_partition_oldest_offset",
    "kafka_topic_partition_leader",
    "kafka_topic_partition_replicas",
    "kafka_topic_partition_in_sync_replica",
    "kafka_topic_partition_under_replicated_partition",
    "kafka_consumergroup_current_offset",
    "kafka_consumergroup_lag",
    "kafka_consumergroup_lag_sum",
    "kafka_consumergroup_members",
];

/// The join every per-instance alert names its instance with, aggregated so that two scrapes
/// of the exporter do not make duplicate series on the right-hand side; `region` and
/// `project_id` come along for Alertmanager's routing and inhibition.
const NAME_JOIN: &str = "* on (instance_id) group_left (name, region, project_id) max by (instance_id, name, region, project_id) (dms_instance_info)";

fn assert_success(output: &std::process::Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn rules() -> Vec<AlertRule> {
    let rules = alert_rules();
    assert!(!rules.is_empty(), "no alerting rule in alerts/*.yml");
    rules
}

#[test]
fn promtool_checks_the_rule_files() {
    let files = rule_files();
    assert!(!files.is_empty(), "no alerts/*.yml");
    let mut args = vec!["check", "rules"];
    args.extend(files.iter().map(String::as_str));
    assert_success(&run_tool("promtool", &args), "promtool check rules");
}

#[test]
fn promtool_unit_tests_pass() {
    let files = rule_test_files();
    assert!(!files.is_empty(), "no alerts/tests/*.yml");
    let mut args = vec!["test", "rules"];
    args.extend(files.iter().map(String::as_str));
    assert_success(&run_tool("promtool", &args), "promtool test rules");
}

#[test]
fn the_promised_alerts_exist_once_each() {
    let rules = rules();
    let mut seen = BTreeSet::new();
    for rule in &rules {
        assert!(
            seen.insert(rule.name.as_str()),
            "{} is defined twice",
            rule.name
        );
        assert!(
            rule.name.starts_with("Dms"),
            "{}: alert names start with Dms",
            rule.name
        );
    }
    for name in REQUIRED {
        assert!(seen.contains(name), "alert {name} is missing");
    }
}

/// `repository` of the workspace Cargo.toml's `[workspace.package]`: the one place that says
/// where the runbooks are published.
fn workspace_repository() -> String {
    let manifest = read("Cargo.toml");
    let section = manifest
        .split("\n[")
        .find(|s| s.starts_with("workspace.package]"))
        .expect("Cargo.toml has [workspace.package]");
    let line = section
        .lines()
        .find_map(|l| l.strip_prefix("repository = "))
        .expect("[workspace.package] has a repository");
    let url = line.trim().trim_matches('"').to_owned();
    assert!(
        url.starts_with("https://") && !url.ends_with('/'),
        "Cargo.toml: repository {url} is an https URL without a trailing slash"
    );
    url
}

#[test]
fn every_alert_has_severity_summary_description_and_runbook() {
    let runbooks = read(RUNBOOKS);
    let runbook_base = format!("{}/blob/main/{RUNBOOKS}#", workspace_repository());
    let anchors: BTreeSet<String> = runbooks
        .lines()
        .filter(|line| line.starts_with('#'))
        .map(|line| heading_anchor(line.trim_start_matches('#')))
        .collect();
    for rule in rules() {
        let name = &rule.name;
        let severity = rule.labels.get("severity").map(String::as_str);
        assert!(
            matches!(severity, Some("critical" | "warning" | "info")),
            "{name}: severity must be critical, warning or info, not {severity:?}"
        );
        for key in ["summary", "description"] {
            let text = rule.annotations.get(key).map(|s| s.trim()).unwrap_or("");
            assert!(!text.is_empty(), "{name}: no {key} annotation");
        }
        let url = rule
            .annotations
            .get("runbook_url")
            .unwrap_or_else(|| panic!("{name}: no runbook_url annotation"));
        let anchor = url
            .strip_prefix(&runbook_base)
            .unwrap_or_else(|| panic!("{name}: runbook_url {url} is not {runbook_base}…"));
        assert_eq!(
            anchor,
            name.to_lowercase(),
            "{name}: the anchor is the alert's name"
        );
        assert!(
            anchors.contains(anchor),
            "{name}: {RUNBOOKS} has no heading with anchor #{anchor}"
        );
        assert!(rule.for_.is_some(), "{name}: no `for:`");
    }
}

#[test]
fn per_instance_alerts_name_the_instance() {
    for rule in rules() {
        if !rule.expr.contains("instance_id") && !rule.expr.contains("dms_instance_") {
            continue;
        }
        assert!(
            rule.expr.contains(NAME_JOIN),
            "{}: join dms_instance_info to get the instance's name: {NAME_JOIN}",
            rule.name
        );
        let description = &rule.annotations["description"];
        assert!(
            description.contains("{{ $labels.name }}"),
            "{}: the description names the instance",
            rule.name
        );
    }
}

#[test]
fn expressions_and_templates_only_use_exported_metrics() {
    let exported = exported_metric_names();
    // Annotations may query Prometheus inside template actions; their prose may say
    // "dms_exporter".
    let actions = regex::Regex::new(r"\{\{.*?\}\}").expect("regex");
    // Series of the recording rules are not the exporter's (`instance_id:dms_…:ratio`); whole
    // names only: `kafka_consumergroup_lag` is recorded, `dms_kafka_consumergroup_lag_seconds`
    // is exported.
    let recorded: Vec<regex::Regex> = recording_rules()
        .into_iter()
        .map(|r| {
            regex::Regex::new(&format!(r"(^|[^\w:]){}($|[^\w:])", regex::escape(&r.name)))
                .expect("regex")
        })
        .collect();
    let without_recorded = |text: &str| {
        recorded.iter().fold(text.to_owned(), |t, name| {
            name.replace_all(&t, "${1}${2}").into_owned()
        })
    };
    for rule in rules() {
        let mut texts = vec![without_recorded(&rule.expr)];
        for annotation in rule.annotations.values() {
            texts.extend(
                actions
                    .find_iter(annotation)
                    .map(|m| without_recorded(m.as_str())),
            );
        }
        let used: BTreeSet<String> = texts.iter().flat_map(|t| metric_names_in(t)).collect();
        // Only the scrape alerts read Prometheus's own `up`.
        let scrape_alert = rule.expr.starts_with("up{") || rule.expr.starts_with("absent(up{");
        assert!(
            !used.is_empty() || scrape_alert,
            "{}: uses no dms_ metric",
            rule.name
        );
        for metric in used {
            assert!(
                exported.contains(&metric),
                "{}: {metric} is not exported",
                rule.name
            );
        }
    }
}

#[test]
fn recording_rules_only_use_exported_metrics_and_are_unique() {
    let exported = exported_metric_names();
    let recorded = recording_rules();
    let names: BTreeSet<&str> = recorded.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names.len(), recorded.len(), "a series is recorded twice");
    for rule in &recorded {
        assert!(
            !exported.contains(&rule.name),
            "{}: records a name the exporter exports",
            rule.name
        );
        let text = recorded
            .iter()
            .fold(rule.expr.clone(), |t, r| t.replace(r.name.as_str(), ""));
        for metric in metric_names_in(&text) {
            assert!(
                exported.contains(&metric),
                "{}: {metric} is not exported",
                rule.name
            );
        }
    }
    for name in KAFKA_EXPORTER_SERIES {
        let rule = recorded
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("kafka_exporter series {name} is not recorded"));
        assert_eq!(
            rule.file, "alerts/kafka_exporter_compat.rules.yml",
            "{name}: the compatibility set lives in its own file"
        );
        assert!(
            rule.expr.contains("instance_id"),
            "{name}: keeps instance_id (one DMS instance = one Kafka cluster)"
        );
    }
}

const PARAMETERS: &str = "alerts/dms_exporter.parameters.yml";
const THRESHOLD: &str = "dms:alert_threshold:";

/// The threshold parameters (alerts/dms_exporter.parameters.yml): name to default, as written.
fn parameters() -> BTreeMap<String, String> {
    let constant = regex::Regex::new(r"^vector\(([0-9.]+)\)$").expect("regex");
    let recorded: Vec<_> = recording_rules()
        .into_iter()
        .filter(|r| r.file == PARAMETERS)
        .collect();
    assert!(!recorded.is_empty(), "{PARAMETERS} records nothing");
    recorded
        .into_iter()
        .map(|rule| {
            let name = rule
                .name
                .strip_prefix(THRESHOLD)
                .unwrap_or_else(|| panic!("{PARAMETERS}: {} is not {THRESHOLD}…", rule.name));
            let default = constant
                .captures(rule.expr.trim())
                .unwrap_or_else(|| panic!("{PARAMETERS}: {} is not vector(<number>)", rule.name));
            (name.to_owned(), default[1].to_owned())
        })
        .collect()
}

/// Every read of a parameter in the alerts, as (alert, parameter, fallback default); panics on
/// a read without the fallback (the alert would go quiet without the parameters file).
fn parameter_reads() -> Vec<(String, String, String)> {
    let read = regex::Regex::new(r"max\(dms:alert_threshold:(\w+)\) or vector\(([0-9.]+)\)")
        .expect("regex");
    let mut reads = Vec::new();
    for rule in rules() {
        let texts = std::iter::once(&rule.expr).chain(rule.annotations.values());
        for text in texts {
            let found: Vec<_> = read.captures_iter(text).collect();
            assert_eq!(
                found.len(),
                text.matches(THRESHOLD).count(),
                "{}: read parameters as `max({THRESHOLD}<name>) or vector(<default>)`",
                rule.name
            );
            reads.extend(
                found
                    .iter()
                    .map(|c| (rule.name.clone(), c[1].to_owned(), c[2].to_owned())),
            );
        }
    }
    reads
}

/// Every parameter an alert reads is defined, with the same default as the alert's fallback;
/// every defined parameter is read by an alert expression.
#[test]
fn threshold_parameters_are_defined_and_used() {
    let parameters = parameters();
    let reads = parameter_reads();
    for (alert, name, fallback) in &reads {
        let default = parameters
            .get(name)
            .unwrap_or_else(|| panic!("{alert}: parameter {name} is not in {PARAMETERS}"));
        assert_eq!(fallback, default, "{alert}: fallback of {name}");
    }
    let by_name: BTreeMap<String, AlertRule> =
        rules().into_iter().map(|r| (r.name.clone(), r)).collect();
    for name in parameters.keys() {
        let pattern = format!("max({THRESHOLD}{name})");
        assert!(
            by_name.values().any(|r| r.expr.contains(&pattern)),
            "{PARAMETERS}: no alert expression reads {name}"
        );
    }
}

/// The parameters table of docs/runbooks.md: each parameter once, with its default and the
/// alerts whose expressions read it; no row for a parameter that does not exist.
#[test]
fn threshold_parameters_are_documented() {
    let runbooks = read(RUNBOOKS);
    let row =
        regex::Regex::new(r"^\| `(\w+)` \| ([0-9.]+) \| [^|]+ \| ([^|]+) \|$").expect("regex");
    let link = regex::Regex::new(r"\[(Dms\w+)\]\(#(\w+)\)").expect("regex");
    let mut documented: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    for line in runbooks.lines() {
        let Some(cells) = row.captures(line) else {
            continue;
        };
        let alerts = link
            .captures_iter(&cells[3])
            .map(|l| {
                assert_eq!(
                    heading_anchor(&l[1]),
                    &l[2],
                    "{RUNBOOKS}: link to {}",
                    &l[1]
                );
                l[1].to_owned()
            })
            .collect();
        let previous = documented.insert(cells[1].to_owned(), (cells[2].to_owned(), alerts));
        assert!(
            previous.is_none(),
            "{RUNBOOKS}: parameter {} twice",
            &cells[1]
        );
    }
    let mut readers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for rule in rules() {
        for (name, _) in parameters() {
            if rule.expr.contains(&format!("max({THRESHOLD}{name})")) {
                readers.entry(name).or_default().insert(rule.name.clone());
            }
        }
    }
    let parameters = parameters();
    assert_eq!(
        documented.keys().collect::<Vec<_>>(),
        parameters.keys().collect::<Vec<_>>(),
        "{RUNBOOKS}: the parameters table against {PARAMETERS}"
    );
    for (name, (default, alerts)) in &documented {
        assert_eq!(default, &parameters[name], "{RUNBOOKS}: default of {name}");
        assert_eq!(
            Some(alerts),
            readers.get(name),
            "{RUNBOOKS}: the alerts listed for {name}"
        );
    }
}

/// The scrape job selector is not a parameter: the rules and the runbook name the same one.
#[test]
fn documented_job_selector_matches_the_rules() {
    let runbooks = read(RUNBOOKS);
    let by_name: BTreeMap<String, AlertRule> =
        rules().into_iter().map(|r| (r.name.clone(), r)).collect();
    let selector = r#"job=~"dms[_-]exporter.*""#;
    for alert in ["DmsExporterDown", "DmsExporterAbsent"] {
        assert!(
            by_name[alert].expr.contains(selector),
            "{alert}: the rule does not use {selector}"
        );
    }
    assert!(
        runbooks.contains(selector),
        "{RUNBOOKS} does not document {selector}"
    );
}

#[test]
fn api_error_alerts_use_two_minute_windows() {
    let ranges = regex::Regex::new(r"\[([^\]]+)\]").expect("regex");
    for rule in rules() {
        if !rule.name.starts_with("DmsApi") {
            continue;
        }
        let windows: Vec<&str> = ranges
            .captures_iter(&rule.expr)
            .filter_map(|c| c.get(1).map(|m| m.as_str()))
            .collect();
        assert!(!windows.is_empty(), "{}: no range", rule.name);
        assert!(
            windows.iter().all(|w| *w == "2m"),
            "{}: ranges {windows:?}, want [2m]",
            rule.name
        );
    }
}

/// The parts of a promtool unit-test file this test reads.
#[derive(Deserialize)]
struct TestFile {
    #[serde(default)]
    rule_files: Vec<String>,
    #[serde(default)]
    tests: Vec<TestGroup>,
}

#[derive(Deserialize)]
struct TestGroup {
    #[serde(default)]
    input_series: Vec<InputSeries>,
    #[serde(default)]
    alert_rule_test: Vec<AlertCase>,
    #[serde(default)]
    promql_expr_test: Vec<ExprCase>,
}

#[derive(Deserialize)]
struct InputSeries {
    series: String,
}

#[derive(Deserialize)]
struct ExprCase {
    expr: String,
    #[serde(default)]
    exp_samples: Vec<ExpectedSample>,
}

#[derive(Deserialize)]
struct ExpectedSample {
    #[serde(default)]
    labels: String,
}

fn test_files() -> Vec<(String, TestFile)> {
    rule_test_files()
        .into_iter()
        .map(|file| {
            let parsed: TestFile = serde_saphyr::from_str(&read(&file))
                .unwrap_or_else(|e| panic!("{file}: not a promtool test file: {e}"));
            (file, parsed)
        })
        .collect()
}

/// A test group whose every input series is scraped by at least two jobs: the same series
/// with only `job` (and `instance`) changed appears with two or more `job` values.
fn scraped_twice(group: &TestGroup) -> bool {
    let job = regex::Regex::new(r#"(job|instance)="[^"]*",?"#).expect("regex");
    let job_value = regex::Regex::new(r#"job="([^"]*)""#).expect("regex");
    let mut jobs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for input in &group.input_series {
        let value = job_value
            .captures(&input.series)
            .map(|c| c[1].to_owned())
            .unwrap_or_default();
        let key = job.replace_all(&input.series, "").replace(",}", "}");
        jobs.entry(key).or_default().insert(value);
    }
    !jobs.is_empty() && jobs.values().all(|j| j.len() >= 2 && !j.contains(""))
}

#[derive(Deserialize)]
struct AlertCase {
    alertname: String,
    #[serde(default)]
    exp_alerts: Vec<ExpectedAlert>,
}

#[derive(Deserialize)]
struct ExpectedAlert {
    #[serde(default)]
    exp_labels: BTreeMap<String, String>,
    #[serde(default)]
    exp_annotations: BTreeMap<String, String>,
}

#[test]
fn every_alert_is_unit_tested_firing_and_quiet() {
    let rules: BTreeMap<String, AlertRule> =
        rules().into_iter().map(|r| (r.name.clone(), r)).collect();
    let mut firing = BTreeSet::new();
    let mut quiet = BTreeSet::new();
    for (file, parsed) in test_files() {
        assert!(
            parsed
                .rule_files
                .iter()
                .any(|f| f == "../dms_exporter.rules.yml"),
            "{file}: rule_files must load ../dms_exporter.rules.yml"
        );
        // The cases run with the shipped thresholds, or with a user's parameters file
        // (alerts/tests/parameters/) in their place.
        assert!(
            parsed
                .rule_files
                .iter()
                .any(|f| f == "../dms_exporter.parameters.yml")
                != parsed
                    .rule_files
                    .iter()
                    .any(|f| f.starts_with("parameters/")),
            "{file}: rule_files must load ../dms_exporter.parameters.yml or one of parameters/"
        );
        for case in parsed.tests.iter().flat_map(|t| &t.alert_rule_test) {
            let rule = rules
                .get(&case.alertname)
                .unwrap_or_else(|| panic!("{file}: tests unknown alert {}", case.alertname));
            if case.exp_alerts.is_empty() {
                quiet.insert(case.alertname.clone());
            } else {
                firing.insert(case.alertname.clone());
            }
            for expected in &case.exp_alerts {
                assert_eq!(
                    expected.exp_labels.get("severity"),
                    rule.labels.get("severity"),
                    "{file}: {} expects another severity",
                    case.alertname
                );
                for key in ["summary", "description", "runbook_url"] {
                    assert!(
                        expected.exp_annotations.contains_key(key),
                        "{file}: {} does not check the {key} annotation",
                        case.alertname
                    );
                }
            }
        }
    }
    for name in rules.keys() {
        assert!(
            firing.contains(name),
            "{name}: no promtool case where it fires"
        );
        assert!(
            quiet.contains(name),
            "{name}: no promtool case where it stays quiet (exp_alerts: [])"
        );
    }
}

/// Every rule that joins (`on (…)`, `group_left`) is evaluated on two scrapes of the same
/// data, and raises one alert there (tests/duplicates.yml), not an error or two alerts.
#[test]
fn every_joining_alert_is_tested_on_two_scrapes() {
    let alertname = regex::Regex::new(r#"alertname="(\w+)""#).expect("regex");
    let mut covered = BTreeSet::new();
    let mut groups = 0;
    for (_, parsed) in test_files() {
        for group in parsed.tests.iter().filter(|g| scraped_twice(g)) {
            groups += 1;
            for case in &group.alert_rule_test {
                if !case.exp_alerts.is_empty() {
                    covered.insert(case.alertname.clone());
                }
            }
            for case in group
                .promql_expr_test
                .iter()
                .filter(|c| c.expr.contains("ALERTS"))
            {
                for sample in &case.exp_samples {
                    if let Some(name) = alertname.captures(&sample.labels) {
                        covered.insert(name[1].to_owned());
                    }
                }
            }
        }
    }
    assert!(groups > 0, "no promtool test group scrapes its data twice");
    for rule in rules() {
        if rule.expr.contains(" on (") || rule.expr.contains("group_left") {
            assert!(
                covered.contains(&rule.name),
                "{}: joins, but no test on two scrapes shows it firing once",
                rule.name
            );
        }
    }
}

/// Every recording rule is evaluated by a promtool case (the compatibility series included).
#[test]
fn every_recording_rule_is_unit_tested() {
    let exprs: Vec<String> = test_files()
        .into_iter()
        .flat_map(|(_, parsed)| parsed.tests)
        .flat_map(|group| group.promql_expr_test)
        .filter(|case| !case.exp_samples.is_empty())
        .map(|case| case.expr)
        .collect();
    let word = |name: &str| {
        regex::Regex::new(&format!(r"(^|[^\w:]){}($|[^\w:])", regex::escape(name))).expect("regex")
    };
    for rule in recording_rules() {
        let pattern = word(&rule.name);
        assert!(
            exprs.iter().any(|e| pattern.is_match(e)),
            "{}: no promql_expr_test evaluates it",
            rule.name
        );
    }
}

#[test]
fn two_scrapes_are_recognised() {
    let parse = |text: &str| -> TestGroup { serde_saphyr::from_str(text).expect("parses") };
    let twice = parse(
        "input_series:\n  - series: 'a{job=\"x\",instance=\"1\",k=\"v\"}'\n  - series: 'a{job=\"y\",instance=\"2\",k=\"v\"}'\n",
    );
    assert!(scraped_twice(&twice));
    let once = parse(
        "input_series:\n  - series: 'a{job=\"x\",k=\"v\"}'\n  - series: 'a{job=\"y\",k=\"w\"}'\n",
    );
    assert!(!scraped_twice(&once));
    let none = parse("input_series:\n  - series: 'a{k=\"v\"}'\n  - series: 'a{k=\"v\"}'\n");
    assert!(!scraped_twice(&none));
}

#[test]
fn every_runbook_section_is_an_alert() {
    let names: BTreeSet<String> = rules().into_iter().map(|r| r.name).collect();
    let sections: Vec<String> = read(RUNBOOKS)
        .lines()
        .filter_map(|line| line.strip_prefix("## "))
        .filter(|heading| heading.starts_with("Dms"))
        .map(|heading| heading.trim().to_owned())
        .collect();
    for section in &sections {
        assert!(
            names.contains(section),
            "{RUNBOOKS}: section {section} has no alert"
        );
    }
}

#[test]
fn rule_file_parsing() {
    let text = "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: up\n      - alert: A\n        expr: |\n          up == 0\n        for: 5m\n        labels:\n          severity: critical\n        annotations:\n          summary: s\n";
    let parsed = parse_alert_rules("x.yml", text).expect("parses");
    assert_eq!(parsed.len(), 1, "the recording rule is skipped");
    let rule = &parsed[0];
    assert_eq!(
        (rule.group.as_str(), rule.name.as_str(), rule.expr.as_str()),
        ("g", "A", "up == 0")
    );
    assert_eq!(rule.for_.as_deref(), Some("5m"));
    assert_eq!(rule.labels["severity"], "critical");
    assert_eq!(rule.annotations["summary"], "s");
    let error = parse_alert_rules("broken.yml", "groups: [").expect_err("fails");
    assert!(error.starts_with("broken.yml: "), "{error}");
    assert_eq!(heading_anchor(" DmsKafkaBrokerDown"), "dmskafkabrokerdown");
    assert_eq!(
        heading_anchor("Using the URLs: a prefix"),
        "using-the-urls-a-prefix"
    );
}

const ALERTMANAGER: &str = "deploy/alertmanager/alertmanager.yml";

/// The parts of the shipped Alertmanager configuration this test reads.
#[derive(Deserialize)]
struct AlertmanagerConfig {
    inhibit_rules: Vec<InhibitRule>,
}

#[derive(Deserialize)]
struct InhibitRule {
    source_matchers: Vec<String>,
    target_matchers: Vec<String>,
    #[serde(default)]
    equal: Vec<String>,
}

/// The alert names an `alertname` matcher selects: `alertname="A"` or `alertname=~"A|B"`,
/// written as whole names (a pattern would hide a renamed alert).
fn matched_alert_names(matcher: &str) -> Vec<String> {
    let (_, value) = matcher
        .split_once("=~")
        .or_else(|| matcher.split_once('='))
        .filter(|(label, _)| label.trim() == "alertname")
        .unwrap_or_else(|| panic!("{ALERTMANAGER}: matcher {matcher} is not on alertname"));
    let value = value.trim().trim_matches('"');
    value.split('|').map(str::to_owned).collect()
}

/// Every inhibition names alerts that exist, and the labels it requires equal are on every
/// firing promtool case of both sides: an absent label counts as equal in Alertmanager, so a
/// missing one would inhibit across instances (or never, when only one side has it).
#[test]
fn inhibit_rules_name_existing_alerts_with_the_equal_labels() {
    let config: AlertmanagerConfig = serde_saphyr::from_str(&read(ALERTMANAGER))
        .unwrap_or_else(|e| panic!("{ALERTMANAGER}: {e}"));
    assert!(
        !config.inhibit_rules.is_empty(),
        "{ALERTMANAGER}: no inhibit_rules"
    );
    let names: BTreeSet<String> = rules().into_iter().map(|r| r.name).collect();
    let mut labels_of: BTreeMap<String, Vec<BTreeMap<String, String>>> = BTreeMap::new();
    for (_, parsed) in test_files() {
        for case in parsed.tests.iter().flat_map(|t| &t.alert_rule_test) {
            for expected in &case.exp_alerts {
                labels_of
                    .entry(case.alertname.clone())
                    .or_default()
                    .push(expected.exp_labels.clone());
            }
        }
    }
    for (index, rule) in config.inhibit_rules.iter().enumerate() {
        assert!(
            !rule.equal.is_empty(),
            "inhibit rule {index}: no `equal`, it would inhibit across every instance"
        );
        let sides = [
            (&rule.source_matchers, "source"),
            (&rule.target_matchers, "target"),
        ];
        for (matchers, side) in sides {
            let alerts: Vec<String> = matchers
                .iter()
                .filter(|m| m.trim_start().starts_with("alertname"))
                .flat_map(|m| matched_alert_names(m))
                .collect();
            assert!(
                !alerts.is_empty(),
                "inhibit rule {index}: no {side} alertname"
            );
            for alert in alerts {
                assert!(
                    names.contains(&alert),
                    "inhibit rule {index}: {side} alert {alert} does not exist"
                );
                let cases = labels_of.get(&alert).map(Vec::as_slice).unwrap_or_default();
                assert!(!cases.is_empty(), "{alert}: no firing promtool case");
                for labels in cases {
                    for label in &rule.equal {
                        assert!(
                            labels.contains_key(label),
                            "inhibit rule {index}: {side} alert {alert} fires without `{label}` ({labels:?})"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn alertname_matchers_are_read() {
    assert_eq!(matched_alert_names(r#"alertname="A""#), ["A"]);
    assert_eq!(matched_alert_names(r#"alertname=~"A|B""#), ["A", "B"]);
}
