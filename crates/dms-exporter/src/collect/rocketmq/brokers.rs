//! Brokers: the node count of each broker (the API reports names and node ids only).

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::error::ApiError;

use crate::collect::{Collector, Context, Output, Priority, Scope};
use crate::config::Engine;
use crate::metrics::{Samples, catalog};

pub struct Brokers;

impl Collector for Brokers {
    fn name(&self) -> &'static str {
        "rocketmq_brokers"
    }

    fn scope(&self) -> Scope {
        Scope::Instance(Some(Engine::RocketMq))
    }

    fn priority(&self) -> Priority {
        Priority::Normal
    }

    fn collect<'a>(&'a self, cx: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>> {
        async move {
            let id = cx.instance().id.as_str();
            let list = cx.target.client.rocketmq_brokers(id).await?;
            let mut samples = Samples::default();
            for broker in &list.brokers {
                samples.push(
                    &catalog::ROCKETMQ_BROKER_NODES,
                    [id, broker.broker_name.as_str()],
                    broker.ids.len() as f64,
                );
            }
            Ok(Output::whole(samples.into()))
        }
        .boxed()
    }
}
