//! Visibility: ServiceL2Status / ServiceBGPStatus objects, events, `metallb_speaker_announced`.
//!
//! ```text
//!   announced (plan BGP services + L2 owned set) ──► desired status objects per Service
//!        ──diff with what this node wrote──► apply (labels) + status patch | delete
//!   newly announced ─► event nodeAssigned      address outside its pool / missing
//!                                              interfaces ─► event announceFailed
//! ```
//! Objects live in the speaker namespace, one per (node, Service) and protocol, labelled
//! `metallb.io/node`, `metallb.io/service-name`, `metallb.io/service-namespace` like MetalLB's.
//! MetalLB names them `l2-<random>` / `bgp-<random>`; ours are `l2-<hash>` / `bgp-<hash>` of
//! (node, Service), so a restarted speaker finds its own objects again.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Client, Resource};
use lodestone_apis::v1beta1::{ServiceBGPStatus, ServiceL2Status};
use serde_json::{Value, json};
use tracing::{debug, warn};

use crate::metrics::Metrics;
use crate::planner::ServiceKey;

const FIELD_MANAGER: &str = "lodestone-speaker";
pub const NODE_LABEL: &str = "metallb.io/node";
pub const SERVICE_NAME_LABEL: &str = "metallb.io/service-name";
pub const SERVICE_NAMESPACE_LABEL: &str = "metallb.io/service-namespace";

/// Protocol of a status object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Protocol {
    Layer2,
    Bgp,
}

impl Protocol {
    fn prefix(self) -> &'static str {
        match self {
            Protocol::Layer2 => "l2",
            Protocol::Bgp => "bgp",
        }
    }
    /// MetalLB's protocol names (events, metrics).
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Layer2 => "layer2",
            Protocol::Bgp => "bgp",
        }
    }
}

/// What this node announces for one Service and protocol: interfaces (L2) or peers (BGP),
/// plus the addresses (for the metric).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Announced {
    pub ips: BTreeSet<std::net::IpAddr>,
    pub names: BTreeSet<String>,
}

/// Name of the status object of (node, Service, protocol).
pub fn object_name(node: &str, svc: &ServiceKey, p: Protocol) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!("{node}/{}/{}", svc.namespace, svc.name).bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{}-{:012x}", p.prefix(), h & 0xffff_ffff_ffff)
}

/// Desired status body.
pub fn status_body(node: &str, svc: &ServiceKey, p: Protocol, a: &Announced) -> Value {
    let list: Vec<&String> = a.names.iter().collect();
    match p {
        Protocol::Layer2 => json!({"status": {
            "node": node, "serviceName": svc.name, "serviceNamespace": svc.namespace,
            "interfaces": list.iter().map(|n| json!({"name": n})).collect::<Vec<_>>()}}),
        Protocol::Bgp => json!({"status": {
            "node": node, "serviceName": svc.name, "serviceNamespace": svc.namespace,
            "peers": list}}),
    }
}

/// The single writer of this node's status objects and events.
pub struct StatusWriter {
    node: String,
    l2: Api<ServiceL2Status>,
    bgp: Api<ServiceBGPStatus>,
    recorder: Recorder,
    written: BTreeMap<(Protocol, ServiceKey), Option<Announced>>,
    events: BTreeSet<(ServiceKey, &'static str, String)>,
    metrics: Metrics,
}

impl StatusWriter {
    pub fn new(client: Client, namespace: &str, node: &str, metrics: Metrics) -> Self {
        StatusWriter {
            node: node.to_string(),
            l2: Api::namespaced(client.clone(), namespace),
            bgp: Api::namespaced(client.clone(), namespace),
            recorder: Recorder::new(
                client,
                Reporter {
                    controller: "lodestone-speaker".into(),
                    instance: Some(node.to_string()),
                },
            ),
            written: BTreeMap::new(),
            events: BTreeSet::new(),
            metrics,
        }
    }

    /// Finds the objects a previous run of this node left, so stale ones get deleted.
    pub async fn adopt(&mut self) {
        let lp = ListParams::default().labels(&format!("{NODE_LABEL}={}", self.node));
        let l2 = self
            .l2
            .list(&lp)
            .await
            .map(|l| l.items.into_iter().map(|o| o.metadata).collect::<Vec<_>>());
        let bgp = self
            .bgp
            .list(&lp)
            .await
            .map(|l| l.items.into_iter().map(|o| o.metadata).collect::<Vec<_>>());
        for (p, metas) in [(Protocol::Layer2, l2), (Protocol::Bgp, bgp)] {
            match metas {
                Ok(metas) => {
                    for m in metas {
                        let labels = m.labels.unwrap_or_default();
                        if let (Some(n), Some(ns)) = (
                            labels.get(SERVICE_NAME_LABEL),
                            labels.get(SERVICE_NAMESPACE_LABEL),
                        ) {
                            self.written
                                .entry((p, ServiceKey::new(ns, n)))
                                .or_insert(None);
                        }
                    }
                }
                Err(e) => warn!(error = %e, protocol = p.as_str(), "listing status objects"),
            }
        }
    }

    /// Writes what changed. `services` resolves keys to objects (for events).
    pub async fn sync(
        &mut self,
        desired: &BTreeMap<(Protocol, ServiceKey), Announced>,
        services: &BTreeMap<ServiceKey, Service>,
    ) {
        self.metrics.speaker_announced.reset();
        for ((p, key), a) in desired {
            for ip in &a.ips {
                self.metrics
                    .speaker_announced
                    .with_label_values(&[&ip.to_string(), &self.node, p.as_str(), &key.to_string()])
                    .set(1);
            }
        }
        let stale: Vec<(Protocol, ServiceKey)> = self
            .written
            .keys()
            .filter(|k| !desired.contains_key(*k))
            .cloned()
            .collect();
        for k in stale {
            let name = object_name(&self.node, &k.1, k.0);
            let r = match k.0 {
                Protocol::Layer2 => self
                    .l2
                    .delete(&name, &DeleteParams::default())
                    .await
                    .map(|_| ()),
                Protocol::Bgp => self
                    .bgp
                    .delete(&name, &DeleteParams::default())
                    .await
                    .map(|_| ()),
            };
            if is_ok_or_404(&r) {
                self.count(k.0, "deleted");
                self.written.remove(&k);
                self.events.retain(|(s, _, _)| *s != k.1);
            } else {
                self.count(k.0, "error");
                if let Err(e) = r {
                    warn!(service = %k.1, error = %e, "deleting status object");
                }
            }
        }
        for ((p, key), a) in desired {
            let k = (*p, key.clone());
            if self.written.get(&k) == Some(&Some(a.clone())) {
                continue;
            }
            match self.write(*p, key, a).await {
                Ok(()) => {
                    self.count(*p, "ok");
                    let first = !matches!(self.written.get(&k), Some(Some(_)));
                    self.written.insert(k, Some(a.clone()));
                    if first && let Some(svc) = services.get(key) {
                        let note = format!(
                            "announcing from node {:?} with protocol {:?}",
                            self.node,
                            p.as_str()
                        );
                        self.event(svc, EventType::Normal, "nodeAssigned", note)
                            .await;
                    }
                }
                Err(e) => {
                    self.count(*p, "error");
                    warn!(service = %key, error = %e, "writing status object");
                }
            }
        }
    }

    fn count(&self, p: Protocol, result: &str) {
        let kind = match p {
            Protocol::Layer2 => "ServiceL2Status",
            Protocol::Bgp => "ServiceBGPStatus",
        };
        self.metrics
            .status_writes
            .with_label_values(&[kind, result])
            .inc();
    }

    async fn write(&self, p: Protocol, key: &ServiceKey, a: &Announced) -> Result<(), kube::Error> {
        let name = object_name(&self.node, key, p);
        let (api_version, kind) = match p {
            Protocol::Layer2 => ("metallb.io/v1beta1", "ServiceL2Status"),
            Protocol::Bgp => ("metallb.io/v1beta1", "ServiceBGPStatus"),
        };
        let object = json!({
            "apiVersion": api_version, "kind": kind,
            "metadata": {"name": name, "labels": {
                NODE_LABEL: self.node, SERVICE_NAME_LABEL: key.name,
                SERVICE_NAMESPACE_LABEL: key.namespace}},
            "spec": {}
        });
        let pp = PatchParams::apply(FIELD_MANAGER).force();
        let status = status_body(&self.node, key, p, a);
        match p {
            Protocol::Layer2 => {
                self.l2.patch(&name, &pp, &Patch::Apply(&object)).await?;
                self.l2
                    .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
                    .await?;
            }
            Protocol::Bgp => {
                self.bgp.patch(&name, &pp, &Patch::Apply(&object)).await?;
                self.bgp
                    .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
                    .await?;
            }
        }
        debug!(service = %key, protocol = p.as_str(), "status written");
        Ok(())
    }

    /// `announceFailed` on a Service, once per distinct message while the problem lasts.
    pub async fn announce_failed(&mut self, svc: &Service, note: String) {
        self.event(svc, EventType::Warning, "announceFailed", note)
            .await;
    }

    /// Forgets `announceFailed` messages of problems that are gone, so they are reported again
    /// when they come back.
    pub fn retain_failures(&mut self, current: &BTreeSet<(ServiceKey, String)>) {
        self.events.retain(|(k, reason, note)| {
            *reason != "announceFailed" || current.contains(&(k.clone(), note.clone()))
        });
    }

    async fn event(&mut self, svc: &Service, type_: EventType, reason: &'static str, note: String) {
        let Some(key) = ServiceKey::of(svc) else {
            return;
        };
        if !self.events.insert((key.clone(), reason, note.clone())) {
            return;
        }
        let ev = Event {
            type_,
            reason: reason.to_string(),
            note: Some(note),
            action: reason.to_string(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&ev, &svc.object_ref(&())).await {
            warn!(service = %key, reason, error = %e, "publishing event");
        }
    }
}

fn is_ok_or_404(r: &Result<(), kube::Error>) -> bool {
    match r {
        Ok(()) => true,
        Err(kube::Error::Api(s)) => s.code == 404,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_per_node_service_protocol() {
        let a = ServiceKey::new("default", "web");
        let b = ServiceKey::new("default", "api");
        let n = object_name("n1", &a, Protocol::Layer2);
        assert_eq!(n, object_name("n1", &a, Protocol::Layer2));
        assert!(n.starts_with("l2-") && n.len() == 15, "{n}");
        assert_ne!(n, object_name("n2", &a, Protocol::Layer2));
        assert_ne!(n, object_name("n1", &b, Protocol::Layer2));
        assert!(object_name("n1", &a, Protocol::Bgp).starts_with("bgp-"));
    }

    #[test]
    fn status_bodies_match_metallb_fields() {
        let k = ServiceKey::new("ns1", "svc");
        let a = Announced {
            ips: BTreeSet::new(),
            names: ["eth0".to_string()].into(),
        };
        assert_eq!(
            status_body("n1", &k, Protocol::Layer2, &a),
            json!({"status": {"node": "n1", "serviceName": "svc", "serviceNamespace": "ns1",
                              "interfaces": [{"name": "eth0"}]}})
        );
        assert_eq!(
            status_body("n1", &k, Protocol::Bgp, &a),
            json!({"status": {"node": "n1", "serviceName": "svc", "serviceNamespace": "ns1",
                              "peers": ["eth0"]}})
        );
    }
}
