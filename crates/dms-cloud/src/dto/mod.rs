//! Lenient response DTOs. Unknown fields are ignored; numbers and booleans may arrive as
//! strings; `null` means "absent". Every documented example under `fixtures/api/` parses.

pub mod ces;
pub mod kafka;
pub mod lenient;
pub mod rabbitmq;
pub mod rocketmq;
pub mod zones;

use serde::Deserialize;

pub use lenient::parse_size_bytes;

/// A resource tag (`TagEntity`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Deserialize)]
pub struct Tag {
    #[serde(default, deserialize_with = "lenient::string")]
    pub key: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub value: String,
}

/// R21 response: `{"tags": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TagList {
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub tags: Vec<Tag>,
}

/// An instance of any engine, V2 (`ShowInstanceResp`) or V1 (R27/R28) shape.
/// Sizes are in GB (2^30 bytes) as the API sends them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Instance {
    /// Set by the client when this instance came from the V1 list (R28), which lacks some
    /// V2 fields (`broker_num`) and sends others in another form (`specification`).
    #[serde(skip)]
    pub listed_by_v1: bool,
    #[serde(default, deserialize_with = "lenient::string")]
    pub instance_id: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub engine: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub engine_version: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub specification: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub status: String,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub storage_space: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub total_storage_space: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub used_storage_space: Option<i64>,
    /// The partition limit of the instance (a string in the API).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub partition_num: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub broker_num: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub node_num: Option<i64>,
    /// Creation time, epoch milliseconds (a string in the API).
    #[serde(default, deserialize_with = "lenient::opt_epoch_ms")]
    pub created_at: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub resource_spec_code: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub product_id: String,
    #[serde(rename = "type", default, deserialize_with = "lenient::string")]
    pub instance_type: String,
    #[serde(default, deserialize_with = "lenient::string_or_seq")]
    pub available_zones: Vec<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub enterprise_project_id: String,
    /// `HH:mm:ss` in V2, `HH:mm` in the V1 tables; see [`Instance::maintenance_window`].
    #[serde(default, deserialize_with = "lenient::string")]
    pub maintain_begin: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub maintain_end: String,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub ssl_enable: Option<bool>,
    /// A boolean, or the string `"true"` in one V1 example.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub enable_publicip: Option<bool>,
    /// `null` when public access is off.
    #[serde(default, deserialize_with = "lenient::string")]
    pub publicip_address: String,
    /// Disk expansions so far: an Integer in V2, documented as a String in V1.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub extend_times: Option<i64>,
    /// V1 only: why creation failed or the status is abnormal (`null` when fine).
    #[serde(default, deserialize_with = "lenient::string")]
    pub error_code: String,
    /// Whether RocketMQ access control (ACL users) is on.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub enable_acl: Option<bool>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub retention_policy: String,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub tags: Vec<Tag>,
    /// Connection addresses, comma-separated (the key every example uses).
    #[serde(default, deserialize_with = "lenient::string")]
    pub connect_address: String,
    /// The key the V1 tables document instead; see [`Instance::connect_addresses`].
    #[serde(
        default,
        rename = "connect_addresses",
        deserialize_with = "lenient::string"
    )]
    pub connect_addresses_v1: String,
    #[serde(default, deserialize_with = "lenient::string_or_seq")]
    pub support_features: Vec<String>,
}

impl Instance {
    /// `connect_address`, or the V1 `connect_addresses` when only that one was sent.
    pub fn connect_addresses(&self) -> &str {
        if self.connect_address.is_empty() {
            &self.connect_addresses_v1
        } else {
            &self.connect_address
        }
    }

    /// The maintenance window as `(begin, end)`, both `HH:mm:ss`, when both parse.
    pub fn maintenance_window(&self) -> Option<(String, String)> {
        Some((
            normalise_clock(&self.maintain_begin)?,
            normalise_clock(&self.maintain_end)?,
        ))
    }

    /// Creation time in seconds since the epoch.
    pub fn created_at_unix(&self) -> Option<f64> {
        self.created_at.map(|ms| ms as f64 / 1000.0)
    }
}

/// R1 / R28 response.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct InstanceList {
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub instances: Vec<Instance>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub instance_num: Option<u64>,
}

/// R19/R20 response.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Tasks {
    /// Total number of tasks (a string in the API).
    #[serde(default, deserialize_with = "lenient::u64_or_zero")]
    pub task_count: u64,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub tasks: Vec<Task>,
}

/// A background task. Times stay as sent (ISO-8601); see [`Task::created_at_unix`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Task {
    #[serde(default, deserialize_with = "lenient::string")]
    pub id: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub user_name: String,
    /// Task parameters: a JSON document encoded as a string.
    #[serde(default, deserialize_with = "lenient::string")]
    pub params: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub status: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub created_at: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub updated_at: String,
}

/// `HH:mm` or `HH:mm:ss` → `HH:mm:ss` (V1 sends the former, V2 the latter); `None` if the
/// text is no time of day.
pub fn normalise_clock(text: &str) -> Option<String> {
    let parts: Vec<&str> = text.trim().split(':').collect();
    let number = |part: &str, max: u32| {
        (part.len() == 2)
            .then(|| part.parse::<u32>().ok())
            .flatten()
            .filter(|v| *v <= max)
    };
    let (hour, minute, second) = match parts.as_slice() {
        [h, m] => (number(h, 23)?, number(m, 59)?, 0),
        [h, m, s] => (number(h, 23)?, number(m, 59)?, number(s, 59)?),
        _ => return None,
    };
    Some(format!("{hour:02}:{minute:02}:{second:02}"))
}

/// Seconds since the epoch of an ISO-8601 / RFC 3339 time, or of epoch milliseconds.
pub fn parse_time_unix(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(ms) = text.parse::<i64>() {
        return Some(ms as f64 / 1000.0);
    }
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|at| at.unix_timestamp_nanos() as f64 / 1e9)
}

impl Task {
    pub fn created_at_unix(&self) -> Option<f64> {
        parse_time_unix(&self.created_at)
    }

    pub fn updated_at_unix(&self) -> Option<f64> {
        parse_time_unix(&self.updated_at)
    }
}

/// IAM `GET /v3/projects` response.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ProjectList {
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub projects: Vec<Project>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Project {
    #[serde(default, deserialize_with = "lenient::string")]
    pub id: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    /// The owning account, in a token's project (the project list says `domain_id`).
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub domain: Option<Domain>,
}

/// An account (IAM "domain") as a token names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Domain {
    #[serde(default, deserialize_with = "lenient::string")]
    pub id: String,
}

/// The user a token was issued to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct TokenUser {
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub domain: Option<Domain>,
}

/// STS `GET /v5/caller-identity`: whose keys signed the call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CallerIdentity {
    #[serde(default, deserialize_with = "lenient::string")]
    pub account_id: String,
}

/// IAM `POST /v3/auth/tokens` response body (the token itself is in `X-Subject-Token`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TokenResponse {
    #[serde(default)]
    pub token: TokenBody,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TokenBody {
    #[serde(default, deserialize_with = "lenient::string")]
    pub expires_at: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub issued_at: String,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub project: Option<Project>,
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub user: Option<TokenUser>,
}

impl TokenBody {
    /// The account the token belongs to: its user's domain, else its project's.
    pub fn domain_id(&self) -> Option<String> {
        let user = self.user.as_ref().and_then(|u| u.domain.as_ref());
        let project = self.project.as_ref().and_then(|p| p.domain.as_ref());
        user.or(project)
            .map(|domain| domain.id.clone())
            .filter(|id| !id.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_account_by_its_user_else_its_project() {
        let parse = |body: &str| -> Option<String> {
            serde_json::from_str::<TokenResponse>(body)
                .map(|r| r.token.domain_id())
                .unwrap_or_else(|e| panic!("{e}: {body}"))
        };
        let both = r#"{"token":{"user":{"domain":{"id":"u1"}},"project":{"id":"p","domain":{"id":"p1"}}}}"#;
        assert_eq!(parse(both).as_deref(), Some("u1"));
        let project =
            r#"{"token":{"user":{"name":"x"},"project":{"id":"p","domain":{"id":"p1"}}}}"#;
        assert_eq!(parse(project).as_deref(), Some("p1"));
        assert_eq!(parse(r#"{"token":{"user":{"domain":{"id":""}}}}"#), None);
        assert_eq!(parse(r#"{"token":{"user":null,"project":null}}"#), None);
    }

    #[test]
    fn task_times_parse() {
        let task = Task {
            created_at: "2020-05-15T03:19:51.046Z".into(),
            ..Task::default()
        };
        let at = task.created_at_unix().unwrap_or_default();
        assert!((at - 1_589_512_791.046).abs() < 1e-3, "{at}");
        assert_eq!(parse_time_unix("not a time"), None);
        assert_eq!(parse_time_unix("1568797295209"), Some(1_568_797_295.209));
    }

    #[test]
    fn clocks_normalise_to_seconds() {
        assert_eq!(normalise_clock("22:00").as_deref(), Some("22:00:00"));
        assert_eq!(normalise_clock("02:00:00").as_deref(), Some("02:00:00"));
        assert_eq!(normalise_clock(" 06:30 ").as_deref(), Some("06:30:00"));
        for bad in ["", "22", "24:00", "2:00", "22:00:00:00", "ab:cd"] {
            assert_eq!(normalise_clock(bad), None, "{bad:?}");
        }
    }
}
