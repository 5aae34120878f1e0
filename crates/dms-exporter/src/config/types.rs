//! The configuration's shape, with defaults. Field docs are the reference in
//! docs/configuration.md.

use std::collections::BTreeMap;
use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Deserializer};
use serde_saphyr::Spanned;

/// The whole configuration file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub credentials: CredentialsConfig,
    pub regions: Vec<Spanned<RegionConfig>>,
    #[serde(default)]
    pub collectors: CollectorsConfig,
    #[serde(default)]
    pub api: ApiConfig,
    #[serde(default)]
    pub filters: FiltersConfig,
    #[serde(default)]
    pub sharding: ShardingConfig,
}

/// Which share of the fleet this process reads, as kube-state-metrics shards: instances are
/// assigned to shards by a stable hash of their id. `--shard` and `--total-shards` win over
/// these keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShardingConfig {
    /// This process's shard, from 0 to `total_shards - 1`.
    pub shard: u32,
    pub total_shards: u32,
}

impl Default for ShardingConfig {
    /// One shard owning every instance: no sharding.
    fn default() -> Self {
        Self {
            shard: 0,
            total_shards: 1,
        }
    }
}

/// Where credentials come from. Anything left empty falls back to the SDK environment
/// variables, then to files in `$CREDENTIALS_DIRECTORY`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsConfig {
    pub access_key: Option<String>,
    pub access_key_file: Option<String>,
    pub secret_key: Option<String>,
    pub secret_key_file: Option<String>,
    pub security_token: Option<String>,
    pub security_token_file: Option<String>,
    /// IAM password authentication instead of AK/SK.
    pub iam_user: Option<IamUserConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IamUserConfig {
    pub name: String,
    pub domain: String,
    pub password: Option<String>,
    pub password_file: Option<String>,
}

/// The engines the exporter knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Kafka,
    #[serde(rename = "rocketmq")]
    RocketMq,
    #[serde(rename = "rabbitmq")]
    RabbitMq,
}

impl Engine {
    pub const ALL: [Engine; 3] = [Engine::Kafka, Engine::RocketMq, Engine::RabbitMq];

    /// The `engine` label and the engine's segment in tag paths.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Kafka => "kafka",
            Engine::RocketMq => "rocketmq",
            Engine::RabbitMq => "rabbitmq",
        }
    }

    /// The `engine` value of the instance-list API: RocketMQ instances are `reliability`.
    pub fn api_name(self) -> &'static str {
        match self {
            Engine::Kafka => "kafka",
            Engine::RocketMq => "reliability",
            Engine::RabbitMq => "rabbitmq",
        }
    }
}

/// One region and its projects.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionConfig {
    pub name: String,
    /// DMS endpoint override, e.g. `https://dms.cn-north-4.myhuaweicloud.com`.
    pub endpoint: Option<String>,
    /// IAM endpoint override.
    pub iam_endpoint: Option<String>,
    /// Project ids to watch; empty means "the project named after the region", discovered
    /// through IAM (or `HUAWEICLOUD_SDK_PROJECT_ID`).
    #[serde(default)]
    pub projects: Vec<String>,
    #[serde(default = "default_engines")]
    pub engines: Vec<Engine>,
}

fn default_engines() -> Vec<Engine> {
    Engine::ALL.to_vec()
}

/// A duration written the humantime way (`30s`, `5m`, `1h 30m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let duration = humantime::parse_duration(&text).map_err(|e| {
            serde::de::Error::custom(format!("invalid duration {text:?}: {e} (use e.g. 30s, 5m)"))
        })?;
        if duration.is_zero() {
            return Err(serde::de::Error::custom(
                "duration must be greater than zero",
            ));
        }
        Ok(Self(duration))
    }
}

/// A compiled, anchored regular expression.
#[derive(Debug, Clone)]
pub struct Pattern(pub Regex);

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Regex::new(&format!("^(?:{text})$")).map(Self).map_err(|e| {
            // The regex error is a multi-line drawing; its last line says what is wrong.
            let reason = e.to_string();
            let reason = reason
                .lines()
                .last()
                .unwrap_or_default()
                .trim_start_matches("error: ")
                .to_owned();
            serde::de::Error::custom(format!("invalid regular expression {text:?}: {reason}"))
        })
    }
}

/// Settings shared by every collector.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectorSettings {
    #[serde(default = "enabled")]
    pub enabled: bool,
    pub interval: Option<HumanDuration>,
    /// How long the last good data is served after failures; default 3 × interval.
    pub max_age: Option<HumanDuration>,
}

fn enabled() -> bool {
    true
}

impl CollectorSettings {
    fn every(seconds: u64) -> Self {
        Self {
            enabled: true,
            interval: Some(HumanDuration(Duration::from_secs(seconds))),
            max_age: None,
        }
    }
}

/// Per-collector settings; the defaults are documented in docs/configuration.md.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollectorsConfig {
    pub instances: CollectorSettings,
    pub tags: CollectorSettings,
    pub tasks: CollectorSettings,
    /// How many of the most recent tasks are read per instance.
    pub tasks_limit: u32,
    /// How many of those are exported as `dms_background_task_info`.
    pub tasks_info_limit: usize,
    pub kafka_cluster: CollectorSettings,
    pub kafka_disk_usage: CollectorSettings,
    /// The disk-usage API's `minSize`: smaller partitions are not reported (API default 1G).
    pub kafka_disk_usage_min_size: String,
    pub kafka_topics: CollectorSettings,
    pub kafka_partitions: CollectorSettings,
    pub kafka_groups: CollectorSettings,
    pub rocketmq_brokers: CollectorSettings,
    pub rocketmq_groups: CollectorSettings,
    pub rocketmq_lag: CollectorSettings,
    pub rocketmq_topics: CollectorSettings,
    /// Upper bound on per-group and per-topic detail calls one RocketMQ collector cycle makes
    /// for one instance; the rest are skipped (and counted) until a later cycle.
    pub rocketmq_detail_calls_limit: u32,
    pub rocketmq_users: CollectorSettings,
    pub rabbitmq_plugins: CollectorSettings,
    /// Jitter added to each interval, as a fraction of it (0 disables).
    pub jitter: f64,
}

impl Default for CollectorsConfig {
    fn default() -> Self {
        Self {
            instances: CollectorSettings::every(60),
            tags: CollectorSettings::every(300),
            tasks: CollectorSettings::every(60),
            tasks_limit: 50,
            tasks_info_limit: 10,
            kafka_cluster: CollectorSettings::every(60),
            kafka_disk_usage: CollectorSettings::every(300),
            kafka_disk_usage_min_size: "1K".to_owned(),
            kafka_topics: CollectorSettings::every(300),
            kafka_partitions: CollectorSettings::every(300),
            kafka_groups: CollectorSettings::every(30),
            rocketmq_brokers: CollectorSettings::every(60),
            rocketmq_groups: CollectorSettings::every(300),
            rocketmq_lag: CollectorSettings::every(60),
            rocketmq_topics: CollectorSettings::every(300),
            rocketmq_detail_calls_limit: 200,
            rocketmq_users: CollectorSettings::every(300),
            rabbitmq_plugins: CollectorSettings::every(60),
            jitter: 0.1,
        }
    }
}

/// Every collector that has settings, in the order of the configuration reference.
pub const COLLECTOR_NAMES: &[&str] = &[
    "instances",
    "tags",
    "tasks",
    "kafka_cluster",
    "kafka_disk_usage",
    "kafka_topics",
    "kafka_partitions",
    "kafka_groups",
    "rocketmq_brokers",
    "rocketmq_groups",
    "rocketmq_lag",
    "rocketmq_topics",
    "rocketmq_users",
    "rabbitmq_plugins",
];

impl CollectorsConfig {
    /// The settings of a collector by name, if it has any.
    pub fn settings(&self, collector: &str) -> Option<&CollectorSettings> {
        Some(match collector {
            "instances" => &self.instances,
            "tags" => &self.tags,
            "tasks" => &self.tasks,
            "kafka_cluster" => &self.kafka_cluster,
            "kafka_disk_usage" => &self.kafka_disk_usage,
            "kafka_topics" => &self.kafka_topics,
            "kafka_partitions" => &self.kafka_partitions,
            "kafka_groups" => &self.kafka_groups,
            "rocketmq_brokers" => &self.rocketmq_brokers,
            "rocketmq_groups" => &self.rocketmq_groups,
            "rocketmq_lag" => &self.rocketmq_lag,
            "rocketmq_topics" => &self.rocketmq_topics,
            "rocketmq_users" => &self.rocketmq_users,
            "rabbitmq_plugins" => &self.rabbitmq_plugins,
            _ => return None,
        })
    }
}

/// The API budget per endpoint host and the client's patience.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Requests per second per endpoint host, shared by the whole process.
    pub rate_limit: f64,
    pub burst: u32,
    /// Requests in flight per endpoint host.
    pub concurrency: usize,
    pub timeout: HumanDuration,
    pub max_retries: u32,
    /// Overrides per endpoint host (`dms.cn-north-4.myhuaweicloud.com`).
    pub hosts: BTreeMap<String, HostBudgetConfig>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            rate_limit: 10.0,
            burst: 5,
            concurrency: 4,
            timeout: HumanDuration(Duration::from_secs(10)),
            max_retries: 3,
            hosts: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostBudgetConfig {
    pub rate_limit: Option<f64>,
    pub burst: Option<u32>,
    pub concurrency: Option<usize>,
}

/// Include/exclude patterns, anchored; exclude wins.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameFilter {
    pub include: Option<Pattern>,
    pub exclude: Option<Pattern>,
}

impl NameFilter {
    pub fn allows(&self, name: &str) -> bool {
        self.include.as_ref().is_none_or(|p| p.0.is_match(name))
            && !self.exclude.as_ref().is_some_and(|p| p.0.is_match(name))
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FiltersConfig {
    #[serde(default)]
    pub topics: NameFilter,
    #[serde(default)]
    pub groups: NameFilter,
}
