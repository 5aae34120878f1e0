//! The JSON of every RocketMQ endpoint, field for field and type for type as the documented
//! examples (`fixtures/api/rocketmq`; `sdk_*` for the endpoints only the Huawei SDK has).

use serde_json::{Value, json};

use super::{Group, Instance};
use crate::endpoints::Endpoint;
use crate::error::ApiError;
use crate::query::{first, page, parse_number};
use crate::wire::iso_ms;

const USER_NAME: &str = "paas_dms";

fn group_not_found() -> ApiError {
    ApiError::dms(
        404,
        "DMS.10240405",
        "The consumption group ID is incorrect or not found.",
    )
}

fn topic_not_found() -> ApiError {
    ApiError::dms(404, "DMS.00404001", "The requested URL does not exist.")
}

/// `next_offset`/`previous_offset` as the examples give them: -1 when there is none.
fn neighbours(offset: usize, limit: usize, total: usize) -> (i64, i64) {
    let as_i64 = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let next = if offset + limit < total {
        as_i64(offset + limit)
    } else {
        -1
    };
    let previous = if offset > 0 {
        as_i64(offset.saturating_sub(limit))
    } else {
        -1
    };
    (next, previous)
}

impl Instance {
    /// `ShowInstanceResp` (instance list and detail): the 51 documented fields with their
    /// documented types (`created_at` a numeric string, `support_features` a string).
    pub(crate) fn show(&self) -> Value {
        let brokers = self.brokers.len();
        let mut object = json!({
            "name": self.name,
            "engine": "reliability",
            "status": self.status,
            "description": "",
            "type": "cluster",
            "specification": format!("c6.4u8g.cluster * {brokers} broker"),
            "engine_version": "4.8.0",
            "instance_id": self.id,
            "charging_mode": 1,
            "vpc_id": self.vpc_id,
            "vpc_name": format!("vpc-{}", &self.vpc_id[..8]),
            "created_at": self.created_at_ms.to_string(),
            "product_id": "c6.4u8g.cluster",
            "security_group_id": self.security_group_id,
            "security_group_name": "Sys-default",
            "subnet_id": self.subnet_id,
            "subnet_name": "subnet-rocketmq",
            "subnet_cidr": format!("192.168.{}.0/24", self.octet),
            "available_zones": ["9f1c5806706d4c1fb0eb72f0a9b18c77"],
            "user_id": self.user_id,
            "user_name": "",
            "maintain_begin": "02:00:00",
            "maintain_end": "06:00:00",
            "enable_log_collection": false,
        });
        // Two literals: one would exceed `json!`'s recursion limit.
        let rest = json!({
            "storage_space": self.storage_gb * 93 / 100,
            "used_storage_space": self.used_storage_gb(),
            "enable_publicip": false,
            "publicip_id": "",
            "publicip_address": "",
            "ssl_enable": false,
            "cross_vpc_info": "{}",
            "storage_resource_id": self.subnet_id,
            "storage_spec_code": "dms.physical.storage.ultra.v2",
            "service_type": "advanced",
            "storage_type": "hec",
            "extend_times": 0,
            "ipv6_enable": false,
            "support_features": "rocketmq.acl,message_trace_enable,features.log.collection",
            "disk_encrypted": false,
            "ces_version": "linux,v1,v2",
            "node_num": 3 * brokers + 2,
            "new_spec_billing_enable": true,
            "enable_acl": self.enable_acl,
            "broker_num": brokers,
            "namesrv_address": format!("192.168.{}.21:8100", self.octet),
            "broker_address": format!("192.168.{}.22:10100", self.octet),
            "public_namesrv_address": "",
            "public_broker_address": "",
            "tags": self.tags_json(),
            "total_storage_space": self.storage_gb,
            "resource_spec_code": "",
        });
        if let (Some(map), Value::Object(rest)) = (object.as_object_mut(), rest) {
            map.extend(rest);
        }
        object
    }

    /// The V1 instance object (RocketMQ has no V1 API of its own; the V2 object is served).
    pub(crate) fn show_v1(&self) -> Value {
        self.show()
    }

    fn tags_json(&self) -> Vec<Value> {
        self.tags
            .iter()
            .map(|(k, v)| json!({ "key": k, "value": v }))
            .collect()
    }

    fn brokers_json(&self) -> Value {
        let brokers: Vec<Value> = self
            .brokers
            .iter()
            .map(|name| json!({ "ids": [0, 1, 2], "broker_name": name }))
            .collect();
        json!({ "brokers": brokers })
    }

    fn group_json(name: &str, group: &Group, brokers: &[String]) -> Value {
        json!({
            "enabled": group.enabled,
            "broadcast": group.broadcast,
            "brokers": brokers,
            "name": name,
            "retry_max_time": group.retry_max_time,
            "from_beginning": group.from_beginning,
        })
    }

    fn groups_list(&self, offset: usize, limit: usize, filter: Option<&str>) -> Value {
        let matching: Vec<(&String, &Group)> = self
            .groups
            .iter()
            .filter(|(name, _)| filter.is_none_or(|f| name.contains(f)))
            .collect();
        let total = matching.len();
        let groups: Vec<Value> = matching
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|(name, g)| Self::group_json(name, g, &self.brokers))
            .collect();
        let (next, previous) = neighbours(offset, limit, total);
        let max = 4000 * self.brokers.len();
        json!({
            "total": total,
            "groups": groups,
            "max": max,
            "remaining": max - self.groups.len(),
            "next_offset": next,
            "previous_offset": previous,
        })
    }

    fn group_detail(&self, name: &str) -> Option<Value> {
        let group = self.groups.get(name)?;
        Some(json!({
            "name": name,
            "enabled": group.enabled,
            "broadcast": group.broadcast,
            "brokers": self.brokers,
            "permissions": [],
            "retry_max_time": group.retry_max_time,
            "app_id": null,
            "app_name": null,
        }))
    }

    /// §2.6: without `topic`, the consumed topics (paged); with it, per-queue consumption.
    fn group_topics(&self, name: &str, query: &[(String, String)]) -> Result<Value, ApiError> {
        let group = self.groups.get(name).ok_or_else(group_not_found)?;
        let (offset, limit) = page(query)?;
        let Some(topic) = first(query, "topic") else {
            let topics: Vec<&String> = group.topics.iter().skip(offset).take(limit).collect();
            return Ok(json!({ "topics": topics, "total": group.topics.len() }));
        };
        if !group.topics.iter().any(|t| t == topic) {
            return Err(topic_not_found());
        }
        let t = self.topics.get(topic).ok_or_else(topic_not_found)?;
        let brokers: Vec<Value> = self
            .brokers
            .iter()
            .enumerate()
            .map(|(b, broker_name)| {
                let queues: Vec<Value> = (0..t.queues_per_broker)
                    .filter_map(|q| {
                        let queue = t.queues.get(&(b, q))?;
                        let c = group.committed.get(&(topic.to_owned(), b, q))?;
                        let lag = queue.max_offset.saturating_sub(c.offset);
                        Some(json!({
                            "id": q,
                            "lag": lag,
                            "broker_offset": queue.max_offset,
                            "consumer_offset": queue.max_offset - lag,
                            "last_message_time": queue.consumed_ms(c.offset),
                        }))
                    })
                    .collect();
                json!({ "queues": queues, "broker_name": broker_name })
            })
            .collect();
        Ok(json!({ "brokers": brokers }))
    }

    /// SDK `ShowConsumerConnections`: consumers are online while the group runs.
    fn group_clients(&self, name: &str, query: &[(String, String)]) -> Result<Value, ApiError> {
        let group = self.groups.get(name).ok_or_else(group_not_found)?;
        let (offset, limit) = page(query)?;
        let online: Vec<&String> = if group.running {
            group.clients.iter().collect()
        } else {
            Vec::new()
        };
        let total = online.len();
        let clients: Vec<Value> = online
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|id| {
                let addr = id.split('@').next().unwrap_or_default();
                json!({
                    "language": "JAVA",
                    "version": "V4_9_4",
                    "client_id": id,
                    "client_addr": format!("{addr}:53424"),
                    "subscriptions": group.topics.iter().map(|t| json!({
                        "topic": t, "type": "TAG", "expression": "*",
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let (next, previous) = neighbours(offset, limit, total);
        Ok(json!({
            "group_name": name,
            "online": total > 0,
            "subscription_consistency": true,
            "total": total,
            "next_offset": next,
            "previous_offset": previous,
            "clients": clients,
        }))
    }

    fn topic_json(&self, name: &str) -> Option<Value> {
        let t = self.topics.get(name)?;
        let per_broker = t.queues_per_broker;
        let brokers: Vec<Value> = self
            .brokers
            .iter()
            .map(|b| json!({ "broker_name": b, "read_queue_num": per_broker, "write_queue_num": per_broker }))
            .collect();
        let total = per_broker * self.brokers.len();
        Some(json!({
            "name": name,
            "total_read_queue_num": total,
            "total_write_queue_num": total,
            "permission": "all",
            "brokers": brokers,
        }))
    }

    /// SDK `ListRocketInstanceTopics`, paged like the group list.
    fn topics_list(&self, offset: usize, limit: usize) -> Value {
        let total = self.topics.len();
        let topics: Vec<Value> = self
            .topics
            .keys()
            .skip(offset)
            .take(limit)
            .filter_map(|name| self.topic_json(name))
            .collect();
        let (next, previous) = neighbours(offset, limit, total);
        let max = 4000 * self.brokers.len();
        json!({
            "total": total,
            "max": max,
            "remaining": max - total,
            "next_offset": next,
            "previous_offset": previous,
            "topics": topics,
        })
    }

    /// §2.9. `brokers` is an object when the instance has one broker, as in the documented
    /// example, and an array otherwise, as the documented table says: clients meet both.
    fn topic_status(&self, name: &str) -> Option<Value> {
        let t = self.topics.get(name)?;
        let mut brokers: Vec<Value> = self
            .brokers
            .iter()
            .enumerate()
            .map(|(b, broker_name)| {
                let queues: Vec<Value> = (0..t.queues_per_broker)
                    .filter_map(|q| {
                        let queue = t.queues.get(&(b, q))?;
                        Some(json!({
                            "id": q,
                            "min_offset": queue.min_offset,
                            "max_offset": queue.max_offset,
                            "last_message_time": queue.newest_ms(),
                        }))
                    })
                    .collect();
                json!({ "queues": queues, "broker_name": broker_name })
            })
            .collect();
        let brokers = if brokers.len() == 1 {
            brokers.remove(0)
        } else {
            Value::Array(brokers)
        };
        Some(json!({ "brokers": brokers }))
    }

    fn topic_groups(&self, name: &str, offset: usize, limit: usize) -> Option<Value> {
        self.topics.get(name)?;
        let groups: Vec<&String> = self
            .groups
            .iter()
            .filter(|(_, g)| g.topics.iter().any(|t| t == name))
            .map(|(n, _)| n)
            .skip(offset)
            .take(limit)
            .collect();
        Some(json!({ "groups": groups }))
    }

    /// §2.13; an instance without ACL has no users.
    fn users_list(&self, offset: usize, limit: usize) -> Value {
        let users: Vec<Value> = self
            .users
            .iter()
            .skip(offset)
            .take(limit)
            .map(|u| {
                json!({
                    "access_key": u.access_key,
                    "admin": u.admin,
                    "default_group_perm": if u.admin { "PUB|SUB" } else { "DENY" },
                    "default_topic_perm": if u.admin { "PUB|SUB" } else { "SUB" },
                    "group_perms": [],
                    "secret_key": "*****",
                    "topic_perms": [],
                    "white_remote_address": "",
                })
            })
            .collect();
        json!({ "users": users, "total": self.users.len() })
    }

    fn task_json(&self, task: &super::Task) -> Value {
        json!({
            "id": task.id,
            "name": task.name,
            "user_name": USER_NAME,
            "user_id": self.user_id,
            "params": "{}",
            "status": task.status,
            "created_at": iso_ms(task.created_ms),
            "updated_at": iso_ms(task.updated_ms),
        })
    }

    /// SDK `ListBackgroundTasks` (same model as Kafka's R19): newest first, `task_count` a
    /// string.
    fn tasks_list(&self, start: usize, limit: usize) -> Value {
        let mut tasks: Vec<&super::Task> = self.tasks.iter().collect();
        tasks.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then(a.id.cmp(&b.id)));
        let page: Vec<Value> = tasks
            .iter()
            .skip(start.saturating_sub(1))
            .take(limit)
            .map(|t| self.task_json(t))
            .collect();
        json!({ "task_count": tasks.len().to_string(), "tasks": page })
    }
}

/// Answers an instance-scoped endpoint of this engine (`item` is the trailing path parameter).
pub(crate) fn dispatch(
    instance: &Instance,
    endpoint: Endpoint,
    item: &str,
    query: &[(String, String)],
) -> Result<Value, ApiError> {
    match endpoint {
        Endpoint::InstanceGet => Ok(instance.show()),
        Endpoint::InstanceGetV1 => Ok(instance.show_v1()),
        Endpoint::RocketmqBrokers => Ok(instance.brokers_json()),
        Endpoint::RocketmqGroups => {
            let (offset, limit) = page(query)?;
            Ok(instance.groups_list(offset, limit, first(query, "group")))
        }
        Endpoint::RocketmqGroup => instance.group_detail(item).ok_or_else(group_not_found),
        Endpoint::RocketmqGroupTopics => instance.group_topics(item, query),
        Endpoint::RocketmqGroupClients => instance.group_clients(item, query),
        Endpoint::RocketmqTopics => {
            let (offset, limit) = page(query)?;
            Ok(instance.topics_list(offset, limit))
        }
        Endpoint::RocketmqTopic => instance.topic_json(item).ok_or_else(topic_not_found),
        Endpoint::RocketmqTopicStatus => instance.topic_status(item).ok_or_else(topic_not_found),
        Endpoint::RocketmqTopicGroups => {
            let (offset, limit) = page(query)?;
            instance
                .topic_groups(item, offset, limit)
                .ok_or_else(topic_not_found)
        }
        Endpoint::RocketmqUsers => {
            let (offset, limit) = page(query)?;
            Ok(instance.users_list(offset, limit))
        }
        Endpoint::RocketmqTags => Ok(json!({ "tags": instance.tags_json() })),
        Endpoint::Tasks => {
            let start = parse_number(query, "start")?.unwrap_or(1).max(1);
            let limit = parse_number(query, "limit")?.unwrap_or(10).max(1);
            Ok(instance.tasks_list(start, limit))
        }
        Endpoint::TaskGet => {
            let task = instance
                .tasks
                .iter()
                .find(|t| t.id == item)
                .ok_or_else(ApiError::url_not_found)?;
            Ok(json!({ "task_count": "1", "tasks": [instance.task_json(task)] }))
        }
        _ => Err(ApiError::url_not_found()),
    }
}
