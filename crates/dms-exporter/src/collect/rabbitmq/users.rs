//! AMQP users: how many an instance has.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::Engine;
use dms_cloud::dto::rabbitmq::User;
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
    enabled_by_default: true,
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
            Ok(Output::whole(samples(id, &users).into()))
        }
        .boxed()
    }
}

/// How many AMQP users the instance has.
fn samples(id: &str, users: &[User]) -> Samples {
    let mut samples = Samples::default();
    samples.push(&RABBITMQ_USERS, [id], users.len() as f64);
    samples
}

#[cfg(test)]
mod tests {
    use dms_cloud::dto::rabbitmq::UserList;

    use super::*;
    use crate::collect::test_fixtures::{fixture, lines, parse};

    #[test]
    fn users_are_counted() {
        // (one page of users, expected lines in order)
        let table = [
            (
                fixture("rabbitmq/sdk_users.json"),
                vec![r#"dms_rabbitmq_users{instance_id="i-1"} 1"#],
            ),
            // No users is 0, not absent.
            (
                r#"{"users": null, "total": 0}"#.to_owned(),
                vec![r#"dms_rabbitmq_users{instance_id="i-1"} 0"#],
            ),
        ];
        for (body, expected) in table {
            let page: UserList = parse(&body);
            assert_eq!(lines(samples("i-1", &page.users)), expected, "{body}");
        }
    }
}
