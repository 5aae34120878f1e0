//! RabbitMQ endpoints (the RabbitMQ catalog's R-numbers; "SDK" marks endpoints only the Huawei
//! SDK has). API names equal the simulator's endpoint names.

use std::hash::Hash;

use serde::de::DeserializeOwned;

use super::rocketmq::{Page, all_pages, paging};
use super::{DmsClient, path};
use crate::dto::rabbitmq;
use crate::error::ApiError;

/// How a vhost goes into a path: the API refuses a `/` even percent-encoded, so the SDK's
/// request models replace each with `__F_SLASH__` (vhost `/` is `__F_SLASH__`).
pub fn vhost_path_segment(vhost: &str) -> String {
    vhost.replace('/', "__F_SLASH__")
}

impl DmsClient {
    /// Every item of an SDK `offset`/`limit` listing (50 a page) whose pages read as `L`;
    /// `items` takes a page's items and its `total`.
    async fn sdk_listing<L, T, K>(
        &self,
        api: &'static str,
        segments: Vec<String>,
        key: impl Fn(&T) -> K,
        items: impl Fn(L) -> (Vec<T>, Option<i64>),
    ) -> Result<(Vec<T>, Option<i64>), ApiError>
    where
        L: DeserializeOwned,
        K: Eq + Hash,
    {
        let listing = all_pages(key, |offset| {
            let (segments, items) = (segments.clone(), &items);
            async move {
                let page: L = self.dms_get(api, segments, paging(offset)).await?;
                let (items, total) = items(page);
                Ok(Page {
                    items,
                    total,
                    next_offset: None,
                    quota: (None, None),
                })
            }
        })
        .await?;
        Ok((listing.items, listing.total))
    }

    /// Plugins with their `enable` / `running` flags (R3).
    pub async fn rabbitmq_plugins(
        &self,
        instance_id: &str,
    ) -> Result<rabbitmq::PluginList, ApiError> {
        let project_id = self.project_id().await?;
        self.dms_get(
            "rabbitmq_plugins",
            Self::instance_path(&project_id, instance_id, &["rabbitmq", "plugins"]),
            Vec::new(),
        )
        .await
    }

    /// `/v2/rabbitmq/{project_id}/instances/{instance_id}/vhosts[/{vhost}/<rest>]`.
    async fn vhosts_path(
        &self,
        instance_id: &str,
        vhost: Option<&str>,
        rest: &[&str],
    ) -> Result<Vec<String>, ApiError> {
        let project_id = self.project_id().await?;
        let mut segments = path(&[
            "v2",
            "rabbitmq",
            &project_id,
            "instances",
            instance_id,
            "vhosts",
        ]);
        segments.extend(vhost.map(vhost_path_segment));
        segments.extend(rest.iter().map(|s| (*s).to_owned()));
        Ok(segments)
    }

    /// SDK `ListVhosts`: every vhost (paged, 50 a page).
    pub async fn rabbitmq_vhosts(
        &self,
        instance_id: &str,
    ) -> Result<Vec<rabbitmq::Vhost>, ApiError> {
        let segments = self.vhosts_path(instance_id, None, &[]).await?;
        let key = |v: &rabbitmq::Vhost| v.name.clone();
        let (vhosts, _) = self
            .sdk_listing(
                "rabbitmq_vhosts",
                segments,
                key,
                |page: rabbitmq::VhostList| (page.items, page.total),
            )
            .await?;
        Ok(vhosts)
    }

    /// SDK `ListQueues`: every queue of a vhost with its depth and consumers (paged, 50 a page).
    pub async fn rabbitmq_queues(
        &self,
        instance_id: &str,
        vhost: &str,
    ) -> Result<rabbitmq::AllQueues, ApiError> {
        let segments = self
            .vhosts_path(instance_id, Some(vhost), &["queues"])
            .await?;
        let key = |q: &rabbitmq::Queue| q.name.clone();
        let (items, total) = self
            .sdk_listing(
                "rabbitmq_queues",
                segments,
                key,
                |page: rabbitmq::QueueList| (page.items, page.total),
            )
            .await?;
        Ok(rabbitmq::AllQueues { items, total })
    }

    /// SDK `ShowQueueDetails`: one queue with its consumers and bindings.
    pub async fn rabbitmq_queue(
        &self,
        instance_id: &str,
        vhost: &str,
        queue: &str,
    ) -> Result<rabbitmq::QueueDetail, ApiError> {
        let segments = self
            .vhosts_path(instance_id, Some(vhost), &["queues", queue])
            .await?;
        self.dms_get("rabbitmq_queue", segments, Vec::new()).await
    }

    /// SDK `ListExchanges`, for its count: `total` of the first page (one call), else every
    /// page counted.
    pub async fn rabbitmq_exchange_count(
        &self,
        instance_id: &str,
        vhost: &str,
    ) -> Result<u64, ApiError> {
        let segments = self
            .vhosts_path(instance_id, Some(vhost), &["exchanges"])
            .await?;
        let first: rabbitmq::ExchangeList = self
            .dms_get("rabbitmq_exchanges", segments.clone(), paging(0))
            .await?;
        if let Some(total) = first.total.and_then(|t| u64::try_from(t).ok()) {
            return Ok(total);
        }
        let key = |e: &rabbitmq::Exchange| e.name.clone();
        let (all, _) = self
            .sdk_listing(
                "rabbitmq_exchanges",
                segments,
                key,
                |page: rabbitmq::ExchangeList| (page.items, None),
            )
            .await?;
        Ok(all.len() as u64)
    }

    /// SDK `ListUser`: every AMQP user (paged; `offset`/`limit` are strings in the model).
    pub async fn rabbitmq_users(&self, instance_id: &str) -> Result<Vec<rabbitmq::User>, ApiError> {
        let project_id = self.project_id().await?;
        let segments = Self::instance_path(&project_id, instance_id, &["users"]);
        let key = |u: &rabbitmq::User| u.access_key.clone();
        let (users, _) = self
            .sdk_listing(
                "rabbitmq_users",
                segments,
                key,
                |page: rabbitmq::UserList| (page.users, page.total),
            )
            .await?;
        Ok(users)
    }

    /// SDK `ShowQuotas`: the project's instance quotas of every engine.
    pub async fn quotas(&self) -> Result<rabbitmq::Quotas, ApiError> {
        let project_id = self.project_id().await?;
        self.dms_get("quotas", path(&["v2", &project_id, "quotas"]), Vec::new())
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::vhost_path_segment;

    #[test]
    fn every_slash_of_a_vhost_is_spelled_out() {
        assert_eq!(vhost_path_segment("/"), "__F_SLASH__");
        assert_eq!(
            vhost_path_segment("/staging/eu"),
            "__F_SLASH__staging__F_SLASH__eu"
        );
        assert_eq!(vhost_path_segment("billing"), "billing");
    }
}
