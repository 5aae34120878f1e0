//! Reading the model: one observation per series of every instance, at one sample. Each
//! engine's file says which model quantity each metric is; names starting with `_` or `#`
//! (internal topics and groups) get no metrics, as in CES.

mod kafka;
mod rabbitmq;
mod rocketmq;

pub(crate) use rabbitmq::node_names as rabbitmq_nodes;

use super::SeriesKey;
use super::catalogue::{self, Level};
use super::history::{Observation, Reading};
use crate::fleet::Fleet;

/// Every series of the fleet as the model has it now.
pub(crate) fn observe(fleet: &Fleet) -> Vec<Observation> {
    let mut sink = Sink::default();
    for instance in fleet.instances.values() {
        kafka::observe(
            instance,
            &mut sink.engine(&instance.project_id, catalogue::KAFKA),
        );
    }
    for instance in fleet.rocketmq.values() {
        rocketmq::observe(
            instance,
            &mut sink.engine(&instance.project_id, catalogue::ROCKETMQ),
        );
    }
    for instance in fleet.rabbitmq.values() {
        rabbitmq::observe(
            instance,
            &mut sink.engine(&instance.project_id, catalogue::RABBITMQ),
        );
    }
    sink.observations
}

/// RocketMQ's dead-letter topic of a group (`%DLQ%` and the group's name).
pub(crate) fn dead_letter_topic(group: &str) -> String {
    format!("%DLQ%{group}")
}

/// Whether CES keeps metrics for a topic or group of this name.
pub(crate) fn monitored(name: &str) -> bool {
    !(name.starts_with('_') || name.starts_with('#'))
}

#[derive(Default)]
struct Sink {
    observations: Vec<Observation>,
}

impl Sink {
    fn engine<'a>(&'a mut self, project_id: &'a str, levels: &'static [Level]) -> EngineSink<'a> {
        EngineSink {
            sink: self,
            project_id,
            levels,
        }
    }
}

/// Observations of one instance, checked against its engine's catalogue.
pub(super) struct EngineSink<'a> {
    sink: &'a mut Sink,
    project_id: &'a str,
    levels: &'static [Level],
}

impl EngineSink<'_> {
    /// The readings of one resource of `level` whose dimension values are `values` (in
    /// `dim_router` order). A metric the catalogue does not list at that level is a bug of
    /// this module, caught by the tests.
    pub(super) fn put(&mut self, level: &str, values: &[&str], readings: &[(&str, Reading)]) {
        let Some(level) = self.levels.iter().find(|l| l.name == level) else {
            debug_assert!(false, "no level {level}");
            return;
        };
        debug_assert_eq!(level.dim_router.len(), values.len(), "{}", level.name);
        let dimensions: Vec<(String, String)> = level
            .dim_router
            .iter()
            .zip(values)
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        for (name, reading) in readings {
            let Some(metric) = level.metrics.iter().find(|m| m.name == *name) else {
                debug_assert!(false, "{name} is not a metric of {}", level.name);
                continue;
            };
            self.sink.observations.push(Observation {
                project_id: self.project_id.to_owned(),
                key: SeriesKey {
                    metric: metric.name.to_owned(),
                    dimensions: dimensions.clone(),
                },
                metric: *metric,
                reading: *reading,
            });
        }
    }
}

fn count(n: usize) -> Reading {
    Reading::Value(n as f64)
}

fn value(n: u64) -> Reading {
    Reading::Value(n as f64)
}

/// A value with nothing behind it in the model (CPU, memory, latency): seeded, in
/// [low, high), two decimals.
fn between(low: f64, high: f64) -> Reading {
    Reading::Synthetic {
        low,
        high,
        integer: false,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::SimConfig;

    /// Every metric of every level is observed in the deterministic fleet, and nothing else.
    #[test]
    fn the_model_fills_the_catalogue() {
        let fleet = Fleet::generate(&SimConfig::deterministic());
        let observations = observe(&fleet);
        let observed: BTreeSet<(Vec<&str>, &str)> = observations
            .iter()
            .map(|o| {
                let names = o.key.dimensions.iter().map(|d| d.0.as_str()).collect();
                (names, o.key.metric.as_str())
            })
            .collect();
        let mut expected = BTreeSet::new();
        for levels in [catalogue::KAFKA, catalogue::ROCKETMQ, catalogue::RABBITMQ] {
            for level in levels {
                for metric in level.metrics {
                    expected.insert((level.dim_router.to_vec(), metric.name));
                }
            }
        }
        assert_eq!(observed, expected);
    }
}
