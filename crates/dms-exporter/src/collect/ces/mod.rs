//! Cloud Eye (CES) beside DMS state: traffic and load (bytes and messages in and out, produce
//! and fetch latency, CPU, memory, disk, RabbitMQ's ready and unacknowledged messages) for
//! each instance, from CES's `SYS.DMS` namespace on the CES host (a request scheduler of its
//! own, the same credentials). Off by default: it needs `ces:metricData:list`.
//!
//! Per instance and cycle: the instance's dimension levels (`ces-hierarchy`, re-read every
//! `ces_hierarchy_minutes`, the last good one kept when that fails) give the series
//! (`series`), read in batch queries within CES's limits from a cursor per series
//! (`window`), the instance's levels sharing queries; a failed query fails (and ages) the
//! levels whose series it held, the others are served.
//! The newest point of each series is exported as a gauge, its minute in
//! `dms_ces_newest_point_timestamp_seconds` (and, with `ces_timestamps: on`, as the sample's
//! timestamp: the cursor only moves forward, so a series' timestamps never go back); a
//! series without a new point for `max_age` (at least 5 minutes) goes.

pub mod catalog;
pub mod series;
pub mod window;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dms_cloud::dto::ces::{BatchQuery, MetricDimension, MetricInfo};
use dms_cloud::error::ApiError;
use futures::FutureExt;
use futures::future::BoxFuture;

use self::catalog::{CES_FAMILIES, CES_NEWEST_POINT, CES_UNKNOWN_METRICS, Level};
use self::series::{Plan, Series};
use self::window::Newest;
use super::registry::{Choice, Count, Opt};
use super::{Collector, Context, Description, InstanceRef, Output, Part, Priority, Scope};
use crate::locks::lock;
use crate::metrics::Sample;

/// CES's namespace of every DMS engine.
const NAMESPACE: &str = "SYS.DMS";
/// The statistic read: raw one-minute points, their average.
const FILTER: &str = "average";
/// CES's raw period, as the API spells it.
const RAW_PERIOD: &str = "1";

/// How far back before a series' newest point each read reaches, for points that arrive late.
pub static LATENESS_MINUTES: Opt<Count> = Opt::count("ces_lateness_minutes", 10).within(1..=30);
/// How often an instance's dimension levels are re-read (new topics, brokers, queues).
pub static HIERARCHY_MINUTES: Opt<Count> = Opt::count("ces_hierarchy_minutes", 10).within(1..=1440);
/// Kafka's partition level (a series per partition and metric).
pub static PARTITIONS: Opt<Choice> = Opt::choice("ces_partitions", "off", &["off", "on"]);
/// The consumer-group levels of Kafka and RocketMQ (a series per group, topic and partition).
pub static GROUPS: Opt<Choice> = Opt::choice("ces_groups", "off", &["off", "on"]);
/// Each value exported with its Cloud Eye minute as the sample's timestamp instead of the
/// scrape's (docs/cloud-eye.md: Prometheus' lookback then hides points older than 5 minutes).
pub static TIMESTAMPS: Opt<Choice> = Opt::choice("ces_timestamps", "off", &["off", "on"]);

pub static DESCRIPTION: Description = Description {
    name: "ces",
    enabled_by_default: false,
    scope: Scope::Instance(None),
    priority: Priority::Normal,
    interval: Duration::from_secs(60),
    max_age: None,
    demo_interval: Duration::from_secs(15),
    apis: &["ces_hierarchy", "ces_batch_metric_data"],
    options: &[
        &LATENESS_MINUTES.spec,
        &HIERARCHY_MINUTES.spec,
        &PARTITIONS.spec,
        &GROUPS.spec,
        &TIMESTAMPS.spec,
    ],
    families: CES_FAMILIES,
};

/// What the collector keeps of one instance across cycles.
#[derive(Default)]
struct InstanceState {
    /// The series of the last good hierarchy, and when it was read (unix ms).
    plan: Option<(i64, Arc<Plan>)>,
    /// Each series' newest point, by [`series_key`].
    newest: HashMap<String, Newest>,
}

#[derive(Default)]
pub struct Ces {
    instances: Mutex<HashMap<String, InstanceState>>,
}

/// The least time a series is kept without a new point, whatever the collector's `max_age`:
/// Cloud Eye's points come a minute apart and their lateness varies by minutes, so a max age
/// made for a short interval (three times 15 s in the demo) would make every series blink.
const SERIES_MIN_AGE_MS: i64 = 5 * window::PERIOD_MS;

/// Separates a series key's parts (a character no name or value holds).
const KEY_SEPARATOR: char = '\u{1f}';

/// Identifies a series across cycles, and an answer's series: its metric and dimension values.
fn series_key(metric_name: &str, dimensions: &[MetricDimension]) -> String {
    series_key_of(metric_name, dimensions.iter().map(|d| d.value.as_str()))
}

fn series_key_of<'a>(metric_name: &str, values: impl Iterator<Item = &'a str>) -> String {
    let mut key = metric_name.to_owned();
    for value in values {
        key.push(KEY_SEPARATOR);
        key.push_str(value);
    }
    key
}

impl Ces {
    /// The series to read for `instance`: from a hierarchy read now when the kept one is older
    /// than `ces_hierarchy_minutes`, else the kept one; a failed read keeps the last good one.
    async fn plan(
        &self,
        cx: &Context<'_>,
        instance: &InstanceRef,
        now_ms: i64,
        horizon_ms: i64,
    ) -> Result<Arc<Plan>, ApiError> {
        let refresh_ms = i64::from(cx.settings.option(&HIERARCHY_MINUTES)) * 60_000;
        let kept = lock(&self.instances)
            .get(&instance.id)
            .and_then(|state| state.plan.clone());
        if let Some((read_ms, plan)) = &kept
            && now_ms - read_ms < refresh_ms
        {
            return Ok(Arc::clone(plan));
        }
        let partitions = cx.settings.option(&PARTITIONS) == "on";
        let groups = cx.settings.option(&GROUPS) == "on";
        let wanted = |level: Level| match level {
            Level::Partition => partitions,
            Level::Group | Level::GroupTopic | Level::GroupPartition => groups,
            _ => true,
        };
        match cx.client.ces_hierarchy(&instance.id).await {
            Ok(hierarchy) => {
                let plan = Arc::new(series::plan(
                    instance.engine,
                    &instance.id,
                    &hierarchy,
                    wanted,
                    cx.filters,
                ));
                let mut instances = lock(&self.instances);
                let state = instances.entry(instance.id.clone()).or_default();
                // Series the hierarchy no longer lists (a deleted topic) go now from the
                // exposition; their cursors stay while a first read could still reach
                // below them, so a series that comes back never goes back in time.
                let live: std::collections::HashSet<String> = plan.keys().collect();
                state.newest.retain(|key, newest| {
                    live.contains(key) || newest.timestamp_ms >= now_ms - horizon_ms
                });
                state.plan = Some((now_ms, Arc::clone(&plan)));
                Ok(plan)
            }
            Err(error) => match kept {
                Some((_, plan)) => {
                    tracing::debug!(instance_id = %instance.id, %error, "CES hierarchy unreadable; the last good one is used");
                    Ok(plan)
                }
                None => Err(error),
            },
        }
    }
}

impl Collector for Ces {
    fn description(&self) -> &'static Description {
        &DESCRIPTION
    }

    fn collect<'a>(&'a self, cx: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>> {
        async move {
            let instance = cx.instance();
            let now_ms = cx.health.now_ms();
            let horizon_ms = i64::from(cx.settings.option(&LATENESS_MINUTES)) * 60_000;
            let plan = self.plan(cx, instance, now_ms, horizon_ms).await?;
            let (_, max_age) = cx.settings.schedule(DESCRIPTION.name);
            let max_age_ms = i64::try_from(max_age.as_millis())
                .unwrap_or(i64::MAX)
                .max(SERIES_MIN_AGE_MS);
            let series = plan.series();
            let by_level = self
                .read(cx, &instance.id, &series, now_ms, horizon_ms, max_age_ms)
                .await;
            let mut parts: Vec<Part> = by_level
                .into_iter()
                .map(|(level, result)| (level.as_str().to_owned(), result))
                .collect();
            parts.push((
                "hierarchy".to_owned(),
                Ok(vec![Sample::new(
                    &CES_UNKNOWN_METRICS,
                    vec![instance.id.clone()],
                    plan.unknown as f64,
                )]),
            ));
            Ok(Output {
                parts,
                ..Output::default()
            })
        }
        .boxed()
    }
}

impl Ces {
    /// The instance's series, read from their cursors in as few queries as CES's limits allow
    /// (levels share them), their newest points advanced; per level, the samples of series
    /// with a point newer than `max_age` ago, or the error of a query that held the level's
    /// series (its last good samples then stay in the store, ageing out).
    async fn read(
        &self,
        cx: &Context<'_>,
        instance_id: &str,
        series: &[Series],
        now_ms: i64,
        horizon_ms: i64,
        max_age_ms: i64,
    ) -> BTreeMap<Level, Result<Vec<Sample>, ApiError>> {
        let keys: Vec<String> = series
            .iter()
            .map(|s| series_key(s.metric.name, &s.dimensions))
            .collect();
        let index_of: HashMap<&str, usize> = keys
            .iter()
            .enumerate()
            .map(|(index, key)| (key.as_str(), index))
            .collect();
        let cursors: Vec<Option<i64>> = {
            let instances = lock(&self.instances);
            let newest = instances.get(instance_id).map(|state| &state.newest);
            keys.iter()
                .map(|key| newest.and_then(|n| n.get(key)).map(|n| n.timestamp_ms))
                .collect()
        };
        let lookback_ms = horizon_ms + max_age_ms;
        let queries = window::queries(&cursors, now_ms, horizon_ms, lookback_ms);
        // All at once: the CES host's scheduler paces them.
        let answers = futures::future::join_all(queries.iter().map(|query| {
            let body = BatchQuery {
                metrics: query
                    .series
                    .iter()
                    .map(|index| MetricInfo {
                        namespace: NAMESPACE.to_owned(),
                        metric_name: series[*index].metric.name.to_owned(),
                        dimensions: series[*index].dimensions.clone(),
                    })
                    .collect(),
                period: RAW_PERIOD.to_owned(),
                filter: FILTER.to_owned(),
                from: query.from_ms,
                to: query.to_ms,
            };
            async move { cx.client.ces_batch_metric_data(&body).await }
        }))
        .await;
        let mut instances = lock(&self.instances);
        let state = instances.entry(instance_id.to_owned()).or_default();
        let mut failed: BTreeMap<Level, ApiError> = BTreeMap::new();
        for (query, answer) in queries.iter().zip(answers) {
            let answer = match answer {
                Ok(answer) => answer,
                Err(error) => {
                    for index in &query.series {
                        failed
                            .entry(series[*index].metric.level)
                            .or_insert_with(|| error.clone());
                    }
                    continue;
                }
            };
            for data in answer.metrics {
                let key = series_key(&data.metric_name, &data.dimensions);
                let Some(&index) = index_of.get(key.as_str()) else {
                    continue;
                };
                let mut newest = state.newest.get(&keys[index]).copied();
                if window::advance(
                    &mut newest,
                    &data.datapoints,
                    FILTER,
                    series[index].metric.divisor,
                    now_ms,
                ) && let Some(newest) = newest
                {
                    state.newest.insert(keys[index].clone(), newest);
                }
            }
        }
        let timestamps = cx.settings.option(&TIMESTAMPS) == "on";
        let mut levels: BTreeMap<Level, Result<Vec<Sample>, ApiError>> = BTreeMap::new();
        let mut newest_point: BTreeMap<Level, i64> = BTreeMap::new();
        for (series, key) in series.iter().zip(&keys) {
            let level = series.metric.level;
            if let Some(error) = failed.get(&level) {
                levels.insert(level, Err(error.clone()));
                continue;
            }
            let samples = levels.entry(level).or_insert_with(|| Ok(Vec::new()));
            let Some(newest) = state.newest.get(key) else {
                continue;
            };
            if now_ms - newest.seen_ms > max_age_ms {
                continue;
            }
            if let Ok(samples) = samples {
                let sample = Sample::new(series.metric.family, series.labels.clone(), newest.value);
                samples.push(if timestamps {
                    sample.at(newest.timestamp_ms)
                } else {
                    sample
                });
                let point = newest_point.entry(level).or_insert(newest.timestamp_ms);
                *point = (*point).max(newest.timestamp_ms);
            }
        }
        for (level, timestamp_ms) in newest_point {
            if let Some(Ok(samples)) = levels.get_mut(&level) {
                samples.push(Sample::new(
                    &CES_NEWEST_POINT,
                    vec![instance_id.to_owned(), level.as_str().to_owned()],
                    timestamp_ms as f64 / 1000.0,
                ));
            }
        }
        levels
    }
}
