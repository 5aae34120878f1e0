//! The steady phase after readiness: scrape every few seconds for `--duration`, tracking
//! blinking series, throttling, memory and CPU.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::blink::{BlinkSummary, BlinkTracker};
use crate::collection::{self, Throttling};
use crate::exporter::{self, Exporter};
use crate::procfs;
use crate::scrape::Samples;

pub(crate) struct Settings {
    pub duration: Duration,
    pub scrape_every: Duration,
    /// Throttling within this long after readiness is convergence, not steady state.
    pub convergence: Duration,
    pub refresh_collector: String,
}

/// One scrape of the steady phase.
struct Point {
    since_ready: Duration,
    cpu_ticks: u64,
    requests: f64,
    cycle_ends: Vec<f64>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct Cpu {
    /// CPU seconds per minute over the steady window (after convergence, or the whole phase
    /// when it is shorter).
    pub steady_seconds_per_minute: f64,
    pub steady_window_seconds: f64,
    /// CPU seconds per minute summed over the intervals between two scrapes in which the
    /// exporter made no API request and no collector finished a cycle.
    pub idle_seconds_per_minute: Option<f64>,
    pub idle_window_seconds: f64,
}

pub(crate) struct Outcome {
    pub blink: BlinkSummary,
    pub cpu: Cpu,
    /// Self-metrics at the end of the convergence window, if the phase got that far.
    pub after_convergence: Option<Samples>,
    pub last: Samples,
    pub last_body_bytes: usize,
    pub last_series: usize,
    pub rss_bytes: u64,
    pub rss_max_bytes: u64,
    /// When the exporter last counted a throttled answer, after readiness.
    pub last_throttled_after_ready: Option<Duration>,
    /// Observed intervals between the refresh collector's cycle ends.
    pub refresh_period: Option<Duration>,
}

pub(crate) async fn run(
    client: &reqwest::Client,
    exporter: &Exporter,
    at_ready: &Samples,
    settings: &Settings,
) -> anyhow::Result<Outcome> {
    let pid = exporter.pid()?;
    let ticks_per_second = procfs::ticks_per_second();
    let ready = Instant::now();
    let mut tracker = BlinkTracker::default();
    let mut points: Vec<Point> = Vec::new();
    let mut after_convergence = None;
    // Each is set by every scrape; the loop ends only after one.
    let mut last;
    let mut last_throttled = Throttling::total(at_ready);
    let mut last_throttled_after_ready = None;
    let (mut last_body_bytes, mut last_series, mut rss_bytes);
    let mut rss_max_bytes = 0;
    let mut refresh_ends: Vec<f64> = Vec::new();
    loop {
        let body = exporter::scrape_text(client, &exporter.base_url).await?;
        let since_ready = ready.elapsed();
        tracker.observe(&body);
        let samples = Samples::parse(&body, collection::is_self_metric);
        rss_bytes = procfs::resident_bytes(pid)?;
        rss_max_bytes = rss_max_bytes.max(rss_bytes);
        last_body_bytes = body.len();
        last_series = crate::scrape::sample_lines(&body).count();
        let throttled = Throttling::total(&samples);
        if (throttled - last_throttled).any() {
            last_throttled_after_ready = Some(since_ready);
        }
        last_throttled = throttled;
        // The period is read from one project's cycles; every project has the same interval.
        if let Some(&end) = collection::cycle_ends(&samples, &settings.refresh_collector).first()
            && refresh_ends.last() != Some(&end)
        {
            refresh_ends.push(end);
        }
        points.push(Point {
            since_ready,
            cpu_ticks: procfs::cpu_ticks(pid)?,
            requests: collection::total_requests(&samples),
            cycle_ends: collection::last_successes(&samples),
        });
        if after_convergence.is_none() && since_ready >= settings.convergence {
            after_convergence = Some(samples.clone());
        }
        last = samples;
        if since_ready >= settings.duration {
            break;
        }
        let next = settings.scrape_every * points.len() as u32;
        tokio::time::sleep(next.saturating_sub(ready.elapsed())).await;
    }
    Ok(Outcome {
        blink: tracker.summary(),
        cpu: cpu(&points, settings.convergence, ticks_per_second),
        after_convergence,
        last,
        last_body_bytes,
        last_series,
        rss_bytes,
        rss_max_bytes,
        last_throttled_after_ready,
        refresh_period: median_period(&refresh_ends),
    })
}

fn cpu(points: &[Point], convergence: Duration, ticks_per_second: f64) -> Cpu {
    let per_minute = |ticks: u64, seconds: f64| ticks as f64 / ticks_per_second / seconds * 60.0;
    let start = points
        .iter()
        .position(|p| p.since_ready >= convergence)
        .filter(|&i| i + 1 < points.len())
        .unwrap_or(0);
    let (first, last) = (&points[start], &points[points.len() - 1]);
    let steady_window_seconds = (last.since_ready - first.since_ready).as_secs_f64();
    let (mut idle_ticks, mut idle_seconds) = (0, 0.0);
    for pair in points.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        if before.requests == after.requests && before.cycle_ends == after.cycle_ends {
            idle_ticks += after.cpu_ticks - before.cpu_ticks;
            idle_seconds += (after.since_ready - before.since_ready).as_secs_f64();
        }
    }
    Cpu {
        steady_seconds_per_minute: if steady_window_seconds > 0.0 {
            per_minute(last.cpu_ticks - first.cpu_ticks, steady_window_seconds)
        } else {
            0.0
        },
        steady_window_seconds,
        idle_seconds_per_minute: (idle_seconds > 0.0).then(|| per_minute(idle_ticks, idle_seconds)),
        idle_window_seconds: idle_seconds,
    }
}

fn median_period(ends: &[f64]) -> Option<Duration> {
    let mut gaps: Vec<f64> = ends.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort_by(f64::total_cmp);
    gaps.get(gaps.len() / 2)
        .map(|&gap| Duration::from_secs_f64(gap.max(0.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(second: u64, ticks: u64, requests: f64, end: f64) -> Point {
        Point {
            since_ready: Duration::from_secs(second),
            cpu_ticks: ticks,
            requests,
            cycle_ends: vec![end],
        }
    }

    #[test]
    fn idle_cpu_counts_only_windows_without_requests_or_cycle_ends() {
        let points = [
            point(0, 0, 10.0, 1.0),
            point(30, 300, 20.0, 2.0), // busy: 3 s of CPU
            point(60, 303, 20.0, 2.0), // idle: 0.03 s
            point(90, 306, 20.0, 2.0), // idle: 0.03 s
        ];
        let cpu = cpu(&points, Duration::from_secs(30), 100.0);
        assert_eq!(cpu.steady_window_seconds, 60.0);
        assert!((cpu.steady_seconds_per_minute - 0.06).abs() < 1e-9);
        assert_eq!(cpu.idle_window_seconds, 60.0);
        assert!((cpu.idle_seconds_per_minute.unwrap() - 0.06).abs() < 1e-9);
    }

    #[test]
    fn no_idle_window_is_reported_as_none() {
        let points = [point(0, 0, 1.0, 1.0), point(5, 10, 2.0, 1.0)];
        let cpu = cpu(&points, Duration::from_secs(120), 100.0);
        assert_eq!(cpu.idle_seconds_per_minute, None);
        // Convergence was never reached: the whole phase is the window.
        assert_eq!(cpu.steady_window_seconds, 5.0);
    }

    #[test]
    fn refresh_period_is_the_median_gap() {
        assert_eq!(
            median_period(&[0.0, 30.0, 61.0, 90.0]),
            Some(Duration::from_secs(30))
        );
        assert_eq!(median_period(&[5.0]), None);
    }
}
