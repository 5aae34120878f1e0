//! `/metrics` under load: windows classified by what the exporter did meanwhile (idle: no
//! API request and no cycle end; refresh: the refresh collector finished a cycle, so its data
//! was applied and re-encoded; busy: anything else), then nginx serving the same bytes.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::collection;
use crate::exporter::{self, Exporter};
use crate::load::{self, LoadResult, Shape};
use crate::nginx;
use crate::scrape::Samples;

/// Attempts at catching each kind of window before giving up.
const ATTEMPTS: usize = 3;
/// When the next cycle end cannot be predicted, the collector's default interval.
const DEFAULT_REFRESH_PERIOD: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum WindowKind {
    Idle,
    Refresh,
    Busy,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct Window {
    pub target: &'static str,
    pub gzip: bool,
    pub kind: WindowKind,
    pub result: LoadResult,
}

/// What the exporter's self-metrics say around a window.
struct Marks {
    requests: f64,
    cycle_ends: Vec<f64>,
    /// The refresh collector's last cycle end, per project.
    refresh_ends: Vec<f64>,
}

async fn marks(
    client: &reqwest::Client,
    exporter: &Exporter,
    refresh: &str,
) -> anyhow::Result<Marks> {
    let body = exporter::scrape_text(client, &exporter.base_url).await?;
    let samples = Samples::parse(&body, collection::is_self_metric);
    Ok(Marks {
        requests: collection::total_requests(&samples),
        cycle_ends: collection::last_successes(&samples),
        refresh_ends: collection::cycle_ends(&samples, refresh),
    })
}

fn classify(before: &Marks, after: &Marks) -> WindowKind {
    if after.refresh_ends != before.refresh_ends {
        WindowKind::Refresh
    } else if after.requests == before.requests && after.cycle_ends == before.cycle_ends {
        WindowKind::Idle
    } else {
        WindowKind::Busy
    }
}

/// How long until `lead` before the soonest predicted cycle end of any project (last end plus
/// the period; an overdue prediction moves on by whole periods). Jitter only delays cycles,
/// so the window starts a little before the prediction.
fn wait_for_next_end(ends: &[f64], period: Duration, lead: Duration, now: f64) -> Option<Duration> {
    let period = period.as_secs_f64().max(1.0);
    ends.iter()
        .map(|end| (end + period - lead.as_secs_f64() - now).rem_euclid(period))
        .reduce(f64::min)
        .map(Duration::from_secs_f64)
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

async fn window(
    client: &reqwest::Client,
    exporter: &Exporter,
    refresh: &str,
    shape: Shape,
    gzip: bool,
) -> anyhow::Result<Window> {
    let before = marks(client, exporter, refresh).await?;
    let result = load::run(shape, &format!("{}/metrics", exporter.base_url), gzip).await?;
    let after = marks(client, exporter, refresh).await?;
    Ok(Window {
        target: "exporter",
        gzip,
        kind: classify(&before, &after),
        result,
    })
}

/// For each encoding: a window placed over the refresh collector's predicted next cycle end,
/// then one right after it (the quietest moment), each retried until classified as wanted.
pub(crate) async fn exporter_windows(
    client: &reqwest::Client,
    exporter: &Exporter,
    refresh: &str,
    refresh_period: Option<Duration>,
    shape: Shape,
) -> anyhow::Result<Vec<Window>> {
    let period = refresh_period.unwrap_or(DEFAULT_REFRESH_PERIOD);
    let mut windows = Vec::new();
    for gzip in [false, true] {
        for _ in 0..ATTEMPTS {
            let mark = marks(client, exporter, refresh).await?;
            let lead = shape.window / 3;
            if let Some(wait) = wait_for_next_end(&mark.refresh_ends, period, lead, unix_now()) {
                tokio::time::sleep(wait).await;
            }
            let found = window(client, exporter, refresh, shape, gzip).await?;
            let kind = found.kind;
            windows.push(found);
            if kind == WindowKind::Refresh {
                break;
            }
        }
        for _ in 0..ATTEMPTS {
            let found = window(client, exporter, refresh, shape, gzip).await?;
            let kind = found.kind;
            windows.push(found);
            if kind == WindowKind::Idle {
                break;
            }
        }
    }
    Ok(windows)
}

/// Saves the exporter's plain and gzip bodies, serves them with nginx and loads it alike.
pub(crate) async fn nginx_windows(
    client: &reqwest::Client,
    exporter: &Exporter,
    dir: &Path,
    port: u16,
    shape: Shape,
) -> anyhow::Result<Vec<Window>> {
    let plain = dir.join("metrics.txt");
    let gzip = dir.join("metrics.txt.gz");
    std::fs::write(
        &plain,
        exporter::scrape(client, &exporter.base_url, false).await?,
    )?;
    std::fs::write(
        &gzip,
        exporter::scrape(client, &exporter.base_url, true).await?,
    )?;
    let server = nginx::start(dir, port, &plain, &gzip).await?;
    let mut windows = Vec::new();
    for (url, gzip) in [(&server.plain_url, false), (&server.gzip_url, true)] {
        windows.push(Window {
            target: "nginx",
            gzip,
            kind: WindowKind::Idle,
            result: load::run(shape, url, gzip).await?,
        });
    }
    drop(server);
    for path in [plain, gzip] {
        let _ = std::fs::remove_file(path);
    }
    Ok(windows)
}

/// The last window of a target, encoding and kind.
pub(crate) fn find<'a>(
    windows: &'a [Window],
    target: &str,
    gzip: bool,
    kind: WindowKind,
) -> Option<&'a LoadResult> {
    windows
        .iter()
        .rev()
        .find(|w| w.target == target && w.gzip == gzip && w.kind == kind)
        .map(|w| &w.result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(requests: f64, ends: &[f64], refresh: f64) -> Marks {
        Marks {
            requests,
            cycle_ends: ends.to_vec(),
            refresh_ends: vec![refresh],
        }
    }

    #[test]
    fn windows_are_classified_by_what_happened() {
        let before = mark(10.0, &[1.0, 2.0], 2.0);
        assert_eq!(
            classify(&before, &mark(10.0, &[1.0, 2.0], 2.0)),
            WindowKind::Idle
        );
        assert_eq!(
            classify(&before, &mark(11.0, &[1.0, 2.0], 2.0)),
            WindowKind::Busy
        );
        assert_eq!(
            classify(&before, &mark(10.0, &[3.0, 2.0], 2.0)),
            WindowKind::Busy
        );
        assert_eq!(
            classify(&before, &mark(30.0, &[1.0, 5.0], 5.0)),
            WindowKind::Refresh
        );
    }

    #[test]
    fn waits_for_the_soonest_predicted_end_of_any_project() {
        let period = Duration::from_secs(30);
        let lead = Duration::from_secs(2);
        // Ends at 100 and 110: next at 130 and 140; now 120 → start at 128.
        let wait = wait_for_next_end(&[100.0, 110.0], period, lead, 120.0).unwrap();
        assert_eq!(wait, Duration::from_secs(8));
        // Overdue by 5 s: the slot after, 30 s later, minus the 5 s.
        let wait = wait_for_next_end(&[100.0], period, lead, 133.0).unwrap();
        assert_eq!(wait, Duration::from_secs(25));
        assert_eq!(wait_for_next_end(&[], period, lead, 0.0), None);
    }
}
