//! Consumer groups: state, members, and lag per partition and per topic.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use dms_cloud::dto::kafka::GroupDetail;
use dms_cloud::error::ApiError;

use crate::collect::{Collector, Context, Description, Output, Priority, Scope, normalise_state};
use crate::config::{Engine, FiltersConfig};
use crate::metrics::{Sample, Samples, catalog};

/// Known consumer-group states; anything else is UNKNOWN.
pub const GROUP_STATES: &[&str] = &[
    "COMPLETING_REBALANCE",
    "DEAD",
    "EMPTY",
    "PREPARING_REBALANCE",
    "STABLE",
    "UNKNOWN",
];

pub struct Groups;

fn group_samples(id: &str, detail: &GroupDetail, filters: &FiltersConfig) -> Vec<Sample> {
    let mut samples = Samples::default();
    let group = detail.group_id.as_str();
    let state = normalise_state(&detail.state);
    let state = if GROUP_STATES.contains(&state.as_str()) {
        state
    } else {
        "UNKNOWN".to_owned()
    };
    samples.push_state_set(
        &catalog::KAFKA_GROUP_STATE,
        [id, group],
        GROUP_STATES,
        &state,
    );
    samples.push(
        &catalog::KAFKA_GROUP_MEMBERS,
        [id, group],
        detail.members.len() as f64,
    );
    let mut lag_per_topic: BTreeMap<&str, f64> = BTreeMap::new();
    for offset in &detail.group_message_offsets {
        if !filters.topics.allows(&offset.topic) {
            continue;
        }
        let Some(partition) = offset.partition else {
            continue;
        };
        let partition = partition.to_string();
        let labels = [id, group, offset.topic.as_str(), partition.as_str()];
        let current = offset.message_current_offset;
        let end = offset.message_log_end_offset;
        // lag is documented as end - current; derive it when only the offsets came.
        let lag = offset.lag.or(current.zip(end).map(|(c, e)| (e - c).max(0)));
        samples.push_some(&catalog::KAFKA_GROUP_LAG, labels, lag.map(|v| v as f64));
        samples.push_some(
            &catalog::KAFKA_GROUP_CURRENT_OFFSET,
            labels,
            current.map(|v| v as f64),
        );
        samples.push_some(
            &catalog::KAFKA_GROUP_LOG_END_OFFSET,
            labels,
            end.map(|v| v as f64),
        );
        if let Some(lag) = lag {
            *lag_per_topic.entry(offset.topic.as_str()).or_default() += lag as f64;
        }
    }
    for (topic, lag) in lag_per_topic {
        samples.push(&catalog::KAFKA_GROUP_TOPIC_LAG, [id, group, topic], lag);
    }
    samples.into()
}

pub static DESCRIPTION: Description = Description {
    name: "kafka_groups",
    scope: Scope::Instance(Some(Engine::Kafka)),
    priority: Priority::High,
    interval: Duration::from_secs(30),
    max_age: None,
    demo_interval: Duration::from_secs(5),
    options: &[],
    families: &[
        &catalog::KAFKA_GROUP_STATE,
        &catalog::KAFKA_GROUP_MEMBERS,
        &catalog::KAFKA_GROUP_LAG,
        &catalog::KAFKA_GROUP_CURRENT_OFFSET,
        &catalog::KAFKA_GROUP_LOG_END_OFFSET,
        &catalog::KAFKA_GROUP_TOPIC_LAG,
    ],
};

impl Collector for Groups {
    fn description(&self) -> &'static Description {
        &DESCRIPTION
    }

    fn collect<'a>(&'a self, cx: &'a Context<'a>) -> BoxFuture<'a, Result<Output, ApiError>> {
        async move {
            let id = cx.instance().id.as_str();
            let groups = cx.target.client.kafka_groups(id).await?;
            let wanted = groups
                .into_iter()
                .filter(|g| cx.filters.groups.allows(&g.group_id));
            // Every detail queues at once; the host's request scheduler paces them.
            let parts = futures::future::join_all(wanted.map(|summary| async move {
                let result = cx.target.client.kafka_group(id, &summary.group_id).await;
                let samples = result.map(|detail| group_samples(id, &detail, cx.filters));
                (summary.group_id, samples)
            }))
            .await;
            Ok(Output {
                parts,
                ..Output::default()
            })
        }
        .boxed()
    }
}
