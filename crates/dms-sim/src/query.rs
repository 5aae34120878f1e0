//! Query parameters as the DMS API reads them: decoding, numbers, paging, task filters.

use axum::http::Uri;

use crate::error::ApiError;

/// Raw query pairs, percent-decoded, in wire order.
pub(crate) fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (dms_sign::decode_path(k), dms_sign::decode_path(v))
        })
        .collect()
}

pub(crate) fn first<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

pub(crate) fn parse_number(
    query: &[(String, String)],
    name: &str,
) -> Result<Option<usize>, ApiError> {
    first(query, name)
        .map(|v| {
            v.trim()
                .parse::<i64>()
                .map_err(|_| ApiError::bad_parameter())
        })
        .transpose()
        .and_then(|v| match v {
            Some(n) if n < 0 => Err(ApiError::bad_parameter()),
            Some(n) => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
            None => Ok(None),
        })
}

/// `offset` (≥ 0, default 0) and `limit` (1..=50, default 10).
pub(crate) fn page(query: &[(String, String)]) -> Result<(usize, usize), ApiError> {
    let offset = parse_number(query, "offset")?.unwrap_or(0);
    Ok((offset, page_limit(query)?))
}

/// `limit` (1..=50, default 10), else 400 `DMS.10240042`.
pub(crate) fn page_limit(query: &[(String, String)]) -> Result<usize, ApiError> {
    let limit = parse_number(query, "limit")?.unwrap_or(10);
    if !(1..=50).contains(&limit) {
        return Err(ApiError::dms(
            400,
            "DMS.10240042",
            "The number of records on each page for pagination query exceeds the upper limit.",
        ));
    }
    Ok(limit)
}

/// `YYYYMMDDHHmmss` → unix ms.
pub(crate) fn parse_compact_time(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year][month][day][hour][minute][second]");
    time::PrimitiveDateTime::parse(text, format)
        .ok()
        .map(|t| i64::try_from(t.assume_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0))
}

/// The task list's query (R19 Kafka, R5 RabbitMQ): `start` (1-based, default 1), `limit`
/// (default 10), `begin_time` / `end_time` as `YYYYMMDDHHmmss`.
pub(crate) fn task_query(query: &[(String, String)]) -> Result<TaskQuery, ApiError> {
    let time = |name| {
        first(query, name)
            .map(|t| parse_compact_time(t).ok_or_else(ApiError::bad_parameter))
            .transpose()
    };
    Ok(TaskQuery {
        start: parse_number(query, "start")?.unwrap_or(1).max(1),
        limit: parse_number(query, "limit")?.unwrap_or(10).max(1),
        begin_ms: time("begin_time")?,
        end_ms: time("end_time")?,
    })
}

/// Query options of the task list (R19).
pub(crate) struct TaskQuery {
    /// 1-based index of the first task (newest first).
    pub start: usize,
    pub limit: usize,
    pub begin_ms: Option<i64>,
    pub end_ms: Option<i64>,
}

impl TaskQuery {
    /// The tasks created inside the time window, newest first: how many there are, and the
    /// page `start`/`limit` selects.
    pub(crate) fn select<'a, T>(
        &self,
        tasks: impl Iterator<Item = &'a T>,
        key: impl Fn(&T) -> (i64, &str),
    ) -> (usize, Vec<&'a T>) {
        let mut tasks: Vec<&T> = tasks
            .filter(|t| self.begin_ms.is_none_or(|b| key(t).0 >= b))
            .filter(|t| self.end_ms.is_none_or(|e| key(t).0 <= e))
            .collect();
        tasks.sort_by(|a, b| {
            let (a, b) = (key(a), key(b));
            b.0.cmp(&a.0).then(a.1.cmp(b.1))
        });
        let count = tasks.len();
        let page = tasks
            .into_iter()
            .skip(self.start.saturating_sub(1))
            .take(self.limit)
            .collect();
        (count, page)
    }
}
