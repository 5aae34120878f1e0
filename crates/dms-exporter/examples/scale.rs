//! Scale harness for the store → exposition path: fills a store with ~1 million series shaped
//! like 1,000 Kafka instances, then reports exposition size, resident memory and the cost of
//! one instance's consumer-group refresh. Run with
//! `cargo run --release -p dms_exporter --example scale` (numbers in docs/performance.md).
//!
//! `SCALE_DUMP=dir` also writes the text body plain and gzip (for nginx to serve the same
//! bytes); `SCALE_SERVE=addr` then serves `/metrics` while one instance's groups are
//! refreshed every `SCALE_REFRESH_MS` (default 1000), for `wrk`. `SCALE_BULK=1` renders
//! only once the store is full (the worst case for peak memory).

// A harness that measures real elapsed time and paces a real refresh thread: the wall clock
// is meant.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::time::{Duration, Instant as WallClock};

use dms_exporter::collect::Output;
use dms_exporter::collect::kafka::groups::{self, GROUP_STATES};
use dms_exporter::collect::kafka::{partitions, topics};
use dms_exporter::collect::scheduler::Readiness;
use dms_exporter::collect::store::{ScopeKey, Store};
use dms_exporter::http::ServerState;
use dms_exporter::metrics::Samples;
use dms_exporter::metrics::self_metrics::{BuildInfo, SelfMetrics};
use dms_exporter::snapshot::{self, SnapshotHandle};
use std::sync::Arc;
use tokio::time::Instant;

const INSTANCES: usize = 1_000;
const TOPICS: usize = 50;
const PARTITIONS_PER_TOPIC: usize = 2;
const GROUPS: usize = 20;
/// Each group consumes this many topics (all their partitions).
const TOPICS_PER_GROUP: usize = 2;
const MAX_AGE: Duration = Duration::from_secs(3600);

fn instance_id(i: usize) -> String {
    format!("{i:08x}-5f3c-4a8e-9b1d-{:012x}", i * 7919)
}

fn topic(t: usize) -> String {
    format!("events-{t:03}")
}

fn scope(collector: &'static str, i: usize) -> ScopeKey {
    ScopeKey {
        collector,
        region: "cn-north-4".into(),
        project_id: "0b6a8c1e2f3d4e5f6a7b8c9d0e1f2a3b".into(),
        instance_id: instance_id(i),
    }
}

fn topics_output(i: usize) -> Output {
    let id = instance_id(i);
    let mut s = Samples::default();
    for t in 0..TOPICS {
        let name = topic(t);
        s.push(&topics::KAFKA_TOPIC_PARTITIONS, [id.as_str(), &name], 2.0);
        s.push(&topics::KAFKA_TOPIC_REPLICATION, [id.as_str(), &name], 3.0);
        s.push(
            &topics::KAFKA_TOPIC_RETENTION,
            [id.as_str(), &name],
            259_200.0,
        );
    }
    Output::whole(s.into())
}

fn partitions_output(i: usize, round: u64) -> Output {
    let id = instance_id(i);
    let mut output = Output::default();
    for t in 0..TOPICS {
        let name = topic(t);
        let mut s = Samples::default();
        for p in 0..PARTITIONS_PER_TOPIC {
            let part = p.to_string();
            let labels = [id.as_str(), name.as_str(), part.as_str()];
            s.push(&partitions::KAFKA_PARTITION_LEADER, labels, (p % 3) as f64);
            s.push(&partitions::KAFKA_PARTITION_REPLICAS, labels, 3.0);
            s.push(&partitions::KAFKA_PARTITION_ISR, labels, 3.0);
            s.push(&partitions::KAFKA_PARTITION_UNDER_REPLICATED, labels, 0.0);
            s.push(
                &partitions::KAFKA_PARTITION_LOG_END_OFFSET,
                labels,
                (1_000_000 + round * 977 + (t * p) as u64) as f64,
            );
        }
        output.parts.push((name, Ok(s.into())));
    }
    output
}

fn groups_output(i: usize, round: u64) -> Output {
    let id = instance_id(i);
    let mut output = Output::default();
    for g in 0..GROUPS {
        let group = format!("svc-consumer-{g:02}");
        let mut s = Samples::default();
        s.push_state_set(
            &groups::KAFKA_GROUP_STATE,
            [id.as_str(), &group],
            GROUP_STATES,
            "STABLE",
        );
        s.push(&groups::KAFKA_GROUP_MEMBERS, [id.as_str(), &group], 4.0);
        for k in 0..TOPICS_PER_GROUP {
            let name = topic((g + k * 7) % TOPICS);
            let mut sum = 0.0;
            for p in 0..PARTITIONS_PER_TOPIC {
                let part = p.to_string();
                let labels = [id.as_str(), group.as_str(), name.as_str(), part.as_str()];
                let end = (5_000_000 + round * 1_013 + (g * p) as u64) as f64;
                let lag = ((round + p as u64) % 50) as f64;
                sum += lag;
                s.push(&groups::KAFKA_GROUP_LAG, labels, lag);
                s.push(&groups::KAFKA_GROUP_CURRENT_OFFSET, labels, end - lag);
                s.push(&groups::KAFKA_GROUP_LOG_END_OFFSET, labels, end);
            }
            s.push(
                &groups::KAFKA_GROUP_TOPIC_LAG,
                [id.as_str(), &group, &name],
                sum,
            );
        }
        output.parts.push((group, Ok(s.into())));
    }
    output
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(field).map(str::to_owned))
        })
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// CPU time of the calling thread (the harness is single-threaded).
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .map(Duration::from_nanos)
        .unwrap_or_default()
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() {
    let store = Store::default();
    let now = Instant::now();
    let started = WallClock::now();
    for i in 0..INSTANCES {
        store.apply(
            &scope("kafka_topics", i),
            Ok(&topics_output(i)),
            MAX_AGE,
            now,
            1.0,
        );
        store.apply(
            &scope("kafka_partitions", i),
            Ok(&partitions_output(i, 0)),
            MAX_AGE,
            now,
            1.0,
        );
        store.apply(
            &scope("kafka_groups", i),
            Ok(&groups_output(i, 0)),
            MAX_AGE,
            now,
            1.0,
        );
        // The publisher folds changes in every 200 ms while collectors fill the store.
        if std::env::var_os("SCALE_BULK").is_none() && i % 10 == 9 {
            snapshot::render(&store);
        }
    }
    let filled = started.elapsed();

    let fill_cpu = thread_cpu();
    let (wall, cpu) = (WallClock::now(), thread_cpu());
    let mut encoded = snapshot::render(&store);
    let full_encode = (wall.elapsed(), thread_cpu() - cpu);
    let text_bytes = encoded.text.plain.len() as u64;
    let rss = status_kib("VmRSS:") * 1024;

    let mut updates = Vec::new();
    for round in 1..=5u64 {
        let i = (round as usize * 131) % INSTANCES;
        let output = groups_output(i, round);
        let (wall, cpu) = (WallClock::now(), thread_cpu());
        store.apply(&scope("kafka_groups", i), Ok(&output), MAX_AGE, now, 2.0);
        encoded = snapshot::render(&store);
        updates.push((wall.elapsed(), thread_cpu() - cpu));
    }
    updates.sort();
    let (update_wall, update_cpu) = updates[updates.len() / 2];
    let rss_after = status_kib("VmRSS:") * 1024;
    let hwm = status_kib("VmHWM:") * 1024;

    println!("series:                    {}", encoded.series);
    println!("fill (applies + renders):  {filled:.2?} wall, {fill_cpu:.2?} CPU");
    println!("text exposition:           {:.1} MiB", mib(text_bytes));
    println!(
        "OpenMetrics / gzip text:   {:.1} MiB / {:.1} MiB",
        mib(encoded.openmetrics.plain.len() as u64),
        mib(encoded.text.gzip.len() as u64)
    );
    println!(
        "VmRSS after full encode:   {:.0} MiB = {:.2} × text",
        mib(rss),
        rss as f64 / text_bytes as f64
    );
    println!(
        "VmRSS after updates:       {:.0} MiB = {:.2} × text (VmHWM {:.0} MiB = {:.2} ×)",
        mib(rss_after),
        rss_after as f64 / text_bytes as f64,
        mib(hwm),
        hwm as f64 / text_bytes as f64
    );
    println!(
        "full encode:               {:.2?} wall, {:.2?} CPU",
        full_encode.0, full_encode.1
    );
    println!(
        "one group update+publish:  {update_wall:.2?} wall, {update_cpu:.2?} CPU (median of 5)"
    );
    println!(
        "body chunks text plain/gzip: {} / {}",
        encoded.text.plain.chunks().len(),
        encoded.text.gzip.chunks().len()
    );
    if let Ok(dir) = std::env::var("SCALE_DUMP") {
        let dir = std::path::Path::new(&dir);
        std::fs::write(dir.join("metrics"), encoded.text.plain.to_bytes()).expect("write plain");
        std::fs::write(dir.join("metrics.gz"), encoded.text.gzip.to_bytes()).expect("write gzip");
    }
    if let Ok(address) = std::env::var("SCALE_SERVE") {
        serve(store, encoded, &address);
    }
}

/// Serves the store's snapshot over HTTP, refreshing one instance's groups periodically.
fn serve(store: Store, encoded: snapshot::Encoded, address: &str) {
    let every = std::env::var("SCALE_REFRESH_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(Duration::from_secs(1), Duration::from_millis);
    let handle: SnapshotHandle = Arc::new(arc_swap::ArcSwap::from_pointee(encoded));
    let store = Arc::new(store);
    let (publisher_store, publisher_handle) = (Arc::clone(&store), Arc::clone(&handle));
    std::thread::spawn(move || {
        for round in 10u64.. {
            std::thread::sleep(every);
            let i = (round as usize * 131) % INSTANCES;
            let output = groups_output(i, round);
            let now = Instant::now();
            publisher_store.apply(&scope("kafka_groups", i), Ok(&output), MAX_AGE, now, 3.0);
            publisher_handle.store(Arc::new(snapshot::render(&publisher_store)));
        }
    });
    let state = ServerState {
        snapshot: handle,
        self_metrics: Arc::new(SelfMetrics::new(BuildInfo {
            version: "scale".into(),
            revision: "scale".into(),
            rustc: "scale".into(),
            build_date: "scale".into(),
        })),
        readiness: Arc::new(Readiness::pending_startup()),
        telemetry_path: "/metrics".into(),
        collectors: Default::default(),
        config_file: None,
        reload: None,
        lifecycle: false,
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(address).await.expect("bind");
        println!("serving http://{address}/metrics");
        axum::serve(listener, dms_exporter::http::router(state))
            .await
            .expect("serve");
    });
}
