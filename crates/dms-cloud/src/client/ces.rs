//! Cloud Eye: an instance's monitoring dimensions (a DMS endpoint of every engine) and CES v1's
//! batch query of metric data (the CES host, a request scheduler of its own).

use bytes::Bytes;
use http::Method;

use super::pipeline::decode;
use super::request::{ApiRequest, Target};
use super::{DmsClient, path};
use crate::dto::ces::{BatchMetricData, BatchQuery, CesHierarchy};
use crate::error::{ApiError, ErrorKind};

/// At most this many series in one batch query (CES refuses more).
pub const MAX_SERIES_PER_QUERY: usize = 500;
/// At most this many points in one answer: past it CES silently moves `from` later, so a
/// query must never ask for more (series × points per series).
pub const MAX_POINTS_PER_ANSWER: usize = 3000;
/// At most this many bytes in a query's body.
pub const MAX_QUERY_BYTES: usize = 512 * 1024;

impl DmsClient {
    /// The CES dimension levels of an instance and the lists their values come from.
    pub async fn ces_hierarchy(&self, instance_id: &str) -> Result<CesHierarchy, ApiError> {
        self.instance_get("ces_hierarchy", instance_id, &["ces-hierarchy"], Vec::new())
            .await
    }

    /// The points of up to [`MAX_SERIES_PER_QUERY`] series. A query over CES's limits is
    /// refused here, naming the limit, instead of being clipped by CES without a word.
    pub async fn ces_batch_metric_data(
        &self,
        query: &BatchQuery,
    ) -> Result<BatchMetricData, ApiError> {
        let api = "ces_batch_metric_data";
        let refuse = |message: String| Err(ApiError::new(api, ErrorKind::Config, message));
        if query.metrics.is_empty() || query.metrics.len() > MAX_SERIES_PER_QUERY {
            return refuse(format!(
                "{} series in one query: CES takes 1 to {MAX_SERIES_PER_QUERY}",
                query.metrics.len()
            ));
        }
        let body = serde_json::to_vec(query)
            .map_err(|e| ApiError::new(api, ErrorKind::Config, e.to_string()))?;
        if body.len() > MAX_QUERY_BYTES {
            return refuse(format!(
                "a query of {} bytes: CES takes at most {MAX_QUERY_BYTES}",
                body.len()
            ));
        }
        let project_id = self.project_id().await?;
        let req = ApiRequest {
            api,
            target: Target::Ces,
            method: Method::POST,
            // CES v1 spells its version in capitals; the path is signed as sent.
            segments: path(&["V1.0", &project_id, "batch-query-metric-data"]),
            query: Vec::new(),
            body: Bytes::from(body),
        };
        let response = self.send_dms(&req).await?;
        decode(api, response.body())
    }
}
