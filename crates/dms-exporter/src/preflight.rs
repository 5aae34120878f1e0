//! `--check-config --online`: for every target, resolve the project and make one read of each
//! API the enabled collectors use, through the real client (signing, budget, retries), and
//! tell for each whether the account may call it.
//!
//! Instance reads use the first RUNNING instance of the matching engine from the instance list
//! (the management APIs of other instances do not answer), and a topic, group or vhost from
//! the listing read before them; listings read all their pages.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;

use dms_cloud::auth::Credentials;
use dms_cloud::dto;
use dms_cloud::error::{ApiError, ErrorKind};
use dms_cloud::{BudgetConfig, Budgets, DmsClient, Transport, apis};

use crate::collect::kafka::groups::EXACT_LAG_CALLS_LIMIT;
use crate::collect::{Scope, registry};
use crate::config::{AccountRegions, Config, Engine, RegionConfig};
use crate::metrics::self_metrics::{BuildInfo, SelfMetrics};
use crate::targets;

/// What one read gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// 401 or 403 (the gateway's or DMS's permission codes): the account may not call it.
    Denied(String),
    /// Any other failure (unreachable, timeout, 5xx, not found): not verified.
    Error(String),
    /// Not read, and why.
    Skipped(String),
}

impl Outcome {
    fn of<T>(result: &Result<T, ApiError>) -> Self {
        match result {
            Ok(_) => Outcome::Ok,
            // No temporary keys to sign with (the metadata service or IAM did not give any):
            // nothing was asked, so nothing was denied.
            Err(error)
                if error.status.is_none()
                    && error.message.starts_with(dms_cloud::NOT_SENT_WITHOUT_KEYS) =>
            {
                Outcome::Error(error.to_string())
            }
            Err(error) if matches!(error.kind, ErrorKind::Unauthorized | ErrorKind::Forbidden) => {
                let mut why = error
                    .status
                    .map(|s| format!("HTTP {s}"))
                    .unwrap_or_default();
                if let Some(code) = &error.error_code {
                    why = format!("{why} {code}").trim().to_owned();
                }
                Outcome::Denied(why)
            }
            Err(error) => Outcome::Error(error.to_string()),
        }
    }

    fn text(&self) -> String {
        match self {
            Outcome::Ok => "OK".to_owned(),
            Outcome::Denied(why) if why.is_empty() => "denied".to_owned(),
            Outcome::Denied(why) => format!("denied ({why})"),
            Outcome::Error(why) => format!("error ({why})"),
            Outcome::Skipped(why) => format!("skipped ({why})"),
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    /// `region/project` (`region/(discovered)` when IAM names the project), after
    /// `account:` with `accounts:`; an account's own reads name the account alone.
    pub target: String,
    pub api: &'static str,
    /// The engine an instance-list row is about.
    pub engine: Option<Engine>,
    pub outcome: Outcome,
}

impl Row {
    fn of(target: &str, api: &'static str, outcome: Outcome) -> Self {
        Row {
            target: target.to_owned(),
            api,
            engine: None,
            outcome,
        }
    }
}

/// Every row of every target.
#[derive(Debug, Default)]
pub struct Report {
    pub rows: Vec<Row>,
}

impl Report {
    /// 1 when a read was denied; 2 when none was but one failed otherwise (the check is
    /// incomplete); 0 when every read answered (skipped rows do not count).
    pub fn exit_code(&self) -> u8 {
        let any = |f: fn(&Outcome) -> bool| self.rows.iter().any(|row| f(&row.outcome));
        if any(|o| matches!(o, Outcome::Denied(_))) {
            1
        } else if any(|o| matches!(o, Outcome::Error(_))) {
            2
        } else {
            0
        }
    }

    /// The table: target, API, IAM action, result; then a summary line.
    pub fn table(&self) -> String {
        let cells: Vec<[String; 4]> = self
            .rows
            .iter()
            .map(|row| {
                let api = match row.engine {
                    Some(engine) => format!("{} ({})", row.api, engine.as_str()),
                    None => row.api.to_owned(),
                };
                let action = apis::iam_action(row.api).unwrap_or("-").to_owned();
                [row.target.clone(), api, action, row.outcome.text()]
            })
            .collect();
        let header = ["TARGET", "API", "IAM ACTION", "RESULT"].map(str::to_owned);
        let mut widths = header.clone().map(|h| h.len());
        for line in &cells {
            for (width, cell) in widths.iter_mut().zip(line) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for line in std::iter::once(&header).chain(&cells) {
            let _ = writeln!(
                out,
                "{:w0$}  {:w1$}  {:w2$}  {}",
                line[0],
                line[1],
                line[2],
                line[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2]
            );
        }
        let count = |f: fn(&Outcome) -> bool| self.rows.iter().filter(|r| f(&r.outcome)).count();
        let _ = writeln!(
            out,
            "{} OK, {} denied, {} error, {} skipped",
            count(|o| *o == Outcome::Ok),
            count(|o| matches!(o, Outcome::Denied(_))),
            count(|o| matches!(o, Outcome::Error(_))),
            count(|o| matches!(o, Outcome::Skipped(_))),
        );
        out
    }
}

/// The engine an API name belongs to (its prefix), `None` for those every engine shares.
fn engine_of(api: &str) -> Option<Engine> {
    Engine::ALL
        .into_iter()
        .find(|engine| api.starts_with(&format!("{}_", engine.as_str())))
}

/// The APIs the enabled collectors of a region with `engines` call, in vocabulary order.
pub fn wanted_apis(config: &Config, engines: &[Engine]) -> Vec<&'static str> {
    let mut wanted: BTreeSet<&str> = BTreeSet::new();
    for description in registry::descriptions() {
        let enabled = config
            .collectors
            .settings(description.name)
            .is_none_or(|s| s.enabled);
        let engine_ok = match description.scope {
            Scope::Instance(Some(engine)) => engines.contains(&engine),
            _ => true,
        };
        if enabled && engine_ok {
            wanted.extend(
                description
                    .apis
                    .iter()
                    .filter(|api| engine_of(api).is_none_or(|e| engines.contains(&e))),
            );
        }
    }
    apis::APIS
        .iter()
        .map(|api| api.name)
        .filter(|name| wanted.contains(name))
        .collect()
}

/// Reads every API of every target once and reports what each gave: the top-level block's
/// targets, or with `accounts:` each account's (`accounts` in the order of the file), its
/// project list for `regions: all` and its id (STS `caller-identity`) first.
pub async fn run(
    config: &Config,
    credentials: &Credentials,
    accounts: &[Credentials],
    transport: Arc<dyn Transport>,
    env_project: Option<String>,
) -> Report {
    let metrics = Arc::new(SelfMetrics::new(BuildInfo::current()));
    let mut report = Report::default();
    let budgets = || {
        let budgets = Budgets::new(BudgetConfig::default());
        crate::app::configure_budgets(&budgets, config);
        budgets
    };
    if config.accounts.is_empty() {
        let budgets = budgets();
        let account = targets::AccountTargets {
            account: "",
            credentials,
            api: &config.api,
            transport: &transport,
            budgets: &budgets,
            metrics: &metrics,
            identity: None,
            sts_endpoint: None,
        };
        let regions = config.regions.iter().map(|region| &region.value);
        let unresolved = targets::configured(&account, regions, env_project, true);
        probe_targets(config, "", unresolved, &mut report).await;
        return report;
    }
    for (spanned, credentials) in config.accounts.iter().zip(accounts) {
        let value = &spanned.value;
        // Each account its own schedulers, as in the collection: one's rejected key holds
        // no other's calls.
        let budgets = budgets();
        let identity = Arc::new(targets::AccountIdentity::new(value.account_id.clone()));
        let sts_endpoint = value.identity_endpoint();
        let account = targets::AccountTargets {
            account: &value.name,
            credentials,
            api: &config.api,
            transport: &transport,
            budgets: &budgets,
            metrics: &metrics,
            identity: Some(&identity),
            sts_endpoint: sts_endpoint.as_deref(),
        };
        let mut regions: Vec<RegionConfig> = value
            .regions
            .listed()
            .iter()
            .map(|r| r.value.clone())
            .collect();
        if matches!(value.regions, AccountRegions::All) {
            let settings = value.discovery.clone().unwrap_or_default();
            let target = format!("{}:(all projects)", value.name);
            match targets::Discovery::new(&account, &settings) {
                Ok(discovery) => {
                    let listed = discovery.client.all_projects().await;
                    if let Ok(projects) = &listed {
                        regions.extend(projects.iter().filter_map(|p| discovery.region_of(p)));
                    }
                    report
                        .rows
                        .push(Row::of(&target, "iam_projects", Outcome::of(&listed)));
                }
                Err(error) => report.rows.push(Row::of(
                    &target,
                    "iam_projects",
                    Outcome::Error(format!("no client: {error}")),
                )),
            }
        }
        let unresolved = targets::configured(&account, regions.iter(), None, true);
        let outcome = if !identity.to_learn() {
            Outcome::Skipped("account_id is configured".to_owned())
        } else if let Some(Ok(client)) = unresolved.first().map(targets::Unresolved::client) {
            Outcome::of(&identity.id(client).await)
        } else {
            Outcome::Skipped("no target to ask from".to_owned())
        };
        report
            .rows
            .push(Row::of(&value.name, "sts_caller_identity", outcome));
        probe_targets(config, &format!("{}:", value.name), unresolved, &mut report).await;
    }
    report
}

/// Probes each target, its rows labelled `{prefix}{region}/{project}`.
async fn probe_targets(
    config: &Config,
    prefix: &str,
    unresolved: Vec<targets::Unresolved>,
    report: &mut Report,
) {
    for unresolved in unresolved {
        let (_, region, project) = unresolved.key();
        let label = if project.is_empty() {
            format!("{prefix}{region}/(discovered)")
        } else {
            format!("{prefix}{region}/{project}")
        };
        let engines = unresolved.engines().to_vec();
        let wanted = wanted_apis(config, &engines);
        let mut probe = Probe {
            target: label,
            rows: Vec::new(),
        };
        match unresolved.client() {
            Ok(client) => {
                probe
                    .target(client, config, &engines, &wanted, project.is_empty())
                    .await;
            }
            Err(error) => {
                let why = format!("no client: {error}");
                for api in wanted {
                    probe.push(api, None, Outcome::Error(why.clone()));
                }
            }
        }
        report.rows.extend(probe.rows);
    }
}

/// The instances and names later reads need, from the listings read before them.
#[derive(Default)]
struct Found {
    /// The first RUNNING instance of each engine (and whether it has ACL on).
    instances: Vec<(Engine, dto::Instance)>,
    names: BTreeMap<&'static str, String>,
}

struct Probe {
    target: String,
    rows: Vec<Row>,
}

impl Probe {
    fn push(&mut self, api: &'static str, engine: Option<Engine>, outcome: Outcome) {
        self.rows.push(Row {
            target: self.target.clone(),
            api,
            engine,
            outcome,
        });
    }

    fn record<T>(&mut self, api: &'static str, result: &Result<T, ApiError>) {
        self.push(api, None, Outcome::of(result));
    }

    async fn target(
        &mut self,
        client: &DmsClient,
        config: &Config,
        engines: &[Engine],
        wanted: &[&'static str],
        discovered: bool,
    ) {
        let project = client.project_id().await;
        if discovered {
            self.record("iam_projects", &project);
        }
        if let Err(error) = project {
            for api in wanted {
                self.push(
                    api,
                    None,
                    Outcome::Skipped(format!("no project id: {}", error.kind)),
                );
            }
            return;
        }
        let mut found = Found::default();
        for api in wanted.iter().copied() {
            match api {
                "instances_list" => {
                    for engine in engines {
                        let listed = client.list_instances(*engine).await;
                        if let Ok(instances) = &listed
                            && let Some(first) = instances.iter().find(|i| i.status == "RUNNING")
                        {
                            found.instances.push((*engine, first.clone()));
                        }
                        self.push(api, Some(*engine), Outcome::of(&listed));
                    }
                }
                "instances_list_v1" => {
                    let outcome = if client.uses_v1_instance_list() {
                        Outcome::Ok
                    } else {
                        Outcome::Skipped("read only when the V2 list answers 404".to_owned())
                    };
                    self.push(api, None, outcome);
                }
                "quotas" => {
                    let result = client.quotas().await;
                    self.record(api, &result);
                }
                _ => {
                    let outcome = self.instance_read(client, config, api, &mut found).await;
                    self.push(api, None, outcome);
                }
            }
        }
    }

    /// One read of an instance-level API.
    async fn instance_read(
        &mut self,
        client: &DmsClient,
        config: &Config,
        api: &'static str,
        found: &mut Found,
    ) -> Outcome {
        let engine = engine_of(api);
        let instance = found
            .instances
            .iter()
            .find(|(e, _)| engine.is_none_or(|engine| engine == *e))
            .map(|(_, instance)| instance);
        let Some(instance) = instance.cloned() else {
            return Outcome::Skipped(match engine {
                Some(engine) => format!("no running {} instance", engine.as_str()),
                None => "no running instance".to_owned(),
            });
        };
        let id = instance.instance_id.as_str();
        let name = |found: &Found, key: &str| found.names.get(key).cloned();
        macro_rules! named {
            ($key:expr, $what:expr) => {
                match name(found, $key) {
                    Some(name) => name,
                    None => return Outcome::Skipped(format!("no {} to read", $what)),
                }
            };
        }
        match api {
            "tasks" => Outcome::of(&client.tasks(id, 1).await),
            "kafka_tags" | "rocketmq_tags" | "rabbitmq_tags" => match engine {
                Some(engine) => Outcome::of(&client.instance_tags(engine, id).await),
                None => Outcome::Skipped("no engine for a tag read".to_owned()),
            },
            "kafka_cluster" => Outcome::of(&client.kafka_cluster(id).await),
            "kafka_diskusage" => Outcome::of(&client.kafka_disk_usage(id, "1G").await),
            "kafka_topics" => {
                let result = client.kafka_topics(id).await;
                if let Ok(list) = &result
                    && let Some(topic) = list.topics.first()
                {
                    found.names.insert("kafka_topic", topic.name.clone());
                }
                Outcome::of(&result)
            }
            "kafka_topic_detail" => {
                let topic = named!("kafka_topic", "topic");
                Outcome::of(&client.kafka_topic_detail(id, &topic).await)
            }
            "kafka_groups" => {
                let result = client.kafka_groups(id).await;
                if let Ok(groups) = &result
                    && let Some(group) = groups.first()
                {
                    found.names.insert("kafka_group", group.group_id.clone());
                }
                Outcome::of(&result)
            }
            "kafka_group" => {
                let group = named!("kafka_group", "consumer group");
                Outcome::of(&client.kafka_group(id, &group).await)
            }
            "kafka_partition_message" => {
                if config.collectors.option(&EXACT_LAG_CALLS_LIMIT) == 0 {
                    return Outcome::Skipped(format!("{} is 0", EXACT_LAG_CALLS_LIMIT.spec.key));
                }
                let topic = named!("kafka_topic", "topic");
                Outcome::of(&client.kafka_partition_message(id, &topic, 0, 0).await)
            }
            "rocketmq_brokers" => Outcome::of(&client.rocketmq_brokers(id).await),
            "rocketmq_groups" => {
                let result = client.rocketmq_groups(id).await;
                if let Ok(groups) = &result
                    && let Some(group) = groups.items.first()
                {
                    found.names.insert("rocketmq_group", group.name.clone());
                }
                Outcome::of(&result)
            }
            "rocketmq_group_topics" => {
                let group = named!("rocketmq_group", "consumer group");
                let result = client.rocketmq_group_topics(id, &group).await;
                if let Ok(topics) = &result
                    && let Some(topic) = topics.first()
                {
                    found
                        .names
                        .entry("rocketmq_topic")
                        .or_insert_with(|| topic.clone());
                }
                Outcome::of(&result)
            }
            "rocketmq_group_clients" => {
                let group = named!("rocketmq_group", "consumer group");
                Outcome::of(&client.rocketmq_group_clients(id, &group).await)
            }
            "rocketmq_topics" => {
                let result = client.rocketmq_topics(id).await;
                if let Ok(topics) = &result
                    && let Some(topic) = topics.items.first()
                {
                    found.names.insert("rocketmq_topic", topic.name.clone());
                }
                Outcome::of(&result)
            }
            "rocketmq_topic_status" => {
                let topic = named!("rocketmq_topic", "topic");
                Outcome::of(&client.rocketmq_topic_status(id, &topic).await)
            }
            "rocketmq_users" => {
                // The user list answers only with ACL on, as the collector reads it.
                if instance.enable_acl != Some(true) {
                    return Outcome::Skipped(
                        "the running rocketmq instance has ACL off".to_owned(),
                    );
                }
                Outcome::of(&client.rocketmq_users(id).await)
            }
            "rabbitmq_plugins" => Outcome::of(&client.rabbitmq_plugins(id).await),
            "rabbitmq_vhosts" => {
                let result = client.rabbitmq_vhosts(id).await;
                if let Ok(vhosts) = &result
                    && let Some(vhost) = vhosts.first()
                {
                    found.names.insert("rabbitmq_vhost", vhost.name.clone());
                }
                Outcome::of(&result)
            }
            "rabbitmq_queues" => {
                let vhost = named!("rabbitmq_vhost", "vhost");
                Outcome::of(&client.rabbitmq_queues(id, &vhost).await)
            }
            "rabbitmq_exchanges" => {
                let vhost = named!("rabbitmq_vhost", "vhost");
                Outcome::of(&client.rabbitmq_exchange_count(id, &vhost).await)
            }
            "rabbitmq_users" => Outcome::of(&client.rabbitmq_users(id).await),
            other => Outcome::Error(format!("the preflight has no read of {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_without_temporary_keys_is_an_error_not_a_denial() {
        let unsent = ApiError::new(
            "kafka_topics",
            ErrorKind::Unauthorized,
            format!(
                "{} (ecs_metadata: no answer from http://169.254.169.254/openstack/latest/securitykey)",
                dms_cloud::NOT_SENT_WITHOUT_KEYS
            ),
        );
        let outcome = Outcome::of::<()>(&Err(unsent));
        assert!(
            matches!(&outcome, Outcome::Error(why) if why.contains("ecs_metadata")),
            "{}",
            outcome.text()
        );
        let mut denied = ApiError::new("kafka_topics", ErrorKind::Forbidden, "no");
        denied.status = Some(403);
        assert!(matches!(
            Outcome::of::<()>(&Err(denied)),
            Outcome::Denied(_)
        ));
    }

    #[test]
    fn exit_code_denied_wins_over_error() {
        let row = |outcome| Row {
            target: "r/p".into(),
            api: "kafka_topics",
            engine: None,
            outcome,
        };
        let mut report = Report {
            rows: vec![row(Outcome::Ok), row(Outcome::Skipped("x".into()))],
        };
        assert_eq!(report.exit_code(), 0);
        report.rows.push(row(Outcome::Error("timeout".into())));
        assert_eq!(report.exit_code(), 2);
        report.rows.push(row(Outcome::Denied("HTTP 403".into())));
        assert_eq!(report.exit_code(), 1);
        let table = report.table();
        assert!(table.contains("dms:instance:get"), "{table}");
        assert!(table.contains("denied (HTTP 403)"), "{table}");
        assert!(
            table.ends_with("1 OK, 1 denied, 1 error, 1 skipped\n"),
            "{table}"
        );
    }
}
