//! Collection: collectors turn API responses into plain samples; the scheduler runs them on
//! their own intervals inside the API budget; the store keeps the last good data per part.

pub mod ces;
mod failures;
pub mod health;
pub mod instances;
pub mod kafka;
pub mod quotas;
pub mod rabbitmq;
mod readiness;
pub mod registry;
pub mod rocketmq;
pub mod rotation;
pub mod scheduler;
pub mod settings;
pub mod sharding;
pub mod store;
pub mod tags;
pub mod tasks;
#[cfg(test)]
mod test_fixtures;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use dms_cloud::DmsClient;
use dms_cloud::Engine;
use dms_cloud::error::ApiError;
use futures::future::BoxFuture;

use crate::collect::settings::{CollectorsConfig, FiltersConfig, ShardingConfig};
use crate::metrics::Sample;
use crate::metrics::catalog::Kind;
pub use registry::Description;

/// An instance as discovery saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRef {
    pub id: String,
    pub engine: Engine,
    pub status: String,
    /// RocketMQ access control (`enable_acl`); `None` when the API does not say.
    pub enable_acl: Option<bool>,
}

impl InstanceRef {
    pub fn is_running(&self) -> bool {
        self.status.eq_ignore_ascii_case("RUNNING")
    }
}

/// The project a collector works on: where it is and which engines it reads.
#[derive(Debug, Clone)]
pub struct Project {
    /// The account's name with `accounts:` (on `dms_instance_info`), else "".
    pub account: String,
    /// The account's id with `accounts:` (configured or learnt), else "".
    pub account_id: String,
    pub region: String,
    pub project_id: String,
    pub engines: Vec<Engine>,
}

/// A project and the client that reads it. Collectors never get this client: only the
/// scheduler's handle of it as their flow ([`Context::client`]), so no call of theirs escapes
/// the round's tally and the collector's share of the host.
#[derive(Debug, Clone)]
pub struct Target {
    pub project: Project,
    pub client: DmsClient,
    /// Cancelled when the target is no longer listed (a project IAM stopped listing for an
    /// account with `regions: all`): its collectors stop and drop its data.
    pub retired: tokio_util::sync::CancellationToken,
}

/// What a collector may read while it works.
pub struct Context<'a> {
    pub project: &'a Project,
    /// The target's client as this collector's flow: its requests queue for the collector's
    /// share of the host and add up in the round's tally.
    pub client: &'a DmsClient,
    pub instance: Option<&'a InstanceRef>,
    pub settings: &'a CollectorsConfig,
    pub filters: &'a FiltersConfig,
    /// State kept across cycles and reloads (status windows, log end history).
    pub health: &'a health::ConsumerHealth,
    /// Calls a per-cycle limit skipped in this round ([`Context::skip_calls`]).
    pub skipped_calls: &'a AtomicU64,
}

impl Context<'_> {
    /// Reports calls a per-cycle limit left for later rounds (`rotation`).
    pub fn skip_calls(&self, count: usize) {
        self.skipped_calls
            .fetch_add(u64::try_from(count).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// The instance of an instance-scoped collector.
    pub fn instance(&self) -> &InstanceRef {
        self.instance
            .unwrap_or_else(|| unreachable!("instance-scoped collectors always get an instance"))
    }
}

/// One independently refreshed piece of a collector's output (a consumer group, a topic);
/// when it fails, its last good samples stay.
pub type Part = (String, Result<Vec<Sample>, ApiError>);

/// What a cycle produced for one project or instance.
#[derive(Debug, Default)]
pub struct Output {
    /// Every part that exists now; parts not listed (here or in `kept`) have vanished.
    pub parts: Vec<Part>,
    /// Parts that still exist but were not read this cycle (a per-cycle call limit skipped
    /// them): their last good samples stay, ageing out by `max_age` as after a failure.
    pub kept: Vec<String>,
    /// The instance inventory, from the discovery collector only.
    pub discovered: Option<Vec<InstanceRef>>,
}

impl Output {
    /// Keeps only the 1 of each state set whose collector `settings` ask for
    /// `consumer_state_sets: compact`; the other collectors' state sets stay whole.
    pub fn compact_state_sets(&mut self, collector: &Description, settings: &CollectorsConfig) {
        let listed = collector
            .options
            .iter()
            .any(|o| std::ptr::eq(*o, &health::STATE_SETS.spec));
        if !listed || settings.option(&health::STATE_SETS) != "compact" {
            return;
        }
        for (_, samples) in &mut self.parts {
            if let Ok(samples) = samples {
                samples.retain(|s| s.family.kind != Kind::StateSet || s.value != 0.0);
            }
        }
    }

    /// An output made of one part that cannot fail on its own.
    pub fn whole(samples: Vec<Sample>) -> Self {
        Self {
            parts: vec![(String::new(), Ok(samples))],
            kept: Vec::new(),
            discovered: None,
        }
    }
}

/// Whether a collector runs once per project or once per instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Project,
    Instance(Option<Engine>),
}

/// How much of a busy host's budget a collector gets, relative to the others: consumer lag
/// and status before inventories that change slowly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Lag, consumer status, discovery: read often, paged on.
    High,
    Normal,
    /// Inventories read every few minutes (tags, topics, disk usage).
    Low,
}

impl Priority {
    /// The weight of the collector's flow in its host's fair queue.
    pub fn weight(self) -> u32 {
        match self {
            Priority::High => 4,
            Priority::Normal => 2,
            Priority::Low => 1,
        }
    }
}

/// A collector: one API area, one file, described by one [`Description`] static.
pub trait Collector: Send + Sync + 'static {
    fn description(&self) -> &'static Description;
    fn name(&self) -> &'static str {
        self.description().name
    }
    fn scope(&self) -> Scope {
        self.description().scope
    }
    fn priority(&self) -> Priority {
        self.description().priority
    }
    /// Instance-scoped collectors skip instances this refuses (by default: not RUNNING, since
    /// their management APIs do not answer; their last good data ages out).
    fn wants(&self, instance: &InstanceRef) -> bool {
        instance.is_running()
    }
    /// Whether this is the discovery collector, whose `Output::discovered` feeds the others.
    fn discovers(&self) -> bool {
        false
    }
    fn collect<'a>(&'a self, cx: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>>;
}

/// One registered collector: what it says of itself, and how to build it.
pub struct Registration {
    pub description: &'static Description,
    build: fn(ShardingConfig) -> Arc<dyn Collector>,
}

impl Registration {
    const fn new(
        description: &'static Description,
        build: fn(ShardingConfig) -> Arc<dyn Collector>,
    ) -> Self {
        Self { description, build }
    }
}

/// Every collector, one line each (node_exporter's table): the registry, the configuration's
/// keys and defaults and the docs read the descriptions without building anything; [`all`]
/// builds them. Discovery keeps the instances `sharding` assigns to this process.
pub static COLLECTORS: &[Registration] = &[
    Registration::new(&instances::DESCRIPTION, |s| {
        Arc::new(instances::Instances::new(s))
    }),
    Registration::new(&tags::DESCRIPTION, |_| Arc::new(tags::Tags)),
    Registration::new(&tasks::DESCRIPTION, |_| Arc::new(tasks::Tasks)),
    Registration::new(&kafka::cluster::DESCRIPTION, |_| {
        Arc::new(kafka::cluster::Cluster)
    }),
    Registration::new(&kafka::disk_usage::DESCRIPTION, |_| {
        Arc::new(kafka::disk_usage::DiskUsage)
    }),
    Registration::new(&kafka::topics::DESCRIPTION, |_| {
        Arc::new(kafka::topics::Topics)
    }),
    Registration::new(&kafka::partitions::DESCRIPTION, |_| {
        Arc::new(kafka::partitions::Partitions)
    }),
    Registration::new(&kafka::groups::DESCRIPTION, |_| {
        Arc::new(kafka::groups::Groups::default())
    }),
    Registration::new(&rocketmq::brokers::DESCRIPTION, |_| {
        Arc::new(rocketmq::brokers::Brokers)
    }),
    Registration::new(&rocketmq::groups::DESCRIPTION, |_| {
        Arc::new(rocketmq::groups::Groups::default())
    }),
    Registration::new(&rocketmq::lag::DESCRIPTION, |_| {
        Arc::new(rocketmq::lag::Lag::default())
    }),
    Registration::new(&rocketmq::topics::DESCRIPTION, |_| {
        Arc::new(rocketmq::topics::Topics::default())
    }),
    Registration::new(&rocketmq::users::DESCRIPTION, |_| {
        Arc::new(rocketmq::users::Users)
    }),
    Registration::new(&rabbitmq::plugins::DESCRIPTION, |_| {
        Arc::new(rabbitmq::plugins::Plugins)
    }),
    Registration::new(&rabbitmq::queues::DESCRIPTION, |_| {
        Arc::new(rabbitmq::queues::Queues)
    }),
    Registration::new(&rabbitmq::users::DESCRIPTION, |_| {
        Arc::new(rabbitmq::users::Users)
    }),
    Registration::new(&quotas::DESCRIPTION, |sharding| {
        Arc::new(quotas::Quotas { sharding })
    }),
    Registration::new(&ces::DESCRIPTION, |_| Arc::new(ces::Ces::default())),
];

/// Every registered collector, built.
pub fn all(sharding: ShardingConfig) -> Vec<Arc<dyn Collector>> {
    COLLECTORS
        .iter()
        .map(|registration| (registration.build)(sharding))
        .collect()
}

/// Normalises an API state string to the upper-case, underscore-separated form used in labels
/// (`PreparingRebalance` → `PREPARING_REBALANCE`, `Change failed` → `CHANGE_FAILED`).
pub fn normalise_state(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 4);
    let mut previous_lower = false;
    for c in raw.trim().chars() {
        if c == ' ' || c == '-' || c == '_' {
            if !out.ends_with('_') {
                out.push('_');
            }
            previous_lower = false;
        } else {
            if c.is_ascii_uppercase() && previous_lower {
                out.push('_');
            }
            previous_lower = c.is_ascii_lowercase();
            out.push(c.to_ascii_uppercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{COLLECTORS, ShardingConfig, all, normalise_state};

    #[test]
    fn each_registration_builds_the_collector_it_describes() {
        let built = all(ShardingConfig::default());
        assert_eq!(built.len(), COLLECTORS.len());
        for (registration, collector) in COLLECTORS.iter().zip(&built) {
            assert!(
                std::ptr::eq(registration.description, collector.description()),
                "{} is registered with the description of {}",
                collector.name(),
                registration.description.name
            );
        }
        let mut names: Vec<&str> = COLLECTORS.iter().map(|r| r.description.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), COLLECTORS.len(), "a name registered twice");
    }

    #[test]
    fn states_normalise_from_every_documented_spelling() {
        assert_eq!(normalise_state("STABLE"), "STABLE");
        assert_eq!(normalise_state("Stable"), "STABLE");
        assert_eq!(normalise_state("PreparingRebalance"), "PREPARING_REBALANCE");
        assert_eq!(
            normalise_state("COMPLETING_REBALANCE"),
            "COMPLETING_REBALANCE"
        );
        assert_eq!(normalise_state("Change failed"), "CHANGE_FAILED");
        assert_eq!(normalise_state("Resizing failed"), "RESIZING_FAILED");
    }
}
