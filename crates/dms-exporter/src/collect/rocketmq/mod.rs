//! RocketMQ collectors, one API area per file. Per-group and per-topic detail calls grow as
//! groups × topics, so each instance gets at most `rocketmq_detail_calls_limit` of them per
//! cycle; a rotating cursor makes every item's turn come in later cycles, and skipped items
//! keep their last data (`Output::kept`).

pub mod brokers;
pub mod consumer_status;
pub mod groups;
pub mod lag;
pub mod lag_seconds;
pub mod pairs;
pub mod topics;
pub mod users;

use crate::collect::registry::{Count, Opt};

/// Upper bound on per-group and per-topic detail calls one RocketMQ collector cycle makes for
/// one instance; the rest are skipped (and counted) until a later cycle. Shared by the groups,
/// lag and topics collectors (lag bounds its (group, topic) pairs; the topic statuses it reads
/// for them come on top, one per distinct topic).
pub static DETAIL_CALLS_LIMIT: Opt<Count> = Opt::count("rocketmq_detail_calls_limit", 200);

/// The latest of some epoch-ms times, ignoring 0 and absent ("no message yet").
pub fn latest_ms(times: impl IntoIterator<Item = Option<i64>>) -> Option<i64> {
    times.into_iter().flatten().filter(|ms| *ms > 0).max()
}

/// The part key of a (group, topic) pair; names cannot contain `/`.
pub fn pair_key(group: &str, topic: &str) -> String {
    format!("{group}/{topic}")
}
