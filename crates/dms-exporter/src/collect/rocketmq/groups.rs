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
use crate::metrics::{Sample, Samples, catalog};

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
    samples.push(&catalog::ROCKETMQ_GROUPS, [id], total as f64);
    samples.push_some(
        &catalog::ROCKETMQ_GROUPS_LIMIT,
        [id],
        all.max.map(|v| v as f64),
    );
    samples.push_some(
        &catalog::ROCKETMQ_GROUPS_REMAINING,
        [id],
        all.remaining.map(|v| v as f64),
    );
    for group in all
        .items
        .iter()
        .filter(|g| cx.filters.groups.allows(&g.name))
    {
        let labels = [id, group.name.as_str()];
        samples.push_some(
            &catalog::ROCKETMQ_GROUP_ENABLED,
            labels,
            flag(group.enabled),
        );
        samples.push_some(
            &catalog::ROCKETMQ_GROUP_BROADCAST,
            labels,
            flag(group.broadcast),
        );
        samples.push_some(
            &catalog::ROCKETMQ_GROUP_RETRY_MAX,
            labels,
            group.retry_max_time.map(|v| v as f64),
        );
    }
    samples.into()
}

fn client_samples(id: &str, group: &str, clients: &GroupClients) -> Vec<Sample> {
    let mut samples = Samples::default();
    let count = clients.total.unwrap_or(clients.clients.len() as i64);
    samples.push(&catalog::ROCKETMQ_GROUP_CLIENTS, [id, group], count as f64);
    samples.push_some(
        &catalog::ROCKETMQ_GROUP_ONLINE,
        [id, group],
        flag(clients.online),
    );
    samples.into()
}

/// Part key of a group's clients (the list's part is `""`).
fn clients_key(group: &str) -> String {
    format!("clients/{group}")
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
        &catalog::ROCKETMQ_GROUPS,
        &catalog::ROCKETMQ_GROUPS_LIMIT,
        &catalog::ROCKETMQ_GROUPS_REMAINING,
        &catalog::ROCKETMQ_GROUP_ENABLED,
        &catalog::ROCKETMQ_GROUP_BROADCAST,
        &catalog::ROCKETMQ_GROUP_RETRY_MAX,
        &catalog::ROCKETMQ_GROUP_CLIENTS,
        &catalog::ROCKETMQ_GROUP_ONLINE,
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
