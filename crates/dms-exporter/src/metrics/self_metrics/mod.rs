//! The exporter's own metrics: API calls (fed by the cloud client through the adapter in
//! `api_observer.rs`), the endpoint hosts' schedulers (read at scrape time from a source the
//! wiring installs), collector cycles (fed by the scheduler), targets, reloads, sharding and
//! build info. They are small, so they are encoded on each scrape, after the pre-encoded
//! snapshot.

mod build_info;
mod credentials;
mod cycles;
mod families;
mod hosts;
mod status;

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub use build_info::BuildInfo;
use credentials::CredentialSource;
pub use credentials::{CredentialRow, CredentialRows};
pub use cycles::CycleReport;
use cycles::Cycles;
use families::{Accounted, CounterVec, Encode, GaugeVec, HistogramVec, encode_single};
use hosts::HostSource;
pub use hosts::{HostRow, HostRows};
pub use status::{CycleStatus, Status};

use super::exposition::Format;
use super::{catalog, process};
use crate::locks::lock;

/// Request-duration buckets, in seconds: API calls take tens of milliseconds to seconds.
const DURATION_BUCKETS: [f64; 10] = [0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The families kept under one lock, in exposition order.
#[derive(Debug)]
struct Inner {
    /// (account or "", host, api, code): each account has its own host schedulers and key,
    /// so its calls are counted apart.
    requests: Accounted<CounterVec<(String, String, &'static str, String)>>,
    /// (account or "", host, api) each.
    durations: Accounted<HistogramVec<(String, String, &'static str)>>,
    retries: Accounted<CounterVec<(String, String, &'static str)>>,
    throttled: Accounted<CounterVec<(String, String, &'static str)>>,
    cycles: Cycles,
    /// `dms_target_up`: (account or "", region, configured project id or "") → 1 when
    /// resolved and collecting.
    targets: Accounted<GaugeVec<(String, String, String)>>,
    /// `dms_account_info`: (account, account id) of each account whose id is known (none
    /// without `accounts:`, and then no family at all).
    accounts: GaugeVec<(String, String)>,
}

impl Inner {
    fn new() -> Self {
        Self {
            requests: Accounted::new(
                CounterVec::new(&catalog::API_REQUESTS_BY_ACCOUNT),
                &catalog::API_REQUESTS,
                &catalog::API_REQUESTS_BY_ACCOUNT,
            ),
            durations: Accounted::new(
                HistogramVec::new(&catalog::API_REQUEST_DURATION_BY_ACCOUNT, &DURATION_BUCKETS),
                &catalog::API_REQUEST_DURATION,
                &catalog::API_REQUEST_DURATION_BY_ACCOUNT,
            ),
            retries: Accounted::new(
                CounterVec::new(&catalog::API_RETRIES_BY_ACCOUNT),
                &catalog::API_RETRIES,
                &catalog::API_RETRIES_BY_ACCOUNT,
            ),
            throttled: Accounted::new(
                CounterVec::new(&catalog::API_THROTTLED_BY_ACCOUNT),
                &catalog::API_THROTTLED,
                &catalog::API_THROTTLED_BY_ACCOUNT,
            ),
            cycles: Cycles::new(),
            targets: Accounted::new(
                GaugeVec::new(&catalog::TARGET_UP_BY_ACCOUNT),
                &catalog::TARGET_UP,
                &catalog::TARGET_UP_BY_ACCOUNT,
            ),
            accounts: GaugeVec::new(&catalog::ACCOUNT_INFO),
        }
    }
}

impl Encode for Inner {
    fn encode(&self, format: Format, out: &mut String) {
        if !self.accounts.is_empty() {
            self.accounts.encode(format, out);
        }
        let families: [&dyn Encode; 6] = [
            &self.requests,
            &self.durations,
            &self.retries,
            &self.throttled,
            &self.cycles,
            &self.targets,
        ];
        for family in families {
            family.encode(format, out);
        }
    }
}

/// A `dms_target_up` series' key: (account or "", region, configured project id or "").
fn target_key(account: &str, region: &str, configured_project: &str) -> (String, String, String) {
    (
        account.to_owned(),
        region.to_owned(),
        configured_project.to_owned(),
    )
}

/// Shared, thread-safe self-metrics.
#[derive(Debug)]
pub struct SelfMetrics {
    inner: Mutex<Inner>,
    build: BuildInfo,
    /// (last reload succeeded, when the configuration was last loaded).
    reload: Mutex<(bool, f64)>,
    /// The host schedulers, whose state is read at scrape time.
    hosts: HostSource,
    /// The credential sources that renew keys, read at scrape time.
    credentials: CredentialSource,
    /// (shard ordinal, total shards) of the running collection.
    sharding: Mutex<(u32, u32)>,
    /// Whether the data comes from the embedded simulator (`--demo`).
    demo: AtomicBool,
    /// When these metrics were created, near the process start: `process_start_time_seconds`
    /// where the kernel's cannot be read.
    started_unix: f64,
}

/// The wall clock as a Unix timestamp in seconds (what `_timestamp_seconds` series carry).
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

impl SelfMetrics {
    pub fn new(build: BuildInfo) -> Self {
        Self {
            inner: Mutex::new(Inner::new()),
            build,
            reload: Mutex::new((true, unix_now())),
            hosts: HostSource::default(),
            credentials: CredentialSource::default(),
            sharding: Mutex::new((0, 1)),
            demo: AtomicBool::new(false),
            started_unix: unix_now(),
        }
    }

    /// Marks the data as simulated (`--demo`): `dms_exporter_demo` is 1 from now on.
    pub fn set_demo(&self, demo: bool) {
        self.demo.store(demo, Ordering::Relaxed);
    }

    /// Reports the host schedulers `rows` reads, at each scrape from now on.
    pub fn watch_hosts(&self, rows: HostRows) {
        self.hosts.install(rows);
    }

    /// Reports the renewing credential sources `rows` reads, at each scrape from now on
    /// (`None`: keys that do not expire, no series).
    pub fn watch_credentials(&self, rows: Option<CredentialRows>) {
        self.credentials.install(rows);
    }

    /// Records the shard the running collection reads (at start and after each reload).
    pub fn record_sharding(&self, shard: u32, total_shards: u32) {
        *lock(&self.sharding) = (shard, total_shards);
    }

    /// Forgets collector cycles and targets of regions a reload removed.
    pub fn retain_regions(&self, regions: &BTreeSet<String>) {
        let mut inner = lock(&self.inner);
        inner.cycles.retain_regions(regions);
        inner
            .targets
            .series
            .retain(|(_, region, _)| regions.contains(region));
    }

    /// Forgets the targets a reload no longer configures: (region, configured project id
    /// or "").
    pub fn retain_targets(&self, configured: &BTreeSet<(String, String, String)>) {
        lock(&self.inner)
            .targets
            .series
            .retain(|key| configured.contains(key));
    }

    /// Records whether a configured target (region, configured project id or "") is
    /// resolved and collecting.
    /// `account` is "" for a file without `accounts:`.
    pub fn record_target(&self, account: &str, region: &str, configured_project: &str, up: bool) {
        let key = target_key(account, region, configured_project);
        lock(&self.inner)
            .targets
            .series
            .set(key, f64::from(u8::from(up)));
    }

    /// Forgets one target (an account's failed project list, listed again).
    pub fn forget_target(&self, account: &str, region: &str, configured_project: &str) {
        let key = target_key(account, region, configured_project);
        lock(&self.inner).targets.series.retain(|k| k != &key);
    }

    /// Records an account's id (`dms_account_info`).
    pub fn record_account(&self, account: &str, account_id: &str) {
        let mut inner = lock(&self.inner);
        inner.accounts.retain(|(name, _)| name != account);
        inner
            .accounts
            .set((account.to_owned(), account_id.to_owned()), 1.0);
    }

    /// Forgets the ids of accounts not in `accounts` (after a reload).
    pub fn retain_accounts(&self, accounts: &BTreeSet<String>) {
        lock(&self.inner)
            .accounts
            .retain(|(name, _)| accounts.contains(name));
    }

    /// Whether a target is shown down now.
    pub fn target_down(&self, account: &str, region: &str, configured_project: &str) -> bool {
        let key = target_key(account, region, configured_project);
        lock(&self.inner).targets.series.get(&key) == Some(0.0)
    }

    /// Records a configuration reload.
    pub fn record_reload(&self, ok: bool) {
        let mut reload = lock(&self.reload);
        reload.0 = ok;
        if ok {
            reload.1 = unix_now();
        }
    }

    /// Records one finished HTTP attempt of `account` ("" without `accounts:`) to `host`: its
    /// status code (or "timeout", …) and duration.
    pub fn record_request(
        &self,
        account: &str,
        host: &str,
        api: &'static str,
        code: &str,
        elapsed: Duration,
    ) {
        let mut inner = lock(&self.inner);
        let (account, host) = (account.to_owned(), host.to_owned());
        inner
            .requests
            .series
            .inc((account.clone(), host.clone(), api, code.to_owned()));
        inner
            .durations
            .series
            .observe((account, host, api), elapsed.as_secs_f64());
    }

    /// Records a throttled answer from `host` to `account`.
    pub fn record_throttled(&self, account: &str, host: &str, api: &'static str) {
        lock(&self.inner)
            .throttled
            .series
            .inc((account.to_owned(), host.to_owned(), api));
    }

    /// Records a retry of `account` to `host` about to happen.
    pub fn record_retry(&self, account: &str, host: &str, api: &'static str) {
        lock(&self.inner)
            .retries
            .series
            .inc((account.to_owned(), host.to_owned(), api));
    }

    /// Forgets one collector's cycle figures of one project (a project no longer listed).
    pub fn forget_cycles(&self, collector: &str, region: &str, project_id: &str) {
        lock(&self.inner)
            .cycles
            .forget_project(collector, region, project_id);
    }

    /// Records a finished collector cycle.
    pub fn record_cycle(&self, report: &CycleReport) {
        lock(&self.inner).cycles.record(report);
    }

    /// Appends every self-metric family to `out`.
    pub fn encode(&self, format: Format, out: &mut String) {
        lock(&self.inner).encode(format, out);
        self.hosts.encode(format, out);
        self.credentials.encode(format, out);
        let (reload_ok, loaded_unix) = *lock(&self.reload);
        let (shard, total_shards) = *lock(&self.sharding);
        for (family, value) in [
            (&catalog::CONFIG_RELOAD_OK, f64::from(u8::from(reload_ok))),
            (&catalog::CONFIG_RELOAD_TIME, loaded_unix),
            (&catalog::SHARD_ORDINAL, f64::from(shard)),
            (&catalog::TOTAL_SHARDS, f64::from(total_shards)),
        ] {
            encode_single(family, value, format, out);
        }
        self.build.encode(format, out);
        if self.demo.load(Ordering::Relaxed) {
            encode_single(&catalog::DEMO, 1.0, format, out);
        }
        process::encode(&process::sample(self.started_unix), format, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(metrics: &SelfMetrics) -> String {
        let mut out = String::new();
        metrics.encode(Format::Text, &mut out);
        out
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let metrics = SelfMetrics::new(BuildInfo::current());
        metrics.record_request("", "h", "kafka_groups", "200", Duration::from_millis(30));
        metrics.record_request("", "h", "kafka_groups", "429", Duration::from_millis(700));
        let out = text(&metrics);

        assert!(
            out.contains(
                "dms_api_requests_total{host=\"h\",api=\"kafka_groups\",code=\"429\"} 1\n"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "dms_api_request_duration_seconds_bucket{host=\"h\",api=\"kafka_groups\",le=\"0.05\"} 1\n"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "dms_api_request_duration_seconds_bucket{host=\"h\",api=\"kafka_groups\",le=\"1\"} 2\n"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "dms_api_request_duration_seconds_count{host=\"h\",api=\"kafka_groups\"} 2\n"
            ),
            "{out}"
        );
    }

    #[test]
    fn demo_gauge_only_in_demo_mode() {
        let metrics = SelfMetrics::new(BuildInfo::current());
        let out = text(&metrics);
        assert!(!out.contains("dms_exporter_demo"), "{out}");
        metrics.set_demo(true);
        let mut out = String::new();
        metrics.encode(Format::OpenMetrics, &mut out);
        assert!(out.contains("# TYPE dms_exporter_demo gauge\n"), "{out}");
        assert!(out.contains("\ndms_exporter_demo 1\n"), "{out}");
        assert!(metrics.status().demo);
    }

    #[test]
    fn hosts_come_from_the_installed_source() {
        let metrics = SelfMetrics::new(BuildInfo::current());
        let out = text(&metrics);
        assert!(out.contains("# TYPE dms_api_host_held gauge\n"), "{out}");
        assert!(!out.contains("host="), "{out}");
        metrics.watch_hosts(std::sync::Arc::new(|| {
            vec![HostRow {
                account: String::new(),
                host: "dms.example".into(),
                effective_rate: 2.5,
                queued: 3,
                credentials_rejected: true,
                held: false,
            }]
        }));
        let out = text(&metrics);
        for line in [
            "dms_api_effective_rate_limit{host=\"dms.example\"} 2.5\n",
            "dms_api_queued_requests{host=\"dms.example\"} 3\n",
            "dms_api_credentials_rejected{host=\"dms.example\"} 1\n",
            "dms_api_host_held{host=\"dms.example\"} 0\n",
        ] {
            assert!(out.contains(line), "{line} in {out}");
        }
    }

    #[test]
    fn targets_are_reported_and_follow_reloads() {
        let metrics = SelfMetrics::new(BuildInfo::current());
        metrics.record_target("", "eu-west-101", "", false);
        metrics.record_target("", "cn-north-4", "p1", true);
        let out = text(&metrics);
        assert!(
            out.contains("\ndms_target_up{region=\"eu-west-101\",project_id=\"\"} 0\n"),
            "{out}"
        );
        assert!(
            out.contains("\ndms_target_up{region=\"cn-north-4\",project_id=\"p1\"} 1\n"),
            "{out}"
        );
        let kept = [(String::new(), "cn-north-4".to_owned(), "p1".to_owned())].into();
        metrics.retain_targets(&kept);
        let out = text(&metrics);
        assert!(!out.contains("eu-west-101"), "{out}");
        assert!(out.contains("project_id=\"p1\"} 1"), "{out}");
        // Targets of named accounts carry the account, and only they exist after a reload
        // to accounts.
        metrics.retain_targets(&BTreeSet::new());
        metrics.record_target("payments", "cn-north-4", "p1", true);
        metrics.record_target("logistics", "cn-north-4", "p2", false);
        let out = text(&metrics);
        assert!(
            out.contains(
                "\ndms_target_up{account=\"logistics\",region=\"cn-north-4\",project_id=\"p2\"} 0\n"
            ),
            "{out}"
        );
        assert!(!out.contains("dms_target_up{region"), "{out}");
    }

    #[test]
    fn sharding_is_reported_and_follows_reloads() {
        let metrics = SelfMetrics::new(BuildInfo::current());
        let out = text(&metrics);
        assert!(out.contains("\ndms_exporter_shard_ordinal 0\n"), "{out}");
        assert!(out.contains("\ndms_exporter_total_shards 1\n"), "{out}");
        metrics.record_sharding(2, 3);
        let out = text(&metrics);
        assert!(out.contains("\ndms_exporter_shard_ordinal 2\n"), "{out}");
        assert!(out.contains("\ndms_exporter_total_shards 3\n"), "{out}");
    }

    #[test]
    fn a_failed_cycle_keeps_the_last_success_time() {
        let metrics = SelfMetrics::new(BuildInfo::current());
        let mut report = CycleReport {
            collector: "kafka_groups",
            region: "r".into(),
            project_id: "p".into(),
            duration: Duration::from_secs(2),
            api_calls: 4,
            skipped_calls: 0,
            finished_unix: 100.0,
            errors: vec![],
            last_error: Some("stale text of an earlier failure".into()),
            expected: Some(Duration::from_millis(1500)),
            lateness: Duration::ZERO,
            max_age: Duration::from_secs(90),
        };
        metrics.record_cycle(&report);
        assert_eq!(
            metrics.status().cycles[0].last_error,
            None,
            "an up cycle has none"
        );
        report.errors = vec!["throttled"];
        report.last_error = Some("i-1: kafka_groups failed (throttled): HTTP 429".into());
        report.finished_unix = 200.0;
        metrics.record_cycle(&report);
        let out = text(&metrics);
        assert!(
            out.contains("dms_collector_expected_cycle_seconds{collector=\"kafka_groups\",region=\"r\",project_id=\"p\"} 1.5\n"),
            "{out}"
        );
        assert!(out.contains("dms_collector_max_age_seconds{collector=\"kafka_groups\",region=\"r\",project_id=\"p\"} 90\n"));
        let labels = "{collector=\"kafka_groups\",region=\"r\",project_id=\"p\"}";
        assert!(
            out.contains(&format!("dms_collector_up{labels} 0\n")),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "dms_collector_last_success_timestamp_seconds{labels} 100\n"
            )),
            "{out}"
        );
        assert!(out.contains("kind=\"throttled\"} 1\n"), "{out}");
        let status = metrics.status();
        assert_eq!(
            status.cycles,
            [CycleStatus {
                collector: "kafka_groups",
                region: "r".into(),
                project_id: "p".into(),
                up: false,
                last_error: Some("i-1: kafka_groups failed (throttled): HTTP 429".into()),
                last_success_unix: Some(100.0),
                last_duration: Duration::from_secs(2),
            }]
        );
    }
}
