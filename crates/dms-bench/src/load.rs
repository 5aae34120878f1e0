//! HTTP load on `/metrics`: `wrk --latency` when installed, otherwise an in-process loop of
//! the same shape (connections each sending requests back to back for a window).

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::Serialize;
use tokio::process::Command;
use tokio::sync::Mutex;

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub(crate) enum Tool {
    Wrk,
    InProcess,
}

/// The shape of one load window.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    pub connections: u32,
    pub window: Duration,
    pub tool: Tool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct LoadResult {
    pub requests: u64,
    pub requests_per_second: f64,
    pub p99_seconds: f64,
    /// Socket errors and non-2xx answers.
    pub errors: u64,
}

pub(crate) fn wrk_installed() -> bool {
    on_path("wrk")
}

pub(crate) fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// Loads `url` for one window; `gzip` adds `Accept-Encoding: gzip`.
pub(crate) async fn run(shape: Shape, url: &str, gzip: bool) -> anyhow::Result<LoadResult> {
    match shape.tool {
        Tool::Wrk => run_wrk(shape, url, gzip).await,
        Tool::InProcess => run_in_process(shape, url, gzip).await,
    }
}

async fn run_wrk(shape: Shape, url: &str, gzip: bool) -> anyhow::Result<LoadResult> {
    // Two threads: the machine has two cores, shared with the process under test.
    let threads = shape.connections.clamp(1, 2);
    let mut command = Command::new("wrk");
    command
        .arg("--latency")
        .args(["-t", &threads.to_string()])
        .args(["-c", &shape.connections.to_string()])
        .args(["-d", &format!("{}s", shape.window.as_secs().max(1))])
        .args(["--timeout", "30s"]);
    if gzip {
        command.args(["-H", "Accept-Encoding: gzip"]);
    }
    let output = command
        .arg(url)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed ({}): {}{}",
            output.status,
            text,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    parse_wrk(&text).with_context(|| format!("unexpected wrk output:\n{text}"))
}

/// Reads `Requests/sec`, the total, the 99th percentile of `--latency`'s distribution, socket
/// errors and non-2xx answers from wrk's report.
pub(crate) fn parse_wrk(text: &str) -> anyhow::Result<LoadResult> {
    let mut requests = None;
    let mut requests_per_second = None;
    let mut p99_seconds = None;
    let mut errors = 0;
    for line in text.lines().map(str::trim) {
        if let Some(rate) = line.strip_prefix("Requests/sec:") {
            requests_per_second = Some(rate.trim().parse().context("Requests/sec")?);
        } else if let Some(latency) = line.strip_prefix("99%") {
            p99_seconds = Some(parse_wrk_duration(latency.trim())?);
        } else if let Some(total) = line.split_once(" requests in ") {
            requests = Some(total.0.trim().parse().context("request count")?);
        } else if let Some(non_2xx) = line.strip_prefix("Non-2xx or 3xx responses:") {
            errors += non_2xx.trim().parse::<u64>().context("non-2xx count")?;
        } else if let Some(socket) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 3"
            for part in socket.split(',') {
                if let Some(count) = part.split_whitespace().nth(1) {
                    errors += count.parse::<u64>().context("socket error count")?;
                }
            }
        }
    }
    Ok(LoadResult {
        requests: requests.context("no request count")?,
        requests_per_second: requests_per_second.context("no Requests/sec")?,
        p99_seconds: p99_seconds.context("no 99% latency (was --latency given?)")?,
        errors,
    })
}

/// wrk prints `250.00us`, `1.20ms`, `2.00s`, `1.00m`.
fn parse_wrk_duration(text: &str) -> anyhow::Result<f64> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .with_context(|| format!("no unit in {text:?}"))?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .with_context(|| format!("duration {text:?}"))?;
    let scale = match unit {
        "us" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => bail!("unknown unit in {text:?}"),
    };
    Ok(number * scale)
}

async fn run_in_process(shape: Shape, url: &str, gzip: bool) -> anyhow::Result<LoadResult> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(shape.connections as usize)
        .build()?;
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + shape.window;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..shape.connections {
        let (client, url) = (client.clone(), url.to_owned());
        let (latencies, errors) = (Arc::clone(&latencies), Arc::clone(&errors));
        workers.spawn(async move {
            let mut own = Vec::new();
            while Instant::now() < deadline {
                let sent = Instant::now();
                let mut request = client.get(&url);
                if gzip {
                    request = request.header(reqwest::header::ACCEPT_ENCODING, "gzip");
                }
                let ok = match request.send().await {
                    Ok(response) if response.status().is_success() => {
                        response.bytes().await.is_ok()
                    }
                    _ => false,
                };
                if ok {
                    own.push(sent.elapsed().as_secs_f64());
                } else {
                    errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
            latencies.lock().await.extend(own);
        });
    }
    while workers.join_next().await.is_some() {}
    let elapsed = started.elapsed().as_secs_f64();
    let mut latencies = std::mem::take(&mut *latencies.lock().await);
    latencies.sort_by(f64::total_cmp);
    Ok(LoadResult {
        requests: latencies.len() as u64,
        requests_per_second: latencies.len() as f64 / elapsed,
        p99_seconds: percentile(&latencies, 0.99),
        errors: errors.load(std::sync::atomic::Ordering::Relaxed),
    })
}

/// Nearest-rank percentile of sorted values; 0 when there are none.
fn percentile(sorted: &[f64], quantile: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRK: &str = "Running 10s test @ http://127.0.0.1:9866/metrics
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   635.91us    0.89ms  12.92ms   93.69%
    Req/Sec     6.20k   807.00     7.00k    86.54%
  Latency Distribution
     50%  250.00us
     75%  491.00us
     90%    0.97ms
     99%    5.00ms
  123456 requests in 10.00s, 437.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  12345.60
Transfer/sec:     43.70MB
";

    #[test]
    fn parses_wrk_latency_report() {
        let result = parse_wrk(WRK).unwrap();
        assert_eq!(result.requests, 123_456);
        assert_eq!(result.requests_per_second, 12345.6);
        assert!((result.p99_seconds - 0.005).abs() < 1e-12);
        assert_eq!(result.errors, 7);
    }

    #[test]
    fn wrk_durations_in_every_unit() {
        assert!((parse_wrk_duration("250.00us").unwrap() - 250e-6).abs() < 1e-12);
        assert_eq!(parse_wrk_duration("2.00s").unwrap(), 2.0);
        assert_eq!(parse_wrk_duration("1.50m").unwrap(), 90.0);
        assert!(parse_wrk_duration("3.00x").is_err());
    }

    #[test]
    fn wrk_output_without_latency_is_refused() {
        let without = WRK.replace("     99%    5.00ms\n", "");
        assert!(parse_wrk(&without).is_err());
    }

    #[test]
    fn nearest_rank_percentile() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 0.99), 99.0);
        assert_eq!(percentile(&values[..1], 0.99), 1.0);
        assert_eq!(percentile(&[], 0.99), 0.0);
    }
}
