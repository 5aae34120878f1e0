//! The operations bundle, tested: alert rules (promtool), dashboards (tidy), systemd unit
//! (systemd-analyze), deployment files (parse and references), and the whole stack against a
//! real Prometheus server.

mod alerts;
mod dashboards;
mod deploy;
mod e2e;
mod systemd;
