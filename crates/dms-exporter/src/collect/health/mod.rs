//! Consumer health across cycles: the state collectors keep between their cycles (status
//! windows per group partition, owned by the exporter so it survives configuration reloads as
//! the API budgets do) and the pure rules that read it (`status`).
//!
//! # API for collectors (reached through [`crate::collect::Context::health`])
//!
//! ```text
//! let window = status::window_length(cx.settings.option(&health::STATUS_WINDOW));
//! // once per cycle and instance, after listing the groups: forget groups that are gone
//! cx.health.retain_groups(instance_id, |group| listed.contains(group));
//! // per (group, topic): this cycle's readings of every partition / queue (a partition not
//! // listed is forgotten); returns each one's status, in the order given
//! let statuses = cx.health.observe(
//!     instance_id, group, topic,
//!     [(partition_label, Reading { time_ms: cx.health.now_ms(), committed, lag, has_members })],
//!     window,
//! );
//! // once per group, after its topics: forget topics it no longer reads, then its status
//! cx.health.retain_topics(instance_id, group, |topic| read.contains(topic));
//! let group_status: Option<GroupStatus> = cx.health.group_status(instance_id, group);
//! ```
//!
//! Memory is bounded: a window holds at most [`status::MAX_WINDOW`] readings, entries go when
//! their group, topic or partition is no longer listed, and an instance nobody reported on
//! for [`FORGET_AFTER_MS`] is dropped whole (it left the inventory).

mod granularity;
pub mod interpolation;
mod partition_log;
pub mod state_file;
pub mod status;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::collect::registry::{Choice, Count, Opt};
use crate::locks::lock;
pub use granularity::Granularity;
pub use partition_log::{PartitionFacts, RestoredHistories, SavedHistory};
pub use status::{GroupStatus, PartitionStatus, Reading};

/// How many readings (cycles) the status rules look back over; shared by the Kafka groups
/// and RocketMQ lag collectors.
/// Configured values outside the rules' window bounds are refused.
pub static STATUS_WINDOW: Opt<Count> = Opt::count("consumer_status_window", 10)
    .within(status::MIN_WINDOW as u32..=status::MAX_WINDOW as u32);

/// `compact` writes only the current state of the consumer state sets (group state, group,
/// partition and queue status: the 1, none of the 0s), which is most of their series. Every
/// shipped alert and dashboard reads them with `== 1`, so both forms serve them; a query of
/// `== 0` needs `full`. `dms_instance_status` is always full: DmsInstanceNotRunning asks
/// for `{status="RUNNING"} == 0`, and it is one set per instance.
pub static STATE_SETS: Opt<Choice> =
    Opt::choice("consumer_state_sets", "full", &["full", "compact"]);

/// An instance that no collector reported on for this long (unix ms) is forgotten.
pub const FORGET_AFTER_MS: i64 = 3_600_000;

/// The time source of readings, unix ms: the wall clock, or the simulator's in tests.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The wall clock, unix ms: read once, then advanced by tokio's monotonic clock, so readings
/// are ordered even if the system clock steps, and tests under paused time move it.
pub fn wall_clock() -> Clock {
    let start_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let start = tokio::time::Instant::now();
    Arc::new(move || {
        let elapsed = i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX);
        start_ms.saturating_add(elapsed)
    })
}

/// One group partition: its status window, the status it last gave, and the exact produce
/// time last read for its committed offset.
#[derive(Debug, Default)]
struct Tracked {
    window: status::Window,
    status: Option<PartitionStatus>,
    exact: Option<ExactTime>,
}

/// The produce time (unix ms) of the message at `committed`, as R15 gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ExactTime {
    committed: i64,
    produced_ms: i64,
}

/// Partition (or queue label) → its window.
type TopicWindows = HashMap<String, Tracked>;

#[derive(Debug, Default)]
struct InstanceHealth {
    touched_ms: i64,
    /// Group → topic → partition windows.
    groups: HashMap<String, HashMap<String, TopicWindows>>,
    /// Topic → partition → log end history and log start.
    logs: HashMap<String, HashMap<String, partition_log::PartitionLog>>,
    /// Topic → retention, ms.
    retention_ms: HashMap<String, i64>,
}

#[derive(Default)]
struct Inner {
    instances: HashMap<String, InstanceHealth>,
    swept_ms: i64,
}

/// The exporter's cross-cycle consumer state, shared by every collection it runs.
pub struct ConsumerHealth {
    clock: Clock,
    inner: Mutex<Inner>,
}

impl Default for ConsumerHealth {
    fn default() -> Self {
        Self::with_clock(wall_clock())
    }
}

impl std::fmt::Debug for ConsumerHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumerHealth").finish_non_exhaustive()
    }
}

impl ConsumerHealth {
    pub fn with_clock(clock: Clock) -> Self {
        Self {
            clock,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Now on the state's clock, unix ms: the time to stamp readings with.
    pub fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    /// The state of `instance`, marked as reported on now; instances nobody reported on for
    /// [`FORGET_AFTER_MS`] are dropped (checked at most once a minute).
    fn instance<'a>(inner: &'a mut Inner, instance: &str, now_ms: i64) -> &'a mut InstanceHealth {
        if now_ms - inner.swept_ms > 60_000 {
            inner.swept_ms = now_ms;
            inner
                .instances
                .retain(|_, state| now_ms - state.touched_ms <= FORGET_AFTER_MS);
        }
        let state = inner.instances.entry(instance.to_owned()).or_default();
        state.touched_ms = now_ms;
        state
    }

    /// Runs `f` on the state of `instance`, marked as reported on now.
    fn with_instance<R>(&self, instance: &str, f: impl FnOnce(&mut InstanceHealth) -> R) -> R {
        let now = self.now_ms();
        let mut inner = lock(&self.inner);
        f(Self::instance(&mut inner, instance, now))
    }

    /// Reads the state of `instance`, if there is one.
    fn read_instance<R>(
        &self,
        instance: &str,
        f: impl FnOnce(&InstanceHealth) -> Option<R>,
    ) -> Option<R> {
        lock(&self.inner).instances.get(instance).and_then(f)
    }

    /// Records this cycle's readings of one (group, topic) and returns each partition's
    /// status, in the order given; partitions of the pair not given are forgotten.
    pub fn observe(
        &self,
        instance: &str,
        group: &str,
        topic: &str,
        readings: impl IntoIterator<Item = (String, Reading)>,
        window: usize,
    ) -> Vec<(String, PartitionStatus)> {
        self.with_instance(instance, |state| {
            let topics = state.groups.entry(group.to_owned()).or_default();
            // Rebuilt from this cycle's partitions, so those not given are dropped.
            let mut previous = topics.remove(topic).unwrap_or_default();
            let mut current = TopicWindows::with_capacity(previous.len());
            let mut out = Vec::new();
            for (partition, reading) in readings {
                let mut tracked = previous.remove(&partition).unwrap_or_default();
                tracked.window.push(reading, window);
                tracked.status = tracked.window.status(window);
                if let Some(status) = tracked.status {
                    out.push((partition.clone(), status));
                }
                current.insert(partition, tracked);
            }
            topics.insert(topic.to_owned(), current);
            out
        })
    }

    /// Forgets the windows of the instance's groups that `keep` refuses (groups that vanished).
    pub fn retain_groups(&self, instance: &str, keep: impl Fn(&str) -> bool) {
        if let Some(state) = lock(&self.inner).instances.get_mut(instance) {
            state.groups.retain(|group, _| keep(group));
        }
    }

    /// Forgets the windows of `group`'s topics that `keep` refuses.
    pub fn retain_topics(&self, instance: &str, group: &str, keep: impl Fn(&str) -> bool) {
        if let Some(topics) = lock(&self.inner)
            .instances
            .get_mut(instance)
            .and_then(|state| state.groups.get_mut(group))
        {
            topics.retain(|topic, _| keep(topic));
        }
    }

    /// The status one partition's window gave when last observed.
    pub fn partition_status(
        &self,
        instance: &str,
        group: &str,
        topic: &str,
        partition: &str,
    ) -> Option<PartitionStatus> {
        self.read_instance(instance, |state| {
            state.groups.get(group)?.get(topic)?.get(partition)?.status
        })
    }

    /// The group's status from the last status of each of its partitions (every topic);
    /// `None` when none has one.
    pub fn group_status(&self, instance: &str, group: &str) -> Option<GroupStatus> {
        let inner = lock(&self.inner);
        let topics = inner.instances.get(instance)?.groups.get(group)?;
        GroupStatus::of(
            topics
                .values()
                .flat_map(HashMap::values)
                .filter_map(|tracked| tracked.status),
        )
    }

    /// How many partition windows are kept (all instances), for tests and bounds.
    pub fn tracked_windows(&self) -> usize {
        lock(&self.inner)
            .instances
            .values()
            .flat_map(|state| state.groups.values())
            .flat_map(HashMap::values)
            .map(HashMap::len)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};

    use super::*;

    fn stepped_clock() -> (Arc<AtomicI64>, ConsumerHealth) {
        let now = Arc::new(AtomicI64::new(1_000_000));
        let read = Arc::clone(&now);
        let health = ConsumerHealth::with_clock(Arc::new(move || read.load(Ordering::Relaxed)));
        (now, health)
    }

    fn reading(time_ms: i64, committed: i64, lag: i64) -> Reading {
        Reading {
            time_ms,
            committed,
            lag,
            has_members: true,
        }
    }

    #[test]
    fn windows_persist_across_cycles_and_give_statuses() {
        let (now, health) = stepped_clock();
        let mut last = Vec::new();
        for cycle in 0..3 {
            let t = now.fetch_add(30_000, Ordering::Relaxed);
            last = health.observe(
                "i",
                "g",
                "t",
                [
                    ("0".to_owned(), reading(t, 10, 5 + cycle)),
                    ("1".to_owned(), reading(t, 10 + cycle * 10, 0)),
                ],
                3,
            );
        }
        assert_eq!(
            last,
            [
                ("0".to_owned(), PartitionStatus::Stall),
                ("1".to_owned(), PartitionStatus::Ok)
            ]
        );
        assert_eq!(health.group_status("i", "g"), Some(GroupStatus::Err));
        assert_eq!(health.group_status("i", "other"), None);
    }

    #[test]
    fn vanished_partitions_topics_groups_and_instances_are_forgotten() {
        let (now, health) = stepped_clock();
        let t = now.load(Ordering::Relaxed);
        for (group, topic) in [("g", "a"), ("g", "b"), ("h", "a")] {
            let parts = ["0", "1"].map(|p| (p.to_owned(), reading(t, 1, 1)));
            health.observe("i", group, topic, parts, 3);
        }
        assert_eq!(health.tracked_windows(), 6);
        health.observe("i", "g", "a", [("0".to_owned(), reading(t + 1, 1, 1))], 3);
        assert_eq!(health.tracked_windows(), 5, "partition 1 of g/a went");
        health.retain_topics("i", "g", |topic| topic == "a");
        assert_eq!(health.tracked_windows(), 3, "topic b of g went");
        health.retain_groups("i", |group| group == "g");
        assert_eq!(health.tracked_windows(), 1, "group h went");
        now.fetch_add(FORGET_AFTER_MS + 120_000, Ordering::Relaxed);
        let t = now.load(Ordering::Relaxed);
        health.observe("other", "g", "a", [("0".to_owned(), reading(t, 1, 1))], 3);
        assert_eq!(health.tracked_windows(), 1, "instance i was forgotten");
        assert_eq!(health.group_status("i", "g"), None);
    }
}
