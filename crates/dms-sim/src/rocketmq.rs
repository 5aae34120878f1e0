//! Simulated RocketMQ instances (engine `reliability`): state, evolution and the JSON of every
//! endpoint, shaped like the documented examples in `fixtures/api/rocketmq`.

use serde_json::{Value, json};

use crate::Project;
use crate::fleet::hex_id;
use crate::http::ApiError;

pub(crate) struct Instance {
    /// Touched through the control API: churn leaves it alone.
    pub pinned: bool,
    pub id: String,
    pub project_id: String,
    pub region: String,
    pub name: String,
    pub status: String,
    created_at_ms: i64,
}

impl Instance {
    /// A populated, RUNNING instance; `serial` numbers instances across the fleet.
    pub fn build(
        rng: &mut fastrand::Rng,
        project: &Project,
        name: String,
        serial: u64,
        now_ms: i64,
    ) -> Instance {
        let _ = serial;
        Instance {
            pinned: false,
            id: format!(
                "{}-{}-{}-{}-{}",
                hex_id(rng, 8),
                hex_id(rng, 4),
                hex_id(rng, 4),
                hex_id(rng, 4),
                hex_id(rng, 12)
            ),
            project_id: project.project_id.clone(),
            region: project.region.clone(),
            name,
            status: "RUNNING".to_owned(),
            created_at_ms: now_ms - 90 * 86_400_000,
        }
    }

    /// One logical tick.
    pub fn step(&mut self, rng: &mut fastrand::Rng, now_ms: i64, churn: bool) {
        let _ = (rng, now_ms, churn);
    }

    /// `ShowInstanceResp` (instance list and detail).
    pub fn show(&self) -> Value {
        json!({
            "instance_id": self.id,
            "name": self.name,
            "engine": "reliability",
            "status": self.status,
            "created_at": self.created_at_ms.to_string(),
        })
    }

    /// The V1 instance object.
    pub fn show_v1(&self) -> Value {
        self.show()
    }

    /// What `GET /_sim/state` shows of the instance.
    pub fn summary(&self) -> Value {
        json!({
            "instance_id": self.id,
            "project_id": self.project_id,
            "region": self.region,
            "name": self.name,
            "status": self.status,
        })
    }
}

/// Answers an instance-scoped endpoint of this engine (`item` is the trailing path parameter).
pub(crate) fn dispatch(
    instance: &Instance,
    endpoint: &str,
    item: &str,
    query: &[(String, String)],
) -> Result<Value, ApiError> {
    let _ = (item, query);
    match endpoint {
        "instance_get" => Ok(instance.show()),
        "instance_get_v1" => Ok(instance.show_v1()),
        _ => Err(ApiError::url_not_found()),
    }
}
