//! AMQP users: how many an instance has.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::Engine;
use dms_cloud::error::ApiError;

use crate::collect::{Collector, Context, Description, Output, Priority, Scope};
use crate::metrics::Samples;
use crate::metrics::catalog::families;

pub struct Users;

families! {
    RABBITMQ_USERS = "dms_rabbitmq_users", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/users (Huawei SDK only, not in the API reference)",
        "Number of AMQP users of the instance.";
}

pub static DESCRIPTION: Description = Description {
    name: "rabbitmq_users",
    scope: Scope::Instance(Some(Engine::RabbitMq)),
    priority: Priority::Low,
    interval: Duration::from_secs(300),
    max_age: None,
    demo_interval: Duration::from_secs(30),
    apis: &["rabbitmq_users"],
    options: &[],
    families: &[&RABBITMQ_USERS],
};

impl Collector for Users {
    fn description(&self) -> &'static Description {
        &DESCRIPTION
    }

    fn collect<'a>(&'a self, cx: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>> {
        async move {
            let id = cx.instance().id.as_str();
            let users = cx.client.rabbitmq_users(id).await?;
            let mut samples = Samples::default();
            samples.push(&RABBITMQ_USERS, [id], users.len() as f64);
            Ok(Output::whole(samples.into()))
        }
        .boxed()
    }
}
