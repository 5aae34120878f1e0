//! Cluster metadata: brokers, controller, partition and replica counts.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::Engine;
use dms_cloud::dto::kafka;
use dms_cloud::error::ApiError;

use super::broker_label;
use crate::collect::{Collector, Context, Description, Output, Priority, Scope};
use crate::metrics::Samples;
use crate::metrics::catalog::families;

pub struct Cluster;

fn flag(value: bool) -> f64 {
    if value { 1.0 } else { 0.0 }
}

families! {
    KAFKA_BROKER_UP = "dms_kafka_broker_up", Gauge, None,
        ["instance_id", "broker"],
        "GET /v2/{project_id}/instances/{instance_id}/management/cluster",
        "1 if the broker's connectivity is normal (is_health), else 0.";
    KAFKA_BROKER_CONTROLLER = "dms_kafka_broker_controller", Gauge, None,
        ["instance_id", "broker"],
        "GET /v2/{project_id}/instances/{instance_id}/management/cluster",
        "1 if the broker is the cluster controller, else 0.";
    KAFKA_CLUSTER_TOPICS = "dms_kafka_cluster_topics", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/management/cluster",
        "Number of topics in the cluster.";
    KAFKA_CLUSTER_PARTITIONS = "dms_kafka_cluster_partitions", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/management/cluster",
        "Number of partitions in the cluster.";
    KAFKA_CLUSTER_ONLINE_PARTITIONS = "dms_kafka_cluster_online_partitions", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/management/cluster",
        "Number of online partitions in the cluster.";
    KAFKA_CLUSTER_OFFLINE_PARTITIONS = "dms_kafka_cluster_offline_partitions", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/management/cluster",
        "Partitions that are not online (partitions_count - online_partitions_count).";
    KAFKA_CLUSTER_REPLICAS = "dms_kafka_cluster_replicas", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/management/cluster",
        "Number of partition replicas in the cluster.";
    KAFKA_CLUSTER_ISR = "dms_kafka_cluster_in_sync_replicas", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/management/cluster",
        "Number of in-sync replicas in the cluster.";
    KAFKA_CLUSTER_GROUPS = "dms_kafka_cluster_consumer_groups", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/management/cluster",
        "Number of consumer groups in the cluster (consumers_count).";
}

pub static DESCRIPTION: Description = Description {
    name: "kafka_cluster",
    enabled_by_default: true,
    scope: Scope::Instance(Some(Engine::Kafka)),
    priority: Priority::Normal,
    interval: Duration::from_secs(60),
    max_age: None,
    demo_interval: Duration::from_secs(10),
    apis: &["kafka_cluster"],
    options: &[],
    families: &[
        &KAFKA_BROKER_UP,
        &KAFKA_BROKER_CONTROLLER,
        &KAFKA_CLUSTER_TOPICS,
        &KAFKA_CLUSTER_PARTITIONS,
        &KAFKA_CLUSTER_ONLINE_PARTITIONS,
        &KAFKA_CLUSTER_OFFLINE_PARTITIONS,
        &KAFKA_CLUSTER_REPLICAS,
        &KAFKA_CLUSTER_ISR,
        &KAFKA_CLUSTER_GROUPS,
    ],
};

impl Collector for Cluster {
    fn description(&self) -> &'static Description {
        &DESCRIPTION
    }

    fn collect<'a>(&'a self, cx: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>> {
        async move {
            let id = cx.instance().id.as_str();
            let cluster = cx.client.kafka_cluster(id).await?;
            Ok(Output::whole(samples(id, &cluster).into()))
        }
        .boxed()
    }
}

/// The brokers' health and role, and the cluster's counts.
fn samples(id: &str, cluster: &kafka::Cluster) -> Samples {
    let mut samples = Samples::default();
    for broker in &cluster.brokers {
        let Some(broker_id) = broker.broker_id else {
            continue;
        };
        let broker_id = broker_label(&broker_id.to_string());
        samples.push_some(
            &KAFKA_BROKER_UP,
            [id, &broker_id],
            broker.is_health.map(flag),
        );
        let controller = broker
            .is_controller
            .or(cluster.controller.map(|c| Some(c) == broker.broker_id));
        samples.push_some(
            &KAFKA_BROKER_CONTROLLER,
            [id, &broker_id],
            controller.map(flag),
        );
    }
    let counts = [
        (&KAFKA_CLUSTER_TOPICS, cluster.topics_count),
        (&KAFKA_CLUSTER_PARTITIONS, cluster.partitions_count),
        (
            &KAFKA_CLUSTER_ONLINE_PARTITIONS,
            cluster.online_partitions_count,
        ),
        (&KAFKA_CLUSTER_REPLICAS, cluster.replicas_count),
        (&KAFKA_CLUSTER_ISR, cluster.isr_replicas_count),
        (&KAFKA_CLUSTER_GROUPS, cluster.consumers_count),
    ];
    for (family, count) in counts {
        samples.push_some(family, [id], count.map(|c| c as f64));
    }
    if let (Some(all), Some(online)) = (cluster.partitions_count, cluster.online_partitions_count) {
        samples.push(
            &KAFKA_CLUSTER_OFFLINE_PARTITIONS,
            [id],
            (all - online).max(0) as f64,
        );
    }
    samples
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::test_fixtures::{fixture, lines, parse};

    #[test]
    fn brokers_and_counts_become_their_series() {
        // (response, expected lines in order)
        let table = [
            // Broker ids and the controller are strings in the example.
            (
                fixture("kafka/R3_cluster.json"),
                vec![
                    r#"dms_kafka_broker_up{instance_id="i-1",broker="0"} 1"#,
                    r#"dms_kafka_broker_controller{instance_id="i-1",broker="0"} 0"#,
                    r#"dms_kafka_broker_up{instance_id="i-1",broker="1"} 1"#,
                    r#"dms_kafka_broker_controller{instance_id="i-1",broker="1"} 0"#,
                    r#"dms_kafka_broker_up{instance_id="i-1",broker="2"} 1"#,
                    r#"dms_kafka_broker_controller{instance_id="i-1",broker="2"} 1"#,
                    r#"dms_kafka_cluster_topics{instance_id="i-1"} 3"#,
                    r#"dms_kafka_cluster_partitions{instance_id="i-1"} 9"#,
                    r#"dms_kafka_cluster_online_partitions{instance_id="i-1"} 9"#,
                    r#"dms_kafka_cluster_replicas{instance_id="i-1"} 27"#,
                    r#"dms_kafka_cluster_in_sync_replicas{instance_id="i-1"} 27"#,
                    r#"dms_kafka_cluster_consumer_groups{instance_id="i-1"} 0"#,
                    r#"dms_kafka_cluster_offline_partitions{instance_id="i-1"} 0"#,
                ],
            ),
            // A flat body; without is_controller the controller id decides; a broker without
            // health is no up series, one without an id no series at all; offline is
            // partitions - online.
            (
                r#"{"controller": "1", "brokers": [{"broker_id": 0, "is_health": true}, {"broker_id": "1"}, {"is_health": true}], "partitions_count": "10", "online_partitions_count": 7}"#.to_owned(),
                vec![
                    r#"dms_kafka_broker_up{instance_id="i-1",broker="0"} 1"#,
                    r#"dms_kafka_broker_controller{instance_id="i-1",broker="0"} 0"#,
                    r#"dms_kafka_broker_controller{instance_id="i-1",broker="1"} 1"#,
                    r#"dms_kafka_cluster_partitions{instance_id="i-1"} 10"#,
                    r#"dms_kafka_cluster_online_partitions{instance_id="i-1"} 7"#,
                    r#"dms_kafka_cluster_offline_partitions{instance_id="i-1"} 3"#,
                ],
            ),
            (r#"{"cluster": {"brokers": null}}"#.to_owned(), vec![]),
        ];
        for (body, expected) in table {
            let cluster: kafka::Cluster = parse(&body);
            assert_eq!(lines(samples("i-1", &cluster)), expected, "{body}");
        }
    }
}
