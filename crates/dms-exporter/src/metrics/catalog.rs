//! What a metric family is ([`Family`]: name, type, unit, labels, help, source API), the
//! `families!` macro that declares families, and the exporter's own families (self-metrics
//! and process metrics). Each data family is declared next to the collector that emits it
//! (its `Description` lists it); the store's freshness families next to the store
//! (`collect::store`). `collect::registry::families` lists them all in documentation order,
//! and `docs/metrics.md` is kept equal to that list by a test.

/// The Prometheus type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
    Histogram,
    /// A gauge per known state, 1 for the current one (written as `gauge`).
    StateSet,
    /// A gauge that is always 1 and carries descriptive labels (`info` in OpenMetrics).
    Info,
}

impl Kind {
    /// The type as docs/metrics.md names it.
    pub fn doc_name(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
            Kind::StateSet => "stateset",
            Kind::Info => "info",
        }
    }
}

/// A metric family's description.
#[derive(Debug, PartialEq)]
pub struct Family {
    pub name: &'static str,
    pub kind: Kind,
    /// Base unit when the name ends in it (`bytes`, `seconds`, `ratio`).
    pub unit: Option<&'static str>,
    pub help: &'static str,
    pub labels: &'static [&'static str],
    /// The API endpoint(s) the values come from (`self` for the exporter's own metrics).
    pub source: &'static str,
    /// Its samples may carry their source's timestamp (Cloud Eye's, with `ces_timestamps`),
    /// which the two formats write in different units: the pages build its OpenMetrics lines
    /// apart.
    pub timestamped: bool,
}

/// Declares `pub static` families: `IDENT = "name", Kind, unit, [labels], "source", "help";`
/// (unit [`B`], [`S`], `Some("ratio")` or `None`). With `all NAME;` first it also declares
/// `NAME`, the list of them in declaration order; `timestamped all NAME;` marks them
/// [`Family::timestamped`].
macro_rules! families {
    (timestamped all $all:ident; $($rest:tt)*) => {
        $crate::metrics::catalog::families! { @all true $all; $($rest)* }
    };
    (all $all:ident; $($rest:tt)*) => {
        $crate::metrics::catalog::families! { @all false $all; $($rest)* }
    };
    (@all $timestamped:literal $all:ident; $( $ident:ident = $name:literal, $kind:ident, $unit:expr, [$($label:literal),*], $source:literal, $help:literal; )*) => {
        $crate::metrics::catalog::families! {
            @each $timestamped; $( $ident = $name, $kind, $unit, [$($label),*], $source, $help; )*
        }
        /// These families, in declaration order.
        pub static $all: &[&$crate::metrics::catalog::Family] = &[$(&$ident),*];
    };
    (@each $timestamped:literal; $( $ident:ident = $name:literal, $kind:ident, $unit:expr, [$($label:literal),*], $source:literal, $help:literal; )*) => {
        $(
            pub static $ident: $crate::metrics::catalog::Family = $crate::metrics::catalog::Family {
                name: $name,
                kind: $crate::metrics::catalog::Kind::$kind,
                unit: $unit,
                help: $help,
                labels: &[$($label),*],
                source: $source,
                timestamped: $timestamped,
            };
        )*
    };
    ($( $ident:ident = $name:literal, $kind:ident, $unit:expr, [$($label:literal),*], $source:literal, $help:literal; )*) => {
        $crate::metrics::catalog::families! {
            @each false; $( $ident = $name, $kind, $unit, [$($label),*], $source, $help; )*
        }
    };
}
pub(crate) use families;

/// The unit of a family whose name ends in `_bytes`.
pub const B: Option<&str> = Some("bytes");
/// The unit of a family whose name ends in `_seconds`.
pub const S: Option<&str> = Some("seconds");

// The same families with an `account` label, used instead when the configuration lists
// `accounts:` (a file without it keeps the exposition it always had).
families! {
    TARGET_UP_BY_ACCOUNT = "dms_target_up", Gauge, None,
        ["account", "region", "project_id"],
        "self",
        "1 once the exporter has resolved the region's project (its id from IAM, unless configured) and collects it; 0 while it cannot and retries, the other regions, projects and accounts collecting meanwhile. account is the configured account name; project_id is the configured one, empty when it is discovered.";
    API_REQUESTS_BY_ACCOUNT = "dms_api_requests_total", Counter, None,
        ["account", "host", "api", "code"],
        "self",
        "HTTP requests to the cloud API by account, endpoint host, api and status code (or timeout / transport_error); DMS's flow control (HTTP 404 DMS.10240407) is code 404_flow_control, apart from real 404s.";
    API_REQUEST_DURATION_BY_ACCOUNT = "dms_api_request_duration_seconds", Histogram, S,
        ["account", "host", "api"],
        "self",
        "Duration of HTTP requests to the cloud API, by account, endpoint host and api.";
    API_THROTTLED_BY_ACCOUNT = "dms_api_throttled_total", Counter, None,
        ["account", "host", "api"],
        "self",
        "Throttled answers (HTTP 429 APIGW.0308, HTTP 404 DMS.10240407) by account, endpoint host and api.";
    API_RETRIES_BY_ACCOUNT = "dms_api_retries_total", Counter, None,
        ["account", "host", "api"],
        "self",
        "Retried requests by account, endpoint host and api.";
    API_EFFECTIVE_RATE_BY_ACCOUNT = "dms_api_effective_rate_limit", Gauge, None,
        ["account", "host"],
        "self",
        "Requests per second the account's request scheduler of the host sends at now: the configured rate_limit, cut after the API gateway throttles (HTTP 429) and raised back step by step (AIMD); 0 when unlimited.";
    API_CREDENTIALS_REJECTED_BY_ACCOUNT = "dms_api_credentials_rejected", Gauge, None,
        ["account", "host"],
        "self",
        "1 while the host's API gateway rejects the account's AK/SK (APIGW.0301, APIGW.0303): its signed calls are not sent, one probe goes with growing delays (at most three failing signatures in any five minutes), and at once after a reload or a change of the credential files.";
    API_HOST_HELD_BY_ACCOUNT = "dms_api_host_held", Gauge, None,
        ["account", "host"],
        "self",
        "1 while every call of the account to the host is held after repeated failures across its APIs (no answer, timeouts, 5xx): one probe goes with capped exponential delays (up to 60 s) until it answers.";
    API_QUEUED_BY_ACCOUNT = "dms_api_queued_requests", Gauge, None,
        ["account", "host"],
        "self",
        "Requests of the account waiting in its request scheduler of the host for their turn.";
    CREDENTIALS_EXPIRY_BY_ACCOUNT = "dms_credentials_expiry_timestamp_seconds", Gauge, S,
        ["account", "source"],
        "self",
        "When the temporary keys in use expire, as a Unix timestamp, by account and credential source; absent for keys that do not expire and before the first keys arrive.";
    CREDENTIALS_REFRESH_FAILURES_BY_ACCOUNT = "dms_credentials_refresh_failures_total", Counter, None,
        ["account", "source"],
        "self",
        "Failed fetches of temporary keys by account and credential source, each retried with backoff (1 s, doubling to 60 s) while the current keys live.";
}

families! {
    all SELF_FAMILIES;
    COLLECTOR_UP = "dms_collector_up", Gauge, None,
        ["collector", "region", "project_id"],
        "self",
        "1 if the collector's last cycle for the project finished without any error, else 0; also 0 while a cycle is still unfinished an interval after it started.";
    ACCOUNT_INFO = "dms_account_info", Info, None,
        ["account", "account_id"],
        "self",
        "Each account of accounts: whose id is known; always 1 (no series without accounts:). account_id is configured, or learnt when the account's first target resolves (STS caller-identity, or the IAM token for a password).";
    TARGET_UP = "dms_target_up", Gauge, None,
        ["region", "project_id"],
        "self",
        "1 once the exporter has resolved the region's project (its id from IAM, unless configured) and collects it; 0 while it cannot and retries, the other regions and projects collecting meanwhile. project_id is the configured one, empty when it is discovered.";
    COLLECTOR_DURATION = "dms_collector_duration_seconds", Gauge, S,
        ["collector", "region", "project_id"],
        "self",
        "How long the collector's last cycle for the project took.";
    COLLECTOR_LAST_SUCCESS = "dms_collector_last_success_timestamp_seconds", Gauge, S,
        ["collector", "region", "project_id"],
        "self",
        "When the collector last finished a cycle for the project without error, as a Unix timestamp.";
    COLLECTOR_API_CALLS = "dms_collector_cycle_api_calls", Gauge, None,
        ["collector", "region", "project_id"],
        "self",
        "API calls (including retries) the collector's last cycle made for the project.";
    COLLECTOR_SKIPPED_CALLS = "dms_collector_cycle_skipped_calls", Gauge, None,
        ["collector", "region", "project_id"],
        "self",
        "API calls the collector's last cycle skipped for the project because of a per-cycle call limit (rocketmq_detail_calls_limit); skipped parts keep their last data and are read in a later cycle.";
    COLLECTOR_EXPECTED = "dms_collector_expected_cycle_seconds", Gauge, S,
        ["collector", "region", "project_id"],
        "self",
        "How long the collector's cycle for the project needs within the API budget: the API calls of its last cycle divided by its fair share of the host's rate, or the API's own per-instance limits (topic detail: one call per second per instance), whichever is longer. Absent when the rate is unlimited.";
    COLLECTOR_LATENESS = "dms_collector_lateness_seconds", Gauge, S,
        ["collector", "region", "project_id"],
        "self",
        "How much later than its interval the collector's last cycle for the project started; above 0 when the previous cycle did not fit its interval within the budget and stretched.";
    COLLECTOR_MAX_AGE = "dms_collector_max_age_seconds", Gauge, S,
        ["collector", "region", "project_id"],
        "self",
        "How long the collector's data is served after its last good read: the configured max_age, stretched in proportion while cycles that make progress need longer than the interval.";
    COLLECTOR_ERRORS = "dms_collector_errors_total", Counter, None,
        ["collector", "region", "project_id", "kind"],
        "self",
        "Failed reads by collector and error kind.";
    API_REQUESTS = "dms_api_requests_total", Counter, None,
        ["host", "api", "code"],
        "self",
        "HTTP requests to the cloud API by endpoint host (DMS or IAM, one per region), api and status code (or timeout / transport_error); DMS's flow control (HTTP 404 DMS.10240407) is code 404_flow_control, apart from real 404s.";
    API_REQUEST_DURATION = "dms_api_request_duration_seconds", Histogram, S,
        ["host", "api"],
        "self",
        "Duration of HTTP requests to the cloud API, by endpoint host and api.";
    API_THROTTLED = "dms_api_throttled_total", Counter, None,
        ["host", "api"],
        "self",
        "Throttled answers (HTTP 429 APIGW.0308, HTTP 404 DMS.10240407) by endpoint host and api.";
    API_EFFECTIVE_RATE = "dms_api_effective_rate_limit", Gauge, None,
        ["host"],
        "self",
        "Requests per second the host's request scheduler sends at now: the configured rate_limit, cut after the API gateway throttles (HTTP 429) and raised back step by step (AIMD); 0 when unlimited.";
    API_CREDENTIALS_REJECTED = "dms_api_credentials_rejected", Gauge, None,
        ["host"],
        "self",
        "1 while the host's API gateway rejects the AK/SK (APIGW.0301, APIGW.0303): signed calls are not sent, one probe goes with growing delays (at most three failing signatures in any five minutes), and at once after a reload or a change of the credential files.";
    API_HOST_HELD = "dms_api_host_held", Gauge, None,
        ["host"],
        "self",
        "1 while every call to the host is held after repeated failures across its APIs (no answer, timeouts, 5xx): one probe goes with capped exponential delays (up to 60 s) until it answers.";
    API_QUEUED = "dms_api_queued_requests", Gauge, None,
        ["host"],
        "self",
        "Requests waiting in the host's request scheduler for their turn.";
    API_RETRIES = "dms_api_retries_total", Counter, None,
        ["host", "api"],
        "self",
        "Retried requests by endpoint host and api.";
    CREDENTIALS_EXPIRY = "dms_credentials_expiry_timestamp_seconds", Gauge, S,
        ["source"],
        "self",
        "When the temporary keys in use expire, as a Unix timestamp, by credential source (ecs_metadata); absent for keys that do not expire and before the first keys arrive. They are renewed credentials.refresh_margin (default 15 min) before, or at half their remaining life when that is sooner; after a failed refresh the current keys stay in use until this time, and no call is sent with expired keys.";
    CREDENTIALS_REFRESH_FAILURES = "dms_credentials_refresh_failures_total", Counter, None,
        ["source"],
        "self",
        "Failed fetches of temporary keys by credential source, each retried with backoff (1 s, doubling to 60 s) while the current keys live.";
    CONFIG_RELOAD_OK = "dms_exporter_config_last_reload_successful", Gauge, None,
        [],
        "self",
        "1 if the last configuration reload (SIGHUP or POST /-/reload) succeeded, or none happened; 0 if it failed and the previous configuration still runs.";
    CONFIG_RELOAD_TIME = "dms_exporter_config_last_reload_success_timestamp_seconds", Gauge, S,
        [],
        "self",
        "When the configuration was last loaded successfully (start or reload), as a Unix timestamp.";
    SHARD_ORDINAL = "dms_exporter_shard_ordinal", Gauge, None,
        [],
        "self",
        "This process's shard (--shard or sharding.shard), from 0; it exports the instances a stable hash of instance_id assigns to it.";
    TOTAL_SHARDS = "dms_exporter_total_shards", Gauge, None,
        [],
        "self",
        "How many shards the fleet is split into (--total-shards or sharding.total_shards); 1 when unsharded.";
    BUILD_INFO = "dms_exporter_build_info", Info, None,
        ["version", "revision", "rustc"],
        "self",
        "Build information of the exporter; always 1.";
    DEMO = "dms_exporter_demo", Gauge, None,
        [],
        "self",
        "1 when the exporter runs with --demo, reading its embedded simulator: the data is simulated. Absent otherwise.";
    PROCESS_CPU_SECONDS = "process_cpu_seconds_total", Counter, S,
        [],
        "/proc/self/stat",
        "User and system CPU time spent by the exporter process (Linux only).";
    PROCESS_MAX_FDS = "process_max_fds", Gauge, None,
        [],
        "/proc/self/limits",
        "Soft limit on open file descriptors (Linux only; absent when unlimited).";
    PROCESS_OPEN_FDS = "process_open_fds", Gauge, None,
        [],
        "/proc/self/fd",
        "Open file descriptors (Linux only).";
    PROCESS_RESIDENT_MEMORY = "process_resident_memory_bytes", Gauge, B,
        [],
        "/proc/self/stat",
        "Resident memory size (Linux only).";
    PROCESS_START_TIME = "process_start_time_seconds", Gauge, S,
        [],
        "/proc/self/stat",
        "Start time of the process as a Unix timestamp (Linux only; from the kernel, or taken at start where /proc/stat is hidden).";
    PROCESS_VIRTUAL_MEMORY = "process_virtual_memory_bytes", Gauge, B,
        [],
        "/proc/self/stat",
        "Virtual memory size (Linux only).";
}
