//! RocketMQ endpoints (section numbers of `api/rocketmq.md`; "SDK" marks endpoints only the
//! Huawei SDK has). API names equal the simulator's endpoint names.

use std::collections::HashSet;
use std::future::Future;
use std::hash::Hash;

use super::{DmsClient, MAX_PAGES, PAGE_LIMIT, path, query};
use crate::dto::rocketmq as rmq;
use crate::error::ApiError;

/// One page of an `offset`/`limit` listing.
pub(super) struct Page<T> {
    pub items: Vec<T>,
    pub total: Option<i64>,
    pub next_offset: Option<i64>,
    /// `max` and `remaining`, where the listing reports a quota.
    pub quota: (Option<i64>, Option<i64>),
}

/// Everything a listing returned, with the totals of its first page.
pub(super) struct Listing<T> {
    pub items: Vec<T>,
    pub total: Option<i64>,
    pub quota: (Option<i64>, Option<i64>),
}

/// Reads every page. Stops on `next_offset == -1`, on reaching `total`, on a short or empty
/// page, and on a page with nothing new (a server that ignores `offset` would loop forever).
pub(super) async fn all_pages<T, K, F, Fut>(
    key: impl Fn(&T) -> K,
    mut fetch: F,
) -> Result<Listing<T>, ApiError>
where
    K: Eq + Hash,
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<Page<T>, ApiError>>,
{
    let mut items = Vec::new();
    let mut seen = HashSet::new();
    let mut offset = 0u64;
    let mut total = None;
    let mut quota = None;
    for _ in 0..MAX_PAGES {
        let page = fetch(offset).await?;
        total = total.or(page.total);
        quota = quota.or(Some(page.quota));
        let received = page.items.len() as u64;
        let mut added = 0usize;
        for item in page.items {
            if seen.insert(key(&item)) {
                items.push(item);
                added += 1;
            }
        }
        let reached_total = page
            .total
            .is_some_and(|t| items.len() as u64 >= u64::try_from(t).unwrap_or(0));
        let no_next = page.next_offset == Some(-1);
        if reached_total || no_next || received < PAGE_LIMIT || added == 0 {
            break;
        }
        offset = match page.next_offset.and_then(|n| u64::try_from(n).ok()) {
            Some(next) if next > offset => next,
            _ => offset + received,
        };
    }
    Ok(Listing {
        items,
        total,
        quota: quota.unwrap_or_default(),
    })
}

pub(super) fn paging(offset: u64) -> Vec<(String, String)> {
    query(&[
        ("offset", offset.to_string()),
        ("limit", PAGE_LIMIT.to_string()),
    ])
}

impl DmsClient {
    /// §2.3 broker list.
    pub async fn rocketmq_brokers(&self, instance_id: &str) -> Result<rmq::BrokerList, ApiError> {
        let project_id = self.project_id().await?;
        self.dms_get(
            "rocketmq_brokers",
            Self::instance_path(&project_id, instance_id, &["brokers"]),
            Vec::new(),
        )
        .await
    }

    /// §2.4 every consumer group (paged by `offset`/`limit`, `total`, `next_offset`).
    pub async fn rocketmq_groups(&self, instance_id: &str) -> Result<rmq::AllGroups, ApiError> {
        let project_id = self.project_id().await?;
        let segments = Self::instance_path(&project_id, instance_id, &["groups"]);
        let listing = all_pages(
            |g: &rmq::Group| g.name.clone(),
            |offset| {
                let segments = segments.clone();
                async move {
                    let page: rmq::GroupList = self
                        .dms_get("rocketmq_groups", segments, paging(offset))
                        .await?;
                    Ok(Page {
                        items: page.groups,
                        total: page.total,
                        next_offset: page.next_offset,
                        quota: (page.max, page.remaining),
                    })
                }
            },
        )
        .await?;
        Ok(rmq::AllGroups {
            items: listing.items,
            total: listing.total,
            max: listing.quota.0,
            remaining: listing.quota.1,
        })
    }

    /// §2.5 one consumer group.
    pub async fn rocketmq_group(
        &self,
        instance_id: &str,
        group: &str,
    ) -> Result<rmq::Group, ApiError> {
        let project_id = self.project_id().await?;
        self.dms_get(
            "rocketmq_group",
            Self::instance_path(&project_id, instance_id, &["groups", group]),
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
        let project_id = self.project_id().await?;
        let segments = Self::instance_path(&project_id, instance_id, &["groups", group, "topics"]);
        let listing = all_pages(
            |t: &String| t.clone(),
            |offset| {
                let segments = segments.clone();
                async move {
                    let page: rmq::GroupTopics = self
                        .dms_get("rocketmq_group_topics", segments, paging(offset))
                        .await?;
                    Ok(Page {
                        items: page.topics,
                        total: page.total,
                        next_offset: None,
                        quota: (None, None),
                    })
                }
            },
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
        let project_id = self.project_id().await?;
        self.dms_get(
            "rocketmq_group_topics",
            Self::instance_path(&project_id, instance_id, &["groups", group, "topics"]),
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
        let project_id = self.project_id().await?;
        self.dms_get(
            "rocketmq_group_clients",
            path(&[
                "v2",
                "rocketmq",
                &project_id,
                "instances",
                instance_id,
                "groups",
                group,
                "clients",
            ]),
            paging(0),
        )
        .await
    }

    /// SDK `ListRocketInstanceTopics`: every topic with its queues per broker.
    pub async fn rocketmq_topics(&self, instance_id: &str) -> Result<rmq::AllTopics, ApiError> {
        let project_id = self.project_id().await?;
        let segments = Self::instance_path(&project_id, instance_id, &["topics"]);
        let listing = all_pages(
            |t: &rmq::Topic| t.name.clone(),
            |offset| {
                let segments = segments.clone();
                async move {
                    let page: rmq::TopicList = self
                        .dms_get("rocketmq_topics", segments, paging(offset))
                        .await?;
                    Ok(Page {
                        items: page.topics,
                        total: page.total,
                        next_offset: page.next_offset,
                        quota: (page.max, page.remaining),
                    })
                }
            },
        )
        .await?;
        Ok(rmq::AllTopics {
            items: listing.items,
            total: listing.total,
            max: listing.quota.0,
            remaining: listing.quota.1,
        })
    }

    /// §2.7 one topic.
    pub async fn rocketmq_topic(
        &self,
        instance_id: &str,
        topic: &str,
    ) -> Result<rmq::Topic, ApiError> {
        let project_id = self.project_id().await?;
        self.dms_get(
            "rocketmq_topic",
            Self::instance_path(&project_id, instance_id, &["topics", topic]),
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
        let project_id = self.project_id().await?;
        self.dms_get(
            "rocketmq_topic_status",
            Self::instance_path(&project_id, instance_id, &["topics", topic, "status"]),
            Vec::new(),
        )
        .await
    }

    /// §2.13 every ACL user (`offset`/`limit` are strings in the document; sent as usual).
    pub async fn rocketmq_users(&self, instance_id: &str) -> Result<Vec<rmq::User>, ApiError> {
        let project_id = self.project_id().await?;
        let segments = Self::instance_path(&project_id, instance_id, &["users"]);
        let listing = all_pages(
            |u: &rmq::User| u.access_key.clone(),
            |offset| {
                let segments = segments.clone();
                async move {
                    let page: rmq::UserList = self
                        .dms_get("rocketmq_users", segments, paging(offset))
                        .await?;
                    Ok(Page {
                        items: page.users,
                        total: page.total,
                        next_offset: None,
                        quota: (None, None),
                    })
                }
            },
        )
        .await?;
        Ok(listing.items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(items: &[u32], total: Option<i64>, next_offset: Option<i64>) -> Page<u32> {
        Page {
            items: items.to_vec(),
            total,
            next_offset,
            quota: (Some(10), Some(7)),
        }
    }

    fn full(from: u32) -> Vec<u32> {
        (from..from + PAGE_LIMIT as u32).collect()
    }

    #[tokio::test]
    async fn pages_follow_offsets_until_total() {
        let mut asked = Vec::new();
        let listing = all_pages(
            |n: &u32| *n,
            |offset| {
                asked.push(offset);
                let items = if offset == 0 { full(0) } else { vec![50, 51] };
                std::future::ready(Ok(page(&items, Some(52), None)))
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(asked, [0, 50]);
        assert_eq!(listing.items.len(), 52);
        assert_eq!(listing.total, Some(52));
        assert_eq!(listing.quota, (Some(10), Some(7)));
    }

    #[tokio::test]
    async fn a_server_ignoring_offset_does_not_loop() {
        let mut calls = 0;
        let listing = all_pages(
            |n: &u32| *n,
            |_| {
                calls += 1;
                // Always the first page, and a total that is never reached.
                std::future::ready(Ok(page(&full(0), Some(500), None)))
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(calls, 2, "the second page brought nothing new");
        assert_eq!(listing.items.len(), 50);
    }

    #[tokio::test]
    async fn next_offset_minus_one_ends_the_listing() {
        let mut calls = 0;
        let listing = all_pages(
            |n: &u32| *n,
            |_| {
                calls += 1;
                std::future::ready(Ok(page(&full(0), None, Some(-1))))
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(calls, 1);
        assert_eq!(listing.items.len(), 50);
    }
}
