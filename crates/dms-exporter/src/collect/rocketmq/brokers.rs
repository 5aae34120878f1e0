//! Brokers: the node count of each broker (the API reports names and node ids only).

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::Engine;
use dms_cloud::dto::rocketmq::BrokerList;
use dms_cloud::error::ApiError;

use crate::collect::{Collector, Context, Description, Output, Priority, Scope};
use crate::metrics::Samples;
use crate::metrics::catalog::families;

pub struct Brokers;

families! {
    ROCKETMQ_BROKER_NODES = "dms_rocketmq_broker_nodes", Gauge, None,
        ["instance_id", "broker"],
        "GET /v2/{project_id}/instances/{instance_id}/brokers",
        "Number of nodes (ids; 0 is the master by RocketMQ convention) of the broker. The API reports no broker health.";
}

pub static DESCRIPTION: Description = Description {
    name: "rocketmq_brokers",
    enabled_by_default: true,
    scope: Scope::Instance(Some(Engine::RocketMq)),
    priority: Priority::Normal,
    interval: Duration::from_secs(60),
    max_age: None,
    demo_interval: Duration::from_secs(15),
    apis: &["rocketmq_brokers"],
    options: &[],
    families: &[&ROCKETMQ_BROKER_NODES],
};

impl Collector for Brokers {
    fn description(&self) -> &'static Description {
        &DESCRIPTION
    }

    fn collect<'a>(&'a self, cx: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>> {
        async move {
            let id = cx.instance().id.as_str();
            let list = cx.client.rocketmq_brokers(id).await?;
            Ok(Output::whole(samples(id, &list).into()))
        }
        .boxed()
    }
}

/// Each broker's node count.
fn samples(id: &str, list: &BrokerList) -> Samples {
    let mut samples = Samples::default();
    for broker in &list.brokers {
        samples.push(
            &ROCKETMQ_BROKER_NODES,
            [id, broker.broker_name.as_str()],
            broker.ids.len() as f64,
        );
    }
    samples
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::test_fixtures::{fixture, lines, parse};

    #[test]
    fn each_broker_counts_its_node_ids() {
        // (response, expected lines in order)
        let table = [
            (
                fixture("rocketmq/brokers.json"),
                vec![r#"dms_rocketmq_broker_nodes{instance_id="i-1",broker="broker-0"} 3"#],
            ),
            // `ids: null` is a broker without nodes.
            (
                r#"{"brokers": [{"broker_name": "broker-1", "ids": null}]}"#.to_owned(),
                vec![r#"dms_rocketmq_broker_nodes{instance_id="i-1",broker="broker-1"} 0"#],
            ),
            (r#"{"brokers": null}"#.to_owned(), vec![]),
        ];
        for (body, expected) in table {
            let list: BrokerList = parse(&body);
            assert_eq!(lines(samples("i-1", &list)), expected, "{body}");
        }
    }
}
