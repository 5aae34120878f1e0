//! Dashboards: reading `dashboards/*.json` (Grafana JSON models) for the tidy tests and the
//! end-to-end test, which runs every panel query against a real Prometheus.
//!
//! - [`dashboards`]: every dashboard file, parsed.
//! - [`panel_queries`]: every target `expr` of every panel, panels nested in rows included.
//! - [`template_variables`]: every query variable (`label_values(...)` queries).
//! - [`substitute`]: fills Grafana variables and built-ins so an expression can be sent to
//!   Prometheus as is.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::{Captures, Regex};
use serde_json::Value;

/// The dashboards directory, from the repository root.
pub const DIR: &str = "dashboards";

/// One PromQL expression of one panel target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanelQuery {
    /// The dashboard's `uid` (its file stem when it has none).
    pub dashboard: String,
    /// The panel's title (`Row title / panel title` for panels nested in a collapsed row).
    pub panel: String,
    /// The target's `expr`, variables not yet substituted.
    pub expr: String,
}

/// A parsed dashboard file.
#[derive(Debug, Clone)]
pub struct Dashboard {
    /// Path from the repository root, e.g. `dashboards/dms-kafka.json`.
    pub path: String,
    /// The dashboard's `uid` (its file stem when it has none).
    pub uid: String,
    /// The whole JSON model.
    pub json: Value,
}

/// Every `dashboards/*.json`, parsed, sorted by path. Panics naming the file when one cannot
/// be read or is not JSON.
pub fn dashboards() -> Vec<Dashboard> {
    let dir = crate::repo_file(DIR);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut paths: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .map(|name| format!("{DIR}/{name}"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = crate::read(&path);
            let json: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON: {e}"));
            let stem = path
                .trim_start_matches(&format!("{DIR}/"))
                .trim_end_matches(".json")
                .to_owned();
            let uid = json
                .get("uid")
                .and_then(Value::as_str)
                .map_or(stem, str::to_owned);
            Dashboard { path, uid, json }
        })
        .collect()
}

/// Every panel of a dashboard, depth first: top-level panels, then the panels a row holds
/// (collapsed rows keep theirs in `panels`). Each comes with its title path.
pub fn all_panels(dashboard: &Value) -> Vec<(String, &Value)> {
    fn walk<'a>(panels: &'a Value, prefix: &str, out: &mut Vec<(String, &'a Value)>) {
        for panel in panels.as_array().into_iter().flatten() {
            let title = panel.get("title").and_then(Value::as_str).unwrap_or("");
            let path = if prefix.is_empty() {
                title.to_owned()
            } else {
                format!("{prefix} / {title}")
            };
            out.push((path.clone(), panel));
            if let Some(nested) = panel.get("panels") {
                walk(nested, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    if let Some(panels) = dashboard.get("panels") {
        walk(panels, "", &mut out);
    }
    out
}

/// Every target `expr` of every panel of every dashboard, panels nested in rows included.
pub fn panel_queries() -> Vec<PanelQuery> {
    let mut queries = Vec::new();
    for dashboard in dashboards() {
        for (panel, value) in all_panels(&dashboard.json) {
            let targets = value.get("targets").and_then(Value::as_array);
            for target in targets.into_iter().flatten() {
                if let Some(expr) = target.get("expr").and_then(Value::as_str) {
                    queries.push(PanelQuery {
                        dashboard: dashboard.uid.clone(),
                        panel: panel.clone(),
                        expr: expr.to_owned(),
                    });
                }
            }
        }
    }
    queries
}

/// The query of a template variable: a string, or (Grafana 10+) an object with a `query`.
pub fn variable_query(variable: &Value) -> Option<String> {
    match variable.get("query")? {
        Value::String(query) => Some(query.clone()),
        Value::Object(object) => object.get("query")?.as_str().map(str::to_owned),
        _ => None,
    }
}

/// Every query variable of every dashboard: (dashboard uid, variable name, query), e.g.
/// `("dms-kafka", "topic", "label_values(dms_kafka_topic_partitions{...}, topic)")`. Only
/// variables of type `query` (the `datasource` variable's query is a plugin id, not PromQL).
pub fn template_variables() -> Vec<(String, String, String)> {
    let mut variables = Vec::new();
    for dashboard in dashboards() {
        let list = dashboard
            .json
            .pointer("/templating/list")
            .and_then(Value::as_array);
        for variable in list.into_iter().flatten() {
            if variable.get("type").and_then(Value::as_str) != Some("query") {
                continue;
            }
            let name = variable.get("name").and_then(Value::as_str).unwrap_or("");
            if let Some(query) = variable_query(variable) {
                variables.push((dashboard.uid.clone(), name.to_owned(), query));
            }
        }
    }
    variables
}

/// Grafana's built-in variables, with the values [`substitute`] gives them.
pub const BUILTINS: [(&str, &str); 4] = [
    ("__rate_interval", "1m"),
    ("__interval", "15s"),
    ("__range", "1h"),
    ("__range_s", "3600"),
];

/// Every variable reference Grafana understands: `${name}`, `${name:format}`, `[[name]]`,
/// `[[name:format]]` and `$name` (the longest identifier, so `$instance_id` is not
/// `$instance` followed by `_id`).
static VARIABLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\$\{(?P<braced>\w+)(?::[^}]*)?\}|\[\[(?P<bracketed>\w+)(?::[^\]]*)?\]\]|\$(?P<plain>\w+)",
    )
    .unwrap_or_else(|e| panic!("variable pattern: {e}"))
});

/// Fills the variables of a panel or variable query: `$name`, `${name}`, `${name:regex}` (any
/// format) and `[[name]]` take `values[name]` verbatim (for a multi-value selection, pass the
/// regex alternation Grafana would build, e.g. `a|b`); Grafana's built-ins `$__rate_interval`,
/// `$__interval`, `$__range` and `$__range_s` become `1m`, `15s`, `1h` and `3600` unless
/// `values` sets them. References to unknown names are left as they are (so `$1` in a
/// `label_replace` replacement survives).
pub fn substitute(expr: &str, values: &BTreeMap<String, String>) -> String {
    VARIABLE
        .replace_all(expr, |caps: &Captures<'_>| {
            let name = caps
                .name("braced")
                .or_else(|| caps.name("bracketed"))
                .or_else(|| caps.name("plain"))
                .map_or("", |m| m.as_str());
            values
                .get(name)
                .map(String::as_str)
                .or_else(|| {
                    BUILTINS
                        .iter()
                        .find(|(builtin, _)| *builtin == name)
                        .map(|(_, value)| *value)
                })
                .map_or_else(|| caps[0].to_owned(), str::to_owned)
        })
        .into_owned()
}

/// Values selecting everything: every variable name of every dashboard mapped to `.+`, as if
/// "All" were chosen with a match-all value. Handy to run every query over the whole fleet.
pub fn match_all_values() -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    for dashboard in dashboards() {
        let list = dashboard
            .json
            .pointer("/templating/list")
            .and_then(Value::as_array);
        for variable in list.into_iter().flatten() {
            if let Some(name) = variable.get("name").and_then(Value::as_str) {
                values.insert(name.to_owned(), ".+".to_owned());
            }
        }
    }
    values
}

/// The pinned Python package of Grafana's published types: `grafana-foundation-sdk`, whose
/// versions are `<build timestamp>!<Grafana version>`. 11.6 is the Grafana of the compose
/// stack (`grafana/grafana:11.6.0`, a test keeps them equal).
pub const GRAFANA_FOUNDATION_SDK: &str = "grafana-foundation-sdk==1769699379!11.6.0";

/// The script that validates dashboards with that package (see its docstring).
pub const SCHEMA_VALIDATOR: &str = "crates/ops-tests/src/validate_dashboards.py";

/// Debian's interpreter (the one `scripts/test` completes with `python3-venv`), else the first
/// `python3` on the PATH.
fn system_python() -> &'static str {
    if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

fn run(command: &mut std::process::Command, what: &str) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what}: {}\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// A virtual environment under `cache` holding [`GRAFANA_FOUNDATION_SDK`]; made once and
/// reused while it imports. It is built under a temporary name and renamed when complete, so
/// an interrupted install is never taken for a good one and two runs at once do not clash.
/// Returns its interpreter.
pub fn schema_venv(cache: &std::path::Path) -> Result<std::path::PathBuf, String> {
    let name = GRAFANA_FOUNDATION_SDK.replace(['=', '!'], "-");
    let venv = cache.join(format!("venv-{name}"));
    let python = venv.join("bin/python");
    let imports = |python: &std::path::Path| {
        std::process::Command::new(python)
            .args(["-c", "import grafana_foundation_sdk.models.dashboard"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if imports(&python) {
        return Ok(python);
    }
    let _ = std::fs::remove_dir_all(&venv);
    std::fs::create_dir_all(cache).map_err(|e| format!("{}: {e}", cache.display()))?;
    let building = cache.join(format!("venv-{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&building);
    run(
        std::process::Command::new(system_python())
            .args(["-m", "venv"])
            .arg(&building),
        &format!(
            "{} -m venv (Debian needs python3-venv; scripts/test installs it)",
            system_python()
        ),
    )?;
    run(
        std::process::Command::new(building.join("bin/python"))
            .args(["-m", "pip", "install", "--quiet", "--no-input"])
            .arg("--disable-pip-version-check")
            .arg(GRAFANA_FOUNDATION_SDK),
        &format!("pip install {GRAFANA_FOUNDATION_SDK}"),
    )?;
    if std::fs::rename(&building, &venv).is_err() {
        // Another run finished first: use its environment.
        let _ = std::fs::remove_dir_all(&building);
    }
    if imports(&python) {
        Ok(python)
    } else {
        Err(format!(
            "{}: grafana_foundation_sdk does not import",
            venv.display()
        ))
    }
}

/// Validates every dashboard with Grafana's published types ([`SCHEMA_VALIDATOR`] run by the
/// environment's `python`): `Ok` with the validator's summary, or `Err` with one line per
/// problem, `file: panel: reason`.
pub fn validate_with_grafana_schema(python: &std::path::Path) -> Result<String, String> {
    let paths: Vec<String> = dashboards().into_iter().map(|d| d.path).collect();
    let output = std::process::Command::new(python)
        .arg(SCHEMA_VALIDATOR)
        .args(&paths)
        .current_dir(crate::repo_root())
        .output()
        .map_err(|e| format!("{}: {e}", python.display()))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}
