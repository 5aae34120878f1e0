//! Discovery and the shared instance families, for every engine of the project.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::Engine;
use dms_cloud::dto::Instance;
use dms_cloud::error::ApiError;

use super::{
    Collector, Context, Description, InstanceRef, Output, Priority, Scope, normalise_state,
};
use crate::collect::settings::ShardingConfig;
use crate::locks::lock;
use crate::metrics::Samples;
use crate::metrics::catalog::{B, S, families};

/// API storage figures are GB, read as 2^30 bytes.
pub const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Statuses the state set always lists; anything else is reported as UNKNOWN. The 2020
/// documents' RESIZING / RESIZING_FAILED are the 2023 CHANGING / CHANGE_FAILED; RabbitMQ and
/// RocketMQ send EXTENDING / EXTENDEDFAILED for the same states, kept as sent.
pub const INSTANCE_STATUSES: &[&str] = &[
    "CREATING",
    "CREATEFAILED",
    "RUNNING",
    "ERROR",
    "FAULTY",
    "RESTARTING",
    "STARTING",
    "STOPPING",
    "CHANGING",
    "CHANGE_FAILED",
    "EXTENDING",
    "EXTENDEDFAILED",
    "FROZEN",
    "DELETING",
    "UNKNOWN",
];

/// Discovery. With sharding, every shard lists the whole project (one call per engine) but
/// keeps only the instances it owns: in its samples and in the inventory it publishes, so
/// instance-scoped collectors read only those and the store drops the others' data.
#[derive(Debug, Default)]
pub struct Instances {
    pub sharding: ShardingConfig,
    last_v2: Mutex<HashMap<String, V2Fields>>,
}

/// What the V2 list said last about an instance, for the fields V1 lacks or sends in another
/// form, so a cycle that fell back to V1 changes no label value and drops no series.
#[derive(Debug, Clone)]
struct V2Fields {
    project_id: String,
    engine: Engine,
    specification: String,
    brokers: Option<i64>,
}

impl Instances {
    pub fn new(sharding: ShardingConfig) -> Self {
        Instances {
            sharding,
            last_v2: Mutex::default(),
        }
    }

    /// Remembers V2's fields, or puts them back into instances V1 listed; forgets instances
    /// of this project and engine that are no longer listed.
    fn keep_v2_fields(&self, project_id: &str, engine: Engine, instances: &mut [Instance]) {
        let mut last = lock(&self.last_v2);
        last.retain(|id, fields| {
            fields.project_id != project_id
                || fields.engine != engine
                || instances.iter().any(|i| &i.instance_id == id)
        });
        for instance in instances {
            if !instance.listed_by_v1 {
                let fields = V2Fields {
                    project_id: project_id.to_owned(),
                    engine,
                    specification: instance.specification.clone(),
                    brokers: instance.broker_num,
                };
                last.insert(instance.instance_id.clone(), fields);
            } else if let Some(fields) = last.get(&instance.instance_id) {
                instance.specification.clone_from(&fields.specification);
                instance.broker_num = fields.brokers.or(instance.broker_num);
            }
        }
    }
}

fn status_label(raw: &str) -> String {
    let normalised = normalise_state(raw);
    let renamed = match normalised.as_str() {
        "RESIZING" => "CHANGING".to_owned(),
        "RESIZING_FAILED" => "CHANGE_FAILED".to_owned(),
        _ => normalised,
    };
    if INSTANCE_STATUSES.contains(&renamed.as_str()) {
        renamed
    } else {
        "UNKNOWN".to_owned()
    }
}

/// `HH:mm:ss` as seconds after midnight.
fn seconds_of_day(clock: &str) -> Option<f64> {
    let mut parts = clock.split(':').map(|part| part.parse::<u32>().ok());
    let (hours, minutes, seconds) = (parts.next()??, parts.next()??, parts.next()??);
    (hours < 24 && minutes < 60 && seconds < 60)
        .then(|| f64::from(hours * 3600 + minutes * 60 + seconds))
}

fn instance_samples(cx: &Context<'_>, engine: &str, instance: &Instance, out: &mut Samples) {
    let id = instance.instance_id.as_str();
    out.push(
        &INSTANCE_INFO,
        [
            engine,
            id,
            &instance.name,
            &cx.project.region,
            &cx.project.project_id,
            &instance.engine_version,
            &instance.specification,
            &instance.enterprise_project_id,
        ],
        1.0,
    );
    out.push_state_set(
        &INSTANCE_STATUS,
        [engine, id],
        INSTANCE_STATUSES,
        &status_label(&instance.status),
    );
    let gib = |gb: i64| gb as f64 * GIB;
    out.push_some(
        &INSTANCE_STORAGE_USED,
        [engine, id],
        instance.used_storage_space.map(gib),
    );
    let capacity = instance.total_storage_space.or(instance.storage_space);
    out.push_some(&INSTANCE_STORAGE_CAPACITY, [engine, id], capacity.map(gib));
    let brokers = instance.broker_num.or(instance.node_num);
    out.push_some(&INSTANCE_BROKERS, [engine, id], brokers.map(|b| b as f64));
    // V2 sends HH:mm:ss, V1 HH:mm: one label value per window whichever API answered.
    if let Some((begin, end)) = instance.maintenance_window() {
        out.push(
            &INSTANCE_MAINTENANCE_WINDOW_INFO,
            [engine, id, &begin, &end],
            1.0,
        );
        // The same window as numbers, so PromQL can compare it with the time of day.
        out.push_some(
            &INSTANCE_MAINTENANCE_WINDOW_BEGIN,
            [engine, id],
            seconds_of_day(&begin),
        );
        out.push_some(
            &INSTANCE_MAINTENANCE_WINDOW_END,
            [engine, id],
            seconds_of_day(&end),
        );
    }
    out.push_some(
        &INSTANCE_CREATED,
        [engine, id],
        instance.created_at.map(|ms| ms as f64 / 1000.0),
    );
}

families! {
    INSTANCE_INFO = "dms_instance_info", Info, None,
        ["engine", "instance_id", "name", "region", "project_id", "engine_version", "specification", "enterprise_project_id"],
        "GET /v2/{project_id}/instances",
        "Information about a DMS instance; always 1. Join on instance_id with group_left to get names.";
    INSTANCE_STATUS = "dms_instance_status", StateSet, None,
        ["engine", "instance_id", "status"],
        "GET /v2/{project_id}/instances",
        "Instance status as a state set: 1 for the current status, 0 for the other known ones; a status the exporter does not know is reported as UNKNOWN.";
    INSTANCE_STORAGE_USED = "dms_instance_storage_used_bytes", Gauge, B,
        ["engine", "instance_id"],
        "GET /v2/{project_id}/instances (used_storage_space)",
        "Message storage used, in bytes (the API reports GB, read as 2^30 bytes).";
    INSTANCE_STORAGE_CAPACITY = "dms_instance_storage_capacity_bytes", Gauge, B,
        ["engine", "instance_id"],
        "GET /v2/{project_id}/instances (total_storage_space)",
        "Message storage purchased, in bytes (total_storage_space; the API reports GB, read as 2^30 bytes).";
    INSTANCE_BROKERS = "dms_instance_brokers", Gauge, None,
        ["engine", "instance_id"],
        "GET /v2/{project_id}/instances (broker_num, else node_num)",
        "Number of brokers (nodes) of the instance.";
    INSTANCE_CREATED = "dms_instance_created_timestamp_seconds", Gauge, S,
        ["engine", "instance_id"],
        "GET /v2/{project_id}/instances (created_at)",
        "When the instance was created, as a Unix timestamp.";
    INSTANCE_MAINTENANCE_WINDOW_INFO = "dms_instance_maintenance_window_info", Info, None,
        ["engine", "instance_id", "begin", "end"],
        "GET /v2/{project_id}/instances (maintain_begin, maintain_end)",
        "The instance's daily maintenance window (UTC, HH:mm:ss; V1 HH:mm normalised); always 1. The window may cross midnight (begin > end).";
    INSTANCE_MAINTENANCE_WINDOW_BEGIN = "dms_instance_maintenance_window_begin_seconds", Gauge, S,
        ["engine", "instance_id"],
        "GET /v2/{project_id}/instances (maintain_begin)",
        "When the instance's daily maintenance window begins, in seconds after midnight UTC (compare with time() % 86400).";
    INSTANCE_MAINTENANCE_WINDOW_END = "dms_instance_maintenance_window_end_seconds", Gauge, S,
        ["engine", "instance_id"],
        "GET /v2/{project_id}/instances (maintain_end)",
        "When the instance's daily maintenance window ends, in seconds after midnight UTC; below the begin when the window crosses midnight.";
}

pub static DESCRIPTION: Description = Description {
    name: "instances",
    scope: Scope::Project,
    priority: Priority::High,
    interval: Duration::from_secs(60),
    max_age: None,
    demo_interval: Duration::from_secs(10),
    apis: &["instances_list", "instances_list_v1"],
    options: &[],
    families: &[
        &INSTANCE_INFO,
        &INSTANCE_STATUS,
        &INSTANCE_STORAGE_USED,
        &INSTANCE_STORAGE_CAPACITY,
        &INSTANCE_BROKERS,
        &INSTANCE_CREATED,
        &INSTANCE_MAINTENANCE_WINDOW_INFO,
        &INSTANCE_MAINTENANCE_WINDOW_BEGIN,
        &INSTANCE_MAINTENANCE_WINDOW_END,
    ],
};

impl Collector for Instances {
    fn description(&self) -> &'static Description {
        &DESCRIPTION
    }

    fn discovers(&self) -> bool {
        true
    }
    fn collect<'a>(&'a self, cx: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>> {
        async move {
            let mut output = Output::default();
            let mut discovered = Vec::new();
            let mut complete = true;
            for engine in &cx.project.engines {
                match cx.client.list_instances(*engine).await {
                    Ok(mut instances) => {
                        self.keep_v2_fields(&cx.project.project_id, *engine, &mut instances);
                        let mut samples = Samples::default();
                        // Filtered instances are dropped here, so no collector reads them.
                        let owned = instances.iter().filter(|instance| {
                            self.sharding.owns(&instance.instance_id)
                                && cx.filters.instances.allows(
                                    &instance.name,
                                    &instance.enterprise_project_id,
                                    instance
                                        .tags
                                        .iter()
                                        .map(|t| (t.key.as_str(), t.value.as_str())),
                                )
                        });
                        for instance in owned {
                            instance_samples(cx, engine.as_str(), instance, &mut samples);
                            discovered.push(InstanceRef {
                                id: instance.instance_id.clone(),
                                engine: *engine,
                                status: instance.status.clone(),
                                enable_acl: instance.enable_acl,
                            });
                        }
                        output
                            .parts
                            .push((engine.as_str().to_owned(), Ok(samples.into())));
                    }
                    Err(error) => {
                        complete = false;
                        output.parts.push((engine.as_str().to_owned(), Err(error)));
                    }
                }
            }
            // A partial inventory would make the instances of the failed engine vanish.
            output.discovered = complete.then_some(discovered);
            Ok(output)
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::{seconds_of_day, status_label};

    #[test]
    fn maintenance_clocks_become_seconds_of_the_day() {
        assert_eq!(seconds_of_day("02:00:00"), Some(7200.0));
        assert_eq!(seconds_of_day("23:59:59"), Some(86_399.0));
        assert_eq!(seconds_of_day("24:00:00"), None);
        assert_eq!(seconds_of_day("02:00"), None);
        assert_eq!(seconds_of_day("xx:00:00"), None);
    }

    #[test]
    fn statuses_map_to_the_bounded_set() {
        assert_eq!(status_label("RUNNING"), "RUNNING");
        assert_eq!(status_label("Running"), "RUNNING");
        assert_eq!(status_label("Resizing failed"), "CHANGE_FAILED");
        assert_eq!(status_label("EXTENDEDFAILED"), "EXTENDEDFAILED");
        // RabbitMQ's documented wire values (rabbitmq.md §4.1), upper case as sent.
        for wire in [
            "CREATEFAILED",
            "EXTENDING",
            "RESTARTING",
            "ERROR",
            "CREATING",
        ] {
            assert_eq!(status_label(wire), wire);
        }
        assert_eq!(status_label("SOMETHING_NEW"), "UNKNOWN");
    }
}
