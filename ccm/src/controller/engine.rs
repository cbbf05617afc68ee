//! The leader's state: configuration, allocator and what is still pending, and the reconcile of
//! one Service.
//!
//! ```text
//!   became leader ─► Engine::start: set_config ─► restore every published address ─► all dirty
//!   Change ─► dirty set ─► reconcile(key):
//!       Serve   ─► ServiceRequest ─► Allocator::assign ─► Desired ─► plan::writes ─► ServiceWriter
//!       Release ─► Allocator::release ─► Desired::released ─► writes (finalizer last)
//!       Ignore  ─► release anything we still hold for it
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{Namespace, Service};
use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};
use lodestone_apis::config::Config;
use tracing::{debug, info, warn};

use super::plan::{self, ClassFilter, Desired, Disposition};
use super::writer::{ServiceWriter, WriteError, Written};
use crate::ipam::{
    Allocator, Change as AllocChange, DEPRECATED_ANNOTATION_PREFIX, Labels, ServiceKey,
    ServiceRequest,
};
use crate::metrics::{Metrics, PoolCounts};

/// (namespace, name) of a Service.
pub type Key = (String, String);

/// Outcome of reconciling one Service.
#[derive(Debug, PartialEq, Eq)]
pub enum Reconciled {
    /// Done (served, pending with a reason, released or ignored).
    Done,
    /// A write failed in a way worth retrying (conflict, API error).
    Retry,
    /// We are no longer the leader of this term: stop.
    NotLeader,
}

/// What the leader holds while it leads one term.
pub struct Engine {
    pub term: u64,
    filter: ClassFilter,
    allocator: Allocator,
    config: Option<Config>,
    /// Services that wait for an address, with the reason last reported.
    pending: BTreeMap<Key, String>,
    /// Services we already warned about deprecated annotations.
    warned_deprecated: BTreeSet<Key>,
    /// Addresses a configuration reload took away, to be reported on the next reconcile.
    dropped_by_config: HashMap<Key, Vec<IpAddr>>,
    metrics: Metrics,
}

fn key_of(svc: &Service) -> Key {
    (svc.namespace().unwrap_or_default(), svc.name_any())
}

fn namespace_labels(namespaces: &Store<Namespace>, ns: &str) -> Labels {
    namespaces
        .get(&ObjectRef::new(ns))
        .and_then(|n| n.metadata.labels.clone())
        .unwrap_or_default()
}

impl Engine {
    /// Builds the leader's state from the API: the configuration, then every address already
    /// published in Service status, before anything new is allocated.
    pub fn start(
        term: u64,
        filter: ClassFilter,
        config: Option<Config>,
        services: &Store<Service>,
        namespaces: &Store<Namespace>,
        metrics: Metrics,
    ) -> Engine {
        let mut allocator = Allocator::new();
        if let Some(c) = &config
            && let Err(e) = allocator.set_config(c)
        {
            warn!(error = %e, "configuration rejected by the allocator");
        }
        let mut restored = 0usize;
        let mut refused = 0usize;
        let mut all = services.state();
        all.sort_by_key(|s| key_of(s));
        for svc in &all {
            if plan::disposition(svc, &filter) != Disposition::Serve {
                continue;
            }
            let ips = plan::published_ips(svc);
            if ips.is_empty() {
                continue;
            }
            let labels = namespace_labels(namespaces, &svc.namespace().unwrap_or_default());
            let Ok(req) = ServiceRequest::from_service(svc, &labels) else {
                refused += 1;
                continue;
            };
            match allocator.restore(&req, &ips) {
                Ok(_) => restored += 1,
                Err(e) => {
                    refused += 1;
                    debug!(service = %format!("{}/{}", req.key.namespace, req.key.name), error = %e,
                        "published address not restored; the reconcile decides");
                }
            }
        }
        info!(
            term,
            restored, refused, "rebuilt allocations from Service status"
        );
        Engine {
            term,
            filter,
            allocator,
            config,
            pending: BTreeMap::new(),
            warned_deprecated: BTreeSet::new(),
            dropped_by_config: HashMap::new(),
            metrics,
        }
    }

    /// Loads a new configuration; returns the Services whose addresses it dropped.
    pub fn set_config(&mut self, config: Config) -> Result<Vec<Key>, String> {
        let dropped = self
            .allocator
            .set_config(&config)
            .map_err(|e| e.to_string())?;
        self.config = Some(config);
        Ok(dropped
            .into_iter()
            .map(|d| (d.service.namespace, d.service.name))
            .collect())
    }

    pub fn has_config(&self) -> bool {
        self.config.is_some()
    }

    /// Services waiting for an address.
    pub fn pending(&self) -> impl Iterator<Item = &Key> {
        self.pending.keys()
    }

    /// Publishes the per-pool address gauges; returns the counters for pool status.
    pub fn pool_counts(&self) -> Vec<PoolCounts> {
        let out: Vec<PoolCounts> = self
            .allocator
            .pool_names()
            .filter_map(|p| {
                let c = self.allocator.counters(p)?;
                Some(PoolCounts {
                    pool: p.to_string(),
                    v4_total: u64::try_from(c.total_v4).unwrap_or(0),
                    v4_in_use: u64::try_from(c.in_use_v4).unwrap_or(0),
                    v6_total: u64::try_from(c.total_v6).unwrap_or(0),
                    v6_in_use: u64::try_from(c.in_use_v6).unwrap_or(0),
                })
            })
            .collect();
        self.metrics.set_pools(&out);
        out
    }

    /// Decides what one Service needs: updates the allocator, queues the events that do not
    /// depend on the writes, and returns the writes (sent by the caller, possibly alongside
    /// other Services' writes) and what to report once they succeed.
    pub fn plan(
        &mut self,
        key: &Key,
        services: &Store<Service>,
        namespaces: &Store<Namespace>,
        writer: &mut ServiceWriter,
    ) -> Step {
        let akey = ServiceKey::new(key.0.clone(), key.1.clone());
        let mut step = Step {
            key: key.clone(),
            svc: None,
            writes: Vec::new(),
            after: Vec::new(),
            freed: false,
        };
        let Some(stored) = services.get(&ObjectRef::new(&key.1).within(&key.0)) else {
            // Gone from the API (our finalizer was already removed, or it was never ours).
            writer.forget(&key.0, &key.1);
            self.pending.remove(key);
            self.warned_deprecated.remove(key);
            self.dropped_by_config.remove(key);
            step.freed = self.allocator.release(&akey).is_some();
            return step;
        };
        let svc = writer.current(&stored);
        match plan::disposition(&svc, &self.filter) {
            Disposition::Ignore => {
                self.pending.remove(key);
                self.dropped_by_config.remove(key);
                step.freed = self.allocator.release(&akey).is_some();
            }
            Disposition::Release => {
                self.pending.remove(key);
                self.dropped_by_config.remove(key);
                step.freed = self.allocator.release(&akey).is_some();
                step.writes = plan::writes(&svc, &Desired::released());
                if !step.writes.is_empty() {
                    writer.event(
                        &svc,
                        self.term,
                        false,
                        "DeletingLoadBalancer",
                        "Deleting load balancer".into(),
                    );
                    step.after
                        .push((false, "DeletedLoadBalancer", "Deleted load balancer".into()));
                }
            }
            Disposition::Serve => self.serve(key, &svc, namespaces, writer, &mut step),
        }
        if !step.writes.is_empty() {
            step.svc = Some(svc);
        }
        step
    }

    fn serve(
        &mut self,
        key: &Key,
        svc: &Service,
        namespaces: &Store<Namespace>,
        writer: &ServiceWriter,
        step: &mut Step,
    ) {
        let t = self.term;
        self.warn_deprecated(key, svc, writer);
        if let Some(ips) = self.dropped_by_config.remove(key) {
            let ips: Vec<String> = ips.iter().map(|i| i.to_string()).collect();
            writer.event(
                svc,
                t,
                false,
                "ClearAssignment",
                format!("current IP {ips:?} not allowed by config, clearing"),
            );
        }
        if self.config.is_none() {
            let why = "no valid metallb.io configuration has been loaded yet".to_string();
            self.stay_pending(key, svc, why, writer, step);
            return;
        }
        let labels = namespace_labels(namespaces, &key.0);
        let req = match ServiceRequest::from_service(svc, &labels) {
            Ok(r) => r,
            Err(e) => {
                // The allocation (if any) is left alone, as MetalLB does for a bad request.
                self.stay_pending(key, svc, e.to_string(), writer, step);
                return;
            }
        };
        let outcome = self.allocator.assign(&req);
        if let Some(cleared) = &outcome.cleared {
            step.freed = true;
            let ips: Vec<String> = cleared.previous.ips.iter().map(|i| i.to_string()).collect();
            writer.event(
                svc,
                t,
                false,
                "ClearAssignment",
                format!("{}; clearing {:?}", cleared.reason, ips),
            );
        }
        match &outcome.result {
            Ok(assigned) => {
                self.pending.remove(key);
                step.writes = plan::writes(
                    svc,
                    &Desired::served(&assigned.allocation.ips, &assigned.allocation.pool),
                );
                if !step.writes.is_empty() {
                    writer.event(
                        svc,
                        t,
                        false,
                        "EnsuringLoadBalancer",
                        "Ensuring load balancer".into(),
                    );
                }
                if matches!(
                    assigned.change,
                    AllocChange::New | AllocChange::AddedFamily(_)
                ) {
                    let ips: Vec<String> = assigned
                        .allocation
                        .ips
                        .iter()
                        .map(|i| i.to_string())
                        .collect();
                    step.after
                        .push((false, "IPAllocated", format!("Assigned IP {ips:?}")));
                }
                if let Some(e) = &assigned.additional_family_error {
                    step.after
                        .push((false, "AdditionalAssignFailed", e.to_string()));
                }
                if !step.writes.is_empty() {
                    step.after
                        .push((false, "EnsuredLoadBalancer", "Ensured load balancer".into()));
                }
            }
            Err(e) => {
                step.writes = plan::writes(svc, &Desired::pending());
                self.stay_pending(key, svc, e.to_string(), writer, step);
            }
        }
    }

    /// Records `why` the Service waits and tells its owner (once per distinct reason); keeps
    /// the finalizer on a Service we will serve later, so its deletion waits for us.
    fn stay_pending(
        &mut self,
        key: &Key,
        svc: &Service,
        why: String,
        writer: &ServiceWriter,
        step: &mut Step,
    ) {
        let t = self.term;
        if self.pending.get(key) != Some(&why) {
            self.metrics
                .reconcile_errors
                .with_label_values(&["service", "pending"])
                .inc();
            let name = format!("{}/{}", key.0, key.1);
            writer.event(
                svc,
                t,
                true,
                "AllocationFailed",
                format!("Failed to allocate IP for {name:?}: {why}"),
            );
            writer.event(
                svc,
                t,
                true,
                "SyncLoadBalancerFailed",
                format!("Error syncing load balancer: failed to ensure load balancer: {why}"),
            );
            info!(service = %name, reason = %why, "service pending");
            self.pending.insert(key.clone(), why);
        }
        if step.writes.is_empty() && !plan::has_finalizer(svc) {
            step.writes = vec![plan::Write::Metadata {
                finalizer: true,
                pool: plan::pool_annotation(svc).map(str::to_string),
            }];
        }
    }

    fn warn_deprecated(&mut self, key: &Key, svc: &Service, writer: &ServiceWriter) {
        if self.warned_deprecated.contains(key) {
            return;
        }
        let old: Vec<&String> = svc
            .metadata
            .annotations
            .iter()
            .flat_map(|a| a.keys())
            .filter(|k| k.starts_with(DEPRECATED_ANNOTATION_PREFIX))
            .collect();
        if old.is_empty() {
            return;
        }
        let note = format!(
            "deprecated annotation(s) {old:?}: use the metallb.io/ prefix instead; honoured for now"
        );
        writer.event(svc, self.term, true, "DeprecatedAnnotation", note);
        self.warned_deprecated.insert(key.clone());
    }

    /// Takes the result of a step's writes: reports success, or decides whether to retry.
    pub fn finish(
        &mut self,
        step: &Step,
        result: Result<Written, WriteError>,
        writer: &mut ServiceWriter,
    ) -> Reconciled {
        let Some(svc) = &step.svc else {
            return Reconciled::Done;
        };
        match result {
            Ok(written) => {
                writer.record(written);
                for (warning, reason, note) in &step.after {
                    writer.event(svc, self.term, *warning, reason, note.clone());
                }
                Reconciled::Done
            }
            Err(e) => self.write_failed(svc, e, writer),
        }
    }

    fn write_failed(
        &mut self,
        svc: &Service,
        e: WriteError,
        writer: &mut ServiceWriter,
    ) -> Reconciled {
        self.metrics
            .reconcile_errors
            .with_label_values(&["service", e.metric_label()])
            .inc();
        let name = format!("{}/{}", svc.namespace().unwrap_or_default(), svc.name_any());
        match e {
            WriteError::NotLeader(_) => Reconciled::NotLeader,
            WriteError::Gone => {
                writer.forget(&svc.namespace().unwrap_or_default(), &svc.name_any());
                Reconciled::Done
            }
            WriteError::Conflict => {
                debug!(service = %name, "conflict; retrying");
                Reconciled::Retry
            }
            e @ WriteError::Api { .. } => {
                warn!(service = %name, error = %e, "write failed; retrying");
                writer.event(
                    svc,
                    self.term,
                    true,
                    "SyncLoadBalancerFailed",
                    format!("Error syncing load balancer: {e}"),
                );
                Reconciled::Retry
            }
        }
    }
}

/// What one Service needs, decided by [`Engine::plan`].
#[derive(Debug)]
pub struct Step {
    pub key: Key,
    /// The Service the writes apply to (`None` when there is nothing to write).
    pub svc: Option<Service>,
    pub writes: Vec<plan::Write>,
    /// Events to publish once the writes succeeded: (warning, reason, note).
    pub after: Vec<(bool, &'static str, String)>,
    /// Addresses were released: pending Services may fit now.
    pub freed: bool,
}

/// Keys of every Service in the store, sorted.
pub fn all_keys(services: &Store<Service>) -> Vec<Key> {
    let mut keys: Vec<Key> = services.state().iter().map(|s| key_of(s)).collect();
    keys.sort();
    keys
}

/// Bookkeeping of the last IPAddressPool status we wrote, to write only changes.
#[derive(Default)]
pub struct PoolStatusCache(pub HashMap<String, PoolCounts>);
