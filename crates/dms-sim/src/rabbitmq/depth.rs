//! What a RabbitMQ user looks at first (Huawei SDK; beyond the seed): vhosts, queues whose
//! messages rise with a publish rate and fall with their consumers, exchanges and bindings,
//! and AMQP users; the JSON of their endpoints on the SDK's models
//! (`fixtures/api/rabbitmq/sdk_*.json`).
//!
//! Drawn from a generator of its own (seeded by the instance's serial), so adding this model
//! moved neither the RabbitMQ instances' other data nor any other engine's.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::endpoints::Endpoint;
use crate::error::ApiError;
use crate::query::parse_number;

/// A vhost in a path: the SDK replaces every `/` with this (its request models say the call
/// fails otherwise), then percent-encodes the parameter.
pub(crate) const SLASH: &str = "__F_SLASH__";

/// The vhost a path parameter names, or `None` when it carries a raw `/` (sent as `%2F`),
/// which the API refuses.
pub(crate) fn vhost_of_path(parameter: &str) -> Option<String> {
    (!parameter.contains('/')).then(|| parameter.replace(SLASH, "/"))
}

/// The exchanges every vhost has: (name, type, internal); `""` is the default exchange.
const BUILT_IN_EXCHANGES: &[(&str, &str, bool)] = &[
    ("", "direct", false),
    ("amq.direct", "direct", false),
    ("amq.fanout", "fanout", false),
    ("amq.headers", "headers", false),
    ("amq.match", "headers", false),
    ("amq.rabbitmq.trace", "topic", true),
    ("amq.topic", "topic", false),
];

/// Queues of a new instance: (vhost, queue, publish rate per tick, consumers, policy). A rate
/// of 0 is a dead-letter queue: nothing arrives, nobody consumes, its depth stays.
const QUEUES: &[(&str, &str, u64, u32, &str)] = &[
    ("/", "orders.created", 20, 2, "ha-all"),
    ("/", "orders.paid", 10, 2, "ha-all"),
    ("/", "emails", 5, 1, ""),
    ("billing", "invoices", 8, 2, ""),
    ("billing", "invoices.dlq", 0, 0, ""),
];

/// Queues only clusters have, in a vhost whose name holds a `/`.
const CLUSTER_QUEUES: &[(&str, &str, u64, u32, &str)] = &[("/staging", "orders.created", 3, 1, "")];

pub(crate) struct Queue {
    durable: bool,
    auto_delete: bool,
    policy: String,
    ttl_ms: Option<i64>,
    dead_letter_exchange: Option<String>,
    lazy: bool,
    pub messages: u64,
    pub consumers: u32,
    /// Consumers when running (what a restart brings back).
    usual_consumers: u32,
    /// At most this many messages arrive per tick.
    publish_rate: u64,
    /// Touched through the control API: churn leaves its consumers alone.
    pinned: bool,
}

pub(crate) struct Exchange {
    pub name: String,
    kind: String,
    durable: bool,
    internal: bool,
}

struct Binding {
    source: String,
    destination: String,
    routing_key: String,
}

pub(crate) struct Vhost {
    tracing: bool,
    pub queues: BTreeMap<String, Queue>,
    pub exchanges: Vec<Exchange>,
    bindings: Vec<Binding>,
}

struct User {
    access_key: String,
    /// (vhost, conf, write, read) patterns.
    permissions: Vec<(String, String, String, String)>,
}

/// The vhosts, queues, exchanges and users of one instance.
pub(crate) struct Depth {
    rng: fastrand::Rng,
    pub vhosts: BTreeMap<String, Vhost>,
    users: Vec<User>,
    /// The instance's client subnet, for consumers' peer addresses.
    octet: u8,
}

impl Depth {
    pub(crate) fn build(serial: u64, cluster: bool) -> Depth {
        let mut rng = fastrand::Rng::with_seed(0x0ab1_7de9_0000_0000 ^ serial);
        let octet = rng.u8(1..250);
        let mut depth = Depth {
            rng,
            vhosts: BTreeMap::new(),
            users: Vec::new(),
            octet,
        };
        for (vhost, exchange, kind) in [("/", "orders", "topic"), ("billing", "dlx", "fanout")] {
            depth.vhost(vhost).exchanges.push(Exchange {
                name: exchange.to_owned(),
                kind: kind.to_owned(),
                durable: true,
                internal: false,
            });
        }
        let extra = if cluster { CLUSTER_QUEUES } else { &[] };
        for (vhost, name, rate, consumers, policy) in QUEUES.iter().chain(extra) {
            let messages = if *rate == 0 { 3 } else { depth.rng.u64(0..50) };
            let queue = Queue {
                durable: !name.starts_with("emails"),
                auto_delete: false,
                policy: (*policy).to_owned(),
                ttl_ms: (*rate == 0).then_some(604_800_000),
                dead_letter_exchange: (*rate > 0 && vhost == &"billing").then(|| "dlx".to_owned()),
                lazy: *rate == 0,
                messages,
                consumers: *consumers,
                usual_consumers: *consumers,
                publish_rate: *rate,
                pinned: false,
            };
            depth.vhost(vhost).insert_queue(name, queue);
        }
        depth.users.push(User {
            access_key: "admin".to_owned(),
            permissions: depth
                .vhosts
                .keys()
                .map(|v| (v.clone(), ".*".to_owned(), ".*".to_owned(), ".*".to_owned()))
                .collect(),
        });
        depth.users.push(User {
            access_key: "app_orders".to_owned(),
            permissions: vec![(
                "/".to_owned(),
                String::new(),
                "orders.*".to_owned(),
                "orders.*".to_owned(),
            )],
        });
        depth
    }

    /// The vhost of this name, created with the built-in exchanges if new.
    fn vhost(&mut self, name: &str) -> &mut Vhost {
        self.vhosts.entry(name.to_owned()).or_insert_with(|| Vhost {
            tracing: name == "billing",
            queues: BTreeMap::new(),
            exchanges: BUILT_IN_EXCHANGES
                .iter()
                .map(|(name, kind, internal)| Exchange {
                    name: (*name).to_owned(),
                    kind: (*kind).to_owned(),
                    durable: true,
                    internal: *internal,
                })
                .collect(),
            bindings: Vec::new(),
        })
    }

    /// One tick: messages arrive at each queue's publish rate and each consumer takes up to
    /// that rate, so depths rise and fall around a little; with churn, consumers of queues the
    /// control API has not touched come and go (never all of them).
    pub(crate) fn step(&mut self, churn: bool) {
        let rng = &mut self.rng;
        for queue in self.vhosts.values_mut().flat_map(|v| v.queues.values_mut()) {
            if queue.publish_rate == 0 {
                continue;
            }
            let arrived = rng.u64(1..=queue.publish_rate);
            let capacity: u64 = (0..queue.consumers)
                .map(|_| rng.u64(0..=queue.publish_rate))
                .sum();
            let waiting = queue.messages + arrived;
            queue.messages = waiting - capacity.min(waiting);
            if churn && !queue.pinned && queue.usual_consumers > 0 && rng.u32(0..25) == 0 {
                let change = if rng.bool() { 1 } else { -1 };
                queue.consumers = queue.consumers.saturating_add_signed(change).clamp(1, 3);
            }
        }
    }

    fn queue_mut(&mut self, vhost: &str, queue: &str) -> Option<&mut Queue> {
        self.vhosts.get_mut(vhost)?.queues.get_mut(queue)
    }

    /// Stops (0 consumers) or restarts a queue's consumers; pins the queue.
    pub(crate) fn set_consumers_running(
        &mut self,
        vhost: &str,
        queue: &str,
        running: bool,
    ) -> bool {
        let Some(queue) = self.queue_mut(vhost, queue) else {
            return false;
        };
        queue.consumers = if running { queue.usual_consumers } else { 0 };
        queue.pinned = true;
        true
    }

    /// Sets a queue's depth (a flood, or 0 for a purge).
    pub(crate) fn set_messages(&mut self, vhost: &str, queue: &str, messages: u64) -> bool {
        let Some(queue) = self.queue_mut(vhost, queue) else {
            return false;
        };
        queue.messages = messages;
        queue.pinned = true;
        true
    }

    /// Adds `count` queues named `{prefix}-{n:05}` to a vhost (created if new), with depths
    /// spread over 0..1000 and no publisher, so tests can count and rank them.
    pub(crate) fn add_queues(&mut self, vhost: &str, prefix: &str, count: usize) {
        let vhost = self.vhost(vhost);
        for n in 0..count {
            let messages = (n as u64 * 7_919) % 1_000;
            vhost.insert_queue(
                &format!("{prefix}-{n:05}"),
                Queue {
                    durable: true,
                    auto_delete: n % 2 == 1,
                    policy: String::new(),
                    ttl_ms: None,
                    dead_letter_exchange: None,
                    lazy: false,
                    messages,
                    consumers: 1,
                    usual_consumers: 1,
                    publish_rate: 0,
                    pinned: true,
                },
            );
        }
    }

    fn queue_json(vhost: &str, name: &str, queue: &Queue) -> Value {
        let mut arguments = serde_json::Map::new();
        if let Some(ttl) = queue.ttl_ms {
            arguments.insert("x-message-ttl".to_owned(), json!(ttl));
        }
        if let Some(exchange) = &queue.dead_letter_exchange {
            arguments.insert("x-dead-letter-exchange".to_owned(), json!(exchange));
            arguments.insert(
                "x-dead-letter-routing-key".to_owned(),
                json!(format!("{name}.dlq")),
            );
        }
        if queue.lazy {
            arguments.insert("x-queue-mode".to_owned(), json!("lazy"));
        }
        json!({
            "vhost": vhost,
            "name": name,
            "durable": queue.durable,
            "auto_delete": queue.auto_delete,
            "messages": queue.messages,
            "consumers": queue.consumers,
            "policy": queue.policy,
            "arguments": arguments,
        })
    }

    fn vhost_in(&self, parameter: &str) -> Result<(String, &Vhost), ApiError> {
        let name = vhost_of_path(parameter).ok_or_else(ApiError::url_not_found)?;
        let vhost = self.vhosts.get(&name).ok_or_else(vhost_not_found)?;
        Ok((name, vhost))
    }

    /// `ShowQueueDetailsResponse`: the queue, its consumers and the bindings to it.
    fn queue_detail(&self, parameter: &str, name: &str) -> Result<Value, ApiError> {
        let (vhost_name, vhost) = self.vhost_in(parameter)?;
        let queue = vhost.queues.get(name).ok_or_else(queue_not_found)?;
        let mut detail = Self::queue_json(&vhost_name, name, queue);
        let consumers: Vec<Value> = (0..queue.consumers)
            .map(|n| {
                let port = 40_000 + (n as u16) * 7 + u16::from(self.octet);
                let peer = format!("192.168.{}.{}", self.octet, 20 + n);
                let connection = format!("{peer}:{port} -> 192.168.0.5:5672");
                json!({
                    "consumer_tag": format!("amq.ctag-{name}-{n}"),
                    "channel_details": {
                        "name": format!("{connection} (1)"),
                        "number": 1,
                        "user": "app_orders",
                        "connection_name": connection,
                        "peer_host": peer,
                        "peer_port": port,
                    },
                    "ack_required": true,
                    "prefetch_count": 10,
                })
            })
            .collect();
        let bindings: Vec<Value> = vhost
            .bindings
            .iter()
            .filter(|b| b.destination == name)
            .map(|b| {
                json!({
                    "source": b.source,
                    "destination_type": "queue",
                    "destination": b.destination,
                    "routing_key": b.routing_key,
                    "properties_key": b.routing_key,
                })
            })
            .collect();
        if let Some(object) = detail.as_object_mut() {
            object.insert("consumer_details".to_owned(), json!(consumers));
            object.insert("queue_bindings".to_owned(), json!(bindings));
        }
        Ok(detail)
    }

    fn exchange_json(vhost: &str, exchange: &Exchange) -> Value {
        json!({
            "durable": exchange.durable,
            "default": exchange.name.is_empty(),
            "internal": exchange.internal,
            "arguments": {},
            "name": exchange.name,
            "auto_delete": false,
            "type": exchange.kind,
            "vhost": vhost,
        })
    }

    fn user_json(user: &User) -> Value {
        let vhosts: Vec<Value> = user
            .permissions
            .iter()
            .map(|(vhost, conf, write, read)| {
                json!({ "vhost": vhost, "conf": conf, "write": write, "read": read })
            })
            .collect();
        // The API never sends a password back.
        json!({ "access_key": user.access_key, "secret_key": "", "vhosts": vhosts })
    }

    /// Answers the endpoints of this model; `None` for another endpoint.
    pub(crate) fn dispatch(
        &self,
        endpoint: Endpoint,
        vhost: Option<&str>,
        item: &str,
        query: &[(String, String)],
    ) -> Option<Result<Value, ApiError>> {
        let vhost = vhost.unwrap_or_default();
        let answer = match endpoint {
            Endpoint::RabbitmqVhosts => sdk_page(query).map(|page| {
                page.of(self
                    .vhosts
                    .iter()
                    .map(|(name, v)| json!({ "name": name, "tracing": v.tracing })))
            }),
            Endpoint::RabbitmqQueues => self.vhost_in(vhost).and_then(|(name, v)| {
                sdk_page(query).map(|page| {
                    page.of(v
                        .queues
                        .iter()
                        .map(|(queue, q)| Self::queue_json(&name, queue, q)))
                })
            }),
            Endpoint::RabbitmqQueue => self.queue_detail(vhost, item),
            Endpoint::RabbitmqExchanges => self.vhost_in(vhost).and_then(|(name, v)| {
                sdk_page(query)
                    .map(|page| page.of(v.exchanges.iter().map(|e| Self::exchange_json(&name, e))))
            }),
            Endpoint::RabbitmqUsers => sdk_page(query).map(|page| {
                let users: Vec<Value> = self
                    .users
                    .iter()
                    .skip(page.offset)
                    .take(page.limit)
                    .map(Self::user_json)
                    .collect();
                json!({ "users": users, "total": self.users.len() })
            }),
            _ => return None,
        };
        Some(answer)
    }

    /// What `GET /_sim/state` shows: every queue's depth and consumers, per vhost.
    pub(crate) fn summary(&self) -> Value {
        let vhosts: BTreeMap<&str, Value> = self
            .vhosts
            .iter()
            .map(|(name, v)| {
                let queues: BTreeMap<&str, Value> = v
                    .queues
                    .iter()
                    .map(|(q, queue)| {
                        (
                            q.as_str(),
                            json!({ "messages": queue.messages, "consumers": queue.consumers }),
                        )
                    })
                    .collect();
                (
                    name.as_str(),
                    json!({ "queues": queues, "exchanges": v.exchanges.len() }),
                )
            })
            .collect();
        json!({ "vhosts": vhosts, "users": self.users.len() })
    }
}

impl Vhost {
    /// Adds a queue, bound from the default exchange by its name (as RabbitMQ binds every
    /// queue) and from the vhost's own exchange, if it has one.
    fn insert_queue(&mut self, name: &str, queue: Queue) {
        self.bindings.push(Binding {
            source: String::new(),
            destination: name.to_owned(),
            routing_key: name.to_owned(),
        });
        if let Some(own) = self
            .exchanges
            .iter()
            .find(|e| !e.name.starts_with("amq.") && !e.name.is_empty())
        {
            self.bindings.push(Binding {
                source: own.name.clone(),
                destination: name.to_owned(),
                routing_key: name.to_owned(),
            });
        }
        self.queues.insert(name.to_owned(), queue);
    }
}

fn vhost_not_found() -> ApiError {
    ApiError::dms(404, "DMS.00404022", "The vhost does not exist.")
}

fn queue_not_found() -> ApiError {
    ApiError::dms(404, "DMS.00404023", "The queue does not exist.")
}

/// The SDK's paging: `offset` ≥ 0 (default 0), `limit` 0 to 50 (default 10).
struct SdkPage {
    offset: usize,
    limit: usize,
}

fn sdk_page(query: &[(String, String)]) -> Result<SdkPage, ApiError> {
    let offset = parse_number(query, "offset")?.unwrap_or(0);
    let limit = parse_number(query, "limit")?.unwrap_or(10);
    if limit > 50 {
        return Err(ApiError::dms(
            400,
            "DMS.10240042",
            "The number of records on each page for pagination query exceeds the upper limit.",
        ));
    }
    Ok(SdkPage { offset, limit })
}

impl SdkPage {
    /// `{"size", "total", "items"}`: this page of `all`, how many it holds, how many exist.
    fn of(&self, all: impl Iterator<Item = Value>) -> Value {
        let all: Vec<Value> = all.collect();
        let total = all.len();
        let items: Vec<Value> = all.into_iter().skip(self.offset).take(self.limit).collect();
        json!({ "size": items.len(), "total": total, "items": items })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn running_consumers_keep_depth_bounded_and_stopped_ones_let_it_grow() {
        let mut depth = Depth::build(1, true);
        for _ in 0..200 {
            depth.step(true);
        }
        let busy = depth.vhosts["/"].queues["orders.created"].messages;
        assert!(busy < 500, "consumers keep up: {busy}");
        assert!(depth.set_consumers_running("/", "orders.created", false));
        for _ in 0..10 {
            depth.step(true);
        }
        let queue = &depth.vhosts["/"].queues["orders.created"];
        assert_eq!(queue.consumers, 0);
        assert!(
            queue.messages >= busy + 10,
            "{} after {busy}",
            queue.messages
        );
        assert!(depth.set_consumers_running("/", "orders.created", true));
        assert_eq!(depth.vhosts["/"].queues["orders.created"].consumers, 2);
        assert!(!depth.set_consumers_running("/", "missing", false));
    }

    #[test]
    fn pages_follow_the_sdk_limits() {
        let mut depth = Depth::build(2, false);
        depth.add_queues("/", "bulk", 120);
        let page = |q: &[(&str, &str)]| {
            depth.dispatch(Endpoint::RabbitmqQueues, Some(SLASH), "", &query(q))
        };
        let first = page(&[("limit", "50")])
            .and_then(Result::ok)
            .unwrap_or_default();
        assert_eq!(
            (first["size"].as_u64(), first["total"].as_u64()),
            (Some(50), Some(123))
        );
        let last = page(&[("offset", "100"), ("limit", "50")])
            .and_then(Result::ok)
            .unwrap_or_default();
        assert_eq!(last["size"].as_u64(), Some(23));
        let none = page(&[("limit", "0")])
            .and_then(Result::ok)
            .unwrap_or_default();
        assert_eq!(
            (none["size"].as_u64(), none["total"].as_u64()),
            (Some(0), Some(123))
        );
        assert!(matches!(page(&[("limit", "51")]), Some(Err(_))));
        // A raw `/` (sent as %2F) is refused; `__F_SLASH__` names vhost `/`.
        let raw = depth.dispatch(Endpoint::RabbitmqQueues, Some("/"), "", &[]);
        assert!(matches!(raw, Some(Err(e)) if e.status.as_u16() == 404));
        assert_eq!(
            vhost_of_path("__F_SLASH__staging").as_deref(),
            Some("/staging")
        );
    }
}
