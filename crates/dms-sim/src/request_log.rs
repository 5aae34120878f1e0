//! The request log: the most recent answered requests and the counts per endpoint since start.

use std::collections::{BTreeMap, VecDeque};

/// One answered (or stalled: status 0) API request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// An endpoint name of [`ENDPOINTS`](crate::ENDPOINTS), or `"unknown"`.
    pub endpoint: &'static str,
    pub status: u16,
    pub at: tokio::time::Instant,
    pub instance_id: Option<String>,
}

const REQUEST_LOG_CAPACITY: usize = 100_000;

/// The last [`REQUEST_LOG_CAPACITY`] records, oldest first, and the counts of all of them.
#[derive(Default)]
pub(crate) struct RequestLog {
    log: VecDeque<RequestRecord>,
    counts: BTreeMap<&'static str, u64>,
}

impl RequestLog {
    pub(crate) fn record(&mut self, record: RequestRecord) {
        *self.counts.entry(record.endpoint).or_default() += 1;
        if self.log.len() >= REQUEST_LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(record);
    }

    /// The most recent requests, oldest first.
    pub(crate) fn records(&self) -> Vec<RequestRecord> {
        self.log.iter().cloned().collect()
    }

    /// Requests per endpoint name since start.
    pub(crate) fn counts(&self) -> BTreeMap<String, u64> {
        self.counts
            .iter()
            .map(|(endpoint, count)| ((*endpoint).to_owned(), *count))
            .collect()
    }
}
