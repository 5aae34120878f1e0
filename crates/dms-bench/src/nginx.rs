//! nginx serving the exporter's own bodies, as the throughput reference: one foreground
//! process (no master, no workers to orphan), its own prefix, config and pid file.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::process::{Child, Command};

/// How long nginx may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) struct Nginx {
    _child: Child,
    pub plain_url: String,
    pub gzip_url: String,
}

/// The configuration: `/plain` is the text body, `/gzip` the exporter's gzip body sent with
/// `Content-Encoding: gzip`, both with `sendfile on`.
pub(crate) fn config(prefix: &Path, port: u16, plain: &Path, gzip: &Path) -> String {
    let prefix = prefix.display();
    format!(
        "daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location = /plain {{
            default_type \"text/plain; version=0.0.4; charset=utf-8\";
            alias {plain};
        }}
        location = /gzip {{
            default_type \"text/plain; version=0.0.4; charset=utf-8\";
            add_header Content-Encoding gzip;
            alias {gzip};
        }}
    }}
}}
",
        plain = plain.display(),
        gzip = gzip.display(),
    )
}

pub(crate) async fn start(
    dir: &Path,
    port: u16,
    plain: &Path,
    gzip: &Path,
) -> anyhow::Result<Nginx> {
    let prefix: PathBuf = dir.join("nginx");
    std::fs::create_dir_all(&prefix)?;
    let config_path = prefix.join("nginx.conf");
    std::fs::write(&config_path, config(&prefix, port, plain, gzip))?;
    let child = Command::new("nginx")
        .arg("-p")
        .arg(&prefix)
        .arg("-e")
        .arg(prefix.join("nginx-error.log"))
        .arg("-c")
        .arg(&config_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(prefix.join("nginx-stderr.log"))?)
        .kill_on_drop(true)
        .spawn()
        .context("starting nginx")?;
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if started.elapsed() > START_TIMEOUT {
            bail!(
                "nginx did not listen on port {port} within {}s; see {}",
                START_TIMEOUT.as_secs(),
                prefix.join("nginx-stderr.log").display()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Nginx {
        _child: child,
        plain_url: format!("http://127.0.0.1:{port}/plain"),
        gzip_url: format!("http://127.0.0.1:{port}/gzip"),
    })
}
