//! Every RocketMQ fixture (documented examples and the SDK-model ones, see
//! `fixtures/api/rocketmq/README.md`) parses, with the quirks of rocketmq.md §5.9.

use std::path::PathBuf;

use dms_cloud::dto::{self, rocketmq as rmq};
use serde::de::DeserializeOwned;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/api/rocketmq")
}

fn parse<T: DeserializeOwned>(name: &str) -> T {
    let path = dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut de = serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(&mut de)
        .unwrap_or_else(|e| panic!("{name}: {} at {}", e.inner(), e.path()))
}

/// Parses one fixture with the DTO of its endpoint; false for an unknown name.
fn parses(name: &str) -> bool {
    match name.trim_end_matches(".json") {
        "instances" => drop(parse::<dto::InstanceList>(name)),
        "instance" => drop(parse::<dto::Instance>(name)),
        "brokers" => drop(parse::<rmq::BrokerList>(name)),
        "groups" => drop(parse::<rmq::GroupList>(name)),
        "group" => drop(parse::<rmq::Group>(name)),
        "group_topics" => drop(parse::<rmq::GroupTopics>(name)),
        "topic" => drop(parse::<rmq::Topic>(name)),
        "topic_groups" => drop(parse::<rmq::TopicGroups>(name)),
        "topic_status" | "topic_status_array" => drop(parse::<rmq::TopicStatus>(name)),
        "users" => drop(parse::<rmq::UserList>(name)),
        "user" => drop(parse::<rmq::User>(name)),
        "topic_accesspolicy" | "group_accesspolicy" => drop(parse::<rmq::AccessPolicies>(name)),
        "sdk_topics" => drop(parse::<rmq::TopicList>(name)),
        "sdk_group_clients" => drop(parse::<rmq::GroupClients>(name)),
        "sdk_tags" => drop(parse::<dto::TagList>(name)),
        "sdk_tasks" => drop(parse::<dto::Tasks>(name)),
        "sdk_ces_hierarchy" => drop(parse::<dto::ces::CesHierarchy>(name)),
        _ => return false,
    }
    true
}

#[test]
fn every_fixture_parses() {
    let names: Vec<String> = std::fs::read_dir(dir())
        .unwrap_or_else(|e| panic!("{}: {e}", dir().display()))
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    assert!(names.len() >= 18, "{names:?}");
    for name in names {
        assert!(parses(&name), "no DTO for fixture {name}");
    }
}

#[test]
fn instances_with_string_epoch_and_features() {
    let list: dto::InstanceList = parse("instances.json");
    assert_eq!(list.instance_num, Some(1));
    let i = &list.instances[0];
    assert_eq!(i.engine, "reliability");
    assert_eq!(i.created_at, Some(1_636_699_753_874));
    assert_eq!(
        (i.storage_space, i.total_storage_space, i.used_storage_space),
        (Some(558), Some(600), Some(28))
    );
    assert_eq!((i.broker_num, i.node_num), (Some(1), Some(5)));
    assert!(i.support_features.iter().any(|f| f == "rocketmq.acl"));
    let one: dto::Instance = parse("instance.json");
    assert_eq!(one.enable_acl, Some(false));
    assert_eq!(one.status, "RUNNING");
}

#[test]
fn groups_page_and_detail() {
    let page: rmq::GroupList = parse("groups.json");
    assert_eq!(
        (page.total, page.max, page.remaining, page.next_offset),
        (Some(1), Some(4000), Some(3999), Some(-1))
    );
    let g = &page.groups[0];
    assert_eq!(g.name, "aaaaa");
    assert_eq!(
        (g.enabled, g.broadcast, g.retry_max_time),
        (Some(true), Some(false), Some(16))
    );
    let detail: rmq::Group = parse("group.json");
    assert_eq!(detail.app_id, "");
    assert_eq!(detail.broadcast, Some(true));
    assert_eq!(detail.from_beginning, None);
}

#[test]
fn group_topic_lag_per_queue() {
    let body: rmq::GroupTopics = parse("group_topics.json");
    assert_eq!(body.topics, ["test0001"]);
    assert_eq!(body.total, Some(1));
    let queues = &body.brokers[0].queues;
    assert_eq!(queues.len(), 3);
    assert_eq!(queues[1].broker_offset, Some(1));
    assert_eq!(queues[1].last_message_time, Some(1_679_398_537_088));
    for q in queues {
        assert_eq!(
            q.lag(),
            q.broker_offset.zip(q.consumer_offset).map(|(b, c)| b - c)
        );
    }
}

#[test]
fn topic_status_brokers_as_object_and_as_array() {
    for name in ["topic_status.json", "topic_status_array.json"] {
        let status: rmq::TopicStatus = parse(name);
        assert_eq!(status.brokers.len(), 1, "{name}");
        assert_eq!(status.brokers[0].broker_name, "broker-0");
        let q = &status.brokers[0].queues[0];
        assert_eq!((q.min_offset, q.max_offset), (Some(0), Some(2)));
        assert_eq!(q.last_message_time, Some(1_662_689_877_152));
    }
}

#[test]
fn topic_detail_and_sdk_list() {
    let t: rmq::Topic = parse("topic.json");
    assert_eq!(t.total_read_queue_num, Some(3.0));
    assert_eq!(t.brokers[0].write_queue_num, Some(3));
    let list: rmq::TopicList = parse("sdk_topics.json");
    assert_eq!(list.total, Some(2));
    assert_eq!(list.topics[1].brokers.len(), 2);
}

#[test]
fn users_clients_and_brokers() {
    let users: rmq::UserList = parse("users.json");
    assert_eq!(users.total, Some(1));
    assert_eq!(users.users[0].admin, Some(false));
    let clients: rmq::GroupClients = parse("sdk_group_clients.json");
    assert_eq!((clients.online, clients.total), (Some(true), Some(1)));
    let brokers: rmq::BrokerList = parse("brokers.json");
    assert_eq!(brokers.brokers[0].ids, [0, 1, 2]);
}

#[test]
fn strings_where_numbers_are_documented() {
    let page: rmq::GroupList = serde_json::from_str(
        r#"{"total":"2","max":null,"groups":[{"name":"g","enabled":"true","retry_max_time":"3"}]}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.total, Some(2));
    assert_eq!(page.max, None);
    assert_eq!(page.groups[0].enabled, Some(true));
    assert_eq!(page.groups[0].retry_max_time, Some(3));
}
