//! Alert rules: every alerting rule of `alerts/*.yml` (the Prometheus rule files), as data for
//! the tests, the end-to-end test and the PrometheusRule generator.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// One alerting rule of a rule group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRule {
    /// The rule group's name.
    pub group: String,
    /// The alert's name (`alert:`).
    pub name: String,
    /// The PromQL expression, without the trailing newline of a YAML block.
    pub expr: String,
    /// `for:`, as written (`10m`), if any.
    pub for_: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RuleFile {
    #[serde(default)]
    groups: Vec<RuleGroup>,
}

#[derive(Deserialize)]
struct RuleGroup {
    name: String,
    #[serde(default)]
    rules: Vec<Rule>,
}

/// One recording rule of a rule group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingRule {
    /// The rule file, by path from the repository root.
    pub file: String,
    /// The rule group's name.
    pub group: String,
    /// The recorded series' name (`record:`).
    pub name: String,
    /// The PromQL expression, without the trailing newline of a YAML block.
    pub expr: String,
}

#[derive(Deserialize)]
struct Rule {
    /// Absent on recording rules, which are skipped.
    alert: Option<String>,
    /// Absent on alerting rules.
    record: Option<String>,
    expr: String,
    #[serde(rename = "for")]
    for_: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// The rule files: `alerts/*.yml` (and `*.yaml`), by path from the repository root, sorted.
/// The unit tests under `alerts/tests/` are not rule files.
pub fn rule_files() -> Vec<String> {
    files_in("alerts")
}

/// The promtool unit-test files: `alerts/tests/*.yml`, by path from the repository root, sorted.
pub fn rule_test_files() -> Vec<String> {
    files_in("alerts/tests")
}

fn files_in(dir: &str) -> Vec<String> {
    let path: PathBuf = crate::repo_file(dir);
    let entries = std::fs::read_dir(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut files: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.ends_with(".yml") || name.ends_with(".yaml"))
        .map(|name| format!("{dir}/{name}"))
        .collect();
    files.sort();
    files
}

/// Parses one rule file's text; `file` only names it in errors.
pub fn parse_alert_rules(file: &str, text: &str) -> Result<Vec<AlertRule>, String> {
    let parsed: RuleFile =
        serde_saphyr::from_str(text).map_err(|e| format!("{file}: not a rule file: {e}"))?;
    let mut rules = Vec::new();
    for group in parsed.groups {
        for rule in group.rules {
            let Some(name) = rule.alert else { continue };
            rules.push(AlertRule {
                group: group.name.clone(),
                name,
                expr: rule.expr.trim_end().to_owned(),
                for_: rule.for_,
                labels: rule.labels,
                annotations: rule.annotations,
            });
        }
    }
    Ok(rules)
}

/// Every alerting rule of every rule file, in file and group order. Panics, naming the file,
/// when a rule file cannot be read or parsed (the repository is broken, not the caller).
pub fn alert_rules() -> Vec<AlertRule> {
    rule_files()
        .iter()
        .flat_map(|file| {
            parse_alert_rules(file, &crate::read(file)).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

/// Every recording rule of every rule file, in file and group order. Panics like
/// [`alert_rules`].
pub fn recording_rules() -> Vec<RecordingRule> {
    let mut rules = Vec::new();
    for file in rule_files() {
        let parsed: RuleFile = serde_saphyr::from_str(&crate::read(&file))
            .unwrap_or_else(|e| panic!("{file}: not a rule file: {e}"));
        for group in parsed.groups {
            for rule in group.rules {
                let Some(name) = rule.record else { continue };
                rules.push(RecordingRule {
                    file: file.clone(),
                    group: group.name.clone(),
                    name,
                    expr: rule.expr.trim_end().to_owned(),
                });
            }
        }
    }
    rules
}

/// The anchor GitHub gives a Markdown heading: lower case, spaces to `-`, punctuation other
/// than `-` and `_` dropped.
pub fn heading_anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}
