//! Helpers shared by the operations tests (`tests/ops`): where the repository is, which metric
//! names the exporter really exports, and how to run the Prometheus tools.

use std::collections::{BTreeMap, BTreeSet};
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

/// The type of every sample name the exporter can emit, from the catalogue's table in
/// `docs/metrics.md` (a tidy test keeps it equal to
/// `collect::registry::families()`): `counter`, `gauge`,
/// `stateset`, `info`; a histogram family contributes `_bucket`, `_sum` and `_count`, which
/// are counters.
pub fn metric_types() -> BTreeMap<String, String> {
    let mut types = BTreeMap::new();
    let docs = read("docs/metrics.md");
    for line in docs.lines().filter(|l| l.starts_with("| `dms_")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (name, kind) = (cells[1].trim_matches('`'), cells[2]);
        if kind == "histogram" {
            for suffix in ["_bucket", "_sum", "_count"] {
                types.insert(format!("{name}{suffix}"), "counter".to_owned());
            }
        } else {
            types.insert(name.to_owned(), kind.to_owned());
        }
    }
    types
}

/// The arguments of every call of the named PromQL functions in an expression, e.g. for
/// `["rate"]` in `sum(rate(x{a="b"}[5m]))`: `x{a="b"}[5m]`. A name only counts as a whole
/// identifier (`irate` is not `rate`); parentheses inside quoted strings are skipped.
pub fn function_arguments(expr: &str, functions: &[&str]) -> Vec<(String, String)> {
    let pattern = regex::Regex::new(r"\b([a-z_]+)\s*\(").unwrap_or_else(|e| panic!("{e}"));
    let mut found = Vec::new();
    for caps in pattern.captures_iter(expr) {
        let name = &caps[1];
        if !functions.contains(&name) {
            continue;
        }
        let start = caps.get(0).map_or(0, |m| m.end());
        let (mut depth, mut quote, mut end) = (1usize, None::<char>, expr.len());
        let mut chars = expr[start..].char_indices();
        while let Some((i, c)) = chars.next() {
            match (quote, c) {
                (Some(_), '\\') => {
                    chars.next();
                }
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'' | '`') => quote = Some(c),
                (None, '(') => depth += 1,
                (None, ')') => {
                    depth -= 1;
                    if depth == 0 {
                        end = start + i;
                        break;
                    }
                }
                _ => {}
            }
        }
        found.push((name.to_owned(), expr[start..end].to_owned()));
    }
    found
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
