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
use crate::collect::settings::NameFilter;
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

/// The instance's group count and quota, and each group's configuration (the groups the
/// filter allows).
fn list_samples(id: &str, all: &AllGroups, groups: &NameFilter) -> Vec<Sample> {
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
    for group in all.items.iter().filter(|g| groups.allows(&g.name)) {
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

/// A group's connected clients and whether it is online.
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
    enabled_by_default: true,
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
            output.parts.push((
                String::new(),
                Ok(list_samples(id, &all, &cx.filters.groups)),
            ));
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

#[cfg(test)]
mod tests {
    use dms_cloud::dto::rocketmq::GroupList;

    use super::*;
    use crate::collect::test_fixtures::{fixture, lines, parse, single_page};

    #[test]
    fn the_group_list_becomes_counts_quota_and_configuration() {
        let everything = NameFilter::default();
        let no_tmp: NameFilter = parse(r#"{"exclude": "tmp-.*"}"#);
        // (one page of groups, group filter, expected lines in order)
        let table = [
            (
                fixture("rocketmq/groups.json"),
                &everything,
                vec![
                    r#"dms_rocketmq_consumergroups{instance_id="i-1"} 1"#,
                    r#"dms_rocketmq_consumergroups_limit{instance_id="i-1"} 4000"#,
                    r#"dms_rocketmq_consumergroups_remaining{instance_id="i-1"} 3999"#,
                    r#"dms_rocketmq_consumergroup_enabled{instance_id="i-1",group="aaaaa"} 1"#,
                    r#"dms_rocketmq_consumergroup_broadcast{instance_id="i-1",group="aaaaa"} 0"#,
                    r#"dms_rocketmq_consumergroup_retry_max_times{instance_id="i-1",group="aaaaa"} 16"#,
                ],
            ),
            // Without `total` the listed groups are counted, filtered ones too; no quota, no
            // series; strings are read; a group without a field has no series of it.
            (
                r#"{"groups": [{"name": "a", "enabled": "false"}, {"name": "b", "retry_max_time": "3"}, {"name": "tmp-x", "enabled": true}]}"#.to_owned(),
                &no_tmp,
                vec![
                    r#"dms_rocketmq_consumergroups{instance_id="i-1"} 3"#,
                    r#"dms_rocketmq_consumergroup_enabled{instance_id="i-1",group="a"} 0"#,
                    r#"dms_rocketmq_consumergroup_retry_max_times{instance_id="i-1",group="b"} 3"#,
                ],
            ),
            (
                r#"{"groups": null}"#.to_owned(),
                &everything,
                vec![r#"dms_rocketmq_consumergroups{instance_id="i-1"} 0"#],
            ),
        ];
        for (body, groups, expected) in table {
            let page: GroupList = parse(&body);
            let all = single_page(page.groups, page.total, page.max, page.remaining);
            assert_eq!(lines(list_samples("i-1", &all, groups)), expected, "{body}");
        }
    }

    #[test]
    fn a_group_s_clients_are_counted_and_its_online_flag_kept() {
        // (response, expected lines in order)
        let table = [
            (
                fixture("rocketmq/sdk_group_clients.json"),
                vec![
                    r#"dms_rocketmq_consumergroup_clients{instance_id="i-1",group="group-orders"} 1"#,
                    r#"dms_rocketmq_consumergroup_online{instance_id="i-1",group="group-orders"} 1"#,
                ],
            ),
            // Without `total` the listed clients are counted.
            (
                r#"{"online": false, "clients": [{"client_id": "x"}, {"client_id": "y"}]}"#
                    .to_owned(),
                vec![
                    r#"dms_rocketmq_consumergroup_clients{instance_id="i-1",group="group-orders"} 2"#,
                    r#"dms_rocketmq_consumergroup_online{instance_id="i-1",group="group-orders"} 0"#,
                ],
            ),
            (
                "{}".to_owned(),
                vec![
                    r#"dms_rocketmq_consumergroup_clients{instance_id="i-1",group="group-orders"} 0"#,
                ],
            ),
        ];
        for (body, expected) in table {
            let clients: GroupClients = parse(&body);
            assert_eq!(
                lines(client_samples("i-1", "group-orders", &clients)),
                expected,
                "{body}"
            );
        }
    }
}
