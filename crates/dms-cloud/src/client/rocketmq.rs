//! RocketMQ endpoints (section numbers of `api/rocketmq.md`; "SDK" marks endpoints only the
//! Huawei SDK has). API names equal the simulator's endpoint names.

use super::paging::{Listing, PAGE_LIMIT, Page, ShortPage, paging};
use super::{DmsClient, query};
use crate::dto::rocketmq as rmq;
use crate::error::ApiError;

impl<T> From<Listing<T>> for rmq::Listed<T> {
    fn from(listing: Listing<T>) -> Self {
        rmq::Listed {
            items: listing.items,
            total: listing.total,
            max: listing.quota.0,
            remaining: listing.quota.1,
        }
    }
}

impl DmsClient {
    /// §2.3 broker list.
    pub async fn rocketmq_brokers(&self, instance_id: &str) -> Result<rmq::BrokerList, ApiError> {
        self.instance_get("rocketmq_brokers", instance_id, &["brokers"], Vec::new())
            .await
    }

    /// §2.4 every consumer group (paged by `offset`/`limit`, `total`, `next_offset`).
    pub async fn rocketmq_groups(&self, instance_id: &str) -> Result<rmq::AllGroups, ApiError> {
        let segments = self.instance_path(instance_id, &["groups"]).await?;
        let listing = self
            .get_all_pages(
                "rocketmq_groups",
                segments,
                ShortPage::Ends,
                |g: &rmq::Group| g.name.clone(),
                |page: rmq::GroupList| Page {
                    items: page.groups,
                    total: page.total,
                    next_offset: page.next_offset,
                    quota: (page.max, page.remaining),
                },
            )
            .await?;
        Ok(listing.into())
    }

    /// §2.5 one consumer group.
    pub async fn rocketmq_group(
        &self,
        instance_id: &str,
        group: &str,
    ) -> Result<rmq::Group, ApiError> {
        self.instance_get(
            "rocketmq_group",
            instance_id,
            &["groups", group],
            Vec::new(),
        )
        .await
    }

    /// §2.6 without `topic`: every topic the group consumes.
    pub async fn rocketmq_group_topics(
        &self,
        instance_id: &str,
        group: &str,
    ) -> Result<Vec<String>, ApiError> {
        let segments = self
            .instance_path(instance_id, &["groups", group, "topics"])
            .await?;
        let listing = self
            .get_all_pages(
                "rocketmq_group_topics",
                segments,
                ShortPage::Ends,
                |t: &String| t.clone(),
                |page: rmq::GroupTopics| Page::counted(page.topics, page.total),
            )
            .await?;
        Ok(listing.items)
    }

    /// §2.6 with `topic`: the group's consumption of one topic per broker and queue. `limit`
    /// is the maximum so that topics with many queues come whole (paging of queues is not
    /// documented).
    pub async fn rocketmq_group_topic(
        &self,
        instance_id: &str,
        group: &str,
        topic: &str,
    ) -> Result<rmq::GroupTopics, ApiError> {
        self.instance_get(
            "rocketmq_group_topics",
            instance_id,
            &["groups", group, "topics"],
            query(&[
                ("topic", topic.to_owned()),
                ("limit", PAGE_LIMIT.to_string()),
            ]),
        )
        .await
    }

    /// SDK `ShowConsumerConnections`: the consumers of a group (first page; `total` counts all).
    pub async fn rocketmq_group_clients(
        &self,
        instance_id: &str,
        group: &str,
    ) -> Result<rmq::GroupClients, ApiError> {
        let segments = self
            .engine_instance_path("rocketmq", instance_id, &["groups", group, "clients"])
            .await?;
        self.dms_get("rocketmq_group_clients", segments, paging(0))
            .await
    }

    /// SDK `ListRocketInstanceTopics`: every topic with its queues per broker.
    pub async fn rocketmq_topics(&self, instance_id: &str) -> Result<rmq::AllTopics, ApiError> {
        let segments = self.instance_path(instance_id, &["topics"]).await?;
        let listing = self
            .get_all_pages(
                "rocketmq_topics",
                segments,
                ShortPage::Ends,
                |t: &rmq::Topic| t.name.clone(),
                |page: rmq::TopicList| Page {
                    items: page.topics,
                    total: page.total,
                    next_offset: page.next_offset,
                    quota: (page.max, page.remaining),
                },
            )
            .await?;
        Ok(listing.into())
    }

    /// §2.7 one topic.
    pub async fn rocketmq_topic(
        &self,
        instance_id: &str,
        topic: &str,
    ) -> Result<rmq::Topic, ApiError> {
        self.instance_get(
            "rocketmq_topic",
            instance_id,
            &["topics", topic],
            Vec::new(),
        )
        .await
    }

    /// §2.9 offsets and last message time per queue of a topic.
    pub async fn rocketmq_topic_status(
        &self,
        instance_id: &str,
        topic: &str,
    ) -> Result<rmq::TopicStatus, ApiError> {
        self.instance_get(
            "rocketmq_topic_status",
            instance_id,
            &["topics", topic, "status"],
            Vec::new(),
        )
        .await
    }

    /// §2.13 every ACL user (`offset`/`limit` are strings in the document; sent as usual).
    pub async fn rocketmq_users(&self, instance_id: &str) -> Result<Vec<rmq::User>, ApiError> {
        let segments = self.instance_path(instance_id, &["users"]).await?;
        let listing = self
            .get_all_pages(
                "rocketmq_users",
                segments,
                ShortPage::Ends,
                |u: &rmq::User| u.access_key.clone(),
                |page: rmq::UserList| Page::counted(page.users, page.total),
            )
            .await?;
        Ok(listing.items)
    }
}
