//! Configuration reload through `POST /-/reload` and SIGHUP, with the real binary against the
//! simulator on a real port: a region removed disappears, a bad file is refused and the
//! running configuration keeps serving; a reload keeps the hosts' request schedulers.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use dms_exporter::app::CollectionInput;
use dms_exporter::demo::config_yaml;
use dms_sim::{SimConfig, Simulator};
use tokio_util::sync::CancellationToken;

use crate::support::{RouterTransport, config_for, credentials, in_process};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const FAST: &str = "collectors:\n  jitter: 0\n  kafka_partitions: {enabled: false}\n";

fn config_text(sim: &SimConfig, address: SocketAddr, regions: usize) -> String {
    let key = &sim.credentials[0];
    let mut reduced = sim.clone();
    let first_regions: Vec<String> = {
        let mut names: Vec<String> = sim.projects.iter().map(|p| p.region.clone()).collect();
        names.sort();
        names.dedup();
        names.into_iter().take(regions).collect()
    };
    reduced
        .projects
        .retain(|p| first_regions.contains(&p.region));
    format!(
        "credentials:\n  access_key: {}\n  secret_key: {}\n{}",
        key.access_key,
        key.secret_key,
        config_yaml(&reduced, address, FAST)
    )
}

async fn metrics(client: &reqwest::Client, base: &str) -> String {
    match client.get(format!("{base}/metrics")).send().await {
        Ok(response) => response.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

async fn wait_until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what}: not within 60 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_applies_good_files_and_refuses_bad_ones() {
    let sim_config = SimConfig::deterministic();
    let sim = Simulator::new(SimConfig::deterministic());
    let shutdown = CancellationToken::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let sim_address = listener.local_addr().expect("address");
    let stop = shutdown.clone();
    tokio::spawn(async move {
        sim.serve(listener, async move { stop.cancelled().await })
            .await
    });

    let dir = std::env::temp_dir().join(format!("dms-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("dms_exporter.yml");
    std::fs::write(&file, config_text(&sim_config, sim_address, 2)).expect("write config");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_dms_exporter"))
        .arg(format!("--config.file={}", file.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .arg("--web.enable-lifecycle")
        .stdout(Stdio::null())
        .spawn()
        .expect("start the exporter");
    let exporter = Killed(child);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    let second = sim_config
        .projects
        .iter()
        .map(|p| p.region.clone())
        .max()
        .expect("a region");
    // A region is exported when its instances are (self-metrics name regions too).
    let has_region = |text: &str, region: &str| {
        text.lines().any(|l| {
            l.starts_with("dms_instance_info{") && l.contains(&format!("region=\"{region}\""))
        })
    };
    let first = sim_config
        .projects
        .iter()
        .map(|p| p.region.clone())
        .min()
        .expect("a region");
    wait_until("both regions exported", async || {
        let text = metrics(&client, &base).await;
        has_region(&text, &first) && has_region(&text, &second)
    })
    .await;

    std::fs::write(&file, config_text(&sim_config, sim_address, 1)).expect("write config");
    let reply = client
        .post(format!("{base}/-/reload"))
        .send()
        .await
        .expect("reload");
    assert_eq!(
        reply.status(),
        200,
        "{}",
        reply.text().await.unwrap_or_default()
    );
    wait_until("the removed region is gone", async || {
        !has_region(&metrics(&client, &base).await, &second)
    })
    .await;
    let text = metrics(&client, &base).await;
    assert!(
        has_region(&text, &first),
        "the remaining region is still exported"
    );
    assert!(text.contains("dms_exporter_config_last_reload_successful 1\n"));

    std::fs::write(
        &file,
        "regions:\n  - name: cn-north-4\n    endpoint: not-a-url\n",
    )
    .expect("write config");
    let reply = client
        .post(format!("{base}/-/reload"))
        .send()
        .await
        .expect("reload");
    assert_eq!(reply.status(), 500);
    let message = reply.text().await.unwrap_or_default();
    assert!(
        message.contains("dms_exporter.yml:3:5: regions[0].endpoint"),
        "{message}"
    );
    let text = metrics(&client, &base).await;
    assert!(text.contains("dms_exporter_config_last_reload_successful 0\n"));
    assert!(
        text.contains("dms_instance_info{"),
        "a bad file keeps the running configuration"
    );

    std::fs::write(&file, config_text(&sim_config, sim_address, 2)).expect("write config");
    let pid = exporter.0.id().to_string();
    let status = Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .expect("kill -HUP");
    assert!(status.success());
    wait_until("SIGHUP brings the region back", async || {
        has_region(&metrics(&client, &base).await, &second)
    })
    .await;
    assert!(
        metrics(&client, &base)
            .await
            .contains("dms_exporter_config_last_reload_successful 1\n")
    );

    drop(exporter);
    shutdown.cancel();
    std::fs::remove_dir_all(&dir).ok();
}

/// A reload replaces collection, not the hosts' schedulers: a pause after throttling (and
/// the adaptive rate it cut) holds across it, so a reload never hands out a fresh burst.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_keeps_the_hosts_request_schedulers() {
    let sim_config = SimConfig::deterministic();
    let sim = Simulator::new(SimConfig::deterministic());
    let shutdown = CancellationToken::new();
    let mut exporter = in_process(&sim, &sim_config, FAST, &shutdown);
    let mut statuses = Vec::new();
    wait_until("collection uses a host", async || {
        statuses = exporter.budgets.statuses();
        !statuses.is_empty()
    })
    .await;
    let host = exporter.budgets.for_host(&statuses[0].host);
    assert!(
        host.throttled(Some(Duration::from_secs(3600))),
        "a new burst of throttling"
    );
    let cut = host.status().effective_rate;

    let address = "127.0.0.1:9".parse().expect("address");
    exporter
        .start_collection(CollectionInput {
            config: config_for(&sim_config, address, FAST),
            credentials: credentials(&sim_config),
            transport: Arc::new(RouterTransport(sim.clone())),
            accounts: Vec::new(),
            env_project: None,
        })
        .await;
    let after = exporter.budgets.for_host(&statuses[0].host);
    assert!(
        after.pause_remaining().is_some(),
        "the pause outlived the reload"
    );
    assert_eq!(
        after.status().effective_rate,
        cut,
        "the cut rate outlived the reload"
    );
    shutdown.cancel();
}

/// Issue 16, item 5: a key the gateway rejected is held, and a reload (as after a fixed
/// secret, or a rewritten credential file) probes it at once rather than after the backoff.
#[tokio::test(start_paused = true)]
async fn a_reload_probes_a_rejected_key_at_once() {
    let sim_config = SimConfig::deterministic();
    let sim = Simulator::new(SimConfig::deterministic());
    sim.set_fault(dms_sim::FaultRule {
        endpoint: "*".to_owned(),
        instance_id: None,
        fault: dms_sim::Fault::Unauthorized,
        remaining: None,
    });
    let shutdown = CancellationToken::new();
    let mut exporter = in_process(&sim, &sim_config, FAST, &shutdown);
    let rejected = |exporter: &dms_exporter::app::Exporter| {
        exporter
            .budgets
            .statuses()
            .iter()
            .any(|s| s.credentials_rejected)
    };
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(rejected(&exporter), "the key is rejected and held");
    let sent_while_held = sim.request_log().len();
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(
        sim.request_log().len(),
        sent_while_held,
        "no signature is sent while the key is held"
    );
    sim.clear_faults();
    let reloaded = Instant::now();
    exporter
        .start_collection(CollectionInput {
            config: config_for(&sim_config, "127.0.0.1:9".parse().expect("address"), FAST),
            credentials: credentials(&sim_config),
            transport: Arc::new(RouterTransport(sim.clone())),
            accounts: Vec::new(),
            env_project: None,
        })
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !rejected(&exporter),
        "the reload probed the key at once ({:?} after it) and it was accepted",
        reloaded.elapsed()
    );
    assert!(sim.request_log().len() > sent_while_held);
    shutdown.cancel();
}
