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
    /// Kafka instances (overrides the preset).
    #[arg(long, value_name = "N")]
    kafka_instances: Option<usize>,
    /// RocketMQ instances (overrides the preset).
    #[arg(long, value_name = "N")]
    rocketmq_instances: Option<usize>,
    /// RabbitMQ instances (overrides the preset).
    #[arg(long, value_name = "N")]
    rabbitmq_instances: Option<usize>,
    /// Normal topics per Kafka instance, `__consumer_offsets` on top (overrides the preset).
    #[arg(long, value_name = "N")]
    topics_per_instance: Option<usize>,
    /// Partitions per Kafka topic (overrides the preset).
    #[arg(long, value_name = "N")]
    partitions_per_topic: Option<usize>,
    /// Consumer groups per Kafka instance (overrides the preset).
    #[arg(long, value_name = "N")]
    groups_per_instance: Option<usize>,
    /// N projects, all in `cn-north-4`, instead of the preset's (instances round-robin).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    projects: Option<u32>,
    /// Latency added before every DMS and IAM answer (e.g. `50ms`); limits count arrivals.
    #[arg(long, default_value = "0", value_parser = parse_duration)]
    latency: Duration,
    /// The API gateway's limit: N requests per second per AK (burst N), else 429 `APIGW.0308`.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    rate_limit: Option<u32>,
    /// No Cloud Eye: no CES points are recorded (a large fleet's every series, every minute)
    /// and the CES paths answer 404; the DMS `ces-hierarchy` stays.
    #[arg(long)]
    no_ces: bool,
}

impl Args {
    /// The preset with every flag applied.
    fn config(&self) -> SimConfig {
        let mut config = match self.preset {
            Preset::Deterministic => SimConfig::deterministic(),
            Preset::Demo => SimConfig::demo(),
        };
        if let Some(seed) = self.seed {
            config.seed = seed;
        }
        if matches!(self.preset, Preset::Demo) && !self.evolve_every.is_zero() {
            // The live fleet's clock follows the wall clock.
            config.tick = self.evolve_every;
        }
        let fleet = &mut config.fleet;
        let overrides = [
            (&mut fleet.kafka_instances, self.kafka_instances),
            (&mut fleet.rocketmq_instances, self.rocketmq_instances),
            (&mut fleet.rabbitmq_instances, self.rabbitmq_instances),
            (&mut fleet.topics_per_instance, self.topics_per_instance),
            (&mut fleet.partitions_per_topic, self.partitions_per_topic),
            (&mut fleet.groups_per_instance, self.groups_per_instance),
        ];
        for (field, value) in overrides {
            if let Some(value) = value {
                *field = value;
            }
        }
        if let Some(count) = self.projects {
            config.projects = SimConfig::generated_projects(config.seed, count);
        }
        config.latency = self.latency;
        config.rate_limit = self.rate_limit;
        config.ces.enabled = !self.no_ces;
        config
    }
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
    let config = args.config();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(flags: &[&str]) -> Args {
        let mut argv = vec!["dms-sim"];
        argv.extend_from_slice(flags);
        Args::try_parse_from(argv).unwrap_or_else(|e| panic!("{flags:?}: {e}"))
    }

    #[test]
    fn defaults_keep_the_preset() {
        let config = parse(&[]).config();
        let preset = SimConfig::deterministic();
        assert_eq!(config.fleet, preset.fleet);
        assert_eq!(config.projects, preset.projects);
        assert_eq!(config.latency, Duration::ZERO);
        assert_eq!(config.rate_limit, None);
        assert!(config.ces.enabled, "Cloud Eye is on by default");
        assert!(!parse(&["--no-ces"]).config().ces.enabled);
    }

    #[test]
    fn fleet_and_gateway_flags_override_the_preset() {
        let config = parse(&[
            "--preset",
            "deterministic",
            "--evolve-every",
            "0",
            "--kafka-instances",
            "1000",
            "--rocketmq-instances",
            "0",
            "--rabbitmq-instances",
            "2",
            "--topics-per-instance",
            "20",
            "--partitions-per-topic",
            "5",
            "--groups-per-instance",
            "21",
            "--projects",
            "3",
            "--latency",
            "50ms",
            "--rate-limit",
            "100",
        ])
        .config();
        let fleet = &config.fleet;
        assert_eq!(
            (
                fleet.kafka_instances,
                fleet.rocketmq_instances,
                fleet.rabbitmq_instances,
                fleet.topics_per_instance,
                fleet.partitions_per_topic,
                fleet.groups_per_instance
            ),
            (1000, 0, 2, 20, 5, 21)
        );
        assert_eq!(config.latency, Duration::from_millis(50));
        assert_eq!(config.rate_limit, Some(100));
        assert_eq!(config.projects.len(), 3);
        assert!(config.projects.iter().all(|p| p.region == "cn-north-4"));
    }

    #[test]
    fn nonsense_is_refused() {
        for flags in [
            &["--projects", "0"][..],
            &["--rate-limit", "0"],
            &["--latency", "50"],
            &["--kafka-instances", "-1"],
        ] {
            let mut argv = vec!["dms-sim"];
            argv.extend_from_slice(flags);
            assert!(Args::try_parse_from(argv).is_err(), "{flags:?}");
        }
    }
}
