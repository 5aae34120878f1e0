//! The endpoint vocabulary: every request the simulator serves has one [`Endpoint`], and its
//! name (request log, counts, fault rules, the client's `api` label) comes from the one list
//! below, so a route, a dispatch arm and [`ENDPOINTS`] cannot disagree. The client's own
//! vocabulary (`dms_cloud::apis::APIS`) is tested against [`ENDPOINTS`] in `dms-cloud`.

/// Declares [`Endpoint`], its names and [`ENDPOINTS`] from one list.
macro_rules! endpoints {
    ($($variant:ident = $name:literal,)*) => {
        /// An endpoint the simulator serves.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Endpoint {
            $($variant,)*
        }

        impl Endpoint {
            /// Its name: the request log's, the fault rules' and the client's `api` label.
            pub(crate) const fn name(self) -> &'static str {
                match self {
                    $(Endpoint::$variant => $name,)*
                }
            }
        }

        /// Every endpoint name the simulator serves (the client's `api` metric label).
        pub const ENDPOINTS: &[&str] = &[$($name,)*];
    };
}

endpoints! {
    IamTokens = "iam_tokens",
    IamProjects = "iam_projects",
    InstancesList = "instances_list",
    InstanceGet = "instance_get",
    InstancesListV1 = "instances_list_v1",
    InstanceGetV1 = "instance_get_v1",
    KafkaCluster = "kafka_cluster",
    KafkaCoordinators = "kafka_coordinators",
    KafkaTopics = "kafka_topics",
    KafkaTopicDetail = "kafka_topic_detail",
    KafkaDiskusage = "kafka_diskusage",
    KafkaGroups = "kafka_groups",
    KafkaGroup = "kafka_group",
    KafkaManagementGroup = "kafka_management_group",
    KafkaPartitionMessage = "kafka_partition_message",
    Tasks = "tasks",
    TaskGet = "task_get",
    KafkaTags = "kafka_tags",
    RocketmqBrokers = "rocketmq_brokers",
    RocketmqGroups = "rocketmq_groups",
    RocketmqGroup = "rocketmq_group",
    RocketmqGroupTopics = "rocketmq_group_topics",
    RocketmqGroupClients = "rocketmq_group_clients",
    RocketmqTopics = "rocketmq_topics",
    RocketmqTopic = "rocketmq_topic",
    RocketmqTopicStatus = "rocketmq_topic_status",
    RocketmqTopicGroups = "rocketmq_topic_groups",
    RocketmqUsers = "rocketmq_users",
    RocketmqTags = "rocketmq_tags",
    RabbitmqPlugins = "rabbitmq_plugins",
    RabbitmqTags = "rabbitmq_tags",
    RabbitmqVhosts = "rabbitmq_vhosts",
    RabbitmqQueues = "rabbitmq_queues",
    RabbitmqQueue = "rabbitmq_queue",
    RabbitmqExchanges = "rabbitmq_exchanges",
    RabbitmqUsers = "rabbitmq_users",
    Quotas = "quotas",
    CesHierarchy = "ces_hierarchy",
    CesMetrics = "ces_metrics",
    CesMetricData = "ces_metric_data",
    CesBatchMetricData = "ces_batch_metric_data",
}

impl Endpoint {
    /// Whether it is one of Cloud Eye's own reads (the CES host, CES error shapes), not a
    /// DMS endpoint (`ces_hierarchy` is DMS's).
    pub(crate) const fn is_ces(self) -> bool {
        matches!(
            self,
            Endpoint::CesMetrics | Endpoint::CesMetricData | Endpoint::CesBatchMetricData
        )
    }
}

/// The fault rules' name for every CES read at once.
pub(crate) const CES_GROUP: &str = "ces";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case() {
        let names: std::collections::BTreeSet<&str> = ENDPOINTS.iter().copied().collect();
        assert_eq!(names.len(), ENDPOINTS.len(), "a name appears twice");
        assert!(ENDPOINTS.iter().all(|name| {
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        }));
        assert_eq!(Endpoint::KafkaTopicDetail.name(), "kafka_topic_detail");
    }
}
