//! RabbitMQ: every documented example response (`fixtures/api/rabbitmq`) parses with its DTO,
//! quirks included (rabbitmq.md §6.11, §7), and the client reads the RabbitMQ endpoints.

use dms_cloud::Engine;
use dms_cloud::dto::{self, rabbitmq, zones};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::support::*;

fn text(name: &str) -> String {
    let path = fixture_dir("rabbitmq").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse<T: DeserializeOwned>(name: &str) -> T {
    parse_fixture("rabbitmq", name)
}

/// Endpoints the exporter reads, or whose DTO is shared, and the fixtures that must exist.
const READ_ENDPOINTS: [&str; 10] = [
    "R1_", "R2_", "R3_", "R5_", "R6_", "R7_", "R10_", "R12_", "R13_", "R14_",
];

#[test]
fn every_fixture_of_a_read_endpoint_parses() {
    let names = fixture_names("rabbitmq");
    for prefix in READ_ENDPOINTS {
        let mine: Vec<&String> = names.iter().filter(|n| n.starts_with(prefix)).collect();
        assert!(!mine.is_empty(), "no fixture for endpoint {prefix}");
        for name in mine {
            match prefix {
                "R1_" | "R13_" => drop(parse::<dto::InstanceList>(name)),
                "R2_" | "R12_" => drop(parse::<dto::Instance>(name)),
                "R3_" => drop(parse::<rabbitmq::PluginList>(name)),
                "R5_" | "R6_" => drop(parse::<dto::Tasks>(name)),
                "R7_" => drop(parse::<dto::TagList>(name)),
                "R10_" | "R14_" => drop(parse::<zones::AvailableZones>(name)),
                _ => unreachable!(),
            }
        }
    }
    // The endpoints nobody reads yet are at least valid JSON objects.
    for name in &names {
        let value: Value = parse(name);
        assert!(value.is_object(), "{name}");
    }
}

#[test]
fn r1_r2_v2_instances() {
    let list: dto::InstanceList = parse("R1_instances.json");
    assert_eq!(list.instance_num, Some(1));
    let single: dto::Instance = parse("R2_instance.json");
    for i in [&list.instances[0], &single] {
        assert_eq!(i.instance_id, "de873040-d661-4770-aa96-9329c71d7c8a");
        assert_eq!(i.engine, "rabbitmq");
        assert_eq!(i.engine_version, "3.8.35");
        assert_eq!(i.status, "RUNNING");
        assert_eq!(i.instance_type, "single");
        assert_eq!(i.specification, "2vCPUs 4GB");
        assert_eq!(
            (i.storage_space, i.total_storage_space, i.used_storage_space),
            (Some(88), Some(100), Some(4))
        );
        assert_eq!(i.created_at, Some(1_590_047_080_687));
        assert_eq!(i.extend_times, Some(0));
        assert_eq!(i.enable_publicip, Some(false));
        assert_eq!(
            i.maintenance_window(),
            Some(("22:00:00".to_owned(), "02:00:00".to_owned()))
        );
        assert_eq!(i.tags.len(), 2);
        assert_eq!(i.tags[1].value, "value2");
    }
    // Only R2's example carries broker_num.
    assert_eq!(list.instances[0].broker_num, None);
    assert_eq!(single.broker_num, Some(1));
}

#[test]
fn r12_v1_instance_quirks() {
    let en: dto::Instance = parse("R12_instance_v1_a.json");
    assert_eq!(en.engine_version, "3.7.17");
    assert_eq!(en.created_at, Some(1_526_367_063_931));
    assert_eq!(en.error_code, "", "null error_code reads as absent");
    assert_eq!(en.enable_publicip, None);
    assert_eq!(en.publicip_address, "");
    // V1 sends HH:mm; normalised to the V2 HH:mm:ss.
    assert_eq!(
        en.maintenance_window(),
        Some(("22:00:00".to_owned(), "02:00:00".to_owned()))
    );
    assert_eq!(
        (en.storage_space, en.used_storage_space),
        (Some(100), Some(50))
    );
    let cn: dto::Instance = parse("R12_instance_v1_b.json");
    // The string "true" of the [CN] example.
    assert_eq!(cn.enable_publicip, Some(true));
    assert_eq!(cn.publicip_address, "192.168.10.5");
}

#[test]
fn r13_v1_list_quirks() {
    let list: dto::InstanceList = parse("R13_instances_v1.json");
    assert_eq!(list.instance_num, Some(1));
    let i = &list.instances[0];
    assert_eq!(i.instance_id, "595926bf-a648-47d8-91bc-461956794c2b");
    assert_eq!(i.extend_times, Some(0));
    // support_features as one comma-separated string.
    assert_eq!(i.support_features.len(), 4);
    assert_eq!(i.support_features[1], "message_trace_enable");
    assert_eq!(
        i.maintenance_window(),
        Some(("02:00:00".to_owned(), "06:00:00".to_owned()))
    );
}

#[test]
fn v1_extend_times_as_a_string_and_lower_case_status() {
    let i: dto::Instance = serde_json::from_value(json!({
        "instance_id": "x", "extend_times": "3", "status": "EXTENDEDFAILED",
        "support_features": ["a", "b"], "publicip_address": null, "maintain_begin": "bad"
    }))
    .unwrap_or_default();
    assert_eq!(i.extend_times, Some(3));
    assert_eq!(i.status, "EXTENDEDFAILED");
    assert_eq!(i.support_features, ["a", "b"]);
    assert_eq!(i.maintenance_window(), None);
}

#[test]
fn r3_plugins() {
    let list: rabbitmq::PluginList = parse("R3_plugins.json");
    let got: Vec<(&str, &str, Option<bool>, Option<bool>)> = list
        .plugins
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str(), p.enable, p.running))
        .collect();
    assert_eq!(
        got,
        [
            ("rabbitmq_amqp1_0", "3.8.35", Some(true), Some(true)),
            (
                "rabbitmq_delayed_message_exchange",
                "3.8.0",
                Some(true),
                Some(true)
            ),
            ("rabbitmq_federation", "3.8.35", Some(false), Some(false)),
        ]
    );
}

#[test]
fn r5_r6_tasks() {
    for name in ["R5_tasks.json", "R6_task.json"] {
        let tasks: dto::Tasks = parse(name);
        assert_eq!(tasks.task_count, 1, "numeric string {name}");
        let task = &tasks.tasks[0];
        assert_eq!(task.name, "bindInstancePublicIp");
        assert_eq!(task.status, "SUCCESS");
        let created = task.created_at_unix().unwrap_or_default();
        assert!((created - 1_592_881_203.471).abs() < 1e-3, "{created}");
        let updated = task.updated_at_unix().unwrap_or_default();
        assert!((updated - 1_592_881_208.130).abs() < 1e-3, "{updated}");
    }
}

#[test]
fn r10_r14_zones() {
    let v2: zones::AvailableZones = parse("R10_available_zones.json");
    assert_eq!(v2.region_id, "xxx");
    assert_eq!(v2.available_zones.len(), 2);
    let zone = &v2.available_zones[0];
    assert_eq!(zone.remain_time, Some(9_223_372_036_854_776_000));
    assert_eq!(zone.port, Some(8003));
    assert_eq!(zone.resource_availability, Some(true));
    assert_eq!((zone.sold_out, zone.default_az), (Some(false), Some(true)));
    let v1: zones::AvailableZones = parse("R14_available_zones_v1.json");
    assert_eq!(v1.region_id, "XXXXXX", "V1 regionId");
    assert_eq!(v1.available_zones[1].code, "az10.dc2");
    assert_eq!(v1.available_zones[1].remain_time, None);
}

#[tokio::test(start_paused = true)]
async fn plugins_are_read_from_the_documented_path() {
    let body: Value = serde_json::from_str(&text("R3_plugins.json")).unwrap_or_default();
    let (transport, server) = fake(move |_| Reply::json(200, body.clone()));
    let (client, _) = client_with(config(aksk_with_token()), transport, &unlimited());
    let plugins = client.rabbitmq_plugins("inst").await.unwrap_or_default();
    assert_eq!(plugins.plugins.len(), 3);
    assert_eq!(
        server.requests()[0].path,
        format!("/v2/{PROJECT}/instances/inst/rabbitmq/plugins")
    );
}

#[tokio::test(start_paused = true)]
async fn rabbitmq_list_falls_back_to_v1_on_each_call() {
    let v1: Value = serde_json::from_str(&text("R13_instances_v1.json")).unwrap_or_default();
    let (transport, server) = fake(move |r| {
        if r.path.starts_with("/v2/") {
            Reply::error(404, "DMS.00404001", "The API does not exist")
        } else {
            Reply::json(200, v1.clone())
        }
    });
    let (client, observer) = client_with(config(aksk_with_token()), transport, &unlimited());
    for _ in 0..3 {
        let instances = client
            .list_instances(Engine::RabbitMq)
            .await
            .unwrap_or_default();
        assert_eq!(instances.len(), 1);
        assert_eq!(instances[0].maintain_begin, "02:00:00");
    }
    assert!(client.uses_v1_instance_list());
    // V2 is tried on every call (one 404 is no decision for good).
    assert_eq!(server.count_path("/v2/"), 3);
    assert_eq!(server.count_path("/v1.0/"), 3);
    assert_eq!(
        server.requests()[1].query,
        "engine=rabbitmq&limit=50&start=1"
    );
    assert_eq!(observer.events_of("finished").len(), 6);
}

#[tokio::test(start_paused = true)]
async fn throttling_as_404_is_no_reason_to_fall_back() {
    let (transport, server) = fake(|r| {
        if r.index == 0 {
            Reply::error(404, "DMS.10240407", "The request is too frequent")
        } else {
            Reply::json(200, json!({"instances": [], "instance_num": 0}))
        }
    });
    let (client, _) = client_with(config(aksk_with_token()), transport, &unlimited());
    assert_eq!(
        client.list_instances(Engine::RabbitMq).await.ok(),
        Some(vec![])
    );
    assert!(!client.uses_v1_instance_list());
    assert_eq!(server.count_path("/v1.0/"), 0);
}

/// The SDK-model fixtures (Huawei SDK; beyond the seed) and their DTOs.
#[test]
fn sdk_depth_fixtures_parse() {
    let names = fixture_names("rabbitmq");
    let sdk: Vec<&String> = names.iter().filter(|n| n.starts_with("sdk_")).collect();
    assert_eq!(sdk.len(), 7, "{sdk:?}");
    for name in sdk {
        match name.trim_end_matches(".json") {
            "sdk_vhosts" => drop(parse::<rabbitmq::VhostList>(name)),
            "sdk_queues" => drop(parse::<rabbitmq::QueueList>(name)),
            "sdk_queue" => drop(parse::<rabbitmq::QueueDetail>(name)),
            "sdk_exchanges" => drop(parse::<rabbitmq::ExchangeList>(name)),
            "sdk_users" => drop(parse::<rabbitmq::UserList>(name)),
            "sdk_quotas" => drop(parse::<rabbitmq::Quotas>(name)),
            "sdk_ces_hierarchy" => drop(parse::<dms_cloud::dto::ces::CesHierarchy>(name)),
            other => panic!("no DTO for fixture {other}"),
        }
    }
    let vhosts: rabbitmq::VhostList = parse("sdk_vhosts.json");
    assert_eq!(
        (vhosts.total, vhosts.items[0].name.as_str()),
        (Some(2), "/")
    );
    assert_eq!(vhosts.items[1].tracing, Some(true));
    let queues: rabbitmq::QueueList = parse("sdk_queues.json");
    let queue = &queues.items[0];
    assert_eq!((queue.messages, queue.consumers), (Some(12), Some(2)));
    assert_eq!(
        (queue.durable, queue.auto_delete),
        (Some(true), Some(false))
    );
    assert_eq!(queue.policy, "ha-all");
    assert_eq!(queue.arguments.message_ttl_ms, Some(86_400_000));
    assert_eq!(queue.arguments.queue_mode, "lazy");
    let detail: rabbitmq::QueueDetail = parse("sdk_queue.json");
    assert_eq!(detail.queue.name, "orders.created");
    assert_eq!(detail.consumer_details[0].prefetch_count, Some(10));
    assert_eq!(detail.queue_bindings[0].source, "orders");
    let exchanges: rabbitmq::ExchangeList = parse("sdk_exchanges.json");
    assert_eq!(
        (exchanges.total, exchanges.items[0].kind.as_str()),
        (Some(8), "topic")
    );
    let users: rabbitmq::UserList = parse("sdk_users.json");
    assert_eq!(users.users[0].vhosts[0].write, "orders.*");
    let quotas: rabbitmq::Quotas = parse("sdk_quotas.json");
    let rabbit = quotas
        .quotas
        .resources
        .iter()
        .find(|q| q.kind == "rabbitmqInstance");
    assert_eq!(
        rabbit.map(|q| (q.quota, q.used)),
        Some((Some(100), Some(2)))
    );
}

#[test]
fn depth_dtos_are_lenient() {
    let queue: rabbitmq::Queue = serde_json::from_value(json!({
        "name": "q", "messages": "17", "consumers": null, "policy": null, "arguments": null
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((queue.messages, queue.consumers), (Some(17), None));
    assert!(queue.policy.is_empty());
    let list: rabbitmq::QueueList =
        serde_json::from_value(json!({ "items": null })).unwrap_or_else(|e| panic!("{e}"));
    assert!(list.items.is_empty() && list.total.is_none());
}

#[tokio::test(start_paused = true)]
async fn queues_are_paged_on_the_sdk_path_with_the_vhost_spelled_out() {
    let (transport, server) = fake(|r| {
        let offset: usize = r.param("offset").and_then(|o| o.parse().ok()).unwrap_or(0);
        let items: Vec<Value> = (offset..(offset + 50).min(70))
            .map(|n| json!({ "vhost": "/", "name": format!("q{n}"), "messages": n }))
            .collect();
        Reply::json(
            200,
            json!({ "size": items.len(), "total": 70, "items": items }),
        )
    });
    let (client, _) = client_with(config(aksk_with_token()), transport, &unlimited());
    let all = client
        .rabbitmq_queues("inst", "/")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((all.items.len(), all.total), (70, Some(70)));
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].path,
        format!("/v2/rabbitmq/{PROJECT}/instances/inst/vhosts/__F_SLASH__/queues")
    );
    assert_eq!(requests[1].query, "limit=50&offset=50");
}

#[tokio::test(start_paused = true)]
async fn an_exchange_count_is_one_call() {
    let (transport, server) = fake(|_| {
        Reply::json(
            200,
            json!({ "size": 1, "total": 130, "items": [{ "name": "x" }] }),
        )
    });
    let (client, _) = client_with(config(aksk_with_token()), transport, &unlimited());
    let count = client
        .rabbitmq_exchange_count("inst", "billing")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(count, 130);
    assert_eq!(server.count(), 1);
    assert_eq!(
        server.requests()[0].path,
        format!("/v2/rabbitmq/{PROJECT}/instances/inst/vhosts/billing/exchanges")
    );
}
