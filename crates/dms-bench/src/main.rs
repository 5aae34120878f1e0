//! `dms-bench`: the fleet-scale benchmark. Starts the release `dms-sim` and `dms_exporter`
//! side by side, then prints collection, throttling, blinking, throughput, memory and CPU
//! figures (docs/performance.md, "Collection benchmark"). Figures are printed, never asserted.

// A benchmark measures real elapsed time against real processes: the wall clock is meant.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod blink;
mod collection;
mod exporter;
mod load;
mod nginx;
mod procfs;
mod report;
mod scrape;
mod sim;
mod steady;
mod throughput;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use clap::Parser;

use crate::collection::Throttling;
use crate::exporter::Budget;
use crate::load::{Shape, Tool};
use crate::scrape::Samples;
use crate::sim::Fleet;

/// The longest the benchmark waits for one answer of the exporter or the simulator.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(120);

/// Fleet-scale benchmark of dms_exporter against dms-sim.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Simulator: Kafka instances (fleet flags are passed to dms-sim only when given).
    #[arg(long)]
    kafka_instances: Option<u32>,
    /// Simulator: RocketMQ instances (0 once any instance count is given).
    #[arg(long)]
    rocketmq_instances: Option<u32>,
    /// Simulator: RabbitMQ instances (0 once any instance count is given).
    #[arg(long)]
    rabbitmq_instances: Option<u32>,
    #[arg(long)]
    topics_per_instance: Option<u32>,
    #[arg(long)]
    partitions_per_topic: Option<u32>,
    #[arg(long)]
    groups_per_instance: Option<u32>,
    /// Simulator: projects the fleet is spread over.
    #[arg(long)]
    projects: Option<u32>,
    /// Simulator: latency of every answer, e.g. `50ms`.
    #[arg(long)]
    latency: Option<String>,
    /// Simulator: the gateway's limit per AK, requests per second (429 APIGW.0308 beyond).
    #[arg(long)]
    sim_rate_limit: Option<u32>,
    /// Exporter: `api.rate_limit`, requests per second per endpoint host.
    #[arg(long, default_value_t = 50)]
    rate_limit: u32,
    /// Exporter: `api.burst`.
    #[arg(long, default_value_t = 20)]
    burst: u32,
    /// Exporter: `api.concurrency`.
    #[arg(long, default_value_t = 16)]
    concurrency: u32,
    /// YAML appended to the exporter's configuration (e.g. a `collectors:` section); it must
    /// not repeat `regions` or `api`.
    #[arg(long)]
    intervals_file: Option<PathBuf>,
    /// How long to watch after readiness (blinking, throttling, CPU).
    #[arg(long, default_value = "10m")]
    duration: humantime::Duration,
    /// How often `/metrics` is scraped while watching.
    #[arg(long, default_value = "5s")]
    scrape_every: humantime::Duration,
    /// Throttling within this long after readiness counts as convergence, not steady state.
    #[arg(long, default_value = "2m")]
    convergence: humantime::Duration,
    /// How long the exporter may take to become ready.
    #[arg(long, default_value = "30m")]
    ready_timeout: humantime::Duration,
    /// Length of each `/metrics` load window.
    #[arg(long, default_value = "10s")]
    load_window: humantime::Duration,
    /// Connections of each load window.
    #[arg(long, default_value_t = 8)]
    load_connections: u32,
    /// The collector whose cycle end marks a "refresh" window.
    #[arg(long, default_value = "kafka_groups")]
    refresh_collector: String,
    /// Also write the figures as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also read Cloud Eye: the simulator serves it, the exporter's `ces` collector is on.
    #[arg(long)]
    ces: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    // On Ctrl-C `run` is dropped when the select ends, and with it the children, whose
    // kill_on_drop stops them; only then does the process exit.
    tokio::select! {
        result = run(args) => match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                // One line with its causes, not a backtrace: the usual failure is a missing build.
                eprintln!("dms-bench: {error:#}");
                ExitCode::FAILURE
            }
        },
        _ = tokio::signal::ctrl_c() => {
            eprintln!("interrupted: the simulator, the exporter and any load were stopped");
            ExitCode::from(130)
        }
    }
}

/// A sibling binary of this one (`target/release/…`).
fn sibling_binary(name: &str) -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe().context("locating dms-bench")?;
    let path = me.with_file_name(name);
    if !path.is_file() {
        bail!(
            "{} not found: run cargo build --release --workspace --bins first",
            path.display()
        );
    }
    Ok(path)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn work_dir() -> anyhow::Result<PathBuf> {
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let dir = std::env::temp_dir().join(format!("dms-bench-{}-{stamp}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn fleet(args: &Args) -> Fleet {
    Fleet {
        kafka_instances: args.kafka_instances,
        rocketmq_instances: args.rocketmq_instances,
        rabbitmq_instances: args.rabbitmq_instances,
        topics_per_instance: args.topics_per_instance,
        partitions_per_topic: args.partitions_per_topic,
        groups_per_instance: args.groups_per_instance,
        projects: args.projects,
        latency: args.latency.clone(),
        rate_limit: args.sim_rate_limit,
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let sim_binary = sibling_binary("dms-sim")?;
    let exporter_binary = sibling_binary("dms_exporter")?;
    let dir = work_dir()?;
    eprintln!("dms-bench: configuration and logs in {}", dir.display());
    // Generous: a million-series body takes seconds to serve on a busy machine.
    let client = reqwest::Client::builder().timeout(SCRAPE_TIMEOUT).build()?;
    let fleet = fleet(&args);
    let budget = Budget {
        rate_limit: args.rate_limit,
        burst: args.burst,
        concurrency: args.concurrency,
    };

    let simulator = sim::start(&sim_binary, &fleet, args.ces, &dir.join("dms-sim.log")).await?;
    let banner = simulator.banner.clone();
    eprintln!(
        "dms-bench: simulator on {} with {} project(s)",
        banner.address,
        banner.projects.len()
    );
    let extra = match &args.intervals_file {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => String::new(),
    };
    let extra = if args.ces {
        exporter::with_ces(&extra)
    } else {
        extra
    };
    let config_path = dir.join("dms_exporter.yml");
    std::fs::write(&config_path, exporter::config_yaml(&banner, budget, &extra))?;
    let exporter_log = dir.join("dms_exporter.log");
    let mut exporter = exporter::start(
        &exporter_binary,
        &config_path,
        free_port()?,
        &banner,
        &exporter_log,
    )
    .await?;

    let ready = exporter::wait_ready(
        &client,
        &mut exporter,
        args.ready_timeout.into(),
        &exporter_log,
    )
    .await?;
    let at_ready = Samples::parse(
        &exporter::scrape_text(&client, &exporter.base_url).await?,
        collection::is_self_metric,
    );
    eprintln!(
        "dms-bench: ready after {:.1} s; watching for {}",
        ready.as_secs_f64(),
        args.duration
    );
    let settings = steady::Settings {
        duration: args.duration.into(),
        scrape_every: args.scrape_every.into(),
        convergence: args.convergence.into(),
        refresh_collector: args.refresh_collector.clone(),
    };
    let watched = steady::run(&client, &exporter, &at_ready, &settings).await?;
    let simulator_throttled = sim::throttled_answers(&client, &banner.address).await;

    let tool = if load::wrk_installed() {
        Tool::Wrk
    } else {
        Tool::InProcess
    };
    let shape = Shape {
        connections: args.load_connections,
        window: args.load_window.into(),
        tool,
    };
    eprintln!(
        "dms-bench: loading /metrics ({tool:?}, {} windows)",
        args.load_window
    );
    let mut windows = throughput::exporter_windows(
        &client,
        &exporter,
        &args.refresh_collector,
        watched.refresh_period,
        shape,
    )
    .await?;
    if tool == Tool::Wrk && load::on_path("nginx") {
        windows.extend(
            throughput::nginx_windows(&client, &exporter, &dir, free_port()?, shape).await?,
        );
    } else {
        eprintln!("dms-bench: nginx or wrk not installed; no nginx comparison");
    }

    let report = report::Report {
        projects: banner.projects.len(),
        duration_seconds: settings.duration.as_secs_f64(),
        ready_seconds: ready.as_secs_f64(),
        first_collection: first_collection(&at_ready, budget),
        collectors: collection::collector_rows(&watched.last),
        throttling: throttling(
            &at_ready,
            &watched,
            settings.convergence,
            simulator_throttled,
        ),
        effective_rates: collection::effective_rates(&watched.last),
        exposition_bytes: watched.last_body_bytes,
        exposition_series: watched.last_series,
        rss_bytes: watched.rss_bytes,
        rss_max_bytes: watched.rss_max_bytes,
        cpu: watched.cpu,
        blink: watched.blink,
        load_tool: tool,
        windows,
        fleet,
        budget,
    };
    println!("{}", report.render());
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    drop((exporter, simulator));
    Ok(())
}

fn first_collection(at_ready: &Samples, budget: Budget) -> report::FirstCollection {
    let api_calls = collection::total_requests(at_ready);
    report::FirstCollection {
        api_calls,
        bound_seconds: api_calls / f64::from(budget.rate_limit.max(1)),
        slowest_collector_bound_seconds: at_ready
            .family(collection::EXPECTED_CYCLE_SECONDS)
            .map(|s| s.value)
            .reduce(f64::max),
    }
}

fn throttling(
    at_ready: &Samples,
    watched: &steady::Outcome,
    convergence: Duration,
    simulator_throttled: Option<u64>,
) -> report::ThrottlingReport {
    let ready = Throttling::total(at_ready);
    let end = Throttling::total(&watched.last);
    let converged = watched.after_convergence.as_ref().map(Throttling::total);
    let first_by_api = Throttling::by_api(at_ready);
    let by_api = Throttling::by_api(&watched.last)
        .into_iter()
        .map(|(api, at_end)| {
            let first = first_by_api.get(&api).copied().unwrap_or_default();
            (api, first, at_end - first)
        })
        .filter(|(_, first, after)| {
            first.any() || after.any() || first.code_404 > 0.0 || after.code_404 > 0.0
        })
        .collect();
    report::ThrottlingReport {
        first_collection: ready,
        convergence: converged.unwrap_or(end) - ready,
        convergence_seconds: convergence.as_secs_f64(),
        steady: converged.map(|converged| end - converged),
        last_throttled_after_ready_seconds: watched
            .last_throttled_after_ready
            .map(|d| d.as_secs_f64()),
        by_api,
        simulator_throttled,
    }
}

fn write_json(path: &Path, report: &report::Report) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(report)?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("dms-bench: figures written to {}", path.display());
    Ok(())
}
