//! Endpoints every engine shares: the instance list (V2, V1 as a fallback), tags and tasks.

use std::sync::atomic::Ordering;

use super::paging::{PAGE_LIMIT, Page, ShortPage, all_pages, unsigned_total};
use super::{DmsClient, path, query};
use crate::dto;
use crate::error::{ApiError, ErrorKind};

/// The API name of the tag endpoint of an engine.
fn tags_api(engine: &str) -> Option<&'static str> {
    const TABLE: [(&str, &str); 3] = [
        ("kafka", "kafka_tags"),
        ("rocketmq", "rocketmq_tags"),
        ("rabbitmq", "rabbitmq_tags"),
    ];
    TABLE
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(engine))
        .map(|(_, api)| *api)
}

impl DmsClient {
    /// Whether the last instance listing fell back to the V1 API (R28).
    pub fn uses_v1_instance_list(&self) -> bool {
        self.inner.instances_v1.load(Ordering::Relaxed)
    }

    /// All instances of an engine (R1, paged). When V2 answers 404 this call falls back to
    /// V1 (R28; its instances are marked `listed_by_v1`); the next call tries V2 again, so
    /// one stray 404 never switches an endpoint for good.
    pub async fn list_instances(&self, engine: &str) -> Result<Vec<dto::Instance>, ApiError> {
        let v2 = self.list_instances_v2(engine).await;
        let fell_back = matches!(&v2, Err(error) if error.kind == ErrorKind::NotFound);
        let was_v1 = self.inner.instances_v1.swap(fell_back, Ordering::Relaxed);
        if !fell_back {
            if was_v1 && v2.is_ok() {
                tracing::info!(engine, "V2 instance list answers again");
            }
            return v2;
        }
        if !was_v1 && let Err(error) = &v2 {
            tracing::info!(%error, engine, "V2 instance list not available; falling back to the V1 API");
        }
        let mut instances = self.list_instances_v1(engine).await?;
        for instance in &mut instances {
            instance.listed_by_v1 = true;
        }
        Ok(instances)
    }

    async fn list_instances_v2(&self, engine: &str) -> Result<Vec<dto::Instance>, ApiError> {
        self.list_instances_paged(engine, false).await
    }

    /// R28: V1 paging is undocumented; the examples use `start` (1-based) and `limit`.
    async fn list_instances_v1(&self, engine: &str) -> Result<Vec<dto::Instance>, ApiError> {
        self.list_instances_paged(engine, true).await
    }

    async fn list_instances_paged(
        &self,
        engine: &str,
        v1: bool,
    ) -> Result<Vec<dto::Instance>, ApiError> {
        let project_id = self.project_id().await?;
        let (api, segments) = if v1 {
            (
                "instances_list_v1",
                path(&["v1.0", &project_id, "instances"]),
            )
        } else {
            ("instances_list", path(&["v2", &project_id, "instances"]))
        };
        let listing = all_pages(
            ShortPage::EndsWithoutTotal,
            |instance: &dto::Instance| instance.instance_id.clone(),
            |offset| {
                let segments = segments.clone();
                let position = if v1 {
                    ("start", (offset + 1).to_string())
                } else {
                    ("offset", offset.to_string())
                };
                async move {
                    let page: dto::InstanceList = self
                        .dms_get(
                            api,
                            segments,
                            query(&[
                                ("engine", engine.to_owned()),
                                position,
                                ("limit", PAGE_LIMIT.to_string()),
                            ]),
                        )
                        .await?;
                    Ok(Page::counted(
                        page.instances,
                        unsigned_total(page.instance_num),
                    ))
                }
            },
        )
        .await?;
        Ok(listing.items)
    }

    /// Tags of an instance (R21 for Kafka: `/v2/{project_id}/{engine}/{instance_id}/tags`).
    pub async fn instance_tags(
        &self,
        engine: &str,
        instance_id: &str,
    ) -> Result<Vec<dto::Tag>, ApiError> {
        let api = tags_api(engine).ok_or_else(|| {
            ApiError::new(
                "tags",
                ErrorKind::Config,
                format!("unknown engine {engine:?}"),
            )
        })?;
        let project_id = self.project_id().await?;
        let engine = engine.to_ascii_lowercase();
        let list: dto::TagList = self
            .dms_get(
                api,
                path(&["v2", &project_id, &engine, instance_id, "tags"]),
                Vec::new(),
            )
            .await?;
        Ok(list.tags)
    }

    /// The most recent `limit` background tasks of an instance (R19).
    pub async fn tasks(&self, instance_id: &str, limit: u32) -> Result<dto::Tasks, ApiError> {
        self.instance_get(
            "tasks",
            instance_id,
            &["tasks"],
            query(&[
                ("start", "1".to_owned()),
                ("limit", limit.max(1).to_string()),
            ]),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_api_names() {
        assert_eq!(tags_api("kafka"), Some("kafka_tags"));
        assert_eq!(tags_api("RabbitMQ"), Some("rabbitmq_tags"));
        assert_eq!(tags_api("other"), None);
    }
}
