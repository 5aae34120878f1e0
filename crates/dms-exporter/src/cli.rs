//! Command-line flags, in the Prometheus vocabulary.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::config::ShardFlags;
use crate::http::server;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Logfmt,
    Json,
}

/// The levels `--log.level` accepts, as Prometheus programs have them (finer filters go in
/// `RUST_LOG`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    /// The `tracing` filter directive of this level.
    pub fn directive(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "dms_exporter",
    // `--version` is ours: it prints the revision, build date and rustc too.
    disable_version_flag = true,
    about = "Prometheus exporter for Huawei Cloud Distributed Message Service (DMS)"
)]
pub struct Cli {
    /// Print the version, revision, build date and rustc version, and exit.
    #[arg(long, short = 'V')]
    pub version: bool,
    /// Configuration file (YAML).
    #[arg(
        long = "config.file",
        value_name = "PATH",
        default_value = "dms_exporter.yml"
    )]
    pub config_file: PathBuf,
    /// Address to listen on, `host:port` or `:port` for every interface; repeat it to listen
    /// on several.
    #[arg(
        long = "web.listen-address",
        value_name = "ADDR",
        default_value = ":9866",
        action = clap::ArgAction::Append
    )]
    pub listen_addresses: Vec<String>,
    /// Serve on the sockets systemd passes (socket activation: `LISTEN_FDS` from fd 3)
    /// instead of `--web.listen-address`.
    #[arg(long = "web.systemd-socket")]
    pub systemd_socket: bool,
    /// Path under which to expose metrics: absolute, not `/` nor under `/-/` (the landing
    /// page's and the health endpoints' paths).
    #[arg(
        long = "web.telemetry-path",
        value_name = "PATH",
        default_value = "/metrics",
        value_parser = parse_telemetry_path
    )]
    pub telemetry_path: String,
    /// Web configuration (exporter-toolkit format): TLS, client certificates, basic auth,
    /// response headers.
    #[arg(long = "web.config.file", value_name = "PATH")]
    pub web_config_file: Option<PathBuf>,
    /// How many connections may be open at once, over every listener. At the cap the
    /// longest-idle kept-alive connection is closed for a new one; when none is idle, new
    /// connections wait (in the kernel's backlog) until one closes or turns idle.
    #[arg(
        long = "web.max-connections",
        value_name = "N",
        default_value_t = server::DEFAULT_MAX_CONNECTIONS,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_connections: u32,
    /// Time a request's head may take from its first byte (from the accept on a new
    /// connection), and the TLS handshake from the accept.
    #[arg(
        long = "web.read-header-timeout",
        value_name = "DURATION",
        default_value = "10s", // server::DEFAULT_READ_HEADER_TIMEOUT (a unit test checks)
        value_parser = parse_timeout
    )]
    pub read_header_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request.
    #[arg(
        long = "web.idle-timeout",
        value_name = "DURATION",
        default_value = "2m", // server::DEFAULT_IDLE_TIMEOUT (a unit test checks)
        value_parser = parse_timeout
    )]
    pub idle_timeout: Duration,
    /// Time a response may make no progress (the client reads nothing) before its
    /// connection is dropped.
    #[arg(
        long = "web.write-stall-timeout",
        value_name = "DURATION",
        default_value = "1m", // server::DEFAULT_WRITE_STALL_TIMEOUT (a unit test checks)
        value_parser = parse_timeout
    )]
    pub write_stall_timeout: Duration,
    /// Serve `POST /-/reload` (as Prometheus's flag; SIGHUP reloads either way).
    #[arg(long = "web.enable-lifecycle")]
    pub enable_lifecycle: bool,
    /// Log level; `RUST_LOG` (a tracing filter) wins when set.
    #[arg(
        long = "log.level",
        value_name = "LEVEL",
        value_enum,
        default_value = "info"
    )]
    pub log_level: LogLevel,
    /// Log format.
    #[arg(long = "log.format", value_enum, default_value = "logfmt")]
    pub log_format: LogFormat,
    /// Validate the configuration file, print each problem with its line, and exit.
    #[arg(long = "check-config")]
    pub check_config: bool,
    /// With `--check-config`: also resolve every target's project and read each API the
    /// enabled collectors use once, then print target, API, IAM action and result. Exits 1
    /// when a read is denied, 2 when none is but one fails otherwise.
    #[arg(long = "online", requires = "check_config")]
    pub online: bool,
    /// This process's shard, from 0 (wins over `sharding.shard`): it reads and exports only
    /// the instances a stable hash of their id assigns to it.
    #[arg(long = "shard", value_name = "N")]
    pub shard: Option<u32>,
    /// How many shards split the fleet (wins over `sharding.total_shards`).
    #[arg(long = "total-shards", value_name = "M", value_parser = clap::value_parser!(u32).range(1..))]
    pub total_shards: Option<u32>,
    /// Keep the consumer log end histories (lag in seconds by interpolation) in this file,
    /// so they survive a restart; written every minute and at shutdown.
    #[arg(long = "state.file", value_name = "PATH")]
    pub state_file: Option<PathBuf>,
    /// Run against the embedded DMS simulator with a lively fleet; no configuration or
    /// credentials needed. Refused with `--config.file`: the demo would ignore the file, and
    /// someone who names one expects it read.
    #[cfg(feature = "demo")]
    #[arg(long, conflicts_with = "config_file")]
    pub demo: bool,
    /// Where the demo's simulator listens (its control API under `/_sim/` injects faults).
    #[cfg(feature = "demo")]
    #[arg(
        long = "demo.simulator-address",
        value_name = "ADDR",
        default_value = "127.0.0.1:0"
    )]
    pub demo_simulator_address: String,
}

impl Cli {
    /// The sharding flags, for [`crate::config::apply_shard_flags`].
    pub fn shard_flags(&self) -> ShardFlags {
        ShardFlags {
            shard: self.shard,
            total_shards: self.total_shards,
        }
    }
}

/// Parses `:9866` as every interface, anything else as a socket address.
pub fn parse_listen_address(address: &str) -> Result<SocketAddr, String> {
    let full = if address.starts_with(':') {
        format!("0.0.0.0{address}")
    } else {
        address.to_owned()
    };
    full.parse()
        .map_err(|e| format!("address {address:?}: {e} (use host:port or :port)"))
}

/// A positive duration such as `30s` or `1m`.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        Ok(_) => Err("must be more than 0s".to_owned()),
        Err(error) => Err(format!("{error} (use e.g. 30s or 1m)")),
    }
}

/// Checks `--web.telemetry-path`: an absolute path of plain segments that collides with no
/// other route (the router would panic on a collision or on capture syntax such as `{id}`).
pub fn parse_telemetry_path(path: &str) -> Result<String, String> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!(
            "{path:?} must be an absolute path such as /metrics"
        ));
    };
    if rest.is_empty() || rest == "-" || rest.starts_with("-/") {
        return Err(format!(
            "{path:?} collides with the landing page (/) or the /-/ endpoints; use a path such as /metrics"
        ));
    }
    let plain = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
    if rest
        .split('/')
        .any(|segment| segment.is_empty() || !segment.chars().all(plain))
    {
        return Err(format!(
            "{path:?}: each segment must be non-empty letters, digits, '-', '.', '_' or '~'"
        ));
    }
    Ok(path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_level_accepts_the_prometheus_levels_only() {
        let cli = Cli::try_parse_from(["dms_exporter", "--log.level", "warn"]).expect("warn");
        assert_eq!(cli.log_level, LogLevel::Warn);
        for bad in ["trace", "verbose", "info,dms_cloud=debug", ""] {
            let error = Cli::try_parse_from(["dms_exporter", "--log.level", bad])
                .expect_err("refused")
                .to_string();
            assert!(
                error.contains("possible values: debug, info, warn, error"),
                "{bad:?}: {error}"
            );
            assert!(
                bad.is_empty() || error.contains(&format!("invalid value '{bad}'")),
                "{bad:?}: {error}"
            );
        }
    }

    #[test]
    fn server_limits_have_defaults_and_refuse_zero() {
        let cli = Cli::try_parse_from(["dms_exporter"]).expect("no flags");
        assert_eq!(cli.max_connections, server::DEFAULT_MAX_CONNECTIONS);
        assert_eq!(cli.read_header_timeout, server::DEFAULT_READ_HEADER_TIMEOUT);
        assert_eq!(cli.write_stall_timeout, server::DEFAULT_WRITE_STALL_TIMEOUT);
        assert_eq!(cli.idle_timeout, server::DEFAULT_IDLE_TIMEOUT);
        let cli = Cli::try_parse_from(["dms_exporter", "--web.read-header-timeout", "1m"])
            .map(|cli| cli.read_header_timeout);
        assert_eq!(cli.ok(), Some(Duration::from_secs(60)));
        for (flag, bad) in [
            ("--web.max-connections", "0"),
            ("--web.read-header-timeout", "0s"),
            ("--web.read-header-timeout", "soon"),
            ("--web.write-stall-timeout", "0ms"),
            ("--web.idle-timeout", "0"),
        ] {
            let error = Cli::try_parse_from(["dms_exporter", flag, bad])
                .expect_err(bad)
                .to_string();
            assert!(error.contains(flag), "{flag} {bad}: {error}");
        }
    }

    #[cfg(feature = "demo")]
    #[test]
    fn demo_refuses_a_configuration_file() {
        let error = Cli::try_parse_from(["dms_exporter", "--demo", "--config.file", "x.yml"])
            .expect_err("refused")
            .to_string();
        assert!(
            error.contains("--demo") && error.contains("--config.file"),
            "{error}"
        );
        assert!(Cli::try_parse_from(["dms_exporter", "--demo"]).is_ok());
    }

    #[test]
    fn log_format_lists_the_valid_formats() {
        let error = Cli::try_parse_from(["dms_exporter", "--log.format", "text"])
            .expect_err("refused")
            .to_string();
        assert!(error.contains("invalid value 'text'"), "{error}");
        assert!(error.contains("possible values: logfmt, json"), "{error}");
    }

    #[test]
    fn telemetry_path_refuses_collisions_and_relative_paths() {
        for good in ["/metrics", "/probe/dms", "/v1.0/metrics_all"] {
            let cli = Cli::try_parse_from(["dms_exporter", "--web.telemetry-path", good])
                .map(|cli| cli.telemetry_path);
            assert_eq!(cli.ok().as_deref(), Some(good));
        }
        for (bad, why) in [
            ("/", "collides"),
            ("", "absolute"),
            ("metrics", "absolute"),
            ("/-/healthy", "collides"),
            ("/-/reload", "collides"),
            ("/-", "collides"),
            ("/metrics/", "segment"),
            ("//metrics", "segment"),
            ("/{id}", "segment"),
            ("/:name", "segment"),
            ("/a b", "segment"),
        ] {
            let error = Cli::try_parse_from(["dms_exporter", "--web.telemetry-path", bad])
                .expect_err(bad)
                .to_string();
            assert!(
                error.contains("--web.telemetry-path") && error.contains(why),
                "{bad:?}: {error}"
            );
        }
    }

    #[test]
    fn listen_address_repeats_and_defaults_to_every_interface() {
        let cli = Cli::try_parse_from(["dms_exporter"]).expect("no flags");
        assert_eq!(cli.listen_addresses, [":9866"]);
        let cli = Cli::try_parse_from([
            "dms_exporter",
            "--web.listen-address=127.0.0.1:9866",
            "--web.listen-address",
            "[::1]:9866",
        ])
        .expect("two addresses");
        assert_eq!(cli.listen_addresses, ["127.0.0.1:9866", "[::1]:9866"]);
    }

    #[test]
    fn listen_addresses_in_prometheus_style() {
        assert_eq!(parse_listen_address(":9866").map(|a| a.port()), Ok(9866));
        assert_eq!(parse_listen_address("127.0.0.1:1").map(|a| a.port()), Ok(1));
        assert!(parse_listen_address("localhost").is_err());
    }
}
