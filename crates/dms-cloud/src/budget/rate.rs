//! A rate limit whose rate can change while it runs (the adaptive rate needs that, and
//! governor's quota is fixed at construction): the generic cell rate algorithm, on
//! `tokio::time::Instant` so paused-time tests are exact.

use std::time::Duration;

use tokio::time::Instant;

/// Requests may leave at `rate` per second, `burst` at once after an idle period.
#[derive(Debug)]
pub(super) struct CellRate {
    emission: Option<Duration>,
    tolerance: Duration,
    /// When the next request would be on schedule; `None` before the first.
    theoretical_arrival: Option<Instant>,
}

impl CellRate {
    /// A non-positive or non-finite rate means no limit.
    pub(super) fn new(rate: f64, burst: u32) -> Self {
        let mut limit = Self {
            emission: None,
            tolerance: Duration::ZERO,
            theoretical_arrival: None,
        };
        limit.set(rate, burst);
        limit
    }

    /// Changes the rate; what was already sent stays counted.
    pub(super) fn set(&mut self, rate: f64, burst: u32) {
        self.emission = (rate.is_finite() && rate > 0.0)
            .then(|| Duration::try_from_secs_f64(1.0 / rate).ok())
            .flatten()
            .map(|d| d.max(Duration::from_nanos(1)));
        self.tolerance = self
            .emission
            .map_or(Duration::ZERO, |e| e * burst.max(1).saturating_sub(1));
    }

    /// Takes one cell now, or says when one will be free.
    pub(super) fn take(&mut self, now: Instant) -> Result<(), Instant> {
        let Some(emission) = self.emission else {
            return Ok(());
        };
        let tat = self.theoretical_arrival.map_or(now, |t| t.max(now));
        let allowed_at = tat.checked_sub(self.tolerance).unwrap_or(now);
        if allowed_at > now {
            return Err(allowed_at);
        }
        self.theoretical_arrival = Some(tat + emission);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(limit: &mut CellRate, start: Instant, count: usize) -> Vec<Duration> {
        let mut now = start;
        let mut sent = Vec::new();
        while sent.len() < count {
            match limit.take(now) {
                Ok(()) => sent.push(now - start),
                Err(at) => now = at,
            }
        }
        sent
    }

    #[test]
    fn burst_then_rate() {
        let start = Instant::now();
        let mut limit = CellRate::new(2.0, 3);
        let sent = drain(&mut limit, start, 5);
        let ms: Vec<u128> = sent.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [0, 0, 0, 500, 1000]);
    }

    #[test]
    fn a_lower_rate_applies_to_the_next_request() {
        let start = Instant::now();
        let mut limit = CellRate::new(10.0, 1);
        assert!(limit.take(start).is_ok());
        limit.set(1.0, 1);
        // The first cell was spent at 10/s; the next follows at the new 1/s pace.
        let next = drain(&mut limit, start, 2);
        assert_eq!(next[1].as_millis(), 1100);
    }

    #[test]
    fn no_rate_no_limit() {
        let now = Instant::now();
        let mut limit = CellRate::new(0.0, 1);
        assert!((0..1000).all(|_| limit.take(now).is_ok()));
        limit.set(f64::NAN, 1);
        assert!(limit.take(now).is_ok());
    }
}
