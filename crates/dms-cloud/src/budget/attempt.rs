//! Admission of a call: the backoff of failing scopes and the gateway's verdict on the AK/SK
//! decide whether it may go ([`HostBudget::begin`]); the [`Attempt`] reports how it ended.

use std::fmt;
use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use super::backoff::{self, Admission, Held};
use super::host::{HostBudget, HostInner, State};
use super::signature::Gate;
use crate::error::ErrorKind;
use crate::locks::lock;

/// Why a call was not sent.
#[derive(Debug, Clone, PartialEq)]
pub enum NotSent {
    /// Its scope (or the host) keeps failing and is held with backoff.
    Backoff(Held),
    /// The gateway rejects the AK/SK; the next probe may go after this long.
    CredentialsRejected(Duration),
}

/// A call on its way: report how it ended. Dropped unreported, it frees any probe slot it held.
pub struct Attempt {
    inner: Arc<HostInner>,
    scope: backoff::Scope,
    admission: Option<Admission>,
    signature_probe: bool,
    signed: bool,
}

impl fmt::Debug for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attempt")
            .field("host", &self.inner.host)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Attempt {
    /// Whether this call probes a scope (or host) held after repeated failures: its answer
    /// speaks for that scope alone.
    pub fn is_probe(&self) -> bool {
        self.admission
            .as_ref()
            .is_some_and(|a| a.host_probe || a.scope_probe)
    }

    /// Just before sending: whether the call may still go. A key rejected while the call
    /// waited for its turn holds it too, so that only calls truly in flight add to the
    /// failed signatures.
    pub fn still_allowed(&self) -> Result<(), NotSent> {
        if !self.signed {
            return Ok(());
        }
        let mut state = lock(&self.inner.state);
        if state.signature.still_allowed(self.signature_probe) {
            return Ok(());
        }
        let Gate::Refused(remaining) = state.signature.gate(Instant::now()) else {
            return Ok(());
        };
        Err(NotSent::CredentialsRejected(remaining))
    }

    /// The call was answered by the host (any answer that is not a failure of its scope).
    pub fn answered(mut self, signature_checked: bool) {
        let inner = Arc::clone(&self.inner);
        let mut state = lock(&inner.state);
        state.backoffs.answered(&self.scope);
        self.admission = None;
        self.signature_accepted_if(signature_checked, state);
    }

    /// The call failed with `kind`: `host_failure` when it may be the host's (no answer, a
    /// timeout, a 5xx); `signature_checked` when the answer shows the signature was accepted.
    pub fn failed(mut self, kind: ErrorKind, host_failure: bool, signature_checked: bool) {
        let inner = Arc::clone(&self.inner);
        let mut state = lock(&inner.state);
        state
            .backoffs
            .failed(&self.scope, kind, host_failure, Instant::now());
        self.admission = None;
        self.signature_accepted_if(signature_checked, state);
    }

    /// An answer that passed the gateway's signature check settles a signed call's verdict
    /// and wakes the calls waiting for it.
    fn signature_accepted_if(&mut self, checked: bool, mut state: MutexGuard<'_, State>) {
        if self.signed && checked {
            state.signature.accepted();
            self.signature_probe = false;
            drop(state);
            self.inner.verdict.notify_waiters();
        }
    }

    /// The gateway rejected the signature.
    pub fn signature_rejected(mut self) {
        let mut state = lock(&self.inner.state);
        if let Some(admission) = self.admission.take() {
            state.backoffs.abandoned(&self.scope, &admission);
        }
        let was_rejected = state.signature.is_rejected();
        state.signature.rejected(Instant::now());
        self.signature_probe = false;
        drop(state);
        if !was_rejected {
            tracing::warn!(host = %self.inner.host, "the API gateway rejects the AK/SK; signed calls to this host are held and probed with backoff");
        }
        self.inner.verdict.notify_waiters();
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if self.admission.is_none() && !self.signature_probe {
            return;
        }
        let mut state = lock(&self.inner.state);
        if let Some(admission) = self.admission.take() {
            state.backoffs.abandoned(&self.scope, &admission);
        }
        if self.signature_probe {
            state.signature.undecided();
            drop(state);
            self.inner.verdict.notify_waiters();
        }
    }
}

impl HostBudget {
    /// Whether a call of `api` on `instance` (`""` for project-level calls) may be sent now:
    /// not while its scope or the host is held after failures, nor, for a signed call, while
    /// the gateway rejects the AK/SK. Until a signature has been accepted, signed calls go one
    /// at a time (the others wait here for the first one's verdict).
    pub async fn begin(
        &self,
        api: &'static str,
        instance: &str,
        signed: bool,
    ) -> Result<Attempt, NotSent> {
        let scope: backoff::Scope = (api, instance.to_owned());
        let mut signature_probe = false;
        if signed {
            loop {
                let verdict = self.inner.verdict.notified();
                tokio::pin!(verdict);
                verdict.as_mut().enable();
                let gate = lock(&self.inner.state).signature.gate(Instant::now());
                match gate {
                    Gate::Go => break,
                    Gate::Probe => {
                        signature_probe = true;
                        break;
                    }
                    Gate::Wait => verdict.await,
                    Gate::Refused(remaining) => {
                        return Err(NotSent::CredentialsRejected(remaining));
                    }
                }
            }
        }
        let mut attempt = Attempt {
            inner: Arc::clone(&self.inner),
            scope,
            admission: None,
            signature_probe,
            signed,
        };
        let admitted = lock(&self.inner.state)
            .backoffs
            .admit(&attempt.scope, Instant::now());
        // On refusal, dropping `attempt` frees the signature probe slot it may hold.
        attempt.admission = Some(admitted.map_err(NotSent::Backoff)?);
        Ok(attempt)
    }

    /// Holds `api` on `instance` (`""`: the project's) for `duration`: its calls fail at once
    /// with `kind` meanwhile (an API the account may not call).
    pub fn hold(&self, api: &'static str, instance: &str, kind: ErrorKind, duration: Duration) {
        lock(&self.inner.state).backoffs.hold(
            &(api, instance.to_owned()),
            kind,
            duration,
            Instant::now(),
        );
    }

    /// How long until a call of `api` on `instance` may go past the backoff (zero: now).
    pub fn backoff_remaining(&self, api: &'static str, instance: &str) -> Duration {
        lock(&self.inner.state)
            .backoffs
            .remaining(&(api, instance.to_owned()), Instant::now())
    }

    /// New credentials (a reload, a changed credential file): the next signed call probes them
    /// at once, within the rule of at most three failing signatures in five minutes.
    pub fn credentials_changed(&self) {
        lock(&self.inner.state).signature.credentials_changed();
        self.inner.verdict.notify_waiters();
    }
}
