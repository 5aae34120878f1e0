//! The registry of every host's scheduler, shared by the process and kept across reloads.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use super::host::{BudgetConfig, HostBudget, HostStatus};
use crate::locks::lock;

struct BudgetsInner {
    default: Mutex<BudgetConfig>,
    overrides: Mutex<HashMap<String, BudgetConfig>>,
    hosts: Mutex<HashMap<String, HostBudget>>,
}

/// All host schedulers of the process. Clones share them; they outlive configuration reloads.
#[derive(Clone)]
pub struct Budgets {
    inner: Arc<BudgetsInner>,
}

impl fmt::Debug for Budgets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Budgets")
            .field("default", &*lock(&self.inner.default))
            .finish_non_exhaustive()
    }
}

impl Budgets {
    pub fn new(default: BudgetConfig) -> Self {
        Budgets {
            inner: Arc::new(BudgetsInner {
                default: Mutex::new(default),
                overrides: Mutex::new(HashMap::new()),
                hosts: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Sets the budget of one host (`dms.cn-north-4.myhuaweicloud.com`, or `127.0.0.1:8080`).
    pub fn with_host(self, host: impl Into<String>, config: BudgetConfig) -> Self {
        let host = host.into().to_ascii_lowercase();
        lock(&self.inner.overrides).insert(host.clone(), config);
        if let Some(budget) = lock(&self.inner.hosts).get(&host) {
            budget.reconfigure(config);
        }
        self
    }

    /// Applies a new configuration to every host (a reload), keeping each host's state.
    pub fn reconfigure(&self, default: BudgetConfig, overrides: HashMap<String, BudgetConfig>) {
        let overrides: HashMap<String, BudgetConfig> = overrides
            .into_iter()
            .map(|(host, config)| (host.to_ascii_lowercase(), config))
            .collect();
        *lock(&self.inner.default) = default;
        for (host, budget) in lock(&self.inner.hosts).iter() {
            budget.reconfigure(overrides.get(host).copied().unwrap_or(default));
        }
        *lock(&self.inner.overrides) = overrides;
    }

    /// The shared scheduler of a host, created on first use.
    pub fn for_host(&self, host: &str) -> HostBudget {
        let key = host.to_ascii_lowercase();
        let config = lock(&self.inner.overrides)
            .get(&key)
            .copied()
            .unwrap_or(*lock(&self.inner.default));
        lock(&self.inner.hosts)
            .entry(key.clone())
            .or_insert_with(|| HostBudget::new(key, config))
            .clone()
    }

    /// New credentials for every host (a reload, a changed credential file).
    pub fn credentials_changed(&self) {
        for budget in lock(&self.inner.hosts).values() {
            budget.credentials_changed();
        }
    }

    /// Every host's state, by host name.
    pub fn statuses(&self) -> Vec<HostStatus> {
        let mut statuses: Vec<HostStatus> = lock(&self.inner.hosts)
            .values()
            .map(HostBudget::status)
            .collect();
        statuses.sort_by(|a, b| a.host.cmp(&b.host));
        statuses
    }
}
