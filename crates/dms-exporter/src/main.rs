//! The `dms_exporter` binary: flags, logging, signals; the rest lives in the library.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use dms_cloud::{ReqwestTransport, Transport};
use dms_exporter::cli::{Cli, parse_listen_address};
use dms_exporter::config::{self, ProcessEnv};
use dms_exporter::http::server::Limits;
use dms_exporter::http::web_config;
use dms_exporter::metrics::self_metrics::BuildInfo;
use dms_exporter::{app, logging, preflight};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Connection set-up limit for the cloud API.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.version {
        println!("{}", BuildInfo::current().version_line());
        return ExitCode::SUCCESS;
    }
    if cli.check_config {
        let mut online = None;
        let mut ok = match config::load_file(&cli.config_file) {
            Ok(mut file) => {
                let display = cli.config_file.display();
                for warning in config::warnings(&file) {
                    eprintln!("{display}: warning: {warning}");
                }
                // Where the file names the credential file, the line says so, as for every
                // other problem.
                let mut errors: Vec<String> = config::check_all_credential_files(&file)
                    .iter()
                    .map(|error| {
                        match error
                            .field()
                            .and_then(|field| config::field_position(&cli.config_file, field))
                        {
                            Some((line, column)) => format!("{display}:{line}:{column}: {error}"),
                            None => format!("{display}: {error}"),
                        }
                    })
                    .collect();
                // Start-up refuses a configuration no source gives keys for; so does the
                // check (a file it could not read is reported above, once).
                if errors.is_empty() {
                    let resolved = metadata_transport().and_then(|transport| {
                        Ok(config::resolve_all(&file, &ProcessEnv, &transport)?)
                    });
                    if let Err(error) = resolved {
                        errors.push(format!("{display}: {error:#}"));
                    }
                }
                if let Err(error) = cloud_transport(&file) {
                    errors.push(format!("{display}: {error:#}"));
                }
                if let Err(error) = config::apply_shard_flags(&mut file, cli.shard_flags()) {
                    errors.push(error.to_string());
                }
                for error in &errors {
                    eprintln!("{error}");
                }
                if errors.is_empty() {
                    println!("{display}: configuration is valid");
                    online = Some(file);
                }
                errors.is_empty()
            }
            Err(error) => {
                eprintln!("{error}");
                false
            }
        };
        if let Some(path) = &cli.web_config_file {
            match web_config::load(path) {
                Ok(_) => println!("{}: web configuration is valid", path.display()),
                Err(error) => {
                    eprintln!("{error}");
                    ok = false;
                }
            }
        }
        if !ok {
            return ExitCode::FAILURE;
        }
        return match online {
            Some(file) if cli.online => check_online(&file),
            _ => ExitCode::SUCCESS,
        };
    }
    if let Err(error) = logging::init(cli.log_level, cli.log_format) {
        eprintln!("{error:#}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `--check-config --online` of a configuration the offline checks passed.
fn check_online(file: &config::Config) -> ExitCode {
    let prepared = metadata_transport()
        .and_then(|transport| Ok(config::resolve_all(file, &ProcessEnv, &transport)?))
        .and_then(|credentials| Ok((credentials, cloud_transport(file)?)))
        .and_then(|prepared| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            Ok((prepared, runtime))
        });
    let (((credentials, accounts), transport), runtime) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => {
            eprintln!("{error:#}");
            return ExitCode::FAILURE;
        }
    };
    let transport: Arc<dyn Transport> = Arc::new(transport);
    let report = runtime.block_on(preflight::run(
        file,
        &credentials,
        &accounts,
        transport,
        sdk_project_id(),
    ));
    print!("{}", report.table());
    ExitCode::from(report.exit_code())
}

/// `HUAWEICLOUD_SDK_PROJECT_ID`, the SDK's variable for the project of a single region.
fn sdk_project_id() -> Option<String> {
    std::env::var("HUAWEICLOUD_SDK_PROJECT_ID")
        .ok()
        .filter(|p| !p.is_empty())
}

async fn shutdown_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down");
    shutdown.cancel();
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    tokio::spawn(shutdown_on_signal(shutdown.clone()));
    let web = match &cli.web_config_file {
        Some(path) => web_config::load(path)?,
        None => web_config::settings("(none)", &web_config::WebConfig::default())?,
    };
    let shard_flags = cli.shard_flags();
    #[cfg(feature = "demo")]
    let demo = cli.demo;
    #[cfg(not(feature = "demo"))]
    let demo = false;
    let (config, credentials, env_project, reload) = if demo {
        #[cfg(feature = "demo")]
        {
            let simulator =
                parse_listen_address(&cli.demo_simulator_address).map_err(anyhow::Error::msg)?;
            let demo = dms_exporter::demo::start(simulator, shutdown.clone()).await?;
            tracing::info!(
                simulator = %demo.address,
                control = %format!("http://{}/_sim/state", demo.address),
                "demo mode: reading the embedded DMS simulator"
            );
            let mut config = demo.config;
            config::apply_shard_flags(&mut config, shard_flags)?;
            (config, (demo.credentials, Vec::new()), None, None)
        }
        #[cfg(not(feature = "demo"))]
        unreachable!("--demo exists only with the demo feature")
    } else {
        // Flags win over the file at every reload too.
        let metadata = metadata_transport()?;
        let load = move |path: &std::path::Path| -> anyhow::Result<_> {
            let mut config = config::load_file(path)?;
            for warning in config::warnings(&config) {
                tracing::warn!("{}: {warning}", path.display());
            }
            config::apply_shard_flags(&mut config, shard_flags)?;
            let (credentials, accounts) = config::resolve_all(&config, &ProcessEnv, &metadata)?;
            Ok((config, credentials, accounts))
        };
        let (config, credentials, accounts) = load(&cli.config_file)?;
        let project = sdk_project_id();
        let path = cli.config_file.clone();
        let reload: app::Reloader = Box::new(move || load(&path));
        (config, (credentials, accounts), project, Some(reload))
    };
    let transport: Arc<dyn Transport> = Arc::new(cloud_transport(&config)?);
    let listeners = if cli.systemd_socket {
        systemd_listeners()?
    } else {
        bind_all(&cli.listen_addresses).await?
    };
    let mut limits = Limits::new(cli.max_connections as usize);
    limits.read_header_timeout = cli.read_header_timeout;
    limits.idle_timeout = cli.idle_timeout;
    limits.write_stall_timeout = cli.write_stall_timeout;
    let serving = app::Serving {
        listeners,
        telemetry_path: cli.telemetry_path.clone(),
        web,
        lifecycle: cli.enable_lifecycle,
        limits,
        config_file: (!demo).then(|| cli.config_file.display().to_string()),
        demo,
        state_file: cli.state_file.clone(),
    };
    let (credentials, accounts) = credentials;
    let input = app::CollectionInput {
        config,
        credentials,
        accounts,
        transport,
        env_project,
    };
    app::run(input, reload, serving, shutdown).await
}

/// The cloud API's transport, trusting `api.ca_file` besides the system's roots. Built once:
/// a reload does not re-read the CA file.
fn cloud_transport(config: &config::Config) -> anyhow::Result<ReqwestTransport> {
    let ca_pem = match &config.api.ca_file {
        Some(path) => Some(
            config::read_capped(std::path::Path::new(path))
                .with_context(|| format!("api.ca_file: cannot read {path}"))?,
        ),
        None => None,
    };
    ReqwestTransport::trusting(CONNECT_TIMEOUT, ca_pem.as_deref().map(str::as_bytes))
        .context("api.ca_file")
}

/// The transport of the ECS metadata service (plain HTTP to a local address: no CA of
/// `api.ca_file` applies).
fn metadata_transport() -> anyhow::Result<Arc<dyn Transport>> {
    let transport = ReqwestTransport::trusting(CONNECT_TIMEOUT, None)
        .context("the ECS metadata service's HTTP client")?;
    Ok(Arc::new(transport))
}

/// Listens on every `--web.listen-address`.
async fn bind_all(addresses: &[String]) -> anyhow::Result<Vec<TcpListener>> {
    let mut listeners = Vec::with_capacity(addresses.len());
    for address in addresses {
        let address = parse_listen_address(address).map_err(anyhow::Error::msg)?;
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address}"))?;
        listeners.push(listener);
    }
    Ok(listeners)
}

/// The listening sockets systemd passed (`LISTEN_FDS` from fd 3, for this `LISTEN_PID`).
#[cfg(unix)]
fn systemd_listeners() -> anyhow::Result<Vec<TcpListener>> {
    let mut passed = listenfd::ListenFd::from_env();
    if passed.len() == 0 {
        anyhow::bail!(
            "--web.systemd-socket: systemd passed no socket (LISTEN_FDS/LISTEN_PID unset or for another process); start the exporter through its .socket unit"
        );
    }
    (0..passed.len())
        .map(|index| {
            let listener = passed
                .take_tcp_listener(index)
                .with_context(|| format!("--web.systemd-socket: socket {}", index + 3))?
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "--web.systemd-socket: socket {} is not a listening TCP socket",
                        index + 3
                    )
                })?;
            // Tokio needs a non-blocking socket; systemd passes blocking ones.
            listener.set_nonblocking(true)?;
            Ok(TcpListener::from_std(listener)?)
        })
        .collect()
}

#[cfg(not(unix))]
fn systemd_listeners() -> anyhow::Result<Vec<TcpListener>> {
    anyhow::bail!("--web.systemd-socket needs systemd (Linux)")
}
