//! Retry policy: exponential backoff with jitter for throttling, 5xx, timeouts and transport
//! errors; never for 401/403/other 4xx or undecodable bodies.

use std::time::Duration;

use backon::ExponentialBuilder;
use time::OffsetDateTime;

/// How a failed call is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = no retry).
    pub max_retries: u32,
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// Least delay after a throttled answer (Huawei advises 2–5 s).
    pub throttle_min_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            throttle_min_delay: Duration::from_secs(2),
        }
    }
}

/// Longest server-given `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// The backon builder of this policy (exponential, factor 2, with jitter).
    pub fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay.max(self.min_delay))
            .with_max_times(self.max_retries as usize)
            .with_jitter()
    }

    /// The delay before the next retry: the backoff delay, at least `Retry-After` when the server
    /// sent one, and at least `throttle_min_delay` after throttling.
    pub fn adjust(
        &self,
        backoff_delay: Duration,
        throttled: bool,
        retry_after: Option<Duration>,
    ) -> Duration {
        let mut delay = backoff_delay;
        if throttled {
            // Throttled calls are retried until their scope is held, so their delay does not
            // keep doubling: between the least delay and twice it (Huawei advises 2–5 s).
            delay = delay.clamp(self.throttle_min_delay, self.throttle_min_delay * 2);
        }
        if let Some(after) = retry_after {
            delay = delay.max(after.min(MAX_RETRY_AFTER));
        }
        delay
    }
}

/// Parses a `Retry-After` value: delta seconds, or an HTTP date (relative to `now`).
pub fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    if let Ok(seconds) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let at = OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let delta = at - now;
    Some(Duration::try_from(delta).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let now =
            OffsetDateTime::from_unix_timestamp(784_111_767).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after(" 1.5 ", now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn adjust_honours_throttle_floor_and_retry_after() {
        let policy = RetryPolicy::default();
        let ms = Duration::from_millis;
        assert_eq!(policy.adjust(ms(500), false, None), ms(500));
        assert_eq!(policy.adjust(ms(500), true, None), ms(2000));
        assert_eq!(policy.adjust(ms(16_000), true, None), ms(4000));
        assert_eq!(policy.adjust(ms(500), true, Some(ms(7000))), ms(7000));
        assert_eq!(
            policy.adjust(ms(500), false, Some(Duration::from_secs(9999))),
            MAX_RETRY_AFTER
        );
    }
}
