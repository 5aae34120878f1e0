//! The credential block: what in it is incomplete or
//! contradictory (the file only: the SDK variables and `$CREDENTIALS_DIRECTORY` are looked at
//! when credentials are resolved, `config::credentials`).

use std::ops::RangeInclusive;
use std::time::Duration;

use crate::config::problem::{Problem, nowhere};
use crate::config::types::{CredentialSourceName, CredentialsConfig, IdTokenConfig};

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
    if !renewing && config.agency.is_none() && config.refresh_margin.is_some() {
        problems.push(nowhere(
            "credentials.refresh_margin",
            "only used with temporary keys that the exporter renews (source: ecs_metadata or id_token, or an agency); a rewritten credential file is picked up within 10 s",
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
        (
            "credentials.id_token.sts_endpoint",
            config
                .id_token
                .as_ref()
                .and_then(|t| t.sts_endpoint.as_deref()),
        ),
    ];
    for (field, endpoint) in endpoints {
        if let Some(problem) = endpoint.and_then(super::regions::endpoint_problem) {
            problems.push(nowhere(field, problem));
        }
    }
    if let Some(token) = &config.id_token {
        oidc_agency_problems(token, &mut problems);
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
    agency_problems(config, &mut problems);
    problems
}

/// What STS accepts for `duration_seconds` (900 s to 12 h).
const AGENCY_DURATION: RangeInclusive<Duration> =
    Duration::from_secs(900)..=Duration::from_secs(12 * 3600);

/// `credentials.agency`: what it names and what it is assumed with.
fn agency_problems(config: &CredentialsConfig, problems: &mut Vec<Problem>) {
    if config.external_id.is_some() {
        problems.push(nowhere(
            "credentials.external_id",
            if config.agency.is_some() {
                "an external id belongs to the agency: move it to credentials.agency.external_id"
            } else {
                "an external id is only sent when assuming an agency: configure credentials.agency (with its external_id), or remove it"
            },
        ));
    }
    let Some(agency) = &config.agency else {
        return;
    };
    if config.selected_source() == CredentialSourceName::IamPassword {
        problems.push(nowhere(
            "credentials.agency",
            "an agency is assumed at STS with keys, not an IAM password: give the base credentials as access_key/secret_key (or source: ecs_metadata or id_token)",
        ));
    }
    match (&agency.urn, &agency.domain_id, &agency.name) {
        (Some(_), None, None) | (None, Some(_), Some(_)) => {}
        (None, None, None) => problems.push(nowhere(
            "credentials.agency",
            "name the agency: urn (iam::<domain id>:agency:<name>), or domain_id and name",
        )),
        (Some(_), _, _) => problems.push(nowhere(
            "credentials.agency.urn",
            "set either urn, or domain_id and name, not both",
        )),
        (None, Some(_), None) => problems.push(nowhere(
            "credentials.agency.domain_id",
            "set the agency's name with its domain_id",
        )),
        (None, None, Some(_)) => problems.push(nowhere(
            "credentials.agency.name",
            "set the domain_id of the account that owns the agency with its name",
        )),
    }
    if let Some(urn) = &agency.urn {
        let parts: Vec<&str> = urn.split(':').collect();
        let shaped = parts.len() == 5
            && parts[0] == "iam"
            && parts[1].is_empty()
            && !parts[2].is_empty()
            && parts[3] == "agency"
            && !parts[4].is_empty()
            && urn.len() <= 1500;
        if !shaped {
            problems.push(nowhere(
                "credentials.agency.urn",
                "not an agency URN such as iam::0123456789abcdef0123456789abcdef:agency:dms-monitoring",
            ));
        }
    }
    if let Some(external_id) = &agency.external_id
        && !(2..=1224).contains(&external_id.chars().count())
    {
        // Not quoted: it is a shared secret of sorts.
        problems.push(nowhere(
            "credentials.agency.external_id",
            "must be 2 to 1224 characters",
        ));
    }
    if let Some(session) = &agency.session_name {
        let allowed = session
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
        if !(2..=128).contains(&session.len()) || !allowed {
            problems.push(nowhere(
                "credentials.agency.session_name",
                "must be 2 to 128 letters, digits or _+=,.@-",
            ));
        }
    }
    if let Some(duration) = agency.duration
        && !AGENCY_DURATION.contains(&duration.0)
    {
        problems.push(out_of_range(
            "credentials.agency.duration",
            duration.0,
            &AGENCY_DURATION,
        ));
    }
    if let Some(problem) = agency
        .sts_endpoint
        .as_deref()
        .and_then(super::regions::endpoint_problem)
    {
        problems.push(nowhere("credentials.agency.sts_endpoint", problem));
    }
}

/// STS grants an agency assumed with an id token 15 minutes to 12 hours.
const OIDC_AGENCY_LIFETIME: RangeInclusive<Duration> =
    Duration::from_secs(900)..=Duration::from_secs(12 * 3600);

/// `credentials.id_token` with an agency (STS `assume-with-oidc`): the provider and the
/// agency together, instead of IAM's identity provider id.
fn oidc_agency_problems(token: &IdTokenConfig, problems: &mut Vec<Problem>) {
    let oidc = token.provider_urn.is_some() || token.agency_urn.is_some();
    match (&token.provider_urn, &token.agency_urn) {
        (Some(_), None) => problems.push(nowhere(
            "credentials.id_token.agency_urn",
            "provider_urn exchanges the token at STS for an agency's keys: name the agency (iam::{domain_id}:agency:{name})",
        )),
        (None, Some(_)) => problems.push(nowhere(
            "credentials.id_token.provider_urn",
            "agency_urn is assumed with the token of an identity provider: name it (iam::{domain_id}:identity-provider:{name})",
        )),
        _ => {}
    }
    if oidc && token.idp_id.is_some() {
        problems.push(nowhere(
            "credentials.id_token.idp_id",
            "the token goes either to IAM's identity provider (idp_id) or to STS for an agency (provider_urn, agency_urn), not both",
        ));
    }
    if !oidc {
        for (field, set) in [
            ("sts_endpoint", token.sts_endpoint.is_some()),
            ("session_name", token.session_name.is_some()),
        ] {
            if set {
                problems.push(nowhere(
                    &format!("credentials.id_token.{field}"),
                    "only used with provider_urn and agency_urn (an agency assumed with the token at STS)",
                ));
            }
        }
    }
    if oidc
        && let Some(lifetime) = token.key_lifetime
        && !OIDC_AGENCY_LIFETIME.contains(&lifetime.0)
    {
        problems.push(out_of_range(
            "credentials.id_token.key_lifetime",
            lifetime.0,
            &OIDC_AGENCY_LIFETIME,
        ));
    }
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
