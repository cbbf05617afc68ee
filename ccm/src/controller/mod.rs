//! The service controller: the LoadBalancer contract, driven by watches, written by the leader.
//!
//! ```text
//!   watch Services, Namespaces ─┐                     ┌─ leader (term t): Engine (allocator)
//!   watch metallb.io kinds, ────┼─► Change ─► dirty ──┤      reconcile dirty Services
//!         Secrets (namespace)   │                     │      ─► ServiceWriter (gated) ─► API
//!                               │                     └─ follower: evaluate config, no writes
//!   config changed ─► Config::from_resources ─► metrics, ConfigurationState, Engine::set_config
//! ```
//!
//! A new leader rebuilds every allocation from Service status before it allocates anything
//! ([`engine::Engine::start`]); losing leadership drops the engine.

pub mod config;
pub mod engine;
pub mod plan;
pub mod watch;
pub mod writer;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use k8s_openapi::api::core::v1::{Namespace, Secret, Service};
use kube::api::Api;
use tokio::sync::{mpsc, watch as tokio_watch};
use tracing::{info, warn};

use crate::lease::{LeaderGate, Leadership};
use crate::metrics::Metrics;
use crate::run::http::Health;
use config::{ConfigSource, StatusWriter};
use engine::{Engine, Key, Reconciled};
use plan::ClassFilter;
use watch::Change;
use writer::ServiceWriter;

/// Services whose writes are in flight at once.
const WRITES_IN_FLIGHT: usize = 16;

/// Least time between two rounds of IPAddressPool status writes.
const POOL_STATUS_EVERY: Duration = Duration::from_millis(500);

/// What the controller is told at start-up.
#[derive(Clone, Debug)]
pub struct ControllerParams {
    /// The CCM's namespace: configuration, Secrets, the Lease.
    pub namespace: String,
    /// `--lb-class` values.
    pub lb_classes: Vec<String>,
    /// Serve Services without a class (`--no-default-class` turns it off).
    pub serve_default_class: bool,
    /// Our election identity (event reporting instance).
    pub identity: String,
}

/// Runs the controller until `shutdown`; returns an error only when it cannot go on.
pub async fn run(
    client: kube::Client,
    params: ControllerParams,
    gate: LeaderGate,
    metrics: Metrics,
    health: Arc<Health>,
    mut shutdown: tokio_watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Change>();
    let (services, svc_task) = watch::spawn(
        Api::<Service>::all(client.clone()),
        (),
        "Service",
        tx.clone(),
        metrics.clone(),
        watch::service_change,
        watch::every_update,
    );
    let (namespaces, ns_task) = watch::spawn(
        Api::<Namespace>::all(client.clone()),
        (),
        "Namespace",
        tx.clone(),
        metrics.clone(),
        watch::namespace_change,
        watch::labels,
    );
    let (secrets, secret_task) = watch::spawn(
        Api::<Secret>::namespaced(client.clone(), &params.namespace),
        (),
        "Secret",
        tx.clone(),
        metrics.clone(),
        watch::config_change,
        watch::every_update,
    );
    let mut source = ConfigSource::spawn(
        &client,
        &params.namespace,
        &tx,
        &metrics,
        secrets,
        namespaces.clone(),
    );
    let mut tasks = vec![svc_task, ns_task, secret_task];
    tasks.extend(source.take_tasks());
    let _abort = AbortOnDrop(tasks);

    info!("waiting for the watches to list every kind once");
    let synced = async {
        services.wait_until_ready().await?;
        namespaces.wait_until_ready().await?;
        source.wait_until_ready().await
    };
    tokio::select! {
        r = synced => r.context("a watch stopped before it synced")?,
        _ = shutdown.changed() => return Ok(()),
    }
    info!("watches synced");

    let filter = ClassFilter {
        serve_default: params.serve_default_class,
        classes: params.lb_classes.clone(),
    };
    let mut writer = ServiceWriter::new(
        client.clone(),
        gate.clone(),
        metrics.clone(),
        params.identity.clone(),
    );
    let mut status = StatusWriter::new(
        client.clone(),
        &params.namespace,
        gate.clone(),
        metrics.clone(),
    );
    let mut leadership = gate.subscribe();
    let mut engine: Option<Engine> = None;
    // The leadership value under which writes were refused (an expired claim): do not start
    // again until it changes (renewed, or a new term).
    let mut abandoned: Option<Leadership> = None;
    let mut dirty: BTreeSet<Key> = BTreeSet::new();
    let mut retry: BTreeSet<Key> = BTreeSet::new();
    let mut config_dirty = true;
    let mut all_dirty = true;
    let mut last_config: Option<lodestone_apis::config::Config> = None;
    let mut retry_at: Option<tokio::time::Instant> = None;
    let mut pool_flush_at: Option<tokio::time::Instant> = None;

    loop {
        // Configuration first: every replica evaluates it (metrics), the leader publishes it.
        if config_dirty {
            config_dirty = false;
            let evaluated = source.evaluate();
            metrics
                .config_stale
                .set(i64::from(evaluated.latest.is_err()));
            if evaluated.latest.is_ok() {
                metrics.config_loaded.set(1);
            }
            let changed = evaluated.config != last_config;
            if let Some(e) = engine.as_mut() {
                status.configuration_state(e.term, &evaluated).await;
                if changed && let (Ok(()), Some(c)) = (&evaluated.latest, &evaluated.config) {
                    match e.set_config(c.clone()) {
                        Ok(dropped) => dirty.extend(dropped),
                        Err(why) => warn!(error = %why, "allocator refused the configuration"),
                    }
                }
            }
            if changed {
                // Pool admission may have changed for anyone.
                all_dirty = true;
                last_config = evaluated.config;
            }
            health.set_synced(true);
        }
        // Leadership: a new term rebuilds from status; losing it drops everything.
        let current = *leadership.borrow_and_update();
        let now_leading = match current {
            Leadership::Leading { term, .. } => Some(term),
            Leadership::Following => None,
        };
        match (now_leading, engine.as_ref().map(|e| e.term)) {
            (Some(t), Some(had)) if t == had => {}
            (Some(_), None) if abandoned == Some(current) => {}
            (Some(t), _) => {
                metrics.leader.set(1);
                writer.forget_all();
                let evaluated = source.evaluate();
                status.configuration_state(t, &evaluated).await;
                let cfg = evaluated.config;
                engine = Some(Engine::start(
                    t,
                    filter.clone(),
                    cfg,
                    &services,
                    &namespaces,
                    metrics.clone(),
                ));
                all_dirty = true;
            }
            (None, Some(_)) => {
                metrics.leader.set(0);
                engine = None;
                writer.forget_all();
                status.forget();
            }
            (None, None) => {}
        }
        if let Some(e) = engine.as_mut() {
            if all_dirty {
                dirty.extend(engine::all_keys(&services));
                all_dirty = false;
            }
            let mut freed_any = false;
            let mut lost = false;
            while !dirty.is_empty() {
                // Decide a chunk of Services one by one (the allocator is sequential), then
                // send their writes together: one Service's writes stay in order.
                let started = Instant::now();
                let mut steps = Vec::new();
                while steps.len() < WRITES_IN_FLIGHT
                    && let Some(key) = dirty.pop_first()
                {
                    metrics.reconciles.with_label_values(&["service"]).inc();
                    let step = e.plan(&key, &services, &namespaces, &mut writer);
                    freed_any |= step.freed;
                    if step.svc.is_some() {
                        steps.push(step);
                    } else {
                        metrics
                            .reconcile_duration
                            .observe(started.elapsed().as_secs_f64());
                    }
                }
                let sending = Instant::now();
                let term = e.term;
                let results = futures::future::join_all(steps.iter().map(|st| async {
                    match &st.svc {
                        Some(svc) => writer.send_all(svc, &st.writes, term).await,
                        None => Err(writer::WriteError::Gone),
                    }
                }))
                .await;
                // Writes went out together: each Service is charged its share of the round.
                let share = sending.elapsed().as_secs_f64() / steps.len().max(1) as f64;
                for (step, result) in steps.iter().zip(results) {
                    metrics.reconcile_duration.observe(share);
                    match e.finish(step, result, &mut writer) {
                        Reconciled::Done => {}
                        Reconciled::Retry => {
                            retry.insert(step.key.clone());
                        }
                        Reconciled::NotLeader => lost = true,
                    }
                }
                if lost {
                    break;
                }
                if freed_any && dirty.is_empty() {
                    // Addresses came free: Services waiting for one may fit now.
                    freed_any = false;
                    let pending: Vec<Key> = e.pending().cloned().collect();
                    dirty.extend(pending);
                }
                // Let watch events in between long batches.
                while let Ok(c) = rx.try_recv() {
                    apply_change(c, &mut dirty, &mut config_dirty, &mut all_dirty);
                }
                if config_dirty {
                    break;
                }
            }
            if lost {
                abandoned = Some(current);
                engine = None;
                metrics.leader.set(0);
                writer.forget_all();
                status.forget();
                continue;
            }
            // Pool status is written at most twice a second, not once per Service.
            let now = tokio::time::Instant::now();
            let counts = e.pool_counts();
            if status.pools_differ(&counts) {
                let due = *pool_flush_at.get_or_insert(now + POOL_STATUS_EVERY);
                if due <= now && dirty.is_empty() {
                    status.pool_statuses(e.term, &counts).await;
                    pool_flush_at = None;
                }
            }
            if !retry.is_empty() && retry_at.is_none() {
                retry_at = Some(tokio::time::Instant::now() + Duration::from_secs(1));
            }
        } else {
            dirty.clear();
            retry.clear();
            retry_at = None;
        }
        if config_dirty || all_dirty || (engine.is_some() && !dirty.is_empty()) {
            continue;
        }
        // Wait for something to happen.
        let retry_sleep = async {
            match retry_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let pool_flush = async {
            match pool_flush_at {
                Some(at) if engine.is_some() => tokio::time::sleep_until(at).await,
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shutdown.changed() => return Ok(()),
            r = leadership.changed() => {
                if r.is_err() {
                    anyhow::bail!("the election stopped publishing leadership");
                }
            }
            c = rx.recv() => {
                let Some(c) = c else { anyhow::bail!("every watch stopped") };
                apply_change(c, &mut dirty, &mut config_dirty, &mut all_dirty);
                while let Ok(c) = rx.try_recv() {
                    apply_change(c, &mut dirty, &mut config_dirty, &mut all_dirty);
                }
            }
            _ = retry_sleep => {
                retry_at = None;
                dirty.append(&mut retry);
            }
            _ = pool_flush => {
                // Due now: the next pass writes it.
            }
        }
    }
}

fn apply_change(c: Change, dirty: &mut BTreeSet<Key>, config: &mut bool, all: &mut bool) {
    match c {
        Change::Service(ns, name) => {
            dirty.insert((ns, name));
        }
        Change::Namespace => *all = true,
        Change::Config => *config = true,
    }
}

struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}
