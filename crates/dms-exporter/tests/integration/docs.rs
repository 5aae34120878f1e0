//! Tidy tests: the docs say what the code does.

use std::path::PathBuf;

use dms_exporter::config::{COLLECTOR_NAMES, CollectorsConfig};
use dms_exporter::metrics::catalog;

const BEGIN: &str = "<!-- BEGIN GENERATED: families (tests/integration/docs.rs) -->";
const END: &str = "<!-- END GENERATED -->";

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn interval(collector: &str) -> String {
    match collector {
        "scrape" => "at scrape".to_owned(),
        "all" => "each collector's".to_owned(),
        name => CollectorsConfig::default()
            .settings(name)
            .and_then(|s| s.interval)
            .map(|d| humantime::format_duration(d.0).to_string())
            .unwrap_or_else(|| panic!("collector {name} has no settings")),
    }
}

fn table() -> String {
    let mut out = String::from(
        "| family | type | unit | labels | source | collector (default interval) | help |\n|---|---|---|---|---|---|---|\n",
    );
    for family in catalog::ALL {
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
            family.collector,
            interval(family.collector),
            family.help.replace('|', "\\|"),
        ));
    }
    out
}

#[test]
fn metrics_md_lists_exactly_the_registered_families() {
    let path = repo_file("docs/metrics.md");
    let text = std::fs::read_to_string(&path).expect("docs/metrics.md exists");
    let (head, rest) = text.split_once(BEGIN).expect("BEGIN marker");
    let (current, tail) = rest.split_once(END).expect("END marker");
    let wanted = format!("\n{}", table());
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, format!("{head}{BEGIN}{wanted}{END}{tail}"))
            .expect("rewrite docs/metrics.md");
        return;
    }
    assert_eq!(
        current, wanted,
        "docs/metrics.md is out of date: run UPDATE_GOLDEN=1 cargo test and review the diff"
    );
}

#[test]
fn configuration_example_is_valid() {
    let path = repo_file("docs/dms_exporter.example.yml");
    if let Err(error) = dms_exporter::config::load_file(&path) {
        panic!("{error}");
    }
}

#[test]
fn configuration_md_names_every_collector_with_its_default_interval() {
    let text = std::fs::read_to_string(repo_file("docs/configuration.md"))
        .expect("docs/configuration.md exists");
    for collector in COLLECTOR_NAMES {
        let row = format!("| `{collector}` | {} |", interval(collector));
        assert!(
            text.contains(&row),
            "docs/configuration.md lacks the row {row}"
        );
    }
}
