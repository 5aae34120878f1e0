//! RabbitMQ endpoints (the RabbitMQ catalog's R-numbers; "SDK" marks endpoints only the Huawei
//! SDK has). API names equal the simulator's endpoint names.

use super::paging::{Page, ShortPage, paging};
use super::{DmsClient, path};
use crate::dto::rabbitmq;
use crate::error::ApiError;

/// How a vhost goes into a path: the API refuses a `/` even percent-encoded, so the SDK's
/// request models replace each with `__F_SLASH__` (vhost `/` is `__F_SLASH__`).
pub(super) fn vhost_path_segment(vhost: &str) -> String {
    vhost.replace('/', "__F_SLASH__")
}

impl DmsClient {
    /// Plugins with their `enable` / `running` flags (R3).
    pub async fn rabbitmq_plugins(
        &self,
        instance_id: &str,
    ) -> Result<rabbitmq::PluginList, ApiError> {
        self.instance_get(
            "rabbitmq_plugins",
            instance_id,
            &["rabbitmq", "plugins"],
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
        let vhost = vhost.map(vhost_path_segment);
        let mut under = vec!["vhosts"];
        under.extend(vhost.as_deref());
        under.extend(rest);
        self.engine_instance_path("rabbitmq", instance_id, &under)
            .await
    }

    /// SDK `ListVhosts`: every vhost (paged, 50 a page).
    pub async fn rabbitmq_vhosts(
        &self,
        instance_id: &str,
    ) -> Result<Vec<rabbitmq::Vhost>, ApiError> {
        let segments = self.vhosts_path(instance_id, None, &[]).await?;
        let listing = self
            .get_all_pages(
                "rabbitmq_vhosts",
                segments,
                ShortPage::Ends,
                |v: &rabbitmq::Vhost| v.name.clone(),
                |page: rabbitmq::VhostList| Page::counted(page.items, page.total),
            )
            .await?;
        Ok(listing.items)
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
        let listing = self
            .get_all_pages(
                "rabbitmq_queues",
                segments,
                ShortPage::Ends,
                |q: &rabbitmq::Queue| q.name.clone(),
                |page: rabbitmq::QueueList| Page::counted(page.items, page.total),
            )
            .await?;
        Ok(rabbitmq::AllQueues {
            items: listing.items,
            total: listing.total,
        })
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
        let listing = self
            .get_all_pages(
                "rabbitmq_exchanges",
                segments,
                ShortPage::Ends,
                |e: &rabbitmq::Exchange| e.name.clone(),
                |page: rabbitmq::ExchangeList| Page::counted(page.items, None),
            )
            .await?;
        Ok(listing.items.len() as u64)
    }

    /// SDK `ListUser`: every AMQP user (paged; `offset`/`limit` are strings in the model).
    pub async fn rabbitmq_users(&self, instance_id: &str) -> Result<Vec<rabbitmq::User>, ApiError> {
        let segments = self.instance_path(instance_id, &["users"]).await?;
        let listing = self
            .get_all_pages(
                "rabbitmq_users",
                segments,
                ShortPage::Ends,
                |u: &rabbitmq::User| u.access_key.clone(),
                |page: rabbitmq::UserList| Page::counted(page.users, page.total),
            )
            .await?;
        Ok(listing.items)
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
