//! Cluster metadata: brokers, controller, partition and replica counts.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::Engine;
use dms_cloud::error::ApiError;

use super::broker_label;
use crate::collect::{Collector, Context, Description, Output, Priority, Scope};
use crate::metrics::{Samples, catalog};

pub struct Cluster;

fn flag(value: bool) -> f64 {
    if value { 1.0 } else { 0.0 }
}

pub static DESCRIPTION: Description = Description {
    name: "kafka_cluster",
    scope: Scope::Instance(Some(Engine::Kafka)),
    priority: Priority::Normal,
    interval: Duration::from_secs(60),
    max_age: None,
    demo_interval: Duration::from_secs(10),
    apis: &["kafka_cluster"],
    options: &[],
    families: &[
        &catalog::KAFKA_BROKER_UP,
        &catalog::KAFKA_BROKER_CONTROLLER,
        &catalog::KAFKA_CLUSTER_TOPICS,
        &catalog::KAFKA_CLUSTER_PARTITIONS,
        &catalog::KAFKA_CLUSTER_ONLINE_PARTITIONS,
        &catalog::KAFKA_CLUSTER_OFFLINE_PARTITIONS,
        &catalog::KAFKA_CLUSTER_REPLICAS,
        &catalog::KAFKA_CLUSTER_ISR,
        &catalog::KAFKA_CLUSTER_GROUPS,
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
            let mut samples = Samples::default();
            for broker in &cluster.brokers {
                let Some(broker_id) = broker.broker_id else {
                    continue;
                };
                let broker_id = broker_label(&broker_id.to_string());
                samples.push_some(
                    &catalog::KAFKA_BROKER_UP,
                    [id, &broker_id],
                    broker.is_health.map(flag),
                );
                let controller = broker
                    .is_controller
                    .or(cluster.controller.map(|c| Some(c) == broker.broker_id));
                samples.push_some(
                    &catalog::KAFKA_BROKER_CONTROLLER,
                    [id, &broker_id],
                    controller.map(flag),
                );
            }
            let counts = [
                (&catalog::KAFKA_CLUSTER_TOPICS, cluster.topics_count),
                (&catalog::KAFKA_CLUSTER_PARTITIONS, cluster.partitions_count),
                (
                    &catalog::KAFKA_CLUSTER_ONLINE_PARTITIONS,
                    cluster.online_partitions_count,
                ),
                (&catalog::KAFKA_CLUSTER_REPLICAS, cluster.replicas_count),
                (&catalog::KAFKA_CLUSTER_ISR, cluster.isr_replicas_count),
                (&catalog::KAFKA_CLUSTER_GROUPS, cluster.consumers_count),
            ];
            for (family, count) in counts {
                samples.push_some(family, [id], count.map(|c| c as f64));
            }
            if let (Some(all), Some(online)) =
                (cluster.partitions_count, cluster.online_partitions_count)
            {
                samples.push(
                    &catalog::KAFKA_CLUSTER_OFFLINE_PARTITIONS,
                    [id],
                    (all - online).max(0) as f64,
                );
            }
            Ok(Output::whole(samples.into()))
        }
        .boxed()
    }
}
