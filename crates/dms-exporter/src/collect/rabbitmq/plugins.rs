//! Plugins: enabled and running, per plugin.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::Engine;
use dms_cloud::error::ApiError;

use crate::collect::{Collector, Context, Description, Output, Priority, Scope};
use crate::metrics::{Samples, catalog};

pub struct Plugins;

fn flag(value: bool) -> f64 {
    if value { 1.0 } else { 0.0 }
}

pub static DESCRIPTION: Description = Description {
    name: "rabbitmq_plugins",
    scope: Scope::Instance(Some(Engine::RabbitMq)),
    priority: Priority::Normal,
    interval: Duration::from_secs(60),
    max_age: None,
    demo_interval: Duration::from_secs(10),
    apis: &["rabbitmq_plugins"],
    options: &[],
    families: &[
        &catalog::RABBITMQ_PLUGIN_ENABLED,
        &catalog::RABBITMQ_PLUGIN_RUNNING,
        &catalog::RABBITMQ_PLUGIN_INFO,
    ],
};

impl Collector for Plugins {
    fn description(&self) -> &'static Description {
        &DESCRIPTION
    }

    fn collect<'a>(&'a self, cx: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>> {
        async move {
            let id = cx.instance().id.as_str();
            let list = cx.client.rabbitmq_plugins(id).await?;
            let mut samples = Samples::default();
            for plugin in list.plugins.iter().filter(|p| !p.name.is_empty()) {
                let name = plugin.name.as_str();
                samples.push_some(
                    &catalog::RABBITMQ_PLUGIN_ENABLED,
                    [id, name],
                    plugin.enable.map(flag),
                );
                samples.push_some(
                    &catalog::RABBITMQ_PLUGIN_RUNNING,
                    [id, name],
                    plugin.running.map(flag),
                );
                if !plugin.version.is_empty() {
                    samples.push(
                        &catalog::RABBITMQ_PLUGIN_INFO,
                        [id, name, &plugin.version],
                        1.0,
                    );
                }
            }
            Ok(Output::whole(samples.into()))
        }
        .boxed()
    }
}
