//! Command-line flags, in the Prometheus vocabulary.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

use crate::config::ShardFlags;

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
    /// Path under which to expose metrics.
    #[arg(
        long = "web.telemetry-path",
        value_name = "PATH",
        default_value = "/metrics"
    )]
    pub telemetry_path: String,
    /// Web configuration (exporter-toolkit format): TLS, client certificates, basic auth,
    /// response headers.
    #[arg(long = "web.config.file", value_name = "PATH")]
    pub web_config_file: Option<PathBuf>,
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
    /// credentials needed.
    #[cfg(feature = "demo")]
    #[arg(long)]
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
