//! The one writer: every Service write and event goes through the leader gate.
//!
//! ```text
//!   plan::writes() ─► ServiceWriter::apply ─► gate.check_term ─► PATCH (finalizer | annotation
//!                          │                                       | status subresource)
//!                          └─► remembers the object it got back, so a reconcile that runs before
//!                              the watch catches up plans against what we wrote, not stale data
//! ```

use std::collections::HashMap;

use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Resource, ResourceExt};
use serde_json::json;
use tracing::{debug, warn};

use super::plan::{FINALIZER, POOL_ANNOTATION, Write};
use crate::lease::{LeaderGate, NotLeader};
use crate::metrics::Metrics;

/// Name under which we write (field manager, event reporter).
pub const MANAGER: &str = "lodestone-ccm";

/// Why a write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("not writing: {0}")]
    NotLeader(#[from] NotLeader),
    #[error("the Service changed while we wrote it (conflict); will retry")]
    Conflict,
    #[error("the Service is gone")]
    Gone,
    #[error("API error writing {what}: {source}")]
    Api {
        what: &'static str,
        #[source]
        source: kube::Error,
    },
}

impl WriteError {
    /// Short label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            WriteError::NotLeader(_) => "not_leader",
            WriteError::Conflict => "conflict",
            WriteError::Gone => "gone",
            WriteError::Api { .. } => "api",
        }
    }
}

type Key = (String, String);

/// What we last wrote to a Service: the resourceVersions our writes replaced, and what came
/// back from the last one.
struct Written {
    superseded: Vec<String>,
    after: Service,
}

/// Sends Service writes and events, only while leading in the given term.
pub struct ServiceWriter {
    client: kube::Client,
    gate: LeaderGate,
    metrics: Metrics,
    recorder: Recorder,
    written: HashMap<Key, Written>,
}

fn key(svc: &Service) -> Key {
    (svc.namespace().unwrap_or_default(), svc.name_any())
}

impl ServiceWriter {
    pub fn new(client: kube::Client, gate: LeaderGate, metrics: Metrics, instance: String) -> Self {
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: MANAGER.to_string(),
                instance: Some(instance),
            },
        );
        ServiceWriter {
            client,
            gate,
            metrics,
            recorder,
            written: HashMap::new(),
        }
    }

    /// The newest copy of `from_store` we know: our own last write if the store has not caught
    /// up with it yet (its resourceVersion is still the one we wrote over).
    pub fn current(&mut self, from_store: &Service) -> Service {
        let k = key(from_store);
        if let Some(w) = self.written.get(&k) {
            if let Some(rv) = &from_store.metadata.resource_version
                && w.superseded.contains(rv)
            {
                return w.after.clone();
            }
            self.written.remove(&k);
        }
        from_store.clone()
    }

    /// Forgets what we wrote (on losing leadership or when the Service is gone).
    pub fn forget(&mut self, ns: &str, name: &str) {
        self.written.remove(&(ns.to_string(), name.to_string()));
    }

    pub fn forget_all(&mut self) {
        self.written.clear();
    }

    /// Sends `writes` in order; returns the Service as the last write left it.
    pub async fn apply(
        &mut self,
        svc: &Service,
        writes: &[Write],
        term: u64,
    ) -> Result<Service, WriteError> {
        let mut cur = svc.clone();
        for w in writes {
            self.gate.check_term(term).inspect_err(|_| {
                self.metrics
                    .api_writes
                    .with_label_values(&["service", "not_leader"])
                    .inc();
            })?;
            let before = cur.metadata.resource_version.clone();
            let result = self.send(&cur, w).await;
            match result {
                Ok(after) => {
                    self.metrics
                        .api_writes
                        .with_label_values(&["service", "sent"])
                        .inc();
                    let entry = self.written.entry(key(&after)).or_insert_with(|| Written {
                        superseded: Vec::new(),
                        after: after.clone(),
                    });
                    if let Some(rv) = before {
                        if entry.superseded.len() >= 16 {
                            entry.superseded.remove(0);
                        }
                        entry.superseded.push(rv);
                    }
                    entry.after = after.clone();
                    cur = after;
                }
                Err(e) => {
                    self.metrics
                        .api_writes
                        .with_label_values(&["service", e.metric_label()])
                        .inc();
                    return Err(e);
                }
            }
        }
        Ok(cur)
    }

    async fn send(&self, svc: &Service, w: &Write) -> Result<Service, WriteError> {
        let ns = svc.namespace().unwrap_or_default();
        let name = svc.name_any();
        let api: Api<Service> = Api::namespaced(self.client.clone(), &ns);
        let pp = PatchParams::default();
        let (what, result) = match w {
            Write::AddFinalizer | Write::RemoveFinalizer => {
                let mut finalizers: Vec<String> = svc.finalizers().to_vec();
                finalizers.retain(|f| f != FINALIZER);
                if matches!(w, Write::AddFinalizer) {
                    finalizers.push(FINALIZER.to_string());
                }
                // resourceVersion makes the list replacement optimistic: a 409 if it moved.
                let patch = json!({"metadata": {
                    "finalizers": finalizers,
                    "resourceVersion": svc.metadata.resource_version,
                }});
                (
                    "finalizers",
                    api.patch(&name, &pp, &Patch::Merge(&patch)).await,
                )
            }
            Write::Annotation(pool) => {
                let patch = json!({"metadata": {"annotations": {POOL_ANNOTATION: pool}}});
                (
                    "annotation",
                    api.patch(&name, &pp, &Patch::Merge(&patch)).await,
                )
            }
            Write::Status(ingress) => {
                let patch = json!({"status": {"loadBalancer": {"ingress": ingress}}});
                (
                    "status",
                    api.patch_status(&name, &pp, &Patch::Merge(&patch)).await,
                )
            }
        };
        debug!(service = %format!("{ns}/{name}"), write = what, ok = result.is_ok(), "service write");
        result.map_err(|e| match e {
            kube::Error::Api(s) if s.is_conflict() => WriteError::Conflict,
            kube::Error::Api(s) if s.is_not_found() => WriteError::Gone,
            source => WriteError::Api { what, source },
        })
    }

    /// Publishes an event about `svc` (only while leading in `term`; failures are logged).
    pub async fn event(&self, svc: &Service, term: u64, warning: bool, reason: &str, note: String) {
        if self.gate.check_term(term).is_err() {
            return;
        }
        let ev = Event {
            type_: if warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: reason.to_string(),
            note: Some(truncate(note, 1000)),
            action: reason.to_string(),
            secondary: None,
        };
        let reference = svc.object_ref(&());
        match self.recorder.publish(&ev, &reference).await {
            Ok(()) => self
                .metrics
                .api_writes
                .with_label_values(&["event", "sent"])
                .inc(),
            Err(e) => {
                self.metrics
                    .api_writes
                    .with_label_values(&["event", "failed"])
                    .inc();
                warn!(error = %e, reason, service = %svc.name_any(), "publishing event");
            }
        }
    }
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}
