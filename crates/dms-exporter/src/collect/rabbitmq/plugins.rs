//! Plugins: enabled and running, per plugin.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::Engine;
use dms_cloud::dto::rabbitmq::PluginList;
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
    enabled_by_default: true,
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
            Ok(Output::whole(samples(id, &list).into()))
        }
        .boxed()
    }
}

/// Each named plugin's state, and its version when the API gives one.
fn samples(id: &str, list: &PluginList) -> Samples {
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
    samples
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::test_fixtures::{fixture, lines, parse};

    #[test]
    fn each_plugin_becomes_enabled_running_and_version() {
        // (response, expected lines in order)
        let table = [
            (
                fixture("rabbitmq/R3_plugins.json"),
                vec![
                    r#"dms_rabbitmq_plugin_enabled{instance_id="i-1",plugin="rabbitmq_amqp1_0"} 1"#,
                    r#"dms_rabbitmq_plugin_running{instance_id="i-1",plugin="rabbitmq_amqp1_0"} 1"#,
                    r#"dms_rabbitmq_plugin_info{instance_id="i-1",plugin="rabbitmq_amqp1_0",version="3.8.35"} 1"#,
                    r#"dms_rabbitmq_plugin_enabled{instance_id="i-1",plugin="rabbitmq_delayed_message_exchange"} 1"#,
                    r#"dms_rabbitmq_plugin_running{instance_id="i-1",plugin="rabbitmq_delayed_message_exchange"} 1"#,
                    r#"dms_rabbitmq_plugin_info{instance_id="i-1",plugin="rabbitmq_delayed_message_exchange",version="3.8.0"} 1"#,
                    r#"dms_rabbitmq_plugin_enabled{instance_id="i-1",plugin="rabbitmq_federation"} 0"#,
                    r#"dms_rabbitmq_plugin_running{instance_id="i-1",plugin="rabbitmq_federation"} 0"#,
                    r#"dms_rabbitmq_plugin_info{instance_id="i-1",plugin="rabbitmq_federation",version="3.8.35"} 1"#,
                ],
            ),
            // A plugin without a name is skipped; a flag as a string is read; a missing flag
            // or version is no series.
            (
                r#"{"plugins": [{"name": "", "enable": true}, {"name": "p", "enable": "true"}, {"name": "q", "running": false, "version": ""}]}"#.to_owned(),
                vec![
                    r#"dms_rabbitmq_plugin_enabled{instance_id="i-1",plugin="p"} 1"#,
                    r#"dms_rabbitmq_plugin_running{instance_id="i-1",plugin="q"} 0"#,
                ],
            ),
            (r#"{"plugins": null}"#.to_owned(), vec![]),
        ];
        for (body, expected) in table {
            let list: PluginList = parse(&body);
            assert_eq!(lines(samples("i-1", &list)), expected, "{body}");
        }
    }
}
