//! Validation of a parsed configuration, in one place: each part of the file checked by its
//! own module, every problem named by its field (`load` then places it at its line).

mod credential_block;
mod ranges;
mod regions;
mod web;

pub use regions::warnings;
pub use web::bcrypt_hash_problem;

use crate::config::problem::{Problem, nowhere};
use crate::config::types::Config;

/// Every problem of `config`, in the order of the file's sections.
pub(super) fn problems(config: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    regions::problems(config, &mut problems);
    ranges::api(&config.api, &mut problems);
    ranges::collectors(&config.collectors, &mut problems);
    problems.extend(regions::refused_plain_http(config));
    ranges::schedule(&config.collectors, &mut problems);
    sharding(config, &mut problems);
    credentials(config, &mut problems);
    problems
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
fn credentials(config: &Config, problems: &mut Vec<Problem>) {
    let credentials = &config.credentials;
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
