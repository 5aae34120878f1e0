//! The `process_*` families every Prometheus exporter has, read from `/proc/self` when
//! scraped (Linux only; elsewhere they are absent). Through the `procfs` crate, which knows
//! the clock tick and page size without `unsafe` here.

use super::catalog;
use super::exposition::{Format, write_header, write_sample};

/// One reading of the process's resources. A field is `None` when its file cannot be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessSample {
    pub cpu_seconds: Option<f64>,
    pub resident_memory_bytes: Option<f64>,
    pub virtual_memory_bytes: Option<f64>,
    pub open_fds: Option<f64>,
    pub max_fds: Option<f64>,
    pub start_time_seconds: Option<f64>,
}

/// Reads the process's resources now. `started_unix` is the start time to report when the
/// kernel's cannot be computed: it needs the boot time from `/proc/stat`, which systemd's
/// `ProcSubset=pid` hides.
#[cfg(target_os = "linux")]
pub fn sample(started_unix: f64) -> ProcessSample {
    let Ok(process) = procfs::process::Process::myself() else {
        return ProcessSample::default();
    };
    let ticks = procfs::ticks_per_second() as f64;
    let stat = process.stat().ok();
    let kernel_start = stat.as_ref().and_then(|stat| {
        let boot = procfs::boot_time_secs().ok()? as f64;
        Some(boot + stat.starttime as f64 / ticks)
    });
    let max_fds = process
        .limits()
        .ok()
        .and_then(|limits| match limits.max_open_files.soft_limit {
            procfs::process::LimitValue::Value(n) => Some(n as f64),
            // Prometheus's client reports an unlimited soft limit as no value.
            procfs::process::LimitValue::Unlimited => None,
        });
    ProcessSample {
        cpu_seconds: stat.as_ref().map(|s| (s.utime + s.stime) as f64 / ticks),
        resident_memory_bytes: stat.as_ref().map(|s| (s.rss * procfs::page_size()) as f64),
        virtual_memory_bytes: stat.as_ref().map(|s| s.vsize as f64),
        open_fds: process.fd_count().ok().map(|n| n as f64),
        max_fds,
        start_time_seconds: Some(kernel_start.unwrap_or(started_unix)),
    }
}

/// No `/proc` to read: the families are absent.
#[cfg(not(target_os = "linux"))]
pub fn sample(_started_unix: f64) -> ProcessSample {
    ProcessSample::default()
}

/// Appends the `process_*` families that have a value.
pub fn encode(sample: &ProcessSample, format: Format, out: &mut String) {
    for (family, value) in [
        (&catalog::PROCESS_CPU_SECONDS, sample.cpu_seconds),
        (&catalog::PROCESS_MAX_FDS, sample.max_fds),
        (&catalog::PROCESS_OPEN_FDS, sample.open_fds),
        (
            &catalog::PROCESS_RESIDENT_MEMORY,
            sample.resident_memory_bytes,
        ),
        (&catalog::PROCESS_START_TIME, sample.start_time_seconds),
        (
            &catalog::PROCESS_VIRTUAL_MEMORY,
            sample.virtual_memory_bytes,
        ),
    ] {
        if let Some(value) = value {
            write_header(family, format, out);
            write_sample(family.name, &[], &[], None, value, out);
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn value(text: &str, name: &str) -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} missing in\n{text}"));
        line.rsplit_once(' ')
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or_else(|| panic!("bad line {line}"))
    }

    #[test]
    fn process_metrics_describe_this_process() {
        let now = super::super::self_metrics::unix_now();
        // Hold a file open so the descriptor count has something to see.
        let _held = std::fs::File::open("/proc/self/status").expect("open");
        let mut out = String::new();
        encode(&sample(0.0), Format::Text, &mut out);
        assert!(
            out.contains("# TYPE process_cpu_seconds_total counter\n"),
            "{out}"
        );
        let resident = value(&out, "process_resident_memory_bytes");
        let virtual_memory = value(&out, "process_virtual_memory_bytes");
        assert!(resident > 1e5 && resident <= virtual_memory, "{out}");
        let open = value(&out, "process_open_fds");
        let max = value(&out, "process_max_fds");
        assert!(open >= 4.0 && open <= max, "{out}");
        let start = value(&out, "process_start_time_seconds");
        // The test process started within the last hour, not at the fallback (0).
        assert!(
            start <= now + 1.0 && start > now - 3600.0,
            "{start} vs {now}"
        );
        let cpu = value(&out, "process_cpu_seconds_total");
        assert!(cpu >= 0.0 && cpu.is_finite(), "{out}");
    }

    #[test]
    fn absent_values_leave_their_family_out() {
        let mut out = String::new();
        let sample = ProcessSample {
            open_fds: Some(7.0),
            ..ProcessSample::default()
        };
        encode(&sample, Format::OpenMetrics, &mut out);
        assert_eq!(
            out.lines()
                .filter(|l| !l.starts_with('#'))
                .collect::<Vec<_>>(),
            ["process_open_fds 7"]
        );
    }
}
