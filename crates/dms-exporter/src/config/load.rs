//! Reading and validating the configuration file.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_saphyr::{Location, Spanned};

use super::locate::KeyLines;
pub use super::problem::Problem;
use super::problem::nowhere;
use super::ranges;
use super::redact::redact;
use super::types::{Config, RegionConfig};
use crate::collect::registry;
use crate::files::read_capped;

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{}", render(.path, .problems))]
    Invalid {
        path: String,
        problems: Vec<Problem>,
    },
}

fn render(path: &str, problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| {
            if p.line == 0 {
                format!("{path}: {}: {}", p.field, p.message)
            } else {
                format!("{path}:{}:{}: {}: {}", p.line, p.column, p.field, p.message)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

impl ConfigError {
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid { problems, .. } => problems,
            ConfigError::Read { .. } => &[],
        }
    }
}

/// Reads and validates a configuration file.
pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
    let (text, display) = read(path)?;
    parse_str(&text, &display)
}

fn read(path: &Path) -> Result<(String, String), ConfigError> {
    let display = path.display().to_string();
    let text = read_capped(path).map_err(|source| ConfigError::Read {
        path: display.clone(),
        source,
    })?;
    Ok((text, display))
}

/// Where the key `field` is written in the file at `path` (line, column), for a problem
/// found after loading, such as a credential file it names that cannot be read; `None` when
/// the file does not write that key (a value from the environment).
pub fn field_position(path: &Path, field: &str) -> Option<(u64, u64)> {
    let text = read_capped(path).ok()?;
    KeyLines::scan(&text).exact_position_of(field)
}

/// Reads any YAML file into `T`, with the same located errors as the configuration.
pub fn load_yaml_file<T: DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let (text, display) = read(path)?;
    parse_yaml(&text, &display, &KeyLines::scan(&text))
}

fn parse_yaml<T: DeserializeOwned>(
    text: &str,
    origin: &str,
    keys: &KeyLines,
) -> Result<T, ConfigError> {
    serde_saphyr::from_str(text).map_err(|e| ConfigError::Invalid {
        path: origin.to_owned(),
        problems: vec![syntax_problem(&e, keys)],
    })
}

/// Parses and validates configuration text; `origin` names it in errors.
pub fn parse_str(text: &str, origin: &str) -> Result<Config, ConfigError> {
    let keys = KeyLines::scan(text);
    let config: Config = parse_yaml(text, origin, &keys)?;
    let mut problems = validate(&config);
    for problem in &mut problems {
        if let Some((line, column)) = keys.position_of(&problem.field) {
            (problem.line, problem.column) = (line, column);
        }
    }
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::Invalid {
            path: origin.to_owned(),
            problems,
        })
    }
}

fn syntax_problem(error: &serde_saphyr::Error, keys: &KeyLines) -> Problem {
    let location = error.location().unwrap_or(Location::UNKNOWN);
    // The library's message starts with the location, which the problem carries already.
    let message = error.to_string();
    let first = message.lines().next().unwrap_or_default();
    let message = first
        .split_once(&format!(
            "line {} column {}: ",
            location.line(),
            location.column()
        ))
        .map_or(first, |(_, rest)| rest)
        .to_owned();
    redact(Problem {
        line: location.line(),
        column: location.column(),
        field: keys
            .path_at(location.line(), location.column())
            .unwrap_or("(document)")
            .to_owned(),
        message,
    })
}

fn at<T>(spanned: &Spanned<T>, field: String, message: impl Into<String>) -> Problem {
    Problem {
        line: spanned.referenced.line(),
        column: spanned.referenced.column(),
        field,
        message: message.into(),
    }
}

/// The longest region name or project id (Huawei's project ids are 32 characters).
const MAX_IDENTIFIER_CHARS: usize = 64;

fn is_identifier(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_IDENTIFIER_CHARS
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `text` quoted for a message, cut after [`MAX_IDENTIFIER_CHARS`] characters.
fn quoted_short(text: &str) -> String {
    if text.chars().count() <= MAX_IDENTIFIER_CHARS {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(MAX_IDENTIFIER_CHARS).collect();
        format!("{head:?}… ({} characters)", text.chars().count())
    }
}

fn validate_region(index: usize, region: &Spanned<RegionConfig>, problems: &mut Vec<Problem>) {
    let field = |name: &str| format!("regions[{index}].{name}");
    let value = &region.value;
    if !is_identifier(&value.name) {
        problems.push(at(
            region,
            field("name"),
            format!(
                "{} is not a region name such as cn-north-4",
                quoted_short(&value.name)
            ),
        ));
    }
    for (name, url) in [
        ("endpoint", &value.endpoint),
        ("iam_endpoint", &value.iam_endpoint),
    ] {
        if let Some(problem) = url.as_deref().and_then(ranges::endpoint_problem) {
            problems.push(at(region, field(name), problem));
        }
    }
    for (i, project) in value.projects.iter().enumerate() {
        if !is_identifier(project) {
            problems.push(at(
                region,
                field(&format!("projects[{i}]")),
                format!("{} is not a project id", quoted_short(project)),
            ));
        }
    }
    if value.engines.is_empty() {
        problems.push(at(
            region,
            field("engines"),
            "list at least one engine (kafka)",
        ));
    }
}

fn validate(config: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    if config.regions.is_empty() {
        problems.push(nowhere("regions", "list at least one region"));
    }
    let mut names = std::collections::BTreeSet::new();
    for (index, region) in config.regions.iter().enumerate() {
        validate_region(index, region, &mut problems);
        if !names.insert(region.value.name.as_str()) {
            problems.push(at(
                region,
                format!("regions[{index}].name"),
                format!("region {:?} is listed twice", region.value.name),
            ));
        }
    }
    problems.extend(ranges::problems(config));
    let collectors = &config.collectors;
    if !(0.0..=0.5).contains(&collectors.jitter) {
        problems.push(nowhere("collectors.jitter", "must be between 0 and 0.5"));
    }
    for description in registry::descriptions() {
        let name = description.name;
        if let Some(settings) = collectors.settings(name)
            && let (Some(interval), Some(max_age)) = (settings.interval, settings.max_age)
            && max_age.0 < interval.0
        {
            problems.push(nowhere(
                &format!("collectors.{name}.max_age"),
                "must not be shorter than the interval, or data would vanish between two cycles",
            ));
        }
    }
    let sharding = &config.sharding;
    if sharding.total_shards == 0 {
        problems.push(nowhere("sharding.total_shards", "must be at least 1"));
    } else if sharding.shard >= sharding.total_shards {
        problems.push(nowhere(
            "sharding.shard",
            format!(
                "{} must be less than sharding.total_shards ({}): shards are numbered from 0",
                sharding.shard, sharding.total_shards
            ),
        ));
    }
    let credentials = &config.credentials;
    problems.extend(super::credentials::problems(credentials));
    for (field, inline, file) in [
        (
            "access_key",
            &credentials.access_key,
            &credentials.access_key_file,
        ),
        (
            "secret_key",
            &credentials.secret_key,
            &credentials.secret_key_file,
        ),
        (
            "security_token",
            &credentials.security_token,
            &credentials.security_token_file,
        ),
    ] {
        if inline.is_some() && file.is_some() {
            problems.push(nowhere(
                &format!("credentials.{field}"),
                format!("set either {field} or {field}_file, not both"),
            ));
        }
    }
    if let Some(user) = &credentials.iam_user
        && user.password.is_some()
        && user.password_file.is_some()
    {
        // Neither is fine: HUAWEICLOUD_SDK_PASSWORD or $CREDENTIALS_DIRECTORY/password then.
        problems.push(nowhere(
            "credentials.iam_user.password",
            "set either password or password_file, not both",
        ));
    }
    problems
}
