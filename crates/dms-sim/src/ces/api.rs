//! The CES v1 reads (paths and query names from the Huawei SDK's `CesClient`):
//! `GET /V1.0/{project_id}/metrics` (ListMetrics), `GET /V1.0/{project_id}/metric-data`
//! (ShowMetricData), `POST /V1.0/{project_id}/batch-query-metric-data`
//! (BatchListMetricData). A project sees the series of its own instances.

use serde::Deserialize;
use serde_json::{Value, json};

use super::aggregate::{self, Filter, MAX_METRICS, Period};
use super::catalogue;
use super::error::CesRequestError;
use super::history::History;
use super::{NAMESPACE, SeriesKey};
use crate::Simulator;
use crate::endpoints::Endpoint;
use crate::error::ApiError;
use crate::query::first;

/// Largest BatchListMetricData body (512 KB).
const MAX_BODY: usize = 512 * 1024;

/// The answer to a CES read; a refused request in CES's error shape. With CES disabled the
/// paths do not exist.
pub(crate) fn dispatch(
    sim: &Simulator,
    endpoint: Endpoint,
    project_id: &str,
    query: &[(String, String)],
    body: &[u8],
) -> Result<Value, ApiError> {
    let spec = &sim.inner.config.ces;
    if !spec.enabled {
        return Err(ApiError::url_not_found());
    }
    let now_ms = sim.now_ms();
    let history = crate::locks::read(&sim.inner.ces);
    let history = &*history;
    let answer = match endpoint {
        Endpoint::CesMetrics => list_metrics(history, project_id, query),
        Endpoint::CesMetricData => show_metric_data(history, project_id, query, now_ms),
        Endpoint::CesBatchMetricData => batch_list_metric_data(history, project_id, body, now_ms),
        _ => return Err(ApiError::url_not_found()),
    };
    answer.map_err(|error| error.into_api_error(spec.error_shape))
}

/// ListMetrics: series of the project, filtered, ordered by marker, paged after `start`.
pub(crate) fn list_metrics(
    history: &History,
    project_id: &str,
    query: &[(String, String)],
) -> Result<Value, CesRequestError> {
    let limit = match first(query, "limit") {
        None => 1000,
        Some(text) => match text.parse::<usize>() {
            Ok(limit @ 1..=1000) => limit,
            _ => return Err(invalid("limit", text)),
        },
    };
    let descending = match first(query, "order") {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(other) => return Err(invalid("order", other)),
    };
    let dimensions = dimension_filters(query)?;
    let namespace = first(query, "namespace");
    let metric_name = first(query, "metric_name");
    let mut matching: Vec<(String, &SeriesKey, &'static str)> = history
        .series
        .iter()
        .filter(|(_, series)| series.project_id == project_id)
        .filter(|_| namespace.is_none_or(|n| n == NAMESPACE))
        .filter(|(key, _)| metric_name.is_none_or(|m| m == key.metric))
        .filter(|(key, _)| {
            dimensions
                .iter()
                .all(|(index, wanted)| key.dimensions.get(*index) == Some(wanted))
        })
        .map(|(key, series)| (key.marker(), key, series.unit))
        .collect();
    matching.sort_by(|a, b| a.0.cmp(&b.0));
    if descending {
        matching.reverse();
    }
    let total = matching.len();
    let start = first(query, "start").filter(|s| !s.is_empty());
    let page: Vec<_> = matching
        .into_iter()
        .filter(|(marker, ..)| {
            start.is_none_or(|start| {
                if descending {
                    marker.as_str() < start
                } else {
                    marker.as_str() > start
                }
            })
        })
        .take(limit)
        .collect();
    let marker = page
        .last()
        .map(|(marker, ..)| marker.clone())
        .unwrap_or_default();
    let metrics: Vec<Value> = page
        .iter()
        .map(|(_, key, unit)| {
            json!({
                "namespace": NAMESPACE,
                "metric_name": key.metric,
                "unit": unit,
                "dimensions": dimensions_json(key),
            })
        })
        .collect();
    Ok(json!({
        "metrics": metrics,
        "meta_data": { "count": metrics.len(), "total": total, "marker": marker },
    }))
}

/// ShowMetricData: one series, `dim.0`… naming its dimensions in order.
pub(crate) fn show_metric_data(
    history: &History,
    project_id: &str,
    query: &[(String, String)],
    now_ms: i64,
) -> Result<Value, CesRequestError> {
    let required = |name: &'static str| first(query, name).ok_or(CesRequestError::Missing { name });
    let namespace = required("namespace")?;
    let metric_name = required("metric_name")?.to_owned();
    let filter = Filter::parse(required("filter")?)?;
    let period = Period::parse(required("period")?)?;
    let window = aggregate::window(number(query, "from")?, number(query, "to")?)?;
    let mut dimensions = dimension_filters(query)?;
    if dimensions.is_empty() {
        return Err(CesRequestError::Missing { name: "dim.0" });
    }
    dimensions.sort_by_key(|(index, _)| *index);
    let key = SeriesKey {
        metric: metric_name,
        dimensions: dimensions.into_iter().map(|(_, d)| d).collect(),
    };
    let query = DataQuery {
        period,
        filter,
        window,
        metrics: 1,
        now_ms,
    };
    let (points, unit) = query.series(history, project_id, namespace, &key);
    let datapoints: Vec<Value> = points
        .iter()
        .map(|(at, value)| json!({ filter.field(): value, "timestamp": at, "unit": unit }))
        .collect();
    Ok(json!({ "datapoints": datapoints, "metric_name": key.metric }))
}

#[derive(Deserialize)]
struct BatchBody {
    metrics: Vec<MetricInfo>,
    /// A string in the SDK (`BatchPeriod` is a string enum).
    period: String,
    filter: String,
    from: i64,
    to: i64,
}

#[derive(Deserialize)]
struct MetricInfo {
    namespace: String,
    metric_name: String,
    dimensions: Vec<Dimension>,
}

#[derive(Deserialize)]
struct Dimension {
    name: String,
    value: String,
}

impl MetricInfo {
    /// The SDK's constraints (`MetricInfo`, `MetricsDimension`): namespace 3–32 characters,
    /// metric name 1–96, 1 to 4 dimensions, names 1–32 and values 1–256 characters.
    fn check(&self) -> Result<(), CesRequestError> {
        let within = |text: &str, range: std::ops::RangeInclusive<usize>| {
            range.contains(&text.chars().count())
        };
        if !within(&self.namespace, 3..=32) {
            return Err(invalid("namespace", &self.namespace));
        }
        if !within(&self.metric_name, 1..=96) {
            return Err(invalid("metric_name", &self.metric_name));
        }
        if !(1..=4).contains(&self.dimensions.len()) {
            return Err(CesRequestError::DimensionCount(self.dimensions.len()));
        }
        for dimension in &self.dimensions {
            if !within(&dimension.name, 1..=32) {
                return Err(invalid("dimensions.name", &dimension.name));
            }
            if !within(&dimension.value, 1..=256) {
                return Err(invalid("dimensions.value", &dimension.value));
            }
        }
        Ok(())
    }
}

/// BatchListMetricData: 1 to 500 metrics, the 3000-point rule applied by moving `from`.
pub(crate) fn batch_list_metric_data(
    history: &History,
    project_id: &str,
    body: &[u8],
    now_ms: i64,
) -> Result<Value, CesRequestError> {
    if body.len() > MAX_BODY {
        return Err(CesRequestError::BodyTooLarge);
    }
    let request: BatchBody =
        serde_json::from_slice(body).map_err(|e| CesRequestError::Body(e.to_string()))?;
    if !(1..=MAX_METRICS).contains(&request.metrics.len()) {
        return Err(CesRequestError::MetricCount(request.metrics.len()));
    }
    for metric in &request.metrics {
        metric.check()?;
    }
    let period = Period::parse(&request.period)?;
    let filter = Filter::parse(&request.filter)?;
    let window = aggregate::window(request.from, request.to)?;
    let query = DataQuery {
        period,
        filter,
        window,
        metrics: request.metrics.len(),
        now_ms,
    };
    let mut answers: Vec<(Vec<(i64, f64)>, &'static str)> = request
        .metrics
        .iter()
        .map(|metric| {
            let key = SeriesKey {
                metric: metric.metric_name.clone(),
                dimensions: metric
                    .dimensions
                    .iter()
                    .map(|d| (d.name.clone(), d.value.clone()))
                    .collect(),
            };
            query.series(history, project_id, &metric.namespace, &key)
        })
        .collect();
    let mut points: Vec<Vec<(i64, f64)>> = answers
        .iter_mut()
        .map(|a| std::mem::take(&mut a.0))
        .collect();
    aggregate::cap_points(&mut points);
    let metrics: Vec<Value> = request
        .metrics
        .iter()
        .zip(points)
        .zip(answers)
        .map(|((metric, points), (_, unit))| {
            let datapoints: Vec<Value> = points
                .iter()
                .map(|(at, value)| json!({ filter.field(): value, "timestamp": at }))
                .collect();
            json!({
                "namespace": metric.namespace,
                "metric_name": metric.metric_name,
                "dimensions": metric
                    .dimensions
                    .iter()
                    .map(|d| json!({ "name": d.name, "value": d.value }))
                    .collect::<Vec<_>>(),
                "unit": unit,
                "datapoints": datapoints,
            })
        })
        .collect();
    Ok(json!({ "metrics": metrics }))
}

/// What a data read asks of every series it names.
#[derive(Clone, Copy)]
struct DataQuery {
    period: Period,
    filter: Filter,
    window: (i64, i64),
    /// How many series the request names (the 3000-point rule).
    metrics: usize,
    now_ms: i64,
}

impl DataQuery {
    /// The datapoints of one series and its unit (the catalogue's for a known metric at
    /// those dimensions, empty otherwise); an unknown series or another project's has none.
    fn series(
        self,
        history: &History,
        project_id: &str,
        namespace: &str,
        key: &SeriesKey,
    ) -> (Vec<(i64, f64)>, &'static str) {
        let names: Vec<&str> = key
            .dimensions
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        let unit = catalogue::metric(&names, &key.metric).map_or("", |m| m.unit);
        let ours = namespace == NAMESPACE
            && history
                .series
                .get(key)
                .is_some_and(|series| series.project_id == project_id);
        if !ours {
            return (Vec::new(), unit);
        }
        let (from, to) = self.window;
        let from = aggregate::effective_from(from, to, self.period, self.metrics);
        let last = to + self.period.interval_ms() - 1;
        let raw = history.visible(key, from, last, self.now_ms);
        let points = aggregate::datapoints(&raw, self.period, self.filter, (from, to), self.now_ms);
        (points, unit)
    }
}

fn invalid(name: &'static str, value: &str) -> CesRequestError {
    CesRequestError::Invalid {
        name,
        value: value.to_owned(),
    }
}

fn number(query: &[(String, String)], name: &'static str) -> Result<i64, CesRequestError> {
    let text = first(query, name).ok_or(CesRequestError::Missing { name })?;
    text.parse().map_err(|_| invalid(name, text))
}

/// `dim.N=key,value`: the position N and the (key, value) the series has there.
type DimensionFilter = (usize, (String, String));

/// `dim.0`…`dim.3` = `key,value`.
fn dimension_filters(query: &[(String, String)]) -> Result<Vec<DimensionFilter>, CesRequestError> {
    const NAMES: [&str; 4] = ["dim.0", "dim.1", "dim.2", "dim.3"];
    let mut filters = Vec::new();
    for (index, name) in NAMES.iter().enumerate() {
        if let Some(text) = first(query, name) {
            let (key, value) = text.split_once(',').ok_or_else(|| invalid(name, text))?;
            if key.is_empty() || value.is_empty() {
                return Err(invalid(name, text));
            }
            filters.push((index, (key.to_owned(), value.to_owned())));
        }
    }
    Ok(filters)
}

fn dimensions_json(key: &SeriesKey) -> Vec<Value> {
    key.dimensions
        .iter()
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect()
}
