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

#[derive(Debug, Parser)]
#[command(
    name = "dms_exporter",
    version,
    about = "Prometheus exporter for Huawei Cloud Distributed Message Service (DMS)"
)]
pub struct Cli {
    /// Configuration file (YAML).
    #[arg(
        long = "config.file",
        value_name = "PATH",
        default_value = "dms_exporter.yml"
    )]
    pub config_file: PathBuf,
    /// Address to listen on, `host:port` or `:port` for every interface.
    #[arg(
        long = "web.listen-address",
        value_name = "ADDR",
        default_value = ":9866"
    )]
    pub listen_address: String,
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
    /// Log level (error, warn, info, debug, trace), or a tracing filter directive.
    #[arg(long = "log.level", value_name = "LEVEL", default_value = "info")]
    pub log_level: String,
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
    /// Run against the embedded DMS simulator with a lively fleet; no configuration or
    /// credentials needed.
    #[arg(long)]
    pub demo: bool,
    /// Where the demo's simulator listens (its control API under `/_sim/` injects faults).
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
    fn listen_addresses_in_prometheus_style() {
        assert_eq!(parse_listen_address(":9866").map(|a| a.port()), Ok(9866));
        assert_eq!(parse_listen_address("127.0.0.1:1").map(|a| a.port()), Ok(1));
        assert!(parse_listen_address("localhost").is_err());
    }
}
