//! Every documented example response of an endpoint this client reads parses with its DTO,
//! including the contradictions of kafka.md §7.

use dms_cloud::dto::{self, kafka};
use serde::de::DeserializeOwned;

use crate::support::{fixture_names, parse_fixture};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

fn parse<T: DeserializeOwned>(name: &str) -> T {
    parse_fixture("kafka", name)
}

/// Endpoint id → the fixtures that must exist for it.
const READ_ENDPOINTS: [&str; 14] = [
    "R3_", "R4_", "R5_", "R6_", "R7_", "R8_", "R10_", "R11_", "R15_", "R19_", "R20_", "R21_",
    "R27_", "R28_",
];

#[test]
fn every_fixture_of_a_read_endpoint_parses() {
    let names = fixture_names("kafka");
    for prefix in READ_ENDPOINTS {
        let mine: Vec<&String> = names.iter().filter(|n| n.starts_with(prefix)).collect();
        assert!(!mine.is_empty(), "no fixture for endpoint {prefix}");
        for name in mine {
            match prefix {
                "R3_" => drop(parse::<kafka::Cluster>(name)),
                "R4_" | "R8_" => drop(parse::<kafka::GroupDetail>(name)),
                "R5_" => drop(parse::<kafka::CoordinatorList>(name)),
                "R6_" => drop(parse::<kafka::DiskUsage>(name)),
                "R7_" => drop(parse::<kafka::GroupList>(name)),
                "R10_" => drop(parse::<kafka::TopicList>(name)),
                "R11_" => drop(parse::<kafka::TopicDetail>(name)),
                "R15_" => drop(parse::<kafka::PartitionMessages>(name)),
                "R19_" | "R20_" => drop(parse::<dto::Tasks>(name)),
                "R21_" => drop(parse::<dto::TagList>(name)),
                "R27_" => drop(parse::<dto::Instance>(name)),
                "R28_" => drop(parse::<dto::InstanceList>(name)),
                _ => unreachable!(),
            }
        }
    }
}

#[test]
fn r3_cluster() {
    let c: kafka::Cluster = parse("R3_cluster.json");
    assert_eq!(c.controller, Some(2));
    assert_eq!(c.brokers.len(), 3);
    assert_eq!(c.brokers[0].broker_id, Some(0));
    assert_eq!(c.brokers[0].host, "192.168.0.159");
    assert_eq!(c.brokers[0].port, Some(9093));
    assert_eq!(c.brokers[2].is_controller, Some(true));
    assert_eq!(c.brokers[1].register_time, Some(1_588_754_647_653));
    assert_eq!(c.brokers[1].is_health, Some(true));
    assert_eq!(c.brokers[1].version, "1.1.0");
    assert_eq!(
        (
            c.topics_count,
            c.partitions_count,
            c.online_partitions_count
        ),
        (Some(3), Some(9), Some(9))
    );
    assert_eq!(
        (c.replicas_count, c.isr_replicas_count, c.consumers_count),
        (Some(27), Some(27), Some(0))
    );
}

#[test]
fn r4_and_r8_groups_in_both_shapes() {
    for name in ["R4_management_group.json", "R8_group.json"] {
        let g: kafka::GroupDetail = parse(name);
        assert_eq!(g.group_id, "test-consumer-group", "{name}");
        assert_eq!(g.state, "STABLE");
        assert_eq!(g.coordinator_id, Some(2));
        assert_eq!(g.assignment_strategy, "range");
        assert_eq!(g.members.len(), 1);
        assert_eq!(g.members[0].host, "/172.31.1.102");
        assert_eq!(g.members[0].client_id, "consumer-1");
        assert_eq!(g.group_message_offsets.len(), 5, "{name}");
        let first = &g.group_message_offsets[0];
        assert_eq!(first.topic, "test");
        assert_eq!(first.partition, Some(0));
        assert_eq!(first.lag, Some(31396));
        assert_eq!(first.message_current_offset, Some(935));
        assert_eq!(first.message_log_end_offset, Some(32331));
    }
}

#[test]
fn r5_coordinators() {
    let c: kafka::CoordinatorList = parse("R5_coordinators.json");
    assert_eq!(c.coordinators.len(), 3);
    assert_eq!(c.coordinators[0].group_id, "XXXX");
    assert_eq!(c.coordinators[0].id, Some(2));
    assert_eq!(c.coordinators[0].host, "172.31.1.15");
    assert_eq!(c.coordinators[0].port, Some(9091));
}

#[test]
fn r6_disk_usage_sizes() {
    let d: kafka::DiskUsage = parse("R6_diskusage.json");
    let broker = &d.broker_list[0];
    assert_eq!(broker.broker_name, "broker-0");
    assert_eq!(broker.broker_id(), Some(0));
    assert_eq!(broker.size_bytes(), Some(66.0 * GIB));
    assert_eq!(broker.used_bytes(), Some(53.0 * 1024.0 * 1024.0));
    assert_eq!(broker.free_bytes(), Some(63.0 * GIB));
    assert_eq!(broker.data_disk_use_percentage, Some(1.0));
    assert_eq!(broker.status, "Success get info");
    assert_eq!(broker.topic_list.len(), 10);
    let first = &broker.topic_list[0];
    assert_eq!(
        (first.topic_name.as_str(), first.topic_partition),
        ("topic-test", Some(2))
    );
    assert_eq!(first.size_bytes(), Some(12.0 * 1024.0));
    assert_eq!(first.percentage, Some(1.7339533025568183E-5));
    let trace = &broker.topic_list[3];
    assert_eq!(trace.size, "8.0K");
    assert_eq!(trace.size_bytes(), Some(8192.0));
}

#[test]
fn r7_groups() {
    let g: kafka::GroupList = parse("R7_groups.json");
    assert_eq!(g.total, Some(3));
    assert_eq!(g.groups.len(), 3);
    assert_eq!(g.groups[0].group_id, "consumer-1");
    assert_eq!(g.groups[0].state, "EMPTY");
    assert_eq!(g.groups[2].coordinator_id, Some(3));
}

#[test]
fn r10_topics_with_example_contradictions() {
    let t: kafka::TopicList = parse("R10_topics.json");
    assert_eq!(t.total, Some(1), "count is read as total");
    assert_eq!(t.size, Some(0));
    assert_eq!(
        (t.remain_partitions, t.max_partitions),
        (Some(294), Some(300))
    );
    let topic = &t.topics[0];
    assert_eq!(topic.name, "test01", "id is read as name");
    assert_eq!(
        (topic.partition, topic.replication, topic.retention_time),
        (Some(3), Some(3), Some(72))
    );
    assert_eq!(topic.sync_replication, Some(false));
    assert_eq!(topic.sync_message_flush, Some(false));
    assert_eq!(topic.policies_only, Some(false));
    assert_eq!(topic.topic_type, Some(0));
    assert_eq!(topic.created_at, Some(1_688_112_779_916));
}

#[test]
fn r11_topic_detail() {
    let t: kafka::TopicDetail = parse("R11_topic_detail.json");
    assert_eq!(t.topic, "test");
    assert_eq!(t.group_subscribed, ["test-consumer-group"]);
    assert_eq!(t.partitions.len(), 3);
    let p = &t.partitions[2];
    assert_eq!((p.partition, p.leader), (Some(1), Some(0)));
    assert_eq!((p.lso, p.leo, p.hw), (Some(0), Some(13599), Some(13599)));
    assert_eq!(p.last_update_timestamp, Some(1_571_477_172_959));
    assert_eq!(p.replicas.len(), 3);
    let r = &p.replicas[0];
    assert_eq!(
        (r.broker, r.leader, r.in_sync),
        (Some(0), Some(true), Some(true))
    );
    assert_eq!((r.size, r.lag), (Some(127_245_604), Some(0)));
}

#[test]
fn r15_message_at_offset_reads_only_offset_and_time() {
    let m: kafka::PartitionMessages = parse("R15_message_at_offset.json");
    assert_eq!(m.produced_ms(7), Some(1_568_125_036_045));
    assert_eq!(
        m.produced_ms(8),
        None,
        "another offset's message is not this one's"
    );
    // The message content is not kept anywhere the DTO could show it.
    assert!(!format!("{m:?}").contains("kasjdf"));
}

#[test]
fn r19_r20_tasks() {
    let t: dto::Tasks = parse("R19_tasks.json");
    assert_eq!(t.task_count, 4);
    assert_eq!(t.tasks.len(), 2);
    let task = &t.tasks[0];
    assert_eq!(task.id, "8abfa7b372160bfd0172165864064079");
    assert_eq!(task.name, "modifyAutoTopic");
    assert_eq!(task.user_name, "paas_dms");
    assert_eq!(task.status, "EXECUTING");
    assert!(task.params.contains("old_auto_status"));
    let created = task.created_at_unix().unwrap_or_default();
    assert!((created - 1_589_512_791.046).abs() < 1e-3, "{created}");
    let one: dto::Tasks = parse("R20_task.json");
    assert_eq!(one.task_count, 1);
    assert_eq!(one.tasks[0].status, "SUCCESS");
    assert!(one.tasks[0].updated_at_unix().is_some());
}

#[test]
fn r21_tags() {
    let t: dto::TagList = parse("R21_instance_tags.json");
    assert_eq!(
        t.tags,
        [
            dto::Tag {
                key: "key1".into(),
                value: "value1".into()
            },
            dto::Tag {
                key: "key2".into(),
                value: "value2".into()
            },
        ]
    );
}

#[test]
fn r27_instance_v1() {
    let i: dto::Instance = parse("R27_instance_v1_a.json");
    assert_eq!(i.instance_id, "ef84dd5f-3ece-4336-8c99-987defd62e3a");
    assert_eq!(i.name, "kafka-l00230526");
    assert_eq!(i.engine, "kafka");
    assert_eq!(i.status, "RUNNING");
    assert_eq!(i.instance_type, "cluster");
    assert_eq!(i.partition_num, Some(300));
    assert_eq!(i.created_at, Some(1_568_797_295_209));
    assert_eq!(
        (i.storage_space, i.total_storage_space, i.used_storage_space),
        (Some(492), Some(600), Some(25))
    );
    assert_eq!(i.available_zones, ["ae04cf9d61544df3806a3feeb401b204"]);
    assert_eq!(i.ssl_enable, Some(false));
    assert_eq!(
        i.connect_addresses(),
        "192.168.1.116,192.168.1.152,192.168.1.78"
    );
    let b: dto::Instance = parse("R27_instance_v1_b.json");
    assert_eq!(b.enable_publicip, Some(true));
    assert_eq!(b.ssl_enable, Some(true));
    assert_eq!(b.engine_version, "2.3.0");
}

#[test]
fn r28_instances_v1() {
    let a: dto::InstanceList = parse("R28_instances_v1_a.json");
    assert_eq!(a.instance_num, Some(1));
    let i = &a.instances[0];
    assert_eq!(i.instance_id, "ef84dd5f-3ece-4336-8c99-987defd62e3a");
    assert_eq!(i.maintain_begin, "22:00");
    assert_eq!(i.enterprise_project_id, "0");
    assert_eq!(i.retention_policy, "produce_reject");
    assert_eq!(i.support_features.len(), 5);
    assert_eq!(i.created_at_unix(), Some(1_568_797_295.209));
    let b: dto::InstanceList = parse("R28_instances_v1_b.json");
    assert_eq!(b.instances[0].name, "kafka-2101614746");
    assert_eq!(
        b.instances[0].resource_spec_code,
        "dms.instance.kafka.cluster.c3.mini"
    );
    assert_eq!(b.instances[0].product_id, "00300-30308-0-0");
    assert!(b.instances[0].tags.is_empty());
}

#[test]
fn v2_instance_with_tags_and_nulls() {
    let json = r#"{"instance_id":"x","broker_num":3,"node_num":"3","tags":[{"key":"env","value":"prod"}],
        "enable_publicip":"true","available_zones":null,"partition_num":null,"support_features":["a","b"],
        "created_at":1568797295209,"remain_time":18446744073709551616000}"#;
    let i: dto::Instance = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((i.broker_num, i.node_num), (Some(3), Some(3)));
    assert_eq!(i.tags[0].key, "env");
    assert_eq!(i.enable_publicip, Some(true));
    assert!(i.available_zones.is_empty());
    assert_eq!(i.partition_num, None);
    assert_eq!(i.support_features, ["a", "b"]);
    assert_eq!(i.created_at, Some(1_568_797_295_209));
}
