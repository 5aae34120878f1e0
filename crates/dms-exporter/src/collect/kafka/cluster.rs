//! Cluster metadata: brokers, controller, partition and replica counts.

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::error::ApiError;

use super::broker_label;
use crate::collect::{Collector, Context, Output, Priority, Scope};
use crate::config::Engine;
use crate::metrics::{Samples, catalog};

pub struct Cluster;

fn flag(value: bool) -> f64 {
    if value { 1.0 } else { 0.0 }
}

impl Collector for Cluster {
    fn name(&self) -> &'static str {
        "kafka_cluster"
    }

    fn scope(&self) -> Scope {
        Scope::Instance(Some(Engine::Kafka))
    }

    fn priority(&self) -> Priority {
        Priority::Normal
    }

    fn collect<'a>(&'a self, cx: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>> {
        async move {
            let id = cx.instance().id.as_str();
            let cluster = cx.target.client.kafka_cluster(id).await?;
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
