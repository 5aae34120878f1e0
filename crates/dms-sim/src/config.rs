//! What a simulator is built from: credentials, IAM users, projects, the fleet's size, clocks
//! and limits; the `deterministic` (tests) and `demo` presets.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::generate;

/// An AK/SK pair the simulator accepts.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub access_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

/// An IAM user that may obtain tokens with `POST /v3/auth/tokens`.
#[derive(Clone, PartialEq, Eq)]
pub struct IamUser {
    pub name: String,
    pub password: String,
    pub domain: String,
}

impl std::fmt::Debug for IamUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IamUser")
            .field("name", &self.name)
            .field("password", &"<redacted>")
            .field("domain", &self.domain)
            .finish()
    }
}

/// An agency of this simulated account (STS `agencies/assume`): it lends temporary keys of
/// this account to the principal of another account whose key is `trusted`, when the call
/// names it (`iam::{domain_id}:agency:{name}`) and brings `external_id` if one is set.
#[derive(Clone, PartialEq, Eq)]
pub struct Agency {
    pub name: String,
    /// The other account's principal: its permanent key, which STS verifies signatures with.
    pub trusted: AccessKey,
    /// The external id the agency's trust policy requires (`sts:ExternalId`), if any.
    pub external_id: Option<String>,
    /// The agency's longest session (`duration_seconds` up to this; STS's default is 1 h).
    pub max_duration: Duration,
}

impl std::fmt::Debug for Agency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agency")
            .field("name", &self.name)
            .field("trusted", &self.trusted)
            .field(
                "external_id",
                &self.external_id.as_ref().map(|_| "<redacted>"),
            )
            .field("max_duration", &self.max_duration)
            .finish()
    }
}

/// A project: IAM resolves the region name to the project id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    pub region: String,
    pub project_id: String,
}

/// Size of the generated fleet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetSpec {
    pub kafka_instances: usize,
    /// RocketMQ (`reliability`) instances, spread over the projects like Kafka's.
    pub rocketmq_instances: usize,
    pub rabbitmq_instances: usize,
    pub brokers_per_instance: usize,
    /// Normal topics per instance; `__consumer_offsets` comes on top.
    pub topics_per_instance: usize,
    pub partitions_per_topic: usize,
    pub groups_per_instance: usize,
    pub tasks_per_instance: usize,
}

/// Which of Cloud Eye's two v1 error bodies CES paths answer with (neither has DMS's
/// `error_code`): the current `{"http_code", "message": {"code", "details"}}`, or the older
/// regions' `{"code", "element", "message", "details": {"code", "details"}}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CesErrorShape {
    Current,
    Legacy,
}

/// The Cloud Eye (CES, namespace `SYS.DMS`) side: whether the simulator records and serves
/// metrics, and how late its points become visible (see `ces`).
#[derive(Clone, Debug, PartialEq)]
pub struct CesSpec {
    /// Records a raw point per series every minute and serves the CES v1 reads; when false
    /// the CES paths answer 404 (the DMS `ces-hierarchy` stays).
    pub enabled: bool,
    /// Every raw point becomes visible at least this long after its timestamp...
    pub lateness_base: Duration,
    /// ...plus a share of this, fixed per (series, timestamp) by the seed, so points of one
    /// minute arrive out of order across series.
    pub lateness_spread: Duration,
    /// This share of points is very late: `very_late_extra` on top.
    pub very_late_fraction: f64,
    pub very_late_extra: Duration,
    /// This share of series is listed by ListMetrics but never has a datapoint.
    pub empty_series_fraction: f64,
    /// Raw points kept per series (CES keeps days; a bounded window keeps memory bounded).
    pub retention: Duration,
    /// A series whose resource is gone stays in ListMetrics this long (CES: 3 hours).
    pub linger: Duration,
    pub error_shape: CesErrorShape,
    /// History the simulator starts with: this many minutes before its start, sampled from
    /// the fleet as it starts (counters flat, so rates 0), as a real CES has history before
    /// an exporter first reads it.
    pub backfill: Duration,
}

impl CesSpec {
    /// Points 1 to 3 minutes late, one in twenty 10 minutes later still; one series in ten
    /// without datapoints; two hours of raw points.
    pub fn typical() -> Self {
        CesSpec {
            enabled: true,
            lateness_base: Duration::from_secs(60),
            lateness_spread: Duration::from_secs(120),
            very_late_fraction: 0.05,
            very_late_extra: Duration::from_secs(600),
            empty_series_fraction: 0.1,
            retention: Duration::from_secs(2 * 3600),
            linger: Duration::from_secs(3 * 3600),
            error_shape: CesErrorShape::Current,
            backfill: Duration::ZERO,
        }
    }
}

/// Everything the simulator is built from.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Seed of the deterministic fleet generation and evolution.
    pub seed: u64,
    pub fleet: FleetSpec,
    pub credentials: Vec<AccessKey>,
    pub iam_users: Vec<IamUser>,
    /// Fleet instances are spread round-robin over these projects.
    pub projects: Vec<Project>,
    /// Lifetime of IAM tokens, measured with `tokio::time::Instant` (default 24 h).
    pub token_validity: Duration,
    /// Largest accepted difference between `X-Sdk-Date` and the wall clock (default 15 min).
    pub max_clock_skew: Duration,
    /// Logical fleet clock start, unix ms.
    pub base_time_ms: i64,
    /// Logical time one [`Simulator::step`] advances (default 10 s).
    pub tick: Duration,
    /// Minimum interval between two topic-detail (R11) calls on one instance; the documented
    /// limit is one call per second. `Duration::ZERO` disables the check.
    pub topic_detail_interval: Duration,
    /// When true, `step()` also makes seeded random "life events": groups stop and restart,
    /// instances are created and deleted, new tasks start. Off in `deterministic()`.
    pub churn: bool,
    /// Added before every DMS and IAM answer (after the arrival checks: the gateway limit and
    /// the topic-detail limit count a request when it arrives). Default zero.
    pub latency: Duration,
    /// The API gateway's limit per AK (or token): this many requests per second, with a burst
    /// of as many; beyond it 429 `APIGW.0308`. `None` (default) = no limit.
    pub rate_limit: Option<u32>,
    /// Lifetime of the ECS metadata service's temporary keys (tokio time; default 1 h).
    pub temporary_key_validity: Duration,
    /// The metadata service hands out new keys this long before the current ones expire;
    /// both stay valid meanwhile (default 10 min, as documented).
    pub temporary_key_rotation: Duration,
    /// The id (`X-Idp-Id`) of the one OIDC identity provider IAM knows (a CCE cluster's).
    pub id_token_idp: String,
    /// The agency that trusts that identity provider: STS `assume-with-oidc` lends its keys
    /// for an id token, the provider's URN `iam::{domain_id}:identity-provider:{id_token_idp}`.
    pub oidc_agency: String,
    /// Cloud Eye metrics beside the DMS state.
    pub ces: CesSpec,
    /// This account's agencies, which principals of other accounts assume through STS
    /// (`sts`). None by default.
    pub agencies: Vec<Agency>,
}

impl SimConfig {
    /// A small, stable fleet for tests: 2 projects in 2 regions, 3 Kafka instances with 3 brokers,
    /// 3 topics × 3 partitions (+ `__consumer_offsets`), 3 groups (STABLE, EMPTY, STABLE) and
    /// 3 tasks (SUCCESS, FAILED, EXECUTING) each. Nothing changes unless stepped or controlled.
    pub fn deterministic() -> Self {
        SimConfig {
            seed: 0x5eed_d15c_0ffe_e001,
            fleet: FleetSpec {
                kafka_instances: 3,
                rocketmq_instances: 1,
                rabbitmq_instances: 1,
                brokers_per_instance: 3,
                topics_per_instance: 3,
                partitions_per_topic: 3,
                groups_per_instance: 3,
                tasks_per_instance: 3,
            },
            credentials: vec![AccessKey {
                access_key: "SIMULATORAK000000001".to_owned(),
                secret_key: "simulator-secret-key-0001".to_owned(),
            }],
            iam_users: vec![IamUser {
                name: "monitor".to_owned(),
                password: "monitor-password".to_owned(),
                domain: "example-domain".to_owned(),
            }],
            projects: vec![
                Project {
                    region: "cn-north-4".to_owned(),
                    project_id: "0b0e4b5d1e8f4d6c9a7f3e2d1c0b9a88".to_owned(),
                },
                Project {
                    region: "ap-southeast-1".to_owned(),
                    project_id: "1c1f5c6e2f9a5e7dab8a4f3e2d1c0a99".to_owned(),
                },
            ],
            token_validity: Duration::from_secs(24 * 3600),
            max_clock_skew: Duration::from_secs(15 * 60),
            // 2024-01-01T00:00:00Z
            base_time_ms: 1_704_067_200_000,
            tick: Duration::from_secs(10),
            topic_detail_interval: Duration::from_secs(1),
            churn: false,
            latency: Duration::ZERO,
            rate_limit: None,
            temporary_key_validity: Duration::from_secs(3600),
            temporary_key_rotation: Duration::from_secs(600),
            id_token_idp: "dms-sim-cce-idp".to_owned(),
            oidc_agency: "dms-oidc-monitoring".to_owned(),
            ces: CesSpec::typical(),
            agencies: Vec::new(),
        }
    }

    /// A lively fleet for `--demo`: 5 instances, more topics and groups, and churn.
    pub fn demo() -> Self {
        SimConfig {
            seed: 0xdee_0dee_0001,
            fleet: FleetSpec {
                kafka_instances: 5,
                rocketmq_instances: 2,
                rabbitmq_instances: 2,
                brokers_per_instance: 3,
                topics_per_instance: 6,
                partitions_per_topic: 6,
                groups_per_instance: 5,
                tasks_per_instance: 4,
            },
            churn: true,
            // A live fleet lives now: timestamps (task ages, last writes) read as real ones.
            base_time_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            ..SimConfig::deterministic()
        }
    }
}

impl SimConfig {
    /// `count` projects, all in `cn-north-4` (IAM resolves the region to the first), with
    /// distinct 32-hex ids derived from `seed`.
    pub fn generated_projects(seed: u64, count: u32) -> Vec<Project> {
        let mut rng = fastrand::Rng::with_seed(seed ^ 0x9e0_1ec7);
        let mut ids = std::collections::BTreeSet::new();
        let mut projects = Vec::new();
        while projects.len() < count as usize {
            let project_id = generate::hex_id(&mut rng, 32);
            if ids.insert(project_id.clone()) {
                projects.push(Project {
                    region: "cn-north-4".to_owned(),
                    project_id,
                });
            }
        }
        projects
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig::deterministic()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_projects_are_distinct_and_stable() {
        let projects = SimConfig::generated_projects(7, 50);
        assert_eq!(projects, SimConfig::generated_projects(7, 50));
        let ids: std::collections::BTreeSet<_> = projects.iter().map(|p| &p.project_id).collect();
        assert_eq!(ids.len(), 50);
        assert!(projects.iter().all(|p| p.region == "cn-north-4"
            && p.project_id.len() == 32
            && p.project_id.chars().all(|c| c.is_ascii_hexdigit())));
    }

    #[test]
    fn debug_hides_secrets() {
        let config = SimConfig::deterministic();
        let text = format!("{config:?}");
        assert!(!text.contains("simulator-secret-key-0001"));
        assert!(!text.contains("monitor-password"));
    }
}
