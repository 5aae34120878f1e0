//! `--state.file` against the real binary: restoring a large file costs the memory of the
//! histories it yields, not the file's size again (a 50 MB file raised the peak from 14 to
//! 62 MB when it was read whole, then parsed whole, then restored).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A state file of `partitions` histories of `points` points each, all at one offset: it
/// restores to two points per partition, so whatever memory the restore needs beyond that
/// is the reading's own.
fn write_flat_state_file(path: &Path, partitions: usize, points: usize) {
    let file = std::fs::File::create(path).expect("create the state file");
    let mut out = std::io::BufWriter::new(file);
    write!(out, r#"{{"version":1,"log_end_histories":["#).expect("write");
    for partition in 0..partitions {
        if partition > 0 {
            write!(out, ",").expect("write");
        }
        write!(
            out,
            r#"{{"instance_id":"57504856-3663-0572-48a3-6c221f13ad10","topic":"orders","partition":"{partition}","points":["#
        )
        .expect("write");
        for point in 0..points {
            let separator = if point > 0 { "," } else { "" };
            let time_ms = 1_700_000_000_000_i64 + point as i64 * 1_000;
            write!(
                out,
                r#"{separator}{{"offset":1234567,"time_ms":{time_ms}}}"#
            )
            .expect("write");
        }
        write!(out, "]}}").expect("write");
    }
    write!(out, "]}}").expect("write");
    out.flush().expect("flush");
}

/// The peak resident memory (kB) of `--demo --state.file <path>` when the state file has been
/// dealt with (its log line), before the collection has run for long.
fn peak_kb_after_restore(path: &Path) -> u64 {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dms_exporter"))
        .args([
            "--demo",
            "--demo.simulator-address",
            "127.0.0.1:0",
            "--web.listen-address",
            "127.0.0.1:0",
            "--log.level",
            "info",
        ])
        .arg("--state.file")
        .arg(path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let pid = child.id();
    let stderr = child.stderr.take().expect("stderr is piped");
    let mut seen = Vec::new();
    let mut peak = None;
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        let done = line.contains("log end histories restored")
            || line.contains("no state file yet")
            || line.contains("saved log end histories");
        seen.push(line);
        if done {
            peak = std::fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .and_then(|status| {
                    status
                        .lines()
                        .find_map(|l| l.strip_prefix("VmHWM:"))
                        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                });
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    peak.unwrap_or_else(|| panic!("no state file log line or no VmHWM: {seen:#?}"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "dms-exporter-state-it-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

#[cfg(target_os = "linux")]
#[test]
fn restoring_a_large_state_file_does_not_hold_it_in_memory() {
    let dir = scratch("peak");
    let large = dir.join("state.json");
    // About 64 MB: 1,200 partitions of 1,250 points.
    write_flat_state_file(&large, 1_200, 1_250);
    let size_kb = std::fs::metadata(&large)
        .map(|m| m.len() / 1024)
        .expect("size");
    let without = peak_kb_after_restore(&dir.join("absent.json"));
    let with = peak_kb_after_restore(&large);
    let _ = std::fs::remove_dir_all(&dir);
    let extra = with.saturating_sub(without);
    eprintln!("peak without a state file {without} kB, with a {size_kb} kB one {with} kB");
    assert!(
        extra < size_kb / 4,
        "restoring a {size_kb} kB state file raised the peak by {extra} kB ({without} → {with})"
    );
}
