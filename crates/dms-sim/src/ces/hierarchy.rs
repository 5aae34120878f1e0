//! `GET /v2/{project_id}/instances/{instance_id}/ces-hierarchy` (DMS, every engine): the
//! dimension levels of the catalogue (`dim_router`: the dimension names in order;
//! `key_name`: the lists below that supply their values) and those lists, from the fleet as
//! it is now (a deleted topic is gone at once; CES itself keeps its series for hours).
//! Field names and types follow the Huawei SDKs' `ShowCesHierarchyResponse` of each engine.

use serde_json::{Value, json};

use super::catalogue::{self, Level};
use super::observe::{monitored, rabbitmq_nodes};
use crate::fleet::Fleet;

/// The answer for an instance of any engine; `None` if the project has no such instance.
pub(crate) fn answer(fleet: &Fleet, project_id: &str, instance_id: &str) -> Option<Value> {
    if let Some(instance) = fleet.instances.get(instance_id) {
        return (instance.project_id == project_id).then(|| kafka(instance));
    }
    if let Some(instance) = fleet.rocketmq.get(instance_id) {
        return (instance.project_id == project_id).then(|| rocketmq(instance));
    }
    let instance = fleet.rabbitmq.get(instance_id)?;
    (instance.project_id == project_id).then(|| rabbitmq(instance))
}

fn level_json(level: &Level, children: Vec<Value>) -> Value {
    let mut value = json!({
        "name": level.name,
        "metrics": level.metrics.iter().map(|m| m.name).collect::<Vec<_>>(),
        "key_name": level.key_name,
        "dim_router": level.dim_router,
    });
    // The seed's example leaves `children` out of levels that have none.
    if !children.is_empty()
        && let Some(map) = value.as_object_mut()
    {
        map.insert("children".to_owned(), Value::Array(children));
    }
    value
}

/// The top-level levels, each with its children.
fn dimensions(levels: &[Level]) -> Vec<Value> {
    levels
        .iter()
        .filter(|level| level.parent.is_none())
        .map(|level| {
            let children = levels
                .iter()
                .filter(|child| child.parent == Some(level.name))
                .map(|child| level_json(child, Vec::new()))
                .collect();
            level_json(level, children)
        })
        .collect()
}

fn named(name: &str) -> Value {
    json!({ "name": name })
}

fn kafka(instance: &crate::kafka::Instance) -> Value {
    let partitions = |ids: &mut dyn Iterator<Item = u32>| -> Vec<Value> {
        ids.map(|p| named(&p.to_string())).collect()
    };
    let queues: Vec<Value> = instance
        .topics
        .values()
        .filter(|t| !t.internal && monitored(&t.name))
        .map(|t| {
            json!({
                "name": t.name,
                "partitions": partitions(&mut t.partitions.iter().map(|p| p.id)),
            })
        })
        .collect();
    let groups: Vec<Value> = instance
        .groups
        .iter()
        .filter(|(name, _)| monitored(name))
        .map(|(name, group)| {
            let mut topics: Vec<&str> = group
                .committed
                .keys()
                .map(|(topic, _)| topic.as_str())
                .filter(|topic| monitored(topic))
                .collect();
            topics.dedup();
            let queues: Vec<Value> = topics
                .iter()
                .map(|topic| {
                    let mut ids = group
                        .committed
                        .keys()
                        .filter(|(t, _)| t == topic)
                        .map(|(_, p)| *p);
                    json!({ "name": topic, "partitions": partitions(&mut ids) })
                })
                .collect();
            json!({ "name": name, "queues": queues })
        })
        .collect();
    json!({
        "dimensions": dimensions(catalogue::KAFKA),
        "instance_ids": [named(&instance.id)],
        "nodes": instance.brokers.iter().map(|b| named(&format!("broker-{}", b.id))).collect::<Vec<_>>(),
        "queues": queues,
        "groups": groups,
    })
}

/// The zone the simulated RocketMQ instances show (their DMS answers' `available_zones`).
const ROCKETMQ_ZONE: &str = "9f1c5806706d4c1fb0eb72f0a9b18c77";

fn rocketmq(instance: &crate::rocketmq::Instance) -> Value {
    let groups: Vec<Value> = instance
        .groups
        .iter()
        .filter(|(name, _)| monitored(name))
        .map(|(name, group)| {
            let topics: Vec<Value> = group
                .topics
                .iter()
                .filter(|t| monitored(t))
                .map(|t| named(t))
                .collect();
            json!({ "name": name, "topics": topics })
        })
        .collect();
    json!({
        "dimensions": dimensions(catalogue::ROCKETMQ),
        "instance_ids": [named(&instance.id)],
        "nodes": instance
            .brokers
            .iter()
            .map(|b| json!({ "name": b, "available_zone": ROCKETMQ_ZONE }))
            .collect::<Vec<_>>(),
        "topics": instance.topics.keys().filter(|t| monitored(t)).map(|t| named(t)).collect::<Vec<_>>(),
        "dlq": instance
            .groups
            .keys()
            .filter(|g| monitored(g))
            .map(|g| named(&super::observe::dead_letter_topic(g)))
            .collect::<Vec<_>>(),
        "groups": groups,
    })
}

fn rabbitmq(instance: &crate::rabbitmq::Instance) -> Value {
    let vhosts = &instance.depth.vhosts;
    let in_vhosts = |list: &dyn Fn(&str, &crate::rabbitmq::depth::Vhost) -> Vec<String>| {
        vhosts
            .iter()
            .flat_map(|(vhost, v)| {
                list(vhost, v)
                    .into_iter()
                    .map(move |name| json!({ "name": name, "vhost": vhost }))
            })
            .collect::<Vec<_>>()
    };
    json!({
        "dimensions": dimensions(catalogue::RABBITMQ),
        "instance_ids": [named(&instance.id)],
        "nodes": rabbitmq_nodes(instance)
            .iter()
            .map(|n| json!({ "name": n, "available_zone": instance.az }))
            .collect::<Vec<_>>(),
        "queues": in_vhosts(&|_, v| v.queues.keys().cloned().collect()),
        "vhosts": vhosts.keys().map(|v| named(v)).collect::<Vec<_>>(),
        "exchanges": in_vhosts(&|_, v| v.exchanges.iter().map(|e| e.name.clone()).collect()),
        "groups": [],
    })
}
