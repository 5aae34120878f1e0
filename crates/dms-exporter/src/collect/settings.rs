//! What collectors are configured with: each collector's settings and options
//! (`collectors:`, keys derived from the registry), the name filters and the shard. The
//! configuration file embeds these; `collect` reads them and imports nothing of `config`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::collect::registry::{self, Description, Opt, OptionDefault, OptionType, OptionValue};

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

/// Every registered collector's settings and options (`collectors:`). The keys are derived
/// from the collectors' descriptions (`collect::registry`); the defaults, documented in
/// docs/configuration.md, too.
#[derive(Debug, Clone)]
pub struct CollectorsConfig {
    /// By collector name; every registered collector has an entry.
    pub collectors: BTreeMap<&'static str, CollectorSettings>,
    /// By option key; every registered option has a value.
    pub options: BTreeMap<&'static str, OptionValue>,
    /// Jitter added to each interval, as a fraction of it (0 disables).
    pub jitter: f64,
}

/// The default `collectors.jitter`.
pub const DEFAULT_JITTER: f64 = 0.1;

impl CollectorSettings {
    fn defaults_of(description: &Description) -> Self {
        Self {
            enabled: description.enabled_by_default,
            interval: Some(HumanDuration(description.interval)),
            max_age: description.max_age.map(HumanDuration),
        }
    }
}

impl Default for CollectorsConfig {
    fn default() -> Self {
        Self {
            collectors: registry::descriptions()
                .iter()
                .map(|d| (d.name, CollectorSettings::defaults_of(d)))
                .collect(),
            options: registry::options()
                .iter()
                .map(|o| (o.key, o.default_value()))
                .collect(),
            jitter: DEFAULT_JITTER,
        }
    }
}

impl CollectorsConfig {
    /// The settings of a collector by name, if it is registered.
    pub fn settings(&self, collector: &str) -> Option<&CollectorSettings> {
        self.collectors.get(collector)
    }

    /// Whether `collector` runs (as configured, else as its description says).
    pub fn enabled(&self, collector: &str) -> bool {
        self.settings(collector).is_none_or(|s| s.enabled)
    }

    /// A collector's interval and max age as configured (the max age 3 intervals unless set).
    pub fn schedule(&self, collector: &str) -> (Duration, Duration) {
        let settings = self.settings(collector);
        let interval = settings
            .and_then(|s| s.interval)
            .map_or(Duration::from_secs(60), |d| d.0);
        let max_age = settings
            .and_then(|s| s.max_age)
            .map_or(interval * 3, |d| d.0);
        (interval, max_age)
    }

    /// An option's value, typed as its static declares it.
    pub fn option<'a, T: OptionType>(&'a self, option: &'a Opt<T>) -> T::Value<'a> {
        self.options
            .get(option.spec.key)
            .and_then(T::read)
            .unwrap_or_else(|| T::fallback(&option.spec))
    }
}

/// Every key `collectors:` accepts, for the error that names an unknown one.
fn collectors_keys() -> &'static [&'static str] {
    static KEYS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
        let mut keys = Vec::new();
        for description in registry::descriptions() {
            keys.push(description.name);
            for option in description.options {
                if !keys.contains(&option.key) {
                    keys.push(option.key);
                }
            }
        }
        keys.push("jitter");
        keys
    });
    &KEYS
}

impl<'de> Deserialize<'de> for CollectorsConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(CollectorsVisitor)
    }
}

struct CollectorsVisitor;

impl<'de> Visitor<'de> for CollectorsVisitor {
    type Value = CollectorsConfig;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of collector settings and options")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut config = CollectorsConfig::default();
        let mut seen: Vec<&'static str> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let Some(known) = collectors_keys().iter().copied().find(|k| *k == key) else {
                return Err(de::Error::unknown_field(&key, collectors_keys()));
            };
            if seen.contains(&known) {
                return Err(de::Error::duplicate_field(known));
            }
            seen.push(known);
            if known == "jitter" {
                config.jitter = map.next_value()?;
            } else if let Some(description) = registry::find(known) {
                let mut settings: CollectorSettings = map.next_value()?;
                // Keys left out keep the collector's defaults.
                settings.interval = settings
                    .interval
                    .or(Some(HumanDuration(description.interval)));
                settings.max_age = settings.max_age.or(description.max_age.map(HumanDuration));
                config.collectors.insert(known, settings);
            } else if let Some(option) = registry::options().iter().find(|o| o.key == known) {
                let value = match option.default {
                    OptionDefault::Count(_) => OptionValue::Count(map.next_value()?),
                    OptionDefault::Size(_) => OptionValue::Size(map.next_value()?),
                    OptionDefault::Choice { .. } => OptionValue::Choice(map.next_value()?),
                };
                config.options.insert(known, value);
            }
        }
        Ok(config)
    }
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

/// Which instances are read at all: by name (anchored include/exclude, exclude wins), tags
/// (every `key: value` given must be on the instance) and enterprise project (one of those
/// given). Empty keys allow everything.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceFilter {
    pub include: Option<Pattern>,
    pub exclude: Option<Pattern>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub enterprise_project_ids: Vec<String>,
}

impl InstanceFilter {
    /// Whether an instance of this name, enterprise project and tags (key, value) is read.
    pub fn allows<'a>(
        &self,
        name: &str,
        enterprise_project_id: &str,
        tags: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
    ) -> bool {
        let named = NameFilter {
            include: self.include.clone(),
            exclude: self.exclude.clone(),
        };
        named.allows(name)
            && (self.enterprise_project_ids.is_empty()
                || self
                    .enterprise_project_ids
                    .iter()
                    .any(|id| id == enterprise_project_id))
            && self.tags.iter().all(|(key, value)| {
                tags.clone()
                    .into_iter()
                    .any(|tag| tag == (key.as_str(), value.as_str()))
            })
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FiltersConfig {
    /// Instances discovery keeps: the others are neither exported nor read.
    #[serde(default)]
    pub instances: InstanceFilter,
    #[serde(default)]
    pub topics: NameFilter,
    #[serde(default)]
    pub groups: NameFilter,
    /// RabbitMQ vhosts whose queues and exchanges are read.
    #[serde(default)]
    pub vhosts: NameFilter,
    /// RabbitMQ queues exported (every queue is still counted).
    #[serde(default)]
    pub queues: NameFilter,
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::collect::kafka::disk_usage::MIN_SIZE;
    use crate::collect::rocketmq::DETAIL_CALLS_LIMIT;
    use crate::collect::tasks::{TASKS_INFO_LIMIT, TASKS_LIMIT};

    fn collectors(yaml: &str) -> Result<CollectorsConfig, String> {
        serde_saphyr::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn settings_left_out_keep_the_collectors_defaults() {
        let config = collectors("tags: {max_age: 30m}\nkafka_groups: {enabled: false}\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let tags = config.settings("tags").expect("tags");
        assert_eq!(tags.interval, Some(HumanDuration(Duration::from_secs(300))));
        assert_eq!(tags.max_age, Some(HumanDuration(Duration::from_secs(1800))));
        let groups = config.settings("kafka_groups").expect("kafka_groups");
        assert!(!groups.enabled);
        assert_eq!(
            groups.interval,
            Some(HumanDuration(Duration::from_secs(30)))
        );
        assert!(config.settings("tasks").expect("tasks").enabled);
        assert_eq!(config.jitter, DEFAULT_JITTER);
    }

    #[test]
    fn options_are_read_typed_under_their_yaml_keys() {
        let defaults = CollectorsConfig::default();
        assert_eq!(defaults.option(&TASKS_LIMIT), 50);
        assert_eq!(defaults.option(&TASKS_INFO_LIMIT), 10);
        assert_eq!(defaults.option(&MIN_SIZE), "1K");
        assert_eq!(defaults.option(&DETAIL_CALLS_LIMIT), 200);
        let config = collectors(
            "tasks_limit: 7\ntasks_info_limit: 3\nkafka_disk_usage_min_size: 5G\nrocketmq_detail_calls_limit: 2\njitter: 0\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.option(&TASKS_LIMIT), 7);
        assert_eq!(config.option(&TASKS_INFO_LIMIT), 3);
        assert_eq!(config.option(&MIN_SIZE), "5G");
        assert_eq!(config.option(&DETAIL_CALLS_LIMIT), 2);
        assert_eq!(config.jitter, 0.0);
    }

    #[test]
    fn instance_filters_need_the_name_every_tag_and_a_listed_enterprise_project() {
        let filter: InstanceFilter = serde_saphyr::from_str(
            "include: \"prod-.*\"\nexclude: \".*-old\"\ntags: {env: prod, team: a}\nenterprise_project_ids: [\"0\", ep1]\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let tags = [("env", "prod"), ("team", "a"), ("x", "y")];
        assert!(filter.allows("prod-1", "ep1", tags));
        assert!(!filter.allows("dev-1", "ep1", tags), "name");
        assert!(!filter.allows("prod-1-old", "ep1", tags), "exclude wins");
        assert!(!filter.allows("prod-1", "ep2", tags), "enterprise project");
        assert!(
            !filter.allows("prod-1", "0", [("env", "prod")]),
            "a tag missing"
        );
        assert!(
            !filter.allows("prod-1", "0", [("env", "dev"), ("team", "a")]),
            "a value differs"
        );
        assert!(InstanceFilter::default().allows("any", "", []));
    }

    #[test]
    fn unknown_and_repeated_keys_are_refused() {
        let error = collectors("kafka_group: {interval: 1m}\n").expect_err("unknown key");
        assert!(error.contains("unknown field `kafka_group`"), "{error}");
        assert!(error.contains("kafka_groups, "), "{error}");
        assert!(error.contains("rocketmq_detail_calls_limit"), "{error}");
        let error = collectors("tags: {interval: 1m}\ntags: {interval: 2m}\n").expect_err("twice");
        assert!(error.contains("tags"), "{error}");
    }
}
