//! `lodestone-speaker run`: reflectors ─► config ─► planner ─► engines, status and metrics.
//!
//! ```text
//!   reflectors ──wake──► reconcile: Config::from_resources (invalid ⇒ keep last good, stale=1)
//!                           │ planner::plan (pure)
//!                           ├─► BgpEngine::apply   (sessions, routes, BFD coupling)
//!                           ├─► L2 election task   (Leases ─► owned set ─► l2 driver)
//!                           └─► StatusWriter::sync (ServiceL2Status/ServiceBGPStatus, events)
//!   SIGTERM ─► L2 stops answering, Lease released ─► BGP sessions stopped ─► exit 0
//! ```

pub mod args;
pub mod bgp;
pub mod http;
pub mod l2;
pub mod status;
pub mod watch;

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use k8s_openapi::api::core::v1::Service;
use lodestone_apis::config::Config;
use lodestone_l2::driver::L2Handle;
use lodestone_l2::election::ElectionParams;
use tokio::sync::{Notify, watch as tokio_watch};
use tracing::{error, info, warn};

use crate::metrics::Metrics;
use crate::planner::{self, Input, Interfaces, Plan, ServiceKey, Skip, facts};
pub use args::RunArgs;
use l2::{L2Election, L2Inputs, Owned};
use status::{Announced, Protocol, StatusWriter};

/// Entry point of `lodestone-speaker run ARGS...`.
pub fn main<I, S>(args: I) -> ExitCode
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    let argv =
        std::iter::once(std::ffi::OsString::from("run")).chain(args.into_iter().map(Into::into));
    let args = match RunArgs::try_parse_from(argv) {
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
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
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
            error!(error = format!("{e:#}"), "lodestone-speaker stopped");
            ExitCode::FAILURE
        }
    }
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

/// State of the reconcile loop.
struct Speaker {
    node: String,
    metrics: Metrics,
    bgp: bgp::BgpEngine,
    l2_driver: Option<L2Handle>,
    l2_inputs: tokio_watch::Sender<L2Inputs>,
    status: StatusWriter,
    last_good: Option<Config>,
    last_verdict: Option<Result<Vec<String>, String>>,
    plan: Plan,
    services: BTreeMap<ServiceKey, Service>,
}

/// Runs until SIGTERM/SIGINT (Ok) or until a supervised task dies (Err).
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let sa_namespace = std::fs::read_to_string(args::SERVICEACCOUNT_NAMESPACE).ok();
    let namespace = args::resolve_namespace(
        args.namespace.as_deref(),
        std::env::var("POD_NAMESPACE").ok().as_deref(),
        sa_namespace.as_deref(),
    )?;
    let node = args.node_name.clone();
    anyhow::ensure!(
        !node.is_empty(),
        "--node-name (or NODE_NAME) must not be empty"
    );
    let client = client(&args).await?;
    let metrics = Metrics::new().context("registering metrics")?;
    let listener = tokio::net::TcpListener::bind(args.metrics_addr)
        .await
        .with_context(|| format!("binding --metrics-addr {}", args.metrics_addr))?;
    info!(%namespace, %node, metrics = %args.metrics_addr, "starting");

    let l2_driver = match lodestone_l2::driver::start(lodestone_l2::driver::DriverConfig::default())
        .await
    {
        Ok(h) => Some(h),
        Err(e) => {
            warn!(error = %e, "layer-2 responder unavailable; this node takes no part in L2 elections");
            None
        }
    };
    let readiness = Arc::new(http::Readiness::default());
    let refresh: http::Refresh = {
        let (m, d) = (metrics.clone(), l2_driver.clone());
        Arc::new(move || export_l2(&m, d.as_ref()))
    };
    let http_task = tokio::spawn(http::serve(
        listener,
        metrics.clone(),
        readiness.clone(),
        refresh,
    ));

    let wake = Arc::new(Notify::new());
    let stores = watch::Stores::start(&client, &namespace, wake.clone(), &metrics);
    let (shutdown_tx, shutdown_rx) = tokio_watch::channel(false);
    let (l2_inputs, l2_rx) = tokio_watch::channel(L2Inputs::default());
    let (owned_tx, mut owned_rx) = tokio_watch::channel(Owned::new());
    let election = L2Election {
        client: client.clone(),
        namespace: namespace.clone(),
        node: node.clone(),
        params: ElectionParams::default(),
        driver: l2_driver.clone(),
        metrics: metrics.clone(),
    };
    let mut l2_task = tokio::spawn(election.run(l2_rx, owned_tx, shutdown_rx));

    let mut status = StatusWriter::new(client.clone(), &namespace, &node, metrics.clone());
    status.adopt().await;
    let mut sp = Speaker {
        node,
        metrics: metrics.clone(),
        bgp: bgp::BgpEngine::new()?,
        l2_driver,
        l2_inputs,
        status,
        last_good: None,
        last_verdict: None,
        plan: Plan::default(),
        services: BTreeMap::new(),
    };
    let mut bfd_events: Option<
        tokio::sync::broadcast::Receiver<lodestone_bfd::driver::StateEvent>,
    > = None;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let outcome: anyhow::Result<()> = loop {
        tokio::select! {
            _ = signal() => {
                info!("signal received; stopping");
                break Ok(());
            }
            r = &mut l2_task => {
                break Err(match r {
                    Ok(Ok(())) => anyhow::anyhow!("the L2 election task ended"),
                    Ok(Err(e)) => e.context("the L2 election task failed"),
                    Err(e) => anyhow::Error::new(e).context("the L2 election task panicked"),
                });
            }
            _ = wake.notified() => {
                // Coalesce bursts (a relist delivers many events).
                tokio::time::sleep(Duration::from_millis(50)).await;
                if stores.synced() {
                    sp.reconcile(&stores, &owned_rx.borrow().clone()).await;
                    readiness.set(sp.last_good.is_some());
                    if bfd_events.is_none() {
                        bfd_events = sp.bgp.bfd_events();
                    }
                }
            }
            r = owned_rx.changed() => {
                if r.is_err() { continue; }
                let owned = owned_rx.borrow_and_update().clone();
                sp.sync_status(&owned).await;
            }
            ev = async {
                match bfd_events.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                match ev {
                    Ok(ev) => sp.bgp.on_bfd(ev).await,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => warn!(missed = n, "BFD events lagged"),
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => bfd_events = None,
                }
            }
            _ = tick.tick() => {
                sp.bgp.export(&sp.metrics);
                if !readiness.get() && stores.synced() {
                    wake.notify_one();
                }
            }
        }
    };
    // Stop answering ARP/NDP and release the Lease first (immediate L2 handover), then BGP.
    shutdown_tx.send_replace(true);
    if !l2_task.is_finished() {
        match tokio::time::timeout(Duration::from_secs(5), &mut l2_task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => warn!(error = format!("{e:#}"), "releasing the L2 Lease"),
            Ok(Err(e)) => warn!(error = %e, "the L2 task panicked while stopping"),
            Err(_) => warn!("releasing the L2 Lease timed out"),
        }
    }
    sp.bgp.shutdown().await;
    for t in &stores.tasks {
        t.abort();
    }
    http_task.abort();
    outcome
}

fn export_l2(m: &Metrics, driver: Option<&L2Handle>) {
    let Some(d) = driver else { return };
    let c = d.counters();
    for (ip, n) in &c.requests_received {
        Metrics::sync_counter(&m.l2_requests, &[&ip.to_string()], *n);
    }
    for (ip, n) in &c.responses_sent {
        Metrics::sync_counter(&m.l2_responses, &[&ip.to_string()], *n);
    }
    for (ip, n) in &c.gratuitous_sent {
        Metrics::sync_counter(&m.l2_gratuitous, &[&ip.to_string()], *n);
    }
}

impl Speaker {
    async fn reconcile(&mut self, stores: &watch::Stores, owned: &Owned) {
        let snap = stores.snapshot();
        let verdict = match Config::from_resources(&snap.resources) {
            Ok((config, pending)) => {
                self.last_good = Some(config);
                self.metrics.config_loaded.set(1);
                self.metrics.config_stale.set(0);
                Ok(pending.iter().map(ToString::to_string).collect::<Vec<_>>())
            }
            Err(e) => {
                self.metrics
                    .config_stale
                    .set(i64::from(self.last_good.is_some()));
                Err(e.to_string())
            }
        };
        if self.last_verdict.as_ref() != Some(&verdict) {
            match &verdict {
                Ok(pending) if pending.is_empty() => info!("configuration loaded"),
                Ok(pending) => {
                    info!(pending = ?pending, "configuration loaded; some references do not resolve yet")
                }
                Err(e) => warn!(error = %e, "configuration invalid; keeping the last good one"),
            }
            self.last_verdict = Some(verdict);
        }
        let Some(config) = &self.last_good else {
            return;
        };
        let plan = planner::plan(&Input {
            config,
            node_name: &self.node,
            nodes: &snap.nodes,
            services: &snap.services,
            endpoint_slices: &snap.endpoint_slices,
        });
        self.bgp.apply(&plan).await;

        let me = snap
            .nodes
            .iter()
            .find(|n| n.metadata.name.as_deref() == Some(&self.node));
        let labels = me.map(facts::node_labels).unwrap_or_default();
        let eligible = self.l2_driver.is_some()
            && facts::node_availability(me).is_ok()
            && config
                .l2_advertisements
                .iter()
                .any(|a| a.selects_node(&labels));
        let inputs = L2Inputs {
            addresses: plan.l2.clone(),
            eligible,
        };
        self.l2_inputs.send_if_modified(|cur| {
            if *cur == inputs {
                false
            } else {
                *cur = inputs;
                true
            }
        });
        self.services = snap
            .services
            .into_iter()
            .filter_map(|s| Some((ServiceKey::of(&s)?, s)))
            .collect();
        self.plan = plan;
        self.sync_status(owned).await;
    }

    async fn sync_status(&mut self, owned: &Owned) {
        let mut desired: BTreeMap<(Protocol, ServiceKey), Announced> = BTreeMap::new();
        let mut failures: BTreeSet<(ServiceKey, String)> = BTreeSet::new();
        for (key, peers) in &self.plan.bgp_services {
            let ips = self
                .services
                .get(key)
                .map(facts::ingress_ips)
                .unwrap_or_default();
            desired.insert(
                (Protocol::Bgp, key.clone()),
                Announced {
                    ips: ips.into_iter().collect(),
                    names: peers.clone(),
                },
            );
        }
        let links: BTreeSet<String> = self
            .l2_driver
            .as_ref()
            .map(|d| d.links().into_iter().map(|l| l.name).collect())
            .unwrap_or_default();
        for (ip, interfaces) in owned {
            let Some(addr) = self.plan.l2.get(ip) else {
                continue;
            };
            let names: BTreeSet<String> = match interfaces {
                Interfaces::All => links.clone(),
                Interfaces::Only(want) => want.intersection(&links).cloned().collect(),
            };
            for key in &addr.services {
                if names.is_empty() {
                    failures.insert((
                        key.clone(),
                        format!("the interfaces specified by LB IP \"{ip}\" doesn't exist in assigned node \"{}\" with protocol \"layer2\"", self.node),
                    ));
                    continue;
                }
                let a = desired.entry((Protocol::Layer2, key.clone())).or_default();
                a.ips.insert(*ip);
                a.names.extend(names.iter().cloned());
            }
        }
        for (key, skip) in &self.plan.skipped {
            if *skip == Skip::IpNotAllowed {
                failures.insert((key.clone(), "assigned IP not allowed by config".to_string()));
            }
        }
        self.status.retain_failures(&failures);
        for (key, note) in &failures {
            if let Some(svc) = self.services.get(key) {
                self.status.announce_failed(svc, note.clone()).await;
            }
        }
        self.status.sync(&desired, &self.services).await;
    }
}

async fn signal() {
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
