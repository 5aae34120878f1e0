//! ACL users: count and administrators, read only for instances with ACL on.

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::error::ApiError;

use crate::collect::{Collector, Context, InstanceRef, Output, Priority, Scope};
use crate::config::Engine;
use crate::metrics::{Samples, catalog};

pub struct Users;

impl Collector for Users {
    fn name(&self) -> &'static str {
        "rocketmq_users"
    }

    fn scope(&self) -> Scope {
        Scope::Instance(Some(Engine::RocketMq))
    }

    fn priority(&self) -> Priority {
        Priority::Low
    }

    /// Without ACL there are no users to read (and no series).
    fn wants(&self, instance: &InstanceRef) -> bool {
        instance.is_running() && instance.enable_acl == Some(true)
    }

    fn collect<'a>(&'a self, cx: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>> {
        async move {
            let id = cx.instance().id.as_str();
            let users = cx.target.client.rocketmq_users(id).await?;
            let admins = users.iter().filter(|u| u.admin == Some(true)).count();
            let mut samples = Samples::default();
            samples.push(&catalog::ROCKETMQ_USERS, [id], users.len() as f64);
            samples.push(&catalog::ROCKETMQ_ADMIN_USERS, [id], admins as f64);
            Ok(Output::whole(samples.into()))
        }
        .boxed()
    }
}
