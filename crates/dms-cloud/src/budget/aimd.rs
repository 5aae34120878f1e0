//! The adaptive rate of one host. Huawei documents no number for the API gateway's limit; it
//! answers 429 `APIGW.0308` beyond it. The rate starts at the configured ceiling, is cut
//! multiplicatively when the gateway throttles, and rises after a quiet period, never above
//! the ceiling (AIMD).
//!
//! A fixed gateway limit and a transient storm of 429s look alike while they last; they differ
//! in what happens when the rate comes back. So a throttled rate is held as a cap only for a
//! while ([`HOLD`]), and the rate then probes above it: throttled again near the same rate,
//! the limit is confirmed and its hold doubles (up to [`MAX_HOLD`]); not throttled, the storm
//! is over and the rate climbs to the ceiling. After the last throttled answer of a storm the
//! ceiling is back within `HOLD` plus the climb (≤ 2 minutes); under a fixed limit the rate
//! settles under it and probes it at most once per `MAX_HOLD`.

use std::time::Duration;

use tokio::time::Instant;

/// Factor applied on throttling.
const DECREASE: f64 = 0.7;
/// Share of the ceiling added per raise (near or above a learned limit).
const INCREASE: f64 = 0.05;
/// Factor applied per raise far below any learned limit: the climb back after a storm is
/// geometric, from the floor to the ceiling in well under a minute.
const CLIMB: f64 = 1.25;
/// Below this share of the ceiling (a storm's low point) the rate doubles per raise: from the
/// floor to a quarter of the ceiling in four raises, so that the climb back takes under a
/// minute, while near the limit the climb stays fine enough not to overshoot it far.
const FAR_BELOW: f64 = 0.25;
const CLIMB_FAR: f64 = 2.0;
/// Throttling answers this close to a cut belong to the same burst: one cut for all.
const SAME_EPISODE: Duration = Duration::from_secs(2);
/// No throttling for this long before each raise.
const QUIET: Duration = Duration::from_secs(5);
/// How long a throttled rate is first held as the cap.
const HOLD: Duration = Duration::from_secs(30);
/// The longest hold of a confirmed limit.
const MAX_HOLD: Duration = Duration::from_secs(600);
/// How far below a held limit the rate settles.
const MARGIN: f64 = 0.9;
/// A throttled rate within this factor of the held one confirms it.
const NEAR: f64 = 1.25;
/// The rate never goes below this share of the ceiling.
const FLOOR: f64 = 0.02;

/// A rate that was throttled, held as the cap until `until`.
#[derive(Debug, Clone, Copy)]
struct Limit {
    rate: f64,
    until: Instant,
    hold: Duration,
}

#[derive(Debug, Clone)]
pub(super) struct Aimd {
    ceiling: f64,
    rate: f64,
    last_change: Option<Instant>,
    last_cut: Option<Instant>,
    limit: Option<Limit>,
}

impl Aimd {
    pub(super) fn new(ceiling: f64) -> Self {
        Self {
            ceiling,
            rate: ceiling,
            last_change: None,
            last_cut: None,
            limit: None,
        }
    }

    fn adaptive(&self) -> bool {
        self.ceiling.is_finite() && self.ceiling > 0.0
    }

    /// Requests per second now (the ceiling when it is unlimited).
    pub(super) fn rate(&self) -> f64 {
        self.rate
    }

    pub(super) fn ceiling(&self) -> f64 {
        self.ceiling
    }

    /// A new configured ceiling (a reload): the learned state stays.
    pub(super) fn set_ceiling(&mut self, ceiling: f64) {
        let was_adaptive = self.adaptive();
        self.ceiling = ceiling;
        if !self.adaptive() || !was_adaptive {
            self.rate = ceiling;
        } else {
            self.rate = self.rate.min(ceiling);
        }
    }

    /// The gateway throttled a request; returns whether the rate was cut.
    pub(super) fn throttled(&mut self, now: Instant) -> bool {
        if !self.adaptive()
            || self
                .last_cut
                .is_some_and(|at| now.saturating_duration_since(at) < SAME_EPISODE)
        {
            return false;
        }
        let rate = self.rate;
        // Throttled again near a limit whose hold had ended (the rate was probing above it):
        // the limit is real, hold it twice as long. Near it within its hold: the same hold
        // again. Anything else starts a first hold at this rate, so a storm's low points are
        // held for `HOLD` only.
        let hold = match self.limit {
            Some(limit) if near(rate, limit.rate) && now >= limit.until => {
                (limit.hold * 2).min(MAX_HOLD)
            }
            Some(limit) if near(rate, limit.rate) => limit.hold,
            _ => HOLD,
        };
        self.limit = Some(Limit {
            rate,
            until: now + hold,
            hold,
        });
        self.rate = (rate * DECREASE).max(self.ceiling * FLOOR);
        self.last_cut = Some(now);
        self.last_change = Some(now);
        true
    }

    /// The cap in force: below a held limit, else the ceiling.
    fn cap(&self, now: Instant) -> f64 {
        match self.limit {
            Some(limit) if now < limit.until => (limit.rate * MARGIN).min(self.ceiling),
            _ => self.ceiling,
        }
    }

    /// A request went through; returns whether the rate was raised.
    pub(super) fn succeeded(&mut self, now: Instant) -> bool {
        if !self.adaptive() {
            return false;
        }
        let cap = self.cap(now);
        let quiet = self
            .last_change
            .is_none_or(|at| now.saturating_duration_since(at) >= QUIET);
        if self.rate >= cap || !quiet {
            return false;
        }
        let step = self.ceiling * INCREASE;
        // Around a limit learned before, creep up to probe it; elsewhere (back from a storm's
        // low point, or past the limit) climb.
        let near_limit = self.limit.is_some_and(|limit| {
            self.rate + step >= limit.rate * MARGIN && self.rate <= limit.rate * NEAR
        });
        let raised = if near_limit {
            self.rate + step
        } else {
            let factor = if self.rate < self.ceiling * FAR_BELOW {
                CLIMB_FAR
            } else {
                CLIMB
            };
            let climbed = (self.rate * factor).max(self.rate + step);
            // A climb from below a learned limit stops just under it; from there it creeps.
            match self.limit {
                Some(limit) if self.rate < limit.rate * MARGIN => climbed.min(limit.rate * MARGIN),
                _ => climbed,
            }
        };
        self.rate = raised.min(cap);
        self.last_change = Some(now);
        true
    }
}

/// Whether two throttled rates are about the same.
fn near(rate: f64, limit: f64) -> bool {
    rate <= limit * NEAR && rate >= limit / NEAR
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client sending at the AIMD rate, one step a second, to a gateway whose answer at
    /// second `s` and rate `r` is decided by `throttles(s, r)`: returns the rate per second
    /// and the seconds at which it was throttled.
    fn drive(
        ceiling: f64,
        seconds: u64,
        throttles: impl Fn(u64, f64) -> bool,
    ) -> (Vec<f64>, Vec<u64>) {
        let mut aimd = Aimd::new(ceiling);
        let start = Instant::now();
        let mut rates = Vec::new();
        let mut throttled = Vec::new();
        for second in 0..seconds {
            let now = start + Duration::from_secs(second);
            rates.push(aimd.rate());
            if throttles(second, aimd.rate()) {
                throttled.push(second);
                aimd.throttled(now);
            } else {
                aimd.succeeded(now);
            }
        }
        (rates, throttled)
    }

    #[test]
    fn settles_below_a_lower_gateway_limit_and_probes_it_ever_more_rarely() {
        let (rates, throttled) = drive(200.0, 1800, |_, rate| rate > 150.0);
        assert!(throttled.first() == Some(&0), "{throttled:?}");
        let after_two_minutes: Vec<u64> = throttled.iter().copied().filter(|s| *s >= 120).collect();
        assert!(
            after_two_minutes.len() <= 4,
            "probes of a confirmed limit are rare: {throttled:?}"
        );
        let gaps: Vec<u64> = after_two_minutes.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(
            gaps.windows(2).all(|g| g[1] >= g[0]),
            "each probe comes later than the one before: {throttled:?}"
        );
        assert!(
            throttled.iter().all(|s| *s < 1200)
                || throttled.iter().filter(|s| **s >= 1200).count() == 1,
            "at most one probe in the last ten minutes: {throttled:?}"
        );
        let settled = &rates[300..];
        let mean = settled.iter().sum::<f64>() / settled.len() as f64;
        assert!(
            (120.0..=150.0).contains(&mean),
            "settles just under the limit: mean {mean}"
        );
    }

    #[test]
    fn a_storm_of_throttling_leaves_no_floor_behind() {
        // 90 s in which about one answer in four is throttled at any rate (the issue's
        // storm); a fixed pseudo-random pattern keeps the test deterministic.
        let storm =
            |second: u64, _rate: f64| (20..110).contains(&second) && second.is_multiple_of(4);
        let (rates, throttled) = drive(10.0, 600, storm);
        assert!(throttled.len() > 10, "the storm throttled: {throttled:?}");
        assert!(
            rates[20..110].iter().any(|r| *r < 2.0),
            "the storm cut the rate: {:?}",
            &rates[20..110]
        );
        let last = throttled.last().copied().unwrap_or_default() as usize;
        let back = rates[last..]
            .iter()
            .position(|r| *r >= 10.0)
            .expect("the rate comes back to the ceiling");
        assert!(
            back <= 120,
            "back at the ceiling {back} s after the last throttled answer"
        );
        assert!(rates[last + back..].iter().all(|r| *r >= 10.0));
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
        for _ in 0..4 {
            now += Duration::from_secs(5);
            aimd.succeeded(now);
        }
        assert!(
            aimd.rate() <= 90.0,
            "the throttled rate holds as the cap for a while: {}",
            aimd.rate()
        );
        for _ in 0..10 {
            now += Duration::from_secs(5);
            aimd.succeeded(now);
        }
        assert_eq!(aimd.rate(), 100.0, "then the ceiling again");
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
