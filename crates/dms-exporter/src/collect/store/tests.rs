use super::*;
use crate::collect::kafka::groups;
use crate::metrics::Sample;
use crate::snapshot::render;
use dms_cloud::error::{ApiError, ErrorKind};

fn scope(instance: &str) -> ScopeKey {
    ScopeKey {
        collector: "kafka_groups",
        region: "r".into(),
        project_id: "p".into(),
        instance_id: instance.into(),
    }
}

fn sample(instance: &str, group: &str, value: f64) -> Sample {
    Sample::new(
        &groups::KAFKA_GROUP_MEMBERS,
        vec![instance.into(), group.into()],
        value,
    )
}

fn error() -> ApiError {
    ApiError {
        api: "kafka_group",
        kind: ErrorKind::ServerError,
        status: Some(500),
        error_code: None,
        message: "boom".into(),
        request_id: None,
    }
}

fn text(store: &Store) -> String {
    String::from_utf8_lossy(&render(store).text.plain.to_bytes()).into_owned()
}

/// (group, value) of every members series, in exposition order.
fn values(store: &Store) -> Vec<(String, f64)> {
    text(store)
        .lines()
        .filter_map(|line| line.strip_prefix("dms_kafka_consumergroup_members{"))
        .filter_map(|rest| {
            let (labels, value) = rest.rsplit_once("} ")?;
            let group = labels.split("group=\"").nth(1)?.split('"').next()?;
            Some((group.to_owned(), value.parse().ok()?))
        })
        .collect()
}

fn pairs(expected: &[(&str, f64)]) -> Vec<(String, f64)> {
    expected
        .iter()
        .map(|(g, v)| ((*g).to_owned(), *v))
        .collect()
}

#[test]
fn failed_part_keeps_last_good_data_and_vanished_part_goes() {
    let store = Store::default();
    let now = Instant::now();
    let first = Output {
        parts: vec![
            ("a".into(), Ok(vec![sample("i", "a", 1.0)])),
            ("b".into(), Ok(vec![sample("i", "b", 2.0)])),
        ],
        ..Output::default()
    };
    store.apply(&scope("i"), Ok(&first), Duration::from_secs(60), now, 1.0);
    let second = Output {
        parts: vec![
            ("a".into(), Err(error())),
            ("c".into(), Ok(vec![sample("i", "c", 3.0)])),
        ],
        ..Output::default()
    };
    let errors = store.apply(&scope("i"), Ok(&second), Duration::from_secs(60), now, 2.0);
    assert_eq!(errors, ["server_error"]);
    assert_eq!(values(&store), pairs(&[("a", 1.0), ("c", 3.0)]));
}

#[test]
fn kept_parts_stay_unrefreshed_and_still_age_out() {
    let store = Store::default();
    let now = Instant::now();
    let max_age = Duration::from_secs(60);
    let first = Output {
        parts: vec![
            ("a".into(), Ok(vec![sample("i", "a", 1.0)])),
            ("b".into(), Ok(vec![sample("i", "b", 2.0)])),
            ("c".into(), Ok(vec![sample("i", "c", 4.0)])),
        ],
        ..Output::default()
    };
    store.apply(&scope("i"), Ok(&first), max_age, now, 1.0);
    // 30 s later: a and c are refreshed, b skipped but still there, between them.
    let later = now + Duration::from_secs(30);
    let second = Output {
        parts: vec![
            ("a".into(), Ok(vec![sample("i", "a", 5.0)])),
            ("c".into(), Ok(vec![sample("i", "c", 6.0)])),
        ],
        kept: vec!["b".into()],
        ..Output::default()
    };
    let errors = store.apply(&scope("i"), Ok(&second), max_age, later, 2.0);
    assert!(errors.is_empty());
    assert_eq!(values(&store), pairs(&[("a", 5.0), ("b", 2.0), ("c", 6.0)]));
    // Kept does not refresh: b expires a max age after its last read, a and c do not.
    let next = store.expire(now + max_age);
    assert_eq!(next, Some(later + max_age));
    assert_eq!(values(&store), pairs(&[("a", 5.0), ("c", 6.0)]));
    // Neither listed nor kept: gone at once.
    store.apply(&scope("i"), Ok(&Output::default()), max_age, later, 3.0);
    assert!(values(&store).is_empty());
}

#[test]
fn whole_failure_keeps_everything_until_max_age() {
    let store = Store::default();
    let now = Instant::now();
    let max_age = Duration::from_secs(60);
    let whole = Output::whole(vec![sample("i", "a", 1.0)]);
    store.apply(&scope("i"), Ok(&whole), max_age, now, 1.0);
    assert!(
        text(&store).contains(
            "dms_instance_collector_up{collector=\"kafka_groups\",instance_id=\"i\"} 1\n"
        )
    );
    store.apply(&scope("i"), Err(&error()), max_age, now, 2.0);
    assert_eq!(values(&store).len(), 1);
    let next = store.expire(now + Duration::from_secs(59));
    assert_eq!(next, Some(now + max_age));
    assert_eq!(values(&store).len(), 1);
    assert_eq!(store.expire(now + max_age), None);
    assert!(values(&store).is_empty());
    let text = text(&store);
    assert!(
        text.contains(
            "dms_instance_collector_up{collector=\"kafka_groups\",instance_id=\"i\"} 0\n"
        ),
        "{text}"
    );
    assert!(text.contains(
        "dms_instance_collector_last_success_timestamp_seconds{collector=\"kafka_groups\",instance_id=\"i\"} 1\n"
    ));
}

#[test]
fn vanished_instances_lose_all_their_series() {
    let store = Store::default();
    let now = Instant::now();
    for id in ["i1", "i2"] {
        let whole = Output::whole(vec![sample(id, id, 1.0)]);
        store.apply(&scope(id), Ok(&whole), Duration::from_secs(60), now, 1.0);
    }
    store.retain_instances("r", "p", &BTreeSet::from(["i2".to_owned()]));
    assert_eq!(values(&store), pairs(&[("i2", 1.0)]));
    let text = text(&store);
    assert!(!text.contains("\"i1\""), "{text}");
    assert!(text.contains("instance_id=\"i2\"} 1\n"), "{text}");
}

#[test]
fn many_instances_split_into_pages_and_stay_in_order() {
    let store = Store::default();
    let now = Instant::now();
    let max_age = Duration::from_secs(60);
    let groups: Vec<String> = (0..40)
        .map(|g| format!("group-with-a-long-name-{g:03}"))
        .collect();
    for round in 0..2 {
        for i in 0..200 {
            let id = format!("instance-{i:04}");
            let samples = groups
                .iter()
                .map(|g| sample(&id, g, f64::from(round)))
                .collect();
            store.apply(&scope(&id), Ok(&Output::whole(samples)), max_age, now, 1.0);
        }
        if round == 0 {
            // Build the pages once, so the second round replaces built fragments.
            render(&store);
        }
    }
    let encoded = render(&store);
    assert!(
        encoded.text.plain.chunks().len() > 4,
        "several pages: {}",
        encoded.text.plain.chunks().len()
    );
    let text = String::from_utf8_lossy(&encoded.text.plain.to_bytes()).into_owned();
    let members: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("dms_kafka_consumergroup_members{"))
        .collect();
    assert_eq!(members.len(), 200 * 40);
    assert!(members.is_sorted(), "series in label order");
    assert!(members.iter().all(|l| l.ends_with("} 1")));
    assert_eq!(
        text.matches("# TYPE dms_kafka_consumergroup_members")
            .count(),
        1
    );
    let gzip = encoded.text.gzip.to_bytes();
    let mut decoded = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::MultiGzDecoder::new(&gzip[..]),
        &mut decoded,
    )
    .expect("valid gzip");
    assert_eq!(decoded, text);
    // Dropping most instances leaves one page per family (members, collector up and last
    // success), each after its header.
    store.retain_instances("r", "p", &BTreeSet::from(["instance-0007".to_owned()]));
    let encoded = render(&store);
    assert_eq!(encoded.text.plain.chunks().len(), 6);
    assert_eq!(values(&store).len(), 40);
}

#[test]
fn stretched_max_age_keeps_data_longer_for_that_collector_only() {
    let store = Store::default();
    let now = Instant::now();
    let max_age = Duration::from_secs(60);
    store.apply(
        &scope("i"),
        Ok(&Output::whole(vec![sample("i", "a", 1.0)])),
        max_age,
        now,
        1.0,
    );
    let other = ScopeKey {
        collector: "kafka_partitions",
        ..scope("j")
    };
    store.apply(
        &other,
        Ok(&Output::whole(vec![sample("j", "b", 2.0)])),
        max_age,
        now,
        1.0,
    );
    store.set_max_age("kafka_groups", "r", "p", max_age + Duration::from_secs(30));
    store.expire(now + max_age);
    assert_eq!(values(&store), [("a".to_owned(), 1.0)]);
    store.expire(now + max_age + Duration::from_secs(30));
    assert!(values(&store).is_empty());
}

/// Issue 16, item 1: stretching and shrinking the max age over and over never carries data
/// past its last successful read plus the largest max age in force (the old stretch added
/// every growth to the deadline, so data outlived an outage by minutes).
#[test]
fn max_age_changes_never_ratchet_data_past_its_last_read() {
    let store = Store::default();
    let start = Instant::now();
    let max_age = Duration::from_secs(30);
    store.apply(
        &scope("i"),
        Ok(&Output::whole(vec![sample("i", "a", 1.0)])),
        max_age,
        start,
        1.0,
    );
    for _ in 0..10 {
        store.set_max_age("kafka_groups", "r", "p", Duration::from_secs(63));
        store.set_max_age("kafka_groups", "r", "p", max_age);
    }
    store.expire(start + max_age);
    assert!(
        values(&store).is_empty(),
        "gone at its last read plus the max age in force"
    );
}

/// Invariant 4: an instance's data lives no longer than discovery's listing of it.
#[test]
fn an_instance_goes_with_discoverys_listing_of_it() {
    let store = Store::default();
    let now = Instant::now();
    let discovery = ScopeKey {
        collector: "instances",
        region: "r".to_owned(),
        project_id: "p".to_owned(),
        instance_id: String::new(),
    };
    let listing = Output {
        parts: vec![
            ("kafka".to_owned(), Ok(vec![sample("", "listed", 1.0)])),
            ("rabbitmq".to_owned(), Ok(vec![sample("", "listed", 2.0)])),
        ],
        ..Output::default()
    };
    store.apply(&discovery, Ok(&listing), Duration::from_secs(30), now, 1.0);
    store.set_inventory(
        &discovery,
        BTreeMap::from([
            ("kafka".to_owned(), BTreeSet::from(["i".to_owned()])),
            ("rabbitmq".to_owned(), BTreeSet::from(["j".to_owned()])),
        ]),
    );
    let long = Duration::from_secs(900);
    store.apply(
        &scope("i"),
        Ok(&Output::whole(vec![sample("i", "a", 3.0)])),
        long,
        now,
        1.0,
    );
    store.apply(
        &scope("j"),
        Ok(&Output::whole(vec![sample("j", "b", 4.0)])),
        long,
        now,
        1.0,
    );
    // Discovery's Kafka listing fails from now on; RabbitMQ's is read again.
    let later = now + Duration::from_secs(20);
    let partial = Output {
        parts: vec![
            ("kafka".to_owned(), Err(error())),
            ("rabbitmq".to_owned(), Ok(vec![sample("", "listed", 2.0)])),
        ],
        ..Output::default()
    };
    store.apply(
        &discovery,
        Ok(&partial),
        Duration::from_secs(30),
        later,
        2.0,
    );
    store.expire(now + Duration::from_secs(31));
    let left: Vec<String> = values(&store).into_iter().map(|(label, _)| label).collect();
    assert!(left.contains(&"b".to_owned()), "{left:?}");
    assert!(
        !left.contains(&"a".to_owned()),
        "instance i went with its listing, though its own max age is 15 minutes: {left:?}"
    );
}
