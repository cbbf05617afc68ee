//! `lodestone-ccm run`: wiring of the election, the controllers and the HTTP endpoint.
//!
//! ```text
//!   SIGTERM/SIGINT ─► shutdown ─┬─► controllers stop
//!                               ├─► Elector releases the Lease ─► exit 0
//!                               └─► HTTP endpoint stops
//!   Elector task dies ─────────────► exit 1 (never run leaderless or blind)
//!   a controller dies  ────────────► Lease released, exit 1
//! ```

pub mod args;
pub mod http;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use crate::controller::{self, ControllerParams};
use crate::lease::{ElectionParams, Elector, Timings, identity};
use crate::metrics::Metrics;
pub use args::RunArgs;
use http::Health;

/// Name of the leader Lease in the CCM's namespace.
pub const LEASE_NAME: &str = "lodestone-ccm";

/// Entry point of `lodestone-ccm run ARGS...` (`args` are what follows `run`).
pub fn main<I, S>(args: I) -> ExitCode
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    let args =
        std::iter::once(std::ffi::OsString::from("run")).chain(args.into_iter().map(Into::into));
    let args = match RunArgs::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!(error = %e, "starting the async runtime");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!(error = format!("{e:#}"), "lodestone-ccm stopped");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn client(args: &RunArgs) -> anyhow::Result<kube::Client> {
    let config = match &args.kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("reading kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await
                .with_context(|| format!("using kubeconfig {}", path.display()))?
        }
        None => kube::Config::infer()
            .await
            .context("no --kubeconfig and no in-cluster configuration")?,
    };
    kube::Client::try_from(config).context("building the API client")
}

/// Runs until a signal (Ok) or until a supervised task dies (Err).
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let sa_namespace = std::fs::read_to_string(args::SERVICEACCOUNT_NAMESPACE).ok();
    let namespace = args::resolve_namespace(
        args.namespace.as_deref(),
        std::env::var("POD_NAMESPACE").ok().as_deref(),
        sa_namespace.as_deref(),
    )?;
    let client = client(&args).await?;
    let metrics = Metrics::new()?;
    let health = Arc::new(Health::default());
    let listener = tokio::net::TcpListener::bind(args.metrics_addr)
        .await
        .with_context(|| format!("binding --metrics-addr {}", args.metrics_addr))?;

    let (shutdown_tx, shutdown) = watch::channel(false);
    let me = identity();
    info!(namespace, identity = %me, lease = LEASE_NAME, "starting");
    let (elector, gate) = Elector::new(
        client.clone(),
        ElectionParams {
            name: LEASE_NAME.to_string(),
            namespace: namespace.clone(),
            identity: me.clone(),
            timings: Timings::from_duration(args.lease_duration()),
        },
    );
    let mut election: JoinHandle<_> = tokio::spawn(elector.run(shutdown.clone()));
    let http_task = tokio::spawn(http::serve(
        listener,
        metrics.clone(),
        health.clone(),
        shutdown.clone(),
    ));
    let params = ControllerParams {
        namespace,
        lb_classes: args.lb_classes.clone(),
        serve_default_class: !args.no_default_class,
        identity: me,
    };
    let node_params = crate::node::NodeParams {
        namespace: params.namespace.clone(),
        inventory: args.node.node_inventory.clone(),
        plan: crate::node::PlanConfig {
            provider_id_scheme: args.node.provider_id_scheme.clone(),
        },
        identity: params.identity.clone(),
    };
    let mut nodes: JoinHandle<anyhow::Result<()>> = tokio::spawn(crate::node::run(
        client.clone(),
        node_params,
        gate.clone(),
        metrics.clone(),
        shutdown.clone(),
    ));
    let mut controller: JoinHandle<anyhow::Result<()>> = tokio::spawn(controller::run(
        client,
        params,
        gate,
        metrics,
        health,
        shutdown.clone(),
    ));

    let outcome: anyhow::Result<()> = tokio::select! {
        _ = signal() => {
            info!("signal received; releasing the Lease and stopping");
            Ok(())
        }
        r = &mut election => {
            Err(match r {
                Ok(Ok(())) => anyhow::anyhow!("the election task ended"),
                Ok(Err(e)) => anyhow::Error::new(e).context("the election task failed"),
                Err(e) => anyhow::Error::new(e).context("the election task panicked"),
            })
        }
        r = &mut controller => {
            Err(match r {
                Ok(Ok(())) => anyhow::anyhow!("the service controller ended"),
                Ok(Err(e)) => e.context("the service controller failed"),
                Err(e) => anyhow::Error::new(e).context("the service controller panicked"),
            })
        }
        r = &mut nodes => {
            Err(match r {
                Ok(Ok(())) => anyhow::anyhow!("the node controller ended"),
                Ok(Err(e)) => e.context("the node controller failed"),
                Err(e) => anyhow::Error::new(e).context("the node controller panicked"),
            })
        }
    };
    shutdown_tx.send_replace(true);
    // Controllers stop first (their writes are gated anyway), then the Lease is handed back.
    if !controller.is_finished() {
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut controller).await;
    }
    if !nodes.is_finished() {
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut nodes).await;
    }
    if !election.is_finished() {
        match tokio::time::timeout(Duration::from_secs(5), &mut election).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => warn!(error = %e, "releasing the Lease"),
            Ok(Err(e)) => warn!(error = %e, "the election task panicked while releasing"),
            Err(_) => warn!("releasing the Lease timed out"),
        }
    }
    http_task.abort();
    outcome
}

async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => {
                warn!("cannot install signal handlers; waiting for ctrl-c only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
