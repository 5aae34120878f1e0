//! Kafka collectors, one API area per file.

pub mod cluster;
pub mod disk_usage;
pub mod groups;
pub mod partitions;
pub mod topics;

/// Broker label: the disk-usage API names brokers `broker-0`, the cluster API `0`; both
/// become `0`.
pub fn broker_label(name: &str) -> String {
    name.strip_prefix("broker-").unwrap_or(name).to_owned()
}
