//! The endpoint hosts' request schedulers, read at scrape time from a source the wiring
//! installs: this layer does not know the cloud client (ARCHITECTURE.md, invariant 3).

use std::fmt;
use std::sync::{Arc, Mutex};

use super::families::{Encode, encode_family};
use crate::locks::lock;
use crate::metrics::catalog::{self, Family};
use crate::metrics::exposition::Format;

/// One host's request scheduler as the self-metrics show it.
#[derive(Debug, Clone, PartialEq)]
pub struct HostRow {
    /// The account whose scheduler it is ("" without `accounts:`: each account has its own).
    pub account: String,
    pub host: String,
    /// Requests per second it sends at now; 0 when unlimited.
    pub effective_rate: f64,
    /// Requests waiting for their turn.
    pub queued: usize,
    /// The gateway rejects the host's AK/SK.
    pub credentials_rejected: bool,
    /// Every call to the host is held after repeated failures.
    pub held: bool,
}

/// Reads every host's row, by host name.
pub type HostRows = Arc<dyn Fn() -> Vec<HostRow> + Send + Sync>;

/// A gauge read from each host's row: its family without and with the account label.
type HostGauge = (&'static Family, &'static Family, fn(&HostRow) -> f64);

/// Where the host rows come from; none until the wiring installs a source.
#[derive(Default)]
pub(super) struct HostSource(Mutex<Option<HostRows>>);

impl fmt::Debug for HostSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HostSource")
    }
}

impl HostSource {
    pub(super) fn install(&self, rows: HostRows) {
        *lock(&self.0) = Some(rows);
    }

    fn rows(&self) -> Vec<HostRow> {
        // Cloned out so the source runs without our lock.
        let source = lock(&self.0).clone();
        source.map(|rows| rows()).unwrap_or_default()
    }
}

impl Encode for HostSource {
    fn encode(&self, format: Format, out: &mut String) {
        let rows = self.rows();
        // With accounts each row says whose scheduler it is; without, the labels stay.
        let by_account = rows.iter().any(|row| !row.account.is_empty());
        let gauges: [HostGauge; 4] = [
            (
                &catalog::API_EFFECTIVE_RATE,
                &catalog::API_EFFECTIVE_RATE_BY_ACCOUNT,
                |h| h.effective_rate,
            ),
            (&catalog::API_QUEUED, &catalog::API_QUEUED_BY_ACCOUNT, |h| {
                h.queued as f64
            }),
            (
                &catalog::API_CREDENTIALS_REJECTED,
                &catalog::API_CREDENTIALS_REJECTED_BY_ACCOUNT,
                |h| f64::from(u8::from(h.credentials_rejected)),
            ),
            (
                &catalog::API_HOST_HELD,
                &catalog::API_HOST_HELD_BY_ACCOUNT,
                |h| f64::from(u8::from(h.held)),
            ),
        ];
        for (plain, with_account, value) in gauges {
            let family = if by_account { with_account } else { plain };
            let series = rows.iter().map(|row| {
                let labels = if by_account {
                    vec![row.account.clone(), row.host.clone()]
                } else {
                    vec![row.host.clone()]
                };
                (labels, value(row))
            });
            encode_family(family, series, format, out);
        }
    }
}
