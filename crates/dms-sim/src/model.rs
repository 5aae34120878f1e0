//! What the engine models (`kafka`, `rocketmq`, `rabbitmq`) really share: how the control API
//! changes a consumer group (the change, then the group and its instance pinned, so churn
//! leaves both alone) and how a task record is deleted. Their evolution is not shared: each
//! engine draws from its generator in its own order, and the seeded fleets depend on it.

use std::collections::BTreeMap;

/// A consumer group of an engine model.
pub(crate) trait Group {
    /// Takes it out of churn: evolution no longer starts or stops its consumers.
    fn pin(&mut self);
}

/// Applies `change` to the group `name` and pins it and its instance (`instance_pinned`);
/// false, changing nothing, if there is no such group.
pub(crate) fn change_group<G: Group>(
    groups: &mut BTreeMap<String, G>,
    instance_pinned: &mut bool,
    name: &str,
    change: impl FnOnce(&mut G),
) -> bool {
    let Some(group) = groups.get_mut(name) else {
        return false;
    };
    change(group);
    group.pin();
    *instance_pinned = true;
    true
}

/// A background task record of an engine model.
pub(crate) trait Task {
    fn id(&self) -> &str;
}

/// Deletes the task `id` (what `DELETE .../tasks/{task_id}` does); false if there is none.
pub(crate) fn delete_task<T: Task>(tasks: &mut Vec<T>, id: &str) -> bool {
    let before = tasks.len();
    tasks.retain(|task| task.id() != id);
    tasks.len() != before
}
