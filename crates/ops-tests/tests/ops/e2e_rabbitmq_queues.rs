//! RabbitMQ queue faults of the end-to-end test (a child of `e2e`): one queue's consumers
//! stop (DmsRabbitMqQueueGrowingWithoutConsumers) and another is flooded above the depth
//! threshold (DmsRabbitMqQueueDepthHigh); clearing restarts the consumers and purges the
//! flooded queue. Both alerts turn pending within a collection or two, so they add nothing to
//! the test's waits.

use serde_json::{Value, json};

use super::{Expected, Stack};

/// Above the rules' 100000-message threshold, and more than the consumers drain in the test.
const FLOOD: u64 = 1_000_000;

/// The faults set on one RabbitMQ instance of the demo fleet.
pub(super) struct QueueFaults {
    instance_id: String,
    /// (vhost, queue) whose consumers were stopped.
    stopped: (String, String),
    /// (vhost, queue) set to `FLOOD` messages.
    flooded: (String, String),
}

/// A vhost in the control API's paths (`/` spelled out as the DMS API does).
fn path_vhost(vhost: &str) -> String {
    vhost.replace('/', "__F_SLASH__")
}

/// Queues of an instance that have consumers, from the simulator's summary.
fn consumed_queues(instance: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (vhost, v) in instance["depth"]["vhosts"]
        .as_object()
        .into_iter()
        .flatten()
    {
        for (queue, q) in v["queues"].as_object().into_iter().flatten() {
            if q["consumers"].as_u64().unwrap_or(0) > 0 {
                out.push((vhost.clone(), queue.clone()));
            }
        }
    }
    out
}

impl QueueFaults {
    /// Stops one queue's consumers and floods another, on the first running RabbitMQ instance
    /// of `state`. Call it before Prometheus has much data, so the growth window mostly holds
    /// the stopped queue.
    pub(super) async fn inject(stack: &Stack, state: &Value) -> QueueFaults {
        let instance = super::running(state, "rabbitmq")
            .into_iter()
            .next()
            .expect("the demo fleet has a running RabbitMQ instance");
        let instance_id = instance["instance_id"]
            .as_str()
            .expect("instance id")
            .to_owned();
        let queues = consumed_queues(&instance);
        assert!(
            queues.len() >= 2,
            "two consumed queues on {instance_id}: {queues:?}"
        );
        let faults = QueueFaults {
            instance_id,
            stopped: queues[0].clone(),
            flooded: queues[1].clone(),
        };
        faults.set_consumers(stack, false).await;
        faults.set_flooded_depth(stack, FLOOD).await;
        faults
    }

    /// Sets one property of a queue through the control API (`consumers` or `messages`).
    async fn put(&self, stack: &Stack, (vhost, queue): &(String, String), what: &str, body: Value) {
        let path = format!(
            "/_sim/instances/{}/vhosts/{}/queues/{queue}/{what}",
            self.instance_id,
            path_vhost(vhost)
        );
        stack.control(reqwest::Method::PUT, &path, Some(body)).await;
    }

    async fn set_consumers(&self, stack: &Stack, running: bool) {
        let body = json!({ "running": running });
        self.put(stack, &self.stopped, "consumers", body).await;
    }

    async fn set_flooded_depth(&self, stack: &Stack, messages: u64) {
        let body = json!({ "messages": messages });
        self.put(stack, &self.flooded, "messages", body).await;
    }

    /// The alerts these faults raise, by the labels that identify each queue.
    pub(super) fn expected(&self) -> Vec<Expected> {
        let labels = |(vhost, queue): &(String, String)| {
            vec![
                ("instance_id", self.instance_id.clone()),
                ("vhost", vhost.clone()),
                ("queue", queue.clone()),
            ]
        };
        vec![
            Expected {
                name: "DmsRabbitMqQueueGrowingWithoutConsumers",
                labels: labels(&self.stopped),
                fault: "queue consumers stopped".to_owned(),
            },
            Expected {
                name: "DmsRabbitMqQueueDepthHigh",
                labels: labels(&self.flooded),
                fault: format!("queue flooded with {FLOOD} messages"),
            },
        ]
    }

    /// Restarts the consumers and purges the flooded queue.
    pub(super) async fn clear(&self, stack: &Stack) {
        self.set_consumers(stack, true).await;
        self.set_flooded_depth(stack, 0).await;
    }
}
