//! Per-instance limits of single APIs, kept by the client rather than by sleeps inside a
//! collector: topic detail (`kafka_topic_detail`) allows one call per second per instance,
//! counted when the call arrives. A call may only be sent once the previous one to the same
//! instance was answered and the interval has passed since: its arrival is then at least the
//! interval after the previous arrival, however the network delays either. This holds across
//! collector cycles and retries, since every attempt passes here.
//!
//! An instance that answers DMS's own flow control (`DMS.10240407`) for any API is held off
//! for that API alone; other instances and APIs go on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OwnedMutexGuard;
use tokio::time::Instant;

use crate::locks::lock;

/// Margin on top of a documented interval for timer and clock granularity.
const MARGIN: Duration = Duration::from_millis(20);

/// The documented per-instance intervals, by API name.
const PER_INSTANCE: &[(&str, Duration)] = &[("kafka_topic_detail", Duration::from_secs(1))];

/// The documented minimum interval between two calls of `api` to one instance.
pub fn per_instance_interval(api: &str) -> Option<Duration> {
    PER_INSTANCE
        .iter()
        .find(|(name, _)| *name == api)
        .map(|(_, interval)| *interval)
}

type Key = (&'static str, String);

/// Not-before times per (API, instance).
#[derive(Debug, Default)]
pub struct Pacer {
    slots: Mutex<HashMap<Key, Arc<tokio::sync::Mutex<Instant>>>>,
}

/// The right to send one call of a paced API; the next waits until this one is answered.
#[derive(Debug)]
pub struct Turn {
    next: Option<OwnedMutexGuard<Instant>>,
    interval: Duration,
}

impl Turn {
    /// The call was answered now.
    pub fn answered(mut self, throttled_for: Option<Duration>) {
        if let Some(next) = self.next.as_mut() {
            let wait = throttled_for.map_or(self.interval, |d| d.max(self.interval));
            **next = Instant::now() + wait + MARGIN;
        }
    }
}

impl Pacer {
    fn slot(
        &self,
        api: &'static str,
        instance: &str,
        create: bool,
    ) -> Option<Arc<tokio::sync::Mutex<Instant>>> {
        let mut slots = lock(&self.slots);
        let key = (api, instance.to_owned());
        if create {
            Some(Arc::clone(slots.entry(key).or_insert_with(|| {
                Arc::new(tokio::sync::Mutex::new(Instant::now()))
            })))
        } else {
            slots.get(&key).cloned()
        }
    }

    /// Waits for this instance's turn of `api`. Paced APIs hold the turn until answered; for
    /// the others it only waits out a hold-off.
    pub async fn turn(&self, api: &'static str, instance: &str) -> Turn {
        let interval = per_instance_interval(api);
        let Some(slot) = self.slot(api, instance, interval.is_some()) else {
            return Turn {
                next: None,
                interval: Duration::ZERO,
            };
        };
        let guard = slot.lock_owned().await;
        tokio::time::sleep_until(*guard).await;
        Turn {
            next: interval.is_some().then_some(guard),
            interval: interval.unwrap_or_default(),
        }
    }

    /// DMS throttled `api` on this instance: hold later calls off for `duration`.
    pub fn hold_off(&self, api: &'static str, instance: &str, duration: Duration) {
        let Some(slot) = self.slot(api, instance, true) else {
            return;
        };
        // A paced API's holder sets its own hold-off through `Turn::answered`.
        if let Ok(mut next) = slot.try_lock() {
            *next = (*next).max(Instant::now() + duration);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_paced_api_is_in_the_vocabulary() {
        for (api, _) in PER_INSTANCE {
            assert!(
                crate::apis::find(api).is_some(),
                "{api} is not in dms_cloud::apis"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn paced_calls_wait_for_the_answer_plus_the_interval() {
        let pacer = Arc::new(Pacer::default());
        let start = Instant::now();
        let mut sent = Vec::new();
        for _ in 0..3 {
            let turn = pacer.turn("kafka_topic_detail", "i1").await;
            sent.push(Instant::now() - start);
            tokio::time::sleep(Duration::from_millis(300)).await; // the answer takes 300 ms
            turn.answered(None);
        }
        assert_eq!(
            sent,
            [
                Duration::ZERO,
                Duration::from_millis(1320),
                Duration::from_millis(2640)
            ]
        );
        // Another instance is not delayed.
        let before = Instant::now();
        let _other = pacer.turn("kafka_topic_detail", "i2").await;
        assert_eq!(Instant::now(), before);
    }

    #[tokio::test(start_paused = true)]
    async fn unpaced_apis_wait_only_for_a_hold_off() {
        let pacer = Pacer::default();
        let start = Instant::now();
        pacer.turn("kafka_groups", "i1").await.answered(None);
        pacer.turn("kafka_groups", "i1").await.answered(None);
        assert_eq!(Instant::now(), start);
        pacer.hold_off("kafka_groups", "i1", Duration::from_secs(2));
        pacer.turn("kafka_groups", "i2").await.answered(None);
        assert_eq!(Instant::now(), start, "only the throttled instance waits");
        pacer.turn("kafka_groups", "i1").await.answered(None);
        assert_eq!(Instant::now() - start, Duration::from_secs(2));
    }
}
