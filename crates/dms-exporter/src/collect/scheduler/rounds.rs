//! One round of a collector: a project-scoped cycle (discovery publishes the inventory), or
//! every instance's work started at once and awaited until it ends or stalls.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dms_cloud::{CallTally, ErrorKind};
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use tokio::time::Instant;

use super::{Done, Job, Publish, RoundOutcome};
use crate::collect::{Context, InstanceRef};
use crate::metrics::self_metrics::unix_now;

/// How often a round that waits only for stragglers checks whether its budget queue is empty.
const STRAGGLER_CHECK: Duration = Duration::from_secs(1);

/// Tells whether a running round is making progress: a successful answer came within the
/// last `window`.
struct ProgressWatch {
    seen: u64,
    at: Instant,
}

impl ProgressWatch {
    fn new() -> Self {
        Self {
            seen: 0,
            at: Instant::now(),
        }
    }

    /// Whether the round moved within `window`, given its successful answers so far.
    fn moving(&mut self, now: u64, window: Duration) -> bool {
        if now != self.seen {
            self.seen = now;
            self.at = Instant::now();
        }
        self.seen > 0 && self.at.elapsed() < window
    }
}

impl Job {
    /// One project-scoped cycle. One that has not ended after an interval is reported down
    /// meanwhile, unless it is being slowed (successful answers keep coming, if slowly or
    /// after throttling): then its data is kept for as long as it overruns, as an instance
    /// round's is. A stalled or endlessly failing cycle gets no such grace.
    pub(super) async fn project_round(
        &self,
        publish: &Publish,
        started: Instant,
        lateness: Duration,
    ) -> RoundOutcome {
        let tally = Arc::new(CallTally::default());
        let skipped = AtomicU64::new(0);
        let client = self
            .target
            .client
            .for_flow(self.flow.clone(), Arc::clone(&tally));
        let cx = Context {
            project: &self.target.project,
            client: &client,
            instance: None,
            settings: &self.settings,
            filters: &self.filters,
            health: &self.health,
            skipped_calls: &skipped,
        };
        let work = async {
            let mut result = self.collector.collect(&cx).await;
            if let Ok(output) = &mut result {
                output.compact_state_sets(self.collector.description(), &self.settings);
            }
            result
        };
        tokio::pin!(work);
        let patience = tokio::time::sleep(self.interval);
        tokio::pin!(patience);
        let mut progress = ProgressWatch::new();
        let mut reported_down = false;
        let result = loop {
            tokio::select! {
                result = &mut work => break result,
                () = &mut patience => {
                    if progress.moving(tally.answered(), self.interval) || self.slowed_by_budget() {
                        let overrun = started.elapsed() + self.interval;
                        self.stretch_max_age(self.max_age_for(Some(overrun)));
                    } else if !reported_down {
                        reported_down = true;
                        tracing::warn!(collector = self.collector.name(), region = %self.target.project.region, project_id = %self.target.project.project_id, "cycle unfinished after an interval without progress; reported down until it ends");
                        let unfinished = RoundOutcome {
                            calls: tally.sent(),
                            skipped: skipped.load(Ordering::Relaxed),
                            progress: tally.answered(),
                            errors: vec![ErrorKind::Timeout.as_label()],
                            last_error: Some("cycle unfinished after an interval without progress".to_owned()),
                            paced: Duration::ZERO,
                        };
                        self.report(started, lateness, &unfinished, None);
                    }
                    patience.as_mut().reset(Instant::now() + STRAGGLER_CHECK);
                }
            }
        };
        let errors = self.store.apply(
            &self.scope_key(""),
            result.as_ref(),
            self.max_age_now(),
            Instant::now(),
            unix_now(),
        );
        self.failures.observe(&self.origin(""), result.as_ref());
        let last_error = failure_text(None, result.as_ref());
        match result
            .as_ref()
            .ok()
            .and_then(|output| output.discovered.as_ref())
        {
            Some(discovered) => self.publish_inventory(publish, discovered),
            // Collectors waiting for a first inventory get an empty one when discovery could
            // not give a whole one: their first round then ends at once, and readiness does
            // not wait forever for an API that is down.
            None if publish.borrow().is_none() && self.collector.discovers() => {
                publish.send_replace(Some(Arc::new(Vec::new())));
            }
            None => {}
        }
        RoundOutcome {
            calls: tally.sent(),
            skipped: skipped.load(Ordering::Relaxed),
            progress: tally.answered(),
            errors,
            last_error,
            paced: Duration::ZERO,
        }
    }

    /// Publishes discovery's inventory: instances no longer listed lose their data at once,
    /// and each instance's data is tied to the part (engine) of discovery that lists it.
    pub(super) fn publish_inventory(&self, publish: &Publish, discovered: &[InstanceRef]) {
        let live: BTreeSet<String> = discovered.iter().map(|i| i.id.clone()).collect();
        self.store.retain_instances(
            &self.target.project.region,
            &self.target.project.project_id,
            &live,
        );
        let mut by_part: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for instance in discovered {
            by_part
                .entry(instance.engine.as_str().to_owned())
                .or_default()
                .insert(instance.id.clone());
        }
        self.store.set_inventory(&self.scope_key(""), by_part);
        publish.send_replace(Some(Arc::new(discovered.to_vec())));
    }

    /// One instance's read and its store update, as a task of its own lifetime.
    pub(super) fn instance_work(
        self: &Arc<Self>,
        round: u64,
        instance: InstanceRef,
        tally: Arc<CallTally>,
        skipped: Arc<AtomicU64>,
    ) -> BoxFuture<'static, Done> {
        let job = Arc::clone(self);
        Box::pin(async move {
            let client = job
                .target
                .client
                .for_flow(job.flow.clone(), Arc::clone(&tally));
            let cx = Context {
                project: &job.target.project,
                client: &client,
                instance: Some(&instance),
                settings: &job.settings,
                filters: &job.filters,
                health: &job.health,
                skipped_calls: &skipped,
            };
            let mut result = job.collector.collect(&cx).await;
            if let Ok(output) = &mut result {
                output.compact_state_sets(job.collector.description(), &job.settings);
            }
            job.failures
                .observe(&job.origin(&instance.id), result.as_ref());
            let last_error = failure_text(Some(&instance.id), result.as_ref());
            let errors = job.store.apply(
                &job.scope_key(&instance.id),
                result.as_ref(),
                job.max_age_now(),
                Instant::now(),
                unix_now(),
            );
            Done {
                instance_id: instance.id.clone(),
                round,
                errors,
                last_error,
                paced: tally.paced(),
            }
        })
    }

    /// Starts every instance's work and waits for it: to the end, or until for an interval no
    /// instance has finished, no call was answered and none of the round's requests waits
    /// for the budget.
    pub(super) async fn instance_round(
        self: &Arc<Self>,
        round: u64,
        instances: Vec<InstanceRef>,
        busy: &mut HashSet<String>,
        running: &mut FuturesUnordered<BoxFuture<'static, Done>>,
    ) -> RoundOutcome {
        let skipped = Arc::new(AtomicU64::new(0));
        // Each pending instance's calls in a tally of its own: only their answers tell whether
        // the round still moves (an instance that finished early says nothing of one whose
        // calls fail). Finished ones are folded into `sent` and `answered`.
        let mut answers: HashMap<String, (Arc<CallTally>, ProgressWatch)> = HashMap::new();
        let (mut sent, mut answered) = (0, 0);
        for instance in instances {
            busy.insert(instance.id.clone());
            let tally = Arc::new(CallTally::default());
            answers.insert(
                instance.id.clone(),
                (Arc::clone(&tally), ProgressWatch::new()),
            );
            running.push(self.instance_work(round, instance, tally, Arc::clone(&skipped)));
        }
        let mut pending = answers.len();
        let mut errors = Vec::new();
        let mut last_error = None;
        let mut paced = Duration::ZERO;
        let budget = self.budget();
        let started = Instant::now();
        let mut last_progress = started;
        let patience = tokio::time::sleep(self.interval);
        tokio::pin!(patience);
        while pending > 0 {
            tokio::select! {
                () = &mut patience => {
                    let queued = budget.waiting(&self.flow) > 0;
                    let mut pending_moved = false;
                    for (tally, watch) in answers.values_mut() {
                        pending_moved |= watch.moving(tally.answered(), self.interval);
                    }
                    let moving = pending_moved || self.slowed_by_budget();
                    if moving {
                        // Over the interval and still answered (slowed by the budget, the
                        // API's per-instance limits or throttling): what is served must last
                        // until the rest of this round and all of the next came. A round
                        // whose calls fail gets no such grace.
                        let overrun = started.elapsed() + self.interval;
                        self.stretch_max_age(self.max_age_for(Some(overrun)));
                    }
                    if !queued && !moving && last_progress.elapsed() >= self.interval {
                        break;
                    }
                    patience.as_mut().reset(Instant::now() + STRAGGLER_CHECK);
                }
                Some(done) = running.next() => {
                    busy.remove(&done.instance_id);
                    if done.round == round {
                        if let Some((tally, _)) = answers.remove(&done.instance_id) {
                            sent += tally.sent();
                            answered += tally.answered();
                        }
                        pending -= 1;
                        last_progress = Instant::now();
                        errors.extend(done.errors);
                        last_error = last_error.or(done.last_error);
                        paced = paced.max(done.paced);
                    }
                }
            }
        }
        if pending > 0 {
            let instance_ids = some_of(answers.keys());
            tracing::warn!(
                collector = self.collector.name(),
                region = %self.target.project.region,
                project_id = %self.target.project.project_id,
                instances = pending,
                %instance_ids,
                "instances still busy after an interval without progress; they finish on their own and only their data ages"
            );
            errors.extend(std::iter::repeat_n("timeout", pending));
            last_error = last_error.or_else(|| {
                Some(format!(
                    "{pending} instances still busy after an interval without progress: {instance_ids}"
                ))
            });
        }
        RoundOutcome {
            calls: sent + answers.values().map(|(tally, _)| tally.sent()).sum::<u64>(),
            skipped: skipped.load(Ordering::Relaxed),
            progress: answered
                + answers
                    .values()
                    .map(|(tally, _)| tally.answered())
                    .sum::<u64>(),
            errors,
            last_error,
            paced,
        }
    }
}

/// How many instance ids a log line names before `and N more`.
const NAMED_INSTANCES: usize = 5;

/// The first few of `ids` in order, then how many more: a line that names the stalled
/// instances stays short at a thousand.
fn some_of<'a>(ids: impl IntoIterator<Item = &'a String>) -> String {
    let mut ids: Vec<&str> = ids.into_iter().map(String::as_str).collect();
    ids.sort_unstable();
    let more = ids.len().saturating_sub(NAMED_INSTANCES);
    ids.truncate(NAMED_INSTANCES);
    let named = ids.join(",");
    if more == 0 {
        named
    } else {
        format!("{named} and {more} more")
    }
}

/// The text of a cycle's failure: the whole read's, else its first failed part's, prefixed with
/// the instance.
fn failure_text(
    instance: Option<&str>,
    result: Result<&crate::collect::Output, &dms_cloud::error::ApiError>,
) -> Option<String> {
    let (part, error) = match result {
        Err(error) => (None, error),
        Ok(output) => output
            .parts
            .iter()
            .find_map(|(part, result)| Some((Some(part.as_str()), result.as_ref().err()?)))?,
    };
    let place: Vec<&str> = [instance, part.filter(|p| !p.is_empty())]
        .into_iter()
        .flatten()
        .collect();
    Some(if place.is_empty() {
        error.to_string()
    } else {
        format!("{}: {error}", place.join(" "))
    })
}

#[cfg(test)]
mod tests {
    use super::some_of;

    #[test]
    fn busy_instances_are_named_up_to_a_bound() {
        let ids = |n: usize| (0..n).map(|i| format!("i-{i:02}")).collect::<Vec<_>>();
        assert_eq!(some_of(&ids(1)), "i-00");
        assert_eq!(some_of(ids(5).iter().rev()), "i-00,i-01,i-02,i-03,i-04");
        assert_eq!(some_of(&ids(1000)), "i-00,i-01,i-02,i-03,i-04 and 995 more");
    }
}
