//! The credential sources that renew temporary keys, read at scrape time from a source the
//! wiring installs (this layer does not know the cloud client, ARCHITECTURE.md invariant 3).

use std::fmt;
use std::sync::{Arc, Mutex};

use super::families::{Encode, encode_family};
use crate::locks::lock;
use crate::metrics::catalog;
use crate::metrics::exposition::Format;

/// One credential source as the self-metrics show it. Never a key: only when they expire.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialRow {
    /// The account (`accounts:`), "" in a file without accounts.
    pub account: String,
    /// The bounded source name (`ecs_metadata`).
    pub source: &'static str,
    /// When the keys in use expire (Unix seconds); `None` before the first keys arrive.
    pub expires_at_unix: Option<f64>,
    /// Failed fetches since the source was configured.
    pub refresh_failures: u64,
}

/// Reads every renewing credential source's row.
pub type CredentialRows = Arc<dyn Fn() -> Vec<CredentialRow> + Send + Sync>;

/// Where the rows come from; none until the wiring installs a source (static keys install
/// none, so their series are absent).
#[derive(Default)]
pub(super) struct CredentialSource(Mutex<Option<CredentialRows>>);

impl fmt::Debug for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CredentialSource")
    }
}

impl CredentialSource {
    pub(super) fn install(&self, rows: Option<CredentialRows>) {
        *lock(&self.0) = rows;
    }

    fn rows(&self) -> Vec<CredentialRow> {
        // Cloned out so the source runs without our lock.
        let source = lock(&self.0).clone();
        source.map(|rows| rows()).unwrap_or_default()
    }
}

impl Encode for CredentialSource {
    fn encode(&self, format: Format, out: &mut String) {
        let rows = self.rows();
        // Keys that do not expire show nothing, not even empty families: the exposition of
        // a configuration from before temporary keys stays the same.
        if rows.is_empty() {
            return;
        }
        // With accounts, each row says whose keys it is about.
        let by_account = rows.iter().any(|row| !row.account.is_empty());
        let labels = |row: &CredentialRow| {
            if by_account {
                vec![row.account.clone(), row.source.to_owned()]
            } else {
                vec![row.source.to_owned()]
            }
        };
        let (expiry_family, failures_family) = if by_account {
            (
                &catalog::CREDENTIALS_EXPIRY_BY_ACCOUNT,
                &catalog::CREDENTIALS_REFRESH_FAILURES_BY_ACCOUNT,
            )
        } else {
            (
                &catalog::CREDENTIALS_EXPIRY,
                &catalog::CREDENTIALS_REFRESH_FAILURES,
            )
        };
        let expiry = rows
            .iter()
            .filter_map(|row| row.expires_at_unix.map(|at| (labels(row), at)));
        encode_family(expiry_family, expiry, format, out);
        let failures = rows
            .iter()
            .map(|row| (labels(row), row.refresh_failures as f64));
        encode_family(failures_family, failures, format, out);
    }
}
