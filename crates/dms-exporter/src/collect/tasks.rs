//! Background tasks: counts by status among the most recent, and info on the newest few.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::dto::Task;
use dms_cloud::error::ApiError;

use super::registry::{Count, Opt};
use super::{
    Collector, Context, Description, InstanceRef, Output, Priority, Scope, normalise_state,
};
use crate::metrics::Samples;
use crate::metrics::catalog::{S, families};

/// Statuses always listed in `dms_background_tasks` (0 when absent), so alerts see a value.
const TASK_STATUSES: &[&str] = &["EXECUTING", "SUCCESS", "FAILED"];

/// How many of the most recent tasks are read per instance.
pub static TASKS_LIMIT: Opt<Count> = Opt::count("tasks_limit", 50).within(1..=1000);
/// How many of those are exported as `dms_background_task_info`.
pub static TASKS_INFO_LIMIT: Opt<Count> = Opt::count("tasks_info_limit", 10).within(0..=1000);

pub struct Tasks;

families! {
    BACKGROUND_TASKS = "dms_background_tasks", Gauge, None,
        ["engine", "instance_id", "status"],
        "GET /v2/{project_id}/instances/{instance_id}/tasks",
        "Number of recent background tasks by status, among the most recent tasks the exporter reads (tasks_limit).";
    BACKGROUND_TASK_INFO = "dms_background_task_info", Info, None,
        ["engine", "instance_id", "task_id", "task_name", "status"],
        "GET /v2/{project_id}/instances/{instance_id}/tasks",
        "One series per most recent background task (tasks_info_limit); always 1. The task's name is `task_name`, so `name` stays free for the instance name joined from dms_instance_info.";
    BACKGROUND_TASK_CREATED = "dms_background_task_created_timestamp_seconds", Gauge, S,
        ["engine", "instance_id", "task_id"],
        "GET /v2/{project_id}/instances/{instance_id}/tasks",
        "When the background task started, as a Unix timestamp.";
}

pub static DESCRIPTION: Description = Description {
    name: "tasks",
    enabled_by_default: true,
    scope: Scope::Instance(None),
    priority: Priority::Normal,
    interval: Duration::from_secs(60),
    max_age: None,
    demo_interval: Duration::from_secs(10),
    apis: &["tasks"],
    options: &[&TASKS_LIMIT.spec, &TASKS_INFO_LIMIT.spec],
    families: &[
        &BACKGROUND_TASKS,
        &BACKGROUND_TASK_INFO,
        &BACKGROUND_TASK_CREATED,
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
            let tasks = cx
                .client
                .tasks(&instance.id, cx.settings.option(&TASKS_LIMIT))
                .await?
                .tasks;
            let info_limit = cx.settings.option(&TASKS_INFO_LIMIT);
            let samples = samples(instance.engine.as_str(), &instance.id, tasks, info_limit);
            Ok(Output::whole(samples.into()))
        }
        .boxed()
    }
}

/// One instance's tasks as samples: counts by status, then the newest `info_limit` tasks.
fn samples(engine: &str, instance_id: &str, mut tasks: Vec<Task>, info_limit: u32) -> Samples {
    let mut by_status: BTreeMap<String, u64> =
        TASK_STATUSES.iter().map(|s| ((*s).to_owned(), 0)).collect();
    for task in &tasks {
        *by_status.entry(normalise_state(&task.status)).or_default() += 1;
    }
    let mut samples = Samples::default();
    for (status, count) in &by_status {
        samples.push(
            &BACKGROUND_TASKS,
            [engine, instance_id, status],
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
        .take(usize::try_from(info_limit).unwrap_or(usize::MAX))
    {
        let status = normalise_state(&task.status);
        samples.push(
            &BACKGROUND_TASK_INFO,
            [engine, instance_id, &task.id, &task.name, &status],
            1.0,
        );
        if let Some(created) = task.created_at_unix() {
            samples.push(
                &BACKGROUND_TASK_CREATED,
                [engine, instance_id, &task.id],
                created,
            );
        }
    }
    samples
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::test_fixtures::{fixture, lines, parse};

    #[test]
    fn tasks_become_counts_by_status_and_the_newest_ones_info() {
        let kafka_counts = [
            r#"dms_background_tasks{engine="kafka",instance_id="i-1",status="EXECUTING"} 1"#,
            r#"dms_background_tasks{engine="kafka",instance_id="i-1",status="FAILED"} 0"#,
            r#"dms_background_tasks{engine="kafka",instance_id="i-1",status="SUCCESS"} 1"#,
        ];
        let newest = [
            r#"dms_background_task_info{engine="kafka",instance_id="i-1",task_id="8abfa7b372160bfd0172165864064079",task_name="modifyAutoTopic",status="EXECUTING"} 1"#,
            r#"dms_background_task_created_timestamp_seconds{engine="kafka",instance_id="i-1",task_id="8abfa7b372160bfd0172165864064079"} 1589512791.046"#,
        ];
        let older = [
            r#"dms_background_task_info{engine="kafka",instance_id="i-1",task_id="8abfa7b372160bfd017216560af83e6e",task_name="changeRetentionPolicy",status="SUCCESS"} 1"#,
            r#"dms_background_task_created_timestamp_seconds{engine="kafka",instance_id="i-1",task_id="8abfa7b372160bfd017216560af83e6e"} 1589512637.176"#,
        ];
        // (response, engine, tasks_info_limit, expected lines in order)
        let table = [
            // The example lists the newer task first; the order comes from created_at anyway.
            (fixture("kafka/R19_tasks.json"), "kafka", 10, [&kafka_counts[..], &newest, &older].concat()),
            (fixture("kafka/R19_tasks.json"), "kafka", 1, [&kafka_counts[..], &newest].concat()),
            (fixture("kafka/R19_tasks.json"), "kafka", 0, kafka_counts.to_vec()),
            (
                fixture("rabbitmq/R5_tasks.json"),
                "rabbitmq",
                10,
                vec![
                    r#"dms_background_tasks{engine="rabbitmq",instance_id="i-1",status="EXECUTING"} 0"#,
                    r#"dms_background_tasks{engine="rabbitmq",instance_id="i-1",status="FAILED"} 0"#,
                    r#"dms_background_tasks{engine="rabbitmq",instance_id="i-1",status="SUCCESS"} 1"#,
                    r#"dms_background_task_info{engine="rabbitmq",instance_id="i-1",task_id="ff80808272dcc90f0172df1e490f41b0",task_name="bindInstancePublicIp",status="SUCCESS"} 1"#,
                    r#"dms_background_task_created_timestamp_seconds{engine="rabbitmq",instance_id="i-1",task_id="ff80808272dcc90f0172df1e490f41b0"} 1592881203.471"#,
                ],
            ),
            // Any status spelling is normalised and counted; an unreadable time is no series.
            (
                r#"{"tasks": [{"id": "t", "name": "n", "status": "Creating failed", "created_at": "soon"}]}"#.to_owned(),
                "rocketmq",
                10,
                vec![
                    r#"dms_background_tasks{engine="rocketmq",instance_id="i-1",status="CREATING_FAILED"} 1"#,
                    r#"dms_background_tasks{engine="rocketmq",instance_id="i-1",status="EXECUTING"} 0"#,
                    r#"dms_background_tasks{engine="rocketmq",instance_id="i-1",status="FAILED"} 0"#,
                    r#"dms_background_tasks{engine="rocketmq",instance_id="i-1",status="SUCCESS"} 0"#,
                    r#"dms_background_task_info{engine="rocketmq",instance_id="i-1",task_id="t",task_name="n",status="CREATING_FAILED"} 1"#,
                ],
            ),
        ];
        for (body, engine, info_limit, expected) in table {
            let tasks: dms_cloud::dto::Tasks = parse(&body);
            assert_eq!(
                lines(samples(engine, "i-1", tasks.tasks, info_limit)),
                expected,
                "{engine}, tasks_info_limit {info_limit}: {body}"
            );
        }
    }
}
