//! Ranges that parsing alone lets through but that would break at run time: a concurrency of
//! 2⁶³, an interval of 500000000000y (tokio's timer overflows), a rate of 1e-30 requests per
//! second, a `max_age` shorter than its interval.

use std::ops::RangeInclusive;
use std::time::Duration;

use crate::collect::{instances, registry};
use crate::config::problem::{Problem, nowhere};
use crate::config::types::{ApiConfig, CollectorsConfig, HumanDuration};

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

pub(super) fn api(api: &ApiConfig, problems: &mut Vec<Problem>) {
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

pub(super) fn collectors(collectors: &CollectorsConfig, problems: &mut Vec<Problem>) {
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

/// The collectors' timing together: jitter within half an interval, no `max_age` shorter than
/// its interval.
pub(super) fn schedule(collectors: &CollectorsConfig, problems: &mut Vec<Problem>) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
