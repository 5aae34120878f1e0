//! The JSON of every Kafka endpoint, with the documented names and types, and the dispatch
//! of a Kafka route to it.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{Account, Group, Instance, Partition, Task};
use crate::endpoints::Endpoint;
use crate::error::ApiError;
use crate::query::{TaskQuery, first, page, parse_number, task_query};
use crate::wire::iso_ms;

pub(crate) const GIB: u64 = 1 << 30;

const SUPPORT_FEATURES: &str = "feature.physerver.kafka.topic.accesspolicy,message_trace_enable,features.pod.token.access,feature.physerver.kafka.pulbic.dynamic,feature.physerver.kafka.user.manager";

/// A `du -h`-style size with powers of 1024: `"8.0K"`, `"12K"`, `"53M"`, `"66G"`; `"0"` for 0.
pub(crate) fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["K", "M", "G", "T", "P"];
    if bytes == 0 {
        return "0".to_owned();
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if value < 10.0 {
        let rounded = (value * 10.0).ceil() / 10.0;
        if rounded < 10.0 {
            return format!("{rounded:.1}{}", UNITS[unit]);
        }
    }
    format!("{:.0}{}", value.ceil(), UNITS[unit])
}

/// Parses `1G`, `512M`, `8.0K`, `100` (bytes), case-insensitive, optional trailing `B`.
pub(crate) fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim().to_ascii_uppercase();
    let text = text.strip_suffix('B').unwrap_or(&text);
    let (number, factor) = match text.chars().last()? {
        'K' => (&text[..text.len() - 1], 1u64 << 10),
        'M' => (&text[..text.len() - 1], 1 << 20),
        'G' => (&text[..text.len() - 1], 1 << 30),
        'T' => (&text[..text.len() - 1], 1 << 40),
        _ => (text, 1),
    };
    let value: f64 = number.parse().ok()?;
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    Some((value * factor as f64) as u64)
}

fn obj(pairs: Vec<(&str, Value)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect::<Map<String, Value>>(),
    )
}

/// Query options of the disk-usage endpoint (R6).
pub(crate) struct DiskQuery {
    pub min_size: u64,
    pub top: Option<usize>,
    pub percentage: Option<f64>,
}

impl Instance {
    /// One address per broker, `{prefix}.{octet}.{10 + broker}`, with `:port` when given.
    fn broker_addresses(&self, prefix: &str, port: Option<u16>) -> String {
        self.brokers
            .iter()
            .map(|b| {
                let host = format!("{prefix}.{}.{}", self.octet, 10 + b.id);
                port.map_or(host.clone(), |port| format!("{host}:{port}"))
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    fn addresses(&self, port: u16) -> String {
        self.broker_addresses("192.168", Some(port))
    }

    fn ips(&self) -> String {
        self.broker_addresses("192.168", None)
    }

    fn public_addresses(&self) -> String {
        self.broker_addresses("100.85", Some(9094))
    }

    fn tags_json(&self) -> Value {
        Value::Array(
            self.tags
                .iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect(),
        )
    }

    /// `ShowInstanceResp` (§2.1.1), every documented field with its documented type.
    pub(crate) fn show(&self, account: &Account) -> Value {
        let total = self.total_storage_gb();
        let public_bandwidth = if self.public { 100 } else { 0 };
        let n = self.brokers.len();
        let mut fields = vec![
            ("name", json!(self.name)),
            ("engine", json!("kafka")),
            ("engine_version", json!(self.engine_version)),
            ("description", json!("")),
            ("specification", json!(self.specification)),
            ("storage_space", json!(total * 82 / 100)),
            ("partition_num", json!(self.partition_limit.to_string())),
            ("used_storage_space", json!(self.used_storage_gb())),
            ("connect_address", json!(self.ips())),
            ("port", json!(9092)),
            ("status", json!(self.status)),
            ("instance_id", json!(self.id)),
            (
                "resource_spec_code",
                json!("dms.instance.kafka.cluster.c3.mini"),
            ),
            ("charging_mode", json!(1)),
            ("vpc_id", json!(self.vpc_id)),
            ("vpc_name", json!(format!("vpc-{}", self.region))),
            ("created_at", json!(self.created_at_ms.to_string())),
            ("subnet_name", json!(format!("subnet-{}", self.octet))),
            ("subnet_cidr", json!(format!("192.168.{}.0/24", self.octet))),
            ("user_id", json!(account.user_id)),
            ("user_name", json!(account.user_name)),
            ("access_user", json!("")),
            ("order_id", json!("")),
            ("maintain_begin", json!("02:00:00")),
            ("maintain_end", json!("06:00:00")),
            ("enable_publicip", json!(self.public)),
            (
                "management_connect_address",
                json!(format!("https://192.168.{}.10:9999", self.octet)),
            ),
            ("ssl_enable", json!(false)),
            ("kafka_security_protocol", json!("SASL_SSL")),
            ("sasl_enabled_mechanisms", json!(["PLAIN"])),
            ("ssl_two_way_enable", json!(false)),
            ("cert_replaced", json!(false)),
            ("public_management_connect_address", json!("")),
            ("enterprise_project_id", json!("0")),
            ("is_logical_volume", json!(true)),
            ("extend_times", json!(0)),
            ("enable_auto_topic", json!(false)),
            ("type", json!("cluster")),
            ("product_id", json!(self.specification)),
            ("security_group_id", json!(self.security_group_id)),
            ("security_group_name", json!("sg-kafka")),
            ("subnet_id", json!(self.subnet_id)),
            ("available_zones", json!([self.available_zone])),
            ("total_storage_space", json!(total)),
            ("storage_resource_id", json!(self.storage_resource_id)),
            ("storage_spec_code", json!("dms.physical.storage.ultra.v2")),
            ("service_type", json!("advanced")),
            ("storage_type", json!("hec")),
            ("retention_policy", json!("produce_reject")),
            ("kafka_public_status", json!(self.public.to_string())),
            ("public_bandwidth", json!(public_bandwidth)),
            ("kafka_manager_enable", json!(false)),
            ("kafka_manager_user", json!("")),
            ("enable_log_collection", json!(false)),
            ("cross_vpc_info", json!("")),
            ("ipv6_enable", json!(false)),
            ("ipv6_connect_addresses", json!([])),
            ("connector_enable", json!(false)),
            ("connector_id", json!("")),
            ("rest_enable", json!(false)),
            ("rest_connect_address", json!("")),
            ("public_bound_width", json!(public_bandwidth)),
            ("message_query_inst_enable", json!(true)),
            ("vpc_client_plain", json!(false)),
            ("support_features", json!(SUPPORT_FEATURES)),
            ("trace_enable", json!(false)),
            ("agent_enable", json!(false)),
            ("pod_connect_address", json!("")),
            ("disk_encrypted", json!(false)),
            ("disk_encrypted_key", json!("")),
            ("kafka_private_connect_address", json!(self.addresses(9092))),
            ("ces_version", json!("linux,v1,v2")),
            (
                "public_access_enabled",
                json!(if self.public { "true" } else { "false" }),
            ),
            ("node_num", json!(n)),
            ("enable_acl", json!(false)),
            ("new_spec_billing_enable", json!(true)),
            ("broker_num", json!(n)),
            ("tags", self.tags_json()),
            ("dr_enable", json!(false)),
        ];
        if self.public {
            // Documented as present only when public access is enabled.
            fields.push(("public_connect_address", json!(self.public_addresses())));
        }
        obj(fields)
    }

    /// The V1 instance object (R27/R28 examples).
    pub(crate) fn show_v1(&self, account: &Account) -> Value {
        let total = self.total_storage_gb();
        let mut fields = vec![
            ("name", json!(self.name)),
            ("engine", json!("kafka")),
            ("port", json!(9092)),
            ("status", json!(self.status)),
            ("type", json!("cluster")),
            ("specification", json!("100MB")),
            ("engine_version", json!(self.engine_version)),
            ("connect_address", json!(self.ips())),
            ("connect_dn", json!("")),
            ("instance_id", json!(self.id)),
            (
                "resource_spec_code",
                json!("dms.instance.kafka.cluster.c3.mini"),
            ),
            ("charging_mode", json!(1)),
            ("vpc_id", json!(self.vpc_id)),
            ("vpc_name", json!(format!("vpc-{}", self.region))),
            ("created_at", json!(self.created_at_ms.to_string())),
            ("product_id", json!("00300-30308-0--0")),
            ("security_group_id", json!(self.security_group_id)),
            ("security_group_name", json!("sg-kafka")),
            ("subnet_id", json!(self.subnet_id)),
            ("subnet_name", json!(format!("subnet-{}", self.octet))),
            ("subnet_cidr", json!(format!("192.168.{}.0/24", self.octet))),
            ("available_zones", json!([self.available_zone])),
            ("user_id", json!(account.user_id)),
            ("user_name", json!(account.user_name)),
            ("access_user", json!("")),
            ("kafka_manager_user", json!("")),
            ("maintain_begin", json!("02:00:00")),
            ("maintain_end", json!("06:00:00")),
            ("storage_space", json!(total * 82 / 100)),
            ("total_storage_space", json!(total)),
            ("used_storage_space", json!(self.used_storage_gb())),
            ("partition_num", json!(self.partition_limit.to_string())),
            ("enable_publicip", json!(self.public)),
            ("ssl_enable", json!(false)),
            (
                "management_connect_address",
                json!(format!("https://192.168.{}.10:9999", self.octet)),
            ),
            ("storage_resource_id", json!(self.storage_resource_id)),
            ("storage_spec_code", json!("dms.physical.storage.ultra")),
            ("service_type", json!("advanced")),
            ("storage_type", json!("hec")),
            ("enterprise_project_id", json!("0")),
            ("is_logical_volume", json!(true)),
            ("extend_times", json!(0)),
            ("retention_policy", json!("produce_reject")),
            ("kafka_public_status", json!(self.public.to_string())),
            ("public_bandwidth", json!(if self.public { 100 } else { 0 })),
            ("ipv6_enable", json!(false)),
            ("ipv6_connect_addresses", json!([])),
            ("connector_enable", json!(false)),
            ("connector_id", json!("")),
            ("rest_enable", json!(false)),
            ("rest_connect_address", json!("")),
            ("message_query_inst_enable", json!(true)),
            ("vpc_client_plain", json!(false)),
            ("support_features", json!(SUPPORT_FEATURES)),
            ("trace_enable", json!(false)),
            ("agent_enable", json!(false)),
            ("pod_connect_address", json!("")),
            ("disk_encrypted", json!(false)),
            ("enable_auto_topic", json!(false)),
        ];
        if self.public {
            fields.push(("public_connect_address", json!(self.public_addresses())));
        }
        obj(fields)
    }

    fn partition_leader(&self, p: &Partition) -> Option<u32> {
        p.replicas.first().copied().filter(|b| self.broker_up(*b))
    }

    /// R3.
    pub(crate) fn cluster(&self) -> Value {
        let version = if self.engine_version == "2.7" {
            "2.7.2"
        } else {
            "3.4.0"
        };
        let brokers: Vec<Value> = self
            .brokers
            .iter()
            .map(|b| {
                json!({
                    "host": format!("192.168.{}.{}", self.octet, 10 + b.id),
                    "port": 9093,
                    "broker_id": b.id.to_string(),
                    "is_controller": b.id == self.controller,
                    "version": version,
                    "register_time": b.register_time,
                    "is_health": b.up,
                })
            })
            .collect();
        let partitions: Vec<&Partition> =
            self.topics.values().flat_map(|t| &t.partitions).collect();
        let online = partitions
            .iter()
            .filter(|p| self.partition_leader(p).is_some())
            .count();
        let replicas: usize = partitions.iter().map(|p| p.replicas.len()).sum();
        let isr: usize = partitions
            .iter()
            .map(|p| p.replicas.iter().filter(|b| self.broker_up(**b)).count())
            .sum();
        json!({
            "cluster": {
                "controller": self.controller.to_string(),
                "brokers": brokers,
                "topics_count": self.topics.len(),
                "partitions_count": partitions.len(),
                "online_partitions_count": online,
                "replicas_count": replicas,
                "isr_replicas_count": isr,
                "consumers_count": self.groups.len(),
            }
        })
    }

    /// R10. Uses the documented schema names (`total`, `topics[].name`, real booleans); the
    /// vendor example instead shows `count`, `id` and `"false"` strings — clients accept both.
    pub(crate) fn topics_list(&self) -> Value {
        let topics: Vec<Value> = self
            .topics
            .values()
            .map(|t| {
                json!({
                    "policiesOnly": false,
                    "name": t.name,
                    "replication": t.partitions.first().map_or(0, |p| p.replicas.len()),
                    "partition": t.partitions.len(),
                    "retention_time": t.retention_hours,
                    "sync_replication": false,
                    "sync_message_flush": false,
                    "assign_partition": false,
                    "external_configs": {},
                    "topic_type": if t.internal { 1 } else { 0 },
                    "topic_other_configs": [
                        {
                            "name": "max.message.bytes",
                            "valid_values": "[0...10485760]",
                            "default_value": "10485760",
                            "config_type": "dynamic",
                            "value": "10485760",
                            "value_type": "int"
                        },
                        {
                            "name": "message.timestamp.type",
                            "valid_values": "[CreateTime, LogAppendTime]",
                            "default_value": "LogAppendTime",
                            "config_type": "dynamic",
                            "value": "LogAppendTime",
                            "value_type": "string"
                        }
                    ],
                    "topic_desc": if t.internal { String::new() } else { format!("{} events", t.name) },
                    "created_at": t.created_at_ms,
                })
            })
            .collect();
        let used: u64 = self
            .topics
            .values()
            .filter(|t| !t.internal)
            .map(|t| t.partitions.len() as u64)
            .sum();
        json!({
            "total": self.topics.len(),
            "size": topics.len(),
            "remain_partitions": self.partition_limit.saturating_sub(used),
            "max_partitions": self.partition_limit,
            "topics": topics,
        })
    }

    /// R11; `None` if the topic does not exist.
    pub(crate) fn topic_detail(&self, topic: &str) -> Option<Value> {
        let t = self.topics.get(topic)?;
        let partitions: Vec<Value> = t
            .partitions
            .iter()
            .map(|p| {
                let leader = self.partition_leader(p);
                let replicas: Vec<Value> = p
                    .replicas
                    .iter()
                    .enumerate()
                    .map(|(i, b)| {
                        let replica_leo = p.replica_leo.get(i).copied().unwrap_or(p.leo);
                        json!({
                            "broker": b,
                            "leader": leader == Some(*b),
                            "in_sync": self.broker_up(*b),
                            "size": p.replica_size(i),
                            "lag": p.leo.saturating_sub(replica_leo),
                        })
                    })
                    .collect();
                json!({
                    "partition": p.id,
                    "leader": leader.map_or(-1, i64::from),
                    "replicas": replicas,
                    "lso": p.lso,
                    "leo": p.leo,
                    "hw": p.leo,
                    "last_update_timestamp": p.last_update_ms,
                })
            })
            .collect();
        let subscribed: Vec<&String> = self
            .groups
            .values()
            .filter(|g| g.topics.iter().any(|x| x == topic))
            .map(|g| &g.id)
            .collect();
        Some(json!({
            "topic": t.name,
            "partitions": partitions,
            "group_subscribed": subscribed,
        }))
    }

    /// R6.
    pub(crate) fn disk_usage(&self, query: &DiskQuery) -> Value {
        let capacity = self.broker_disk_gb * GIB;
        let brokers: Vec<Value> = self
            .brokers
            .iter()
            .map(|b| {
                let mut entries: Vec<(u64, &str, u32)> = self
                    .topics
                    .values()
                    .flat_map(|t| {
                        t.partitions.iter().flat_map(move |p| {
                            p.replicas
                                .iter()
                                .enumerate()
                                .filter(move |(_, r)| **r == b.id)
                                .map(move |(i, _)| (p.replica_size(i), t.name.as_str(), p.id))
                        })
                    })
                    .collect();
                let used: u64 = entries.iter().map(|e| e.0).sum();
                let percent = |size: u64| size as f64 / capacity as f64 * 100.0;
                entries.retain(|e| e.0 >= query.min_size);
                if let Some(min) = query.percentage {
                    entries.retain(|e| percent(e.0) > min);
                }
                entries.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)).then(a.2.cmp(&b.2)));
                if let Some(top) = query.top {
                    entries.truncate(top);
                }
                let topic_list: Vec<Value> = entries
                    .iter()
                    .map(|(size, topic, partition)| {
                        json!({
                            "size": human_size(*size),
                            "topic_name": topic,
                            "topic_partition": partition.to_string(),
                            "percentage": percent(*size),
                        })
                    })
                    .collect();
                json!({
                    "broker_name": format!("broker-{}", b.id),
                    "data_disk_size": format!("{}G", self.broker_disk_gb),
                    "data_disk_use": human_size(used),
                    "data_disk_free": human_size(capacity.saturating_sub(used)),
                    "data_disk_use_percentage": format!("{:.0}", percent(used)),
                    "status": if b.up { "Success get info" } else { "Failed get info" },
                    "topic_list": topic_list,
                })
            })
            .collect();
        json!({ "broker_list": brokers })
    }

    fn group_state(group: &Group) -> &'static str {
        if group.running && !group.members.is_empty() {
            "STABLE"
        } else {
            "EMPTY"
        }
    }

    /// R7: groups whose id contains `filter`, paged.
    pub(crate) fn groups_list(&self, offset: usize, limit: usize, filter: Option<&str>) -> Value {
        let matching: Vec<&Group> = self
            .groups
            .values()
            .filter(|g| filter.is_none_or(|f| g.id.contains(f)))
            .collect();
        let page: Vec<Value> = matching
            .iter()
            .skip(offset)
            .take(limit)
            .map(|g| {
                json!({
                    "group_id": g.id,
                    "state": Self::group_state(g),
                    "coordinator_id": g.coordinator,
                })
            })
            .collect();
        json!({ "groups": page, "total": matching.len() })
    }

    /// R4 (`with_assignment`) and R8: the documented schema, fields under `"group"`.
    /// R15: the message at `offset` (singular `message` array; empty outside the retained
    /// log). The value is filler: the exporter must never show it.
    fn partition_message(
        &self,
        topic: &str,
        partition: u32,
        offset: u64,
    ) -> Result<Value, ApiError> {
        let p = self
            .topics
            .get(topic)
            .and_then(|t| t.partitions.iter().find(|p| p.id == partition))
            .ok_or_else(|| {
                ApiError::dms(
                    404,
                    "DMS.10240401",
                    "The queue ID is incorrect or not found.",
                )
            })?;
        let messages: Vec<Value> = self
            .produce_time_ms(topic, partition, offset)
            .map(|timestamp| {
                json!({
                    "topic": topic,
                    "partition": partition,
                    "message_offset": offset,
                    "key": null,
                    "value": format!("secret-payload-{offset}"),
                    "size": p.msg_bytes,
                    "timestamp": timestamp,
                })
            })
            .into_iter()
            .collect();
        Ok(json!({ "message": messages }))
    }

    pub(crate) fn group_detail(&self, group: &str, with_assignment: bool) -> Option<Value> {
        let g = self.groups.get(group)?;
        // Range-style assignment over the group's partitions, member by member.
        let all: Vec<(String, u32)> = g.committed.keys().cloned().collect();
        let n = g.members.len().max(1);
        let members: Vec<Value> = g
            .members
            .iter()
            .enumerate()
            .map(|(k, m)| {
                let mut fields = vec![
                    ("host", json!(m.host)),
                    ("member_id", json!(m.member_id)),
                    ("client_id", json!(m.client_id)),
                ];
                if with_assignment {
                    let mut by_topic: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
                    for (i, (topic, partition)) in all.iter().enumerate() {
                        if i % n == k {
                            by_topic.entry(topic).or_default().push(*partition);
                        }
                    }
                    let assignment: Vec<Value> = by_topic
                        .into_iter()
                        .map(
                            |(topic, partitions)| json!({"topic": topic, "partitions": partitions}),
                        )
                        .collect();
                    fields.push(("assignment", json!(assignment)));
                }
                obj(fields)
            })
            .collect();
        let offsets: Vec<Value> = g
            .committed
            .iter()
            .map(|((topic, partition), committed)| {
                let leo = self.leo(topic, *partition);
                json!({
                    "partition": partition,
                    "lag": leo.saturating_sub(*committed),
                    "topic": topic,
                    "message_current_offset": committed,
                    "message_log_end_offset": leo,
                })
            })
            .collect();
        Some(json!({
            "group": {
                "members": members,
                "state": Self::group_state(g),
                "group_id": g.id,
                "coordinator_id": g.coordinator,
                "group_message_offsets": offsets,
                "assignment_strategy": "range",
            }
        }))
    }

    /// R5.
    pub(crate) fn coordinators(&self) -> Value {
        let list: Vec<Value> = self
            .groups
            .values()
            .map(|g| {
                json!({
                    "group_id": g.id,
                    "id": g.coordinator,
                    "host": format!("192.168.{}.{}", self.octet, 10 + g.coordinator),
                    "port": 9093,
                })
            })
            .collect();
        json!({ "coordinators": list })
    }

    fn task_json(&self, task: &Task, account: &Account) -> Value {
        json!({
            "id": task.id,
            "name": task.name,
            "user_name": account.user_name,
            "user_id": account.user_id,
            "params": task.params,
            "status": task.status,
            "created_at": iso_ms(task.created_ms),
            "updated_at": iso_ms(task.updated_ms),
        })
    }

    /// R19: newest first; `task_count` (a String) counts the tasks matching the time filter.
    pub(crate) fn tasks_list(&self, account: &Account, query: &TaskQuery) -> Value {
        let (count, tasks) = query.select(self.tasks.iter(), |t| (t.created_ms, &t.id));
        let page: Vec<Value> = tasks
            .into_iter()
            .map(|t| self.task_json(t, account))
            .collect();
        json!({ "task_count": count.to_string(), "tasks": page })
    }

    /// R20: same shape as R19, one task.
    pub(crate) fn task(&self, account: &Account, id: &str) -> Option<Value> {
        let task = self.tasks.iter().find(|t| t.id == id)?;
        Some(json!({ "task_count": "1", "tasks": [self.task_json(task, account)] }))
    }

    /// R21.
    pub(crate) fn tags(&self) -> Value {
        json!({ "tags": self.tags_json() })
    }
}

/// The answer of a Kafka endpoint about `instance` (`item` = the topic, group or task id).
pub(crate) fn dispatch(
    instance: &Instance,
    account: &Account,
    endpoint: Endpoint,
    item: &str,
    query: &[(String, String)],
) -> Result<Value, ApiError> {
    let group_not_found = || {
        ApiError::dms(
            404,
            "DMS.10240405",
            "The consumption group ID is incorrect or not found.",
        )
    };
    let body = match endpoint {
        Endpoint::InstanceGet => instance.show(account),
        Endpoint::InstanceGetV1 => instance.show_v1(account),
        Endpoint::KafkaCluster => instance.cluster(),
        Endpoint::KafkaCoordinators => instance.coordinators(),
        Endpoint::KafkaTopics => instance.topics_list(),
        Endpoint::KafkaTopicDetail => instance.topic_detail(item).ok_or_else(|| {
            ApiError::dms(
                404,
                "DMS.10240401",
                "The queue ID is incorrect or not found.",
            )
        })?,
        Endpoint::KafkaDiskusage => {
            let min_size = match first(query, "minSize") {
                Some(text) => parse_size(text).ok_or_else(ApiError::bad_parameter)?,
                None => GIB,
            };
            let top = parse_number(query, "top")?;
            let percentage = first(query, "percentage")
                .map(|p| {
                    p.trim()
                        .parse::<f64>()
                        .map_err(|_| ApiError::bad_parameter())
                })
                .transpose()?;
            instance.disk_usage(&DiskQuery {
                min_size,
                top,
                percentage,
            })
        }
        Endpoint::KafkaGroups => {
            let (offset, limit) = page(query)?;
            instance.groups_list(offset, limit, first(query, "group"))
        }
        Endpoint::KafkaGroup => instance
            .group_detail(item, false)
            .ok_or_else(group_not_found)?,
        Endpoint::KafkaManagementGroup => instance
            .group_detail(item, true)
            .ok_or_else(group_not_found)?,
        Endpoint::Tasks => instance.tasks_list(account, &task_query(query)?),
        Endpoint::TaskGet => instance.task(account, item).ok_or_else(|| {
            ApiError::dms(404, "DMS.00404001", "The requested URL does not exist.")
        })?,
        Endpoint::KafkaTags => instance.tags(),
        Endpoint::KafkaPartitionMessage => {
            // `item` is `topic/partition` (topic names cannot hold a `/`).
            let (topic, partition) = item.rsplit_once('/').unwrap_or((item, ""));
            let partition: u32 = partition.parse().map_err(|_| ApiError::bad_parameter())?;
            let offset: u64 = first(query, "message_offset")
                .ok_or_else(ApiError::bad_parameter)?
                .trim()
                .parse()
                .map_err(|_| ApiError::bad_parameter())?;
            instance.partition_message(topic, partition, offset)?
        }
        _ => {
            return Err(ApiError::dms(
                404,
                "DMS.00404001",
                "The requested URL does not exist.",
            ));
        }
    };
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_use_powers_of_1024() {
        assert_eq!(human_size(0), "0");
        assert_eq!(human_size(8 * 1024), "8.0K");
        assert_eq!(human_size(12 * 1024), "12K");
        assert_eq!(human_size(53 * 1024 * 1024), "53M");
        assert_eq!(human_size(66 * GIB), "66G");
        assert_eq!(human_size(1536 * 1024 * 1024), "1.5G");
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("1G"), Some(GIB));
        assert_eq!(parse_size("1k"), Some(1024));
        assert_eq!(parse_size("8.0K"), Some(8192));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size("-1G"), None);
    }
}
