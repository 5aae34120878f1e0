//! `dms-sim`: runs the DMS simulator as a standalone HTTP server.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use dms_sim::{SimConfig, Simulator};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Preset {
    Deterministic,
    Demo,
}

/// A faithful, stateful simulator of the Huawei Cloud DMS (Kafka) and IAM APIs.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9300")]
    listen: SocketAddr,
    /// Fleet preset.
    #[arg(long, value_enum, default_value = "deterministic")]
    preset: Preset,
    /// Step the fleet this often (e.g. `10s`, `500ms`, `1m`); `0` = never.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    evolve_every: Duration,
    /// Override the preset's seed.
    #[arg(long)]
    seed: Option<u64>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map(|i| text.split_at(i))
        .ok_or_else(|| format!("missing unit in {text:?} (use ms, s, m or h)"))?;
    let n: u64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?}"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => Err(format!(
            "unknown unit {unit:?} in {text:?} (use ms, s, m or h)"
        )),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let mut config = match args.preset {
        Preset::Deterministic => SimConfig::deterministic(),
        Preset::Demo => SimConfig::demo(),
    };
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    if matches!(args.preset, Preset::Demo) && !args.evolve_every.is_zero() {
        // The live fleet's clock follows the wall clock.
        config.tick = args.evolve_every;
    }
    let sim = Simulator::new(config.clone());
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("dms-sim listening on http://{}", listener.local_addr()?);
    for key in &config.credentials {
        println!("  AK/SK: {} / {}", key.access_key, key.secret_key);
    }
    for user in &config.iam_users {
        println!(
            "  IAM user: {} / {} (domain {})",
            user.name, user.password, user.domain
        );
    }
    for project in &config.projects {
        println!("  project: {} = {}", project.region, project.project_id);
    }
    println!("  instances: {}", sim.instance_ids().join(", "));
    if !args.evolve_every.is_zero() {
        sim.spawn_evolution(args.evolve_every);
    }
    sim.serve(listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
