//! Property tests of response decoding: whatever a gateway, proxy or API version sends — any
//! field in any JSON type or shape, garbage, a body cut short — decoding a DTO never panics;
//! it gives a value or a decoding error (with the JSON path, as the client reports it).
//!
//! Seeds are the documented examples under `fixtures/api/`; mutations reach every field they
//! contain, nested ones included. `PROPTEST_CASES` sets the random cases per property
//! (default 256); 20,000 took 43 s in a debug build here. A million each:
//!
//!     PROPTEST_CASES=1000000 cargo test --release -p dms-cloud --test integration dto_properties

use std::sync::LazyLock;

use dms_cloud::dto::{self, kafka, rabbitmq, rocketmq, zones};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::support::fixture_dir;

/// Decodes as the client does (`serde_path_to_error`, trailing data refused) and uses the
/// value's derived readings, which must not panic either.
fn decode<T: DeserializeOwned + std::fmt::Debug>(body: &[u8]) -> Result<(), String> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|e| format!("invalid response body at `{}`: {}", e.path(), e.inner()))?;
    deserializer.end().map_err(|e| e.to_string())?;
    // Debug walks every field.
    let _ = format!("{value:?}");
    Ok(())
}

fn instance_readings(body: &[u8]) -> Result<(), String> {
    let instance: dto::Instance = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let _ = (
        instance.maintenance_window(),
        instance.created_at_unix(),
        instance.connect_addresses(),
    );
    Ok(())
}

fn disk_readings(body: &[u8]) -> Result<(), String> {
    let usage: kafka::DiskUsage = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    for broker in &usage.broker_list {
        let _ = (
            broker.size_bytes(),
            broker.used_bytes(),
            broker.free_bytes(),
            broker.broker_id(),
        );
        for topic in &broker.topic_list {
            let _ = topic.size_bytes();
        }
    }
    Ok(())
}

fn task_readings(body: &[u8]) -> Result<(), String> {
    let tasks: dto::Tasks = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    for task in &tasks.tasks {
        let _ = (task.created_at_unix(), task.updated_at_unix());
    }
    Ok(())
}

type Decoder = fn(&[u8]) -> Result<(), String>;

/// Every response DTO with the documented examples it decodes (engine folder, file).
const SEEDS: &[(&str, &str, Decoder)] = &[
    ("kafka", "R3_cluster.json", decode::<kafka::Cluster>),
    (
        "kafka",
        "R4_management_group.json",
        decode::<kafka::GroupDetail>,
    ),
    ("kafka", "R8_group.json", decode::<kafka::GroupDetail>),
    (
        "kafka",
        "R5_coordinators.json",
        decode::<kafka::CoordinatorList>,
    ),
    ("kafka", "R6_diskusage.json", decode::<kafka::DiskUsage>),
    ("kafka", "R6_diskusage.json", disk_readings),
    ("kafka", "R7_groups.json", decode::<kafka::GroupList>),
    ("kafka", "R10_topics.json", decode::<kafka::TopicList>),
    (
        "kafka",
        "R11_topic_detail.json",
        decode::<kafka::TopicDetail>,
    ),
    ("kafka", "R19_tasks.json", decode::<dto::Tasks>),
    ("kafka", "R19_tasks.json", task_readings),
    ("kafka", "R21_instance_tags.json", decode::<dto::TagList>),
    ("kafka", "R27_instance_v1_a.json", decode::<dto::Instance>),
    ("kafka", "R27_instance_v1_b.json", instance_readings),
    (
        "kafka",
        "R28_instances_v1_a.json",
        decode::<dto::InstanceList>,
    ),
    (
        "kafka",
        "R24_available_zones.json",
        decode::<zones::AvailableZones>,
    ),
    ("rabbitmq", "R2_instance.json", instance_readings),
    ("rabbitmq", "R1_instances.json", decode::<dto::InstanceList>),
    (
        "rabbitmq",
        "R3_plugins.json",
        decode::<rabbitmq::PluginList>,
    ),
    ("rocketmq", "brokers.json", decode::<rocketmq::BrokerList>),
    ("rocketmq", "groups.json", decode::<rocketmq::GroupList>),
    ("rocketmq", "group.json", decode::<rocketmq::Group>),
    (
        "rocketmq",
        "group_topics.json",
        decode::<rocketmq::GroupTopics>,
    ),
    ("rocketmq", "topic.json", decode::<rocketmq::Topic>),
    (
        "rocketmq",
        "topic_groups.json",
        decode::<rocketmq::TopicGroups>,
    ),
    (
        "rocketmq",
        "topic_status.json",
        decode::<rocketmq::TopicStatus>,
    ),
    (
        "rocketmq",
        "topic_status_array.json",
        decode::<rocketmq::TopicStatus>,
    ),
    ("rocketmq", "users.json", decode::<rocketmq::UserList>),
    ("rocketmq", "user.json", decode::<rocketmq::User>),
    (
        "rocketmq",
        "topic_accesspolicy.json",
        decode::<rocketmq::AccessPolicies>,
    ),
    ("rocketmq", "sdk_topics.json", decode::<rocketmq::TopicList>),
    (
        "rocketmq",
        "sdk_group_clients.json",
        decode::<rocketmq::GroupClients>,
    ),
    (
        "kafka",
        "R26_ces_hierarchy.json",
        decode::<dto::ces::CesHierarchy>,
    ),
    (
        "rocketmq",
        "sdk_ces_hierarchy.json",
        decode::<dto::ces::CesHierarchy>,
    ),
    (
        "rabbitmq",
        "sdk_ces_hierarchy.json",
        decode::<dto::ces::CesHierarchy>,
    ),
];

/// IAM answers have no documented example file; these are their documented shapes.
const IAM_SEEDS: &[(&str, Decoder)] = &[
    (
        r#"{"projects":[{"id":"0b0e4b5d1e8f4d6c9a7f3e2d1c0b9a88","name":"cn-north-4"}]}"#,
        decode::<dto::ProjectList>,
    ),
    (
        r#"{"token":{"expires_at":"2026-12-01T10:00:00.000000Z","issued_at":"2026-11-30T10:00:00.000000Z","project":{"id":"p","name":"cn-north-4"}}}"#,
        decode::<dto::TokenResponse>,
    ),
];

/// Every seed as (what it is, its JSON, its decoder), read once.
fn seeds() -> &'static [(String, Value, Decoder)] {
    static SEEDS_READ: LazyLock<Vec<(String, Value, Decoder)>> = LazyLock::new(read_seeds);
    &SEEDS_READ
}

fn read_seeds() -> Vec<(String, Value, Decoder)> {
    let mut out: Vec<(String, Value, Decoder)> = SEEDS
        .iter()
        .map(|(engine, name, decoder)| {
            let path = fixture_dir(engine).join(name);
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (format!("{engine}/{name}"), value, *decoder)
        })
        .collect();
    for (text, decoder) in IAM_SEEDS {
        let value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        out.push(("iam".to_owned(), value, *decoder));
    }
    out
}

/// The JSON pointer of every value in `value` (the root too).
fn pointers(value: &Value) -> Vec<String> {
    fn walk(value: &Value, at: String, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    let key = key.replace('~', "~0").replace('/', "~1");
                    walk(child, format!("{at}/{key}"), out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
        out.push(at);
    }
    let mut out = Vec::new();
    walk(value, String::new(), &mut out);
    out
}

/// One value of each JSON type and of the shapes lenient decoding distinguishes: numbers as
/// strings, booleans as strings, empties, extremes.
fn shapes() -> Vec<Value> {
    serde_json::from_str(
        r#"[null, true, false, 0, -1, 1.5, -1e300, 1e300, 18446744073709551615,
            -9223372036854775808, 9223372036854775807, "", " ", "abc", "12", "-12", "1.5",
            "1e400", "true", "NaN", "99999999999999999999999", "2020-05-15T03:19:51.046Z",
            "25:61", "1K", "12.5GB", "\u0000\uffff", [], [1, "a", null], {}, {"a": 1},
            [[[]]], {"": {"": null}}]"#,
    )
    .unwrap_or_default()
}

/// Every field of every seed in every shape: decoding gives a value or an error, never a
/// panic. Exhaustive, so it does not depend on the random cases.
#[test]
fn every_field_in_every_json_shape_decodes_or_fails_cleanly() {
    let shapes = shapes();
    assert!(shapes.len() > 30, "the shapes parse");
    let mut decoded = 0_usize;
    for (name, seed, decoder) in seeds() {
        for pointer in pointers(seed) {
            for shape in &shapes {
                let mut value = seed.clone();
                if let Some(slot) = value.pointer_mut(&pointer) {
                    *slot = shape.clone();
                }
                let body = serde_json::to_vec(&value).unwrap_or_default();
                if decoder(&body).is_ok() {
                    decoded += 1;
                }
            }
        }
        // Every field left out as well (`null` above is the other form of absent).
        for pointer in pointers(seed) {
            let Some((parent, key)) = pointer.rsplit_once('/') else {
                continue;
            };
            let mut value = seed.clone();
            if let Some(Value::Object(map)) = value.pointer_mut(parent) {
                map.remove(&key.replace("~1", "/").replace("~0", "~"));
            }
            let body = serde_json::to_vec(&value).unwrap_or_default();
            let _ = decoder(&body).map_err(|e| assert!(!e.is_empty(), "{name}"));
        }
    }
    // Lenient decoding accepts most shapes; if nothing decoded, the harness is broken.
    assert!(decoded > 1000, "only {decoded} mutations decoded");
}

/// Any JSON value, nested a few levels, with keys the DTOs use and others.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[0-9]{0,25}".prop_map(Value::String),
        "-?[0-9]{1,5}(\\.[0-9]{0,3})?([eE][+-]?[0-9]{1,4})?".prop_map(Value::String),
        "[0-9]{1,4}(K|M|G|T|KB|MB|GB|TB|B)?".prop_map(Value::String),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("name".to_owned()),
                    Just("id".to_owned()),
                    Just("total".to_owned()),
                    Just("brokers".to_owned()),
                    "[a-z_]{1,10}"
                ],
                inner,
                0..4
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    /// Random values at random places of a seed, several at once.
    #[test]
    fn random_values_anywhere_never_panic(
        seed_index in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any_json()), 1..5),
    ) {
        let seeds = seeds();
        let (_, seed, decoder) = &seeds[seed_index.index(seeds.len())];
        let mut value = seed.clone();
        for (place, replacement) in edits {
            let pointers = pointers(&value);
            let pointer = &pointers[place.index(pointers.len())];
            if let Some(slot) = value.pointer_mut(pointer) {
                *slot = replacement;
            }
        }
        let body = serde_json::to_vec(&value).unwrap_or_default();
        let _ = decoder(&body);
    }

    /// A body cut anywhere (a dropped connection, a proxy's limit) is an error, unless the
    /// cut left a whole document.
    #[test]
    fn truncated_bodies_fail_cleanly(seed_index in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>()) {
        let seeds = seeds();
        let (name, seed, decoder) = &seeds[seed_index.index(seeds.len())];
        let body = serde_json::to_vec_pretty(seed).unwrap_or_default();
        let cut = cut.index(body.len());
        let prefix = &body[..cut];
        let result = decoder(prefix);
        let whole = serde_json::from_slice::<Value>(prefix).is_ok();
        prop_assert!(whole || result.is_err(), "{name} cut at {cut} decoded");
    }

    /// Bytes that are not JSON at all, or JSON with garbage spliced in.
    #[test]
    fn garbage_fails_cleanly(
        seed_index in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        garbage in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let seeds = seeds();
        let (_, seed, decoder) = &seeds[seed_index.index(seeds.len())];
        prop_assert!(decoder(&garbage).is_err() || serde_json::from_slice::<Value>(&garbage).is_ok());
        let mut body = serde_json::to_vec(seed).unwrap_or_default();
        let at = at.index(body.len() + 1);
        body.splice(at..at, garbage);
        let _ = decoder(&body);
    }

    /// The text readings the collectors use on DTO strings.
    #[test]
    fn text_readings_never_panic(text in ".{0,40}", digits in "[0-9]{1,30}(\\.[0-9]{1,20})?[KMGTB]{0,2}") {
        let _ = dto::parse_size_bytes(&text);
        let _ = dto::parse_size_bytes(&digits);
        let _ = dto::parse_time_unix(&text);
        let _ = dto::parse_time_unix(&digits);
        let _ = dto::normalise_clock(&text);
    }
}
