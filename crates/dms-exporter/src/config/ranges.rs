//! Ranges and forms that parsing alone lets through but that would break at run time: a
//! concurrency of 2⁶³, an interval of 500000000000y (tokio's timer overflows), a rate of
//! 1e-30 requests per second, an endpoint that is not a URL.

use std::ops::RangeInclusive;
use std::time::Duration;

use super::problem::{Problem, nowhere};
use super::types::{ApiConfig, CollectorsConfig, Config, HumanDuration};
use crate::collect::{instances, registry};

/// Requests per second per host: from one every 100 s to far beyond any gateway's limit.
pub(super) const RATE_LIMIT: RangeInclusive<f64> = 0.01..=100_000.0;
pub(super) const BURST: RangeInclusive<u32> = 1..=10_000;
/// Requests in flight per host.
pub(super) const CONCURRENCY: RangeInclusive<usize> = 1..=1024;
pub(super) const MAX_RETRIES: RangeInclusive<u32> = 0..=10;
pub(super) const TIMEOUT: RangeInclusive<Duration> =
    Duration::from_millis(100)..=Duration::from_secs(600);
/// A collector's interval: a day is already longer than any DMS reading stays useful.
pub(super) const INTERVAL: RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(24 * 3600);
/// How long the last good data may be served.
pub(super) const MAX_AGE: RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(7 * 24 * 3600);

fn out_of<T: PartialOrd + std::fmt::Debug>(
    field: &str,
    value: T,
    range: &RangeInclusive<T>,
    what: &str,
) -> Option<Problem> {
    (!range.contains(&value)).then(|| {
        nowhere(
            field,
            format!(
                "{value:?} is out of range: {what} from {:?} to {:?}",
                range.start(),
                range.end()
            ),
        )
    })
}

fn rate_limit(field: &str, rate: f64) -> Option<Problem> {
    // NaN is outside every range, so it is refused too.
    out_of(field, rate, &RATE_LIMIT, "requests per second")
}

fn duration(
    field: &str,
    value: HumanDuration,
    range: &RangeInclusive<Duration>,
) -> Option<Problem> {
    (!range.contains(&value.0)).then(|| {
        nowhere(
            field,
            format!(
                "{} is out of range: from {} to {}",
                humantime::format_duration(value.0),
                humantime::format_duration(*range.start()),
                humantime::format_duration(*range.end())
            ),
        )
    })
}

fn api(api: &ApiConfig, problems: &mut Vec<Problem>) {
    problems.extend(rate_limit("api.rate_limit", api.rate_limit));
    problems.extend(out_of("api.burst", api.burst, &BURST, "requests"));
    problems.extend(out_of(
        "api.concurrency",
        api.concurrency,
        &CONCURRENCY,
        "requests in flight",
    ));
    problems.extend(out_of(
        "api.max_retries",
        api.max_retries,
        &MAX_RETRIES,
        "retries",
    ));
    problems.extend(duration("api.timeout", api.timeout, &TIMEOUT));
    for (host, budget) in &api.hosts {
        if let Some(problem) = host_key_problem(host) {
            problems.push(nowhere(&format!("api.hosts.{host}"), problem));
        }
        let field = |key: &str| format!("api.hosts.{host}.{key}");
        problems.extend(
            budget
                .rate_limit
                .and_then(|r| rate_limit(&field("rate_limit"), r)),
        );
        problems.extend(
            budget
                .burst
                .and_then(|b| out_of(&field("burst"), b, &BURST, "requests")),
        );
        problems.extend(
            budget
                .concurrency
                .and_then(|c| out_of(&field("concurrency"), c, &CONCURRENCY, "requests in flight")),
        );
    }
}

fn collectors(collectors: &CollectorsConfig, problems: &mut Vec<Problem>) {
    // Discovery lists the instances every other collector reads.
    let discovery = instances::DESCRIPTION.name;
    if collectors
        .settings(discovery)
        .is_some_and(|settings| !settings.enabled)
    {
        problems.push(nowhere(
            &format!("collectors.{discovery}.enabled"),
            "discovery cannot be disabled: every other collector reads the instances it lists, and readiness would wait for them forever; disable the collectors you do not want instead",
        ));
    }
    for (name, settings) in &collectors.collectors {
        let field = |key: &str| format!("collectors.{name}.{key}");
        problems.extend(
            settings
                .interval
                .and_then(|i| duration(&field("interval"), i, &INTERVAL)),
        );
        problems.extend(
            settings
                .max_age
                .and_then(|m| duration(&field("max_age"), m, &MAX_AGE)),
        );
    }
    for option in registry::options() {
        if let Some(problem) = collectors
            .options
            .get(option.key)
            .and_then(|value| option.problem(value))
        {
            problems.push(nowhere(&format!("collectors.{}", option.key), problem));
        }
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

/// Why an `api.hosts` key cannot match an endpoint, if it cannot: budgets are looked up by
/// the endpoint's lower-case host (and port, when not the scheme's default).
fn host_key_problem(key: &str) -> Option<String> {
    let bare = url::Url::parse(&format!("https://{key}"))
        .ok()
        .filter(|url| {
            url.path() == "/"
                && url.query().is_none()
                && url.fragment().is_none()
                && url.username().is_empty()
                && url.password().is_none()
        });
    if bare.is_none() || key.contains('/') {
        return Some(
            "must be a host as in the endpoint (dms.cn-north-4.myhuaweicloud.com, or host:port), not a URL"
                .to_owned(),
        );
    }
    (key != key.to_ascii_lowercase())
        .then(|| "must be written in lower case, as endpoints' hosts are compared".to_owned())
}

/// The bcrypt costs a web configuration's hash may have: each step doubles the time of a
/// check, and a cost of 31 would take days per scrape.
pub(super) const BCRYPT_COST: RangeInclusive<u32> = 4..=16;

/// Why a `basic_auth_users` value is not a usable bcrypt hash, if it is not. The hash is never
/// quoted: it may be a password pasted by mistake.
pub fn bcrypt_hash_problem(hash: &str) -> Option<String> {
    // `$2x$` (and anything else) is a variant the bcrypt crate reads but cannot verify as
    // its writer meant: only the three current prefixes are accepted.
    if !["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p)) {
        return Some(
            "must be a bcrypt hash starting $2y$, $2b$ or $2a$, e.g. from htpasswd -nBC 10"
                .to_owned(),
        );
    }
    match hash.parse::<bcrypt::HashParts>() {
        Err(error) => Some(format!(
            "must be a bcrypt hash ($2y$…), e.g. from htpasswd -nBC 10: {error}"
        )),
        Ok(parts) if !BCRYPT_COST.contains(&parts.get_cost()) => Some(format!(
            "bcrypt cost {} is out of range: from {} to {}",
            parts.get_cost(),
            BCRYPT_COST.start(),
            BCRYPT_COST.end()
        )),
        Ok(_) => None,
    }
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
fn refused_plain_http(config: &Config) -> Vec<Problem> {
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

/// Every value of `config` outside its range.
pub(super) fn problems(config: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    api(&config.api, &mut problems);
    collectors(&config.collectors, &mut problems);
    problems.extend(refused_plain_http(config));
    problems
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
    fn bcrypt_hashes_are_parsed_and_their_cost_bounded() {
        let good = bcrypt::hash("pw", 4).unwrap_or_default();
        assert_eq!(bcrypt_hash_problem(&good), None);
        let truncated = &good[..good.len() - 1];
        let bad_base64 = format!("{}!", &good[..good.len() - 1]);
        for bad in [
            "plain",
            "$2y$10$short",
            truncated,
            &bad_base64,
            &good.replace("$2b$", "$3b$"),
        ] {
            let problem = bcrypt_hash_problem(bad).unwrap_or_default();
            assert!(problem.contains("bcrypt hash"), "{bad}: {problem}");
            assert!(!problem.contains(bad), "{problem}");
        }
        let expensive = good.replacen("$04$", "$31$", 1);
        let problem = bcrypt_hash_problem(&expensive).unwrap_or_default();
        assert!(problem.contains("cost 31 is out of range"), "{problem}");
    }

    #[test]
    fn host_keys_are_bare_lower_case_hosts() {
        for good in [
            "dms.cn-north-4.myhuaweicloud.com",
            "127.0.0.1:8080",
            "[::1]:9000",
        ] {
            assert_eq!(host_key_problem(good), None, "{good}");
        }
        for bad in [
            "https://dms.example.com",
            "dms.example.com/v2",
            "u@dms.example.com",
            "dms.example.com:99999",
            "DMS.example.com",
            "",
        ] {
            assert!(host_key_problem(bad).is_some(), "{bad}");
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
