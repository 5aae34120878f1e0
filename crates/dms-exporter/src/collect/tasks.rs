//! Background tasks: counts by status among the most recent, and info on the newest few.

use std::collections::BTreeMap;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::error::ApiError;

use super::{Collector, Context, InstanceRef, Output, Priority, Scope, normalise_state};
use crate::metrics::{Samples, catalog};

/// Statuses always listed in `dms_background_tasks` (0 when absent), so alerts see a value.
const TASK_STATUSES: &[&str] = &["EXECUTING", "SUCCESS", "FAILED"];

pub struct Tasks;

impl Collector for Tasks {
    fn name(&self) -> &'static str {
        "tasks"
    }

    fn scope(&self) -> Scope {
        Scope::Instance(None)
    }

    fn priority(&self) -> Priority {
        Priority::Normal
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
                .tasks(&instance.id, cx.settings.tasks_limit)
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
            for task in tasks.iter().take(cx.settings.tasks_info_limit) {
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
