//! Queues: vhosts, then every queue of each vhost (paged) with its depth and consumers, and
//! each vhost's exchange count (one call). The queue list carries every field the families
//! need, so no per-queue detail call is made.
//!
//! Cardinality: `filters.vhosts` decides which vhosts are read, `filters.queues` which queues
//! are exported, and at most `rabbitmq_queues_limit` queues per instance are exported, the
//! deepest first; `dms_rabbitmq_queues_omitted` counts the rest. Parts: one per vhost for its
//! queues, one per vhost for its exchanges, one for the instance's totals (which keep their
//! last value while a vhost fails, rather than dropping to a partial sum).

use std::collections::HashMap;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::Engine;
use dms_cloud::dto::rabbitmq::{AllQueues, Queue};
use dms_cloud::error::ApiError;

use crate::collect::registry::{Count, Opt};
use crate::collect::{Collector, Context, Description, Output, Part, Priority, Scope};
use crate::metrics::Samples;
use crate::metrics::catalog::families;

/// Queues one instance exports at most per cycle (the deepest first).
pub static QUEUES_LIMIT: Opt<Count> = Opt::count("rabbitmq_queues_limit", 1000);

pub struct Queues;

families! {
    // RabbitMQ depth (names and labels of rabbitmq_prometheus where it has the family)
    RABBITMQ_QUEUE_MESSAGES = "dms_rabbitmq_queue_messages", Gauge, None,
        ["instance_id", "vhost", "queue"],
        "GET /v2/rabbitmq/{project_id}/instances/{instance_id}/vhosts/{vhost}/queues (messages; Huawei SDK only, not in the API reference)",
        "Messages waiting in the queue (ready and unacknowledged), as rabbitmq_prometheus's rabbitmq_queue_messages. Only queues the vhost and queue filters allow, at most rabbitmq_queues_limit per instance, the deepest first.";
    RABBITMQ_QUEUE_CONSUMERS = "dms_rabbitmq_queue_consumers", Gauge, None,
        ["instance_id", "vhost", "queue"],
        "GET /v2/rabbitmq/{project_id}/instances/{instance_id}/vhosts/{vhost}/queues (consumers; Huawei SDK only, not in the API reference)",
        "Consumers attached to the queue, as rabbitmq_prometheus's rabbitmq_queue_consumers; same queues as dms_rabbitmq_queue_messages.";
    RABBITMQ_QUEUE_INFO = "dms_rabbitmq_queue_info", Info, None,
        ["instance_id", "vhost", "queue", "durable", "auto_delete", "policy"],
        "GET /v2/rabbitmq/{project_id}/instances/{instance_id}/vhosts/{vhost}/queues (Huawei SDK only, not in the API reference)",
        "The queue's settings (durable and auto_delete are true or false, policy is empty when none applies); always 1; same queues as dms_rabbitmq_queue_messages.";
    RABBITMQ_VHOST_QUEUES = "dms_rabbitmq_vhost_queues", Gauge, None,
        ["instance_id", "vhost"],
        "GET /v2/rabbitmq/{project_id}/instances/{instance_id}/vhosts/{vhost}/queues (total; Huawei SDK only, not in the API reference)",
        "Queues in the vhost, exported or not (filters and the limit do not change it); vhosts the vhost filter allows.";
    RABBITMQ_VHOST_EXCHANGES = "dms_rabbitmq_vhost_exchanges", Gauge, None,
        ["instance_id", "vhost"],
        "GET /v2/rabbitmq/{project_id}/instances/{instance_id}/vhosts/{vhost}/exchanges (total; Huawei SDK only, not in the API reference)",
        "Exchanges in the vhost, the built-in ones included; vhosts the vhost filter allows.";
    RABBITMQ_QUEUES = "dms_rabbitmq_queues", Gauge, None,
        ["instance_id"],
        "GET /v2/rabbitmq/{project_id}/instances/{instance_id}/vhosts/{vhost}/queues (total; Huawei SDK only, not in the API reference)",
        "Queues of the instance, summed over the vhosts the vhost filter allows, as rabbitmq_prometheus's rabbitmq_queues.";
    RABBITMQ_EXCHANGES = "dms_rabbitmq_exchanges", Gauge, None,
        ["instance_id"],
        "GET /v2/rabbitmq/{project_id}/instances/{instance_id}/vhosts/{vhost}/exchanges (total; Huawei SDK only, not in the API reference)",
        "Exchanges of the instance, summed over the vhosts the vhost filter allows.";
    RABBITMQ_QUEUES_OMITTED = "dms_rabbitmq_queues_omitted", Gauge, None,
        ["instance_id", "reason"],
        "GET /v2/rabbitmq/{project_id}/instances/{instance_id}/vhosts/{vhost}/queues (Huawei SDK only, not in the API reference)",
        "Queues listed but not exported in the last cycle: reason filter (filters.queues) or limit (beyond rabbitmq_queues_limit, the shallowest left out).";
}

pub static DESCRIPTION: Description = Description {
    name: "rabbitmq_queues",
    enabled_by_default: true,
    scope: Scope::Instance(Some(Engine::RabbitMq)),
    // Queue depth is what a RabbitMQ user looks at first, as lag is for Kafka.
    priority: Priority::High,
    interval: Duration::from_secs(60),
    max_age: None,
    demo_interval: Duration::from_secs(5),
    apis: &["rabbitmq_vhosts", "rabbitmq_queues", "rabbitmq_exchanges"],
    options: &[&QUEUES_LIMIT.spec],
    families: &[
        &RABBITMQ_QUEUE_MESSAGES,
        &RABBITMQ_QUEUE_CONSUMERS,
        &RABBITMQ_QUEUE_INFO,
        &RABBITMQ_VHOST_QUEUES,
        &RABBITMQ_VHOST_EXCHANGES,
        &RABBITMQ_QUEUES,
        &RABBITMQ_EXCHANGES,
        &RABBITMQ_QUEUES_OMITTED,
    ],
};

fn bool_label(value: Option<bool>) -> &'static str {
    match value {
        Some(true) => "true",
        Some(false) => "false",
        None => "",
    }
}

/// What one vhost answered.
struct VhostRead {
    name: String,
    queues: Result<AllQueues, ApiError>,
    exchanges: Result<u64, ApiError>,
}

/// Which queues are exported, each with the vhost it was listed under: those the filter
/// allows, at most `limit`, the deepest first (ties by vhost and name, so the choice is
/// stable). Returns the kept queues and how many the filter and the limit left out.
pub fn select<'a>(
    queues: impl Iterator<Item = (&'a str, &'a Queue)>,
    allows: impl Fn(&str) -> bool,
    limit: u32,
) -> (Vec<(&'a str, &'a Queue)>, u64, u64) {
    let mut filtered = 0u64;
    let mut kept: Vec<(&str, &Queue)> = queues
        .filter(|(_, q)| {
            let ok = allows(&q.name);
            filtered += u64::from(!ok);
            ok
        })
        .collect();
    kept.sort_by(|(av, a), (bv, b)| {
        b.messages
            .unwrap_or(0)
            .cmp(&a.messages.unwrap_or(0))
            .then_with(|| av.cmp(bv))
            .then_with(|| a.name.cmp(&b.name))
    });
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let over = kept.len().saturating_sub(limit) as u64;
    kept.truncate(limit);
    (kept, filtered, over)
}

fn queue_samples(id: &str, vhost: &str, queue: &Queue, out: &mut Samples) {
    let labels = [id, vhost, queue.name.as_str()];
    out.push_some(
        &RABBITMQ_QUEUE_MESSAGES,
        labels,
        queue.messages.map(|m| m as f64),
    );
    out.push_some(
        &RABBITMQ_QUEUE_CONSUMERS,
        labels,
        queue.consumers.map(|c| c as f64),
    );
    out.push(
        &RABBITMQ_QUEUE_INFO,
        [
            id,
            vhost,
            &queue.name,
            bool_label(queue.durable),
            bool_label(queue.auto_delete),
            &queue.policy,
        ],
        1.0,
    );
}

/// A queue's vhost: as the item says, else the vhost it was listed under.
fn vhost_of<'a>(queue: &'a Queue, listed_under: &'a str) -> &'a str {
    if queue.vhost.is_empty() {
        listed_under
    } else {
        &queue.vhost
    }
}

impl Collector for Queues {
    fn description(&self) -> &'static Description {
        &DESCRIPTION
    }

    fn collect<'a>(&'a self, cx: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>> {
        async move {
            let id = cx.instance().id.as_str();
            let client = &cx.client;
            let vhosts = client.rabbitmq_vhosts(id).await?;
            let wanted = vhosts
                .into_iter()
                .filter(|v| !v.name.is_empty() && cx.filters.vhosts.allows(&v.name));
            // Every read queues at once; the host's request scheduler paces them.
            let reads: Vec<VhostRead> = futures::future::join_all(wanted.map(|v| async move {
                let (queues, exchanges) = futures::join!(
                    client.rabbitmq_queues(id, &v.name),
                    client.rabbitmq_exchange_count(id, &v.name)
                );
                VhostRead {
                    name: v.name,
                    queues,
                    exchanges,
                }
            }))
            .await;

            let parts = parts(
                id,
                &reads,
                |name| cx.filters.queues.allows(name),
                cx.settings.option(&QUEUES_LIMIT),
            );
            Ok(Output {
                parts,
                ..Output::default()
            })
        }
        .boxed()
    }
}

/// One cycle's parts from what each vhost answered: per vhost its queues (its count and the
/// series of the queues [`select`] keeps) and its exchanges; then the instance's totals and
/// omitted counts.
fn parts(id: &str, reads: &[VhostRead], allows: impl Fn(&str) -> bool, limit: u32) -> Vec<Part> {
    let listed = reads
        .iter()
        .filter_map(|r| r.queues.as_ref().ok().map(|q| (r.name.as_str(), q)))
        .flat_map(|(name, q)| q.items.iter().map(move |queue| (name, queue)));
    let (kept, filtered, over) = select(listed, allows, limit);
    let mut kept_by_vhost: HashMap<&str, Vec<&Queue>> = HashMap::new();
    for (vhost, queue) in kept {
        kept_by_vhost.entry(vhost).or_default().push(queue);
    }

    let mut parts = Vec::new();
    let (mut queues_total, mut exchanges_total) = (0u64, 0u64);
    let mut first_error = None;
    for read in reads {
        let queue_part = match &read.queues {
            Ok(all) => {
                let mut samples = Samples::default();
                let count = all
                    .total
                    .and_then(|t| u64::try_from(t).ok())
                    .unwrap_or(all.items.len() as u64)
                    .max(all.items.len() as u64);
                samples.push(&RABBITMQ_VHOST_QUEUES, [id, &read.name], count as f64);
                for queue in kept_by_vhost.remove(read.name.as_str()).unwrap_or_default() {
                    queue_samples(id, vhost_of(queue, &read.name), queue, &mut samples);
                }
                queues_total += count;
                Ok(samples.into())
            }
            Err(error) => {
                first_error.get_or_insert_with(|| error.clone());
                Err(error.clone())
            }
        };
        parts.push((format!("queues:{}", read.name), queue_part));
        let exchange_part: Part = match &read.exchanges {
            Ok(count) => {
                exchanges_total += count;
                let mut samples = Samples::default();
                samples.push(&RABBITMQ_VHOST_EXCHANGES, [id, &read.name], *count as f64);
                (format!("exchanges:{}", read.name), Ok(samples.into()))
            }
            Err(error) => {
                first_error.get_or_insert_with(|| error.clone());
                (format!("exchanges:{}", read.name), Err(error.clone()))
            }
        };
        parts.push(exchange_part);
    }
    // A failed vhost would make the sums partial: they keep their last value instead.
    let instance_part = match first_error {
        Some(error) => Err(error),
        None => {
            let mut samples = Samples::default();
            samples.push(&RABBITMQ_QUEUES, [id], queues_total as f64);
            samples.push(&RABBITMQ_EXCHANGES, [id], exchanges_total as f64);
            for (reason, count) in [("filter", filtered), ("limit", over)] {
                samples.push(&RABBITMQ_QUEUES_OMITTED, [id, reason], count as f64);
            }
            Ok(samples.into())
        }
    };
    parts.push(("instance".to_owned(), instance_part));
    parts
}

#[cfg(test)]
mod tests {
    use dms_cloud::ErrorKind;
    use dms_cloud::dto::rabbitmq::QueueList;

    use super::*;
    use crate::collect::settings::NameFilter;
    use crate::collect::test_fixtures::{fixture, lines, parse};

    /// What a vhost answered: its queue listing (one page) and exchange count, or failures.
    fn vhost(name: &str, queues: Option<&str>, exchanges: Option<u64>) -> VhostRead {
        let failed = |api| ApiError::new(api, ErrorKind::ServerError, "boom");
        VhostRead {
            name: name.to_owned(),
            queues: queues
                .map(|body| {
                    let page: QueueList = parse(body);
                    AllQueues {
                        items: page.items,
                        total: page.total,
                    }
                })
                .ok_or_else(|| failed("rabbitmq_queues")),
            exchanges: exchanges.ok_or_else(|| failed("rabbitmq_exchanges")),
        }
    }

    /// Each part's key and lines; `None` for a failed part (its last good data stays).
    fn part_lines(parts: Vec<Part>) -> Vec<(String, Option<Vec<String>>)> {
        parts
            .into_iter()
            .map(|(key, result)| (key, result.ok().map(lines)))
            .collect()
    }

    fn part(key: &str, expected: &[&str]) -> (String, Option<Vec<String>>) {
        let expected = expected.iter().map(|line| (*line).to_owned()).collect();
        (key.to_owned(), Some(expected))
    }

    fn failed(key: &str) -> (String, Option<Vec<String>>) {
        (key.to_owned(), None)
    }

    #[test]
    fn vhost_answers_become_queue_vhost_and_instance_parts() {
        let example = fixture("rabbitmq/sdk_queues.json");
        let sparse = r#"{"total": "5", "items": [{"name": "q", "messages": "3"}, {"name": "r"}]}"#;
        let everything = NameFilter::default();
        let no_orders: NameFilter = parse(r#"{"exclude": "orders\\..*"}"#);
        let vhost_queues = r#"dms_rabbitmq_vhost_queues{instance_id="i-1",vhost="/"} 1"#;
        let orders_created = [
            r#"dms_rabbitmq_queue_messages{instance_id="i-1",vhost="/",queue="orders.created"} 12"#,
            r#"dms_rabbitmq_queue_consumers{instance_id="i-1",vhost="/",queue="orders.created"} 2"#,
            r#"dms_rabbitmq_queue_info{instance_id="i-1",vhost="/",queue="orders.created",durable="true",auto_delete="false",policy="ha-all"} 1"#,
        ];
        let all_queues = [&[vhost_queues][..], &orders_created].concat();
        // The client counts the exchanges its pages list; sdk_exchanges.json says eight.
        let exchanges = part(
            "exchanges:/",
            &[r#"dms_rabbitmq_vhost_exchanges{instance_id="i-1",vhost="/"} 8"#],
        );
        let instance = |filtered: &str, over: &str| {
            let omitted = |reason: &str, count: &str| {
                format!(
                    r#"dms_rabbitmq_queues_omitted{{instance_id="i-1",reason="{reason}"}} {count}"#
                )
            };
            (
                "instance".to_owned(),
                Some(vec![
                    r#"dms_rabbitmq_queues{instance_id="i-1"} 1"#.to_owned(),
                    r#"dms_rabbitmq_exchanges{instance_id="i-1"} 8"#.to_owned(),
                    omitted("filter", filtered),
                    omitted("limit", over),
                ]),
            )
        };
        // (vhost answers, queue filter, queues limit, expected parts in order)
        let table = [
            (
                vec![vhost("/", Some(&example), Some(8))],
                &everything,
                1000,
                vec![
                    part("queues:/", &all_queues),
                    exchanges.clone(),
                    instance("0", "0"),
                ],
            ),
            // A filtered queue is counted in its vhost and as omitted by the filter.
            (
                vec![vhost("/", Some(&example), Some(8))],
                &no_orders,
                1000,
                vec![
                    part("queues:/", &[vhost_queues]),
                    exchanges.clone(),
                    instance("1", "0"),
                ],
            ),
            (
                vec![vhost("/", Some(&example), Some(8))],
                &everything,
                0,
                vec![
                    part("queues:/", &[vhost_queues]),
                    exchanges.clone(),
                    instance("0", "1"),
                ],
            ),
            // A second vhost: `total` as a string, above the listed items, is its count; a
            // queue without vhost is the listing's; missing depth, consumers or settings are
            // no series or empty labels; the deeper queue first. Its exchanges failed: that
            // part and the instance's totals keep their last data.
            (
                vec![
                    vhost("/", Some(&example), Some(8)),
                    vhost("billing", Some(sparse), None),
                ],
                &everything,
                1000,
                vec![
                    part("queues:/", &all_queues),
                    exchanges.clone(),
                    part(
                        "queues:billing",
                        &[
                            r#"dms_rabbitmq_vhost_queues{instance_id="i-1",vhost="billing"} 5"#,
                            r#"dms_rabbitmq_queue_messages{instance_id="i-1",vhost="billing",queue="q"} 3"#,
                            r#"dms_rabbitmq_queue_info{instance_id="i-1",vhost="billing",queue="q",durable="",auto_delete="",policy=""} 1"#,
                            r#"dms_rabbitmq_queue_info{instance_id="i-1",vhost="billing",queue="r",durable="",auto_delete="",policy=""} 1"#,
                        ],
                    ),
                    failed("exchanges:billing"),
                    failed("instance"),
                ],
            ),
            // A failed queue listing: no queue part, and no totals either.
            (
                vec![vhost("/", None, Some(8))],
                &everything,
                1000,
                vec![failed("queues:/"), exchanges, failed("instance")],
            ),
        ];
        for (reads, filter, limit, expected) in table {
            let got = parts("i-1", &reads, |name| filter.allows(name), limit);
            let names: Vec<&str> = reads.iter().map(|read| read.name.as_str()).collect();
            assert_eq!(part_lines(got), expected, "{names:?}, limit {limit}");
        }
    }

    fn queue(vhost: &str, name: &str, messages: i64) -> Queue {
        Queue {
            vhost: vhost.to_owned(),
            name: name.to_owned(),
            messages: Some(messages),
            ..Queue::default()
        }
    }

    #[test]
    fn the_deepest_allowed_queues_are_kept() {
        let queues = [
            queue("/", "a", 5),
            queue("/", "b", 50),
            queue("x", "c", 50),
            queue("/", "tmp.1", 999),
            queue("/", "d", 1),
        ];
        let listed = || queues.iter().map(|q| (q.vhost.as_str(), q));
        let (kept, filtered, over) = select(listed(), |n| !n.starts_with("tmp."), 3);
        let names: Vec<&str> = kept.iter().map(|(_, q)| q.name.as_str()).collect();
        assert_eq!(names, ["b", "c", "a"], "by depth, ties by vhost");
        assert_eq!((filtered, over), (1, 1));
        let (all, _, none) = select(listed(), |_| true, 1000);
        assert_eq!((all.len(), none), (5, 0));
        let (nothing, _, every) = select(listed(), |_| true, 0);
        assert_eq!((nothing.len(), every), (0, 5));
    }
}
