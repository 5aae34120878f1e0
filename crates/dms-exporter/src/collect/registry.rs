//! What every collector says about itself: its name, scope, priority, default and demo
//! intervals, the extra configuration keys it reads and the families it emits. The
//! configuration keys, their defaults and validation, the catalogue's `collector` column,
//! docs/metrics.md and the demo's intervals are all derived from these descriptions, so a new
//! collector is one file (its families declared there too) plus one line in
//! [`super::COLLECTORS`].

use std::marker::PhantomData;
use std::ops::RangeInclusive;
use std::sync::LazyLock;
use std::time::Duration;

use super::{Priority, Scope};
use crate::metrics::catalog::{Family, SELF_FAMILIES};

/// A collector's description; one `static` in the collector's file.
#[derive(Debug)]
pub struct Description {
    /// The collector's key under `collectors:` and its `collector` label.
    pub name: &'static str,
    /// Whether it runs when `collectors:` does not name it (an entry without `enabled`
    /// turns it on).
    pub enabled_by_default: bool,
    pub scope: Scope,
    /// Its weight in a busy host's fair queue.
    pub priority: Priority,
    pub interval: Duration,
    /// How long the last good data is served after failures; `None` is 3 × interval.
    pub max_age: Option<Duration>,
    /// The short interval `--demo` uses, so the demo shows movement within seconds.
    pub demo_interval: Duration,
    /// Keys under `collectors:` it reads besides its own settings; several collectors may
    /// share one (the same static).
    pub options: &'static [&'static OptionSpec],
    /// Every family its samples belong to.
    pub families: &'static [&'static Family],
    /// Every API it may call (names of `dms_cloud::apis`): the preflight reads each once,
    /// and the shipped IAM policy must allow each one's action.
    pub apis: &'static [&'static str],
}

/// An extra configuration key under `collectors:`, with its default.
#[derive(Debug, PartialEq, Eq)]
pub struct OptionSpec {
    pub key: &'static str,
    pub default: OptionDefault,
    /// The values a count option accepts.
    pub counts: RangeInclusive<u32>,
}

/// What a count option accepts unless its static narrows it: any bound a DMS call or cycle
/// takes is far smaller.
pub const DEFAULT_COUNTS: RangeInclusive<u32> = 0..=100_000;

/// The largest size option: a Kafka disk is at most a few TB.
const MAX_SIZE_BYTES: u64 = 1 << 40;

/// The kinds of value an option holds, with the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionDefault {
    /// A whole number, at least 0.
    Count(u32),
    /// A size as the disk-usage API takes it: digits followed by K, M or G.
    Size(&'static str),
    /// One word of a fixed list (`choices`), `default` among them.
    Choice {
        default: &'static str,
        choices: &'static [&'static str],
    },
}

/// An option's value as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionValue {
    Count(u32),
    Size(String),
    Choice(String),
}

impl OptionSpec {
    pub fn default_value(&self) -> OptionValue {
        match self.default {
            OptionDefault::Count(n) => OptionValue::Count(n),
            OptionDefault::Size(text) => OptionValue::Size(text.to_owned()),
            OptionDefault::Choice { default, .. } => OptionValue::Choice(default.to_owned()),
        }
    }

    /// The default as docs/configuration.md writes it.
    pub fn default_text(&self) -> String {
        match self.default {
            OptionDefault::Count(n) => n.to_string(),
            OptionDefault::Size(text) | OptionDefault::Choice { default: text, .. } => {
                text.to_owned()
            }
        }
    }

    /// Why a configured value cannot be used, if it cannot.
    pub fn problem(&self, value: &OptionValue) -> Option<String> {
        match value {
            OptionValue::Choice(word) => {
                let choices = match self.default {
                    OptionDefault::Choice { choices, .. } => choices,
                    _ => &[],
                };
                (!choices.contains(&word.as_str()))
                    .then(|| format!("{word:?} is not one of {}", choices.join(", ")))
            }
            OptionValue::Count(n) => (!self.counts.contains(n)).then(|| {
                format!(
                    "{n} is out of range: from {} to {}",
                    self.counts.start(),
                    self.counts.end()
                )
            }),
            OptionValue::Size(size) => {
                let digits = size.trim_end_matches(['K', 'M', 'G']);
                let valid = !digits.is_empty()
                    && digits.len() + 1 == size.len()
                    && digits.chars().all(|c| c.is_ascii_digit());
                if !valid {
                    return Some(format!(
                        "{size:?} must be a number followed by K, M or G, e.g. 1K"
                    ));
                }
                let unit: u64 = match size.as_bytes().last() {
                    Some(b'K') => 1 << 10,
                    Some(b'M') => 1 << 20,
                    _ => 1 << 30,
                };
                let bytes = digits.parse::<u64>().ok().and_then(|n| n.checked_mul(unit));
                bytes
                    .is_none_or(|bytes| bytes > MAX_SIZE_BYTES)
                    .then(|| format!("{size:?} is out of range: at most 1024G"))
            }
        }
    }
}

/// How a collector reads an option's value: the typed side of [`Opt`].
pub trait OptionType {
    type Value<'a>;
    fn read(value: &OptionValue) -> Option<Self::Value<'_>>;
    fn fallback(spec: &OptionSpec) -> Self::Value<'_>;
}

/// A whole-number option.
#[derive(Debug)]
pub struct Count;

impl OptionType for Count {
    type Value<'a> = u32;
    fn read(value: &OptionValue) -> Option<u32> {
        match value {
            OptionValue::Count(n) => Some(*n),
            OptionValue::Size(_) | OptionValue::Choice(_) => None,
        }
    }
    fn fallback(spec: &OptionSpec) -> u32 {
        match spec.default {
            OptionDefault::Count(n) => n,
            OptionDefault::Size(_) | OptionDefault::Choice { .. } => 0,
        }
    }
}

/// A size option (`1K`, `5G`).
#[derive(Debug)]
pub struct Size;

impl OptionType for Size {
    type Value<'a> = &'a str;
    fn read(value: &OptionValue) -> Option<&str> {
        match value {
            OptionValue::Size(text) => Some(text),
            OptionValue::Count(_) | OptionValue::Choice(_) => None,
        }
    }
    fn fallback(spec: &OptionSpec) -> &str {
        match spec.default {
            OptionDefault::Size(text) => text,
            OptionDefault::Count(_) | OptionDefault::Choice { .. } => "",
        }
    }
}

/// A word of a fixed list (`full`, `compact`); configurations with any other word are
/// refused, so a collector reading one can rely on it being listed.
#[derive(Debug)]
pub struct Choice;

impl OptionType for Choice {
    type Value<'a> = &'a str;
    fn read(value: &OptionValue) -> Option<&str> {
        match value {
            OptionValue::Choice(word) => Some(word),
            OptionValue::Count(_) | OptionValue::Size(_) => None,
        }
    }
    fn fallback(spec: &OptionSpec) -> &str {
        match spec.default {
            OptionDefault::Choice { default, .. } => default,
            OptionDefault::Count(_) | OptionDefault::Size(_) => "",
        }
    }
}

/// A typed option, declared as a `static` in the file of the collector that reads it; its
/// `spec` goes into the collector's [`Description::options`].
#[derive(Debug)]
pub struct Opt<T> {
    pub spec: OptionSpec,
    kind: PhantomData<fn() -> T>,
}

impl Opt<Count> {
    /// A count accepting [`DEFAULT_COUNTS`].
    pub const fn count(key: &'static str, default: u32) -> Self {
        Self {
            spec: OptionSpec {
                key,
                default: OptionDefault::Count(default),
                counts: DEFAULT_COUNTS,
            },
            kind: PhantomData,
        }
    }

    /// The same option accepting only `counts`.
    pub const fn within(mut self, counts: RangeInclusive<u32>) -> Self {
        self.spec.counts = counts;
        self
    }
}

impl Opt<Size> {
    pub const fn size(key: &'static str, default: &'static str) -> Self {
        Self {
            spec: OptionSpec {
                key,
                default: OptionDefault::Size(default),
                counts: DEFAULT_COUNTS,
            },
            kind: PhantomData,
        }
    }
}

impl Opt<Choice> {
    /// One of `choices` (their order is the documentation's), `default` when left out.
    pub const fn choice(
        key: &'static str,
        default: &'static str,
        choices: &'static [&'static str],
    ) -> Self {
        Self {
            spec: OptionSpec {
                key,
                default: OptionDefault::Choice { default, choices },
                counts: DEFAULT_COUNTS,
            },
            kind: PhantomData,
        }
    }
}

/// The descriptions of every registered collector, in registration order.
pub fn descriptions() -> &'static [&'static Description] {
    static ALL: LazyLock<Vec<&'static Description>> =
        LazyLock::new(|| super::COLLECTORS.iter().map(|r| r.description).collect());
    &ALL
}

/// The registered collector of this name.
pub fn find(name: &str) -> Option<&'static Description> {
    descriptions().iter().copied().find(|d| d.name == name)
}

/// Every option of the registered collectors once, in the order they first appear.
pub fn options() -> &'static [&'static OptionSpec] {
    static ALL: LazyLock<Vec<&'static OptionSpec>> = LazyLock::new(|| {
        let mut out: Vec<&'static OptionSpec> = Vec::new();
        for option in descriptions().iter().flat_map(|d| d.options) {
            if !out.iter().any(|o| std::ptr::eq(*o, *option)) {
                out.push(option);
            }
        }
        out
    });
    &ALL
}

/// Every family the exporter can emit, in docs/metrics.md's order: each collector's in
/// registration order (as its description lists them), the store's freshness families, then
/// the exporter's own.
pub fn families() -> &'static [&'static Family] {
    static ALL: LazyLock<Vec<&'static Family>> = LazyLock::new(|| {
        descriptions()
            .iter()
            .flat_map(|d| d.families.iter().copied())
            .chain(super::store::HEALTH_FAMILIES)
            .chain(SELF_FAMILIES.iter().copied())
            .collect()
    });
    &ALL
}

/// What produces a family's series.
#[derive(Debug, Clone, Copy)]
pub enum Producer {
    /// One collector, on its interval.
    Collector(&'static Description),
    /// The store, per collector and instance, on each collector's interval (freshness).
    EveryCollector,
    /// The exporter's self-metrics, computed when scraped.
    Scrape,
}

impl PartialEq for Producer {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Producer::Collector(a), Producer::Collector(b)) => std::ptr::eq(*a, *b),
            (Producer::EveryCollector, Producer::EveryCollector)
            | (Producer::Scrape, Producer::Scrape) => true,
            _ => false,
        }
    }
}

impl Producer {
    /// The `collector` column of docs/metrics.md.
    pub fn label(self) -> &'static str {
        match self {
            Producer::Collector(description) => description.name,
            Producer::EveryCollector => "all",
            Producer::Scrape => "scrape",
        }
    }
}

/// Who produces `family`: the first registered collector that lists it (the registry test
/// requires exactly one), else the framework.
pub fn producer_of(family: &Family) -> Producer {
    if let Some(description) = descriptions()
        .iter()
        .find(|d| d.families.iter().any(|f| std::ptr::eq(*f, family)))
    {
        Producer::Collector(description)
    } else if super::store::HEALTH_FAMILIES
        .iter()
        .any(|f| std::ptr::eq(*f, family))
    {
        Producer::EveryCollector
    } else {
        Producer::Scrape
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::collect::store::HEALTH_FAMILIES;

    fn is_health(family: &Family) -> bool {
        HEALTH_FAMILIES.iter().any(|f| std::ptr::eq(*f, family))
    }

    #[test]
    fn names_are_unique_prefixed_and_suffixed_by_their_unit() {
        let mut seen = BTreeSet::new();
        for family in families() {
            assert!(seen.insert(family.name), "duplicate {}", family.name);
            // `process_*` are the standard families every exporter shares.
            assert!(
                family.name.starts_with("dms_") || family.name.starts_with("process_"),
                "{}",
                family.name
            );
            if let Some(unit) = family.unit {
                let base = family.name.strip_suffix("_total").unwrap_or(family.name);
                assert!(base.ends_with(&format!("_{unit}")), "{}", family.name);
            }
            match family.kind {
                crate::metrics::Kind::Counter => {
                    assert!(family.name.ends_with("_total"), "{}", family.name)
                }
                crate::metrics::Kind::Info => {
                    assert!(family.name.ends_with("_info"), "{}", family.name)
                }
                _ => assert!(!family.name.ends_with("_total"), "{}", family.name),
            }
            assert!(!family.help.is_empty());
        }
    }

    #[test]
    fn every_data_family_has_exactly_one_collector() {
        for family in families() {
            let owners: Vec<&str> = descriptions()
                .iter()
                .filter(|d| d.families.iter().any(|f| std::ptr::eq(*f, *family)))
                .map(|d| d.name)
                .collect();
            if family.source == "self" || family.source.starts_with("/proc/") {
                // Self-metrics (and process metrics) are the scrape's, freshness families the
                // store's.
                assert!(
                    owners.is_empty(),
                    "{} is a self-metric, yet listed by {owners:?}",
                    family.name
                );
            } else {
                assert!(
                    !is_health(family),
                    "{} is a health family with an API source",
                    family.name
                );
                assert_eq!(owners.len(), 1, "{} is emitted by {owners:?}", family.name);
            }
        }
        for family in HEALTH_FAMILIES {
            assert_eq!(family.source, "self", "{}", family.name);
            assert_eq!(producer_of(family), Producer::EveryCollector);
        }
    }

    #[test]
    fn descriptions_list_only_catalogued_families_once() {
        for description in descriptions() {
            let mut seen = BTreeSet::new();
            assert!(
                !description.families.is_empty(),
                "{} emits nothing",
                description.name
            );
            for family in description.families {
                assert!(
                    families().iter().any(|f| std::ptr::eq(*f, *family)),
                    "{}: {} is not in families()",
                    description.name,
                    family.name
                );
                assert!(
                    seen.insert(family.name),
                    "{} lists {} twice",
                    description.name,
                    family.name
                );
            }
        }
    }

    #[test]
    fn names_and_option_keys_are_unique_and_intervals_sane() {
        let mut keys = BTreeSet::from(["jitter"]);
        for description in descriptions() {
            assert!(
                keys.insert(description.name),
                "duplicate key {}",
                description.name
            );
            assert!(!description.interval.is_zero(), "{}", description.name);
            assert!(!description.demo_interval.is_zero(), "{}", description.name);
            assert!(
                description.demo_interval <= description.interval,
                "{}: the demo interval should be the shorter",
                description.name
            );
            if let Some(max_age) = description.max_age {
                assert!(max_age >= description.interval, "{}", description.name);
            }
        }
        for option in options() {
            assert!(keys.insert(option.key), "duplicate key {}", option.key);
            assert_eq!(
                option.problem(&option.default_value()),
                None,
                "{}",
                option.key
            );
        }
    }

    #[test]
    fn every_registered_collector_has_settings_by_default() {
        let config = crate::collect::settings::CollectorsConfig::default();
        for description in descriptions() {
            let settings = config
                .settings(description.name)
                .unwrap_or_else(|| panic!("{} has no settings", description.name));
            assert_eq!(settings.enabled, description.enabled_by_default);
            assert_eq!(settings.interval.map(|d| d.0), Some(description.interval));
        }
        assert_eq!(config.collectors.len(), descriptions().len());
    }

    #[test]
    fn sizes_are_digits_and_a_unit() {
        let spec = Opt::size("size", "1K").spec;
        for good in ["1K", "100M", "5G"] {
            assert_eq!(
                spec.problem(&OptionValue::Size(good.to_owned())),
                None,
                "{good}"
            );
        }
        for bad in [
            "1 GB",
            "K",
            "1",
            "1T",
            "1.5G",
            "",
            "1025G",
            "99999999999999999999G",
        ] {
            assert!(
                spec.problem(&OptionValue::Size(bad.to_owned())).is_some(),
                "{bad}"
            );
        }
    }

    #[test]
    fn choices_accept_only_their_words() {
        let spec = Opt::choice("choice", "b", &["a", "b"]).spec;
        assert_eq!(spec.default_value(), OptionValue::Choice("b".to_owned()));
        assert_eq!(spec.problem(&OptionValue::Choice("a".to_owned())), None);
        let wrong = spec.problem(&OptionValue::Choice("A".to_owned()));
        assert_eq!(wrong.as_deref(), Some("\"A\" is not one of a, b"));
    }

    #[test]
    fn counts_are_checked_against_their_range() {
        let spec = Opt::count("count", 5).within(1..=10).spec;
        assert_eq!(spec.problem(&OptionValue::Count(10)), None);
        let too_small = spec.problem(&OptionValue::Count(0)).unwrap_or_default();
        assert_eq!(too_small, "0 is out of range: from 1 to 10");
        assert!(spec.problem(&OptionValue::Count(11)).is_some());
        let unbounded = Opt::count("count", 5).spec;
        assert!(unbounded.problem(&OptionValue::Count(u32::MAX)).is_some());
    }
}
