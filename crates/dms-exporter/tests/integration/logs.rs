//! What an operator reads at info (issue 20): one start-up line, one line when the first
//! collection is complete, then only changes of state — here, with nothing failing, none.

use std::sync::Arc;
use std::time::Duration;

use dms_cloud::Transport;
use dms_exporter::app;
use dms_exporter::cli::{LogFormat, LogLevel};
use dms_exporter::collect;
use dms_exporter::demo::demo_settings;
use dms_exporter::http::server::Limits;
use dms_exporter::http::web_config;
use dms_exporter::logging::{self, Captured};
use dms_sim::{SimConfig, Simulator};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::support::{RouterTransport, config_for, credentials};

/// Every line so far, parsed (JSON: the same keys as logfmt, and a parser at hand).
fn parsed(captured: &Captured) -> Vec<Value> {
    captured
        .text()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

fn msg(line: &Value) -> &str {
    line["msg"].as_str().unwrap_or_default()
}

const READY: &str = "first collection complete; ready";

#[tokio::test(start_paused = true)]
async fn info_logs_the_start_the_first_collection_and_then_only_changes_of_state() {
    let buffer = Captured::default();
    let filter = logging::filter(None, LogLevel::Info).expect("filter");
    // The test's runtime has one thread: every task of the exporter logs into `buffer`.
    let _logs = tracing::subscriber::set_default(logging::subscriber(
        filter,
        LogFormat::Json,
        buffer.clone(),
    ));

    let sim_config = SimConfig::demo();
    let sim = Simulator::new(sim_config.clone());
    let config = config_for(
        &sim_config,
        "127.0.0.1:9".parse().expect("address"),
        &demo_settings(),
    );
    let expected_collectors: Vec<&str> = collect::all(config.sharding)
        .iter()
        .map(|c| c.name())
        .collect();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let listen = listener.local_addr().expect("address").to_string();
    let serving = app::Serving {
        listeners: vec![listener],
        telemetry_path: "/metrics".to_owned(),
        web: web_config::settings("(none)", &Default::default()).expect("no web config"),
        lifecycle: false,
        limits: Limits::default(),
        config_file: Some("/etc/dms_exporter/dms_exporter.yml".to_owned()),
        demo: false,
        state_file: None,
    };
    let transport: Arc<dyn Transport> = Arc::new(RouterTransport(sim.clone()));
    let input = app::CollectionInput {
        config,
        credentials: credentials(&sim_config),
        transport,
        accounts: Vec::new(),
        env_project: None,
    };
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(app::run(input, None, serving, shutdown.clone()));

    let mut waited = Duration::ZERO;
    while !parsed(&buffer).iter().any(|l| msg(l) == READY) {
        assert!(
            waited < Duration::from_secs(600),
            "not ready after {waited:?}: {:#?}",
            parsed(&buffer)
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
        waited += Duration::from_secs(1);
    }
    // Many cycles of every collector (their demo intervals are seconds to a minute).
    tokio::time::sleep(Duration::from_secs(600)).await;
    shutdown.cancel();
    run.await.expect("run task").expect("run");

    let lines = parsed(&buffer);
    let starts: Vec<&Value> = lines
        .iter()
        .filter(|l| msg(l) == "dms_exporter starting")
        .collect();
    assert_eq!(starts.len(), 1, "{lines:#?}");
    let start = starts[0];
    assert_eq!(start["level"], "info");
    assert_eq!(start["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(start["config"], "/etc/dms_exporter/dms_exporter.yml");
    assert_eq!(start["targets"], sim_config.projects.len());
    let first_project = &sim_config.projects[0];
    let target_list = start["target_list"].as_str().unwrap_or_default();
    assert!(
        target_list.contains(&format!(
            "{}/{}",
            first_project.region, first_project.project_id
        )),
        "{start}"
    );
    assert_eq!(
        start["collectors"],
        expected_collectors.join(","),
        "{start}"
    );
    assert_eq!(start["listen"], listen.as_str());

    let readies: Vec<usize> = (0..lines.len())
        .filter(|i| msg(&lines[*i]) == READY)
        .collect();
    assert_eq!(readies.len(), 1, "{lines:#?}");
    let ready = &lines[readies[0]];
    assert_eq!(ready["level"], "info");
    let elapsed = ready["elapsed_s"].as_f64().expect("elapsed_s, a number");
    assert!(
        elapsed > 0.0 && elapsed <= waited.as_secs_f64() + 1.0,
        "{ready}, ready within {waited:?}"
    );

    // The demo's budget fits its intervals: at info, the start-up line, the ready line, and
    // nothing else in ten minutes of cycles — no warning for a new user to worry about.
    let said: Vec<&str> = lines.iter().map(msg).collect();
    assert_eq!(said, ["dms_exporter starting", READY], "{lines:#?}");
}
