//! The landing page (`/`): what runs, from which configuration, and how each collector is
//! doing — read from the self-metrics, never from the cloud.

use std::fmt::Write as _;
use std::time::Duration;

use crate::config::CollectorsConfig;
use crate::metrics::self_metrics::Status;

/// The scheduler's interval when a collector's settings name none.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// The documents a reader of the page may want, relative to the repository's root.
const DOCS: [(&str, &str); 4] = [
    ("docs/metrics.md", "every metric family"),
    ("docs/configuration.md", "flags and configuration"),
    ("docs/runbooks.md", "what to do for each alert"),
    ("docs/install.md", "installing as a systemd service"),
];

/// What the page shows besides [`Status`].
pub struct Page<'a> {
    pub status: &'a Status,
    pub collectors: &'a CollectorsConfig,
    /// `None` in `--demo`, which reads no file.
    pub config_file: Option<&'a str>,
    pub telemetry_path: &'a str,
    pub now_unix: f64,
}

/// Escapes text for HTML element content and double-quoted attributes.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A Unix timestamp as `2026-05-01 12:00:00 UTC (42s ago)`.
fn when(unix: f64, now_unix: f64) -> String {
    let date = time::OffsetDateTime::from_unix_timestamp(unix as i64)
        .ok()
        .and_then(|d| {
            d.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| unix.to_string());
    let ago = Duration::try_from_secs_f64((now_unix - unix).max(0.0)).unwrap_or_default();
    let ago = humantime::format_duration(Duration::from_secs(ago.as_secs()));
    format!("{date} ({ago} ago)")
}

/// Renders the page. Everything that comes from configuration or the cloud is escaped.
pub fn render(page: &Page<'_>) -> String {
    let status = page.status;
    let build = &status.build;
    let metrics = html_escape(page.telemetry_path);
    let mut html = String::with_capacity(8 * 1024);
    html.push_str(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>DMS exporter</title>\
         <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}\
         td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}\
         .down{color:#b00}.banner{background:#fe9;border:1px solid #c90;padding:.6em}</style>\
         </head><body><h1>DMS exporter</h1>\n",
    );
    if status.demo {
        html.push_str(
            "<p class=\"banner\" id=\"demo\"><strong>Demo mode:</strong> the data is simulated \
             (the embedded DMS simulator, <code>--demo</code>); no cloud account is read.</p>\n",
        );
    }
    let _ = writeln!(
        html,
        "<p>Prometheus exporter for Huawei Cloud Distributed Message Service.</p>\n<table>\
         <tr><th>version</th><td>{}</td></tr><tr><th>revision</th><td>{}</td></tr>\
         <tr><th>build date</th><td>{}</td></tr><tr><th>rustc</th><td>{}</td></tr>",
        html_escape(&build.version),
        html_escape(&build.revision),
        html_escape(&build.build_date),
        html_escape(&build.rustc),
    );
    let config = page.config_file.map_or_else(
        || "(none: --demo)".to_owned(),
        |path| format!("<code>{}</code>", html_escape(path)),
    );
    let _ = writeln!(
        html,
        "<tr><th>configuration file</th><td>{config}</td></tr>\
         <tr><th>last successful load</th><td>{}</td></tr>\
         <tr><th>last reload</th><td>{}</td></tr></table>",
        when(status.loaded_unix, page.now_unix),
        if status.reload_ok {
            "successful (or none yet)"
        } else {
            "<span class=\"down\">failed: the previous configuration still runs</span>"
        },
    );
    let _ = writeln!(
        html,
        "<h2>Endpoints</h2><ul><li><a href=\"{metrics}\">Metrics</a> (<code>{metrics}</code>)</li>\
         <li><a href=\"/-/healthy\">Health</a></li><li><a href=\"/-/ready\">Readiness</a></li></ul>"
    );
    html.push_str("<h2>Collectors</h2>\n");
    if status.cycles.is_empty() {
        html.push_str("<p>No collector has finished a cycle yet.</p>\n");
    } else {
        html.push_str(
            "<table><tr><th>region</th><th>project</th><th>collector</th><th>up</th>\
             <th>last success</th><th>last cycle took</th><th>interval</th></tr>\n",
        );
        // Per project, then collector: how an operator reads it.
        let mut cycles: Vec<_> = status.cycles.iter().collect();
        cycles.sort_by(|a, b| {
            (&a.region, &a.project_id, a.collector).cmp(&(&b.region, &b.project_id, b.collector))
        });
        for cycle in cycles {
            let interval = page
                .collectors
                .settings(cycle.collector)
                .and_then(|s| s.interval)
                .map_or(DEFAULT_INTERVAL, |d| d.0);
            let last_success = cycle
                .last_success_unix
                .map_or_else(|| "never".to_owned(), |t| when(t, page.now_unix));
            let up = match (&cycle.up, &cycle.last_error) {
                (true, _) => "yes".to_owned(),
                (false, None) => "<span class=\"down\">no</span>".to_owned(),
                (false, Some(error)) => format!(
                    "<span class=\"down\">no</span>: <small>{}</small>",
                    html_escape(error)
                ),
            };
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{up}</td><td>{last_success}</td>\
                 <td>{:.3} s</td><td>{}</td></tr>",
                html_escape(&cycle.region),
                html_escape(&cycle.project_id),
                html_escape(cycle.collector),
                cycle.last_duration.as_secs_f64(),
                humantime::format_duration(interval),
            );
        }
        html.push_str("</table>\n");
    }
    html.push_str("<h2>Documentation</h2><ul>\n");
    let repository = env!("CARGO_PKG_REPOSITORY");
    for (path, what) in DOCS {
        if repository.is_empty() {
            let _ = writeln!(html, "<li><code>{path}</code>: {what}</li>");
        } else {
            let url = html_escape(&format!(
                "{}/blob/{}/{path}",
                repository.trim_end_matches('/'),
                build.revision
            ));
            let _ = writeln!(html, "<li><a href=\"{url}\">{path}</a>: {what}</li>");
        }
    }
    html.push_str(
        "</ul><p>In the source tree, or under <code>/usr/local/share/doc/dms_exporter/</code> \
         when installed as docs/install.md says.</p></body></html>\n",
    );
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::self_metrics::{BuildInfo, CycleStatus};

    fn status(demo: bool) -> Status {
        Status {
            build: BuildInfo::current(),
            demo,
            reload_ok: false,
            loaded_unix: 1_700_000_000.0,
            cycles: vec![
                CycleStatus {
                    collector: "kafka_groups",
                    region: "cn-north-4".into(),
                    project_id: "<script>alert(1)</script>".into(),
                    up: true,
                    last_error: None,
                    last_success_unix: Some(1_700_000_090.0),
                    last_duration: Duration::from_millis(1500),
                },
                CycleStatus {
                    collector: "tags",
                    region: "cn-north-4".into(),
                    project_id: "p&q".into(),
                    up: false,
                    last_error: Some(
                        "i-1: tags failed (forbidden): HTTP 403 <DMS.10240309>".into(),
                    ),
                    last_success_unix: None,
                    last_duration: Duration::from_millis(250),
                },
            ],
        }
    }

    fn render_with(status: &Status, config_file: Option<&str>) -> String {
        let collectors: CollectorsConfig = crate::config::parse_str(
            "regions: [{name: r}]\ncollectors: {kafka_groups: {interval: 45s}}\n",
            "(test)",
        )
        .expect("config")
        .collectors;
        render(&Page {
            status,
            collectors: &collectors,
            config_file,
            telemetry_path: "/metrics",
            now_unix: 1_700_000_100.0,
        })
    }

    #[test]
    fn page_shows_build_configuration_and_collectors() {
        let status = status(false);
        let html = render_with(&status, Some("/etc/dms_exporter/<x>.yml"));
        let build = &status.build;
        for wanted in [
            format!("<th>version</th><td>{}</td>", build.version),
            format!("<th>revision</th><td>{}</td>", build.revision),
            format!("<th>build date</th><td>{}</td>", build.build_date),
            "<code>/etc/dms_exporter/&lt;x&gt;.yml</code>".to_owned(),
            "2023-11-14 22:13:20 UTC (1m 40s ago)".to_owned(),
            "failed: the previous configuration still runs".to_owned(),
            "<a href=\"/metrics\">Metrics</a>".to_owned(),
            // kafka_groups: configured 45s, up, last success 10 s ago, took 1.5 s.
            "<td>cn-north-4</td><td>&lt;script&gt;alert(1)&lt;/script&gt;</td><td>kafka_groups</td><td>yes</td><td>2023-11-14 22:14:50 UTC (10s ago)</td><td>1.500 s</td><td>45s</td>".to_owned(),
            // tags: the default interval, down, never succeeded.
            "<td>p&amp;q</td><td>tags</td><td><span class=\"down\">no</span>: <small>i-1: tags failed (forbidden): HTTP 403 &lt;DMS.10240309&gt;</small></td><td>never</td><td>0.250 s</td><td>5m</td>".to_owned(),
            "docs/metrics.md".to_owned(),
        ] {
            assert!(html.contains(&wanted), "missing {wanted:?} in\n{html}");
        }
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("id=\"demo\""), "{html}");
    }

    #[test]
    fn demo_mode_says_the_data_is_simulated() {
        let html = render_with(&status(true), None);
        assert!(html.contains("id=\"demo\""), "{html}");
        assert!(html.contains("the data is simulated"), "{html}");
        assert!(html.contains("(none: --demo)"), "{html}");
    }

    #[test]
    fn escaping_covers_attributes_too() {
        assert_eq!(html_escape("a\"b'c<d>&e"), "a&quot;b&#39;c&lt;d&gt;&amp;e");
    }
}
