//! Consumer groups: count and quota, each group's configuration (from the list, no extra
//! call) and its consumer clients (the Huawei SDK's endpoint; one call per group, within
//! `rocketmq_detail_calls_limit`).

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::Engine;
use dms_cloud::dto::rocketmq::{AllGroups, GroupClients};
use dms_cloud::error::ApiError;

use crate::collect::rotation::Rotation;
use crate::collect::{Collector, Context, Description, Output, Priority, Scope};
use crate::metrics::catalog::families;
use crate::metrics::{Sample, Samples};

#[derive(Default)]
pub struct Groups {
    rotation: Rotation,
}

fn flag(value: Option<bool>) -> Option<f64> {
    value.map(|v| if v { 1.0 } else { 0.0 })
}

fn list_samples(id: &str, all: &AllGroups, cx: &Context<'_>) -> Vec<Sample> {
    let mut samples = Samples::default();
    // `total` counts every group; without it, what the pages held.
    let total = all.total.unwrap_or(all.items.len() as i64);
    samples.push(&ROCKETMQ_GROUPS, [id], total as f64);
    samples.push_some(&ROCKETMQ_GROUPS_LIMIT, [id], all.max.map(|v| v as f64));
    samples.push_some(
        &ROCKETMQ_GROUPS_REMAINING,
        [id],
        all.remaining.map(|v| v as f64),
    );
    for group in all
        .items
        .iter()
        .filter(|g| cx.filters.groups.allows(&g.name))
    {
        let labels = [id, group.name.as_str()];
        samples.push_some(&ROCKETMQ_GROUP_ENABLED, labels, flag(group.enabled));
        samples.push_some(&ROCKETMQ_GROUP_BROADCAST, labels, flag(group.broadcast));
        samples.push_some(
            &ROCKETMQ_GROUP_RETRY_MAX,
            labels,
            group.retry_max_time.map(|v| v as f64),
        );
    }
    samples.into()
}

fn client_samples(id: &str, group: &str, clients: &GroupClients) -> Vec<Sample> {
    let mut samples = Samples::default();
    let count = clients.total.unwrap_or(clients.clients.len() as i64);
    samples.push(&ROCKETMQ_GROUP_CLIENTS, [id, group], count as f64);
    samples.push_some(&ROCKETMQ_GROUP_ONLINE, [id, group], flag(clients.online));
    samples.into()
}

/// Part key of a group's clients (the list's part is `""`).
fn clients_key(group: &str) -> String {
    format!("clients/{group}")
}

families! {
    ROCKETMQ_GROUPS = "dms_rocketmq_consumergroups", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/groups (total)",
        "Number of consumer groups of the instance.";
    ROCKETMQ_GROUPS_LIMIT = "dms_rocketmq_consumergroups_limit", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/groups (max)",
        "Maximum number of consumer groups the instance allows.";
    ROCKETMQ_GROUPS_REMAINING = "dms_rocketmq_consumergroups_remaining", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/groups (remaining)",
        "Consumer groups that can still be created on the instance.";
    ROCKETMQ_GROUP_ENABLED = "dms_rocketmq_consumergroup_enabled", Gauge, None,
        ["instance_id", "group"],
        "GET /v2/{project_id}/instances/{instance_id}/groups",
        "1 if the group may consume (enabled), else 0.";
    ROCKETMQ_GROUP_BROADCAST = "dms_rocketmq_consumergroup_broadcast", Gauge, None,
        ["instance_id", "group"],
        "GET /v2/{project_id}/instances/{instance_id}/groups",
        "1 if the group consumes in broadcast mode, else 0.";
    ROCKETMQ_GROUP_RETRY_MAX = "dms_rocketmq_consumergroup_retry_max_times", Gauge, None,
        ["instance_id", "group"],
        "GET /v2/{project_id}/instances/{instance_id}/groups (retry_max_time)",
        "Maximum number of consumption retries of the group.";
    ROCKETMQ_GROUP_CLIENTS = "dms_rocketmq_consumergroup_clients", Gauge, None,
        ["instance_id", "group"],
        "GET /v2/rocketmq/{project_id}/instances/{instance_id}/groups/{group}/clients (Huawei SDK only, not in the API reference)",
        "Number of consumer clients connected to the group (total).";
    ROCKETMQ_GROUP_ONLINE = "dms_rocketmq_consumergroup_online", Gauge, None,
        ["instance_id", "group"],
        "GET /v2/rocketmq/{project_id}/instances/{instance_id}/groups/{group}/clients (Huawei SDK only, not in the API reference)",
        "1 if the group has online consumers (online), else 0.";
}

pub static DESCRIPTION: Description = Description {
    name: "rocketmq_groups",
    scope: Scope::Instance(Some(Engine::RocketMq)),
    priority: Priority::High,
    interval: Duration::from_secs(300),
    max_age: None,
    demo_interval: Duration::from_secs(15),
    apis: &["rocketmq_groups", "rocketmq_group_clients"],
    options: &[&super::DETAIL_CALLS_LIMIT.spec],
    families: &[
        &ROCKETMQ_GROUPS,
        &ROCKETMQ_GROUPS_LIMIT,
        &ROCKETMQ_GROUPS_REMAINING,
        &ROCKETMQ_GROUP_ENABLED,
        &ROCKETMQ_GROUP_BROADCAST,
        &ROCKETMQ_GROUP_RETRY_MAX,
        &ROCKETMQ_GROUP_CLIENTS,
        &ROCKETMQ_GROUP_ONLINE,
    ],
};

impl Collector for Groups {
    fn description(&self) -> &'static Description {
        &DESCRIPTION
    }

    fn collect<'a>(&'a self, cx: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>> {
        async move {
            let id = cx.instance().id.as_str();
            let all = cx.client.rocketmq_groups(id).await?;
            let mut output = Output::default();
            output
                .parts
                .push((String::new(), Ok(list_samples(id, &all, cx))));
            let names: Vec<String> = all
                .items
                .iter()
                .map(|g| g.name.clone())
                .filter(|name| cx.filters.groups.allows(name))
                .collect();
            self.rotation
                .read_turn(
                    cx,
                    names,
                    cx.settings.option(&super::DETAIL_CALLS_LIMIT),
                    |group| clients_key(group),
                    |group| async move {
                        let clients = cx.client.rocketmq_group_clients(id, &group).await?;
                        Ok(client_samples(id, &group, &clients))
                    },
                    &mut output,
                )
                .await;
            Ok(output)
        }
        .boxed()
    }
}
