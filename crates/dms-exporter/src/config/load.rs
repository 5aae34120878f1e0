//! Reading the configuration file: parsing, then validation (`validate`), every problem
//! placed at its line.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_saphyr::Location;

use super::locate::KeyLines;
pub use super::problem::Problem;
use super::redact::redact;
use super::types::Config;
use super::validate;
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
    let mut config: Config = parse_yaml(text, origin, &keys)?;
    default_agency_regions(&mut config);
    let mut problems = validate::problems(&config);
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

/// An agency's STS endpoint is, unless configured, the one of the first region listed
/// beside it.
fn default_agency_regions(config: &mut Config) {
    let first = |regions: &[serde_saphyr::Spanned<super::types::RegionConfig>]| {
        regions.first().map(|region| region.value.name.clone())
    };
    let top = first(&config.regions);
    if let Some(agency) = config.credentials.agency.as_mut() {
        agency.region = agency.region.take().or(top);
    }
    for account in &mut config.accounts {
        let account = &mut account.value;
        let region = first(account.regions.listed());
        if let Some(agency) = account.credentials.agency.as_mut() {
            agency.region = agency.region.take().or(region);
        }
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
