//! Helpers shared by the operations tests (`tests/ops`): where the repository is, which metric
//! names the exporter really exports, and how to run the Prometheus tools.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Output};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file of the repository, by path from the root.
pub fn repo_file(path: &str) -> PathBuf {
    repo_root().join(path)
}

/// Reads a repository file, naming it when it cannot.
pub fn read(path: &str) -> String {
    std::fs::read_to_string(repo_file(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every sample name in the golden `/metrics` output (histograms contribute their `_bucket`,
/// `_sum` and `_count` series), plus the self-metrics, which the golden file leaves out
/// because their values vary: their names come from the same catalogue as
/// `docs/metrics.md`'s table.
pub fn exported_metric_names() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let golden = read("crates/dms-exporter/tests/golden/metrics.txt");
    for line in golden
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let end = line.find(['{', ' ']).unwrap_or(line.len());
        names.insert(line[..end].to_owned());
    }
    let docs = read("docs/metrics.md");
    for line in docs.lines().filter(|l| l.starts_with("| `dms_")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (name, kind, collector) = (cells[1].trim_matches('`'), cells[2], cells[6]);
        if !collector.starts_with("scrape") {
            continue;
        }
        if kind == "histogram" {
            for suffix in ["_bucket", "_sum", "_count"] {
                names.insert(format!("{name}{suffix}"));
            }
        } else {
            names.insert(name.to_owned());
        }
    }
    names
}

/// Metric names referenced by a PromQL expression: identifiers starting with `dms_`.
pub fn metric_names_in(expr: &str) -> BTreeSet<String> {
    let pattern = regex::Regex::new(r"\bdms_[a-zA-Z0-9_]+").unwrap_or_else(|e| panic!("{e}"));
    pattern
        .find_iter(expr)
        .map(|m| m.as_str().to_owned())
        .collect()
}

/// Runs a tool and returns its output; panics with a clear message when it is not installed.
pub fn run_tool(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(repo_root())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{program} must be installed ({e}); scripts/test installs it from Debian's packages"
            )
        })
}

pub mod alerts;
pub mod dashboards;

/// A binary of the workspace, built by `cargo test --workspace` into the same target
/// directory as this test (`target/debug/deps/ops-…` → `target/debug/<name>`).
pub fn workspace_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap_or_else(|| panic!("unexpected test binary path {}", exe.display()));
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (scripts/test does)",
        path.display()
    );
    path
}
