//! A load generator for the simulator: AK/SK-signed requests (`dms-sign`, as the exporter's
//! client signs them) over many concurrent keep-alive connections, a mix of the endpoints a
//! collection cycle reads, and requests/s with error counts at the end.
//!
//! ```sh
//! # against a running simulator
//! cargo run --release -p dms-sim --example loadgen -- --url http://127.0.0.1:9300
//! # against an in-process one with a fleet of 1,000 Kafka instances
//! cargo run --release -p dms-sim --example loadgen -- --kafka-instances 1000
//! ```
//!
//! Topic detail is limited to one call per second per instance (counted on arrival): the
//! generator sends it to each instance at most every 1.1 s, spreading it over the fleet, and
//! sends a group detail instead when no instance is due.

// A load generator measures the wall clock, not a test's paused time.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use dms_sim::{FleetSpec, Project, SimConfig, Simulator};
use serde_json::Value;
use time::OffsetDateTime;

/// Locks `mutex`, recovering it from a panic elsewhere like the simulator's own `locks::lock`
/// (ARCHITECTURE.md, "Locks").
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Debug, Parser)]
struct Args {
    /// A running simulator; without it, one is started in this process.
    #[arg(long)]
    url: Option<String>,
    /// Only serve the in-process fleet on this address, sending nothing (to load it from
    /// another process, so client and server do not share one runtime).
    #[arg(long)]
    serve_only: Option<SocketAddr>,
    #[arg(long, default_value = "SIMULATORAK000000001")]
    ak: String,
    #[arg(long, default_value = "simulator-secret-key-0001")]
    sk: String,
    /// Project to read; default: the first one IAM lists for `cn-north-4`.
    #[arg(long)]
    project: Option<String>,
    /// Concurrent requests (each worker keeps its connection alive).
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// How long to send, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// In-process fleet: Kafka instances (one project, `cn-north-4`).
    #[arg(long, default_value_t = 1000)]
    kafka_instances: usize,
    #[arg(long, default_value_t = 20)]
    topics_per_instance: usize,
    #[arg(long, default_value_t = 5)]
    partitions_per_topic: usize,
    #[arg(long, default_value_t = 20)]
    groups_per_instance: usize,
    /// In-process fleet: step it every this many seconds (0 = never).
    #[arg(long, default_value_t = 0)]
    evolve_every_seconds: u64,
}

/// What a worker may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Endpoint {
    InstanceList,
    TopicList,
    TopicDetail,
    GroupList,
    GroupDetail,
}

/// One instance's names, found before the run.
struct Target {
    id: String,
    topics: Vec<String>,
    groups: Vec<String>,
}

struct Signer {
    base: String,
    host: String,
    ak: String,
    sk: String,
    project: String,
    client: reqwest::Client,
}

impl Signer {
    /// A signed GET of `path` (decoded) with `query`; the status and body.
    async fn get(&self, path: &str, query: &[(&str, &str)]) -> anyhow::Result<(u16, Vec<u8>)> {
        let query: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let headers = vec![
            ("Host".to_owned(), self.host.clone()),
            ("X-Project-Id".to_owned(), self.project.clone()),
            (
                dms_sign::SDK_DATE_HEADER.to_owned(),
                dms_sign::sdk_date(OffsetDateTime::now_utc()),
            ),
        ];
        let signing = dms_sign::SigningRequest {
            method: "GET",
            path,
            query: &query,
            headers: &headers,
            body: b"",
        };
        let authorization = dms_sign::authorization(&self.ak, self.sk.as_bytes(), &signing);
        let canonical = dms_sign::canonical_query(&query);
        let mut url = format!("{}{}", self.base, dms_sign::encode_path(path));
        if !canonical.is_empty() {
            url.push('?');
            url.push_str(&canonical);
        }
        let mut request = self.client.get(url).header("Authorization", authorization);
        for (name, value) in &headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let body = response.bytes().await?.to_vec();
        Ok((status, body))
    }

    async fn get_json(&self, path: &str, query: &[(&str, &str)]) -> anyhow::Result<Value> {
        let (status, body) = self.get(path, query).await?;
        if status != 200 {
            bail!("{path}: HTTP {status}: {}", String::from_utf8_lossy(&body));
        }
        Ok(serde_json::from_slice(&body)?)
    }
}

/// Counts per endpoint: answers by status class, transport errors.
#[derive(Default)]
struct Counts {
    ok: AtomicU64,
    client_error: AtomicU64,
    throttled: AtomicU64,
    server_error: AtomicU64,
    transport_error: AtomicU64,
}

struct Run {
    signer: Arc<Signer>,
    targets: Vec<Target>,
    instance_pages: usize,
    /// Round-robin cursor for instance-scoped picks.
    cursor: AtomicUsize,
    /// When each instance's topic detail was last sent (index of `targets`).
    detail_sent: Mutex<Vec<Option<Instant>>>,
    detail_cursor: AtomicUsize,
    counts: BTreeMap<Endpoint, Counts>,
    latencies_us: Mutex<Vec<u64>>,
}

const MIX: &[(Endpoint, u32)] = &[
    (Endpoint::InstanceList, 5),
    (Endpoint::TopicList, 20),
    (Endpoint::TopicDetail, 15),
    (Endpoint::GroupList, 20),
    (Endpoint::GroupDetail, 40),
];

/// Topic detail is allowed once a second per instance; keep a margin for scheduling jitter.
const DETAIL_SPACING: Duration = Duration::from_millis(1100);

impl Run {
    fn pick(&self, rng: &mut fastrand::Rng) -> Endpoint {
        let total: u32 = MIX.iter().map(|(_, w)| w).sum();
        let mut roll = rng.u32(0..total);
        for (endpoint, weight) in MIX {
            if roll < *weight {
                return *endpoint;
            }
            roll -= weight;
        }
        Endpoint::GroupDetail
    }

    /// The next instance whose topic detail is due, if any within a short scan.
    fn due_for_detail(&self) -> Option<usize> {
        let mut sent = lock(&self.detail_sent);
        let now = Instant::now();
        for _ in 0..sent.len().min(64) {
            let index = self.detail_cursor.fetch_add(1, Ordering::Relaxed) % sent.len();
            let due = sent[index].is_none_or(|at| now.duration_since(at) >= DETAIL_SPACING);
            if due {
                sent[index] = Some(now);
                return Some(index);
            }
        }
        None
    }

    async fn one(&self, rng: &mut fastrand::Rng) {
        let mut endpoint = self.pick(rng);
        let project = &self.signer.project;
        let detail_target = if endpoint == Endpoint::TopicDetail {
            let due = self.due_for_detail();
            if due.is_none() {
                endpoint = Endpoint::GroupDetail;
            }
            due
        } else {
            None
        };
        let index = detail_target.unwrap_or_else(|| self.cursor.fetch_add(1, Ordering::Relaxed))
            % self.targets.len();
        let target = &self.targets[index];
        let id = &target.id;
        let started = Instant::now();
        let result = match endpoint {
            Endpoint::InstanceList => {
                let offset = (rng.usize(0..self.instance_pages) * 50).to_string();
                let path = format!("/v2/{project}/instances");
                let query = [
                    ("engine", "kafka"),
                    ("offset", offset.as_str()),
                    ("limit", "50"),
                ];
                self.signer.get(&path, &query).await
            }
            Endpoint::TopicList => {
                let path = format!("/v2/{project}/instances/{id}/topics");
                self.signer.get(&path, &[]).await
            }
            Endpoint::TopicDetail => {
                let topic = &target.topics[rng.usize(0..target.topics.len())];
                let path = format!("/v2/{project}/instances/{id}/management/topics/{topic}");
                self.signer.get(&path, &[]).await
            }
            Endpoint::GroupList => {
                let path = format!("/v2/{project}/instances/{id}/groups");
                self.signer
                    .get(&path, &[("offset", "0"), ("limit", "50")])
                    .await
            }
            Endpoint::GroupDetail => {
                let group = &target.groups[rng.usize(0..target.groups.len())];
                let path = format!("/v2/{project}/instances/{id}/groups/{group}");
                self.signer.get(&path, &[]).await
            }
        };
        let elapsed = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let Some(counts) = self.counts.get(&endpoint) else {
            return;
        };
        let counter = match result {
            Ok((200..=299, _)) => &counts.ok,
            Ok((429, _)) => &counts.throttled,
            Ok((404, body)) if String::from_utf8_lossy(&body).contains("DMS.10240407") => {
                &counts.throttled
            }
            Ok((400..=499, _)) => &counts.client_error,
            Ok(_) => &counts.server_error,
            Err(_) => &counts.transport_error,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        lock(&self.latencies_us).push(elapsed);
    }
}

/// Every instance of the project with its topic and group names.
async fn discover(signer: &Arc<Signer>) -> anyhow::Result<(Vec<Target>, usize)> {
    let path = format!("/v2/{}/instances", signer.project);
    let mut ids = Vec::new();
    let mut total = usize::MAX;
    while ids.len() < total {
        let offset = ids.len().to_string();
        let page = signer
            .get_json(
                &path,
                &[("engine", "kafka"), ("offset", &offset), ("limit", "50")],
            )
            .await?;
        total = page["instance_num"]
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0);
        let listed = page["instances"].as_array().cloned().unwrap_or_default();
        if listed.is_empty() {
            break;
        }
        ids.extend(
            listed
                .iter()
                .filter_map(|i| i["instance_id"].as_str().map(str::to_owned)),
        );
    }
    let pages = ids.len().div_ceil(50).max(1);
    let mut targets = Vec::new();
    for chunk in ids.chunks(32) {
        let mut described = tokio::task::JoinSet::new();
        for id in chunk {
            let signer = Arc::clone(signer);
            let id = id.clone();
            described.spawn(async move { describe(&signer, id).await });
        }
        while let Some(target) = described.join_next().await {
            let target = target??;
            if !target.topics.is_empty() && !target.groups.is_empty() {
                targets.push(target);
            }
        }
    }
    if targets.is_empty() {
        bail!(
            "no Kafka instance with topics and groups in project {}",
            signer.project
        );
    }
    targets.sort_by(|a, b| a.id.cmp(&b.id));
    Ok((targets, pages))
}

async fn describe(signer: &Signer, id: String) -> anyhow::Result<Target> {
    let project = &signer.project;
    let topics = signer
        .get_json(&format!("/v2/{project}/instances/{id}/topics"), &[])
        .await?;
    let groups = signer
        .get_json(
            &format!("/v2/{project}/instances/{id}/groups"),
            &[("offset", "0"), ("limit", "50")],
        )
        .await?;
    let names = |list: &Value, key: &str, field: &str| -> Vec<String> {
        list[key]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item[field].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(Target {
        topics: names(&topics, "topics", "name"),
        groups: names(&groups, "groups", "group_id"),
        id,
    })
}

async fn start_in_process(args: &Args) -> anyhow::Result<String> {
    let address = args
        .serve_only
        .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)));
    let config = SimConfig {
        fleet: FleetSpec {
            kafka_instances: args.kafka_instances,
            rocketmq_instances: 0,
            rabbitmq_instances: 0,
            topics_per_instance: args.topics_per_instance,
            partitions_per_topic: args.partitions_per_topic,
            groups_per_instance: args.groups_per_instance,
            ..SimConfig::deterministic().fleet
        },
        projects: vec![Project {
            region: "cn-north-4".to_owned(),
            project_id: "0b0e4b5d1e8f4d6c9a7f3e2d1c0b9a88".to_owned(),
        }],
        ..SimConfig::deterministic()
    };
    let generating = Instant::now();
    let sim = Simulator::new(config);
    println!("fleet generated in {:.2?}", generating.elapsed());
    // The fleet is paused (locked for writing) while it evolves: time one step.
    let stepping = Instant::now();
    sim.step();
    println!("one evolution step in {:.2?}", stepping.elapsed());
    let listener = tokio::net::TcpListener::bind(address).await?;
    let address = listener.local_addr()?;
    if args.evolve_every_seconds > 0 {
        sim.spawn_evolution(Duration::from_secs(args.evolve_every_seconds));
    }
    if args.serve_only.is_some() {
        println!("serving on http://{address}");
        sim.serve(listener, std::future::pending()).await?;
    } else {
        tokio::spawn(async move { sim.serve(listener, std::future::pending()).await });
    }
    Ok(format!("http://{address}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let base = match &args.url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => start_in_process(&args).await?,
    };
    let host = base
        .split_once("://")
        .map(|(_, rest)| rest)
        .context("--url needs a scheme")?
        .to_owned();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .build()?;
    let mut signer = Signer {
        base,
        host,
        ak: args.ak.clone(),
        sk: args.sk.clone(),
        project: args.project.clone().unwrap_or_default(),
        client,
    };
    if signer.project.is_empty() {
        let projects = signer
            .get_json("/v3/projects", &[("name", "cn-north-4")])
            .await?;
        signer.project = projects["projects"][0]["id"]
            .as_str()
            .context("IAM lists no project for cn-north-4")?
            .to_owned();
    }
    let signer = Arc::new(signer);
    let discovering = Instant::now();
    let (targets, instance_pages) = discover(&signer).await?;
    println!(
        "{} instances discovered in {:.2?}",
        targets.len(),
        discovering.elapsed()
    );
    let run = Arc::new(Run {
        detail_sent: Mutex::new(vec![None; targets.len()]),
        signer,
        targets,
        instance_pages,
        cursor: AtomicUsize::new(0),
        detail_cursor: AtomicUsize::new(0),
        counts: MIX.iter().map(|(e, _)| (*e, Counts::default())).collect(),
        latencies_us: Mutex::new(Vec::new()),
    });
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..args.connections)
        .map(|worker| {
            let run = Arc::clone(&run);
            tokio::spawn(async move {
                let mut rng = fastrand::Rng::with_seed(worker as u64);
                while Instant::now() < deadline {
                    run.one(&mut rng).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    report(&run, elapsed, args.connections);
    Ok(())
}

fn report(run: &Run, elapsed: f64, connections: usize) {
    let mut total = 0;
    let mut failed = 0;
    println!(
        "{:<14} {:>9} {:>7} {:>9} {:>7} {:>9}",
        "endpoint", "ok", "4xx", "throttled", "5xx", "transport"
    );
    for (endpoint, counts) in &run.counts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let errors = get(&counts.client_error)
            + get(&counts.throttled)
            + get(&counts.server_error)
            + get(&counts.transport_error);
        total += get(&counts.ok) + errors;
        failed += errors;
        println!(
            "{:<14} {:>9} {:>7} {:>9} {:>7} {:>9}",
            format!("{endpoint:?}"),
            get(&counts.ok),
            get(&counts.client_error),
            get(&counts.throttled),
            get(&counts.server_error),
            get(&counts.transport_error)
        );
    }
    let mut latencies = lock(&run.latencies_us).clone();
    latencies.sort_unstable();
    let quantile = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |us| *us as f64 / 1000.0)
    };
    println!(
        "{total} requests in {elapsed:.1} s over {connections} connections: {:.0} requests/s, {failed} errors; latency p50 {:.1} ms, p99 {:.1} ms",
        total as f64 / elapsed,
        quantile(0.5),
        quantile(0.99)
    );
}
