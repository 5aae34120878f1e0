//! Configuring and starting the release `dms_exporter` against the simulator, and reading it
//! over HTTP.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::process::{Child, Command};

use crate::sim::Banner;

/// How often readiness is polled; the figure is only as precise as this.
const READY_POLL: Duration = Duration::from_millis(100);

/// The exporter's API budget, per endpoint host.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub(crate) struct Budget {
    pub rate_limit: u32,
    pub burst: u32,
    pub concurrency: u32,
}

/// `extra` with the `ces` collector turned on, under its `collectors:` section or a new one.
pub(crate) fn with_ces(extra: &str) -> String {
    const ON: &str = "  ces: {enabled: true}\n";
    match extra.find("collectors:\n") {
        Some(at) => {
            let after = at + "collectors:\n".len();
            format!("{}{ON}{}", &extra[..after], &extra[after..])
        }
        None => format!("{extra}collectors:\n{ON}"),
    }
}

/// One region per simulator region, every one of its projects listed, all pointing at the
/// simulator; default collector intervals unless `extra` (appended verbatim) sets them. Cloud
/// Eye is the same simulator named `localhost`, so it is a host of its own with its own
/// request scheduler, as the real CES host is.
pub(crate) fn config_yaml(banner: &Banner, budget: Budget, extra: &str) -> String {
    let mut regions: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (region, project) in &banner.projects {
        regions.entry(region).or_default().push(project);
    }
    let address = &banner.address;
    let ces = address
        .rsplit_once(':')
        .map_or_else(|| address.clone(), |(_, port)| format!("localhost:{port}"));
    let mut yaml = String::from("regions:\n");
    for (region, projects) in regions {
        yaml.push_str(&format!(
            "  - name: {region}\n    endpoint: http://{address}\n    iam_endpoint: http://{address}\n    ces_endpoint: http://{ces}\n    projects: [{}]\n",
            projects.join(", ")
        ));
    }
    yaml.push_str(&format!(
        "api:\n  rate_limit: {}\n  burst: {}\n  concurrency: {}\n",
        budget.rate_limit, budget.burst, budget.concurrency
    ));
    yaml.push_str(extra);
    yaml
}

pub(crate) struct Exporter {
    pub child: Child,
    pub base_url: String,
    pub started: Instant,
}

impl Exporter {
    pub(crate) fn pid(&self) -> anyhow::Result<u32> {
        self.child.id().context("the exporter has exited")
    }
}

pub(crate) async fn start(
    binary: &Path,
    config: &Path,
    port: u16,
    banner: &Banner,
    log: &Path,
) -> anyhow::Result<Exporter> {
    let log_file =
        std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let mut command = Command::new(binary);
    command
        .arg("--config.file")
        .arg(config)
        .args(["--web.listen-address", &format!("127.0.0.1:{port}")])
        .env("HUAWEICLOUD_SDK_AK", &banner.access_key)
        .env("HUAWEICLOUD_SDK_SK", &banner.secret_key)
        .env_remove("HUAWEICLOUD_SDK_PROJECT_ID")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .kill_on_drop(true);
    let started = Instant::now();
    let child = command
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    Ok(Exporter {
        child,
        base_url: format!("http://127.0.0.1:{port}"),
        started,
    })
}

/// Waits for `/-/ready` to answer 200; returns the time since the exporter started.
pub(crate) async fn wait_ready(
    client: &reqwest::Client,
    exporter: &mut Exporter,
    timeout: Duration,
    log: &Path,
) -> anyhow::Result<Duration> {
    let url = format!("{}/-/ready", exporter.base_url);
    loop {
        if let Ok(response) = client.get(&url).send().await
            && response.status() == reqwest::StatusCode::OK
        {
            return Ok(exporter.started.elapsed());
        }
        if let Some(status) = exporter.child.try_wait()? {
            bail!(
                "the exporter exited ({status}) before it was ready; see {}",
                log.display()
            );
        }
        if exporter.started.elapsed() > timeout {
            bail!(
                "the exporter was not ready after waiting {}s (--ready-timeout); see {}",
                timeout.as_secs(),
                log.display()
            );
        }
        tokio::time::sleep(READY_POLL).await;
    }
}

/// One `/metrics` body, plain (`gzip` false) or as sent with `Accept-Encoding: gzip`
/// (compressed bytes, not decoded).
pub(crate) async fn scrape(
    client: &reqwest::Client,
    base_url: &str,
    gzip: bool,
) -> anyhow::Result<Vec<u8>> {
    let mut request = client.get(format!("{base_url}/metrics"));
    if gzip {
        request = request.header(reqwest::header::ACCEPT_ENCODING, "gzip");
    }
    let response = request.send().await.context("scraping /metrics")?;
    if !response.status().is_success() {
        bail!("/metrics answered {}", response.status());
    }
    Ok(response.bytes().await?.to_vec())
}

/// The plain text body.
pub(crate) async fn scrape_text(
    client: &reqwest::Client,
    base_url: &str,
) -> anyhow::Result<String> {
    let body = scrape(client, base_url, false).await?;
    String::from_utf8(body).context("/metrics is not UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_region_per_simulator_region_with_its_projects() {
        let banner = Banner {
            address: "127.0.0.1:9300".to_owned(),
            projects: vec![
                ("r1".to_owned(), "p1".to_owned()),
                ("r2".to_owned(), "p3".to_owned()),
                ("r1".to_owned(), "p2".to_owned()),
            ],
            ..Banner::default()
        };
        let budget = Budget {
            rate_limit: 200,
            burst: 100,
            concurrency: 32,
        };
        let yaml = config_yaml(&banner, budget, "collectors:\n  tags: {interval: 1m}\n");
        assert_eq!(
            yaml,
            "regions:\n  - name: r1\n    endpoint: http://127.0.0.1:9300\n    iam_endpoint: \
             http://127.0.0.1:9300\n    ces_endpoint: http://localhost:9300\n    projects: [p1, \
             p2]\n  - name: r2\n    endpoint: http://127.0.0.1:9300\n    iam_endpoint: \
             http://127.0.0.1:9300\n    ces_endpoint: http://localhost:9300\n    projects: \
             [p3]\napi:\n  rate_limit: 200\n  burst: 100\n  concurrency: 32\ncollectors:\n  \
             tags: {interval: 1m}\n"
        );
    }

    #[test]
    fn ces_is_turned_on_under_the_existing_collectors_section_or_a_new_one() {
        assert_eq!(with_ces(""), "collectors:\n  ces: {enabled: true}\n");
        assert_eq!(
            with_ces("collectors:\n  tags: {interval: 1m}\n"),
            "collectors:\n  ces: {enabled: true}\n  tags: {interval: 1m}\n"
        );
    }
}
