//! `--demo`: the embedded simulator with a lively fleet, and a configuration pointing at it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use dms_cloud::auth::Credentials;
use dms_sim::{SimConfig, Simulator};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::collect::kafka::groups::EXACT_LAG_CALLS_LIMIT;
use crate::collect::registry;
use crate::config::{self, Config};

/// How often the demo fleet moves (offsets, lag, tasks, instances).
const EVOLVE_EVERY: Duration = Duration::from_secs(5);

/// A running simulator and what the exporter needs to read it.
pub struct Demo {
    pub simulator: Simulator,
    pub address: SocketAddr,
    pub config: Config,
    pub credentials: Credentials,
}

/// Builds the YAML the exporter would need to read a simulator at `address`; the same text a
/// user could write, so the demo exercises the real configuration path.
pub fn config_yaml(sim: &SimConfig, address: SocketAddr, intervals: &str) -> String {
    let mut regions: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for project in &sim.projects {
        regions
            .entry(project.region.as_str())
            .or_default()
            .push(project.project_id.as_str());
    }
    let mut yaml = String::from("regions:\n");
    for (region, projects) in regions {
        yaml.push_str(&format!(
            "  - name: {region}\n    endpoint: http://{address}\n    iam_endpoint: http://{address}\n    ces_endpoint: http://{address}\n    projects: [{}]\n",
            projects.join(", ")
        ));
    }
    yaml.push_str(intervals);
    yaml
}

/// Cloud Eye history the demo simulator starts with.
const DEMO_CES_HISTORY: Duration = Duration::from_secs(15 * 60);

/// Exact lag in seconds reads per Kafka instance and cycle in the demo: its fleet starts with
/// groups already far behind, older than any log end history, which only the exact method
/// can date (interpolation leaves them without a value rather than guess).
const DEMO_EXACT_LAG_CALLS: u32 = 20;

/// Requests per second to the demo simulator (see [`demo_settings`]).
const DEMO_RATE_LIMIT: u32 = 150;

/// Every collector on its short demo interval (from its description), so the demo shows
/// movement within seconds, the exact lag in seconds, and a budget the local simulator can
/// afford: it has no gateway limit, and the short intervals need about 60 requests a second,
/// more at the first collection, when every collector starts at once (at 50 the groups'
/// cycles did not fit their 5 s, and the demo's first minute warned of it).
pub fn demo_settings() -> String {
    let mut yaml = String::from("collectors:\n");
    for description in registry::descriptions() {
        yaml.push_str(&format!(
            "  {}: {{interval: {}}}\n",
            description.name,
            humantime::format_duration(description.demo_interval)
        ));
    }
    yaml.push_str(&format!(
        "  {}: {DEMO_EXACT_LAG_CALLS}\n",
        EXACT_LAG_CALLS_LIMIT.spec.key
    ));
    yaml.push_str(&format!(
        "api:\n  rate_limit: {DEMO_RATE_LIMIT}\n  burst: 50\n  concurrency: 16\n"
    ));
    yaml
}

/// Starts the simulator on a loopback port and returns the configuration to read it.
pub async fn start(
    simulator_address: SocketAddr,
    shutdown: CancellationToken,
) -> anyhow::Result<Demo> {
    // One evolution step advances the fleet clock by as much real time as it takes.
    let mut sim_config = SimConfig {
        tick: EVOLVE_EVERY,
        ..SimConfig::demo()
    };
    // Cloud Eye has history before anyone reads it: the demo's panels have points at once.
    sim_config.ces.backfill = DEMO_CES_HISTORY;
    let listener = TcpListener::bind(simulator_address).await?;
    let address = listener.local_addr()?;
    let yaml = config_yaml(&sim_config, address, &demo_settings());
    let config = config::parse_str(&yaml, "(demo)")?;
    let key = sim_config
        .credentials
        .first()
        .ok_or_else(|| anyhow::anyhow!("the demo simulator has no access key"))?;
    let credentials = Credentials::aksk(key.access_key.clone(), key.secret_key.clone());
    let simulator = Simulator::new(sim_config);
    let serving = simulator.clone();
    tokio::spawn(async move {
        if let Err(error) = serving
            .serve(listener, async move { shutdown.cancelled().await })
            .await
        {
            tracing::error!(%error, "the demo simulator stopped");
        }
    });
    simulator.spawn_evolution(EVOLVE_EVERY);
    Ok(Demo {
        simulator,
        address,
        config,
        credentials,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_settings_give_every_collector_its_demo_interval() {
        let config = config::parse_str(
            &format!("regions:\n  - name: cn-north-4\n{}", demo_settings()),
            "(demo)",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        for description in registry::descriptions() {
            let settings = config
                .collectors
                .settings(description.name)
                .unwrap_or_else(|| panic!("{} has no settings", description.name));
            assert_eq!(
                settings.interval.map(|d| d.0),
                Some(description.demo_interval),
                "{}",
                description.name
            );
        }
        assert_eq!(config.api.rate_limit, f64::from(DEMO_RATE_LIMIT));
        assert_eq!(
            config.collectors.option(&EXACT_LAG_CALLS_LIMIT),
            DEMO_EXACT_LAG_CALLS
        );
    }
}
