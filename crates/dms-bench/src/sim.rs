//! Starting the release `dms-sim` with the benchmark's fleet and reading its banner.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// How long the simulator may take to print its banner.
const BANNER_TIMEOUT: Duration = Duration::from_secs(60);

/// The fleet flags; each is passed only when given, so the benchmark also runs against a
/// simulator that does not know them yet (its preset's fleet then applies).
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct Fleet {
    pub kafka_instances: Option<u32>,
    pub rocketmq_instances: Option<u32>,
    pub rabbitmq_instances: Option<u32>,
    pub topics_per_instance: Option<u32>,
    pub partitions_per_topic: Option<u32>,
    pub groups_per_instance: Option<u32>,
    pub projects: Option<u32>,
    pub latency: Option<String>,
    pub rate_limit: Option<u32>,
}

impl Fleet {
    /// The simulator's command-line flags for this fleet. Once any instance count is given,
    /// RocketMQ and RabbitMQ default to none: the benchmark is a Kafka fleet.
    pub(crate) fn flags(&self) -> Vec<String> {
        let sized = self.kafka_instances.is_some()
            || self.rocketmq_instances.is_some()
            || self.rabbitmq_instances.is_some();
        let counts = [
            ("--kafka-instances", self.kafka_instances),
            (
                "--rocketmq-instances",
                self.rocketmq_instances.or(sized.then_some(0)),
            ),
            (
                "--rabbitmq-instances",
                self.rabbitmq_instances.or(sized.then_some(0)),
            ),
            ("--topics-per-instance", self.topics_per_instance),
            ("--partitions-per-topic", self.partitions_per_topic),
            ("--groups-per-instance", self.groups_per_instance),
            ("--projects", self.projects),
            ("--rate-limit", self.rate_limit),
        ];
        let mut flags = Vec::new();
        for (flag, value) in counts {
            if let Some(value) = value {
                flags.extend([flag.to_owned(), value.to_string()]);
            }
        }
        if let Some(latency) = &self.latency {
            flags.extend(["--latency".to_owned(), latency.clone()]);
        }
        flags
    }
}

/// What the simulator's banner says.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub(crate) struct Banner {
    pub address: String,
    #[serde(skip)]
    pub access_key: String,
    #[serde(skip)]
    pub secret_key: String,
    /// `(region, project id)`, in banner order.
    pub projects: Vec<(String, String)>,
}

impl Banner {
    /// Folds one banner line in; returns whether the line was understood.
    pub(crate) fn read_line(&mut self, line: &str) -> bool {
        if let Some(url) = line.strip_prefix("dms-sim listening on ") {
            self.address = url.trim().trim_start_matches("http://").to_owned();
        } else if let Some(keys) = line.trim_start().strip_prefix("AK/SK:") {
            let Some((ak, sk)) = keys.split_once(" / ") else {
                return false;
            };
            // The first key is the one the exporter uses.
            if self.access_key.is_empty() {
                self.access_key = ak.trim().to_owned();
                self.secret_key = sk.trim().to_owned();
            }
        } else if let Some(project) = line.trim_start().strip_prefix("project:") {
            let Some((region, id)) = project.split_once(" = ") else {
                return false;
            };
            self.projects
                .push((region.trim().to_owned(), id.trim().to_owned()));
        } else {
            return false;
        }
        true
    }

    fn complete(&self) -> bool {
        !self.address.is_empty() && !self.access_key.is_empty() && !self.projects.is_empty()
    }
}

pub(crate) struct Simulator {
    /// Held so that dropping the simulator stops the process (kill_on_drop).
    _child: Child,
    pub banner: Banner,
}

/// Starts `dms-sim` on a free loopback port with a fleet that never evolves, so any series
/// that blinks is the exporter's doing; without Cloud Eye unless `ces` (its series cost the
/// simulator memory and start-up time at fleet scale; with a clock that does not move, its
/// answers hold no points, but the calls are the exporter's real ones).
pub(crate) async fn start(
    binary: &Path,
    fleet: &Fleet,
    ces: bool,
    log: &Path,
) -> anyhow::Result<Simulator> {
    let mut command = Command::new(binary);
    command
        .args(["--listen", "127.0.0.1:0", "--preset", "deterministic"])
        .args(["--evolve-every", "0"])
        .args(if ces { None } else { Some("--no-ces") })
        .args(fleet.flags())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?)
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let stdout = child.stdout.take().context("no stdout from dms-sim")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut banner = Banner::default();
    let reading = async {
        // The banner ends with the instance list; the project lines come before it.
        while let Some(line) = lines.next_line().await? {
            banner.read_line(&line);
            if line.trim_start().starts_with("instances:") {
                break;
            }
        }
        anyhow::Ok(())
    };
    match tokio::time::timeout(BANNER_TIMEOUT, reading).await {
        Ok(result) => result?,
        Err(_) => bail!(
            "dms-sim printed no complete banner within {}s (see {})",
            BANNER_TIMEOUT.as_secs(),
            log.display()
        ),
    }
    if !banner.complete() {
        let status = child.try_wait()?;
        bail!(
            "dms-sim stopped or printed an incomplete banner ({banner:?}, exit {status:?}); \
             see {} — does it know the fleet flags {:?}?",
            log.display(),
            fleet.flags()
        );
    }
    // Keep draining stdout so the simulator never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(Simulator {
        _child: child,
        banner,
    })
}

/// The simulator's own count of throttled answers, when `/_sim/requests` reports one
/// (a key naming throttling or 429); `None` when it does not.
pub(crate) async fn throttled_answers(client: &reqwest::Client, address: &str) -> Option<u64> {
    let counts: serde_json::Map<String, serde_json::Value> = client
        .get(format!("http://{address}/_sim/requests"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    throttled_in_counts(&counts)
}

fn throttled_in_counts(counts: &serde_json::Map<String, serde_json::Value>) -> Option<u64> {
    let throttled: Vec<u64> = counts
        .iter()
        .filter(|(key, _)| {
            let key = key.to_ascii_lowercase();
            key.contains("throttl") || key.contains("429") || key.contains("rate_limit")
        })
        .filter_map(|(_, value)| value.as_u64())
        .collect();
    (!throttled.is_empty()).then(|| throttled.iter().sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_banner() {
        let mut banner = Banner::default();
        let text = "dms-sim listening on http://127.0.0.1:40123\n  AK/SK: AKIA1 / secret1\n  \
                    AK/SK: AKIA2 / secret2\n  IAM user: u / p (domain d)\n  project: cn-north-4 = \
                    p1\n  project: ap-southeast-1 = p2\n  instances: a, b\n";
        for line in text.lines() {
            banner.read_line(line);
        }
        assert_eq!(banner.address, "127.0.0.1:40123");
        assert_eq!(
            (banner.access_key.as_str(), banner.secret_key.as_str()),
            ("AKIA1", "secret1")
        );
        assert_eq!(
            banner.projects,
            [
                ("cn-north-4".to_owned(), "p1".to_owned()),
                ("ap-southeast-1".to_owned(), "p2".to_owned())
            ]
        );
        assert!(banner.complete());
    }

    #[test]
    fn fleet_flags_are_passed_only_when_given() {
        assert!(Fleet::default().flags().is_empty());
        let fleet = Fleet {
            kafka_instances: Some(1000),
            latency: Some("50ms".to_owned()),
            rate_limit: Some(250),
            ..Fleet::default()
        };
        assert_eq!(
            fleet.flags().join(" "),
            "--kafka-instances 1000 --rocketmq-instances 0 --rabbitmq-instances 0 \
             --rate-limit 250 --latency 50ms"
        );
    }

    #[test]
    fn finds_throttle_counts_when_exposed() {
        let counts = serde_json::json!({"kafka_groups": 10, "throttled_429": 3});
        assert_eq!(throttled_in_counts(counts.as_object().unwrap()), Some(3));
        let counts = serde_json::json!({"kafka_groups": 10});
        assert_eq!(throttled_in_counts(counts.as_object().unwrap()), None);
    }
}
