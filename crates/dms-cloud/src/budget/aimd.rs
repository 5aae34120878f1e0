//! The adaptive rate of one host. Huawei documents no number for the API gateway's limit; it
//! answers 429 `APIGW.0308` beyond it. The rate starts at the configured ceiling, is cut
//! multiplicatively when the gateway throttles, and rises additively after a quiet period,
//! never above the ceiling (AIMD). It also remembers the rate that was throttled and stays
//! below it for a while, so it settles under a fixed gateway limit instead of probing it
//! (and being throttled) every few seconds.

use std::time::Duration;

use tokio::time::Instant;

/// Factor applied on throttling.
const DECREASE: f64 = 0.7;
/// Share of the ceiling added per raise.
const INCREASE: f64 = 0.05;
/// Throttling answers this close to a cut belong to the same burst: one cut for all.
const SAME_EPISODE: Duration = Duration::from_secs(2);
/// No throttling for this long before each raise.
const QUIET: Duration = Duration::from_secs(5);
/// How long a throttled rate is remembered as the limit.
const REMEMBER: Duration = Duration::from_secs(600);
/// How far below a remembered limit the rate settles.
const MARGIN: f64 = 0.9;
/// The rate never goes below this share of the ceiling.
const FLOOR: f64 = 0.02;

#[derive(Debug, Clone)]
pub struct Aimd {
    ceiling: f64,
    rate: f64,
    last_change: Option<Instant>,
    last_cut: Option<Instant>,
    throttled_at_rate: Option<(f64, Instant)>,
}

impl Aimd {
    pub fn new(ceiling: f64) -> Self {
        Self {
            ceiling,
            rate: ceiling,
            last_change: None,
            last_cut: None,
            throttled_at_rate: None,
        }
    }

    fn adaptive(&self) -> bool {
        self.ceiling.is_finite() && self.ceiling > 0.0
    }

    /// Requests per second now (the ceiling when it is unlimited).
    pub fn rate(&self) -> f64 {
        self.rate
    }

    pub fn ceiling(&self) -> f64 {
        self.ceiling
    }

    /// A new configured ceiling (a reload): the learned state stays.
    pub fn set_ceiling(&mut self, ceiling: f64) {
        let was_adaptive = self.adaptive();
        self.ceiling = ceiling;
        if !self.adaptive() || !was_adaptive {
            self.rate = ceiling;
        } else {
            self.rate = self.rate.min(ceiling);
        }
    }

    /// The gateway throttled a request; returns whether the rate was cut.
    pub fn throttled(&mut self, now: Instant) -> bool {
        if !self.adaptive()
            || self
                .last_cut
                .is_some_and(|at| now.saturating_duration_since(at) < SAME_EPISODE)
        {
            return false;
        }
        self.throttled_at_rate = Some((self.rate, now));
        self.rate = (self.rate * DECREASE).max(self.ceiling * FLOOR);
        self.last_cut = Some(now);
        self.last_change = Some(now);
        true
    }

    /// A request went through; returns whether the rate was raised.
    pub fn succeeded(&mut self, now: Instant) -> bool {
        if !self.adaptive() {
            return false;
        }
        let cap = match self.throttled_at_rate {
            Some((rate, at)) if now.saturating_duration_since(at) < REMEMBER => {
                (rate * MARGIN).min(self.ceiling)
            }
            _ => self.ceiling,
        };
        let quiet = self
            .last_change
            .is_none_or(|at| now.saturating_duration_since(at) >= QUIET);
        if self.rate >= cap || !quiet {
            return false;
        }
        self.rate = (self.rate + self.ceiling * INCREASE).min(cap);
        self.last_change = Some(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gateway that admits `limit` requests per second, driven by a client sending at the
    /// AIMD rate: returns the throttled count per 10-second window.
    fn simulate(ceiling: f64, limit: f64, seconds: u64) -> (Aimd, Vec<u64>) {
        let mut aimd = Aimd::new(ceiling);
        let start = Instant::now();
        let mut windows = vec![0; (seconds / 10) as usize];
        for second in 0..seconds {
            let now = start + Duration::from_secs(second);
            let sent = aimd.rate();
            if sent > limit {
                windows[(second / 10) as usize] += (sent - limit).ceil() as u64;
                aimd.throttled(now);
            } else {
                aimd.succeeded(now);
            }
        }
        (aimd, windows)
    }

    #[test]
    fn converges_below_a_lower_gateway_limit_within_two_minutes() {
        let (aimd, windows) = simulate(200.0, 150.0, 600);
        assert!(windows[0] > 0, "the first window is throttled");
        assert!(
            windows[12..].iter().all(|&w| w == 0),
            "no throttling after two minutes: {windows:?}"
        );
        assert!(
            aimd.rate() <= 150.0 && aimd.rate() > 100.0,
            "{}",
            aimd.rate()
        );
    }

    #[test]
    fn rises_back_to_the_ceiling_after_a_transient() {
        let mut aimd = Aimd::new(100.0);
        let start = Instant::now();
        assert!(aimd.throttled(start));
        assert!(
            !aimd.throttled(start + Duration::from_secs(1)),
            "same burst"
        );
        assert_eq!(aimd.rate(), 70.0);
        let mut now = start;
        for _ in 0..100 {
            now += Duration::from_secs(5);
            aimd.succeeded(now);
        }
        assert!(
            aimd.rate() <= 90.0,
            "remembered limit holds: {}",
            aimd.rate()
        );
        now += REMEMBER;
        for _ in 0..10 {
            now += Duration::from_secs(5);
            aimd.succeeded(now);
        }
        assert_eq!(
            aimd.rate(),
            100.0,
            "forgotten after a while, up to the ceiling"
        );
    }

    #[test]
    fn unlimited_and_reconfigured() {
        let mut aimd = Aimd::new(0.0);
        assert!(!aimd.throttled(Instant::now()));
        assert_eq!(aimd.rate(), 0.0);
        let mut aimd = Aimd::new(100.0);
        aimd.throttled(Instant::now());
        aimd.set_ceiling(50.0);
        assert_eq!(aimd.rate(), 50.0);
        aimd.set_ceiling(200.0);
        assert_eq!(
            aimd.rate(),
            50.0,
            "a higher ceiling is reached step by step"
        );
        assert_eq!(aimd.ceiling(), 200.0);
    }
}
