//! The node controller: Node and inventory watches, the gated writes and events.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Node};
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::runtime::controller::{Action as Requeue, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use serde_json::json;
use tokio::sync::watch as tokio_watch;
use tracing::{debug, info, warn};

use super::inventory::Inventory;
use super::plan::{Action, NodePatch, Note, PlanConfig, plan};
use crate::lease::{LeaderGate, Leadership};
use crate::metrics::Metrics;

const MANAGER: &str = "lodestone-ccm";
const KIND: &str = "Node";
/// Re-reads after a conflict before the reconcile gives up (and is retried later).
const CONFLICT_RETRIES: usize = 5;

/// What the node controller needs to know.
#[derive(Clone, Debug)]
pub struct NodeParams {
    /// The CCM's namespace (where the inventory ConfigMap lives).
    pub namespace: String,
    /// `--node-inventory NAME`.
    pub inventory: Option<String>,
    pub plan: PlanConfig,
    /// Our identity, reported as the events' instance.
    pub identity: String,
}

/// Why one reconcile failed (retried with a delay).
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("inventory ConfigMap {name}: {source}")]
    Inventory {
        name: String,
        #[source]
        source: super::inventory::InventoryError,
    },
    #[error("node {node} still conflicts after {CONFLICT_RETRIES} re-reads")]
    Conflicts { node: String },
    #[error("{what} node {node}: {source}")]
    Api {
        what: &'static str,
        node: String,
        #[source]
        source: Box<kube::Error>,
    },
}

impl NodeError {
    fn reason(&self) -> &'static str {
        match self {
            NodeError::Inventory { .. } => "inventory",
            NodeError::Conflicts { .. } => "conflict",
            NodeError::Api { .. } => "api",
        }
    }
}

enum WriteError {
    Conflict,
    Gone,
    NotLeader,
    Failed(NodeError),
}

struct Ctx {
    nodes: Api<Node>,
    inventory: Option<(String, Store<ConfigMap>)>,
    namespace: String,
    cfg: PlanConfig,
    gate: LeaderGate,
    metrics: Metrics,
    recorder: Recorder,
}

/// Runs the node controller until `shutdown` (Ok) or until it cannot go on (Err).
pub async fn run(
    client: kube::Client,
    params: NodeParams,
    gate: LeaderGate,
    metrics: Metrics,
    mut shutdown: tokio_watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: MANAGER.to_string(),
            instance: Some(params.identity.clone()),
        },
    );
    let mut triggers: Vec<futures::stream::BoxStream<'static, ()>> =
        vec![leadership_changes(gate.subscribe()).boxed()];
    let inventory = match &params.inventory {
        Some(name) => {
            let (reader, writer) = reflector::store::<ConfigMap>();
            let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &params.namespace);
            let cfg = watcher::Config::default().fields(&format!("metadata.name={name}"));
            let stream = watcher(cms, cfg)
                .default_backoff()
                .reflect(writer)
                .filter_map(|ev| {
                    std::future::ready(match ev {
                        Ok(watcher::Event::InitDone | watcher::Event::Apply(_))
                        | Ok(watcher::Event::Delete(_)) => Some(()),
                        Ok(_) => None,
                        Err(e) => {
                            warn!(error = %e, "watching the node inventory");
                            None
                        }
                    })
                });
            triggers.push(stream.boxed());
            info!(inventory = %name, "node controller uses an inventory");
            Some((name.clone(), reader))
        }
        None => None,
    };
    let ctx = Arc::new(Ctx {
        nodes: nodes.clone(),
        inventory,
        namespace: params.namespace.clone(),
        cfg: params.plan.clone(),
        gate,
        metrics,
        recorder,
    });
    let controller = Controller::new(nodes, watcher::Config::default())
        .reconcile_all_on(futures::stream::select_all(triggers))
        .run(reconcile, error_policy, ctx)
        .for_each(|r| {
            if let Err(e) = r {
                debug!(error = %e, "node reconcile");
            }
            std::future::ready(())
        });
    tokio::select! {
        _ = controller => Err(anyhow::anyhow!("the node controller's watch ended")),
        _ = shutdown.changed() => Ok(()),
    }
}

/// One item per change of who leads (not per renewal).
fn leadership_changes(
    rx: tokio_watch::Receiver<Leadership>,
) -> impl futures::Stream<Item = ()> + Send + 'static {
    let term = |l: &Leadership| match l {
        Leadership::Following => None,
        Leadership::Leading { term, .. } => Some(*term),
    };
    let first = term(&rx.borrow());
    futures::stream::unfold((rx, first), move |(mut rx, last)| async move {
        loop {
            rx.changed().await.ok()?;
            let now = term(&rx.borrow_and_update());
            if now != last {
                return Some(((), (rx, now)));
            }
        }
    })
}

fn error_policy(node: Arc<Node>, err: &NodeError, ctx: Arc<Ctx>) -> Requeue {
    warn!(node = %node.name_any(), error = %err, "node reconcile failed; retrying");
    ctx.metrics
        .reconcile_errors
        .with_label_values(&[KIND, err.reason()])
        .inc();
    Requeue::requeue(Duration::from_secs(2))
}

async fn reconcile(node: Arc<Node>, ctx: Arc<Ctx>) -> Result<Requeue, NodeError> {
    let Ok(term) = ctx.gate.check() else {
        // A change of leadership reconciles every node again.
        return Ok(Requeue::await_change());
    };
    let started = Instant::now();
    ctx.metrics.reconciles.with_label_values(&[KIND]).inc();
    let inventory = match &ctx.inventory {
        None => None,
        Some((name, store)) => {
            match store.get(&ObjectRef::new(name).within(&ctx.namespace)) {
                // Configured but absent: initialise without it, never delete.
                None => None,
                Some(cm) => Some(Inventory::from_data(cm.data.as_ref()).map_err(|source| {
                    NodeError::Inventory {
                        name: name.clone(),
                        source,
                    }
                })?),
            }
        }
    };
    let name = node.name_any();
    let mut current = (*node).clone();
    let empty = BTreeMap::new();
    for _ in 0..CONFLICT_RETRIES {
        let labels = current.metadata.labels.as_ref().unwrap_or(&empty);
        let entry = inventory.as_ref().and_then(|i| i.lookup(&name, labels));
        let p = plan(&current, entry, &ctx.cfg);
        match write(&ctx, &current, &p.action, &p.notes, term).await {
            Ok(()) | Err(WriteError::Gone) | Err(WriteError::NotLeader) => {
                ctx.metrics
                    .reconcile_duration
                    .observe(started.elapsed().as_secs_f64());
                return Ok(Requeue::await_change());
            }
            Err(WriteError::Failed(e)) => return Err(e),
            Err(WriteError::Conflict) => {
                debug!(node = %name, "conflict; re-reading the node");
                match ctx.nodes.get_opt(&name).await {
                    Ok(Some(n)) => current = n,
                    Ok(None) => return Ok(Requeue::await_change()),
                    Err(source) => {
                        return Err(NodeError::Api {
                            what: "reading",
                            node: name,
                            source: Box::new(source),
                        });
                    }
                }
            }
        }
    }
    Err(NodeError::Conflicts { node: name })
}

fn classify(what: &'static str, node: &str, e: kube::Error) -> WriteError {
    match e {
        kube::Error::Api(s) if s.code == 409 => WriteError::Conflict,
        kube::Error::Api(s) if s.is_not_found() => WriteError::Gone,
        source => WriteError::Failed(NodeError::Api {
            what,
            node: node.to_string(),
            source: Box::new(source),
        }),
    }
}

fn gate(ctx: &Ctx, term: u64) -> Result<(), WriteError> {
    ctx.gate.check_term(term).map_err(|_| {
        ctx.metrics
            .api_writes
            .with_label_values(&[KIND, "not_leader"])
            .inc();
        WriteError::NotLeader
    })
}

fn sent(ctx: &Ctx, ok: bool) {
    ctx.metrics
        .api_writes
        .with_label_values(&[KIND, if ok { "sent" } else { "failed" }])
        .inc();
}

async fn write(
    ctx: &Ctx,
    node: &Node,
    action: &Action,
    notes: &[Note],
    term: u64,
) -> Result<(), WriteError> {
    let name = node.name_any();
    let rv = node.resource_version().unwrap_or_default();
    match action {
        Action::Delete => {
            gate(ctx, term)?;
            publish(ctx, node, notes, term).await;
            let dp = DeleteParams {
                preconditions: Some(Preconditions {
                    resource_version: Some(rv),
                    uid: node.uid(),
                }),
                ..DeleteParams::default()
            };
            let r = ctx.nodes.delete(&name, &dp).await;
            sent(ctx, r.is_ok());
            r.map_err(|e| classify("deleting", &name, e))?;
            info!(node = %name, "deleted a decommissioned node");
            Ok(())
        }
        Action::Patch(p) if p.is_empty() => {
            // Nothing to write; Warnings still say why the node is not initialised.
            publish(ctx, node, notes, term).await;
            Ok(())
        }
        Action::Patch(p) => {
            let pp = PatchParams {
                field_manager: Some(MANAGER.to_string()),
                ..PatchParams::default()
            };
            let mut rv = rv;
            if let Some(addresses) = &p.addresses {
                gate(ctx, term)?;
                let body = json!({
                    "metadata": {"resourceVersion": rv},
                    "status": {"addresses": addresses},
                });
                let r = ctx
                    .nodes
                    .patch_status(&name, &pp, &Patch::Merge(&body))
                    .await;
                sent(ctx, r.is_ok());
                let n = r.map_err(|e| classify("patching the status of", &name, e))?;
                rv = n.resource_version().unwrap_or_default();
            }
            if p.touches_spec() {
                gate(ctx, term)?;
                let body = spec_patch(p, &rv);
                let r = ctx.nodes.patch(&name, &pp, &Patch::Merge(&body)).await;
                sent(ctx, r.is_ok());
                r.map_err(|e| classify("patching", &name, e))?;
            }
            info!(node = %name, ?p, "node updated");
            publish(ctx, node, notes, term).await;
            Ok(())
        }
    }
}

/// The merge patch of a plan's spec and label changes, conditional on `rv`.
fn spec_patch(p: &NodePatch, rv: &str) -> serde_json::Value {
    let mut metadata = json!({"resourceVersion": rv});
    if !p.labels.is_empty() {
        metadata["labels"] = json!(p.labels);
    }
    let mut spec = serde_json::Map::new();
    if let Some(id) = &p.provider_id {
        spec.insert("providerID".into(), json!(id));
    }
    if let Some(taints) = &p.taints {
        spec.insert("taints".into(), json!(taints));
    }
    json!({"metadata": metadata, "spec": spec})
}

async fn publish(ctx: &Ctx, node: &Node, notes: &[Note], term: u64) {
    for n in notes {
        if ctx.gate.check_term(term).is_err() {
            return;
        }
        if n.warning {
            warn!(node = %node.name_any(), reason = n.reason, message = %n.message, "node not initialised");
        }
        let event = Event {
            type_: if n.warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: n.reason.to_string(),
            note: Some(n.message.chars().take(1000).collect()),
            action: n.reason.to_string(),
            secondary: None,
        };
        let r = ctx.recorder.publish(&event, &node.object_ref(&())).await;
        ctx.metrics
            .api_writes
            .with_label_values(&["event", if r.is_ok() { "sent" } else { "failed" }])
            .inc();
        if let Err(e) = r {
            warn!(node = %node.name_any(), error = %e, "publishing a node event");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Taint;

    #[test]
    fn spec_patch_carries_the_resource_version_and_only_planned_fields() {
        let p = NodePatch {
            provider_id: Some("lodestone://u".into()),
            taints: Some(vec![Taint {
                key: "other".into(),
                effect: "NoSchedule".into(),
                ..Taint::default()
            }]),
            ..NodePatch::default()
        };
        assert_eq!(
            spec_patch(&p, "42"),
            json!({
                "metadata": {"resourceVersion": "42"},
                "spec": {"providerID": "lodestone://u", "taints": [{"key": "other", "effect": "NoSchedule"}]},
            })
        );
        let p = NodePatch {
            labels: [("topology.kubernetes.io/zone".to_string(), "z".to_string())].into(),
            taints: Some(vec![]),
            ..NodePatch::default()
        };
        assert_eq!(
            spec_patch(&p, "7"),
            json!({
                "metadata": {"resourceVersion": "7", "labels": {"topology.kubernetes.io/zone": "z"}},
                "spec": {"taints": []},
            })
        );
    }
}
