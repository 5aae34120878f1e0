//! Each collector's description is honest: against the simulator, every sample a registered
//! collector produces belongs to a family its description lists (docs/metrics.md's
//! `collector` column is derived from those lists).

use dms_cloud::BudgetConfig;
use dms_exporter::collect::health::ConsumerHealth;
use dms_exporter::collect::{self, Context, Scope};
use dms_exporter::config::{CollectorsConfig, Engine, FiltersConfig, ShardingConfig};
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
    let project_cx = Context {
        target: &target,
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
        let contexts: Vec<Context> = match collector.scope() {
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
        for cx in &contexts {
            let output = collector
                .collect(cx)
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
        // A collector that read nothing would prove nothing.
        assert!(
            samples > 0,
            "{} produced no samples against the simulator",
            description.name
        );
    }
}
