//! Sharding: three exporters, shards 0, 1 and 2 of one simulated fleet, together export
//! exactly the data series of one unsharded exporter, none twice, and make its instance-level
//! calls between them while each lists the whole project; a reload moves an exporter between
//! shards.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use dms_exporter::app::{CollectionInput, Exporter};
use dms_exporter::collect::instances;
use dms_exporter::collect::kafka::groups;
use dms_exporter::collect::registry::{self, Producer};
use dms_exporter::collect::sharding::shard_of;
use dms_exporter::collect::store;
use dms_exporter::metrics::catalog;
use dms_exporter::metrics::exposition::Format;
use dms_sim::{SimConfig, Simulator};
use tokio_util::sync::CancellationToken;

use crate::support::{RouterTransport, config_for, credentials, in_process, series, serve_http};

const TOTAL_SHARDS: u32 = 3;

/// Intervals longer than the test for every collector, so exactly one cycle of each runs,
/// and a budget that does not make four exporters wait on each other.
fn one_cycle() -> String {
    let mut yaml = String::from("collectors:\n  jitter: 0\n");
    for description in registry::descriptions() {
        yaml.push_str(&format!("  {}: {{interval: 1h}}\n", description.name));
    }
    yaml.push_str("api: {rate_limit: 200, burst: 50, concurrency: 16}\n");
    yaml
}

/// Enough instances of every engine (over the simulator's two projects) that each of three
/// shards owns some.
fn fleet() -> SimConfig {
    let mut sim = SimConfig::deterministic();
    sim.fleet.kafka_instances = 9;
    sim.fleet.rocketmq_instances = 3;
    sim.fleet.rabbitmq_instances = 3;
    // The unsharded exporter and the owner shard both read each instance's topic details;
    // the per-instance once-a-second limit would throttle whichever comes second.
    sim.topic_detail_interval = Duration::ZERO;
    sim
}

struct Served {
    base: String,
    exporter: Exporter,
}

async fn serve(
    sim: &Simulator,
    sim_config: &SimConfig,
    extra: &str,
    shutdown: &CancellationToken,
) -> Served {
    let exporter = in_process(sim, sim_config, extra, shutdown);
    let base = serve_http(&exporter, shutdown).await;
    Served { base, exporter }
}

async fn scrape(base: &str) -> String {
    reqwest::get(format!("{base}/metrics"))
        .await
        .expect("scrape")
        .text()
        .await
        .expect("body")
}

fn family_of(series: &str) -> &str {
    series.split(['{', ' ']).next().unwrap_or(series)
}

/// Self-metrics describe the process (its calls, cycle times, shard), not the fleet.
fn is_self_metric(series: &str) -> bool {
    let name = family_of(series);
    registry::families()
        .iter()
        .filter(|f| registry::producer_of(f) == Producer::Scrape)
        .any(|f| {
            name.strip_prefix(f.name)
                .is_some_and(|rest| ["", "_bucket", "_sum", "_count"].contains(&rest))
        })
}

/// Every sample of a text exposition: `name{labels}` → value.
fn samples(body: &str) -> BTreeMap<String, String> {
    body.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| line.rsplit_once(' '))
        .map(|(series, value)| (series.to_owned(), value.to_owned()))
        .collect()
}

/// The data series, with wall-clock values masked (each process reads at its own moment).
fn data_series(body: &str) -> BTreeMap<String, String> {
    samples(body)
        .into_iter()
        .filter(|(series, _)| !is_self_metric(series))
        // How each partition's lag in seconds was found depends on when each exporter's own
        // log end history began (a committed offset older than it is `beyond_history`), not
        // on the shard.
        .filter(|(series, _)| family_of(series) != groups::KAFKA_GROUP_LAG_SECONDS_VALUES.name)
        .map(|(series, value)| {
            if family_of(&series) == store::INSTANCE_COLLECTOR_LAST_SUCCESS.name {
                (series, "<timestamp>".to_owned())
            } else {
                (series, value)
            }
        })
        .collect()
}

fn label<'a>(series: &'a str, name: &str) -> Option<&'a str> {
    let start = series.find(&format!("{name}=\""))? + name.len() + 2;
    let rest = &series[start..];
    rest.find('"').map(|end| &rest[..end])
}

/// API calls of each collector's single cycle, summed over projects.
fn calls_per_collector(body: &str) -> BTreeMap<String, u64> {
    let mut calls = BTreeMap::new();
    for (series, value) in samples(body) {
        if family_of(&series) == catalog::COLLECTOR_API_CALLS.name
            && let Some(collector) = label(&series, "collector")
        {
            *calls.entry(collector.to_owned()).or_default() += value.parse::<u64>().unwrap_or(0);
        }
    }
    calls
}

/// Waits until two scrapes in a row agree, so the publisher has folded in every first cycle.
async fn settled(base: &str) -> String {
    let mut previous = String::new();
    for _ in 0..60 {
        let body = scrape(base).await;
        let data = format!("{:?}", data_series(&body));
        if data == previous && !data_series(&body).is_empty() {
            return body;
        }
        previous = data;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("{base}: the data did not settle within 30 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_shards_export_exactly_what_one_exporter_does() {
    let shutdown = CancellationToken::new();
    let sim_config = fleet();
    let sim = Simulator::new(fleet());

    let one_cycle = one_cycle();
    let unsharded = serve(&sim, &sim_config, &one_cycle, &shutdown).await;
    let mut shards = Vec::new();
    for shard in 0..TOTAL_SHARDS {
        let extra =
            format!("{one_cycle}sharding: {{shard: {shard}, total_shards: {TOTAL_SHARDS}}}\n");
        shards.push(serve(&sim, &sim_config, &extra, &shutdown).await);
    }
    for served in std::iter::once(&unsharded).chain(&shards) {
        tokio::time::timeout(Duration::from_secs(90), served.exporter.readiness.wait())
            .await
            .expect("ready within 90 s");
    }

    let whole_body = settled(&unsharded.base).await;
    let whole = data_series(&whole_body);
    let mut union: BTreeMap<String, (u32, String)> = BTreeMap::new();
    let mut shard_calls = Vec::new();
    for (shard, served) in (0..TOTAL_SHARDS).zip(&shards) {
        let body = settled(&served.base).await;
        let own = samples(&body);
        assert_eq!(
            own.get("dms_exporter_shard_ordinal").map(String::as_str),
            Some(shard.to_string().as_str())
        );
        assert_eq!(
            own.get("dms_exporter_total_shards").map(String::as_str),
            Some(TOTAL_SHARDS.to_string().as_str())
        );
        let data = data_series(&body);
        let instances: Vec<&str> = data
            .keys()
            .filter(|s| family_of(s) == instances::INSTANCE_INFO.name)
            .filter_map(|s| label(s, "instance_id"))
            .collect();
        assert!(
            !instances.is_empty(),
            "shard {shard} owns no instance: grow the fleet"
        );
        for (series, value) in data {
            // Project-level series (quotas) come from shard 0 alone.
            let instance = label(&series, "instance_id");
            assert!(
                instance.is_some() || (shard == 0 && label(&series, "project_id").is_some()),
                "shard {shard}: {series} has no instance_id"
            );
            let Some(instance) = instance else {
                union.insert(series.clone(), (shard, value));
                continue;
            };
            assert_eq!(
                shard_of(instance, TOTAL_SHARDS),
                shard,
                "shard {shard} exports {series} of an instance it does not own"
            );
            if let Some((first, _)) = union.insert(series.clone(), (shard, value)) {
                panic!("{series} is exported by shards {first} and {shard}");
            }
        }
        shard_calls.push(calls_per_collector(&body));
    }

    let union: BTreeMap<String, String> = union.into_iter().map(|(s, (_, v))| (s, v)).collect();
    let missing: Vec<&String> = whole.keys().filter(|s| !union.contains_key(*s)).collect();
    let extra: Vec<&String> = union.keys().filter(|s| !whole.contains_key(*s)).collect();
    assert!(missing.is_empty(), "no shard exports {missing:?}");
    assert!(extra.is_empty(), "only shards export {extra:?}");
    let differing: Vec<(&String, &String, &String)> = whole
        .iter()
        .filter_map(|(s, v)| union.get(s).filter(|u| *u != v).map(|u| (s, v, u)))
        .collect();
    assert!(
        differing.is_empty(),
        "(series, unsharded, sharded): {differing:?}"
    );

    // Every shard lists the whole project; the instance-level calls are split between them.
    let whole_calls = calls_per_collector(&whole_body);
    assert!(
        whole_calls.get("instances").is_some_and(|c| *c > 0),
        "{whole_calls:?}"
    );
    for (collector, calls) in &whole_calls {
        let per_shard: Vec<u64> = shard_calls
            .iter()
            .map(|c| c.get(collector).copied().unwrap_or(0))
            .collect();
        if collector == "instances" {
            assert!(
                per_shard.iter().all(|c| c == calls),
                "every shard lists as often as one exporter: {per_shard:?} vs {calls}"
            );
        } else {
            assert_eq!(
                per_shard.iter().sum::<u64>(),
                *calls,
                "{collector}: the shards' calls {per_shard:?} add up to one exporter's"
            );
        }
    }
    shutdown.cancel();
}

/// A reload that changes the file's sharding keys moves the process to its new shard: the
/// instances it no longer owns vanish, and the self-metrics follow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_moves_the_exporter_to_its_new_shard() {
    let shutdown = CancellationToken::new();
    let sim_config = fleet();
    let sim = Simulator::new(fleet());
    let one_cycle = one_cycle();
    let mut exporter = in_process(&sim, &sim_config, &one_cycle, &shutdown);
    tokio::time::timeout(Duration::from_secs(90), exporter.readiness.wait())
        .await
        .expect("ready within 90 s");
    let instance_ids = |exporter: &Exporter| -> Vec<String> {
        series(exporter, instances::INSTANCE_INFO.name)
            .iter()
            .filter_map(|s| label(s, "instance_id").map(str::to_owned))
            .collect()
    };
    let all = instance_ids(&exporter);
    let owned: Vec<String> = all
        .iter()
        .filter(|id| shard_of(id, TOTAL_SHARDS) == 1)
        .cloned()
        .collect();
    assert!(
        !owned.is_empty() && owned.len() < all.len(),
        "{owned:?} of {all:?}"
    );

    let yaml = format!("{one_cycle}sharding: {{shard: 1, total_shards: {TOTAL_SHARDS}}}\n");
    exporter
        .start_collection(CollectionInput {
            config: config_for(&sim_config, "127.0.0.1:9".parse().expect("address"), &yaml),
            credentials: credentials(&sim_config),
            transport: Arc::new(RouterTransport(sim.clone())),
            accounts: Vec::new(),
            env_project: None,
        })
        .await;
    let mut now = Vec::new();
    for _ in 0..100 {
        now = instance_ids(&exporter);
        if now == owned {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        now, owned,
        "after the reload, shard 1 of 3 exports its instances only"
    );
    let mut text = String::new();
    exporter.self_metrics.encode(Format::Text, &mut text);
    assert!(text.contains("\ndms_exporter_shard_ordinal 1\n"), "{text}");
    assert!(text.contains("\ndms_exporter_total_shards 3\n"), "{text}");
    shutdown.cancel();
}
