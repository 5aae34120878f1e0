//! What the calls of one client handle add up to ([`DmsClient::for_flow`]): the scheduler gives
//! each round's work its own tally and reads it to tell a round that moves from one that only
//! fails, and to report the round's calls and the time the API's own limits impose.
//!
//! [`DmsClient::for_flow`]: super::DmsClient::for_flow

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::budget::pacing::per_instance_interval;

/// Counters of the requests sent through one client handle.
#[derive(Debug, Default)]
pub struct CallTally {
    sent: AtomicU64,
    answered: AtomicU64,
    paced_nanos: AtomicU64,
}

impl CallTally {
    /// Requests sent (every attempt, retries included).
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Successful answers: a round slowed by the budget or by throttling has them, one whose
    /// calls only fail has none.
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }

    /// The per-instance intervals the API imposes on the calls sent, added up.
    pub fn paced(&self) -> Duration {
        Duration::from_nanos(self.paced_nanos.load(Ordering::Relaxed))
    }

    /// One attempt went on the wire; `success` when it was answered 2xx.
    pub(crate) fn count(&self, api: &str, success: bool) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        if success {
            self.answered.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(interval) = per_instance_interval(api) {
            let nanos = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX);
            self.paced_nanos.fetch_add(nanos, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_attempts_answers_and_paced_time() {
        let tally = CallTally::default();
        tally.count("kafka_topic_detail", true);
        tally.count("kafka_topic_detail", false);
        tally.count("instances_list", true);
        assert_eq!(tally.sent(), 3);
        assert_eq!(tally.answered(), 2);
        let one = per_instance_interval("kafka_topic_detail").unwrap_or_default();
        assert!(
            one > Duration::ZERO,
            "topic detail has a per-instance limit"
        );
        assert_eq!(tally.paced(), one * 2);
    }
}
