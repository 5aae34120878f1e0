//! `--check-config --online` against the simulator: every API the enabled collectors use is
//! read once per target, a denied one says so and fails the check.

use std::path::PathBuf;
use std::process::{Command, Output};

use dms_exporter::demo::config_yaml;
use dms_sim::{Fault, FaultRule, SimConfig, Simulator};
use tokio_util::sync::CancellationToken;

/// Runs the binary's online check of a configuration for the simulator at `address`, off the
/// runtime that serves the simulator.
async fn check_online(sim_config: &SimConfig, yaml: String, name: &str) -> Output {
    let dir = std::env::temp_dir().join(format!("dms-preflight-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let file: PathBuf = dir.join("dms_exporter.yml");
    std::fs::write(&file, yaml).expect("write the configuration");
    let key = sim_config.credentials[0].clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_dms_exporter"))
            .args(["--check-config", "--online", "--config.file"])
            .arg(&file)
            .env("HUAWEICLOUD_SDK_AK", &key.access_key)
            .env("HUAWEICLOUD_SDK_SK", &key.secret_key)
            .env_remove("CREDENTIALS_DIRECTORY")
            .output()
            .expect("the binary runs")
    })
    .await
    .expect("the check ends");
    let _ = std::fs::remove_dir_all(dir);
    output
}

/// The table's rows (after the header), as (API, IAM action, result) of the first target.
fn rows(stdout: &str) -> Vec<(String, String, String)> {
    stdout
        .lines()
        .skip_while(|line| !line.starts_with("TARGET"))
        .skip(1)
        .filter(|line| line.contains('/'))
        .map(|line| {
            let cells: Vec<&str> = line.split("  ").filter(|c| !c.trim().is_empty()).collect();
            let cell = |i: usize| {
                cells
                    .get(i)
                    .map(|c| c.trim().to_owned())
                    .unwrap_or_default()
            };
            (cell(1), cell(2), cell(3))
        })
        .collect()
}

/// The simulator of `config`, served on a port of its own until the token is cancelled.
async fn serve(config: &SimConfig) -> (Simulator, std::net::SocketAddr, CancellationToken) {
    let sim = Simulator::new(config.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let shutdown = CancellationToken::new();
    let (server, stop) = (sim.clone(), shutdown.clone());
    tokio::spawn(async move { server.serve(listener, stop.cancelled_owned()).await });
    (sim, address, shutdown)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_check_reads_every_api_and_fails_on_a_denied_one() {
    let sim_config = SimConfig::deterministic();
    let (sim, address, shutdown) = serve(&sim_config).await;
    // The demo's configuration names every project; one region without `projects:` makes
    // the check discover its project through IAM's project list.
    let mut yaml = config_yaml(&sim_config, address, "");
    let discovered: Vec<&str> = sim_config
        .projects
        .iter()
        .filter(|p| p.region == "cn-north-4")
        .map(|p| p.project_id.as_str())
        .collect();
    let [discovered] = discovered[..] else {
        panic!("the deterministic fleet has one project in cn-north-4: {discovered:?}");
    };
    yaml = yaml.replace(&format!("    projects: [{discovered}]\n"), "");

    let output = check_online(&sim_config, yaml.clone(), "ok").await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let table = rows(&stdout);
    for api in [
        "instances_list (kafka)",
        "tasks",
        "kafka_topic_detail",
        "kafka_group",
        "rocketmq_group_topics",
        "rocketmq_topic_status",
        "rabbitmq_queues",
        "quotas",
    ] {
        assert!(
            table
                .iter()
                .any(|(a, _, result)| a == api && result == "OK"),
            "{api} not read OK:\n{stdout}"
        );
    }
    assert!(
        table
            .iter()
            .any(|(a, action, _)| a == "tasks" && action == "dms:instance:getBackgroundTask"),
        "{stdout}"
    );
    assert!(stdout.contains(" OK, 0 denied, 0 error, "), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|line| line.starts_with("cn-north-4/(discovered) ")
                && line.contains("iam_projects")
                && line.contains("iam:projects:list")
                && line.ends_with("OK")),
        "the project is discovered through IAM:\n{stdout}"
    );

    // One API denied (HTTP 403 DMS.10240309): its row says so, the others still answer.
    sim.set_fault(FaultRule {
        endpoint: "kafka_topics".into(),
        instance_id: None,
        fault: Fault::Forbidden,
        remaining: None,
    });
    let output = check_online(&sim_config, yaml, "denied").await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let table = rows(&stdout);
    let denied: Vec<&(String, String, String)> = table
        .iter()
        .filter(|(_, _, result)| result.starts_with("denied"))
        .collect();
    assert!(!denied.is_empty(), "{stdout}");
    for (api, action, result) in &denied {
        assert_eq!(api, "kafka_topics", "{stdout}");
        assert_eq!(action, "dms:instance:get", "{stdout}");
        assert!(
            result.contains("403") && result.contains("DMS.10240309"),
            "{result}"
        );
    }
    // A detail read needs a topic from the denied list: skipped, not an error.
    assert!(
        table
            .iter()
            .any(|(api, _, result)| api == "kafka_topic_detail" && result.starts_with("skipped")),
        "{stdout}"
    );
    assert!(
        table
            .iter()
            .any(|(api, _, result)| api == "kafka_cluster" && result == "OK"),
        "{stdout}"
    );
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_check_reads_each_account_its_project_list_and_its_id() {
    let sim_config = SimConfig::deterministic();
    let (_sim, address, shutdown) = serve(&sim_config).await;
    let key = &sim_config.credentials[0];
    let project = &sim_config.projects[0];
    // `good` finds its projects and its id; `bad` signs with a wrong secret.
    let yaml = format!(
        "accounts:
  - name: good
    credentials: {{access_key: {ak}, secret_key: {sk}}}
    sts_endpoint: http://{address}
    regions: all
    discovery:
      iam_endpoint: http://{address}
      endpoint: http://{address}
      ces_endpoint: http://{address}
  - name: bad
    credentials: {{access_key: {ak}, secret_key: not-the-secret}}
    account_id: 0a1b2c3d
    regions:
      - name: {region}
        endpoint: http://{address}
        iam_endpoint: http://{address}
        ces_endpoint: http://{address}
        projects: [{project_id}]
",
        ak = key.access_key,
        sk = key.secret_key,
        region = project.region,
        project_id = project.project_id,
    );
    let output = check_online(&sim_config, yaml, "accounts").await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    let line = |target: &str, api: &str| -> String {
        stdout
            .lines()
            .find(|line| line.starts_with(&format!("{target} ")) && line.contains(api))
            .unwrap_or_else(|| panic!("no {target} {api} row:\n{stdout}"))
            .to_owned()
    };
    assert!(line("good:(all projects)", "iam_projects").ends_with("OK"));
    assert!(line("good", "sts_caller_identity").ends_with("OK"));
    assert!(line("bad", "sts_caller_identity").contains("skipped"));
    // Every project IAM lists for `good` is checked, each API read OK.
    for project in &sim_config.projects {
        let target = format!("good:{}/{}", project.region, project.project_id);
        assert!(
            line(&target, "instances_list (kafka)").ends_with("OK"),
            "{stdout}"
        );
    }
    let bad = format!("bad:{}/{}", project.region, project.project_id);
    assert!(
        line(&bad, "instances_list (kafka)").contains("denied"),
        "{stdout}"
    );
    assert!(!stdout.contains("not-the-secret"), "{stdout}");
    shutdown.cancel();
}
