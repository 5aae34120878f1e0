//! Kafka endpoints (the Kafka catalog's R-numbers).

use super::paging::{Page, ShortPage, unsigned_total};
use super::{DmsClient, query};
use crate::dto::kafka;
use crate::error::ApiError;

impl DmsClient {
    /// Cluster metadata (R3).
    pub async fn kafka_cluster(&self, instance_id: &str) -> Result<kafka::Cluster, ApiError> {
        self.instance_get(
            "kafka_cluster",
            instance_id,
            &["management", "cluster"],
            Vec::new(),
        )
        .await
    }

    /// Topic list (R10).
    pub async fn kafka_topics(&self, instance_id: &str) -> Result<kafka::TopicList, ApiError> {
        self.instance_get("kafka_topics", instance_id, &["topics"], Vec::new())
            .await
    }

    /// Topic detail (R11). The API allows one call per second per instance: the caller paces.
    pub async fn kafka_topic_detail(
        &self,
        instance_id: &str,
        topic: &str,
    ) -> Result<kafka::TopicDetail, ApiError> {
        self.instance_get(
            "kafka_topic_detail",
            instance_id,
            &["management", "topics", topic],
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
        self.instance_get(
            "kafka_diskusage",
            instance_id,
            &["topics", "diskusage"],
            query(&[("minSize", min_size.to_owned())]),
        )
        .await
    }

    /// All consumer groups (R7, paged by `total`).
    pub async fn kafka_groups(
        &self,
        instance_id: &str,
    ) -> Result<Vec<kafka::GroupSummary>, ApiError> {
        let segments = self.instance_path(instance_id, &["groups"]).await?;
        let listing = self
            .get_all_pages(
                "kafka_groups",
                segments,
                ShortPage::EndsWithoutTotal,
                |group: &kafka::GroupSummary| group.group_id.clone(),
                |page: kafka::GroupList| Page::counted(page.groups, unsigned_total(page.total)),
            )
            .await?;
        Ok(listing.items)
    }

    /// Consumer group detail with per-partition lag (R8).
    pub async fn kafka_group(
        &self,
        instance_id: &str,
        group: &str,
    ) -> Result<kafka::GroupDetail, ApiError> {
        self.instance_get("kafka_group", instance_id, &["groups", group], Vec::new())
            .await
    }

    /// Coordinator of every consumer group (R5).
    pub async fn kafka_coordinators(
        &self,
        instance_id: &str,
    ) -> Result<Vec<kafka::Coordinator>, ApiError> {
        let list: kafka::CoordinatorList = self
            .instance_get(
                "kafka_coordinators",
                instance_id,
                &["management", "coordinators"],
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
        let partition = partition.to_string();
        self.instance_get(
            "kafka_partition_message",
            instance_id,
            &[
                "management",
                "topics",
                topic,
                "partitions",
                &partition,
                "message",
            ],
            query(&[("message_offset", offset.to_string())]),
        )
        .await
    }
}
