//! Backoff from failing scopes: a host whose calls fail (no answer, timeouts, 5xx), and an
//! API of one instance (or of the project) whose calls keep failing while the host answers
//! the rest. After [`TRIP`] failures in a row ([`THROTTLED_TRIP`] throttled answers) a scope
//! is held: its calls fail at once, without
//! being sent, except one probe each time its delay has passed. The delay doubles with every
//! failed probe, with jitter, up to [`MAX_DELAY`]; one answer from the scope ends the hold. So
//! during a long fault the requests to the failing scope fall far below their normal rate, and
//! recovery comes within one interval plus [`MAX_DELAY`] after the fault clears.
//!
//! A host is held only when its failures span more than one API: one API failing everywhere
//! is that API's fault, held per instance, and the host's other APIs go on.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use tokio::time::Instant;

use crate::error::ErrorKind;

/// Failures in a row before a scope is held.
pub const TRIP: u32 = 3;
/// Throttled answers in a row before a scope is held. Throttled calls are retried until then
/// (`client::pipeline`), so in a storm in which one answer in four is throttled a call
/// almost never fails (4⁻⁸), while a scope throttled answer after answer is held within a
/// few retries, and its data ages out on time.
pub const THROTTLED_TRIP: u32 = 8;

fn trip(kind: ErrorKind) -> u32 {
    if kind == ErrorKind::Throttled {
        THROTTLED_TRIP
    } else {
        TRIP
    }
}
/// The first delay of a held scope (a retry waits this long at most for its scope).
pub const FIRST_DELAY: Duration = Duration::from_secs(1);
/// The longest delay between two probes of a held scope.
pub const MAX_DELAY: Duration = Duration::from_secs(60);

/// (API, instance id or `""` for project-level calls).
pub type Scope = (&'static str, String);

/// One scope's run of failures.
#[derive(Debug, Clone, Default)]
struct Run {
    failures: u32,
    /// The kind of the last failure, which a held call reports.
    kind: Option<ErrorKind>,
    not_before: Option<Instant>,
    probing: bool,
}

impl Run {
    /// Whether a call may go now; `Some(true)` when it goes as the probe.
    fn admit(&mut self, now: Instant) -> Option<bool> {
        match self.not_before {
            None => Some(false),
            Some(_) if self.probing => None,
            Some(at) if now >= at => {
                self.probing = true;
                Some(true)
            }
            Some(_) => None,
        }
    }

    fn failed(&mut self, kind: ErrorKind, now: Instant) {
        self.failures = self.failures.saturating_add(1);
        self.kind = Some(kind);
        self.probing = false;
        let trip = trip(kind);
        if self.failures >= trip {
            self.not_before = Some(now + delay(self.failures - trip));
        }
    }

    fn remaining(&self, now: Instant) -> Option<Duration> {
        self.not_before.filter(|at| *at > now).map(|at| at - now)
    }
}

/// The delay after the `n`-th failure beyond the trip: doubling from [`FIRST_DELAY`] up to
/// [`MAX_DELAY`], then between half of it and all of it ("equal jitter"), so probes of many
/// scopes spread out.
fn delay(n: u32) -> Duration {
    let full = FIRST_DELAY
        .saturating_mul(1u32.checked_shl(n.min(16)).unwrap_or(u32::MAX))
        .min(MAX_DELAY);
    full / 2 + full.mul_f64(0.5 * fastrand::f64())
}

/// Why a call was not sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    /// The kind of the failure that holds the scope.
    pub kind: ErrorKind,
    /// Until the next probe may go.
    pub remaining: Duration,
    /// Whether the whole host is held (rather than this API of this instance).
    pub host: bool,
}

/// The right to send one call; its outcome goes to [`Backoffs::answered`] or
/// [`Backoffs::failed`], or, when it is dropped unanswered, to [`Backoffs::abandoned`].
#[derive(Debug, Default)]
pub struct Admission {
    pub(super) host_probe: bool,
    pub(super) scope_probe: bool,
}

/// The failure runs of one host and of its (API, instance) scopes.
#[derive(Debug, Default)]
pub struct Backoffs {
    host: Run,
    /// The APIs in the host's current run of failures.
    host_apis: BTreeSet<&'static str>,
    scopes: HashMap<Scope, Run>,
}

impl Backoffs {
    /// Whether a call of `scope` may be sent now.
    pub fn admit(&mut self, scope: &Scope, now: Instant) -> Result<Admission, Held> {
        let host_probe = match self.host.admit(now) {
            Some(probe) => probe,
            None => return Err(self.held(None, now)),
        };
        if host_probe {
            // The host's probe goes whatever its scope's state: it tells whether the host
            // answers at all.
            return Ok(Admission {
                host_probe,
                scope_probe: false,
            });
        }
        let scope_probe = match self.scopes.get_mut(scope) {
            None => false,
            Some(run) => match run.admit(now) {
                Some(probe) => probe,
                None => return Err(self.held(Some(scope), now)),
            },
        };
        Ok(Admission {
            host_probe,
            scope_probe,
        })
    }

    fn held(&self, scope: Option<&Scope>, now: Instant) -> Held {
        let run = match scope.and_then(|s| self.scopes.get(s)) {
            Some(run) => run,
            None => &self.host,
        };
        Held {
            kind: run.kind.unwrap_or(ErrorKind::Transport),
            remaining: run.remaining(now).unwrap_or_default(),
            host: scope.is_none(),
        }
    }

    /// The scope answered (any HTTP answer that is not a failure of the scope): its run ends,
    /// and an answer from a held host ends the host's run and every scope's (their failures
    /// were the host's).
    pub fn answered(&mut self, scope: &Scope) {
        if self.host.not_before.is_some() {
            tracing::info!("the API host answers again; its calls resume");
            self.scopes.clear();
        }
        self.host = Run::default();
        self.host_apis.clear();
        self.scopes.remove(scope);
    }

    /// The call failed with `kind`. `host_failure`: a failure that may be the host's (no
    /// answer, a timeout, a 5xx); it counts for the host once the run spans two APIs. The
    /// others (throttling, DMS's flow control, a denied API) count for the scope only.
    pub fn failed(&mut self, scope: &Scope, kind: ErrorKind, host_failure: bool, now: Instant) {
        if host_failure {
            self.host_apis.insert(scope.0);
            let was_held = self.host.not_before.is_some();
            if was_held || self.host_apis.len() > 1 {
                self.host.failed(kind, now);
                if self.host.not_before.is_some() {
                    if !was_held {
                        tracing::warn!(
                            kind = kind.as_label(),
                            "the API host keeps failing; holding its calls and probing it with backoff"
                        );
                    }
                    return;
                }
            }
        }
        self.scopes
            .entry(scope.clone())
            .or_default()
            .failed(kind, now);
    }

    /// Holds `scope` for `duration` after an answer that will not change soon (the account
    /// may not call this API): its calls fail at once meanwhile, then one probe goes.
    pub fn hold(&mut self, scope: &Scope, kind: ErrorKind, duration: Duration, now: Instant) {
        let run = self.scopes.entry(scope.clone()).or_default();
        run.failures = run.failures.max(TRIP);
        run.kind = Some(kind);
        run.probing = false;
        run.not_before = Some(now + duration);
    }

    /// Frees a probe slot whose call was dropped before its answer.
    pub fn abandoned(&mut self, scope: &Scope, admission: &Admission) {
        if admission.host_probe {
            self.host.probing = false;
        }
        if admission.scope_probe
            && let Some(run) = self.scopes.get_mut(scope)
        {
            run.probing = false;
        }
    }

    /// How long until a call of `scope` may go (zero when it may go now).
    pub fn remaining(&self, scope: &Scope, now: Instant) -> Duration {
        let host = self.host.remaining(now).unwrap_or_default();
        let scope = self
            .scopes
            .get(scope)
            .and_then(|run| run.remaining(now))
            .unwrap_or_default();
        host.max(scope)
    }

    /// Whether the host itself is held.
    pub fn host_held(&self) -> bool {
        self.host.not_before.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(api: &'static str, instance: &str) -> Scope {
        (api, instance.to_owned())
    }

    #[test]
    fn a_scope_is_held_after_three_failures_and_probed_with_growing_delays() {
        let mut backoffs = Backoffs::default();
        let start = Instant::now();
        let groups = scope("kafka_groups", "i1");
        for _ in 0..TRIP {
            let admission = backoffs.admit(&groups, start).expect("not held yet");
            let _ = admission;
            backoffs.failed(&groups, ErrorKind::ServerError, true, start);
        }
        let held = backoffs.admit(&groups, start).expect_err("held");
        assert_eq!(held.kind, ErrorKind::ServerError);
        assert!(!held.host, "one API's failures hold that API only");
        assert!(
            backoffs.admit(&scope("kafka_topics", "i1"), start).is_ok(),
            "other APIs of the instance go on"
        );
        assert!(backoffs.admit(&scope("kafka_groups", "i2"), start).is_ok());
        // Probes: one at a time, each delay at least half of double the one before.
        let mut now = start;
        let mut delays = Vec::new();
        for _ in 0..10 {
            let wait = backoffs.remaining(&groups, now);
            delays.push(wait);
            now += wait;
            let probe = backoffs.admit(&groups, now).expect("the probe goes");
            assert!(backoffs.admit(&groups, now).is_err(), "one probe at a time");
            let _ = probe;
            backoffs.failed(&groups, ErrorKind::ServerError, true, now);
        }
        assert!(delays.iter().all(|d| *d <= MAX_DELAY), "{delays:?}");
        assert!(delays[9] >= MAX_DELAY / 2, "{delays:?}");
        assert!(delays[0] <= Duration::from_secs(1), "{delays:?}");
        let probe = backoffs
            .admit(&groups, now + MAX_DELAY)
            .expect("the probe goes");
        backoffs.answered(&groups);
        let _ = probe;
        assert!(
            backoffs.admit(&groups, now + MAX_DELAY).is_ok(),
            "answered: free again"
        );
        assert!(backoffs.admit(&groups, now + MAX_DELAY).is_ok());
    }

    #[test]
    fn a_host_is_held_when_its_failures_span_apis_and_freed_by_one_answer() {
        let mut backoffs = Backoffs::default();
        let now = Instant::now();
        let apis = [
            "instances_list",
            "kafka_groups",
            "kafka_topics",
            "kafka_cluster",
        ];
        for api in apis {
            if let Ok(admission) = backoffs.admit(&scope(api, "i1"), now) {
                let _ = admission;
                backoffs.failed(&scope(api, "i1"), ErrorKind::Transport, true, now);
            }
        }
        assert!(backoffs.host_held());
        let held = backoffs
            .admit(&scope("rocketmq_topics", "i9"), now)
            .expect_err("every API of the host is held");
        assert!(held.host);
        let later = now + MAX_DELAY;
        let probe = backoffs
            .admit(&scope("rocketmq_topics", "i9"), later)
            .expect("one probe");
        assert!(backoffs.admit(&scope("kafka_groups", "i1"), later).is_err());
        backoffs.answered(&scope("rocketmq_topics", "i9"));
        let _ = probe;
        for api in apis {
            assert!(
                backoffs.admit(&scope(api, "i1"), later).is_ok(),
                "{api}: the host's answer frees every scope"
            );
        }
    }

    #[test]
    fn one_api_failing_everywhere_never_holds_the_host() {
        let mut backoffs = Backoffs::default();
        let now = Instant::now();
        for instance in 0..50 {
            let groups = scope("kafka_groups", &format!("i{instance}"));
            let admission = backoffs.admit(&groups, now).expect("not held");
            let _ = admission;
            backoffs.failed(&groups, ErrorKind::ServerError, true, now);
        }
        assert!(!backoffs.host_held());
        assert!(backoffs.admit(&scope("kafka_topics", "i1"), now).is_ok());
    }

    #[test]
    fn a_dropped_probe_frees_its_slot() {
        let mut backoffs = Backoffs::default();
        let now = Instant::now();
        let groups = scope("kafka_groups", "i1");
        for _ in 0..TRIP {
            let admission = backoffs.admit(&groups, now).expect("not held yet");
            let _ = admission;
            backoffs.failed(&groups, ErrorKind::Timeout, false, now);
        }
        let later = now + MAX_DELAY;
        let probe = backoffs.admit(&groups, later).expect("probe");
        backoffs.abandoned(&groups, &probe);
        assert!(
            backoffs.admit(&groups, later).is_ok(),
            "the slot is free again"
        );
    }
}
