//! Kafka endpoints (the Kafka catalog's R-numbers).

use std::collections::HashSet;

use super::{DmsClient, MAX_PAGES, PAGE_LIMIT, query};
use crate::dto::kafka;
use crate::error::ApiError;

impl DmsClient {
    /// Cluster metadata (R3).
    pub async fn kafka_cluster(&self, instance_id: &str) -> Result<kafka::Cluster, ApiError> {
        let project_id = self.project_id().await?;
        self.dms_get(
            "kafka_cluster",
            Self::instance_path(&project_id, instance_id, &["management", "cluster"]),
            Vec::new(),
        )
        .await
    }

    /// Topic list (R10).
    pub async fn kafka_topics(&self, instance_id: &str) -> Result<kafka::TopicList, ApiError> {
        let project_id = self.project_id().await?;
        self.dms_get(
            "kafka_topics",
            Self::instance_path(&project_id, instance_id, &["topics"]),
            Vec::new(),
        )
        .await
    }

    /// Topic detail (R11). The API allows one call per second per instance: the caller paces.
    pub async fn kafka_topic_detail(
        &self,
        instance_id: &str,
        topic: &str,
    ) -> Result<kafka::TopicDetail, ApiError> {
        let project_id = self.project_id().await?;
        self.dms_get(
            "kafka_topic_detail",
            Self::instance_path(&project_id, instance_id, &["management", "topics", topic]),
            Vec::new(),
        )
        .await
    }

    /// Disk usage per broker and topic partition (R6), with `minSize` (e.g. `"1K"`).
    pub async fn kafka_disk_usage(
        &self,
        instance_id: &str,
        min_size: &str,
    ) -> Result<kafka::DiskUsage, ApiError> {
        let project_id = self.project_id().await?;
        self.dms_get(
            "kafka_diskusage",
            Self::instance_path(&project_id, instance_id, &["topics", "diskusage"]),
            query(&[("minSize", min_size.to_owned())]),
        )
        .await
    }

    /// All consumer groups (R7, paged by `total`).
    pub async fn kafka_groups(
        &self,
        instance_id: &str,
    ) -> Result<Vec<kafka::GroupSummary>, ApiError> {
        let project_id = self.project_id().await?;
        let mut groups = Vec::new();
        let mut seen = HashSet::new();
        let mut offset = 0u64;
        for _ in 0..MAX_PAGES {
            let page: kafka::GroupList = self
                .dms_get(
                    "kafka_groups",
                    Self::instance_path(&project_id, instance_id, &["groups"]),
                    query(&[
                        ("offset", offset.to_string()),
                        ("limit", PAGE_LIMIT.to_string()),
                    ]),
                )
                .await?;
            let received = page.groups.len() as u64;
            let mut added = 0usize;
            for group in page.groups {
                if seen.insert(group.group_id.clone()) {
                    groups.push(group);
                    added += 1;
                }
            }
            offset += received;
            let done = match page.total {
                Some(total) => groups.len() as u64 >= total,
                None => received < PAGE_LIMIT,
            };
            if done || received == 0 || added == 0 {
                break;
            }
        }
        Ok(groups)
    }

    /// Consumer group detail with per-partition lag (R8).
    pub async fn kafka_group(
        &self,
        instance_id: &str,
        group: &str,
    ) -> Result<kafka::GroupDetail, ApiError> {
        let project_id = self.project_id().await?;
        self.dms_get(
            "kafka_group",
            Self::instance_path(&project_id, instance_id, &["groups", group]),
            Vec::new(),
        )
        .await
    }

    /// Coordinator of every consumer group (R5).
    pub async fn kafka_coordinators(
        &self,
        instance_id: &str,
    ) -> Result<Vec<kafka::Coordinator>, ApiError> {
        let project_id = self.project_id().await?;
        let list: kafka::CoordinatorList = self
            .dms_get(
                "kafka_coordinators",
                Self::instance_path(&project_id, instance_id, &["management", "coordinators"]),
                Vec::new(),
            )
            .await?;
        Ok(list.coordinators)
    }

    /// The message at `offset` of a partition (R15; `partition` is an integer path segment).
    pub async fn kafka_partition_message(
        &self,
        instance_id: &str,
        topic: &str,
        partition: i64,
        offset: i64,
    ) -> Result<kafka::PartitionMessages, ApiError> {
        let project_id = self.project_id().await?;
        let partition = partition.to_string();
        self.dms_get(
            "kafka_partition_message",
            Self::instance_path(
                &project_id,
                instance_id,
                &[
                    "management",
                    "topics",
                    topic,
                    "partitions",
                    &partition,
                    "message",
                ],
            ),
            query(&[("message_offset", offset.to_string())]),
        )
        .await
    }
}
