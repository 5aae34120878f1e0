//! The max age in force: how long a collector's data is served after its last successful
//! read. It stretches while rounds need longer than the interval within the budget (the
//! expected duration from the collector's fair share and the API's own limits), and shrinks
//! back when they fit again.

use std::sync::atomic::Ordering;
use std::time::Duration;

use dms_cloud::budget::Competition;

use super::{Job, RoundOutcome};
use crate::locks::lock;

impl Job {
    /// What the next rounds need, from this one's outcome; warns when it stops fitting, and
    /// says when it fits again.
    pub(super) fn plan(&self, outcome: &RoundOutcome, since: Competition) -> Option<Duration> {
        // A round whose calls only failed says nothing of the time the budget needs.
        let needed = if outcome.progress > 0 {
            self.expected_duration(outcome, since)
        } else {
            None
        };
        let stretching = self.stretching.load(Ordering::Relaxed);
        let change = stretch_change(stretching, needed, self.interval);
        let (collector, region, project_id) = (
            self.collector.name(),
            &self.target.project.region,
            &self.target.project.project_id,
        );
        match change {
            Some(true) => tracing::warn!(
                collector,
                %region,
                %project_id,
                needed_s = needed.map(|n| n.as_secs_f64()),
                interval_s = self.interval.as_secs_f64(),
                "the collector's calls do not fit its interval within the API budget; its cycles stretch"
            ),
            Some(false) => tracing::info!(
                collector,
                %region,
                %project_id,
                needed_s = needed.map(|n| n.as_secs_f64()),
                interval_s = self.interval.as_secs_f64(),
                "the collector's calls fit its interval again"
            ),
            None => {}
        }
        if let Some(now) = change {
            self.stretching.store(now, Ordering::Relaxed);
        }
        needed
    }

    pub(super) fn max_age_now(&self) -> Duration {
        *lock(&self.current_max_age)
    }

    /// Raises the max age in force to `wanted` (never lowers it).
    pub(super) fn stretch_max_age(&self, wanted: Duration) {
        if wanted > self.max_age_now() {
            self.set_max_age(wanted);
        }
    }

    /// Sets the max age in force (the configured one at least): data is served until its
    /// last successful read plus this, so it grows while rounds are slowed by the budget and
    /// shrinks back when they are not — never ratcheting up over failed rounds.
    pub(super) fn set_max_age(&self, wanted: Duration) {
        let wanted = wanted.max(self.max_age);
        let mut current = lock(&self.current_max_age);
        if wanted != *current {
            self.store.set_max_age(
                self.collector.name(),
                &self.target.project.region,
                &self.target.project.project_id,
                wanted,
            );
        }
        *current = wanted;
    }

    /// `max_age` as configured, stretched in proportion when the cycle needs longer than the
    /// interval.
    pub(super) fn max_age_for(&self, expected: Option<Duration>) -> Duration {
        match expected {
            Some(needed) if needed > self.interval => self
                .max_age
                .mul_f64(needed.as_secs_f64() / self.interval.as_secs_f64()),
            _ => self.max_age,
        }
    }

    /// The time the round's calls need within the collector's share of its host's rate, or
    /// the API's per-instance limits, whichever is longer.
    pub(super) fn expected_duration(
        &self,
        outcome: &RoundOutcome,
        since: Competition,
    ) -> Option<Duration> {
        let share = self.budget().share(&self.flow, since);
        let by_rate = share
            .filter(|s| *s > 0.0)
            .and_then(|s| Duration::try_from_secs_f64(outcome.calls as f64 / s).ok());
        match by_rate {
            Some(by_rate) => Some(by_rate.max(outcome.paced)),
            None => (outcome.paced > Duration::ZERO).then_some(outcome.paced),
        }
    }
}

/// A collector is said to stop fitting once its calls need more than this share of the
/// interval, and to fit again once they need at most [`FITS_AGAIN`] of it: one that needs
/// about its interval, a little more one round and less the next, would otherwise log every
/// round. (The max age stretches with any overrun; only the log waits for a clear one.)
const FITS_NO_LONGER: f64 = 1.1;
const FITS_AGAIN: f64 = 0.9;

/// Whether a collector's calls start not fitting its interval (`Some(true)`) or fit again
/// (`Some(false)`), given what the round needed (`None`: unknown, no change).
fn stretch_change(stretching: bool, needed: Option<Duration>, interval: Duration) -> Option<bool> {
    let needed = needed?;
    if !stretching && needed > interval.mul_f64(FITS_NO_LONGER) {
        Some(true)
    } else if stretching && needed <= interval.mul_f64(FITS_AGAIN) {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::stretch_change;

    #[test]
    fn a_stretch_is_logged_once_per_change_not_per_round() {
        let interval = Duration::from_secs(10);
        let secs = |s: f64| Some(Duration::from_secs_f64(s));
        let mut stretching = false;
        let mut changes = Vec::new();
        // Within a tenth over, clearly over, around the interval for a while, a failed
        // round, then well under.
        for needed in [
            secs(8.0),
            secs(10.5),
            secs(11.5),
            secs(9.8),
            secs(10.2),
            None,
            secs(9.5),
            secs(8.5),
            secs(8.0),
        ] {
            if let Some(now) = stretch_change(stretching, needed, interval) {
                changes.push(now);
                stretching = now;
            }
        }
        assert_eq!(changes, [true, false]);
    }
}
