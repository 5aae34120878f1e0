//! Validation of a parsed configuration, in one place: each part of the file checked by its
//! own module, every problem named by its field (`load` then places it at its line).

mod credential_block;
mod ranges;
mod regions;
mod web;

pub use regions::warnings;
pub use web::bcrypt_hash_problem;

use crate::config::problem::{Problem, nowhere};
use crate::config::types::{AccountRegions, Config, CredentialsConfig};

/// Every problem of `config`, in the order of the file's sections.
pub(super) fn problems(config: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    regions::problems(config, &mut problems);
    ranges::api(&config.api, &mut problems);
    ranges::collectors(&config.collectors, &mut problems);
    problems.extend(regions::refused_plain_http(config));
    ranges::schedule(&config.collectors, &mut problems);
    sharding(config, &mut problems);
    credentials(&config.credentials, &mut problems);
    accounts(config, &mut problems);
    problems
}

/// `accounts:`: instead of the top-level credentials and regions, each account with a name
/// of its own, its credentials (checked as the top-level block) and regions or `all`.
fn accounts(config: &Config, problems: &mut Vec<Problem>) {
    if config.accounts.is_empty() {
        return;
    }
    if !config.regions.is_empty() {
        problems.push(nowhere(
            "regions",
            "not used with accounts: each account lists its own regions: move these into an account",
        ));
    }
    if !config.credentials.is_unset() {
        problems.push(nowhere(
            "credentials",
            "not used with accounts: each account has its own credentials: move this block into an account",
        ));
    }
    let mut names = std::collections::BTreeSet::new();
    for (index, account) in config.accounts.iter().enumerate() {
        let prefix = format!("accounts[{index}]");
        let value = &account.value;
        if !regions::is_identifier(&value.name) {
            problems.push(regions::at(
                account,
                format!("{prefix}.name"),
                "an account name is letters, digits, - and _ (it is the account label)",
            ));
        } else if !names.insert(value.name.as_str()) {
            problems.push(regions::at(
                account,
                format!("{prefix}.name"),
                format!("account {:?} is listed twice", value.name),
            ));
        }
        match &value.regions {
            AccountRegions::Listed(listed) if listed.is_empty() => problems.push(nowhere(
                &format!("{prefix}.regions"),
                "list at least one region, or write regions: all to read every project IAM lists for the account",
            )),
            AccountRegions::Listed(listed) => {
                regions::list_problems(&format!("{prefix}.regions"), listed, problems);
                if value.discovery.is_some() {
                    problems.push(nowhere(
                        &format!("{prefix}.discovery"),
                        "only used with regions: all (listed regions set their endpoints themselves)",
                    ));
                }
            }
            AccountRegions::All => {
                if value.credentials.selected_source()
                    == crate::config::types::CredentialSourceName::IamPassword
                {
                    problems.push(nowhere(
                        &format!("{prefix}.regions"),
                        "regions: all reads IAM's project list with keys, and an IAM password's token is scoped to one region's project: list the regions, or give the account keys",
                    ));
                }
                if let Some(discovery) = &value.discovery {
                    for (name, url) in [
                        ("iam_endpoint", &discovery.iam_endpoint),
                        ("endpoint", &discovery.endpoint),
                        ("ces_endpoint", &discovery.ces_endpoint),
                    ] {
                        if let Some(problem) = url.as_deref().and_then(regions::endpoint_problem) {
                            problems.push(nowhere(&format!("{prefix}.discovery.{name}"), problem));
                        }
                    }
                    if discovery
                        .interval
                        .is_some_and(|interval| interval.0 < std::time::Duration::from_secs(60))
                    {
                        problems.push(nowhere(
                            &format!("{prefix}.discovery.interval"),
                            "at least 1m: IAM's project list changes rarely",
                        ));
                    }
                }
            }
        }
        if let Some(problem) = value
            .sts_endpoint
            .as_deref()
            .and_then(regions::endpoint_problem)
        {
            problems.push(nowhere(&format!("{prefix}.sts_endpoint"), problem));
        }
        if value
            .account_id
            .as_deref()
            .is_some_and(|id| !regions::is_identifier(id))
        {
            problems.push(nowhere(
                &format!("{prefix}.account_id"),
                "an account id is IAM's domain id (letters and digits, 32 of them); leave it out to learn it from STS caller-identity",
            ));
        }
        let mut own = Vec::new();
        credentials(&value.credentials, &mut own);
        for mut problem in own {
            problem.field = format!("{prefix}.{}", problem.field);
            problems.push(problem);
        }
    }
}

fn sharding(config: &Config, problems: &mut Vec<Problem>) {
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
}

/// A value given twice (inline and as a file) is refused: which one wins would be a guess.
/// So is a block that is incomplete or contradictory for its source (`credential_block`).
fn credentials(credentials: &CredentialsConfig, problems: &mut Vec<Problem>) {
    problems.extend(credential_block::problems(credentials));
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
}
