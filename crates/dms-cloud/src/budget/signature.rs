//! The gateway's verdict on a host's AK/SK. API Gateway locks an AK after five failed
//! signatures in a row, for every user of the key; a mistyped secret must never get there.
//!
//! Until a signature has been accepted (at start, after a rejection, after new credentials),
//! signed calls go one at a time: the first is the probe, the others wait for its verdict.
//! Once rejected, signed calls fail at once without being sent, and one probe goes after a
//! delay that doubles from [`FIRST_DELAY`] up to [`MAX_DELAY`] — and never while three
//! signatures failed in the last [`WINDOW`]. So at most three failing signatures reach a host
//! in any five minutes (plus the calls already in flight when a key that worked is revoked).
//! New credentials (a reload, a changed credential file) allow a probe at once, within that
//! same rule.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// The delay before the first probe after a rejection.
pub const FIRST_DELAY: Duration = Duration::from_secs(60);
/// The longest delay between probes.
pub const MAX_DELAY: Duration = Duration::from_secs(30 * 60);
/// The window in which at most [`MAX_IN_WINDOW`] signatures may fail.
pub const WINDOW: Duration = Duration::from_secs(5 * 60);
/// Failed signatures allowed in any [`WINDOW`].
pub const MAX_IN_WINDOW: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// No signature judged yet with these credentials: one call at a time.
    Unverified,
    Accepted,
    Rejected {
        next_probe: Instant,
    },
}

/// What a signed call may do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Send it.
    Go,
    /// Send it as the probe: the others wait for (or are refused until) its verdict.
    Probe,
    /// Wait for the probe in flight.
    Wait,
    /// Do not send it: the key is rejected; the next probe may go after this long.
    Refused(Duration),
}

/// One host's signature state.
#[derive(Debug)]
pub struct Signature {
    verdict: Verdict,
    probing: bool,
    /// Rejections in a row (the backoff's exponent).
    streak: u32,
    /// When signatures failed, within the last [`WINDOW`].
    failures: VecDeque<Instant>,
}

impl Default for Signature {
    fn default() -> Self {
        Self {
            verdict: Verdict::Unverified,
            probing: false,
            streak: 0,
            failures: VecDeque::new(),
        }
    }
}

impl Signature {
    /// The earliest time the window allows another failing signature.
    fn window_allows_at(&self) -> Option<Instant> {
        (self.failures.len() >= MAX_IN_WINDOW)
            .then(|| self.failures[self.failures.len() - MAX_IN_WINDOW] + WINDOW)
    }

    fn prune(&mut self, now: Instant) {
        while self
            .failures
            .front()
            .is_some_and(|at| now.saturating_duration_since(*at) >= WINDOW)
        {
            self.failures.pop_front();
        }
    }

    pub fn gate(&mut self, now: Instant) -> Gate {
        self.prune(now);
        match self.verdict {
            Verdict::Accepted => Gate::Go,
            _ if self.probing => match self.verdict {
                Verdict::Rejected { next_probe } => {
                    Gate::Refused(next_probe.saturating_duration_since(now))
                }
                _ => Gate::Wait,
            },
            Verdict::Unverified => match self.window_allows_at().filter(|at| *at > now) {
                Some(at) => Gate::Refused(at - now),
                None => {
                    self.probing = true;
                    Gate::Probe
                }
            },
            Verdict::Rejected { next_probe } if now >= next_probe => {
                self.probing = true;
                Gate::Probe
            }
            Verdict::Rejected { next_probe } => Gate::Refused(next_probe - now),
        }
    }

    /// The gateway accepted a signature (any answer but a signature rejection).
    pub fn accepted(&mut self) {
        if matches!(self.verdict, Verdict::Rejected { .. }) {
            tracing::info!("the gateway accepts the AK/SK again");
        }
        self.verdict = Verdict::Accepted;
        self.probing = false;
        self.streak = 0;
    }

    /// The gateway rejected a signature. Rejections of calls that were already in flight when
    /// the key was first rejected count in the window but do not lengthen the backoff.
    pub fn rejected(&mut self, now: Instant) {
        self.prune(now);
        self.failures.push_back(now);
        let in_flight_burst = matches!(self.verdict, Verdict::Rejected { .. }) && !self.probing;
        if !in_flight_burst {
            self.streak = self.streak.saturating_add(1);
        }
        let backoff = FIRST_DELAY
            .saturating_mul(
                1u32.checked_shl((self.streak - 1).min(16))
                    .unwrap_or(u32::MAX),
            )
            .min(MAX_DELAY);
        let mut next_probe = now + backoff;
        if let Some(at) = self.window_allows_at() {
            next_probe = next_probe.max(at);
        }
        if let Verdict::Rejected {
            next_probe: current,
        } = self.verdict
        {
            next_probe = next_probe.max(current);
        }
        self.verdict = Verdict::Rejected { next_probe };
        self.probing = false;
    }

    /// A probe ended without a verdict (no answer, or dropped): the next call probes.
    pub fn undecided(&mut self) {
        self.probing = false;
    }

    /// New credentials: judge them at once (within the window's rule).
    pub fn credentials_changed(&mut self) {
        self.verdict = Verdict::Unverified;
        self.probing = false;
        self.streak = 0;
    }

    /// Whether a call admitted earlier may still be sent (the key was not rejected since).
    pub fn still_allowed(&self, probe: bool) -> bool {
        probe || !self.is_rejected()
    }

    /// Whether the gateway rejects the host's AK/SK now.
    pub fn is_rejected(&self) -> bool {
        matches!(self.verdict, Verdict::Rejected { .. })
    }

    /// Whether a probe is waited for (other signed calls wait for its verdict).
    pub fn waits_for_probe(&self) -> bool {
        self.probing && self.verdict == Verdict::Unverified
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_call_probes_alone_and_an_accepted_key_opens_the_host() {
        let mut signature = Signature::default();
        let now = Instant::now();
        assert_eq!(signature.gate(now), Gate::Probe);
        assert_eq!(signature.gate(now), Gate::Wait, "the others wait");
        signature.accepted();
        assert_eq!(signature.gate(now), Gate::Go);
        assert_eq!(signature.gate(now), Gate::Go);
    }

    /// Probes against a key rejected for `hours`: never more than three failures in any five
    /// minutes, and the delays grow to the cap.
    #[test]
    fn a_rejected_key_gets_at_most_three_failing_signatures_in_any_five_minutes() {
        let mut signature = Signature::default();
        let start = Instant::now();
        let mut sent = Vec::new();
        let mut now = start;
        // Every second for three hours, a call wants to go.
        while now - start < Duration::from_secs(3 * 3600) {
            match signature.gate(now) {
                Gate::Probe | Gate::Go => {
                    sent.push(now - start);
                    signature.rejected(now);
                }
                Gate::Wait | Gate::Refused(_) => {}
            }
            now += Duration::from_secs(1);
        }
        for (i, at) in sent.iter().enumerate() {
            let in_window = sent[i..].iter().take_while(|t| **t < *at + WINDOW).count();
            assert!(
                in_window <= MAX_IN_WINDOW,
                "{in_window} failures from {at:?}: {sent:?}"
            );
        }
        let gaps: Vec<Duration> = sent.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(gaps.first(), Some(&FIRST_DELAY), "{gaps:?}");
        assert_eq!(gaps.last(), Some(&MAX_DELAY), "{gaps:?}");
        assert!(sent.len() < 12, "{sent:?}");
    }

    #[test]
    fn new_credentials_probe_at_once_within_the_window_rule() {
        let mut signature = Signature::default();
        let now = Instant::now();
        assert_eq!(signature.gate(now), Gate::Probe);
        signature.rejected(now);
        assert!(signature.is_rejected());
        assert_eq!(signature.gate(now), Gate::Refused(FIRST_DELAY));
        signature.credentials_changed();
        assert_eq!(signature.gate(now), Gate::Probe, "at once");
        signature.rejected(now);
        signature.credentials_changed();
        assert_eq!(signature.gate(now), Gate::Probe);
        signature.rejected(now);
        signature.credentials_changed();
        assert_eq!(
            signature.gate(now),
            Gate::Refused(WINDOW),
            "three failures in the window: the fourth waits, new credentials or not"
        );
        let later = now + WINDOW;
        assert_eq!(signature.gate(later), Gate::Probe);
        signature.accepted();
        assert!(!signature.is_rejected());
        assert_eq!(signature.gate(later), Gate::Go);
    }
}
