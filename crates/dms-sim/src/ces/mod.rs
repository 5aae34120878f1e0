//! Cloud Eye (CES), namespace `SYS.DMS`: the metrics Huawei Cloud keeps beside the DMS state,
//! derived from the same model the DMS answers come from, so a test can check "CES value =
//! simulator truth".
//!
//! Every minute of the fleet clock (`Fleet::step`) each series gets one raw point
//! (`history`), read from the model (`observe`): a gauge as it is at that moment, a rate as
//! the growth of its counter since the previous point. A point becomes visible only after a
//! lateness fixed per (series, minute) by the seed (`lateness`), some never (series without
//! datapoints). The DMS `ces-hierarchy` endpoint (`hierarchy`) lists the dimension levels of
//! `catalogue` and the values of the fleet; the CES v1 reads (`api`) query the history with
//! CES's limits and aggregation (`aggregate`), and answer errors in CES's shapes (`error`).

pub(crate) mod aggregate;
pub(crate) mod api;
pub(crate) mod catalogue;
pub(crate) mod error;
pub(crate) mod hierarchy;
pub(crate) mod history;
pub(crate) mod lateness;
pub(crate) mod observe;

/// The one namespace of every DMS engine.
pub(crate) const NAMESPACE: &str = "SYS.DMS";

/// One series: a metric and its dimensions, in `dim_router` order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct SeriesKey {
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
}

impl SeriesKey {
    /// ListMetrics' paging marker: CES documents `namespace.metric_name.key:value`; with
    /// several dimensions every `key:value` is joined by `,`, so the marker is unique.
    pub(crate) fn marker(&self) -> String {
        let dimensions: Vec<String> = self
            .dimensions
            .iter()
            .map(|(name, value)| format!("{name}:{value}"))
            .collect();
        format!("{NAMESPACE}.{}.{}", self.metric, dimensions.join(","))
    }
}
