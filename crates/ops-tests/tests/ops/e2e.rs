//! The whole stack against a real Prometheus: the `--demo` exporter (its simulator's control
//! API reachable), and Debian's Prometheus scraping it every second with the shipped rules.
//! Every dashboard query runs against it, and each fault the simulator can play makes its
//! alert pending or firing in Prometheus's own alert API, then clearing it clears the alert.
//! Every kafka_exporter compatibility series equals its native family.

// A real Prometheus scrapes in real time: waits here mean the wall clock, not tokio's.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ops_tests::dashboards::{panel_queries, substitute, template_variables};

#[path = "e2e_consumer_health.rs"]
mod consumer_health;
use ops_tests::{repo_file, workspace_binary};
use serde_json::{Value, json};

#[path = "e2e_rabbitmq_queues.rs"]
mod rabbitmq_queues;

/// Kills the child when the test ends, however it ends.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

struct Stack {
    http: reqwest::Client,
    sim: String,
    prometheus: String,
    _processes: Vec<Process>,
    _dir: TempDir,
}

/// A temporary directory removed at the end.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < timeout {
        match check().await {
            Ok(()) => {
                println!("{what}: after {:.1} s", start.elapsed().as_secs_f64());
                return;
            }
            Err(why) => last = why,
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("{what}: not within {timeout:?}; last: {last}");
}

impl Stack {
    async fn get(&self, url: &str) -> Result<Value, String> {
        let response = self.http.get(url).send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{url}: {status}: {body}"));
        }
        serde_json::from_str(&body).map_err(|e| format!("{url}: {e}: {body}"))
    }

    async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.sim));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("simulator control API answers");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap_or(Value::Null)
    }

    /// An instant query; the result vector.
    async fn query(&self, expr: &str) -> Result<Vec<Value>, String> {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/api/v1/query", self.prometheus),
            &[("query", expr)],
        )
        .map_err(|e| e.to_string())?;
        let value = self.get(url.as_str()).await?;
        if value["status"] != "success" {
            return Err(format!("{expr}: {value}"));
        }
        Ok(value["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    /// An instant query at `time` (Unix seconds); each series' labels (without `__name__`)
    /// and value.
    async fn query_at(&self, expr: &str, time: f64) -> Result<Series, String> {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/api/v1/query", self.prometheus),
            &[("query", expr), ("time", &format!("{time:.3}"))],
        )
        .map_err(|e| e.to_string())?;
        let value = self.get(url.as_str()).await?;
        if value["status"] != "success" {
            return Err(format!("{expr}: {value}"));
        }
        let mut series = Series::new();
        for sample in value["data"]["result"].as_array().into_iter().flatten() {
            let labels: BTreeMap<String, String> = sample["metric"]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, _)| *k != "__name__")
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect();
            let number = sample["value"][1]
                .as_str()
                .and_then(|v| v.parse::<f64>().ok())
                .ok_or_else(|| format!("{expr}: no value in {sample}"))?;
            series.insert(labels, number);
        }
        Ok(series)
    }

    /// Active alerts (pending or firing) as (name, labels, state).
    async fn alerts(&self) -> Result<Vec<(String, BTreeMap<String, String>, String)>, String> {
        let value = self
            .get(&format!("{}/api/v1/alerts", self.prometheus))
            .await?;
        let alerts = value["data"]["alerts"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        Ok(alerts
            .iter()
            .map(|a| {
                let labels: BTreeMap<String, String> = a["labels"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                            .collect()
                    })
                    .unwrap_or_default();
                let name = labels.get("alertname").cloned().unwrap_or_default();
                (
                    name,
                    labels,
                    a["state"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect())
    }
}

/// Query results: labels (without `__name__`) to value.
type Series = BTreeMap<BTreeMap<String, String>, f64>;

/// Each kafka_exporter compatibility series (alerts/kafka_exporter_compat.rules.yml) and the
/// native family it is recorded from; `kafka_brokers` is checked apart.
const COMPATIBLE: [(&str, &str); 11] = [
    ("kafka_topic_partitions", "dms_kafka_topic_partitions"),
    (
        "kafka_topic_partition_current_offset",
        "dms_kafka_partition_high_watermark",
    ),
    (
        "kafka_topic_partition_oldest_offset",
        "dms_kafka_partition_log_start_offset",
    ),
    ("kafka_topic_partition_leader", "dms_kafka_partition_leader"),
    (
        "kafka_topic_partition_replicas",
        "dms_kafka_partition_replicas",
    ),
    (
        "kafka_topic_partition_in_sync_replica",
        "dms_kafka_partition_in_sync_replicas",
    ),
    (
        "kafka_topic_partition_under_replicated_partition",
        "dms_kafka_partition_under_replicated",
    ),
    (
        "kafka_consumergroup_current_offset",
        "dms_kafka_consumergroup_current_offset",
    ),
    ("kafka_consumergroup_lag", "dms_kafka_consumergroup_lag"),
    (
        "kafka_consumergroup_lag_sum",
        "dms_kafka_consumergroup_topic_lag",
    ),
    (
        "kafka_consumergroup_members",
        "dms_kafka_consumergroup_members",
    ),
];

/// The native series as kafka_exporter names their labels: the scrape's labels dropped,
/// `group` renamed `consumergroup`.
fn as_kafka_exporter(native: Series) -> Series {
    native
        .into_iter()
        .map(|(labels, value)| {
            let labels = labels
                .into_iter()
                .filter(|(k, _)| k != "job" && k != "instance")
                .map(|(k, v)| {
                    if k == "group" {
                        ("consumergroup".to_owned(), v)
                    } else {
                        (k, v)
                    }
                })
                .collect();
            (labels, value)
        })
        .collect()
}

/// Compares every compatibility series with its native family at one instant (a second ago,
/// so that the rules have been evaluated on the same samples); differences, if any.
async fn compatibility_differences(stack: &Stack) -> Result<(), String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs_f64()
        - 1.0;
    let mut differences = Vec::new();
    let mut pairs: Vec<(&str, Series, Series)> = Vec::new();
    for (compatible, native) in COMPATIBLE {
        let expected = as_kafka_exporter(stack.query_at(native, now).await?);
        pairs.push((compatible, stack.query_at(compatible, now).await?, expected));
    }
    // kafka_brokers: the healthy brokers of each instance.
    let mut brokers = Series::new();
    for (labels, up) in stack.query_at("dms_kafka_broker_up", now).await? {
        let id = labels.get("instance_id").cloned().unwrap_or_default();
        *brokers
            .entry(BTreeMap::from([("instance_id".to_owned(), id)]))
            .or_default() += up;
    }
    pairs.push((
        "kafka_brokers",
        stack.query_at("kafka_brokers", now).await?,
        brokers,
    ));
    for (name, got, expected) in pairs {
        if expected.is_empty() {
            differences.push(format!("{name}: the native family has no data"));
        } else if got != expected {
            let wrong: Vec<String> = expected
                .iter()
                .filter(|(labels, value)| got.get(*labels) != Some(*value))
                .take(3)
                .map(|(labels, value)| {
                    format!("{labels:?}: want {value}, got {:?}", got.get(labels))
                })
                .collect();
            differences.push(format!(
                "{name}: {} series, native {}; {wrong:?}",
                got.len(),
                expected.len()
            ));
        }
    }
    if differences.is_empty() {
        Ok(())
    } else {
        Err(differences.join("\n"))
    }
}

/// An alert the test expects, by name and the labels that identify the fault.
#[derive(Debug, Clone)]
struct Expected {
    name: &'static str,
    labels: Vec<(&'static str, String)>,
    fault: String,
}

impl Expected {
    fn matches(&self, name: &str, labels: &BTreeMap<String, String>) -> bool {
        name == self.name && self.labels.iter().all(|(k, v)| labels.get(*k) == Some(v))
    }
}

fn write_prometheus_config(dir: &Path, exporter: &str) -> std::path::PathBuf {
    let rules: Vec<String> = std::fs::read_dir(repo_file("alerts"))
        .expect("alerts/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .map(|p| {
            p.canonicalize()
                .expect("rule file path")
                .display()
                .to_string()
        })
        .collect();
    assert!(!rules.is_empty(), "no rule files in alerts/");
    let config = json!({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
        "rule_files": rules,
        // The job name the rules' default selector expects (docs/runbooks.md#parameters).
        "scrape_configs": [{"job_name": "dms_exporter", "static_configs": [{"targets": [exporter]}]}],
    });
    // JSON is YAML.
    let path = dir.join("prometheus.yml");
    std::fs::write(&path, config.to_string()).expect("write prometheus.yml");
    path
}

async fn start() -> Stack {
    let dir = std::env::temp_dir().join(format!("dms-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let dir = TempDir(dir);
    let (sim_port, exporter_port, prometheus_port) = (free_port(), free_port(), free_port());
    let exporter = Command::new(workspace_binary("dms_exporter"))
        .args(["--demo", "--log.level", "warn"])
        .arg(format!("--demo.simulator-address=127.0.0.1:{sim_port}"))
        .arg(format!("--web.listen-address=127.0.0.1:{exporter_port}"))
        .stdout(Stdio::null())
        .spawn()
        .expect("start dms_exporter --demo");
    let mut processes = vec![Process(exporter)];
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let exporter_url = format!("http://127.0.0.1:{exporter_port}");
    wait_for("exporter ready", Duration::from_secs(60), || {
        let (http, url) = (http.clone(), format!("{exporter_url}/-/ready"));
        async move {
            let status = http
                .get(url)
                .send()
                .await
                .map_err(|e| e.to_string())?
                .status();
            if status.is_success() {
                Ok(())
            } else {
                Err(status.to_string())
            }
        }
    })
    .await;

    let config = write_prometheus_config(&dir.0, &format!("127.0.0.1:{exporter_port}"));
    let prometheus = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.0.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{prometheus_port}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect(
            "prometheus must be installed (Debian package prometheus; scripts/test installs it)",
        );
    processes.push(Process(prometheus));
    Stack {
        http,
        sim: format!("http://127.0.0.1:{sim_port}"),
        prometheus: format!("http://127.0.0.1:{prometheus_port}"),
        _processes: processes,
        _dir: dir,
    }
}

/// Running Kafka instances of the demo fleet with their groups, from the simulator's summary.
fn running_instances(state: &Value) -> Vec<Value> {
    running(state, "instances")
}

/// Running instances of one section of the simulator's summary (`instances` for Kafka,
/// `rocketmq`, `rabbitmq`).
fn running(state: &Value, section: &str) -> Vec<Value> {
    state[section]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|i| i["status"] == "RUNNING")
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// Dashboard variables for one instance of the simulator's summary: its region, project,
/// name and id and the job that scrapes it from `dms_instance_info`, and the given topic and
/// group.
async fn engine_values(
    stack: &Stack,
    instance: &Value,
    topic: Option<&str>,
    group: Option<&str>,
) -> BTreeMap<String, String> {
    let id = instance["instance_id"].as_str().unwrap_or_default();
    let info = stack
        .query(&format!("dms_instance_info{{instance_id=\"{id}\"}}"))
        .await
        .expect("info")
        .first()
        .cloned()
        .expect("info of the instance");
    let label = |name: &str| info["metric"][name].as_str().unwrap_or_default().to_owned();
    [
        ("datasource", "prometheus".to_owned()),
        ("job", label("job")),
        ("region", label("region")),
        ("project_id", label("project_id")),
        ("instance", label("name")),
        ("instance_id", id.to_owned()),
        ("topic", topic.unwrap_or_default().to_owned()),
        ("group", group.unwrap_or_default().to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

async fn wait_for_alerts(stack: &Stack, expected: &[Expected], active: bool, timeout: Duration) {
    let what = if active {
        "alerts pending or firing"
    } else {
        "alerts cleared"
    };
    wait_for(what, timeout, || async {
        let alerts = stack.alerts().await?;
        let missing: Vec<String> = expected
            .iter()
            .filter(|e| alerts.iter().any(|(n, l, _)| e.matches(n, l)) != active)
            .map(|e| format!("{} ({})", e.name, e.fault))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("{missing:?}"))
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_and_alerts_work_on_a_real_prometheus() {
    let stack = start().await;
    let state = stack
        .control(reqwest::Method::GET, "/_sim/state", None)
        .await;
    let instances = running_instances(&state);
    assert!(
        instances.len() >= 4,
        "the demo fleet has at least four running instances: {state}"
    );
    let id = |i: usize| {
        instances[i]["instance_id"]
            .as_str()
            .expect("instance id")
            .to_owned()
    };
    let (lagging, broken, full, brokers) = (id(0), id(1), id(2), id(3));

    // The lag alert looks at offsets over a window: stop the consumer before Prometheus has
    // any data, so the window only ever saw it stopped.
    let group = instances[0]["groups"]
        .as_array()
        .and_then(|g| g.first())
        .and_then(|g| g["group_id"].as_str())
        .expect("the first instance has a group")
        .to_owned();
    stack
        .control(
            reqwest::Method::PUT,
            &format!("/_sim/instances/{lagging}/groups/{group}/consumer"),
            Some(json!({"running": false})),
        )
        .await;

    // The same for a RocketMQ group that consumes a topic, on an instance with ACL users (so
    // the dashboard's user panels have data).
    let rocket = running(&state, "rocketmq")
        .into_iter()
        .find(|i| i["enable_acl"] == true)
        .expect("the demo fleet has a running RocketMQ instance with ACL on");
    let rocket_id = rocket["instance_id"].as_str().expect("id").to_owned();
    let (rocket_group, rocket_topic) = rocket["groups"]
        .as_object()
        .and_then(|groups| {
            groups.iter().find_map(|(name, group)| {
                let topic = group["topics"].as_array()?.first()?.as_str()?;
                Some((name.clone(), topic.to_owned()))
            })
        })
        .expect("the RocketMQ instance has a group consuming a topic");
    stack
        .control(
            reqwest::Method::PUT,
            &format!("/_sim/instances/{rocket_id}/groups/{rocket_group}/consumer"),
            Some(json!({"running": false})),
        )
        .await;
    let mut health =
        consumer_health::before_scraping(&stack, &instances[0], &group, &rocket, &rocket_group)
            .await;

    let queue_faults = rabbitmq_queues::QueueFaults::inject(&stack, &state).await;

    wait_for(
        "Prometheus scrapes the exporter",
        Duration::from_secs(60),
        || async {
            let up = stack.query("up{job=\"dms_exporter\"} == 1").await?;
            let lag = stack.query("count(dms_kafka_consumergroup_lag)").await?;
            if up.is_empty() || lag.is_empty() {
                Err("no data yet".into())
            } else {
                Ok(())
            }
        },
    )
    .await;

    // Faults, one per alert.
    consumer_health::while_scraping(&stack, &mut health, &lagging, &group).await;
    let put = reqwest::Method::PUT;
    let post = reqwest::Method::POST;
    stack
        .control(
            put.clone(),
            &format!("/_sim/instances/{broken}/status"),
            Some(json!({"status": "ERROR"})),
        )
        .await;
    stack
        .control(
            put.clone(),
            &format!("/_sim/instances/{full}/disk"),
            Some(json!({"used_ratio": 0.97})),
        )
        .await;
    stack
        .control(
            put.clone(),
            &format!("/_sim/instances/{brokers}/brokers/0"),
            Some(json!({"up": false})),
        )
        .await;
    let rabbit = running(&state, "rabbitmq")
        .first()
        .cloned()
        .expect("the demo fleet has a running RabbitMQ instance");
    let rabbit_id = rabbit["instance_id"].as_str().expect("id").to_owned();
    let plugin = rabbit["plugins"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["enable"] == true))
        .and_then(|p| p["name"].as_str())
        .expect("the RabbitMQ instance has an enabled plugin")
        .to_owned();
    stack
        .control(
            put.clone(),
            &format!("/_sim/instances/{rabbit_id}/plugins/{plugin}"),
            Some(json!({"running": false})),
        )
        .await;
    let failed = stack
        .control(
            post.clone(),
            &format!("/_sim/instances/{full}/tasks"),
            Some(json!({"name": "modifyAutoTopic", "status": "FAILED"})),
        )
        .await;
    let stuck = stack.control(post.clone(), &format!("/_sim/instances/{full}/tasks"), Some(json!({"name": "changeRetentionPolicy", "status": "EXECUTING", "age_seconds": 3 * 3600}))).await;
    let task_id = |v: &Value| v["task_id"].as_str().expect("task id").to_owned();
    let (failed, stuck) = (task_id(&failed), task_id(&stuck));
    // The cluster API fails on the disk-full instance, not on the one the dashboards are
    // checked against: a failing read's data ages out at max_age after its last good read.
    stack.control(post.clone(), "/_sim/faults", Some(json!({"endpoint": "kafka_cluster", "instance_id": full, "fault": {"kind": "server_error", "status": 503}}))).await;
    stack
        .control(
            post.clone(),
            "/_sim/faults",
            Some(json!({"endpoint": "tasks", "fault": {"kind": "throttle429"}, "remaining": 8})),
        )
        .await;

    let expect = |name: &'static str, labels: Vec<(&'static str, String)>, fault: &str| Expected {
        name,
        labels,
        fault: fault.to_owned(),
    };
    let expected = vec![
        expect(
            "DmsKafkaConsumerLagGrowing",
            vec![("instance_id", lagging.clone()), ("group", group.clone())],
            "consumer stopped",
        ),
        expect(
            "DmsKafkaConsumerGroupWithoutMembers",
            vec![("instance_id", lagging.clone()), ("group", group.clone())],
            "consumer stopped",
        ),
        expect(
            "DmsInstanceNotRunning",
            vec![("instance_id", broken.clone())],
            "instance ERROR",
        ),
        expect(
            "DmsInstanceStorageHigh",
            vec![("instance_id", full.clone())],
            "disk at 97%",
        ),
        expect(
            "DmsInstanceStorageFullInOneDay",
            vec![("instance_id", full.clone())],
            "disk filling",
        ),
        expect(
            "DmsKafkaBrokerDown",
            vec![("instance_id", brokers.clone()), ("broker", "0".into())],
            "broker 0 down",
        ),
        expect(
            "DmsKafkaOfflinePartitions",
            vec![("instance_id", brokers.clone())],
            "broker 0 down",
        ),
        expect(
            "DmsKafkaUnderReplicatedPartitions",
            vec![("instance_id", brokers.clone())],
            "broker 0 down",
        ),
        expect(
            "DmsRocketMqConsumerLagGrowing",
            vec![
                ("instance_id", rocket_id.clone()),
                ("group", rocket_group.clone()),
            ],
            "RocketMQ consumer stopped",
        ),
        expect(
            "DmsRocketMqConsumerGroupOffline",
            vec![
                ("instance_id", rocket_id.clone()),
                ("group", rocket_group.clone()),
            ],
            "RocketMQ consumer stopped",
        ),
        expect(
            "DmsRabbitMqPluginNotRunning",
            vec![
                ("instance_id", rabbit_id.clone()),
                ("plugin", plugin.clone()),
            ],
            "plugin stopped",
        ),
        expect(
            "DmsBackgroundTaskFailed",
            vec![("instance_id", full.clone()), ("task_id", failed.clone())],
            "task failed",
        ),
        expect(
            "DmsBackgroundTaskStuck",
            vec![("instance_id", full.clone()), ("task_id", stuck.clone())],
            "task executing for 3 h",
        ),
        expect(
            "DmsExporterCollectorDown",
            vec![("collector", "kafka_cluster".into())],
            "cluster API answers 503",
        ),
        expect(
            "DmsExporterInstanceCollectorDown",
            vec![
                ("instance_id", full.clone()),
                ("collector", "kafka_cluster".into()),
            ],
            "cluster API answers 503 for one instance",
        ),
        expect(
            "DmsApiThrottlingSustained",
            vec![("api", "tasks".into())],
            "tasks API throttled",
        ),
    ];
    let expected = [expected, queue_faults.expected(), health.expected.clone()].concat();
    wait_for_alerts(&stack, &expected, true, Duration::from_secs(120)).await;

    // Every dashboard query, with its variables filled in from the live data, is accepted and
    // returns data.
    let name_of = |instance: &Value| instance["name"].as_str().unwrap_or_default().to_owned();
    let topic = stack
        .query(&format!(
            "dms_kafka_topic_partitions{{instance_id=\"{lagging}\"}}"
        ))
        .await
        .expect("topics")
        .first()
        .and_then(|s| s["metric"]["topic"].as_str())
        .expect("a topic of the lagging instance")
        .to_owned();
    let region = stack
        .query(&format!("dms_instance_info{{instance_id=\"{lagging}\"}}"))
        .await
        .expect("info")
        .first()
        .map(|s| {
            let label = |name: &str| s["metric"][name].as_str().unwrap_or_default().to_owned();
            (label("region"), label("project_id"), label("job"))
        })
        .expect("info of the lagging instance");
    let values: BTreeMap<String, String> = [
        ("datasource", "prometheus".to_owned()),
        ("job", region.2),
        ("region", region.0),
        ("project_id", region.1),
        ("instance", name_of(&instances[0])),
        ("instance_id", lagging.clone()),
        ("topic", topic),
        ("group", group.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    // The engine dashboards get an instance of their engine.
    let rabbit_values = engine_values(&stack, &rabbit, None, None).await;
    let rocket_values =
        engine_values(&stack, &rocket, Some(&rocket_topic), Some(&rocket_group)).await;
    let values_for = |dashboard: &str| -> &BTreeMap<String, String> {
        if dashboard.contains("rabbitmq") {
            &rabbit_values
        } else if dashboard.contains("rocketmq") {
            &rocket_values
        } else {
            &values
        }
    };
    let queries = panel_queries();
    assert!(
        queries.len() >= 20,
        "the dashboards hold {} queries",
        queries.len()
    );
    let label_values = regex::Regex::new(r"^label_values\((.*),\s*(\w+)\)$").expect("pattern");
    let variables = template_variables();
    let (stack_ref, queries_ref, values_for) = (&stack, &queries, &values_for);
    let (label_values, variables) = (&label_values, &variables);
    // Lag in seconds needs two log-end readings that differ, so its panels may take a few
    // cycles to have data; Cloud Eye's points become visible 1 to 3 minutes after their minute
    // (docs/cloud-eye.md), and a rate needs the point before, so the Cloud Eye panels of a
    // fresh simulator have data about four minutes after it started. The check is repeated
    // until every query answers or time runs out.
    wait_for(
        "every dashboard query and variable answers with data",
        Duration::from_secs(240),
        || async move {
            let mut failures = Vec::new();
            for panel in queries_ref {
                let expr = substitute(&panel.expr, values_for(&panel.dashboard));
                match stack_ref.query(&expr).await {
                    Ok(result) if result.is_empty() => failures.push(format!(
                        "{} / {}: no data: {expr}",
                        panel.dashboard, panel.panel
                    )),
                    Ok(_) => {}
                    Err(error) => failures.push(format!(
                        "{} / {}: rejected: {error}",
                        panel.dashboard, panel.panel
                    )),
                }
            }
            for (dashboard, name, query) in variables {
                let Some(parts) = label_values.captures(query.trim()) else {
                    continue;
                };
                let expr = format!(
                    "count by ({}) ({})",
                    &parts[2],
                    substitute(&parts[1], values_for(dashboard))
                );
                match stack_ref.query(&expr).await {
                    Ok(result) if result.is_empty() => {
                        failures.push(format!("{dashboard} / variable {name}: no values: {expr}"))
                    }
                    Ok(_) => {}
                    Err(error) => {
                        failures.push(format!("{dashboard} / variable {name}: rejected: {error}"))
                    }
                }
            }
            if failures.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "dashboard queries failed:\n{}",
                    failures.join("\n")
                ))
            }
        },
    )
    .await;
    println!(
        "{} panel queries and the variables answered with data",
        queries.len()
    );

    // The kafka_exporter compatibility series equal the native ones (retried: a collector
    // refresh between a rule's evaluation and the scrape it is compared with differs once).
    wait_for(
        "kafka_exporter series equal the native ones",
        Duration::from_secs(30),
        || compatibility_differences(&stack),
    )
    .await;
    // The exporter is up and its job is the rules' default: neither scrape alert is active.
    let scrape_alerts: Vec<String> = stack
        .alerts()
        .await
        .expect("alerts")
        .into_iter()
        .filter(|(name, _, _)| name == "DmsExporterDown" || name == "DmsExporterAbsent")
        .map(|(name, _, state)| format!("{name} {state}"))
        .collect();
    assert!(scrape_alerts.is_empty(), "{scrape_alerts:?}");

    // Clearing every fault clears every alert.
    stack
        .control(
            put.clone(),
            &format!("/_sim/instances/{lagging}/groups/{group}/consumer"),
            Some(json!({"running": true})),
        )
        .await;
    stack
        .control(
            put.clone(),
            &format!("/_sim/instances/{broken}/status"),
            Some(json!({"status": "RUNNING"})),
        )
        .await;
    stack
        .control(
            put.clone(),
            &format!("/_sim/instances/{full}/disk"),
            Some(json!({"used_ratio": 0.3})),
        )
        .await;
    stack
        .control(
            put.clone(),
            &format!("/_sim/instances/{brokers}/brokers/0"),
            Some(json!({"up": true})),
        )
        .await;
    stack
        .control(
            put.clone(),
            &format!("/_sim/instances/{rabbit_id}/plugins/{plugin}"),
            Some(json!({"running": true})),
        )
        .await;
    stack
        .control(
            put.clone(),
            &format!("/_sim/instances/{rocket_id}/groups/{rocket_group}/consumer"),
            Some(json!({"running": true})),
        )
        .await;
    for task in [&failed, &stuck] {
        stack
            .control(
                reqwest::Method::DELETE,
                &format!("/_sim/instances/{full}/tasks/{task}"),
                None,
            )
            .await;
    }
    queue_faults.clear(&stack).await;
    stack
        .control(reqwest::Method::DELETE, "/_sim/faults", None)
        .await;
    consumer_health::clear(&stack, &health).await;
    wait_for_alerts(&stack, &expected, false, Duration::from_secs(200)).await;

    // Authentication failures, last: a rejected AK/SK pauses the exporter's requests for a
    // minute (to spare the AK from locking), which would slow the other checks.
    stack
        .control(
            post.clone(),
            "/_sim/faults",
            Some(json!({"endpoint": "tasks", "fault": {"kind": "unauthorized"}, "remaining": 1})),
        )
        .await;
    let auth = vec![expect(
        "DmsApiAuthenticationFailures",
        vec![("api", "tasks".into())],
        "AK/SK rejected",
    )];
    wait_for_alerts(&stack, &auth, true, Duration::from_secs(60)).await;
    wait_for_alerts(&stack, &auth, false, Duration::from_secs(200)).await;
}
