//! Cloud Eye: the ces-hierarchy fixtures of every engine (the seed's Kafka example, the SDK's
//! RocketMQ and RabbitMQ models) parse with the one hierarchy DTO: its levels typed, its value
//! lists kept as they come (the exporter walks them by each level's `key_name`).

use dms_cloud::dto::ces::CesHierarchy;
use serde_json::Value;

use crate::support::parse_fixture;

fn list<'a>(hierarchy: &'a CesHierarchy, key: &str) -> &'a [Value] {
    hierarchy
        .lists
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

#[test]
fn every_ces_hierarchy_fixture_parses() {
    let kafka: CesHierarchy = parse_fixture("kafka", "R26_ces_hierarchy.json");
    let topics = &kafka.dimensions[3];
    assert_eq!(topics.name, "kafka_topics");
    assert_eq!(topics.dim_router, ["kafka_instance_id", "kafka_topics"]);
    assert_eq!(topics.children[0].key_name, ["queues", "partitions"]);
    assert_eq!(list(&kafka, "nodes").len(), 3);
    assert_eq!(
        list(&kafka, "queues")[1]["partitions"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    assert_eq!(list(&kafka, "groups")[0]["queues"][0]["name"], "mytest");

    let rocketmq: CesHierarchy = parse_fixture("rocketmq", "sdk_ces_hierarchy.json");
    assert_eq!(
        rocketmq.dimensions[1].children[0].key_name,
        ["groups", "topics"]
    );
    assert_eq!(list(&rocketmq, "groups")[0]["topics"][0]["name"], "orders");
    assert_eq!(list(&rocketmq, "dlq").len(), 1);
    assert!(list(&rocketmq, "nodes")[0]["available_zone"].is_string());

    let rabbitmq: CesHierarchy = parse_fixture("rabbitmq", "sdk_ces_hierarchy.json");
    assert_eq!(list(&rabbitmq, "queues")[0]["vhost"], "/");
    assert_eq!(list(&rabbitmq, "exchanges")[0]["name"], "amq.direct");
    assert_eq!(list(&rabbitmq, "vhosts").len(), 1);
    assert!(rabbitmq.dimensions[0].children.is_empty());
}
