//! Several accounts in one process (`accounts:`), each a simulator of its own (its fleet,
//! keys and domain id) on a host of its own, under paused time: an account whose agency is
//! refused or whose key is rejected stops only its own targets, the others' series are those
//! they have alone; `regions: all` finds an account's projects, and one created later joins
//! after the discovery interval. Each account's id is learnt once from its STS
//! (`caller-identity`) unless configured, and shown on `dms_account_info` and
//! `dms_instance_info` only.

use std::sync::Arc;
use std::time::Duration;

use dms_cloud::Transport;
use dms_exporter::app::{CollectionInput, Exporter};
use dms_exporter::config::{self, ProcessEnv};
use dms_sim::{AgencyFault, SimConfig, Simulator};
use tokio_util::sync::CancellationToken;

use crate::support::{HostRouter, series, snapshot_text};
use crate::temporary_credentials::{
    EXTERNAL_ID, account_with_agency, agency_credentials, principal,
};
use dms_exporter::cli::{LogFormat, LogLevel};
use dms_exporter::logging::{self, Captured};

const MINUTE: Duration = Duration::from_secs(60);
const COLLECTORS: &str =
    "collectors:\n  jitter: 0\n  kafka_partitions: {enabled: false}\n  ces: {enabled: false}\n";

/// The `payments` account: sim `sim-a`'s own key, region cn-north-4 (project from IAM).
fn payments(sim: &SimConfig) -> String {
    let key = &sim.credentials[0];
    format!(
        "  - name: payments
    credentials:
      access_key: {}
      secret_key: {}
    sts_endpoint: http://sim-a
    regions:
      - name: cn-north-4
        endpoint: http://sim-a
        iam_endpoint: http://sim-a
        ces_endpoint: http://sim-a
",
        key.access_key, key.secret_key
    )
}

/// Starts an exporter for `yaml` with requests routed by host.
async fn start(yaml: &str, router: HostRouter, shutdown: &CancellationToken) -> Exporter {
    let config = config::parse_str(yaml, "(test)").unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let transport: Arc<dyn Transport> = Arc::new(router);
    let (credentials, accounts) =
        config::resolve_all(&config, &ProcessEnv, &transport).unwrap_or_else(|e| panic!("{e}"));
    let mut exporter = Exporter::new(shutdown.clone());
    let input = CollectionInput {
        config,
        credentials,
        accounts,
        transport,
        env_project: None,
    };
    exporter.start_collection(input).await;
    exporter
}

fn self_metrics(exporter: &Exporter) -> String {
    let mut text = String::new();
    exporter
        .self_metrics
        .encode(dms_exporter::metrics::exposition::Format::Text, &mut text);
    text
}

/// The `dms_target_up` line of `account`, its value.
fn target_up(text: &str, account: &str) -> Vec<String> {
    let prefix = format!("dms_target_up{{account=\"{account}\",");
    text.lines()
        .filter(|line| line.starts_with(&prefix))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn one_accounts_refused_agency_or_rejected_key_stops_only_its_own_targets() {
    let logs = Captured::default();
    let filter = logging::filter(None, LogLevel::Debug).expect("filter");
    let _logs = tracing::subscriber::set_default(logging::subscriber(
        filter,
        LogFormat::Logfmt,
        logs.clone(),
    ));
    let a_config = SimConfig::deterministic();
    let a = Simulator::new(a_config.clone());
    let (_, b) = account_with_agency(0xb0b);
    let (_, c) = account_with_agency(0xc0c);
    b.set_agency_fault(AgencyFault::NotAuthorized);
    let logistics = agency_credentials(&b, "http://sim-b", "    ");
    let yaml = format!(
        "accounts:
{}  - name: logistics
{logistics}    regions:
      - name: ap-southeast-1
        endpoint: http://sim-b
        iam_endpoint: http://sim-b
        ces_endpoint: http://sim-b
  - name: archive
    credentials:
      access_key: {}
      secret_key: not-the-secret-key
    regions:
      - name: ap-southeast-1
        endpoint: http://sim-c
        iam_endpoint: http://sim-c
        ces_endpoint: http://sim-c
{COLLECTORS}",
        payments(&a_config),
        c.config().credentials[0].access_key,
    );
    let shutdown = CancellationToken::new();
    let exporter = start(
        &yaml,
        HostRouter::new([("sim-a", &a), ("sim-b", &b), ("sim-c", &c)]),
        &shutdown,
    )
    .await;
    // The same account alone, for what its series should be.
    let alone_yaml = format!("accounts:\n{}{COLLECTORS}", payments(&a_config));
    let alone = start(&alone_yaml, HostRouter::new([("sim-a", &a)]), &shutdown).await;
    tokio::time::sleep(2 * MINUTE).await;

    let text = self_metrics(&exporter);
    assert_eq!(
        target_up(&text, "payments"),
        ["dms_target_up{account=\"payments\",region=\"cn-north-4\",project_id=\"\"} 1"],
        "{text}"
    );
    assert_eq!(
        target_up(&text, "logistics"),
        ["dms_target_up{account=\"logistics\",region=\"ap-southeast-1\",project_id=\"\"} 0"]
    );
    assert_eq!(
        target_up(&text, "archive"),
        ["dms_target_up{account=\"archive\",region=\"ap-southeast-1\",project_id=\"\"} 0"]
    );
    assert!(!text.contains("dms_target_up{region="), "{text}");
    // Each account's calls and host schedulers are its own rows: the rejected key shows
    // on its account alone.
    assert!(
        text.contains("dms_api_credentials_rejected{account=\"archive\",host=\"sim-c\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("dms_api_credentials_rejected{account=\"payments\",host=\"sim-a\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("dms_api_requests_total{account=\"payments\",host=\"sim-a\",api=\"instances_list\",code=\"200\"}"),
        "{text}"
    );
    assert!(
        !text.contains("dms_api_requests_total{host=")
            && !text.contains("dms_api_queued_requests{host="),
        "no row without its account: {text}"
    );
    // The working account's series are exactly what it has alone.
    for family in [
        "dms_instance_info",
        "dms_kafka_broker_up",
        "dms_kafka_topic_partitions",
    ] {
        let mut together = series(&exporter, family);
        let mut by_itself = series(&alone, family);
        together.sort();
        by_itself.sort();
        assert!(!together.is_empty(), "{family}");
        assert_eq!(together, by_itself, "{family}");
    }
    // Only the instance information names the account and its id (learnt from the
    // account's STS), and the account's own information; no data series does.
    let payments_id = format!(
        "account=\"payments\",account_id=\"{}\",region=",
        a.domain_id()
    );
    assert!(
        series(&exporter, "dms_instance_info")
            .iter()
            .all(|line| line.contains(&payments_id)),
        "{:?}",
        series(&exporter, "dms_instance_info")
    );
    let accounts: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("dms_account_info{"))
        .collect();
    assert_eq!(
        accounts,
        [format!(
            "dms_account_info{{account=\"payments\",account_id=\"{}\"}} 1",
            a.domain_id()
        )],
        "only the account whose keys work has a known id"
    );
    assert_eq!(
        a.caller_identity_calls(),
        2,
        "once per exporter, not per cycle"
    );
    assert!(
        snapshot_text(&exporter)
            .lines()
            .filter(|line| line.contains("account=\""))
            .all(|line| line.starts_with("dms_instance_info{")),
        "an account label outside dms_instance_info"
    );
    // The refused agency comes back: its account joins, the others unchanged.
    b.set_agency_fault(AgencyFault::None);
    tokio::time::sleep(3 * MINUTE).await;
    let text = self_metrics(&exporter);
    assert_eq!(
        target_up(&text, "logistics"),
        ["dms_target_up{account=\"logistics\",region=\"ap-southeast-1\",project_id=\"\"} 1"],
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "dms_account_info{{account=\"logistics\",account_id=\"{}\"}} 1",
            b.domain_id()
        )),
        "the agency's keys name the agency's account: {text}"
    );
    let b_instances = b.instance_ids();
    assert!(
        series(&exporter, "dms_instance_info")
            .iter()
            .any(|line| b_instances.iter().any(|id| line.contains(id.as_str()))),
        "the agency's account is collected"
    );
    assert!(
        text.contains(
            "dms_credentials_expiry_timestamp_seconds{account=\"logistics\",source=\"agency\"}"
        ),
        "{text}"
    );
    assert_eq!(
        target_up(&text, "archive"),
        ["dms_target_up{account=\"archive\",region=\"ap-southeast-1\",project_id=\"\"} 0"]
    );
    // No secret of any account in the logs, /metrics or the self-metrics.
    let shown = [logs.text(), snapshot_text(&exporter), text].join("\n");
    assert!(
        shown.contains("account=logistics"),
        "the log names the account"
    );
    let mut hidden = vec![
        "not-the-secret-key".to_owned(),
        EXTERNAL_ID.to_owned(),
        principal().secret_key,
        a_config.credentials[0].secret_key.clone(),
    ];
    for sim in [&b, &c] {
        for access_key in sim.temporary_access_keys() {
            let (secret, token) = sim.temporary_key(&access_key).unwrap_or_default();
            hidden.extend([access_key, secret, token]);
        }
    }
    for secret in &hidden {
        assert!(!shown.contains(secret.as_str()), "{secret} shown");
    }
    shutdown.cancel();
}

#[tokio::test(start_paused = true)]
async fn regions_all_discovers_the_accounts_projects_and_a_new_one_joins() {
    let a_config = SimConfig::deterministic();
    let a = Simulator::new(a_config.clone());
    let key = &a_config.credentials[0];
    let yaml = format!(
        "accounts:
  - name: payments
    credentials:
      access_key: {}
      secret_key: {}
    account_id: 0a1b2c3d4e5f
    regions: all
    discovery:
      interval: 1h
      iam_endpoint: http://sim-a
      endpoint: http://sim-a
      ces_endpoint: http://sim-a
{COLLECTORS}",
        key.access_key, key.secret_key
    );
    let shutdown = CancellationToken::new();
    let exporter = start(&yaml, HostRouter::new([("sim-a", &a)]), &shutdown).await;
    tokio::time::sleep(2 * MINUTE).await;
    let text = self_metrics(&exporter);
    let mut up = target_up(&text, "payments");
    up.sort();
    let mut expected: Vec<String> = a_config
        .projects
        .iter()
        .map(|p| {
            format!(
                "dms_target_up{{account=\"payments\",region=\"{}\",project_id=\"{}\"}} 1",
                p.region, p.project_id
            )
        })
        .collect();
    expected.sort();
    assert_eq!(up, expected, "{text}");
    let all_instances = a.instance_ids();
    let info = series(&exporter, "dms_instance_info");
    assert_eq!(info.len(), all_instances.len(), "{info:?}");
    // A configured account id is shown as is, and STS is never asked.
    assert!(
        info.iter()
            .all(|line| line.contains("account_id=\"0a1b2c3d4e5f\"")),
        "{info:?}"
    );
    assert_eq!(a.caller_identity_calls(), 0);

    // A project created now, with an instance: listed at the next discovery, an hour on.
    let project = "2d2a6d7f3a0b6f8ebc9b5a4f3e2d1c0b";
    a.add_project("eu-west-101", project);
    let instance = a.create_kafka_instance(project, "joined-later");
    tokio::time::sleep(30 * MINUTE).await;
    assert!(
        !series(&exporter, "dms_instance_info")
            .iter()
            .any(|line| line.contains(instance.as_str())),
        "not before the discovery interval"
    );
    tokio::time::sleep(35 * MINUTE).await;
    let text = self_metrics(&exporter);
    assert!(
        text.contains(&format!(
            "dms_target_up{{account=\"payments\",region=\"eu-west-101\",project_id=\"{project}\"}} 1"
        )),
        "{text}"
    );
    assert!(
        series(&exporter, "dms_instance_info")
            .iter()
            .any(|line| line.contains(instance.as_str())),
        "the new project's instance is collected"
    );

    // The project is deleted: at the next discovery its target, series and cycle figures
    // go at once (not one collector down for ever, its data aging out).
    a.remove_project(project);
    tokio::time::sleep(65 * MINUTE).await;
    let text = self_metrics(&exporter);
    assert!(!text.contains(project), "{text}");
    assert!(
        !series(&exporter, "dms_instance_info")
            .iter()
            .any(|line| line.contains(instance.as_str())),
        "the deleted project's instance is gone"
    );
    assert!(
        !snapshot_text(&exporter).contains(project),
        "no series of the deleted project"
    );
    // The other projects collect on.
    let mut up = target_up(&text, "payments");
    up.sort();
    assert_eq!(up, expected, "{text}");
    assert_eq!(
        series(&exporter, "dms_instance_info").len(),
        all_instances.len()
    );
    shutdown.cancel();
}

#[tokio::test(start_paused = true)]
async fn a_refused_account_shows_its_project_list_down() {
    let a_config = SimConfig::deterministic();
    let a = Simulator::new(a_config.clone());
    let yaml = format!(
        "accounts:
{}  - name: sandbox
    credentials:
      access_key: {}
      secret_key: wrong-secret
    regions: all
    discovery:
      iam_endpoint: http://sim-a
      endpoint: http://sim-a
{COLLECTORS}",
        payments(&a_config),
        a_config.credentials[0].access_key
    );
    let shutdown = CancellationToken::new();
    let exporter = start(&yaml, HostRouter::new([("sim-a", &a)]), &shutdown).await;
    tokio::time::sleep(2 * MINUTE).await;
    let text = self_metrics(&exporter);
    assert_eq!(
        target_up(&text, "sandbox"),
        ["dms_target_up{account=\"sandbox\",region=\"\",project_id=\"\"} 0"],
        "{text}"
    );
    assert!(target_up(&text, "payments")[0].ends_with(" 1"), "{text}");
    assert!(!series(&exporter, "dms_kafka_broker_up").is_empty());
    shutdown.cancel();
}
