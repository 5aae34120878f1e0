//! Background tasks: counts by status among the most recent, and info on the newest few.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::error::ApiError;

use super::registry::{Count, Opt};
use super::{
    Collector, Context, Description, InstanceRef, Output, Priority, Scope, normalise_state,
};
use crate::metrics::{Samples, catalog};

/// Statuses always listed in `dms_background_tasks` (0 when absent), so alerts see a value.
const TASK_STATUSES: &[&str] = &["EXECUTING", "SUCCESS", "FAILED"];

/// How many of the most recent tasks are read per instance.
pub static TASKS_LIMIT: Opt<Count> = Opt::count("tasks_limit", 50).within(1..=1000);
/// How many of those are exported as `dms_background_task_info`.
pub static TASKS_INFO_LIMIT: Opt<Count> = Opt::count("tasks_info_limit", 10).within(0..=1000);

pub struct Tasks;

pub static DESCRIPTION: Description = Description {
    name: "tasks",
    scope: Scope::Instance(None),
    priority: Priority::Normal,
    interval: Duration::from_secs(60),
    max_age: None,
    demo_interval: Duration::from_secs(10),
    apis: &["tasks"],
    options: &[&TASKS_LIMIT.spec, &TASKS_INFO_LIMIT.spec],
    families: &[
        &catalog::BACKGROUND_TASKS,
        &catalog::BACKGROUND_TASK_INFO,
        &catalog::BACKGROUND_TASK_CREATED,
    ],
};

impl Collector for Tasks {
    fn description(&self) -> &'static Description {
        &DESCRIPTION
    }

    fn wants(&self, _instance: &InstanceRef) -> bool {
        true
    }

    fn collect<'a>(&'a self, cx: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>> {
        async move {
            let instance = cx.instance();
            let engine = instance.engine.as_str();
            let mut tasks = cx
                .target
                .client
                .tasks(&instance.id, cx.settings.option(&TASKS_LIMIT))
                .await?
                .tasks;
            let mut by_status: BTreeMap<String, u64> =
                TASK_STATUSES.iter().map(|s| ((*s).to_owned(), 0)).collect();
            for task in &tasks {
                *by_status.entry(normalise_state(&task.status)).or_default() += 1;
            }
            let mut samples = Samples::default();
            for (status, count) in &by_status {
                samples.push(
                    &catalog::BACKGROUND_TASKS,
                    [engine, &instance.id, status],
                    *count as f64,
                );
            }
            // Newest first; ISO-8601 UTC strings of one format sort by time.
            tasks.sort_by(|a, b| {
                b.created_at
                    .cmp(&a.created_at)
                    .then_with(|| a.id.cmp(&b.id))
            });
            for task in tasks
                .iter()
                .take(usize::try_from(cx.settings.option(&TASKS_INFO_LIMIT)).unwrap_or(usize::MAX))
            {
                let status = normalise_state(&task.status);
                samples.push(
                    &catalog::BACKGROUND_TASK_INFO,
                    [engine, &instance.id, &task.id, &task.name, &status],
                    1.0,
                );
                if let Some(created) = task.created_at_unix() {
                    samples.push(
                        &catalog::BACKGROUND_TASK_CREATED,
                        [engine, &instance.id, &task.id],
                        created,
                    );
                }
            }
            Ok(Output::whole(samples.into()))
        }
        .boxed()
    }
}
