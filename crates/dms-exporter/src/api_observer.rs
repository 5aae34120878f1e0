//! The one adapter from the cloud client to the self-metrics: it turns [`ApiObserver`] events
//! into plain [`SelfMetrics`] calls, and reads the host schedulers as [`HostRow`]s. (A round's
//! own counts travel in the `CallTally` of its client handle, not here.) So `metrics/` names nothing of `dms_cloud` (ARCHITECTURE.md,
//! invariant 3).

use std::sync::Arc;
use std::time::Duration;

use dms_cloud::{ApiObserver, Budgets, CredentialProvider};

use crate::metrics::self_metrics::{CredentialRow, CredentialRows, HostRow, HostRows, SelfMetrics};

/// Reports every request of the clients it is given to the self-metrics, as the calls of
/// one account ("" without `accounts:`).
#[derive(Debug, Clone)]
pub struct MetricsObserver {
    metrics: Arc<SelfMetrics>,
    account: String,
}

impl MetricsObserver {
    pub fn new(metrics: Arc<SelfMetrics>, account: &str) -> Self {
        Self {
            metrics,
            account: account.to_owned(),
        }
    }
}

impl ApiObserver for MetricsObserver {
    fn request_finished(&self, host: &str, api: &'static str, code: &str, elapsed: Duration) {
        self.metrics
            .record_request(&self.account, host, api, code, elapsed);
    }

    fn throttled(&self, host: &str, api: &'static str) {
        self.metrics.record_throttled(&self.account, host, api);
    }

    fn retried(&self, host: &str, api: &'static str) {
        self.metrics.record_retry(&self.account, host, api);
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

/// The host schedulers of each account (each has its own, as the gateway judges and limits
/// each key apart), as the self-metrics read them at each scrape; account "" for the
/// schedulers of a file without accounts.
pub fn account_host_rows(all: Vec<(String, Budgets)>) -> HostRows {
    Arc::new(move || {
        all.iter()
            .flat_map(|(account, budgets)| rows_of(account, budgets))
            .collect()
    })
}

/// The host schedulers' state as the self-metrics read it at each scrape.
pub fn host_rows(budgets: Budgets) -> HostRows {
    account_host_rows(vec![(String::new(), budgets)])
}

fn rows_of(account: &str, budgets: &Budgets) -> Vec<HostRow> {
    budgets
        .statuses()
        .into_iter()
        .map(|status| HostRow {
            account: account.to_owned(),
            host: status.host,
            effective_rate: status.effective_rate,
            queued: status.queued,
            credentials_rejected: status.credentials_rejected,
            held: status.held,
        })
        .collect()
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
        let observer = MetricsObserver::new(Arc::clone(&metrics), "");
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
