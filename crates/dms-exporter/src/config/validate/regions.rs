//! Regions: names, project ids, endpoint URLs, and plain HTTP (refused with an IAM password,
//! a warning with AK/SK).

use serde_saphyr::Spanned;

use crate::config::problem::{Problem, nowhere};
use crate::config::types::{Config, RegionConfig};

/// Every problem of the `regions` list: none listed, a bad name, project id or endpoint, a
/// name listed twice, plain HTTP with an IAM password.
pub(super) fn problems(config: &Config, problems: &mut Vec<Problem>) {
    if config.regions.is_empty() && config.accounts.is_empty() {
        problems.push(nowhere("regions", "list at least one region"));
    }
    list_problems("regions", &config.regions, problems);
}

/// The problems of one list of regions (`regions`, or an account's `accounts[0].regions`).
pub(super) fn list_problems(
    prefix: &str,
    regions: &[Spanned<RegionConfig>],
    problems: &mut Vec<Problem>,
) {
    let mut names = std::collections::BTreeSet::new();
    for (index, region) in regions.iter().enumerate() {
        validate_region(prefix, index, region, problems);
        if !names.insert(region.value.name.as_str()) {
            problems.push(at(
                region,
                format!("{prefix}[{index}].name"),
                format!("region {:?} is listed twice", region.value.name),
            ));
        }
    }
}

pub(super) fn at<T>(spanned: &Spanned<T>, field: String, message: impl Into<String>) -> Problem {
    Problem {
        line: spanned.referenced.line(),
        column: spanned.referenced.column(),
        field,
        message: message.into(),
    }
}

/// The longest region name or project id (Huawei's project ids are 32 characters).
const MAX_IDENTIFIER_CHARS: usize = 64;

pub(super) fn is_identifier(text: &str) -> bool {
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

fn validate_region(
    prefix: &str,
    index: usize,
    region: &Spanned<RegionConfig>,
    problems: &mut Vec<Problem>,
) {
    let field = |name: &str| format!("{prefix}[{index}].{name}");
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
        ("ces_endpoint", &value.ces_endpoint),
    ] {
        if let Some(problem) = url.as_deref().and_then(endpoint_problem) {
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

/// Why an endpoint override cannot be used, if it cannot: it must be an absolute `https://`
/// or `http://` URL of a host (and port), without credentials, query or fragment, as the
/// client appends the API's paths to it (a path is kept as their prefix).
pub(super) fn endpoint_problem(raw: &str) -> Option<String> {
    // A URL with `user:password@` is not echoed: it holds a password.
    let text = if raw.contains('@') {
        "the URL".to_owned()
    } else {
        format!("{raw:?}")
    };
    let no_scheme =
        || format!("{text} must start with https:// (or http:// for a local simulator)");
    let url = match url::Url::parse(raw) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) => return Some(no_scheme()),
        Err(error) => return Some(format!("{text} is not a URL: {error}")),
    };
    if !matches!(url.scheme(), "https" | "http") {
        return Some(no_scheme());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Some(format!("{text} names no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Some(format!(
            "{text} carries a user name or password: configure credentials under credentials"
        ));
    }
    // A path is a prefix (a proxy's `/dms`); a query or fragment would corrupt every call.
    if url.query().is_some() || url.fragment().is_some() {
        return Some(format!(
            "{text} must not carry a query or fragment: the client appends the API's paths"
        ));
    }
    None
}

/// The `http://` endpoints of regions that did not set `insecure_http`, as (field, URL).
fn plain_http(config: &Config) -> impl Iterator<Item = (String, &str)> {
    config
        .regions
        .iter()
        .enumerate()
        .filter(|(_, region)| !region.value.insecure_http)
        .flat_map(|(index, region)| {
            let value = &region.value;
            [
                ("endpoint", &value.endpoint),
                ("iam_endpoint", &value.iam_endpoint),
                ("ces_endpoint", &value.ces_endpoint),
            ]
            .into_iter()
            .filter_map(move |(name, url)| {
                let url = url.as_deref()?;
                url.starts_with("http://")
                    .then(|| (format!("regions[{index}].{name}"), url))
            })
        })
}

/// With an IAM password, a plain `http://` endpoint would carry the password (to IAM) or the
/// token it buys (to DMS) in clear: refused unless the region says `insecure_http: true`.
pub(super) fn refused_plain_http(config: &Config) -> Vec<Problem> {
    if config.credentials.iam_user.is_none() {
        return Vec::new();
    }
    plain_http(config)
        .map(|(field, _)| {
            let region = field.split('.').next().unwrap_or_default().to_owned();
            nowhere(
                &field,
                format!(
                    "http:// would send the IAM password or token unencrypted: use https://, or set {region}.insecure_http: true for a local endpoint"
                ),
            )
        })
        .collect()
}

/// What the configuration allows but an operator should hear about: `http://` endpoints with
/// AK/SK (the signature and any security token travel in clear).
pub fn warnings(config: &Config) -> Vec<String> {
    // Not refused: the SDK's tables lag behind new regions.
    let unknown_regions = config
        .regions
        .iter()
        .enumerate()
        .filter(|(_, region)| !dms_cloud::is_known_region(&region.value.name))
        .map(|(index, region)| {
            format!(
                "regions[{index}].name: {:?} is not a region the Huawei Cloud SDK knows (a typo? e.g. cn-north-4); it is used as given",
                region.value.name
            )
        });
    // With password credentials plain HTTP is refused instead.
    let plain = plain_http(config)
        .filter(|_| config.credentials.iam_user.is_none())
        .map(|(field, url)| {
            let region = field.split('.').next().unwrap_or_default().to_owned();
            format!(
                "{field}: {url} is plain HTTP: requests, their signatures and any security token travel unencrypted; use https://, or set {region}.insecure_http: true to silence this"
            )
        });
    // The id token and the IAM token it buys would travel in clear.
    let id_token_plain = config
        .credentials
        .id_token
        .as_ref()
        .and_then(|token| token.iam_endpoint.as_deref())
        .filter(|url| url.starts_with("http://"))
        .map(|url| {
            format!(
                "credentials.id_token.iam_endpoint: {url} is plain HTTP: the id token and the temporary keys it buys travel unencrypted; use https://"
            )
        });
    unknown_regions.chain(plain).chain(id_token_plain).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_region_name_is_a_warning() {
        let config = crate::config::parse_str(
            "regions: [{name: cn-nort-4}, {name: cn-north-4}]\n",
            "(test)",
        )
        .expect("a region typo is not an error");
        assert_eq!(
            warnings(&config),
            [
                "regions[0].name: \"cn-nort-4\" is not a region the Huawei Cloud SDK knows (a typo? e.g. cn-north-4); it is used as given"
            ]
        );
    }

    #[test]
    fn endpoints_are_bare_https_or_http_urls() {
        assert_eq!(endpoint_problem("https://dms.example.com"), None);
        assert_eq!(endpoint_problem("http://127.0.0.1:8080/"), None);
        assert_eq!(endpoint_problem("https://proxy.example.com/dms"), None);
        for bad in [
            "dms.example.com",
            "ftp://dms.example.com",
            "http://exa mple.com:99999/x",
            "https://dms.example.com?a=b",
            "https://dms.example.com#f",
            "https://:443",
        ] {
            assert!(endpoint_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn a_password_in_an_endpoint_is_not_echoed() {
        for url in [
            "https://u:hunter2pw@dms.example.com",
            "https://u:hunter2pw@exa mple",
        ] {
            let problem = endpoint_problem(url).unwrap_or_default();
            assert!(!problem.is_empty(), "{url}");
            assert!(!problem.contains("hunter2pw"), "{problem}");
        }
    }
}
