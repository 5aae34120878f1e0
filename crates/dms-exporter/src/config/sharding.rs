//! `--shard` and `--total-shards` over the file's `sharding` keys: a flag wins over its key,
//! and the pair they make is checked again, naming where each number came from.

use super::types::{Config, ShardingConfig};

/// The sharding flags as given on the command line (`None` when absent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShardFlags {
    pub shard: Option<u32>,
    pub total_shards: Option<u32>,
}

/// The flags and the file together name an impossible shard.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardFlagError {
    #[error("--total-shards must be at least 1")]
    NoShards,
    /// Each side says where it came from: `--shard 3`, or `3 (sharding.shard in the file)`.
    #[error("{shard} must be less than {total}: shards are numbered from 0")]
    ShardOutOfRange { shard: String, total: String },
}

/// A number as the user wrote it: the flag when given, else the file's key.
fn written(value: u32, from_flag: bool, flag: &str, key: &str) -> String {
    if from_flag {
        format!("{flag} {value}")
    } else {
        format!("{value} ({key} in the configuration file)")
    }
}

/// Puts the flags over the file's sharding keys. The file's own values were validated when
/// it was loaded; only a pair a flag took part in can be wrong here.
pub fn apply_shard_flags(config: &mut Config, flags: ShardFlags) -> Result<(), ShardFlagError> {
    if flags.total_shards == Some(0) {
        return Err(ShardFlagError::NoShards);
    }
    let merged = ShardingConfig {
        shard: flags.shard.unwrap_or(config.sharding.shard),
        total_shards: flags.total_shards.unwrap_or(config.sharding.total_shards),
    };
    if merged.shard >= merged.total_shards {
        return Err(ShardFlagError::ShardOutOfRange {
            shard: written(
                merged.shard,
                flags.shard.is_some(),
                "--shard",
                "sharding.shard",
            ),
            total: written(
                merged.total_shards,
                flags.total_shards.is_some(),
                "--total-shards",
                "sharding.total_shards",
            ),
        });
    }
    config.sharding = merged;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_str;

    fn config(sharding: &str) -> Config {
        let yaml = format!("regions:\n  - name: cn-north-4\n{sharding}");
        parse_str(&yaml, "(test)").unwrap_or_else(|e| panic!("{e}"))
    }

    fn flags(shard: Option<u32>, total_shards: Option<u32>) -> ShardFlags {
        ShardFlags {
            shard,
            total_shards,
        }
    }

    #[test]
    fn flags_win_over_the_file() {
        let mut file = config("sharding: {shard: 1, total_shards: 4}\n");
        apply_shard_flags(&mut file, flags(Some(2), None)).expect("2 of 4");
        assert_eq!(
            file.sharding,
            ShardingConfig {
                shard: 2,
                total_shards: 4
            }
        );
        apply_shard_flags(&mut file, flags(None, Some(3))).expect("2 of 3");
        assert_eq!(file.sharding.total_shards, 3);
    }

    #[test]
    fn without_flags_the_file_stays() {
        let mut file = config("sharding:\n  shard: 1\n  total_shards: 2\n");
        apply_shard_flags(&mut file, ShardFlags::default()).expect("no flags");
        assert_eq!(
            file.sharding,
            ShardingConfig {
                shard: 1,
                total_shards: 2
            }
        );
        let mut unsharded = config("");
        apply_shard_flags(&mut unsharded, ShardFlags::default()).expect("no flags");
        assert_eq!(unsharded.sharding, ShardingConfig::default());
    }

    #[test]
    fn errors_name_where_each_number_came_from() {
        let message = |sharding: &str, shard, total| {
            apply_shard_flags(&mut config(sharding), flags(shard, total))
                .map_err(|e| e.to_string())
                .expect_err("out of range")
        };
        assert_eq!(
            message("", Some(3), Some(3)),
            "--shard 3 must be less than --total-shards 3: shards are numbered from 0"
        );
        assert_eq!(
            message("sharding: {total_shards: 2}\n", Some(2), None),
            "--shard 2 must be less than 2 (sharding.total_shards in the configuration file): \
             shards are numbered from 0"
        );
        assert_eq!(
            message("sharding: {shard: 2, total_shards: 3}\n", None, Some(2)),
            "2 (sharding.shard in the configuration file) must be less than --total-shards 2: \
             shards are numbered from 0"
        );
        assert_eq!(
            message("", None, Some(0)),
            "--total-shards must be at least 1"
        );
    }
}
