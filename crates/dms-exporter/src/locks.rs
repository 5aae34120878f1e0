//! The one way this crate takes a std lock (ARCHITECTURE.md, "Locks").

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, recovering it from a panic elsewhere rather than passing the panic on.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
