//! Each collector's description is honest: against the simulator, every sample a registered
//! collector produces belongs to a family its description lists (docs/metrics.md's
//! `collector` column is derived from those lists), and calls only the APIs it lists, whose
//! IAM actions the shipped read-only policy allows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use std::sync::Arc;

use dms_cloud::budget::Flow;
use dms_cloud::{BudgetConfig, CallTally, apis};
use dms_exporter::collect::health::ConsumerHealth;
use dms_exporter::collect::registry;
use dms_exporter::collect::{self, Context, Scope};
use dms_exporter::config::{CollectorsConfig, Engine, FiltersConfig, ShardingConfig};
use dms_exporter::targets;
use dms_sim::{SimConfig, Simulator};

use crate::support::in_process_target;

#[tokio::test(start_paused = true)]
async fn every_collector_emits_only_the_families_it_describes() {
    let sim_config = SimConfig::deterministic();
    let sim = Simulator::new(SimConfig::deterministic());
    let target = in_process_target(
        &sim,
        &sim_config,
        Engine::ALL.to_vec(),
        BudgetConfig {
            rate_per_second: 1000.0,
            burst: 100,
            concurrency: 16,
        },
    );
    let settings = CollectorsConfig::default();
    let filters = FiltersConfig::default();
    let health = ConsumerHealth::default();
    let collectors = collect::all(ShardingConfig::default());
    let discovery = collectors
        .iter()
        .find(|c| c.scope() == Scope::Project)
        .expect("a project-scoped discovery collector");
    let skipped_calls = std::sync::atomic::AtomicU64::new(0);
    let project_cx = Context {
        project: &target.project,
        client: &target.client,
        skipped_calls: &skipped_calls,
        instance: None,
        settings: &settings,
        filters: &filters,
        health: &health,
    };
    let inventory = discovery
        .collect(&project_cx)
        .await
        .expect("discovery")
        .discovered
        .expect("discovery publishes the inventory");
    for collector in &collectors {
        let description = collector.description();
        let contexts: Vec<Context<'_>> = match collector.scope() {
            Scope::Project => vec![Context {
                instance: None,
                ..project_cx
            }],
            Scope::Instance(engine) => inventory
                .iter()
                .filter(|i| engine.is_none_or(|e| e == i.engine) && collector.wants(i))
                .map(|instance| Context {
                    instance: Some(instance),
                    ..project_cx
                })
                .collect(),
        };
        let mut samples = 0;
        let calls_before = sim.request_counts();
        // Every call goes through the handle the context gives (the round's flow and tally):
        // one made through another client would escape the collector's share and the
        // round's progress (the tasks collector's did, and its data blinked in a storm).
        let tally = Arc::new(CallTally::default());
        let flow_client = target
            .client
            .for_flow(Flow::new(description.name, 1), Arc::clone(&tally));
        for cx in &contexts {
            let cx = Context {
                client: &flow_client,
                ..*cx
            };
            let output = collector
                .collect(&cx)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", description.name));
            for (part, result) in output.parts {
                let part_samples =
                    result.unwrap_or_else(|e| panic!("{} {part}: {e}", description.name));
                for sample in part_samples {
                    assert!(
                        description
                            .families
                            .iter()
                            .any(|f| std::ptr::eq(*f, sample.family)),
                        "{} emits {}, which its description does not list",
                        description.name,
                        sample.family.name
                    );
                    samples += 1;
                }
            }
        }
        // It calls only APIs its description names (the preflight reads those, and the
        // shipped IAM policy is checked against them).
        for (endpoint, count) in sim.request_counts() {
            if calls_before.get(&endpoint) != Some(&count) {
                assert!(
                    description.apis.contains(&endpoint.as_str()),
                    "{} calls {endpoint}, which its description does not list",
                    description.name
                );
            }
        }
        let sent: u64 = sim
            .request_counts()
            .into_iter()
            .map(|(endpoint, count)| count - calls_before.get(&endpoint).copied().unwrap_or(0))
            .sum();
        assert_eq!(
            tally.sent(),
            sent,
            "{}: calls made outside the context's client",
            description.name
        );
        // A collector that read nothing would prove nothing.
        assert!(
            samples > 0,
            "{} produced no samples against the simulator",
            description.name
        );
    }
}

/// The actions a policy file of `deploy/iam/` allows.
fn policy_actions(file: &str) -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/iam")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let policy: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(
        policy["Version"], "1.1",
        "{file}: IAM custom policies are version 1.1"
    );
    let statements = policy["Statement"].as_array().expect("Statement is a list");
    let mut actions = BTreeSet::new();
    for statement in statements {
        assert_eq!(
            statement["Effect"], "Allow",
            "{file}: read-only means Allow only"
        );
        for action in statement["Action"].as_array().expect("Action is a list") {
            actions.insert(action.as_str().expect("an action is a string").to_owned());
        }
    }
    actions
}

/// The shipped policies allow exactly the actions of the APIs the collectors and the target
/// resolution call: every one (nothing denied at run time) and nothing more (minimal). The
/// DMS actions are in one policy and IAM's in another: IAM custom policies hold actions of
/// project-level or of global services, not both.
#[test]
fn the_shipped_iam_policies_allow_every_api_the_exporter_calls() {
    let mut needed: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let users = registry::descriptions()
        .iter()
        .flat_map(|d| d.apis.iter().map(move |api| (d.name, *api)))
        .chain(
            targets::RESOLUTION_APIS
                .iter()
                .map(|api| ("target resolution", *api)),
        );
    for (user, name) in users {
        let api = apis::find(name).unwrap_or_else(|| panic!("{user}: {name} is no known API"));
        if let Some(action) = api.action {
            needed.entry(action).or_default().push(name);
        }
    }
    let dms = policy_actions("dms_exporter_readonly_policy.json");
    let iam = policy_actions("dms_exporter_project_discovery_policy.json");
    // Cloud Eye's read, for the `ces` collector (off by default): a policy of its own.
    let ces = policy_actions("dms_exporter_cloud_eye_policy.json");
    assert!(dms.iter().all(|a| a.starts_with("dms:")), "{dms:?}");
    assert!(iam.iter().all(|a| a.starts_with("iam:")), "{iam:?}");
    assert!(ces.iter().all(|a| a.starts_with("ces:")), "{ces:?}");
    let allowed: BTreeSet<&str> = dms
        .iter()
        .chain(&iam)
        .chain(&ces)
        .map(String::as_str)
        .collect();
    for (action, users) in &needed {
        assert!(
            allowed.contains(action),
            "no policy allows {action}, needed by {users:?}"
        );
    }
    for action in &allowed {
        assert!(
            needed.contains_key(action),
            "{action} is allowed but no API needs it"
        );
    }
    assert!(
        needed.contains_key(apis::LIST_PROJECTS),
        "project discovery is covered"
    );
}
