//! Which shard owns an instance, computed the way kube-state-metrics assigns objects: the
//! 64-bit FNV-1a hash of the id's bytes, then Lamping and Veach's jump consistent hash
//! ("A Fast, Minimal Memory, Consistent Hash Algorithm", 2014) into `total_shards` buckets.
//! Same id, same shard, in every process and release; growing from M to M + 1 shards moves
//! only about 1/(M + 1) of the instances.

use crate::collect::settings::ShardingConfig;

const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// 64-bit FNV-1a (Go's `hash/fnv.New64a`).
fn fnv1a_64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET_BASIS, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(FNV_PRIME)
    })
}

/// Jump consistent hash: the bucket in `0..buckets` for `key` (`buckets` ≥ 1). A key moves
/// only when the bucket count grows past the bucket it would jump to, which keeps moves
/// minimal.
fn jump_consistent_hash(mut key: u64, buckets: u32) -> u32 {
    let mut bucket: i64 = -1;
    let mut next: i64 = 0;
    while next < i64::from(buckets) {
        bucket = next;
        // The paper's 64-bit linear congruential step, then a jump drawn from its top bits.
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        let draw = ((key >> 33) + 1) as f64;
        next = ((bucket + 1) as f64 * ((1_u64 << 31) as f64 / draw)) as i64;
    }
    // The loop runs at least once for buckets ≥ 1, so 0 ≤ bucket < buckets.
    u32::try_from(bucket).unwrap_or(0)
}

/// The shard, in `0..total_shards`, that owns `instance_id`. `total_shards` 0 counts as 1.
pub fn shard_of(instance_id: &str, total_shards: u32) -> u32 {
    jump_consistent_hash(fnv1a_64(instance_id.as_bytes()), total_shards.max(1))
}

impl ShardingConfig {
    /// Whether this process reads (and exports) the instance.
    pub fn owns(&self, instance_id: &str) -> bool {
        self.total_shards <= 1 || shard_of(instance_id, self.total_shards) == self.shard
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        // From the FNV reference test suite (Fowler, Noll, Vo).
        assert_eq!(fnv1a_64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a_64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn jump_hash_matches_the_reference_implementation() {
        // Buckets for 1..=19 shards, as generated from the paper's C++ code (go-jump's tests).
        let cases: [(u64, [u32; 19]); 3] = [
            (
                1,
                [0, 0, 0, 0, 0, 0, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 17, 17],
            ),
            (
                0xdead_beef,
                [0, 1, 2, 3, 3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 16, 16, 16],
            ),
            (
                0x0ddc_0ffe_ebad_f00d,
                [0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 15, 15, 15, 15],
            ),
        ];
        for (key, buckets) in cases {
            for (index, expected) in buckets.iter().enumerate() {
                let total = index as u32 + 1;
                assert_eq!(
                    jump_consistent_hash(key, total),
                    *expected,
                    "key {key:#x}, {total} buckets"
                );
            }
        }
    }

    #[test]
    fn assignment_agrees_with_kube_state_metrics() {
        // kube-state-metrics' own sharding test: UID "test_uid" belongs to shard 0 of 2.
        assert_eq!(shard_of("test_uid", 2), 0);
        let first = ShardingConfig {
            shard: 0,
            total_shards: 2,
        };
        let second = ShardingConfig {
            shard: 1,
            total_shards: 2,
        };
        assert!(first.owns("test_uid"));
        assert!(!second.owns("test_uid"));
    }

    #[test]
    fn assignment_is_stable() {
        // Pinned values (computed independently, in Python, from the two algorithms): a change
        // here reshuffles every deployed fleet.
        let id = "4fbd1a5e-0e09-4a0d-9d4b-2f1d1c8e6a10";
        let pinned: Vec<u32> = (1..=8).map(|total| shard_of(id, total)).collect();
        assert_eq!(pinned, [0, 0, 0, 3, 4, 4, 4, 4]);
        assert_eq!(shard_of(id, 3), shard_of(id, 3));
        assert_eq!(shard_of(id, 0), 0, "0 shards counts as 1");
    }

    fn ids(count: usize) -> Vec<String> {
        (0..count)
            .map(|i| format!("{i:08x}-5a1e-4c0d-9e1f-{:012x}", i * 7919))
            .collect()
    }

    #[test]
    fn every_instance_has_exactly_one_owner_and_the_spread_is_even() {
        let ids = ids(1000);
        for total in [2_u32, 3, 5, 8] {
            let shards: Vec<ShardingConfig> = (0..total)
                .map(|shard| ShardingConfig {
                    shard,
                    total_shards: total,
                })
                .collect();
            let mut counts = vec![0_usize; total as usize];
            for id in &ids {
                let owners: Vec<u32> = shards
                    .iter()
                    .filter(|s| s.owns(id))
                    .map(|s| s.shard)
                    .collect();
                assert_eq!(owners.len(), 1, "{id} of {total} shards: owners {owners:?}");
                counts[owners[0] as usize] += 1;
            }
            // A fair split of 1,000 over M shards: each within 25 % of 1000 / M (binomial
            // spread is ~3-5 %, so only a broken hash gets near the bound).
            let fair = 1000.0 / f64::from(total);
            for (shard, count) in counts.iter().enumerate() {
                assert!(
                    (*count as f64 - fair).abs() <= fair * 0.25,
                    "shard {shard} of {total} owns {count} of 1000: {counts:?}"
                );
            }
        }
    }

    #[test]
    fn growing_by_one_shard_moves_only_instances_to_the_new_one() {
        let ids = ids(1000);
        let mut moved = 0;
        for id in &ids {
            let (before, after) = (shard_of(id, 3), shard_of(id, 4));
            if before != after {
                assert_eq!(after, 3, "{id} moved from {before} to an old shard {after}");
                moved += 1;
            }
        }
        // About a quarter moves: 1000 / 4 = 250.
        assert!((180..=320).contains(&moved), "{moved} of 1000 moved");
    }

    #[test]
    fn every_data_family_belongs_to_an_instance() {
        // Sharding partitions the data by instance, so no series is exported twice. A family
        // without instance_id (a project-level figure) would come from every shard: export it
        // from shard 0 only, and document it in docs/configuration.md#sharding.
        for family in crate::collect::registry::families() {
            let producer = crate::collect::registry::producer_of(family);
            // Project quotas: only shard 0 reads and exports them (collect/quotas.rs).
            let first_shard_only = producer
                == crate::collect::registry::Producer::Collector(
                    &crate::collect::quotas::DESCRIPTION,
                );
            if producer != crate::collect::registry::Producer::Scrape && !first_shard_only {
                assert!(
                    family.labels.contains(&"instance_id"),
                    "{} has no instance_id: decide which shard exports it",
                    family.name
                );
            }
        }
    }

    #[test]
    fn one_shard_owns_everything() {
        let unsharded = ShardingConfig::default();
        assert!(ids(100).iter().all(|id| unsharded.owns(id)));
    }
}
