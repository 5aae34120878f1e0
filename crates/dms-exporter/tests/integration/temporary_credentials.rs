//! Temporary keys from the ECS metadata service (the simulator's, on its own listener path,
//! never a link-local address): the exporter collects with them across rotations, shows when
//! they expire, survives the service going down while the keys live, and never shows a key,
//! a secret or a token in its logs, `/metrics` or landing page.

use std::sync::Arc;
use std::time::Duration;

use dms_cloud::Transport;
use dms_exporter::app;
use dms_exporter::cli::{LogFormat, LogLevel};
use dms_exporter::config::{self, ProcessEnv};
use dms_exporter::logging::{self, Captured};
use dms_exporter::metrics::exposition::Format;
use dms_sim::{MetadataFault, SimConfig, Simulator};
use http_body_util::BodyExt;
use tokio_util::sync::CancellationToken;
use tower_service::Service;

use crate::support::{RouterTransport, config_for, series};

const MINUTE: Duration = Duration::from_secs(60);

const CREDENTIALS: &str = "credentials:
  source: ecs_metadata
  ecs_metadata:
    endpoint: http://ecs-metadata.sim.invalid
  refresh_margin: 15m
collectors:
  jitter: 0
  kafka_partitions: {enabled: false}
";

/// The exporter's self-metrics as text.
fn self_metrics(exporter: &app::Exporter) -> String {
    let mut text = String::new();
    exporter.self_metrics.encode(Format::Text, &mut text);
    text
}

/// The value of the one `dms_credentials_expiry_timestamp_seconds` series.
fn expiry(text: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| {
            line.strip_prefix(r#"dms_credentials_expiry_timestamp_seconds{source="ecs_metadata"} "#)
        })
        .and_then(|value| value.trim().parse().ok())
}

async fn landing_page(exporter: &app::Exporter) -> String {
    let mut router = dms_exporter::http::router(exporter.server_state("/metrics"));
    let request = http::Request::get("/")
        .body(axum::body::Body::empty())
        .unwrap_or_else(|e| panic!("{e}"));
    let response = router
        .call(request)
        .await
        .unwrap_or_else(|never| match never {});
    let body = response.into_body().collect().await;
    String::from_utf8_lossy(&body.map(|b| b.to_bytes()).unwrap_or_default()).into_owned()
}

#[tokio::test(start_paused = true)]
async fn the_exporter_collects_with_metadata_keys_across_rotations_and_shows_none() {
    let logs = Captured::default();
    let filter = logging::filter(None, LogLevel::Debug).expect("filter");
    let _logs = tracing::subscriber::set_default(logging::subscriber(
        filter,
        LogFormat::Logfmt,
        logs.clone(),
    ));
    let sim_config = SimConfig::deterministic();
    let sim = Simulator::new(sim_config.clone());
    let config = config_for(
        &sim_config,
        "127.0.0.1:9".parse().expect("address"),
        CREDENTIALS,
    );
    let transport: Arc<dyn Transport> = Arc::new(RouterTransport(sim.clone()));
    let credentials = config::resolve_credentials(&config.credentials, &ProcessEnv, &transport)
        .unwrap_or_else(|e| panic!("{e}"));
    let shutdown = CancellationToken::new();
    let exporter = app::start(config, credentials, transport, None, shutdown.clone());

    tokio::time::sleep(MINUTE).await;
    assert!(
        !series(&exporter, "dms_kafka_broker_up").is_empty(),
        "collected with the metadata service's keys"
    );
    let first_expiry = expiry(&self_metrics(&exporter));
    let now = dms_exporter::metrics::self_metrics::unix_now();
    assert!(
        first_expiry.is_some_and(|at| at > now + 50.0 * 60.0 && at <= now + 3600.0),
        "{first_expiry:?} vs now {now}"
    );

    // Three hours: the service rotates its keys every 50 min; each rotation is picked up
    // before the old keys expire, and no call is refused.
    let mut expiries = vec![first_expiry];
    for _ in 0..18 {
        tokio::time::sleep(10 * MINUTE).await;
        expiries.push(expiry(&self_metrics(&exporter)));
    }
    let issued = sim.temporary_access_keys();
    assert!(issued.len() >= 3, "{issued:?}");
    let refused: Vec<_> = sim
        .request_log()
        .into_iter()
        .filter(|record| record.status == 401 || record.status == 403)
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
    // Each scrape shows keys that still live, never more than the service's hour ahead.
    let now = dms_exporter::metrics::self_metrics::unix_now();
    assert!(
        expiries
            .iter()
            .all(|at| at.is_some_and(|at| at > now && at <= now + 3600.0)),
        "{expiries:?} vs now {now}"
    );

    // The service goes down for longer than the time between two refreshes: the current
    // keys are kept and collection goes on while they live; the failures are counted.
    sim.set_metadata_fault(MetadataFault::Unavailable);
    let topics_before = sim.request_counts().get("kafka_topics").copied();
    tokio::time::sleep(50 * MINUTE).await;
    let text = self_metrics(&exporter);
    assert!(
        text.lines().any(|line| line
            .strip_prefix(r#"dms_credentials_refresh_failures_total{source="ecs_metadata"} "#)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .is_some_and(|failures| failures >= 1.0)),
        "{text}"
    );
    assert!(
        sim.request_counts().get("kafka_topics").copied() > topics_before,
        "still collecting with the current keys"
    );
    sim.set_metadata_fault(MetadataFault::None);
    tokio::time::sleep(2 * MINUTE).await;
    let topics_back = sim.request_counts().get("kafka_topics").copied();
    tokio::time::sleep(3 * MINUTE).await;
    assert!(
        sim.request_counts().get("kafka_topics").copied() > topics_back,
        "collecting again with new keys"
    );
    assert!(expiry(&self_metrics(&exporter)).is_some_and(|at| at > now));
    // Through the outage too, nothing was sent with expired keys: the gateway refused none.
    assert!(
        sim.request_log()
            .iter()
            .all(|record| record.status != 401 && record.status != 403),
        "a call was refused"
    );

    // Nothing secret anywhere an operator looks.
    let landing = landing_page(&exporter).await;
    let shown = [
        logs.text(),
        self_metrics(&exporter),
        crate::support::snapshot_text(&exporter),
        landing,
    ]
    .join("\n");
    assert!(
        shown.contains("new temporary credentials"),
        "the log says so"
    );
    for access_key in &issued {
        let (secret, token) = sim.temporary_key(access_key).unwrap_or_default();
        for hidden in [access_key.as_str(), secret.as_str(), token.as_str()] {
            assert!(
                !shown.contains(hidden),
                "{hidden} shown in the logs, /metrics or the landing page"
            );
        }
    }
    shutdown.cancel();
}

#[tokio::test(start_paused = true)]
async fn the_exporter_collects_with_keys_bought_with_a_cce_id_token() {
    let logs = Captured::default();
    let filter = logging::filter(None, LogLevel::Debug).expect("filter");
    let _logs = tracing::subscriber::set_default(logging::subscriber(
        filter,
        LogFormat::Logfmt,
        logs.clone(),
    ));
    let dir = std::env::temp_dir().join(format!("dms-cce-token-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let token_path = dir.join("oidc-token");
    let id_token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2ln";
    std::fs::write(&token_path, id_token).unwrap_or_else(|e| panic!("{e}"));
    let sim_config = SimConfig::deterministic();
    // Both routes of the token: IAM's identity provider (an unscoped token, then keys), and
    // STS for the agency that trusts the provider (assume-with-oidc, no IAM token between).
    let domain = Simulator::new(sim_config.clone()).domain_id().to_owned();
    let routes = [
        (
            "id_token",
            format!(
                "    idp_id: {}\n    iam_endpoint: http://iam.sim.invalid\n",
                sim_config.id_token_idp
            ),
        ),
        (
            "oidc_agency",
            format!(
                "    provider_urn: iam::{domain}:identity-provider:{}\n    agency_urn: iam::{domain}:agency:{}\n    sts_endpoint: http://sts.sim.invalid\n    session_name: cce-dms-exporter\n",
                sim_config.id_token_idp, sim_config.oidc_agency
            ),
        ),
    ];
    for (source, route) in routes {
        let sim = Simulator::new(sim_config.clone());
        let exchanges = || sim.id_token_exchanges() + sim.agency_assumes();
        let yaml = format!(
            "credentials:
  source: id_token
  id_token:
{route}    token_file: {}
    key_lifetime: 1h
collectors:
  jitter: 0
  kafka_partitions: {{enabled: false}}
",
            token_path.display()
        );
        let config = config_for(&sim_config, "127.0.0.1:9".parse().expect("address"), &yaml);
        let transport: Arc<dyn Transport> = Arc::new(RouterTransport(sim.clone()));
        let credentials = config::resolve_credentials(&config.credentials, &ProcessEnv, &transport)
            .unwrap_or_else(|e| panic!("{source}: {e}"));
        let shutdown = CancellationToken::new();
        let exporter = app::start(config, credentials, transport, None, shutdown.clone());
        tokio::time::sleep(MINUTE).await;
        assert!(
            !series(&exporter, "dms_kafka_broker_up").is_empty(),
            "{source}"
        );
        let text = self_metrics(&exporter);
        assert!(
            text.contains(&format!(
                r#"dms_credentials_expiry_timestamp_seconds{{source="{source}"}} "#
            )),
            "{text}"
        );
        // Two hours: keys of an hour renewed twice, each time with the token file's content.
        tokio::time::sleep(120 * MINUTE).await;
        assert!(exchanges() >= 3, "{source}: {}", exchanges());
        assert!(
            sim.request_log()
                .iter()
                .all(|record| record.status != 401 && record.status != 403),
            "{source}"
        );
        let shown = [
            logs.text(),
            self_metrics(&exporter),
            landing_page(&exporter).await,
        ]
        .join("\n");
        assert!(
            !shown.contains(id_token),
            "{source}: the id token was shown"
        );
        for access_key in sim.temporary_access_keys() {
            let (secret, token) = sim.temporary_key(&access_key).unwrap_or_default();
            for hidden in [access_key.as_str(), secret.as_str(), token.as_str()] {
                assert!(!shown.contains(hidden), "{source}: {hidden} shown");
            }
        }
        shutdown.cancel();
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// The monitoring account's principal, trusted by the agency of the simulated account.
pub(crate) fn principal() -> dms_sim::AccessKey {
    dms_sim::AccessKey {
        access_key: "MONITORINGPRINCIPAL01".to_owned(),
        secret_key: "monitoring-principal-secret".to_owned(),
    }
}

pub(crate) const EXTERNAL_ID: &str = "agency-external-id-5b1e";

/// A simulated account whose agency `dms-monitoring` trusts [`principal`] with [`EXTERNAL_ID`].
pub(crate) fn account_with_agency(seed: u64) -> (SimConfig, Simulator) {
    let sim_config = SimConfig {
        seed,
        agencies: vec![dms_sim::Agency {
            name: "dms-monitoring".to_owned(),
            trusted: principal(),
            external_id: Some(EXTERNAL_ID.to_owned()),
            max_duration: Duration::from_secs(12 * 3600),
        }],
        ..SimConfig::deterministic()
    };
    let sim = Simulator::new(sim_config.clone());
    (sim_config, sim)
}

/// The credential block that reads `sim`'s account through its agency, STS at `sts`.
pub(crate) fn agency_credentials(sim: &Simulator, sts: &str, indent: &str) -> String {
    let key = principal();
    [
        "credentials:".to_owned(),
        format!("  access_key: {}", key.access_key),
        format!("  secret_key: {}", key.secret_key),
        "  agency:".to_owned(),
        format!("    domain_id: {}", sim.domain_id()),
        "    name: dms-monitoring".to_owned(),
        format!("    external_id: {EXTERNAL_ID}"),
        "    duration: 1h".to_owned(),
        format!("    sts_endpoint: {sts}"),
    ]
    .iter()
    .map(|line| format!("{indent}{line}\n"))
    .collect()
}

#[tokio::test(start_paused = true)]
async fn the_exporter_collects_through_an_agency_refreshed_ahead_of_expiry_and_shows_no_secret() {
    let logs = Captured::default();
    let filter = logging::filter(None, LogLevel::Debug).expect("filter");
    let _logs = tracing::subscriber::set_default(logging::subscriber(
        filter,
        LogFormat::Logfmt,
        logs.clone(),
    ));
    let (sim_config, sim) = account_with_agency(SimConfig::deterministic().seed);
    let yaml = format!(
        "{}collectors:\n  jitter: 0\n  kafka_partitions: {{enabled: false}}\n",
        agency_credentials(&sim, "http://sts.sim.invalid", "")
    );
    let config = config_for(&sim_config, "127.0.0.1:9".parse().expect("address"), &yaml);
    let transport: Arc<dyn Transport> = Arc::new(RouterTransport(sim.clone()));
    let credentials = config::resolve_credentials(&config.credentials, &ProcessEnv, &transport)
        .unwrap_or_else(|e| panic!("{e}"));
    let shutdown = CancellationToken::new();
    let exporter = app::start(config, credentials, transport, None, shutdown.clone());
    tokio::time::sleep(MINUTE).await;
    assert!(!series(&exporter, "dms_kafka_broker_up").is_empty());
    let text = self_metrics(&exporter);
    assert!(
        text.contains(r#"dms_credentials_expiry_timestamp_seconds{source="agency"} "#),
        "{text}"
    );
    // Four hours of keys that live an hour, renewed 15 min ahead: one STS call every 45 min.
    tokio::time::sleep(240 * MINUTE).await;
    let assumes = sim.agency_assumes();
    assert!((5..=7).contains(&assumes), "{assumes} STS calls in 4 h");
    assert!(
        sim.request_log()
            .iter()
            .all(|record| record.status != 401 && record.status != 403),
        "a call was refused"
    );
    // Refused at STS now: the failures are counted, the current keys used while they live.
    sim.set_agency_fault(dms_sim::AgencyFault::NotAuthorized);
    tokio::time::sleep(50 * MINUTE).await;
    let text = self_metrics(&exporter);
    assert!(
        text.lines().any(|line| line
            .strip_prefix(r#"dms_credentials_refresh_failures_total{source="agency"} "#)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .is_some_and(|failures| failures >= 1.0)),
        "{text}"
    );
    let shown = [
        logs.text(),
        self_metrics(&exporter),
        crate::support::snapshot_text(&exporter),
        landing_page(&exporter).await,
    ]
    .join("\n");
    assert!(
        shown.contains("refreshing temporary credentials failed"),
        "the log says so"
    );
    let mut hidden = vec![EXTERNAL_ID.to_owned(), principal().secret_key];
    for access_key in sim.temporary_access_keys() {
        let (secret, token) = sim.temporary_key(&access_key).unwrap_or_default();
        hidden.extend([access_key, secret, token]);
    }
    for secret in &hidden {
        assert!(!shown.contains(secret.as_str()), "{secret} shown");
    }
    shutdown.cancel();
}
