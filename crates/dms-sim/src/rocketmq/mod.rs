//! Simulated RocketMQ instances (engine `reliability`): state and evolution here, the JSON of
//! every endpoint in `api`, shaped like the documented examples in `fixtures/api/rocketmq`.
//!
//! Invariants tie the endpoints together: a queue's `max_offset` (topic status) is the
//! `broker_offset` every group sees for it, `lag == broker_offset - consumer_offset`, and a
//! group's `last_message_time` (the store time of its last consumed message) is never after the
//! queue's own `last_message_time` (its newest message): both are read from one store-time
//! history ([`Produced`]).

mod api;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::Project;
use crate::generate::hex_id;
use crate::model;
use crate::produced::Produced;

pub(crate) use api::dispatch;

const TOPIC_NAMES: &[&str] = &["orders", "payments", "audit", "shipping", "events"];
const TASK_NAMES: &[&str] = &["createTopic", "modifyGroup", "resetOffset"];

/// One message queue of a topic on one broker.
#[derive(Debug, Clone)]
pub(crate) struct Queue {
    pub min_offset: u64,
    pub max_offset: u64,
    /// When its messages were stored.
    times: Produced,
    /// The topic's rate (messages per tick at most): the pace of the history's prelude.
    rate: u64,
}

impl Queue {
    /// Store time of the message at `offset`, unix ms; 0 when there is none.
    fn stored_ms(&self, offset: Option<u64>) -> i64 {
        offset
            .and_then(|offset| self.times.time_of(offset, self.rate))
            .unwrap_or(0)
    }

    /// Store time of the newest message, unix ms (the topic status's `last_message_time`).
    pub(crate) fn newest_ms(&self) -> i64 {
        self.stored_ms(self.max_offset.checked_sub(1))
    }

    /// Store time of the last message before `consumer_offset`, the last one consumed (a
    /// group's `last_message_time`); 0 when nothing was consumed.
    pub(crate) fn consumed_ms(&self, consumer_offset: u64) -> i64 {
        self.stored_ms(consumer_offset.checked_sub(1))
    }
}

pub(crate) struct Topic {
    /// Queues per broker (read = write queues here).
    pub queues_per_broker: usize,
    /// (broker index, queue id) → queue.
    pub queues: BTreeMap<(usize, usize), Queue>,
    /// Messages produced per queue per tick, at most.
    rate: u64,
}

/// A group's committed position on one queue.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Committed {
    pub offset: u64,
}

pub(crate) struct Group {
    pub enabled: bool,
    pub broadcast: bool,
    pub retry_max_time: i64,
    pub from_beginning: bool,
    pub topics: Vec<String>,
    /// (topic, broker index, queue id) → committed position.
    pub committed: BTreeMap<(String, usize, usize), Committed>,
    /// Whether its consumers run (clients online, offsets advance).
    pub running: bool,
    /// Whether running consumers commit; false: online but stuck (offsets stand still).
    pub committing: bool,
    /// Touched through the control API: churn leaves it alone.
    pub pinned: bool,
    clients: Vec<String>,
}

pub(crate) struct User {
    pub access_key: String,
    pub admin: bool,
}

pub(crate) struct Task {
    pub id: String,
    pub name: String,
    pub status: String,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl model::Group for Group {
    fn pin(&mut self) {
        self.pinned = true;
    }
}

impl model::Task for Task {
    fn id(&self) -> &str {
        &self.id
    }
}

pub(crate) struct Instance {
    /// The instance's own random stream (evolution), independent of other instances.
    rng: fastrand::Rng,
    /// Touched through the control API: churn leaves it alone.
    pub pinned: bool,
    pub id: String,
    pub project_id: String,
    pub region: String,
    pub name: String,
    pub status: String,
    created_at_ms: i64,
    pub brokers: Vec<String>,
    pub topics: BTreeMap<String, Topic>,
    pub groups: BTreeMap<String, Group>,
    pub enable_acl: bool,
    pub users: Vec<User>,
    pub tasks: Vec<Task>,
    pub tags: Vec<(String, String)>,
    user_id: String,
    vpc_id: String,
    subnet_id: String,
    security_group_id: String,
    octet: u32,
    storage_gb: u64,
}

/// A stable seed from an instance id (FNV-1a).
fn seed_of(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Instance {
    /// A populated, RUNNING instance; `serial` numbers instances across the fleet.
    pub(crate) fn build(
        rng: &mut fastrand::Rng,
        project: &Project,
        name: String,
        serial: u64,
        now_ms: i64,
    ) -> Instance {
        let uuid = |rng: &mut fastrand::Rng| {
            format!(
                "{}-{}-{}-{}-{}",
                hex_id(rng, 8),
                hex_id(rng, 4),
                hex_id(rng, 4),
                hex_id(rng, 4),
                hex_id(rng, 12)
            )
        };
        let broker_count = if serial.is_multiple_of(2) { 2 } else { 1 };
        // The shared engine stream gives the id only, as before this engine had a model: the
        // rest comes from the instance's own stream, so other engines' fleets do not shift.
        let id = uuid(rng);
        let rng = &mut fastrand::Rng::with_seed(seed_of(&id));
        let mut instance = Instance {
            rng: fastrand::Rng::with_seed(seed_of(&id) ^ 0x5eed),
            pinned: false,
            id,
            project_id: project.project_id.clone(),
            region: project.region.clone(),
            name,
            status: "RUNNING".to_owned(),
            created_at_ms: now_ms - 90 * 86_400_000,
            brokers: (0..broker_count).map(|b| format!("broker-{b}")).collect(),
            topics: BTreeMap::new(),
            groups: BTreeMap::new(),
            // Every other instance has ACL on, so both paths are exercised.
            enable_acl: broker_count == 2,
            users: Vec::new(),
            tasks: Vec::new(),
            tags: vec![
                ("owner".to_owned(), "team-rocket".to_owned()),
                ("env".to_owned(), "test".to_owned()),
            ],
            user_id: hex_id(rng, 32),
            vpc_id: uuid(rng),
            subnet_id: uuid(rng),
            security_group_id: uuid(rng),
            octet: 10 + u32::try_from(serial % 200).unwrap_or(0),
            storage_gb: 600,
        };
        for (t, base) in TOPIC_NAMES.iter().take(3).enumerate() {
            let name = format!("topic-{base}");
            let mut topic = Topic {
                queues_per_broker: if t == 2 { 2 } else { 3 },
                queues: BTreeMap::new(),
                rate: 5 + 5 * t as u64,
            };
            for b in 0..broker_count {
                for q in 0..topic.queues_per_broker {
                    let max = 1_000 + u64::from(rng.u32(0..5_000));
                    let newest_ms = now_ms - i64::from(rng.u32(0..60_000));
                    topic.queues.insert(
                        (b, q),
                        Queue {
                            min_offset: max / 10,
                            max_offset: max,
                            times: Produced::starting_at(max, newest_ms),
                            rate: topic.rate,
                        },
                    );
                }
            }
            instance.topics.insert(name, topic);
        }
        let subscriptions: [(&str, &[&str]); 3] = [
            ("orders", &["topic-orders"]),
            ("billing", &["topic-orders", "topic-payments"]),
            ("archive", &["topic-audit"]),
        ];
        for (g, (base, topics)) in subscriptions.iter().enumerate() {
            let topics = topics.iter().map(|t| (*t).to_owned()).collect();
            // The second group is stopped from the start: its lag grows.
            let running = g != 1;
            instance.add_group(rng, &format!("group-{base}"), topics, running, now_ms);
        }
        if instance.enable_acl {
            for (access_key, admin) in [("admin_user", true), ("app_user", false)] {
                instance.users.push(User {
                    access_key: access_key.to_owned(),
                    admin,
                });
            }
        }
        for (k, status) in ["SUCCESS", "FAILED", "SUCCESS"].iter().enumerate() {
            let created = now_ms - (3 - k as i64) * 3_600_000;
            instance.tasks.push(Task {
                id: hex_id(rng, 32),
                name: TASK_NAMES[k % TASK_NAMES.len()].to_owned(),
                status: (*status).to_owned(),
                created_ms: created,
                updated_ms: created + 5_000,
            });
        }
        instance
    }

    fn add_group(
        &mut self,
        rng: &mut fastrand::Rng,
        name: &str,
        topics: Vec<String>,
        running: bool,
        now_ms: i64,
    ) {
        let mut committed = BTreeMap::new();
        for topic in &topics {
            let Some(t) = self.topics.get(topic) else {
                continue;
            };
            for (&(b, q), queue) in &t.queues {
                let behind = u64::from(rng.u32(0..50));
                committed.insert(
                    (topic.clone(), b, q),
                    Committed {
                        offset: queue.max_offset.saturating_sub(behind),
                    },
                );
            }
        }
        let clients = (0..2)
            .map(|c| {
                format!(
                    "192.168.{}.{}@{}#{}",
                    self.octet,
                    100 + c,
                    rng.u32(1000..60000),
                    now_ms
                )
            })
            .collect();
        self.groups.insert(
            name.to_owned(),
            Group {
                enabled: true,
                broadcast: false,
                retry_max_time: 16,
                from_beginning: false,
                topics,
                committed,
                running,
                committing: true,
                pinned: false,
                clients,
            },
        );
    }

    /// One logical tick: every queue receives messages, running groups consume (usually all
    /// of it, sometimes falling a little behind); with churn, an unpinned group may stop or
    /// start and old messages are deleted.
    pub(crate) fn step(&mut self, _shared: &mut fastrand::Rng, now_ms: i64, churn: bool) {
        if !self.status.eq_ignore_ascii_case("RUNNING") {
            return;
        }
        let rng = &mut self.rng;
        for topic in self.topics.values_mut() {
            for queue in topic.queues.values_mut() {
                let produced = rng.u64(0..=topic.rate);
                if produced > 0 {
                    queue.max_offset += produced;
                    queue.times.record(queue.max_offset, now_ms);
                }
                if churn && rng.u32(0..10) == 0 {
                    // Retention: the oldest messages go.
                    queue.min_offset = (queue.min_offset + produced).min(queue.max_offset);
                }
            }
        }
        for group in self.groups.values_mut() {
            if churn && !group.pinned && rng.u32(0..30) == 0 {
                group.running = !group.running;
            }
            if !group.running || !group.committing {
                continue;
            }
            for ((topic, b, q), position) in &mut group.committed {
                let Some(queue) = self.topics.get(topic).and_then(|t| t.queues.get(&(*b, *q)))
                else {
                    continue;
                };
                let lag = queue.max_offset.saturating_sub(position.offset);
                let consumed = if rng.u32(0..4) == 0 { lag / 2 } else { lag };
                position.offset += consumed;
            }
        }
    }

    /// Starts or stops a group's consumers; false if the group is unknown.
    pub(crate) fn set_consumer_running(&mut self, group: &str, running: bool) -> bool {
        model::change_group(&mut self.groups, &mut self.pinned, group, |group| {
            group.running = running;
        })
    }

    /// Lets a group's online consumers commit or stand still; false if the group is unknown.
    pub(crate) fn set_committing(&mut self, group: &str, committing: bool) -> bool {
        model::change_group(&mut self.groups, &mut self.pinned, group, |group| {
            group.committing = committing;
        })
    }

    /// Moves a group back by `messages` on every queue (not below the oldest retained
    /// message), as a consumer-offset reset does; false if the group is unknown.
    pub(crate) fn rewind_group(&mut self, group: &str, messages: u64) -> bool {
        let topics = &self.topics;
        model::change_group(&mut self.groups, &mut self.pinned, group, |g| {
            for ((topic, b, q), position) in &mut g.committed {
                let oldest = topics
                    .get(topic)
                    .and_then(|t| t.queues.get(&(*b, *q)))
                    .map_or(0, |queue| queue.min_offset);
                position.offset = position.offset.saturating_sub(messages).max(oldest);
            }
        })
    }

    pub(crate) fn add_task(&mut self, id: String, name: &str, status: &str, created_ms: i64) {
        self.pinned = true;
        self.tasks.push(Task {
            id,
            name: name.to_owned(),
            status: status.to_owned(),
            created_ms,
            updated_ms: created_ms,
        });
    }

    pub(crate) fn delete_task(&mut self, task_id: &str) -> bool {
        model::delete_task(&mut self.tasks, task_id)
    }

    /// Broker offset and committed offset of a group on one queue (for tests and summaries).
    pub(crate) fn lag(&self, group: &str) -> u64 {
        let Some(group) = self.groups.get(group) else {
            return 0;
        };
        group
            .committed
            .iter()
            .map(|((t, b, q), c)| {
                self.topics
                    .get(t)
                    .and_then(|t| t.queues.get(&(*b, *q)))
                    .map_or(0, |queue| queue.max_offset.saturating_sub(c.offset))
            })
            .sum()
    }

    /// The group's largest lag in time over its queues, seconds: the newest message's store
    /// time minus the last consumed one's, 0 on a caught-up queue (the truth tests compare with).
    pub(crate) fn lag_seconds(&self, group: &str) -> f64 {
        let Some(group) = self.groups.get(group) else {
            return 0.0;
        };
        group
            .committed
            .iter()
            .filter_map(|((t, b, q), c)| {
                let queue = self.topics.get(t)?.queues.get(&(*b, *q))?;
                if c.offset >= queue.max_offset {
                    return Some(0);
                }
                Some(queue.newest_ms() - queue.consumed_ms(c.offset))
            })
            .max()
            .map_or(0.0, |ms| ms.max(0) as f64 / 1000.0)
    }

    /// Used storage, GB: a stand-in proportional to the retained messages.
    fn used_storage_gb(&self) -> u64 {
        let retained: u64 = self
            .topics
            .values()
            .flat_map(|t| t.queues.values())
            .map(|q| q.max_offset - q.min_offset)
            .sum();
        (retained / 1_000).min(self.storage_gb)
    }

    /// What `GET /_sim/state` shows of the instance.
    pub(crate) fn summary(&self) -> Value {
        let groups: BTreeMap<&str, Value> = self
            .groups
            .iter()
            .map(|(name, g)| {
                (
                    name.as_str(),
                    json!({
                        "running": g.running,
                        "committing": g.committing,
                        "lag": self.lag(name),
                        "lag_seconds": self.lag_seconds(name),
                        "topics": g.topics,
                    }),
                )
            })
            .collect();
        json!({
            "instance_id": self.id,
            "project_id": self.project_id,
            "region": self.region,
            "name": self.name,
            "status": self.status,
            "enable_acl": self.enable_acl,
            "brokers": self.brokers,
            "topics": self.topics.keys().collect::<Vec<_>>(),
            "groups": groups,
            "tasks": self.tasks.iter().map(|t| json!({"id": t.id, "status": t.status})).collect::<Vec<_>>(),
        })
    }
}
