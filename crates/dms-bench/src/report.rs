//! The benchmark's figures: one serialisable report, printed as readable tables.

use std::fmt::Write as _;

use serde::Serialize;

use crate::blink::BlinkSummary;
use crate::collection::{CollectorRow, Throttling};
use crate::exporter::Budget;
use crate::load::{LoadResult, Tool};
use crate::sim::Fleet;
use crate::steady::Cpu;
use crate::throughput::{self, Window, WindowKind};

#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub fleet: Fleet,
    pub budget: Budget,
    pub projects: usize,
    pub duration_seconds: f64,
    pub ready_seconds: f64,
    pub first_collection: FirstCollection,
    pub collectors: Vec<CollectorRow>,
    pub throttling: ThrottlingReport,
    /// `(host, requests per second)` from `dms_api_effective_rate_limit`.
    pub effective_rates: Vec<(String, f64)>,
    pub exposition_bytes: usize,
    pub exposition_series: usize,
    pub rss_bytes: u64,
    pub rss_max_bytes: u64,
    pub cpu: Cpu,
    pub blink: BlinkSummary,
    pub load_tool: Tool,
    pub windows: Vec<Window>,
}

#[derive(Debug, Serialize)]
pub(crate) struct FirstCollection {
    /// Every request until ready, any api, any code.
    pub api_calls: f64,
    /// `api_calls ÷ rate_limit`.
    pub bound_seconds: f64,
    /// The largest `dms_collector_expected_cycle_seconds` at ready.
    pub slowest_collector_bound_seconds: Option<f64>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ThrottlingReport {
    pub first_collection: Throttling,
    /// From ready until the convergence window ends (or the phase does).
    pub convergence: Throttling,
    pub convergence_seconds: f64,
    /// After the convergence window; `None` when `--duration` did not reach past it.
    pub steady: Option<Throttling>,
    pub last_throttled_after_ready_seconds: Option<f64>,
    /// Per api: `(api, first collection, after ready)`, only apis with any throttling or 404.
    pub by_api: Vec<(String, Throttling, Throttling)>,
    /// The simulator's own count, when `/_sim/requests` exposes one.
    pub simulator_throttled: Option<u64>,
}

fn opt(value: Option<f64>, digits: usize) -> String {
    value.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.digits$}"))
}

fn ratio(numerator: f64, denominator: f64) -> Option<f64> {
    (denominator > 0.0).then(|| numerator / denominator)
}

fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / 1024.0 / 1024.0)
}

fn throttling_cells(t: &Throttling) -> String {
    format!("{:>9} {:>7} {:>7}", t.throttled, t.code_429, t.code_404)
}

impl Report {
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        let w = &mut out;
        let b = self.budget;
        let _ = writeln!(
            w,
            "\n== dms-bench: {} project(s); exporter budget rate {} /s, burst {}, concurrency {}; \
             simulator limit {} ==",
            self.projects,
            b.rate_limit,
            b.burst,
            b.concurrency,
            self.fleet
                .rate_limit
                .map_or("none".to_owned(), |r| format!("{r} /s")),
        );
        let _ = writeln!(w, "fleet flags: {}", fleet_text(&self.fleet));

        let first = &self.first_collection;
        let _ = writeln!(w, "\n-- first collection --");
        let _ = writeln!(
            w,
            "time to /-/ready          {:>10.1} s",
            self.ready_seconds
        );
        let _ = writeln!(w, "API calls until ready     {:>10}", first.api_calls);
        let _ = writeln!(
            w,
            "bound (calls ÷ rate)      {:>10.1} s   ready ÷ bound {}",
            first.bound_seconds,
            opt(ratio(self.ready_seconds, first.bound_seconds), 2)
        );
        let _ = writeln!(
            w,
            "slowest collector bound   {:>10}     ready ÷ it    {}",
            opt(first.slowest_collector_bound_seconds, 1),
            opt(
                first
                    .slowest_collector_bound_seconds
                    .and_then(|bound| ratio(self.ready_seconds, bound)),
                2
            )
        );

        let _ = writeln!(
            w,
            "\n-- collectors (last full cycle at the end; worst project) --"
        );
        let _ = writeln!(
            w,
            "{:<18} {:>8} {:>10} {:>10} {:>10} {:>11}",
            "collector", "projects", "API calls", "cycle s", "bound s", "cycle/bound"
        );
        for row in &self.collectors {
            let _ = writeln!(
                w,
                "{:<18} {:>8} {:>10} {:>10.2} {:>10} {:>11}",
                row.collector,
                row.projects,
                row.api_calls,
                row.cycle_seconds,
                opt(row.bound_seconds, 2),
                opt(row.ratio, 2)
            );
        }
        let rates = if self.effective_rates.is_empty() {
            "n/a".to_owned()
        } else {
            self.effective_rates
                .iter()
                .map(|(host, rate)| format!("{host} {rate:.1} /s"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(w, "effective rate per host: {rates}");

        let t = &self.throttling;
        let _ = writeln!(w, "\n-- throttled answers (exporter's counts) --");
        let _ = writeln!(
            w,
            "{:<28} {:>9} {:>7} {:>7}",
            "phase", "throttled", "429", "404"
        );
        let _ = writeln!(
            w,
            "{:<28} {}",
            "first collection",
            throttling_cells(&t.first_collection)
        );
        let _ = writeln!(
            w,
            "{:<28} {}",
            format!("ready .. +{:.0}s (convergence)", t.convergence_seconds),
            throttling_cells(&t.convergence)
        );
        match &t.steady {
            Some(steady) => {
                let _ = writeln!(w, "{:<28} {}", "steady state", throttling_cells(steady));
            }
            None => {
                let _ = writeln!(
                    w,
                    "{:<28} n/a (--duration ends within convergence)",
                    "steady state"
                );
            }
        }
        let _ = writeln!(
            w,
            "last throttled answer after ready: {}",
            t.last_throttled_after_ready_seconds
                .map_or("none".to_owned(), |s| format!("+{s:.0} s"))
        );
        for (api, first, after) in &t.by_api {
            let _ = writeln!(
                w,
                "  {api:<26} first {}   after ready {}",
                throttling_cells(first),
                throttling_cells(after)
            );
        }
        let _ = writeln!(
            w,
            "simulator's throttled answers: {}",
            t.simulator_throttled.map_or(
                "not exposed (see the exporter's 429 counts)".to_owned(),
                |n| n.to_string()
            )
        );

        let _ = writeln!(w, "\n-- /metrics ({:?} load) --", self.load_tool);
        let _ = writeln!(
            w,
            "{:<9} {:<6} {:<8} {:>10} {:>10} {:>8}",
            "target", "body", "window", "req/s", "p99 ms", "errors"
        );
        for window in &self.windows {
            let _ = writeln!(
                w,
                "{:<9} {:<6} {:<8} {:>10.1} {:>10.2} {:>8}",
                window.target,
                if window.gzip { "gzip" } else { "plain" },
                format!("{:?}", window.kind).to_lowercase(),
                window.result.requests_per_second,
                window.result.p99_seconds * 1e3,
                window.result.errors
            );
        }
        for gzip in [false, true] {
            let find = |target, kind| throughput::find(&self.windows, target, gzip, kind);
            let idle = find("exporter", WindowKind::Idle);
            let refresh = find("exporter", WindowKind::Refresh);
            let nginx = find("nginx", WindowKind::Idle);
            let rate = |a: Option<&LoadResult>, b: Option<&LoadResult>| {
                opt(
                    a.zip(b)
                        .and_then(|(a, b)| ratio(a.requests_per_second, b.requests_per_second)),
                    2,
                )
            };
            let p99 = opt(
                refresh
                    .zip(idle)
                    .and_then(|(r, i)| ratio(r.p99_seconds, i.p99_seconds)),
                2,
            );
            let _ = writeln!(
                w,
                "{:<6} exporter idle ÷ nginx req/s {}   p99 refresh ÷ idle {}",
                if gzip { "gzip" } else { "plain" },
                rate(idle, nginx),
                p99
            );
        }

        let _ = writeln!(w, "\n-- memory and CPU --");
        let _ = writeln!(
            w,
            "exposition                {} ({} samples)",
            mib(self.exposition_bytes as f64),
            self.exposition_series
        );
        let _ = writeln!(
            w,
            "RSS at end / max          {} / {}   RSS ÷ exposition {}",
            mib(self.rss_bytes as f64),
            mib(self.rss_max_bytes as f64),
            opt(
                ratio(self.rss_bytes as f64, self.exposition_bytes as f64),
                2
            )
        );
        let cpu = &self.cpu;
        let _ = writeln!(
            w,
            "CPU steady state          {:.3} s/min over {:.0} s",
            cpu.steady_seconds_per_minute, cpu.steady_window_seconds
        );
        let _ = writeln!(
            w,
            "CPU between refreshes     {} s/min over {:.0} s (scrape intervals without API calls or cycle ends)",
            opt(cpu.idle_seconds_per_minute, 3),
            cpu.idle_window_seconds
        );

        let blink = &self.blink;
        let _ = writeln!(
            w,
            "\n-- blinking series over {:.0} s --",
            self.duration_seconds
        );
        let _ = writeln!(
            w,
            "scrapes {}   data series {}   blinked {} ({} returns)   appeared later {}   gone at end {}",
            blink.scrapes,
            blink.series,
            blink.blinked,
            blink.blinks,
            blink.appeared_later,
            blink.gone_at_end
        );
        for example in &blink.examples {
            let _ = writeln!(w, "  blinked: {example}");
        }
        for example in &blink.appeared_examples {
            let _ = writeln!(w, "  appeared later: {example}");
        }
        out
    }
}

fn fleet_text(fleet: &Fleet) -> String {
    let flags = fleet.flags();
    if flags.is_empty() {
        "(none: the deterministic preset's fleet)".to_owned()
    } else {
        flags.join(" ")
    }
}
