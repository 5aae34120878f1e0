//! The route table (path → endpoint name) and the dispatch of a recognised route to the
//! engine that answers it.

use axum::http::Method;
use serde_json::{Value, json};

use super::Answer;
use crate::Simulator;
use crate::endpoints::Endpoint;
use crate::error::ApiError;
use crate::fleet::Fleet;
use crate::locks::lock;
use crate::query::{first, page, page_limit, parse_number};

/// A recognised route.
pub(super) struct Route {
    pub endpoint: Endpoint,
    pub project_id: Option<String>,
    pub instance_id: Option<String>,
    /// The trailing path parameter (topic, group, task id).
    pub item: Option<String>,
    /// A RabbitMQ vhost, as sent (`__F_SLASH__` for each `/`).
    pub vhost: Option<String>,
}

pub(super) fn route(method: &Method, segments: &[String]) -> Option<Route> {
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    let make = |endpoint, project: Option<&str>, instance: Option<&str>, item: Option<&str>| {
        Some(Route {
            endpoint,
            project_id: project.map(str::to_owned),
            instance_id: instance.map(str::to_owned),
            item: item.map(str::to_owned),
            vhost: None,
        })
    };
    let in_vhost = |endpoint, project: &str, instance: &str, vhost: &str, item: Option<&str>| {
        Some(Route {
            endpoint,
            project_id: Some(project.to_owned()),
            instance_id: Some(instance.to_owned()),
            item: item.map(str::to_owned),
            vhost: Some(vhost.to_owned()),
        })
    };
    if method == Method::POST {
        return match s.as_slice() {
            ["v3", "auth", "tokens"] => make(Endpoint::IamTokens, None, None, None),
            // Cloud Eye's v1 paths start with an upper-case `V1.0` (the SDK's `CesClient`).
            ["V1.0", p, "batch-query-metric-data"] => {
                make(Endpoint::CesBatchMetricData, Some(p), None, None)
            }
            _ => None,
        };
    }
    if method != Method::GET {
        return None;
    }
    match s.as_slice() {
        ["v3", "projects"] => make(Endpoint::IamProjects, None, None, None),
        ["v2", p, "instances"] => make(Endpoint::InstancesList, Some(p), None, None),
        ["v2", p, "instances", i] => make(Endpoint::InstanceGet, Some(p), Some(i), None),
        ["v1.0", p, "instances"] => make(Endpoint::InstancesListV1, Some(p), None, None),
        ["v1.0", p, "instances", i] => make(Endpoint::InstanceGetV1, Some(p), Some(i), None),
        ["v2", p, "instances", i, "management", "cluster"] => {
            make(Endpoint::KafkaCluster, Some(p), Some(i), None)
        }
        ["v2", p, "instances", i, "management", "coordinators"] => {
            make(Endpoint::KafkaCoordinators, Some(p), Some(i), None)
        }
        ["v2", p, "instances", i, "management", "groups", g] => {
            make(Endpoint::KafkaManagementGroup, Some(p), Some(i), Some(g))
        }
        ["v2", p, "instances", i, "management", "topics", t] => {
            make(Endpoint::KafkaTopicDetail, Some(p), Some(i), Some(t))
        }
        [
            "v2",
            p,
            "instances",
            i,
            "management",
            "topics",
            t,
            "partitions",
            n,
            "message",
        ] => {
            let item = format!("{t}/{n}");
            make(
                Endpoint::KafkaPartitionMessage,
                Some(p),
                Some(i),
                Some(&item),
            )
        }
        ["v2", p, "instances", i, "topics"] => make(Endpoint::KafkaTopics, Some(p), Some(i), None),
        ["v2", p, "instances", i, "topics", "diskusage"] => {
            make(Endpoint::KafkaDiskusage, Some(p), Some(i), None)
        }
        ["v2", p, "instances", i, "groups"] => make(Endpoint::KafkaGroups, Some(p), Some(i), None),
        ["v2", p, "instances", i, "groups", g] => {
            make(Endpoint::KafkaGroup, Some(p), Some(i), Some(g))
        }
        ["v2", p, "instances", i, "tasks"] => make(Endpoint::Tasks, Some(p), Some(i), None),
        ["v2", p, "instances", i, "tasks", t] => make(Endpoint::TaskGet, Some(p), Some(i), Some(t)),
        ["v2", p, "kafka", i, "tags"] => make(Endpoint::KafkaTags, Some(p), Some(i), None),
        // RocketMQ-only paths; the paths it shares with Kafka are renamed by `engine_route`.
        ["v2", p, "instances", i, "brokers"] => {
            make(Endpoint::RocketmqBrokers, Some(p), Some(i), None)
        }
        ["v2", p, "instances", i, "groups", g, "topics"] => {
            make(Endpoint::RocketmqGroupTopics, Some(p), Some(i), Some(g))
        }
        ["v2", "rocketmq", p, "instances", i, "groups", g, "clients"] => {
            make(Endpoint::RocketmqGroupClients, Some(p), Some(i), Some(g))
        }
        ["v2", p, "instances", i, "topics", t] => {
            make(Endpoint::RocketmqTopic, Some(p), Some(i), Some(t))
        }
        ["v2", p, "instances", i, "topics", t, "status"] => {
            make(Endpoint::RocketmqTopicStatus, Some(p), Some(i), Some(t))
        }
        ["v2", p, "instances", i, "topics", t, "groups"] => {
            make(Endpoint::RocketmqTopicGroups, Some(p), Some(i), Some(t))
        }
        ["v2", p, "instances", i, "users"] => make(Endpoint::RocketmqUsers, Some(p), Some(i), None),
        ["v2", p, "rocketmq", i, "tags"] => make(Endpoint::RocketmqTags, Some(p), Some(i), None),
        // RabbitMQ-only paths.
        ["v2", p, "instances", i, "rabbitmq", "plugins"] => {
            make(Endpoint::RabbitmqPlugins, Some(p), Some(i), None)
        }
        ["v2", p, "rabbitmq", i, "tags"] => make(Endpoint::RabbitmqTags, Some(p), Some(i), None),
        // RabbitMQ depth (Huawei SDK); `users` is RocketMQ's path, renamed by `engine_route`.
        ["v2", "rabbitmq", p, "instances", i, "vhosts"] => {
            make(Endpoint::RabbitmqVhosts, Some(p), Some(i), None)
        }
        ["v2", "rabbitmq", p, "instances", i, "vhosts", v, "queues"] => {
            in_vhost(Endpoint::RabbitmqQueues, p, i, v, None)
        }
        [
            "v2",
            "rabbitmq",
            p,
            "instances",
            i,
            "vhosts",
            v,
            "queues",
            q,
        ] => in_vhost(Endpoint::RabbitmqQueue, p, i, v, Some(q)),
        [
            "v2",
            "rabbitmq",
            p,
            "instances",
            i,
            "vhosts",
            v,
            "exchanges",
        ] => in_vhost(Endpoint::RabbitmqExchanges, p, i, v, None),
        ["v2", p, "quotas"] => make(Endpoint::Quotas, Some(p), None, None),
        ["v2", p, "instances", i, "ces-hierarchy"] => {
            make(Endpoint::CesHierarchy, Some(p), Some(i), None)
        }
        ["V1.0", p, "metrics"] => make(Endpoint::CesMetrics, Some(p), None, None),
        ["V1.0", p, "metric-data"] => make(Endpoint::CesMetricData, Some(p), None, None),
        _ => None,
    }
}

/// Topic-detail flow control: at most one call per interval per instance, counted when the
/// request arrives (before any configured latency), as the real API counts it.
pub(super) fn admit_topic_detail(sim: &Simulator, route: &Route) -> Result<(), ApiError> {
    let interval = sim.inner.config.topic_detail_interval;
    if route.endpoint != Endpoint::KafkaTopicDetail || interval.is_zero() {
        return Ok(());
    }
    let (Some(project_id), Some(instance_id)) = (&route.project_id, &route.instance_id) else {
        return Ok(());
    };
    let exists = sim
        .fleet()
        .instances
        .get(instance_id)
        .is_some_and(|i| &i.project_id == project_id);
    if !exists {
        return Ok(());
    }
    let now = tokio::time::Instant::now();
    let mut state = lock(&sim.inner.state);
    if let Some(last) = state.topic_detail_last.get(instance_id)
        && now.duration_since(*last) < interval
    {
        return Err(ApiError::too_frequent());
    }
    state.topic_detail_last.insert(instance_id.clone(), now);
    Ok(())
}

/// Paths RocketMQ shares with Kafka are named after the engine of the instance they address,
/// so request counts, faults and the client's `api` label tell the engines apart.
pub(super) fn engine_route(sim: &Simulator, route: &mut Route) {
    let Some(instance_id) = route.instance_id.as_deref() else {
        return;
    };
    let engine = sim.fleet().engine_of(instance_id);
    route.endpoint = match (engine, route.endpoint) {
        (Some("rabbitmq"), Endpoint::RocketmqUsers) => Endpoint::RabbitmqUsers,
        (Some("reliability"), Endpoint::KafkaTopics) => Endpoint::RocketmqTopics,
        (Some("reliability"), Endpoint::KafkaGroups) => Endpoint::RocketmqGroups,
        (Some("reliability"), Endpoint::KafkaGroup) => Endpoint::RocketmqGroup,
        (_, endpoint) => endpoint,
    };
}

pub(super) fn dispatch(
    sim: &Simulator,
    fleet: &Fleet,
    route: &Route,
    query: &[(String, String)],
) -> Result<Answer, ApiError> {
    if route.endpoint == Endpoint::IamProjects {
        return Ok(super::iam::projects(sim, query));
    }
    let project_id = route.project_id.clone().unwrap_or_default();
    if matches!(
        route.endpoint,
        Endpoint::InstancesList | Endpoint::InstancesListV1
    ) {
        let engine = first(query, "engine").unwrap_or("kafka");
        let v1 = route.endpoint == Endpoint::InstancesListV1;
        let id_filter = first(query, if v1 { "id" } else { "instance_id" });
        let exact = first(
            query,
            if v1 {
                "exactMatchName"
            } else {
                "exact_match_name"
            },
        ) == Some("true");
        let name = first(query, "name");
        let status = first(query, "status");
        let (offset, limit) = if v1 {
            // Undocumented V1 paging seen in the examples: `start` (1-based) and `limit`.
            let start = parse_number(query, "start")?.unwrap_or(1).max(1);
            (start - 1, page_limit(query)?)
        } else {
            page(query)?
        };
        // (id, project, name, status, rendering) of every instance of the asked engine.
        type Listed<'a> = (
            &'a str,
            &'a str,
            &'a str,
            &'a str,
            Box<dyn Fn() -> Value + 'a>,
        );
        let mut all: Vec<Listed<'_>> = Vec::new();
        if engine.eq_ignore_ascii_case("kafka") {
            all.extend(fleet.instances.values().map(|i| -> Listed<'_> {
                (
                    &i.id,
                    &i.project_id,
                    &i.name,
                    &i.status,
                    Box::new(move || {
                        if v1 {
                            i.show_v1(&fleet.account)
                        } else {
                            i.show(&fleet.account)
                        }
                    }),
                )
            }));
        }
        if engine.eq_ignore_ascii_case("reliability") {
            all.extend(fleet.rocketmq.values().map(|i| -> Listed<'_> {
                (
                    &i.id,
                    &i.project_id,
                    &i.name,
                    &i.status,
                    Box::new(move || if v1 { i.show_v1() } else { i.show() }),
                )
            }));
        }
        if engine.eq_ignore_ascii_case("rabbitmq") {
            all.extend(fleet.rabbitmq.values().map(|i| -> Listed<'_> {
                (
                    &i.id,
                    &i.project_id,
                    &i.name,
                    &i.status,
                    Box::new(move || if v1 { i.show_v1() } else { i.show() }),
                )
            }));
        }
        all.sort_by(|a, b| a.0.cmp(b.0));
        let matching: Vec<_> = all
            .into_iter()
            .filter(|(_, project, ..)| *project == project_id)
            .filter(|(id, ..)| id_filter.is_none_or(|wanted| *id == wanted))
            .filter(|(_, _, instance_name, ..)| {
                name.is_none_or(|n| {
                    if exact {
                        *instance_name == n
                    } else {
                        instance_name.contains(n)
                    }
                })
            })
            .filter(|(_, _, _, instance_status, _)| {
                status.is_none_or(|s| instance_status.eq_ignore_ascii_case(s))
            })
            .collect();
        let instances: Vec<Value> = matching
            .iter()
            .skip(offset)
            .take(limit)
            .map(|(.., render)| render())
            .collect();
        return Ok(Answer::ok(
            json!({ "instances": instances, "instance_num": matching.len() }),
        ));
    }
    if route.endpoint == Endpoint::Quotas {
        return Ok(Answer::ok(fleet.quotas(&project_id)));
    }
    let instance_id = route.instance_id.clone().unwrap_or_default();
    if route.endpoint == Endpoint::CesHierarchy {
        return crate::ces::hierarchy::answer(fleet, &project_id, &instance_id)
            .map(Answer::ok)
            .ok_or_else(ApiError::instance_not_found);
    }
    let item = route.item.as_deref().unwrap_or_default();
    if let Some(instance) = fleet.rocketmq.get(&instance_id) {
        if instance.project_id != project_id {
            return Err(ApiError::instance_not_found());
        }
        return crate::rocketmq::dispatch(instance, route.endpoint, item, query).map(Answer::ok);
    }
    if let Some(instance) = fleet.rabbitmq.get(&instance_id) {
        if instance.project_id != project_id {
            return Err(ApiError::instance_not_found());
        }
        let vhost = route.vhost.as_deref();
        return crate::rabbitmq::dispatch(instance, route.endpoint, vhost, item, query)
            .map(Answer::ok);
    }
    let instance = fleet
        .instances
        .get(&instance_id)
        .filter(|i| i.project_id == project_id)
        .ok_or_else(ApiError::instance_not_found)?;
    crate::kafka::dispatch(instance, &fleet.account, route.endpoint, item, query).map(Answer::ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Uri;

    use crate::query::query_pairs;

    fn segments(path: &str) -> Vec<String> {
        path.split('/')
            .filter(|s| !s.is_empty())
            .map(dms_sign::decode_path)
            .collect()
    }

    #[test]
    fn routes_resolve_to_endpoint_names() {
        let cases = [
            ("/v2/p/instances", "instances_list"),
            ("/v2/p/instances/i", "instance_get"),
            ("/v1.0/p/instances", "instances_list_v1"),
            ("/v1.0/p/instances/i", "instance_get_v1"),
            ("/v2/p/instances/i/management/cluster", "kafka_cluster"),
            (
                "/v2/p/instances/i/management/coordinators",
                "kafka_coordinators",
            ),
            (
                "/v2/p/instances/i/management/groups/g",
                "kafka_management_group",
            ),
            (
                "/v2/p/instances/i/management/topics/t",
                "kafka_topic_detail",
            ),
            ("/v2/p/instances/i/topics", "kafka_topics"),
            ("/v2/p/instances/i/topics/diskusage", "kafka_diskusage"),
            ("/v2/p/instances/i/groups", "kafka_groups"),
            ("/v2/p/instances/i/groups/g", "kafka_group"),
            ("/v2/p/instances/i/tasks", "tasks"),
            ("/v2/p/instances/i/tasks/t", "task_get"),
            ("/v2/p/kafka/i/tags", "kafka_tags"),
            ("/v3/projects", "iam_projects"),
            ("/v2/rabbitmq/p/instances/i/vhosts", "rabbitmq_vhosts"),
            (
                "/v2/rabbitmq/p/instances/i/vhosts/v/queues",
                "rabbitmq_queues",
            ),
            (
                "/v2/rabbitmq/p/instances/i/vhosts/v/queues/q",
                "rabbitmq_queue",
            ),
            (
                "/v2/rabbitmq/p/instances/i/vhosts/v/exchanges",
                "rabbitmq_exchanges",
            ),
            ("/v2/p/quotas", "quotas"),
            (
                "/v2/p/instances/i/management/topics/t/partitions/0/message",
                "kafka_partition_message",
            ),
            ("/v2/p/instances/i/brokers", "rocketmq_brokers"),
            ("/v2/p/instances/i/groups/g/topics", "rocketmq_group_topics"),
            (
                "/v2/rocketmq/p/instances/i/groups/g/clients",
                "rocketmq_group_clients",
            ),
            ("/v2/p/instances/i/topics/t", "rocketmq_topic"),
            ("/v2/p/instances/i/topics/t/status", "rocketmq_topic_status"),
            ("/v2/p/instances/i/topics/t/groups", "rocketmq_topic_groups"),
            ("/v2/p/instances/i/users", "rocketmq_users"),
            ("/v2/p/rocketmq/i/tags", "rocketmq_tags"),
            ("/v2/p/instances/i/rabbitmq/plugins", "rabbitmq_plugins"),
            ("/v2/p/rabbitmq/i/tags", "rabbitmq_tags"),
            ("/v2/p/instances/i/ces-hierarchy", "ces_hierarchy"),
            ("/V1.0/p/metrics", "ces_metrics"),
            ("/V1.0/p/metric-data", "ces_metric_data"),
        ];
        let mut served = std::collections::BTreeSet::new();
        for (path, name) in cases {
            let route = route(&Method::GET, &segments(path)).map(|r| r.endpoint.name());
            assert_eq!(route, Some(name), "{path}");
            served.insert(name);
        }
        let tokens = route(&Method::POST, &segments("/v3/auth/tokens")).map(|r| r.endpoint);
        assert_eq!(tokens, Some(Endpoint::IamTokens));
        served.insert(Endpoint::IamTokens.name());
        let batch = route(&Method::POST, &segments("/V1.0/p/batch-query-metric-data"));
        assert_eq!(
            batch.map(|r| r.endpoint),
            Some(Endpoint::CesBatchMetricData)
        );
        served.insert(Endpoint::CesBatchMetricData.name());
        // The case of CES's `V1.0` is part of the path.
        assert!(route(&Method::GET, &segments("/v1.0/p/metrics")).is_none());
        // The names `engine_route` gives paths RocketMQ and RabbitMQ share with another engine.
        let sim = Simulator::new(crate::SimConfig::deterministic());
        let rocketmq = sim.instance_ids_of("reliability").remove(0);
        let rabbitmq = sim.instance_ids_of("rabbitmq").remove(0);
        for (instance, path, name) in [
            (&rocketmq, "topics", "rocketmq_topics"),
            (&rocketmq, "groups", "rocketmq_groups"),
            (&rocketmq, "groups/g", "rocketmq_group"),
            (&rabbitmq, "users", "rabbitmq_users"),
        ] {
            let path = format!("/v2/p/instances/{instance}/{path}");
            let mut route = route(&Method::GET, &segments(&path)).expect("a route");
            engine_route(&sim, &mut route);
            assert_eq!(route.endpoint.name(), name, "{path}");
            served.insert(name);
        }
        // Every endpoint of the vocabulary is reached by a path: none is half-registered.
        let all: std::collections::BTreeSet<&str> = crate::ENDPOINTS.iter().copied().collect();
        assert_eq!(served, all);
        assert!(route(&Method::DELETE, &segments("/v2/p/instances/i")).is_none());
        let group = route(
            &Method::GET,
            &segments("/v2/p/instances/i/groups/a%20b%2Fc"),
        );
        assert_eq!(group.and_then(|r| r.item).as_deref(), Some("a b/c"));
    }

    #[test]
    fn query_pairs_are_decoded() {
        let uri: Uri = "/x?name=a%20b&empty=&flag&limit=10".parse().expect("uri");
        assert_eq!(
            query_pairs(&uri),
            vec![
                ("name".to_owned(), "a b".to_owned()),
                ("empty".to_owned(), String::new()),
                ("flag".to_owned(), String::new()),
                ("limit".to_owned(), "10".to_owned()),
            ]
        );
    }
}
