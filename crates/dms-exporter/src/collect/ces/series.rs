//! From an instance's CES hierarchy to the series to read: each level the exporter reads and
//! the configuration wants, each metric of it the catalogue knows, for each tuple of
//! dimension values its lists give (after the topic, group, vhost and queue filters).

use dms_cloud::Engine;
use dms_cloud::dto::ces::{CesDimension, CesHierarchy, MetricDimension};
use serde_json::{Map, Value};

use super::catalog::{self, CesMetric, Level};
use crate::collect::FiltersConfig;
use crate::collect::kafka::broker_label;

/// One series to read, and the labels its value is exported with; built for a cycle from the
/// kept [`Plan`], which holds each dimension tuple once for all its metrics.
#[derive(Debug, Clone)]
pub struct Series {
    pub metric: &'static CesMetric,
    /// The CES dimensions, in `dim_router` order (the query).
    pub dimensions: Vec<MetricDimension>,
    /// `instance_id` and the level's labels (the exposition).
    pub labels: Vec<String>,
}

/// One level of an instance's hierarchy: its dimension names, the metrics the exporter reads
/// there, and a tuple of dimension values (after the instance's) per resource.
#[derive(Debug)]
struct LevelPlan {
    level: Level,
    /// `dim_router`: the instance's dimension name, then the tuple's.
    names: Box<[String]>,
    metrics: Box<[&'static CesMetric]>,
    tuples: Vec<Box<[String]>>,
}

/// What an instance's hierarchy asks the exporter to read, kept between hierarchy reads: each
/// tuple once, so a fleet's plans weigh about a tuple's values, not a series' labels and query.
#[derive(Debug)]
pub struct Plan {
    /// The instance's engine (Kafka's broker labels differ from Cloud Eye's).
    engine: Engine,
    instance_id: String,
    levels: Vec<LevelPlan>,
    /// Metrics of levels the exporter reads that its catalogue does not know, and metrics of
    /// levels it does not know at all.
    pub unknown: u64,
}

impl Plan {
    /// Every series, with its query dimensions and exported labels.
    pub fn series(&self) -> Vec<Series> {
        let mut out = Vec::with_capacity(self.len());
        for level in &self.levels {
            for tuple in &level.tuples {
                let dimensions: Vec<MetricDimension> = std::iter::once(&self.instance_id)
                    .chain(tuple.iter())
                    .zip(level.names.iter())
                    .map(|(value, name)| MetricDimension {
                        name: name.clone(),
                        value: value.clone(),
                    })
                    .collect();
                let labels = labels(self.engine, level.level, &self.instance_id, tuple);
                for metric in level.metrics.iter() {
                    out.push(Series {
                        metric,
                        dimensions: dimensions.clone(),
                        labels: labels.clone(),
                    });
                }
            }
        }
        out
    }

    /// How many series the plan reads.
    fn len(&self) -> usize {
        self.levels
            .iter()
            .map(|level| level.tuples.len() * level.metrics.len())
            .sum()
    }

    /// Each series' key ([`super::series_key`] of its metric and dimension values), for
    /// telling which kept cursors the plan still reads.
    pub fn keys(&self) -> impl Iterator<Item = String> + '_ {
        self.levels.iter().flat_map(move |level| {
            level.tuples.iter().flat_map(move |tuple| {
                level.metrics.iter().map(move |metric| {
                    super::series_key_of(
                        metric.name,
                        std::iter::once(self.instance_id.as_str())
                            .chain(tuple.iter().map(String::as_str)),
                    )
                })
            })
        })
    }
}

/// The series of `hierarchy` for an instance of `engine`, at the levels `wanted` allows.
pub fn plan(
    engine: Engine,
    instance_id: &str,
    hierarchy: &CesHierarchy,
    wanted: impl Fn(Level) -> bool,
    filters: &FiltersConfig,
) -> Plan {
    let mut plan = Plan {
        engine,
        instance_id: instance_id.to_owned(),
        levels: Vec::new(),
        unknown: 0,
    };
    let mut levels: Vec<&CesDimension> = Vec::new();
    for dimension in &hierarchy.dimensions {
        levels.push(dimension);
        levels.extend(&dimension.children);
    }
    for dimension in levels {
        let name = dimension.dim_router.last().unwrap_or(&dimension.name);
        let Some(level) = catalog::level(engine, name) else {
            plan.unknown += dimension.metrics.len() as u64;
            continue;
        };
        if !wanted(level) {
            continue;
        }
        let metrics: Vec<&'static CesMetric> = dimension
            .metrics
            .iter()
            .filter_map(|metric| {
                let known = catalog::find(engine, level, metric);
                if known.is_none() {
                    plan.unknown += 1;
                }
                known
            })
            .collect();
        if metrics.is_empty() || dimension.dim_router.is_empty() {
            continue;
        }
        let tuples: Vec<Box<[String]>> = values(
            &dimension.key_name,
            &hierarchy.lists,
            dimension.dim_router.len(),
        )
        .into_iter()
        .filter(|tuple| tuple.len() == level.labels().len() && allowed(level, tuple, filters))
        .map(Vec::into_boxed_slice)
        .collect();
        if tuples.is_empty() {
            continue;
        }
        plan.levels.push(LevelPlan {
            level,
            names: dimension.dim_router.clone().into_boxed_slice(),
            metrics: metrics.into_boxed_slice(),
            tuples,
        });
    }
    plan
}

/// The dimension values after the instance's, one tuple per series: the lists of `keys`
/// walked in order, each nested in the previous one's items (Kafka's `queues` → `partitions`)
/// or, when flat, tied to them by a field named after the previous list (RabbitMQ's `queues`
/// carry their `vhost`).
fn values(keys: &[String], lists: &Map<String, Value>, dimensions: usize) -> Vec<Vec<String>> {
    if dimensions <= 1 {
        return vec![Vec::new()];
    }
    let Some(first) = keys.first() else {
        return Vec::new();
    };
    let items = list(lists.get(first));
    walk(&items, keys, 0, lists)
}

fn walk(
    items: &[&Value],
    keys: &[String],
    depth: usize,
    lists: &Map<String, Value>,
) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for item in items {
        let Some(name) = item_name(item) else {
            continue;
        };
        let Some(next) = keys.get(depth + 1) else {
            out.push(vec![name]);
            continue;
        };
        let children: Vec<&Value> = match item.get(next) {
            Some(nested) => list(Some(nested)),
            None => {
                let parent_field = keys[depth].strip_suffix('s').unwrap_or(&keys[depth]);
                list(lists.get(next))
                    .into_iter()
                    .filter(|child| child.get(parent_field).and_then(Value::as_str) == Some(&name))
                    .collect()
            }
        };
        for mut tail in walk(&children, keys, depth + 1, lists) {
            tail.insert(0, name.clone());
            out.push(tail);
        }
    }
    out
}

fn list(value: Option<&Value>) -> Vec<&Value> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().collect())
        .unwrap_or_default()
}

fn item_name(item: &Value) -> Option<String> {
    match item.get("name")? {
        Value::String(name) if !name.is_empty() => Some(name.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Whether the topic, group, vhost and queue filters let a tuple through.
fn allowed(level: Level, tuple: &[String], filters: &FiltersConfig) -> bool {
    level
        .labels()
        .iter()
        .zip(tuple)
        .all(|(name, value)| match *name {
            "topic" => filters.topics.allows(value),
            "group" => filters.groups.allows(value),
            "vhost" => filters.vhosts.allows(value),
            "queue" => filters.queues.allows(value),
            _ => true,
        })
}

/// The exported labels of a tuple. Kafka's brokers are `broker-0` in CES and `0` in the DMS
/// families, which must join.
fn labels(engine: Engine, level: Level, instance_id: &str, tuple: &[String]) -> Vec<String> {
    let mut labels = vec![instance_id.to_owned()];
    for (name, value) in level.labels().iter().zip(tuple) {
        labels.push(if *name == "broker" && engine == Engine::Kafka {
            broker_label(value)
        } else {
            value.clone()
        });
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::test_fixtures::fixture;

    fn kafka_hierarchy() -> CesHierarchy {
        serde_json::from_str(&fixture("kafka/R26_ces_hierarchy.json")).unwrap_or_default()
    }

    fn keys(plan: &Plan) -> Vec<String> {
        plan.series()
            .iter()
            .map(|s| format!("{} {}", s.metric.name, s.labels.join(",")))
            .collect()
    }

    #[test]
    fn the_documented_kafka_hierarchy_gives_the_default_levels_series() {
        let hierarchy = kafka_hierarchy();
        let default =
            |level: Level| matches!(level, Level::Instance | Level::Broker | Level::Topic);
        let plan = plan(
            Engine::Kafka,
            "i-1",
            &hierarchy,
            default,
            &FiltersConfig::default(),
        );
        let keys = keys(&plan);
        // 3 instance metrics, 6 broker metrics × 3 brokers, 5 topic metrics × 3 topics.
        assert_eq!(keys.len(), 3 + 18 + 15, "{keys:#?}");
        assert!(
            keys.contains(&"broker_bytes_in_rate i-1,1".to_owned()),
            "{keys:#?}"
        );
        assert!(
            keys.contains(&"topic_messages i-1,mytest".to_owned()),
            "{keys:#?}"
        );
        assert!(
            !keys.iter().any(|k| k.starts_with("partition_messages")),
            "{keys:#?}"
        );
        let cpu = plan
            .series()
            .iter()
            .find(|s| s.metric.name == "broker_produce_mean")
            .map(|s| s.dimensions.clone())
            .unwrap_or_default();
        assert_eq!(
            cpu.iter()
                .map(|d| (d.name.as_str(), d.value.as_str()))
                .collect::<Vec<_>>(),
            [("kafka_instance_id", "i-1"), ("kafka_broker", "broker-0")]
        );
        // The REST proxy's 15 metrics are a level the exporter does not read.
        assert_eq!(plan.unknown, 15);
    }

    #[test]
    fn opt_in_levels_walk_nested_lists_and_filters_apply() {
        let hierarchy = kafka_hierarchy();
        let mut filters = FiltersConfig::default();
        filters.topics.exclude = serde_json::from_value(serde_json::json!("aaaa")).ok();
        let plan = plan(Engine::Kafka, "i-1", &hierarchy, |_| true, &filters);
        let keys = keys(&plan);
        // Partitions of mytest only (aaaa filtered), 2 metrics × 3 partitions.
        assert!(
            keys.contains(&"partition_messages i-1,mytest,2".to_owned()),
            "{keys:#?}"
        );
        assert!(!keys.iter().any(|k| k.contains("aaaa")), "{keys:#?}");
        // The group level of the example: groups → queues → partitions.
        assert!(
            keys.contains(&"messages_remained i-1,test-consumer-group,mytest,1".to_owned()),
            "{keys:#?}"
        );
    }

    #[test]
    fn flat_lists_are_tied_to_their_parent_by_its_field() {
        let hierarchy: CesHierarchy = serde_json::from_value(serde_json::json!({
            "dimensions": [{
                "name": "rabbitmq_queue",
                "metrics": ["queue_messages_ready", "queue_messages_new_in_2030"],
                "key_name": ["vhosts", "queues"],
                "dim_router": ["rabbitmq_instance_id", "rabbitmq_vhost", "rabbitmq_queue"]
            }],
            "vhosts": [{"name": "/"}, {"name": "orders"}],
            "queues": [{"name": "q1", "vhost": "/"}, {"name": "q2", "vhost": "orders"}, {"name": "q3", "vhost": "orders"}]
        }))
        .unwrap_or_default();
        let plan = plan(
            Engine::RabbitMq,
            "r-1",
            &hierarchy,
            |_| true,
            &FiltersConfig::default(),
        );
        assert_eq!(
            keys(&plan),
            [
                "queue_messages_ready r-1,/,q1",
                "queue_messages_ready r-1,orders,q2",
                "queue_messages_ready r-1,orders,q3"
            ]
        );
        assert_eq!(plan.unknown, 1);
    }
}
