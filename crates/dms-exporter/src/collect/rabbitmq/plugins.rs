//! Plugins: enabled and running, per plugin.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::Engine;
use dms_cloud::error::ApiError;

use crate::collect::{Collector, Context, Description, Output, Priority, Scope};
use crate::metrics::Samples;
use crate::metrics::catalog::families;

pub struct Plugins;

fn flag(value: bool) -> f64 {
    if value { 1.0 } else { 0.0 }
}

families! {
    RABBITMQ_PLUGIN_ENABLED = "dms_rabbitmq_plugin_enabled", Gauge, None,
        ["instance_id", "plugin"],
        "GET /v2/{project_id}/instances/{instance_id}/rabbitmq/plugins",
        "1 if the plugin is enabled (configured to run), else 0.";
    RABBITMQ_PLUGIN_RUNNING = "dms_rabbitmq_plugin_running", Gauge, None,
        ["instance_id", "plugin"],
        "GET /v2/{project_id}/instances/{instance_id}/rabbitmq/plugins",
        "1 if the plugin is running, else 0. Enabled but not running (enabled - running > 0) needs attention.";
    RABBITMQ_PLUGIN_INFO = "dms_rabbitmq_plugin_info", Info, None,
        ["instance_id", "plugin", "version"],
        "GET /v2/{project_id}/instances/{instance_id}/rabbitmq/plugins",
        "The plugin's version; always 1.";
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
        &RABBITMQ_PLUGIN_ENABLED,
        &RABBITMQ_PLUGIN_RUNNING,
        &RABBITMQ_PLUGIN_INFO,
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
                    &RABBITMQ_PLUGIN_ENABLED,
                    [id, name],
                    plugin.enable.map(flag),
                );
                samples.push_some(
                    &RABBITMQ_PLUGIN_RUNNING,
                    [id, name],
                    plugin.running.map(flag),
                );
                if !plugin.version.is_empty() {
                    samples.push(&RABBITMQ_PLUGIN_INFO, [id, name, &plugin.version], 1.0);
                }
            }
            Ok(Output::whole(samples.into()))
        }
        .boxed()
    }
}
