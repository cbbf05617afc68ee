//! The one writer: every Service write and event goes through the leader gate.
//!
//! ```text
//!   plan::writes() ─► ServiceWriter::apply ─► gate.check_term ─► PATCH (finalizer | annotation
//!                          │                                       | status subresource)
//!                          └─► remembers the object it got back, so a reconcile that runs before
//!                              the watch catches up plans against what we wrote, not stale data
//! ```

use std::collections::HashMap;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ObjectReference, Service};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Resource, ResourceExt};
use serde_json::json;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::plan::{self, FINALIZER, POOL_ANNOTATION, Write};
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
#[derive(Debug)]
pub struct Written {
    superseded: Vec<String>,
    after: Service,
}

/// An event waiting to be published.
struct Queued {
    term: u64,
    event: Event,
    regarding: ObjectReference,
}

/// Events queued by the writer before they are dropped (counted as `event/dropped`).
const EVENT_QUEUE: usize = 16_384;
/// Events published at once.
const EVENT_CONCURRENCY: usize = 8;

/// Sends Service writes and events, only while leading in the given term. One Service's writes
/// are sent in order; events go through a queue so they never hold up a reconcile.
pub struct ServiceWriter {
    client: kube::Client,
    gate: LeaderGate,
    metrics: Metrics,
    events: mpsc::Sender<Queued>,
    written: HashMap<Key, Written>,
}

async fn publish_events(
    rx: mpsc::Receiver<Queued>,
    recorder: Recorder,
    gate: LeaderGate,
    metrics: Metrics,
) {
    let queue =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|q| (q, rx)) });
    queue
        .for_each_concurrent(EVENT_CONCURRENCY, |q| {
            let recorder = recorder.clone();
            let gate = gate.clone();
            let metrics = metrics.clone();
            async move {
                // Checked again at the point of use: the term may have ended while queued.
                if gate.check_term(q.term).is_err() {
                    metrics
                        .api_writes
                        .with_label_values(&["event", "not_leader"])
                        .inc();
                    return;
                }
                match recorder.publish(&q.event, &q.regarding).await {
                    Ok(()) => metrics
                        .api_writes
                        .with_label_values(&["event", "sent"])
                        .inc(),
                    Err(e) => {
                        metrics
                            .api_writes
                            .with_label_values(&["event", "failed"])
                            .inc();
                        warn!(error = %e, reason = %q.event.reason,
                            service = ?q.regarding.name, "publishing event");
                    }
                }
            }
        })
        .await;
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
        let (events, rx) = mpsc::channel(EVENT_QUEUE);
        tokio::spawn(publish_events(rx, recorder, gate.clone(), metrics.clone()));
        ServiceWriter {
            client,
            gate,
            metrics,
            events,
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

    /// Sends `writes` in order (only while leading in `term`); returns what to [`record`]:
    /// the Service as the last write left it. Takes `&self`, so the writes of several
    /// Services can be in flight at once.
    ///
    /// [`record`]: Self::record
    pub async fn send_all(
        &self,
        svc: &Service,
        writes: &[Write],
        term: u64,
    ) -> Result<Written, WriteError> {
        let mut cur = svc.clone();
        let mut superseded = Vec::new();
        for w in writes {
            self.gate.check_term(term).inspect_err(|_| {
                self.metrics
                    .api_writes
                    .with_label_values(&["service", "not_leader"])
                    .inc();
            })?;
            let before = cur.metadata.resource_version.clone();
            match self.send(&cur, w).await {
                Ok(after) => {
                    self.metrics
                        .api_writes
                        .with_label_values(&["service", "sent"])
                        .inc();
                    superseded.extend(before);
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
        Ok(Written {
            superseded,
            after: cur,
        })
    }

    /// Remembers a successful [`send_all`](Self::send_all), so that planning before the watch
    /// catches up starts from what we wrote.
    pub fn record(&mut self, w: Written) {
        let entry = self
            .written
            .entry(key(&w.after))
            .or_insert_with(|| Written {
                superseded: Vec::new(),
                after: w.after.clone(),
            });
        entry.superseded.extend(w.superseded);
        let excess = entry.superseded.len().saturating_sub(16);
        entry.superseded.drain(..excess);
        entry.after = w.after;
    }

    async fn send(&self, svc: &Service, w: &Write) -> Result<Service, WriteError> {
        let ns = svc.namespace().unwrap_or_default();
        let name = svc.name_any();
        let api: Api<Service> = Api::namespaced(self.client.clone(), &ns);
        let pp = PatchParams::default();
        let (what, result) = match w {
            Write::Metadata { finalizer, pool } => {
                let mut meta = json!({"annotations": {POOL_ANNOTATION: pool}});
                if plan::has_finalizer(svc) != *finalizer {
                    let mut finalizers: Vec<String> = svc.finalizers().to_vec();
                    finalizers.retain(|f| f != FINALIZER);
                    if *finalizer {
                        finalizers.push(FINALIZER.to_string());
                    }
                    // The list is replaced whole: the resourceVersion makes that optimistic
                    // (409 if someone else changed the object since we read it).
                    meta["finalizers"] = json!(finalizers);
                    meta["resourceVersion"] = json!(svc.metadata.resource_version);
                }
                let patch = json!({ "metadata": meta });
                (
                    "metadata",
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

    /// Queues an event about `svc` (only while leading in `term`; published in the background).
    pub fn event(&self, svc: &Service, term: u64, warning: bool, reason: &str, note: String) {
        if self.gate.check_term(term).is_err() {
            return;
        }
        let event = Event {
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
        let queued = Queued {
            term,
            event,
            regarding: svc.object_ref(&()),
        };
        if self.events.try_send(queued).is_err() {
            self.metrics
                .api_writes
                .with_label_values(&["event", "dropped"])
                .inc();
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
