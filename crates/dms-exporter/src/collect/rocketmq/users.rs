//! ACL users: count and administrators, read only for instances with ACL on.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::Engine;
use dms_cloud::dto::rocketmq::User;
use dms_cloud::error::ApiError;

use crate::collect::{Collector, Context, Description, InstanceRef, Output, Priority, Scope};
use crate::metrics::Samples;
use crate::metrics::catalog::families;

pub struct Users;

families! {
    ROCKETMQ_USERS = "dms_rocketmq_users", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/users",
        "Number of ACL users of the instance; read only when the instance has ACL enabled (enable_acl).";
    ROCKETMQ_ADMIN_USERS = "dms_rocketmq_admin_users", Gauge, None,
        ["instance_id"],
        "GET /v2/{project_id}/instances/{instance_id}/users (admin)",
        "Number of ACL users with administrator rights; read only when the instance has ACL enabled.";
}

pub static DESCRIPTION: Description = Description {
    name: "rocketmq_users",
    enabled_by_default: true,
    scope: Scope::Instance(Some(Engine::RocketMq)),
    priority: Priority::Low,
    interval: Duration::from_secs(300),
    max_age: None,
    demo_interval: Duration::from_secs(30),
    apis: &["rocketmq_users"],
    options: &[],
    families: &[&ROCKETMQ_USERS, &ROCKETMQ_ADMIN_USERS],
};

impl Collector for Users {
    fn description(&self) -> &'static Description {
        &DESCRIPTION
    }

    /// Without ACL there are no users to read (and no series).
    fn wants(&self, instance: &InstanceRef) -> bool {
        instance.is_running() && instance.enable_acl == Some(true)
    }

    fn collect<'a>(&'a self, cx: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>> {
        async move {
            let id = cx.instance().id.as_str();
            let users = cx.client.rocketmq_users(id).await?;
            Ok(Output::whole(samples(id, &users).into()))
        }
        .boxed()
    }
}

/// How many ACL users, and how many of them administrators.
fn samples(id: &str, users: &[User]) -> Samples {
    let admins = users.iter().filter(|u| u.admin == Some(true)).count();
    let mut samples = Samples::default();
    samples.push(&ROCKETMQ_USERS, [id], users.len() as f64);
    samples.push(&ROCKETMQ_ADMIN_USERS, [id], admins as f64);
    samples
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::test_fixtures::{fixture, lines, parse};

    #[test]
    fn users_and_administrators_are_counted() {
        // (response, expected lines in order)
        let table = [
            (
                fixture("rocketmq/users.json"),
                vec![
                    r#"dms_rocketmq_users{instance_id="i-1"} 1"#,
                    r#"dms_rocketmq_admin_users{instance_id="i-1"} 0"#,
                ],
            ),
            // `admin` as a string counts; a user without it is no administrator.
            (
                r#"{"users": [{"access_key": "a", "admin": "true"}, {"access_key": "b"}, {"access_key": "c", "admin": true}]}"#.to_owned(),
                vec![
                    r#"dms_rocketmq_users{instance_id="i-1"} 3"#,
                    r#"dms_rocketmq_admin_users{instance_id="i-1"} 2"#,
                ],
            ),
            // ACL on and no users: both 0, not absent.
            (
                r#"{"users": null}"#.to_owned(),
                vec![
                    r#"dms_rocketmq_users{instance_id="i-1"} 0"#,
                    r#"dms_rocketmq_admin_users{instance_id="i-1"} 0"#,
                ],
            ),
        ];
        for (body, expected) in table {
            let list: dms_cloud::dto::rocketmq::UserList = parse(&body);
            assert_eq!(lines(samples("i-1", &list.users)), expected, "{body}");
        }
    }
}
