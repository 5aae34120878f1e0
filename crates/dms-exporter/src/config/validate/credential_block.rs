//! The credential block: what in it is incomplete or
//! contradictory (the file only: the SDK variables and `$CREDENTIALS_DIRECTORY` are looked at
//! when credentials are resolved, `config::credentials`).

use std::ops::RangeInclusive;
use std::time::Duration;

use crate::config::problem::{Problem, nowhere};
use crate::config::types::{CredentialSourceName, CredentialsConfig};

/// What IAM grants for keys bought with a token (`duration_seconds` 900 to 86400).
const KEY_LIFETIME: RangeInclusive<Duration> =
    Duration::from_secs(900)..=Duration::from_secs(24 * 3600);

/// The range of `credentials.refresh_margin`: at least a minute of retries before expiry,
/// and less than the shortest temporary keys' life would make every fetch a refresh.
const REFRESH_MARGIN: RangeInclusive<Duration> =
    Duration::from_secs(60)..=Duration::from_secs(6 * 3600);

/// What is incomplete or contradictory in the credential block (the file only: the SDK
/// variables and `$CREDENTIALS_DIRECTORY` are looked at when credentials are resolved).
pub(super) fn problems(config: &CredentialsConfig) -> Vec<Problem> {
    let mut problems = Vec::new();
    let source = config.selected_source();
    let keys = [
        ("access_key", config.access_key.is_some()),
        ("access_key_file", config.access_key_file.is_some()),
        ("secret_key", config.secret_key.is_some()),
        ("secret_key_file", config.secret_key_file.is_some()),
        ("security_token", config.security_token.is_some()),
        ("security_token_file", config.security_token_file.is_some()),
    ];
    let has_access_key = config.access_key.is_some() || config.access_key_file.is_some();
    let has_secret_key = config.secret_key.is_some() || config.secret_key_file.is_some();
    let token_field = if config.security_token.is_some() {
        Some("security_token")
    } else if config.security_token_file.is_some() {
        Some("security_token_file")
    } else {
        None
    };
    let renewing = matches!(
        source,
        CredentialSourceName::EcsMetadata | CredentialSourceName::IdToken
    );
    let name = source.as_str();
    if renewing {
        for (field, _) in keys.iter().filter(|(_, set)| *set) {
            problems.push(nowhere(
                &format!("credentials.{field}"),
                format!("not used with source: {name} (it gives the keys and their security token): remove it, or choose source: access_key"),
            ));
        }
        if config.iam_user.is_some() {
            problems.push(nowhere(
                "credentials.iam_user",
                format!("not used with source: {name}: remove it, or choose source: iam_password"),
            ));
        }
    }
    match source {
        CredentialSourceName::IamPassword if config.iam_user.is_none() => {
            problems.push(nowhere(
                "credentials.source",
                "iam_password needs credentials.iam_user (name, domain and password or password_file)",
            ));
        }
        CredentialSourceName::AccessKey if config.source.is_some() && config.iam_user.is_some() => {
            problems.push(nowhere(
                "credentials.iam_user",
                "not used with source: access_key: remove it, or choose source: iam_password",
            ));
        }
        _ => {}
    }
    // A security token is one part of temporary keys: the file naming it without its keys
    // would sign with keys from elsewhere that the token does not belong to.
    if !renewing
        && let Some(field) = token_field
        && !(has_access_key && has_secret_key)
    {
        problems.push(nowhere(
            &format!("credentials.{field}"),
            "a security token belongs to temporary keys: set credentials.access_key (or access_key_file) and credentials.secret_key (or secret_key_file) with it",
        ));
    }
    for (block, owner, set) in [
        (
            "ecs_metadata",
            CredentialSourceName::EcsMetadata,
            config.ecs_metadata.is_some(),
        ),
        (
            "id_token",
            CredentialSourceName::IdToken,
            config.id_token.is_some(),
        ),
    ] {
        if set && source != owner {
            problems.push(nowhere(
                &format!("credentials.{block}"),
                format!(
                    "only used with source: {}: set that, or remove this block",
                    owner.as_str()
                ),
            ));
        }
    }
    if !renewing && config.refresh_margin.is_some() {
        problems.push(nowhere(
            "credentials.refresh_margin",
            "only used with temporary keys that the exporter renews (source: ecs_metadata or id_token); a rewritten credential file is picked up within 10 s",
        ));
    }
    let endpoints = [
        (
            "credentials.ecs_metadata.endpoint",
            config
                .ecs_metadata
                .as_ref()
                .and_then(|m| m.endpoint.as_deref()),
        ),
        (
            "credentials.id_token.iam_endpoint",
            config
                .id_token
                .as_ref()
                .and_then(|t| t.iam_endpoint.as_deref()),
        ),
    ];
    for (field, endpoint) in endpoints {
        if let Some(problem) = endpoint.and_then(super::regions::endpoint_problem) {
            problems.push(nowhere(field, problem));
        }
    }
    if let Some(lifetime) = config.id_token.as_ref().and_then(|t| t.key_lifetime)
        && !KEY_LIFETIME.contains(&lifetime.0)
    {
        problems.push(out_of_range(
            "credentials.id_token.key_lifetime",
            lifetime.0,
            &KEY_LIFETIME,
        ));
    }
    if let Some(margin) = config.refresh_margin
        && !REFRESH_MARGIN.contains(&margin.0)
    {
        problems.push(out_of_range(
            "credentials.refresh_margin",
            margin.0,
            &REFRESH_MARGIN,
        ));
    }
    problems
}

fn out_of_range(field: &str, value: Duration, range: &RangeInclusive<Duration>) -> Problem {
    nowhere(
        field,
        format!(
            "{} is out of range: from {} to {}",
            humantime::format_duration(value),
            humantime::format_duration(*range.start()),
            humantime::format_duration(*range.end())
        ),
    )
}
