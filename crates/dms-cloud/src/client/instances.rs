//! Endpoints every engine shares: the instance list (V2, V1 as a fallback), tags and tasks.

use std::sync::atomic::Ordering;

use super::paging::{PAGE_LIMIT, Page, ShortPage, all_pages, unsigned_total};
use super::{DmsClient, path, query};
use crate::Engine;
use crate::dto;
use crate::error::{ApiError, ErrorKind};

/// The API name of the tag endpoint of an engine.
fn tags_api(engine: Engine) -> &'static str {
    match engine {
        Engine::Kafka => "kafka_tags",
        Engine::RocketMq => "rocketmq_tags",
        Engine::RabbitMq => "rabbitmq_tags",
    }
}

impl DmsClient {
    /// Whether the last instance listing fell back to the V1 API (R28).
    pub fn uses_v1_instance_list(&self) -> bool {
        self.inner.instances_v1.load(Ordering::Relaxed)
    }

    /// All instances of an engine (R1, paged). When V2 answers 404 this call falls back to
    /// V1 (R28; its instances are marked `listed_by_v1`); the next call tries V2 again, so
    /// one stray 404 never switches an endpoint for good.
    pub async fn list_instances(&self, engine: Engine) -> Result<Vec<dto::Instance>, ApiError> {
        let v2 = self.list_instances_v2(engine).await;
        let fell_back = matches!(&v2, Err(error) if error.kind == ErrorKind::NotFound);
        let was_v1 = self.inner.instances_v1.swap(fell_back, Ordering::Relaxed);
        if !fell_back {
            if was_v1 && v2.is_ok() {
                tracing::info!(engine = engine.as_str(), "V2 instance list answers again");
            }
            return v2;
        }
        if !was_v1 && let Err(error) = &v2 {
            tracing::info!(%error, engine = engine.as_str(), "V2 instance list not available; falling back to the V1 API");
        }
        let mut instances = self.list_instances_v1(engine).await?;
        for instance in &mut instances {
            instance.listed_by_v1 = true;
        }
        Ok(instances)
    }

    async fn list_instances_v2(&self, engine: Engine) -> Result<Vec<dto::Instance>, ApiError> {
        self.list_instances_paged(engine, false).await
    }

    /// R28: V1 paging is undocumented; the examples use `start` (1-based) and `limit`.
    async fn list_instances_v1(&self, engine: Engine) -> Result<Vec<dto::Instance>, ApiError> {
        self.list_instances_paged(engine, true).await
    }

    async fn list_instances_paged(
        &self,
        engine: Engine,
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
                                ("engine", engine.api_name().to_owned()),
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
        engine: Engine,
        instance_id: &str,
    ) -> Result<Vec<dto::Tag>, ApiError> {
        let project_id = self.project_id().await?;
        let list: dto::TagList = self
            .dms_get(
                tags_api(engine),
                path(&["v2", &project_id, engine.as_str(), instance_id, "tags"]),
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
    fn every_engines_tag_api_is_in_the_vocabulary() {
        for engine in Engine::ALL {
            let api = tags_api(engine);
            assert!(api.starts_with(engine.as_str()), "{api}");
            assert!(
                crate::apis::APIS.iter().any(|known| known.name == api),
                "{api} is not in dms_cloud::apis"
            );
        }
    }
}
