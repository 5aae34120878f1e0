//! Keeping secrets out of configuration errors. The YAML library quotes what it could not
//! use (`unknown field `…``, `unknown variant `…``), and the key locator names the keys it
//! saw, so a secret pasted one line off (`secret_key: {<SK>: 1}`, or an SK as a key under
//! `credentials`) would be printed to the terminal and the journal.

use super::problem::Problem;

/// Every key that may appear under `credentials`; any other text there is treated as secret.
const CREDENTIAL_KEYS: &[&str] = &[
    "credentials",
    "access_key",
    "access_key_file",
    "secret_key",
    "secret_key_file",
    "security_token",
    "security_token_file",
    "iam_user",
    "name",
    "domain",
    "password",
    "password_file",
    "source",
    "access_key",
    "ecs_metadata",
    "iam_password",
    "endpoint",
    "refresh_margin",
    "id_token",
    "idp_id",
    "token_file",
    "iam_endpoint",
    "key_lifetime",
];

/// What replaces a hidden key or value.
pub(super) const REDACTED: &str = "<redacted>";

fn under_credentials(field: &str) -> bool {
    field == "credentials" || field.starts_with("credentials.") || field.starts_with("credentials[")
}

/// Text shaped like a key: an AK/SK, token or password is long and mixes letters and digits
/// (or symbols); configuration words are short, or lower-case words joined by `_`, `-`, `.`.
fn looks_secret(text: &str) -> bool {
    let wordy = text
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'));
    text.chars().count() >= 20 && !wordy
}

/// Replaces every quoted token (`` `…` `` or `"…"`) that `hide` selects.
fn redact_quoted(message: &str, hide: impl Fn(&str) -> bool) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find(['`', '"']) {
        let quote = rest[start..].chars().next().unwrap_or('"');
        let after = &rest[start + 1..];
        let Some(len) = after.find(quote) else {
            break;
        };
        out.push_str(&rest[..=start]);
        let token = &after[..len];
        out.push_str(if hide(token) { REDACTED } else { token });
        out.push(quote);
        rest = &after[len + 1..];
    }
    out.push_str(rest);
    out
}

/// The problem with anything that may be a secret replaced by [`REDACTED`]: under
/// `credentials`, every key segment and quoted token that is not a known key; elsewhere,
/// keys and quoted tokens shaped like keys.
pub(super) fn redact(mut problem: Problem) -> Problem {
    let strict = under_credentials(&problem.field);
    let hide = |token: &str| {
        if strict {
            !CREDENTIAL_KEYS.contains(&token)
        } else {
            looks_secret(token)
        }
    };
    problem.field = problem
        .field
        .split('.')
        .map(|segment| {
            let key = segment.split('[').next().unwrap_or(segment);
            if hide(key) { REDACTED } else { segment }
        })
        .collect::<Vec<_>>()
        .join(".");
    problem.message = redact_quoted(&problem.message, |token| {
        // Lists of expected keys are quoted as one token; keep them when every name is known.
        hide(token) && !token.split(", ").all(|t| CREDENTIAL_KEYS.contains(&t))
    });
    problem
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (field, message) in, (field, message) out.
    const CASES: &[(&str, &str, &str, &str)] = &[
        (
            "credentials.s3cr3t",
            "unknown field `s3cr3t`, expected one of access_key, secret_key",
            "credentials.<redacted>",
            "unknown field `<redacted>`, expected one of access_key, secret_key",
        ),
        (
            "credentials.secret_key",
            "invalid type: string \"hunter2\", expected a map",
            "credentials.secret_key",
            "invalid type: string \"<redacted>\", expected a map",
        ),
        // Elsewhere only key-shaped tokens go: a typo or a host name stays readable.
        (
            "regions[0].engines[0]",
            "unknown variant `Sk7Qw9SecretValue0123456789`, expected one of `kafka`, `rocketmq`",
            "regions[0].engines[0]",
            "unknown variant `<redacted>`, expected one of `kafka`, `rocketmq`",
        ),
        (
            "regions[0].endpoints",
            "unknown field `endpoints`",
            "regions[0].endpoints",
            "unknown field `endpoints`",
        ),
        (
            "api.hosts.dms.cn-north-4.myhuaweicloud.com.rate",
            "unknown field `rate`",
            "api.hosts.dms.cn-north-4.myhuaweicloud.com.rate",
            "unknown field `rate`",
        ),
    ];

    #[test]
    fn secrets_are_hidden_and_the_rest_kept() {
        for (field, message, want_field, want_message) in CASES {
            let out = redact(Problem {
                line: 1,
                column: 1,
                field: (*field).to_owned(),
                message: (*message).to_owned(),
            });
            assert_eq!(
                (out.field.as_str(), out.message.as_str()),
                (*want_field, *want_message)
            );
        }
    }
}
