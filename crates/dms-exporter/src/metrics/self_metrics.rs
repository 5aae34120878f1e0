//! The exporter's own metrics: API calls (fed by the cloud client through
//! [`dms_cloud::ApiObserver`]), collector cycles (fed by the scheduler) and build info. They
//! are small, so they are encoded on each scrape, after the pre-encoded snapshot.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::exposition::{Format, write_header, write_sample};
use super::{catalog, process};

/// Request-duration buckets, in seconds: API calls take tens of milliseconds to seconds.
const DURATION_BUCKETS: [f64; 10] = [0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

tokio::task_local! {
    /// Counts API calls made inside one collector cycle (set by the scheduler).
    pub static CYCLE_API_CALLS: Arc<AtomicU64>;
    /// Counts API calls a per-cycle limit skipped inside one collector cycle (set by the
    /// scheduler; collectors report through [`record_skipped_calls`]).
    pub static CYCLE_SKIPPED_CALLS: Arc<AtomicU64>;
    /// Adds up, in nanoseconds, the per-instance intervals the API imposes on the calls of one
    /// instance's work (set by the scheduler).
    pub static CYCLE_PACED_SECONDS: Arc<AtomicU64>;
    /// Counts the successful answers of one collector round: a round slowed by the budget or
    /// by throttling still has them, one whose calls only fail has none (set by the
    /// scheduler).
    pub static CYCLE_PROGRESS: Arc<AtomicU64>;
}

/// Reports calls the current cycle skipped (a no-op outside a scheduled cycle).
pub fn record_skipped_calls(count: u64) {
    let _ = CYCLE_SKIPPED_CALLS.try_with(|skipped| skipped.fetch_add(count, Ordering::Relaxed));
}

#[derive(Debug, Default, Clone)]
struct Histogram {
    buckets: [u64; DURATION_BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// What one collector cycle for one project reported.
#[derive(Debug, Clone)]
pub struct CycleReport {
    pub collector: &'static str,
    pub region: String,
    pub project_id: String,
    pub duration: Duration,
    pub api_calls: u64,
    /// Calls a per-cycle limit skipped.
    pub skipped_calls: u64,
    pub finished_unix: f64,
    /// Error kinds met in the cycle, one entry per failed read.
    pub errors: Vec<&'static str>,
    /// What the cycle needs within the budget (`None`: unlimited rate and no paced API).
    pub expected: Option<Duration>,
    /// How much later than planned the cycle started.
    pub lateness: Duration,
    /// The max age in force for the cycle's data.
    pub max_age: Duration,
}

#[derive(Debug, Default, Clone)]
struct CycleState {
    up: bool,
    duration: f64,
    last_success: Option<f64>,
    api_calls: u64,
    skipped_calls: u64,
    expected: Option<f64>,
    lateness: f64,
    max_age: f64,
}

type CycleKey = (&'static str, String, String);

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(&'static str, String), u64>,
    durations: BTreeMap<&'static str, Histogram>,
    throttled: BTreeMap<&'static str, u64>,
    retries: BTreeMap<&'static str, u64>,
    cycles: BTreeMap<CycleKey, CycleState>,
    errors: BTreeMap<(&'static str, String, String, &'static str), u64>,
    /// (region, configured project id or "") → resolved and collecting.
    targets: BTreeMap<(String, String), bool>,
}

/// Build facts for `dms_exporter_build_info`, `--version` and the landing page (set by
/// `build.rs`).
#[derive(Debug, Clone, PartialEq)]
pub struct BuildInfo {
    pub version: String,
    pub revision: String,
    pub rustc: String,
    pub build_date: String,
}

impl BuildInfo {
    pub fn current() -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            revision: env!("DMS_EXPORTER_REVISION").to_owned(),
            rustc: env!("DMS_EXPORTER_RUSTC").to_owned(),
            build_date: env!("DMS_EXPORTER_BUILD_DATE").to_owned(),
        }
    }

    /// What `--version` prints, in the Prometheus programs' style.
    pub fn version_line(&self) -> String {
        format!(
            "dms_exporter, version {} (revision: {}) build date: {} rustc: {}",
            self.version, self.revision, self.build_date, self.rustc
        )
    }
}

/// Shared, thread-safe self-metrics.
#[derive(Debug)]
pub struct SelfMetrics {
    inner: Mutex<Inner>,
    build: BuildInfo,
    /// (last reload succeeded, when the configuration was last loaded).
    reload: Mutex<(bool, f64)>,
    /// The host schedulers, whose state is read at scrape time.
    budgets: Mutex<Option<dms_cloud::Budgets>>,
    /// (shard ordinal, total shards) of the running collection.
    sharding: Mutex<(u32, u32)>,
    /// Whether the data comes from the embedded simulator (`--demo`).
    demo: AtomicBool,
    /// When these metrics were created, near the process start: `process_start_time_seconds`
    /// where the kernel's cannot be read.
    started_unix: f64,
}

/// What the landing page shows of one collector of one project.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleStatus {
    pub collector: &'static str,
    pub region: String,
    pub project_id: String,
    /// Whether the last cycle read everything without an error.
    pub up: bool,
    /// When a cycle last succeeded, as a Unix timestamp.
    pub last_success_unix: Option<f64>,
    /// How long the last cycle took.
    pub last_duration: Duration,
}

/// A reading of the state the landing page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub build: BuildInfo,
    pub demo: bool,
    /// Whether the last reload succeeded (or none happened).
    pub reload_ok: bool,
    /// When the configuration was last loaded successfully, as a Unix timestamp.
    pub loaded_unix: f64,
    /// In (collector, region, project) order.
    pub cycles: Vec<CycleStatus>,
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
            inner: Mutex::new(Inner::default()),
            build,
            reload: Mutex::new((true, unix_now())),
            budgets: Mutex::new(None),
            sharding: Mutex::new((0, 1)),
            demo: AtomicBool::new(false),
            started_unix: unix_now(),
        }
    }

    /// Marks the data as simulated (`--demo`): `dms_exporter_demo` is 1 from now on.
    pub fn set_demo(&self, demo: bool) {
        self.demo.store(demo, Ordering::Relaxed);
    }

    /// What the landing page shows, read under the locks once.
    pub fn status(&self) -> Status {
        let cycles = self
            .lock()
            .cycles
            .iter()
            .map(|((collector, region, project), state)| CycleStatus {
                collector,
                region: region.clone(),
                project_id: project.clone(),
                up: state.up,
                last_success_unix: state.last_success,
                last_duration: Duration::try_from_secs_f64(state.duration).unwrap_or_default(),
            })
            .collect();
        let (reload_ok, loaded_unix) = *self.reload.lock().unwrap_or_else(|e| e.into_inner());
        Status {
            build: self.build.clone(),
            demo: self.demo.load(Ordering::Relaxed),
            reload_ok,
            loaded_unix,
            cycles,
        }
    }

    /// Reports the state of these host schedulers from now on.
    pub fn watch_budgets(&self, budgets: dms_cloud::Budgets) {
        *self.budgets.lock().unwrap_or_else(|e| e.into_inner()) = Some(budgets);
    }

    /// Records the shard the running collection reads (at start and after each reload).
    pub fn record_sharding(&self, shard: u32, total_shards: u32) {
        *self.sharding.lock().unwrap_or_else(|e| e.into_inner()) = (shard, total_shards);
    }

    /// Forgets collector cycles of regions a reload removed.
    pub fn retain_regions(&self, regions: &std::collections::BTreeSet<String>) {
        let mut inner = self.lock();
        inner
            .cycles
            .retain(|(_, region, _), _| regions.contains(region));
        inner
            .errors
            .retain(|(_, region, _, _), _| regions.contains(region));
        inner
            .targets
            .retain(|(region, _), _| regions.contains(region));
    }

    /// Forgets the targets a reload no longer configures: (region, configured project id
    /// or "").
    pub fn retain_targets(&self, configured: &std::collections::BTreeSet<(String, String)>) {
        self.lock()
            .targets
            .retain(|key, _| configured.contains(key));
    }

    /// Records whether a configured target (region, configured project id or "") is
    /// resolved and collecting.
    pub fn record_target(&self, region: &str, configured_project: &str, up: bool) {
        self.lock()
            .targets
            .insert((region.to_owned(), configured_project.to_owned()), up);
    }

    /// Records a configuration reload.
    pub fn record_reload(&self, ok: bool) {
        let mut reload = self.reload.lock().unwrap_or_else(|e| e.into_inner());
        reload.0 = ok;
        if ok {
            reload.1 = unix_now();
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain counters behind: still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a finished collector cycle.
    pub fn record_cycle(&self, report: &CycleReport) {
        let mut inner = self.lock();
        let key = (
            report.collector,
            report.region.clone(),
            report.project_id.clone(),
        );
        let state = inner.cycles.entry(key).or_default();
        state.up = report.errors.is_empty();
        state.duration = report.duration.as_secs_f64();
        state.api_calls = report.api_calls;
        state.skipped_calls = report.skipped_calls;
        state.expected = report.expected.map(|d| d.as_secs_f64());
        state.lateness = report.lateness.as_secs_f64();
        state.max_age = report.max_age.as_secs_f64();
        if state.up {
            state.last_success = Some(report.finished_unix);
        }
        for kind in &report.errors {
            *inner
                .errors
                .entry((
                    report.collector,
                    report.region.clone(),
                    report.project_id.clone(),
                    kind,
                ))
                .or_default() += 1;
        }
    }

    /// Appends every self-metric family to `out`.
    pub fn encode(&self, format: Format, out: &mut String) {
        let inner = self.lock();
        let label = |s: &str| s.to_owned();

        write_header(&catalog::API_REQUESTS, format, out);
        for ((api, code), count) in &inner.requests {
            let values = [label(api), code.clone()];
            write_sample(
                catalog::API_REQUESTS.name,
                catalog::API_REQUESTS.labels,
                &values,
                None,
                *count as f64,
                out,
            );
        }
        let name = catalog::API_REQUEST_DURATION.name;
        write_header(&catalog::API_REQUEST_DURATION, format, out);
        for (api, histogram) in &inner.durations {
            let values = [label(api)];
            let mut cumulative = 0;
            for (bound, count) in DURATION_BUCKETS.iter().zip(histogram.buckets) {
                cumulative += count;
                let le = bound.to_string();
                write_sample(
                    &format!("{name}_bucket"),
                    &["api"],
                    &values,
                    Some(("le", &le)),
                    cumulative as f64,
                    out,
                );
            }
            write_sample(
                &format!("{name}_bucket"),
                &["api"],
                &values,
                Some(("le", "+Inf")),
                histogram.count as f64,
                out,
            );
            write_sample(
                &format!("{name}_sum"),
                &["api"],
                &values,
                None,
                histogram.sum,
                out,
            );
            write_sample(
                &format!("{name}_count"),
                &["api"],
                &values,
                None,
                histogram.count as f64,
                out,
            );
        }
        for (family, counts) in [
            (&catalog::API_RETRIES, &inner.retries),
            (&catalog::API_THROTTLED, &inner.throttled),
        ] {
            write_header(family, format, out);
            for (api, count) in counts {
                write_sample(
                    family.name,
                    family.labels,
                    &[label(api)],
                    None,
                    *count as f64,
                    out,
                );
            }
        }

        write_header(&catalog::COLLECTOR_API_CALLS, format, out);
        Self::cycle_samples(&inner, &catalog::COLLECTOR_API_CALLS, out, |s| {
            Some(s.api_calls as f64)
        });
        write_header(&catalog::COLLECTOR_SKIPPED_CALLS, format, out);
        Self::cycle_samples(&inner, &catalog::COLLECTOR_SKIPPED_CALLS, out, |s| {
            Some(s.skipped_calls as f64)
        });
        write_header(&catalog::COLLECTOR_DURATION, format, out);
        Self::cycle_samples(&inner, &catalog::COLLECTOR_DURATION, out, |s| {
            Some(s.duration)
        });
        write_header(&catalog::COLLECTOR_EXPECTED, format, out);
        Self::cycle_samples(&inner, &catalog::COLLECTOR_EXPECTED, out, |s| s.expected);
        write_header(&catalog::COLLECTOR_LATENESS, format, out);
        Self::cycle_samples(&inner, &catalog::COLLECTOR_LATENESS, out, |s| {
            Some(s.lateness)
        });
        write_header(&catalog::COLLECTOR_MAX_AGE, format, out);
        Self::cycle_samples(&inner, &catalog::COLLECTOR_MAX_AGE, out, |s| {
            Some(s.max_age)
        });
        write_header(&catalog::COLLECTOR_ERRORS, format, out);
        for ((collector, region, project, kind), count) in &inner.errors {
            let values = [
                label(collector),
                region.clone(),
                project.clone(),
                label(kind),
            ];
            write_sample(
                catalog::COLLECTOR_ERRORS.name,
                catalog::COLLECTOR_ERRORS.labels,
                &values,
                None,
                *count as f64,
                out,
            );
        }
        write_header(&catalog::COLLECTOR_LAST_SUCCESS, format, out);
        Self::cycle_samples(&inner, &catalog::COLLECTOR_LAST_SUCCESS, out, |s| {
            s.last_success
        });
        write_header(&catalog::COLLECTOR_UP, format, out);
        Self::cycle_samples(&inner, &catalog::COLLECTOR_UP, out, |s| {
            Some(if s.up { 1.0 } else { 0.0 })
        });
        write_header(&catalog::TARGET_UP, format, out);
        for ((region, project), up) in &inner.targets {
            write_sample(
                catalog::TARGET_UP.name,
                catalog::TARGET_UP.labels,
                &[region.clone(), project.clone()],
                None,
                if *up { 1.0 } else { 0.0 },
                out,
            );
        }

        let hosts = self
            .budgets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(dms_cloud::Budgets::statuses)
            .unwrap_or_default();
        for (family, value) in [
            (
                &catalog::API_EFFECTIVE_RATE,
                (|h: &dms_cloud::HostStatus| h.effective_rate) as fn(&dms_cloud::HostStatus) -> f64,
            ),
            (&catalog::API_QUEUED, |h| h.queued as f64),
            (&catalog::API_CREDENTIALS_REJECTED, |h| {
                f64::from(u8::from(h.credentials_rejected))
            }),
            (&catalog::API_HOST_HELD, |h| f64::from(u8::from(h.held))),
        ] {
            write_header(family, format, out);
            for host in &hosts {
                write_sample(
                    family.name,
                    family.labels,
                    std::slice::from_ref(&host.host),
                    None,
                    value(host),
                    out,
                );
            }
        }

        let (reload_ok, loaded_at) = *self.reload.lock().unwrap_or_else(|e| e.into_inner());
        write_header(&catalog::CONFIG_RELOAD_OK, format, out);
        write_sample(
            catalog::CONFIG_RELOAD_OK.name,
            &[],
            &[],
            None,
            if reload_ok { 1.0 } else { 0.0 },
            out,
        );
        write_header(&catalog::CONFIG_RELOAD_TIME, format, out);
        write_sample(
            catalog::CONFIG_RELOAD_TIME.name,
            &[],
            &[],
            None,
            loaded_at,
            out,
        );

        let (shard, total_shards) = *self.sharding.lock().unwrap_or_else(|e| e.into_inner());
        for (family, value) in [
            (&catalog::SHARD_ORDINAL, shard),
            (&catalog::TOTAL_SHARDS, total_shards),
        ] {
            write_header(family, format, out);
            write_sample(family.name, &[], &[], None, f64::from(value), out);
        }

        write_header(&catalog::BUILD_INFO, format, out);
        let build = [
            self.build.version.clone(),
            self.build.revision.clone(),
            self.build.rustc.clone(),
        ];
        write_sample(
            catalog::BUILD_INFO.name,
            catalog::BUILD_INFO.labels,
            &build,
            None,
            1.0,
            out,
        );
        drop(inner);

        if self.demo.load(Ordering::Relaxed) {
            write_header(&catalog::DEMO, format, out);
            write_sample(catalog::DEMO.name, &[], &[], None, 1.0, out);
        }
        process::encode(&process::sample(self.started_unix), format, out);
    }

    fn cycle_samples(
        inner: &Inner,
        family: &catalog::Family,
        out: &mut String,
        value: impl Fn(&CycleState) -> Option<f64>,
    ) {
        for ((collector, region, project), state) in &inner.cycles {
            if let Some(v) = value(state) {
                let values = [(*collector).to_owned(), region.clone(), project.clone()];
                write_sample(family.name, family.labels, &values, None, v, out);
            }
        }
    }
}

impl dms_cloud::ApiObserver for SelfMetrics {
    fn request_finished(&self, api: &'static str, code: &str, elapsed: Duration) {
        let _ = CYCLE_API_CALLS.try_with(|calls| calls.fetch_add(1, Ordering::Relaxed));
        if code.starts_with('2') {
            let _ = CYCLE_PROGRESS.try_with(|progress| progress.fetch_add(1, Ordering::Relaxed));
        }
        if let Some(interval) = dms_cloud::budget::pacing::per_instance_interval(api) {
            let nanos = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX);
            let _ = CYCLE_PACED_SECONDS.try_with(|paced| paced.fetch_add(nanos, Ordering::Relaxed));
        }
        let mut inner = self.lock();
        *inner.requests.entry((api, code.to_owned())).or_default() += 1;
        let histogram = inner.durations.entry(api).or_default();
        let seconds = elapsed.as_secs_f64();
        if let Some(index) = DURATION_BUCKETS.iter().position(|bound| seconds <= *bound) {
            histogram.buckets[index] += 1;
        }
        histogram.count += 1;
        histogram.sum += seconds;
    }

    fn throttled(&self, api: &'static str) {
        *self.lock().throttled.entry(api).or_default() += 1;
    }

    fn retried(&self, api: &'static str) {
        *self.lock().retries.entry(api).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dms_cloud::ApiObserver;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let metrics = SelfMetrics::new(BuildInfo::current());
        metrics.request_finished("kafka_groups", "200", Duration::from_millis(30));
        metrics.request_finished("kafka_groups", "429", Duration::from_millis(700));
        let mut out = String::new();
        metrics.encode(Format::Text, &mut out);

        assert!(
            out.contains("dms_api_requests_total{api=\"kafka_groups\",code=\"429\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains(
                "dms_api_request_duration_seconds_bucket{api=\"kafka_groups\",le=\"0.05\"} 1\n"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "dms_api_request_duration_seconds_bucket{api=\"kafka_groups\",le=\"1\"} 2\n"
            ),
            "{out}"
        );
        assert!(
            out.contains("dms_api_request_duration_seconds_count{api=\"kafka_groups\"} 2\n"),
            "{out}"
        );
    }

    #[test]
    fn demo_gauge_only_in_demo_mode() {
        let metrics = SelfMetrics::new(BuildInfo::current());
        let mut out = String::new();
        metrics.encode(Format::Text, &mut out);
        assert!(!out.contains("dms_exporter_demo"), "{out}");
        metrics.set_demo(true);
        let mut out = String::new();
        metrics.encode(Format::OpenMetrics, &mut out);
        assert!(out.contains("# TYPE dms_exporter_demo gauge\n"), "{out}");
        assert!(out.contains("\ndms_exporter_demo 1\n"), "{out}");
        assert!(metrics.status().demo);
    }

    #[test]
    fn build_info_carries_the_revision_from_git() {
        let build = BuildInfo::current();
        // The tests run from a git checkout, so build.rs found a revision.
        assert_eq!(build.revision.len(), 40, "{build:?}");
        assert!(
            build.revision.chars().all(|c| c.is_ascii_hexdigit()),
            "{build:?}"
        );
        assert!(build.rustc.starts_with("1."), "{build:?}");
        let line = build.version_line();
        assert!(
            line.starts_with(&format!(
                "dms_exporter, version {} (revision: {}) build date: ",
                env!("CARGO_PKG_VERSION"),
                build.revision
            )) && line.ends_with(&format!(" rustc: {}", build.rustc)),
            "{line}"
        );
    }

    #[test]
    fn targets_are_reported_and_follow_reloads() {
        let metrics = SelfMetrics::new(BuildInfo::current());
        metrics.record_target("eu-west-101", "", false);
        metrics.record_target("cn-north-4", "p1", true);
        let mut out = String::new();
        metrics.encode(Format::Text, &mut out);
        assert!(
            out.contains("\ndms_target_up{region=\"eu-west-101\",project_id=\"\"} 0\n"),
            "{out}"
        );
        assert!(
            out.contains("\ndms_target_up{region=\"cn-north-4\",project_id=\"p1\"} 1\n"),
            "{out}"
        );
        let kept = [("cn-north-4".to_owned(), "p1".to_owned())].into();
        metrics.retain_targets(&kept);
        let mut out = String::new();
        metrics.encode(Format::Text, &mut out);
        assert!(!out.contains("eu-west-101"), "{out}");
        assert!(out.contains("project_id=\"p1\"} 1"), "{out}");
    }

    #[test]
    fn sharding_is_reported_and_follows_reloads() {
        let metrics = SelfMetrics::new(BuildInfo::current());
        let mut out = String::new();
        metrics.encode(Format::Text, &mut out);
        assert!(out.contains("\ndms_exporter_shard_ordinal 0\n"), "{out}");
        assert!(out.contains("\ndms_exporter_total_shards 1\n"), "{out}");
        metrics.record_sharding(2, 3);
        let mut out = String::new();
        metrics.encode(Format::Text, &mut out);
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
            expected: Some(Duration::from_millis(1500)),
            lateness: Duration::ZERO,
            max_age: Duration::from_secs(90),
        };
        metrics.record_cycle(&report);
        report.errors = vec!["throttled"];
        report.finished_unix = 200.0;
        metrics.record_cycle(&report);
        let mut out = String::new();
        metrics.encode(Format::Text, &mut out);
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
                last_success_unix: Some(100.0),
                last_duration: Duration::from_secs(2),
            }]
        );
    }
}
