//! The API vocabulary: every name the client gives a call (the `api` label of the self-metrics,
//! the keys of pacing and backoff, the simulator's endpoint names) with the IAM action an IAM
//! user needs to make it. The shipped read-only policy (`deploy/iam/`) is tested against it.
//!
//! Sources: the permission tables of the Kafka, RocketMQ and RabbitMQ API references
//! ("Permissions and supported actions", `api/*.md`). An action marked unconfirmed is not in
//! any table (Huawei SDK endpoints, or a table that does not list the path): it is the action
//! of the documented reads of the same kind, and `--check-config --online` tells the truth for
//! one account.

/// One API the client calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Api {
    /// The name of its calls.
    pub name: &'static str,
    /// The IAM action it needs; `None` for a call that needs none (asking IAM for a token).
    pub action: Option<&'static str>,
    /// Whether a permission table of the API references names the action for this path.
    pub confirmed: bool,
    /// What it is, in words (the preflight table, messages).
    pub what: &'static str,
}

const fn api(name: &'static str, action: &'static str, confirmed: bool, what: &'static str) -> Api {
    Api {
        name,
        action: Some(action),
        confirmed,
        what,
    }
}

/// `dms:instance:list`: the instance list.
pub const LIST: &str = "dms:instance:list";
/// `dms:instance:get`: every read of one instance's details.
pub const GET: &str = "dms:instance:get";
/// `dms:instance:getBackgroundTask`: background tasks.
pub const GET_TASK: &str = "dms:instance:getBackgroundTask";
/// `ces:metrics:list`: Cloud Eye's metric list (ListMetrics).
pub const CES_LIST_METRICS: &str = "ces:metrics:list";
/// `ces:metricData:list`: Cloud Eye's metric data (ShowMetricData, BatchListMetricData).
pub const CES_LIST_METRIC_DATA: &str = "ces:metricData:list";
/// `iam:projects:list`: IAM's project list, to find a region's project id.
pub const LIST_PROJECTS: &str = "iam:projects:list";

/// Every API the client calls.
pub const APIS: &[Api] = &[
    Api {
        name: "iam_token",
        action: None,
        confirmed: true,
        what: "IAM token (password credentials)",
    },
    // IAM's own reference ("KeystoneListProjects"); only a runbook of ours named it before.
    api(
        "iam_projects",
        LIST_PROJECTS,
        true,
        "IAM project list (project id discovery)",
    ),
    api("instances_list", LIST, true, "instance list"),
    api("instances_list_v1", LIST, true, "instance list, V1 API"),
    api("tasks", GET_TASK, true, "background task list"),
    api("kafka_tags", GET, false, "Kafka instance tags"),
    api("rocketmq_tags", GET, false, "RocketMQ instance tags"),
    api("rabbitmq_tags", GET, true, "RabbitMQ instance tags"),
    api("kafka_cluster", GET, false, "Kafka cluster metadata"),
    api("kafka_topics", GET, true, "Kafka topic list"),
    api("kafka_topic_detail", GET, false, "Kafka topic detail"),
    api("kafka_diskusage", GET, false, "Kafka disk usage"),
    api("kafka_groups", GET, false, "Kafka consumer group list"),
    api("kafka_group", GET, false, "Kafka consumer group detail"),
    api(
        "kafka_coordinators",
        GET,
        false,
        "Kafka consumer group coordinators",
    ),
    api(
        "kafka_partition_message",
        GET,
        true,
        "Kafka message query by partition and offset",
    ),
    api("rocketmq_brokers", GET, false, "RocketMQ broker list"),
    api(
        "rocketmq_groups",
        GET,
        false,
        "RocketMQ consumer group list",
    ),
    api(
        "rocketmq_group",
        GET,
        false,
        "RocketMQ consumer group detail",
    ),
    api(
        "rocketmq_group_topics",
        GET,
        false,
        "RocketMQ consumption of a group per topic",
    ),
    api(
        "rocketmq_group_clients",
        GET,
        false,
        "RocketMQ consumer clients of a group",
    ),
    api("rocketmq_topics", GET, false, "RocketMQ topic list"),
    api("rocketmq_topic", GET, false, "RocketMQ topic detail"),
    api(
        "rocketmq_topic_status",
        GET,
        true,
        "RocketMQ topic status (queue offsets)",
    ),
    api("rocketmq_users", GET, true, "RocketMQ ACL user list"),
    // The RabbitMQ reference names `list` for its plugin list, not `get`.
    api("rabbitmq_plugins", LIST, true, "RabbitMQ plugin list"),
    api("rabbitmq_vhosts", GET, false, "RabbitMQ vhost list"),
    api("rabbitmq_queues", GET, false, "RabbitMQ queue list"),
    api("rabbitmq_queue", GET, false, "RabbitMQ queue detail"),
    api("rabbitmq_exchanges", GET, false, "RabbitMQ exchange list"),
    // STS v5 GetCallerIdentity: any signed principal may ask who it is.
    Api {
        name: "sts_caller_identity",
        action: None,
        confirmed: false,
        what: "STS caller identity (an account's id, with accounts:)",
    },
    api("rabbitmq_users", GET, false, "RabbitMQ AMQP user list"),
    // No reference lists the quota API's action; the project-level read is `list`.
    api("quotas", LIST, false, "project instance quotas"),
    // Cloud Eye (issue 18). No permission table of our references lists these paths: the
    // hierarchy is a read of one instance, the CES actions are Cloud Eye's read-only ones.
    api(
        "ces_hierarchy",
        GET,
        false,
        "an instance's Cloud Eye dimensions (ces-hierarchy)",
    ),
    api(
        "ces_metrics",
        CES_LIST_METRICS,
        false,
        "Cloud Eye metric list",
    ),
    api(
        "ces_metric_data",
        CES_LIST_METRIC_DATA,
        false,
        "Cloud Eye data of one metric",
    ),
    api(
        "ces_batch_metric_data",
        CES_LIST_METRIC_DATA,
        false,
        "Cloud Eye data of up to 500 metrics",
    ),
];

/// The API of this name.
pub fn find(name: &str) -> Option<&'static Api> {
    APIS.iter().find(|api| api.name == name)
}

/// The IAM action `name` needs (`None` for an unknown API or one that needs none).
pub fn iam_action(name: &str) -> Option<&'static str> {
    find(name).and_then(|api| api.action)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn names_are_unique_and_actions_well_formed() {
        let names: BTreeSet<&str> = APIS.iter().map(|api| api.name).collect();
        assert_eq!(names.len(), APIS.len(), "a name appears twice");
        for api in APIS {
            if let Some(action) = api.action {
                let parts: Vec<&str> = action.split(':').collect();
                assert_eq!(parts.len(), 3, "{}: {action}", api.name);
                assert!(
                    ["dms", "iam", "ces"].contains(&parts[0]),
                    "{}: {action}",
                    api.name
                );
            }
        }
        assert_eq!(iam_action("kafka_topic_detail"), Some(GET));
        assert_eq!(iam_action("iam_token"), None);
        assert_eq!(iam_action("no_such_api"), None);
    }

    /// Endpoints the simulator serves that the client never calls (reads of one item whose
    /// list the client reads instead, and a management API it does not use).
    const SIMULATOR_ONLY: &[&str] = &[
        "instance_get",
        "instance_get_v1",
        "kafka_management_group",
        "task_get",
        "rocketmq_topic_groups",
    ];

    /// The simulator serves every API the client calls, under the same name, and nothing else
    /// but [`SIMULATOR_ONLY`]: a name added on one side only fails here.
    #[test]
    fn the_vocabulary_is_the_simulators_endpoint_list() {
        // The simulator names IAM's token endpoint in the plural; STS is a router of its own
        // there (`dms_sim::sts`), outside the gateway's endpoint list.
        let client: BTreeSet<&str> = APIS
            .iter()
            .filter(|api| api.name != "sts_caller_identity")
            .map(|api| match api.name {
                "iam_token" => "iam_tokens",
                name => name,
            })
            .chain(SIMULATOR_ONLY.iter().copied())
            .collect();
        let simulator: BTreeSet<&str> = dms_sim::ENDPOINTS.iter().copied().collect();
        assert_eq!(client, simulator);
        for name in SIMULATOR_ONLY {
            assert!(find(name).is_none(), "{name} is called: not simulator-only");
        }
    }
}
