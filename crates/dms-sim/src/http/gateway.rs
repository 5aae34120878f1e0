//! The API gateway in front of DMS and IAM: a request limit per AK and an added latency.
//!
//! Huawei's gateway limits each AK to a number of requests per second and answers 429
//! `APIGW.0308` beyond it. It is modelled as a token bucket per caller (rate N per second,
//! burst N) on `tokio::time`, so tests can drive it with paused time. Both are off by default.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::ApiError;
use crate::locks::lock;

/// One caller's bucket.
struct Bucket {
    tokens: f64,
    refilled: Instant,
}

pub(crate) struct Gateway {
    /// Requests per second per caller, also the burst; `None` = unlimited.
    rate_limit: Option<u32>,
    latency: Duration,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Gateway {
    pub(crate) fn new(rate_limit: Option<u32>, latency: Duration) -> Gateway {
        Gateway {
            rate_limit: rate_limit.filter(|n| *n > 0),
            latency,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from the caller's bucket, or answers 429 `APIGW.0308`.
    pub(crate) fn admit(&self, caller: &str) -> Result<(), ApiError> {
        let Some(limit) = self.rate_limit else {
            return Ok(());
        };
        let capacity = f64::from(limit);
        let now = Instant::now();
        let mut buckets = lock(&self.buckets);
        let bucket = buckets.entry(caller.to_owned()).or_insert(Bucket {
            tokens: capacity,
            refilled: now,
        });
        let elapsed = now.duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * capacity).min(capacity);
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(ApiError::throttled(limit))
        }
    }

    /// Waits the configured latency (nothing when it is zero).
    pub(crate) async fn delay(&self) {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_bucket_allows_its_burst_then_its_rate() {
        let gateway = Gateway::new(Some(5), Duration::ZERO);
        for _ in 0..5 {
            assert!(gateway.admit("ak").is_ok());
        }
        assert!(
            gateway.admit("ak").is_err(),
            "the sixth in the same instant"
        );
        assert!(gateway.admit("other-ak").is_ok(), "buckets are per caller");
        tokio::time::advance(Duration::from_millis(200)).await;
        assert!(gateway.admit("ak").is_ok(), "one token refills in 1/5 s");
        assert!(gateway.admit("ak").is_err());
        tokio::time::advance(Duration::from_secs(60)).await;
        let admitted = (0..10).filter(|_| gateway.admit("ak").is_ok()).count();
        assert_eq!(admitted, 5, "an idle bucket holds no more than its burst");
    }

    #[tokio::test(start_paused = true)]
    async fn no_limit_admits_everything() {
        let gateway = Gateway::new(None, Duration::ZERO);
        assert!((0..10_000).all(|_| gateway.admit("ak").is_ok()));
    }
}
