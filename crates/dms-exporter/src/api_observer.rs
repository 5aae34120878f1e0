//! The one adapter from the cloud client to the self-metrics: it turns [`ApiObserver`] events
//! into plain [`SelfMetrics`] calls, and reads the host schedulers as [`HostRow`]s. (A round's
//! own counts travel in the `CallTally` of its client handle, not here.) So `metrics/` names nothing of `dms_cloud` (ARCHITECTURE.md,
//! invariant 3).

use std::sync::Arc;
use std::time::Duration;

use dms_cloud::{ApiObserver, Budgets, CredentialProvider};

use crate::metrics::self_metrics::{CredentialRow, CredentialRows, HostRow, HostRows, SelfMetrics};

/// Reports every request of the clients it is given to the self-metrics.
#[derive(Debug, Clone)]
pub struct MetricsObserver {
    metrics: Arc<SelfMetrics>,
}

impl MetricsObserver {
    pub fn new(metrics: Arc<SelfMetrics>) -> Self {
        Self { metrics }
    }
}

impl ApiObserver for MetricsObserver {
    fn request_finished(&self, host: &str, api: &'static str, code: &str, elapsed: Duration) {
        self.metrics.record_request(host, api, code, elapsed);
    }

    fn throttled(&self, host: &str, api: &'static str) {
        self.metrics.record_throttled(host, api);
    }

    fn retried(&self, host: &str, api: &'static str) {
        self.metrics.record_retry(host, api);
    }
}

/// A renewing credential source's state as the self-metrics read it at each scrape.
pub fn credential_rows(provider: CredentialProvider) -> CredentialRows {
    account_credential_rows(vec![(String::new(), provider)])
}

/// The rows of each account's renewing credentials (account "" in a file without accounts).
pub fn account_credential_rows(providers: Vec<(String, CredentialProvider)>) -> CredentialRows {
    Arc::new(move || {
        providers
            .iter()
            .map(|(account, provider)| {
                let status = provider.status();
                CredentialRow {
                    account: account.clone(),
                    source: status.source,
                    expires_at_unix: status
                        .expires_at
                        .map(|at| at.unix_timestamp_nanos() as f64 / 1e9),
                    refresh_failures: status.failed_refreshes,
                }
            })
            .collect()
    })
}

/// Every host's row across the host schedulers of the accounts (each account has its own,
/// as the gateway judges and limits each key apart): one row a host, its rates and queues
/// added, rejected or held when it is for any account.
pub fn merged_host_rows(all: Vec<Budgets>) -> HostRows {
    Arc::new(move || {
        let mut merged: std::collections::BTreeMap<String, HostRow> = Default::default();
        for row in all.iter().flat_map(|budgets| host_rows(budgets.clone())()) {
            merged
                .entry(row.host.clone())
                .and_modify(|seen| {
                    seen.effective_rate += row.effective_rate;
                    seen.queued += row.queued;
                    seen.credentials_rejected |= row.credentials_rejected;
                    seen.held |= row.held;
                })
                .or_insert(row);
        }
        merged.into_values().collect()
    })
}

/// The host schedulers' state as the self-metrics read it at each scrape.
pub fn host_rows(budgets: Budgets) -> HostRows {
    Arc::new(move || {
        budgets
            .statuses()
            .into_iter()
            .map(|status| HostRow {
                host: status.host,
                effective_rate: status.effective_rate,
                queued: status.queued,
                credentials_rejected: status.credentials_rejected,
                held: status.held,
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use dms_cloud::BudgetConfig;

    use super::*;
    use crate::metrics::exposition::Format;
    use crate::metrics::self_metrics::BuildInfo;

    #[test]
    fn requests_count_in_the_self_metrics() {
        let metrics = Arc::new(SelfMetrics::new(BuildInfo::current()));
        let observer = MetricsObserver::new(Arc::clone(&metrics));
        observer.request_finished("dms.r1.example", "kafka_groups", "429", Duration::ZERO);
        observer.request_finished("dms.r1.example", "kafka_groups", "200", Duration::ZERO);
        observer.request_finished("dms.r2.example", "kafka_groups", "200", Duration::ZERO);
        observer.throttled("dms.r1.example", "kafka_groups");
        observer.retried("dms.r1.example", "kafka_groups");
        let mut out = String::new();
        metrics.encode(Format::Text, &mut out);
        for line in [
            "dms_api_requests_total{host=\"dms.r1.example\",api=\"kafka_groups\",code=\"200\"} 1\n",
            "dms_api_requests_total{host=\"dms.r1.example\",api=\"kafka_groups\",code=\"429\"} 1\n",
            "dms_api_requests_total{host=\"dms.r2.example\",api=\"kafka_groups\",code=\"200\"} 1\n",
            "dms_api_request_duration_seconds_count{host=\"dms.r2.example\",api=\"kafka_groups\"} 1\n",
            "dms_api_throttled_total{host=\"dms.r1.example\",api=\"kafka_groups\"} 1\n",
            "dms_api_retries_total{host=\"dms.r1.example\",api=\"kafka_groups\"} 1\n",
        ] {
            assert!(out.contains(line), "{line} in {out}");
        }
    }

    #[test]
    fn host_rows_follow_the_budgets() {
        let budgets = Budgets::new(BudgetConfig {
            rate_per_second: 7.5,
            burst: 1,
            concurrency: 1,
        });
        let read = host_rows(budgets.clone());
        assert!(read().is_empty());
        let _ = budgets.for_host("B.example");
        let _ = budgets.for_host("a.example");
        let rows = read();
        let hosts: Vec<&str> = rows.iter().map(|row| row.host.as_str()).collect();
        assert_eq!(hosts, ["a.example", "b.example"]);
        assert_eq!(rows[0].effective_rate, 7.5);
        assert_eq!(
            (rows[0].queued, rows[0].credentials_rejected, rows[0].held),
            (0, false, false)
        );
    }
}
