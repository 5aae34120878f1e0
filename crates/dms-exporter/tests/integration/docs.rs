//! Tidy tests: the docs say what the code does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use dms_exporter::collect::registry::{self, Producer};
use dms_exporter::config::{CollectorsConfig, DEFAULT_JITTER};

const BEGIN: &str = "<!-- BEGIN GENERATED: families (tests/integration/docs.rs) -->";
const END: &str = "<!-- END GENERATED -->";

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// A collector's default interval, as the docs write it.
fn default_interval(collector: &str) -> String {
    CollectorsConfig::default()
        .settings(collector)
        .and_then(|s| s.interval)
        .map(|d| humantime::format_duration(d.0).to_string())
        .unwrap_or_else(|| panic!("collector {collector} has no settings"))
}

fn interval(producer: Producer) -> String {
    match producer {
        Producer::Scrape => "at scrape".to_owned(),
        Producer::EveryCollector => "each collector's".to_owned(),
        Producer::Collector(description) => default_interval(description.name),
    }
}

fn table() -> String {
    let mut out = String::from(
        "| family | type | unit | labels | source | collector (default interval) | help |\n|---|---|---|---|---|---|---|\n",
    );
    for family in registry::families() {
        let producer = registry::producer_of(family);
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} ({}) | {} |\n",
            family.name,
            family.kind.doc_name(),
            family.unit.unwrap_or("-"),
            family
                .labels
                .iter()
                .map(|l| format!("`{l}`"))
                .collect::<Vec<_>>()
                .join(", "),
            family.source.replace('|', "\\|"),
            producer.label(),
            interval(producer),
            family.help.replace('|', "\\|"),
        ));
    }
    out
}

/// Compares the block between `begin` and [`END`] in a docs file with `wanted`, or rewrites
/// it under `UPDATE_GOLDEN=1`.
fn check_generated(path: &str, begin: &str, wanted: &str) {
    let file = repo_file(path);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{path}: {e}"));
    let (head, rest) = text
        .split_once(begin)
        .unwrap_or_else(|| panic!("{path}: no {begin}"));
    let (current, tail) = rest
        .split_once(END)
        .unwrap_or_else(|| panic!("{path}: no {END} after {begin}"));
    let wanted = format!("\n{wanted}");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&file, format!("{head}{begin}{wanted}{END}{tail}"))
            .unwrap_or_else(|e| panic!("rewrite {path}: {e}"));
        return;
    }
    assert_eq!(
        current, wanted,
        "{path} is out of date: run UPDATE_GOLDEN=1 cargo test and review the diff"
    );
}

#[test]
fn metrics_md_lists_exactly_the_registered_families() {
    check_generated("docs/metrics.md", BEGIN, &table());
}

const CLOUDEYE_EXPORTER_BEGIN: &str =
    "<!-- BEGIN GENERATED: cloudeye-exporter comparison (tests/integration/docs.rs) -->";

/// docs/cloud-eye.md's comparison with cloudeye-exporter: every Cloud Eye metric the `ces`
/// collector exports, the series cloudeye-exporter makes of it and the family it is here.
fn cloudeye_exporter_table() -> String {
    use dms_exporter::collect::ces::catalog::METRICS;
    let mut out = String::from(
        "| engine | CES level | CES metric (`SYS.DMS`) | cloudeye-exporter series | dms_exporter family | labels | value |\n|---|---|---|---|---|---|---|\n",
    );
    for metric in METRICS {
        let value = match metric.family.unit {
            Some("ratio") => "% ÷ 100",
            Some("seconds") => "ms ÷ 1000",
            _ => "as sent",
        };
        out.push_str(&format!(
            "| {} | {} | `{}` | `huaweicloud_sys_dms_{}` | `{}` | {} | {} |\n",
            metric.engine.as_str(),
            metric.level.as_str(),
            metric.name,
            metric.name,
            metric.family.name,
            metric
                .family
                .labels
                .iter()
                .map(|l| format!("`{l}`"))
                .collect::<Vec<_>>()
                .join(", "),
            value,
        ));
    }
    out
}

#[test]
fn cloud_eye_md_compares_every_exported_ces_metric() {
    check_generated(
        "docs/cloud-eye.md",
        CLOUDEYE_EXPORTER_BEGIN,
        &cloudeye_exporter_table(),
    );
}

#[test]
fn configuration_example_is_valid() {
    let path = repo_file("docs/dms_exporter.example.yml");
    if let Err(error) = dms_exporter::config::load_file(&path) {
        panic!("{error}");
    }
}

/// The rows of docs/configuration.md's collector table: (collector, default interval).
fn configuration_md_collector_rows(text: &str) -> Vec<(String, String)> {
    let section = text
        .split_once("## Collectors")
        .map(|(_, rest)| rest)
        .expect("docs/configuration.md has a Collectors section");
    let table = section
        .split_once("| collector | default interval |")
        .map(|(_, rest)| rest)
        .expect("the Collectors section has a collector table");
    table
        .lines()
        .skip(2) // the rest of the header line, and the |---| line
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_owned(), cells[2].to_owned())
        })
        .collect()
}

#[test]
fn configuration_md_lists_exactly_the_registered_collectors_with_their_default_intervals() {
    let text = std::fs::read_to_string(repo_file("docs/configuration.md"))
        .expect("docs/configuration.md exists");
    let documented = configuration_md_collector_rows(&text);
    let registered: Vec<(String, String)> = registry::descriptions()
        .iter()
        .map(|d| (d.name.to_owned(), default_interval(d.name)))
        .collect();
    assert_eq!(
        documented, registered,
        "docs/configuration.md's collector table must list the registered collectors, in order, with their default intervals"
    );
}

/// The value written after `default` following the first mention of `` `key` `` on a line.
fn documented_defaults(text: &str, key: &str) -> Vec<String> {
    let mention = format!("{key}`");
    text.lines()
        .filter_map(|line| {
            let (_, after) = line.split_once(&mention)?;
            let (_, value) = after.split_once("default ")?;
            let value = value
                .split(|c: char| c.is_whitespace() || matches!(c, ')' | ';' | ','))
                .next()?;
            Some(value.trim_matches('`').to_owned())
        })
        .collect()
}

#[test]
fn configuration_md_states_every_option_default_as_the_registry_does() {
    let text = std::fs::read_to_string(repo_file("docs/configuration.md"))
        .expect("docs/configuration.md exists");
    let mut keys: Vec<(&str, String)> = registry::options()
        .iter()
        .map(|o| (o.key, o.default_text()))
        .collect();
    keys.push(("jitter", DEFAULT_JITTER.to_string()));
    for (key, default) in keys {
        let documented = documented_defaults(&text, key);
        assert!(
            !documented.is_empty(),
            "docs/configuration.md does not give the default of `{key}`"
        );
        for value in documented {
            assert_eq!(value, default, "docs/configuration.md: default of `{key}`");
        }
    }
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn the_metrics_layer_names_nothing_of_the_cloud_client() {
    // ARCHITECTURE.md, invariant 3: `metrics` knows neither HTTP nor the cloud; what the
    // self-metrics learn of the client comes through `api_observer.rs`.
    let files = rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/metrics"));
    assert!(
        files
            .iter()
            .any(|path| path.ends_with("self_metrics/mod.rs")),
        "{files:?}"
    );
    let leaking: Vec<String> = files
        .iter()
        .filter(|path| {
            std::fs::read_to_string(path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .contains("dms_cloud")
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        leaking.is_empty(),
        "metrics/ names dms_cloud in {leaking:?}"
    );
}

#[test]
fn no_task_local_carries_data_between_layers() {
    // Issue 17: a round's flow and counters travel in the client handle (`for_flow`) and the
    // collector's `Context`, so a reader can follow them through signatures.
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for krate in ["dms-exporter", "dms-cloud", "dms-sign", "dms-sim"] {
        files.extend(rust_files(&crates.join(krate).join("src")));
    }
    assert!(files.len() > 50, "{} source files", files.len());
    let with_task_locals: Vec<String> = files
        .iter()
        .filter(|path| {
            std::fs::read_to_string(path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .contains(concat!("task_local", "!"))
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        with_task_locals.is_empty(),
        "task-locals in {with_task_locals:?}"
    );
}

/// The crate's top-level modules each file of `src` belongs to, with the top-level modules
/// its code (tests left out) names through `crate::`.
fn module_edges(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in rust_files(src) {
        let relative = path.strip_prefix(src).expect("under src");
        let module = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .map(|name| name.trim_end_matches(".rs").to_owned())
            .expect("a module");
        if ["lib", "main", "tests"].contains(&module.as_str()) || relative.ends_with("tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        // Unit tests may reach across layers; the code may not.
        let code = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or_default();
        let named = edges.entry(module.clone()).or_default();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let other: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !other.is_empty() && other != module {
                named.insert(other);
            }
        }
    }
    edges
}

/// Fails on a path of edges that leads back to where it started.
fn assert_acyclic(what: &str, edges: &BTreeMap<String, BTreeSet<String>>) {
    for start in edges.keys() {
        let mut stack: Vec<Vec<&String>> = vec![vec![start]];
        while let Some(path) = stack.pop() {
            let last = path.last().copied().expect("a path");
            for next in edges.get(last).into_iter().flatten() {
                assert!(
                    next != start,
                    "{what}: import circle {} -> {next}",
                    path.iter()
                        .map(|m| m.as_str())
                        .collect::<Vec<_>>()
                        .join(" -> ")
                );
                if !path.contains(&next) {
                    let mut longer = path.clone();
                    longer.push(next);
                    stack.push(longer);
                }
            }
        }
    }
}

#[test]
fn no_import_circle_between_the_top_level_modules() {
    // Issue 17: `config` above `collect`, `snapshot` above the store, `metrics` below both.
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for krate in ["dms-exporter", "dms-cloud", "dms-sim"] {
        let edges = module_edges(&crates.join(krate).join("src"));
        assert!(edges.len() > 3, "{krate}: {edges:?}");
        assert_acyclic(krate, &edges);
    }
}

#[test]
fn no_import_circle_inside_the_configuration() {
    // `problem` is the leaf every validation step reports with. A module is a file of
    // `config/` or a directory (`validate/`), whose files name the others `crate::config::…`
    // (their `super::` is inside the directory).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config");
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in rust_files(&dir) {
        let relative = path.strip_prefix(&dir).expect("a file under config/");
        let nested = relative.components().count() > 1;
        let module = if nested {
            relative.components().next().map(|c| c.as_os_str())
        } else {
            relative.file_stem()
        }
        .and_then(|s| s.to_str())
        .expect("a file name")
        .to_owned();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        let code = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or_default();
        let named = edges.entry(module.clone()).or_default();
        let prefixes: &[&str] = if nested {
            &["crate::config::"]
        } else {
            &["super::", "crate::config::"]
        };
        for prefix in prefixes {
            for (at, _) in code.match_indices(prefix) {
                let other: String = code[at + prefix.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !other.is_empty() && other != module && module != "mod" {
                    named.insert(other);
                }
            }
        }
    }
    assert!(edges.contains_key("problem"), "{edges:?}");
    assert!(
        edges.get("load").is_some_and(|e| e.contains("validate"))
            && edges.get("validate").is_some_and(|e| e.contains("problem")),
        "{edges:?}"
    );
    assert_acyclic("config", &edges);
}
