//! The pure node planner: one Node and its inventory entry in, the writes and events out.
//!
//! ```text
//!   Node ──┐
//!   Entry ─┼─► plan() ─► Delete | Patch { providerID, labels, taints, status.addresses } + Notes
//!   Config ┘
//! ```
//!
//! Initialisation (only of nodes with the uninitialized taint) is all or nothing: when any piece
//! is missing or contradicted, nothing of it is written and a Warning names every problem; when
//! every piece is there, providerID, labels, addresses and the taint's removal go out together.

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{Node, NodeAddress, Taint};

use super::inventory::{Entry, INVENTORY_LABELS, MachineState};

pub const TAINT_UNINITIALIZED: &str = "node.cloudprovider.kubernetes.io/uninitialized";
pub const TAINT_SHUTDOWN: &str = "node.cloudprovider.kubernetes.io/shutdown";
pub const ANNOTATION_PROVIDED_IP: &str = "alpha.kubernetes.io/provided-node-ip";

pub const REASON_SYNCED: &str = "Synced";
pub const REASON_NOT_INITIALIZED: &str = "NotInitialized";
pub const REASON_INVENTORY_CONFLICT: &str = "InventoryConflict";
pub const REASON_DELETING: &str = "DeletingNode";
pub const REASON_SHUTDOWN: &str = "NodeShutdown";

/// Settings of the planner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanConfig {
    /// Scheme of the providerID we set: `<scheme>://<systemUUID>`.
    pub provider_id_scheme: String,
}

impl Default for PlanConfig {
    fn default() -> Self {
        PlanConfig {
            provider_id_scheme: "lodestone".to_string(),
        }
    }
}

/// An event to record on the Node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub warning: bool,
    pub reason: &'static str,
    pub message: String,
}

/// Changes to one Node; `None` fields are left alone.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodePatch {
    pub provider_id: Option<String>,
    /// Labels to set (only the inventory's keys).
    pub labels: BTreeMap<String, String>,
    /// The whole new taint list (sent with the resourceVersion read).
    pub taints: Option<Vec<Taint>>,
    /// The whole new `status.addresses` (status subresource).
    pub addresses: Option<Vec<NodeAddress>>,
}

impl NodePatch {
    pub fn is_empty(&self) -> bool {
        self == &NodePatch::default()
    }
    /// Whether anything outside the status subresource changes.
    pub fn touches_spec(&self) -> bool {
        self.provider_id.is_some() || !self.labels.is_empty() || self.taints.is_some()
    }
}

/// What to do with one Node.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Delete,
    Patch(NodePatch),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub action: Action,
    pub notes: Vec<Note>,
}

fn has_taint(taints: &[Taint], key: &str) -> bool {
    taints.iter().any(|t| t.key == key)
}

/// Whether the Node's Ready condition is True.
pub fn is_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// The kubelet's provided-node-ip annotation as addresses (comma-separated, dual-stack).
pub fn provided_ips(node: &Node) -> Result<Vec<IpAddr>, String> {
    let Some(raw) = node
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_PROVIDED_IP))
    else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .map(|s| {
            s.parse::<IpAddr>().map_err(|_| {
                format!("{ANNOTATION_PROVIDED_IP} {raw:?}: {s:?} is not an IP address")
            })
        })
        .collect()
}

/// Provided IPs the inventory contradicts: the inventory lists addresses of that family and
/// this one is not among them.
fn contradictions(provided: &[IpAddr], inventory: &[IpAddr]) -> Vec<IpAddr> {
    provided
        .iter()
        .filter(|ip| {
            let same_family: Vec<_> = inventory
                .iter()
                .filter(|i| i.is_ipv4() == ip.is_ipv4())
                .collect();
            !same_family.is_empty() && !same_family.contains(ip)
        })
        .copied()
        .collect()
}

/// Plans one Node; `entry` is its inventory entry, if an inventory is in use and lists it.
pub fn plan(node: &Node, entry: Option<&Entry>, cfg: &PlanConfig) -> Plan {
    let taints: Vec<Taint> = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let ready = is_ready(node);
    let state = entry.map(|e| e.state).unwrap_or_default();
    let name = node.metadata.name.clone().unwrap_or_default();
    let mut notes = Vec::new();

    // Lifecycle first: a decommissioned machine's NotReady node goes, whatever else.
    if !ready && state == MachineState::Decommissioned {
        notes.push(Note {
            warning: false,
            reason: REASON_DELETING,
            message: format!(
                "Deleting node {name}: it is NotReady and the inventory says it is decommissioned"
            ),
        });
        return Plan {
            action: Action::Delete,
            notes,
        };
    }
    let mut new_taints = taints.clone();
    let want_shutdown = !ready && state == MachineState::Shutdown;
    if want_shutdown && !has_taint(&new_taints, TAINT_SHUTDOWN) {
        new_taints.push(Taint {
            key: TAINT_SHUTDOWN.to_string(),
            effect: "NoSchedule".to_string(),
            ..Taint::default()
        });
        notes.push(Note {
            warning: false,
            reason: REASON_SHUTDOWN,
            message: format!("Node {name} is NotReady and the inventory says it is shut down"),
        });
    } else if !want_shutdown {
        new_taints.retain(|t| t.key != TAINT_SHUTDOWN);
    }

    let mut patch = NodePatch::default();
    if has_taint(&taints, TAINT_UNINITIALIZED) {
        match initialise(node, entry, cfg) {
            Ok(init) => {
                new_taints.retain(|t| t.key != TAINT_UNINITIALIZED);
                patch.provider_id = init.provider_id;
                patch.labels = init.labels;
                patch.addresses = init.addresses;
                notes.push(Note {
                    warning: false,
                    reason: REASON_SYNCED,
                    message: format!("Node {name} initialised: {}", init.summary),
                });
            }
            Err(note) => notes.push(note),
        }
    }
    if new_taints != taints {
        patch.taints = Some(new_taints);
    }
    Plan {
        action: Action::Patch(patch),
        notes,
    }
}

struct Init {
    provider_id: Option<String>,
    labels: BTreeMap<String, String>,
    addresses: Option<Vec<NodeAddress>>,
    summary: String,
}

fn initialise(node: &Node, entry: Option<&Entry>, cfg: &PlanConfig) -> Result<Init, Note> {
    let mut missing: Vec<String> = Vec::new();
    let current_pid = node
        .spec
        .as_ref()
        .and_then(|s| s.provider_id.clone())
        .unwrap_or_default();
    let provider_id = if current_pid.is_empty() {
        let uuid = node
            .status
            .as_ref()
            .and_then(|s| s.node_info.as_ref())
            .map(|i| i.system_uuid.trim().to_string())
            .unwrap_or_default();
        if uuid.is_empty() {
            missing.push(
                "providerID: spec.providerID is empty and status.nodeInfo.systemUUID is not set"
                    .to_string(),
            );
            None
        } else {
            Some(format!("{}://{uuid}", cfg.provider_id_scheme))
        }
    } else {
        None
    };

    let provided = match provided_ips(node) {
        Ok(p) => p,
        Err(e) => {
            missing.push(e);
            Vec::new()
        }
    };
    let inventory_ips: &[IpAddr] = entry.map(|e| e.addresses.as_slice()).unwrap_or(&[]);
    let contra = contradictions(&provided, inventory_ips);
    if !contra.is_empty() {
        let list = |ips: &[IpAddr]| {
            ips.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        return Err(Note {
            warning: true,
            reason: REASON_INVENTORY_CONFLICT,
            message: format!(
                "Not initialising: {ANNOTATION_PROVIDED_IP} names {} but the inventory lists {} for this node",
                list(&contra),
                list(inventory_ips)
            ),
        });
    }

    let current: Vec<NodeAddress> = node
        .status
        .as_ref()
        .and_then(|s| s.addresses.clone())
        .unwrap_or_default();
    let mut ips: Vec<IpAddr> = Vec::new();
    for ip in provided.iter().chain(inventory_ips) {
        if !ips.contains(ip) {
            ips.push(*ip);
        }
    }
    let mut desired: Vec<NodeAddress> = if ips.is_empty() {
        current
            .iter()
            .filter(|a| a.type_ != "Hostname")
            .cloned()
            .collect()
    } else {
        ips.iter()
            .map(|ip| NodeAddress {
                type_: "InternalIP".to_string(),
                address: ip.to_string(),
            })
            .collect()
    };
    if desired.is_empty() {
        missing.push(format!(
            "addresses: no {ANNOTATION_PROVIDED_IP} annotation, no inventory addresses and none in status"
        ));
    }
    let hostname = current
        .iter()
        .find(|a| a.type_ == "Hostname")
        .map(|a| a.address.clone())
        .or_else(|| node.metadata.name.clone())
        .unwrap_or_default();
    desired.push(NodeAddress {
        type_: "Hostname".to_string(),
        address: hostname,
    });

    if !missing.is_empty() {
        return Err(Note {
            warning: true,
            reason: REASON_NOT_INITIALIZED,
            message: format!("Not initialising, missing: {}", missing.join("; ")),
        });
    }
    let current_labels = node.metadata.labels.clone().unwrap_or_default();
    let labels: BTreeMap<String, String> = entry
        .map(|e| e.labels.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, v)| INVENTORY_LABELS.contains(&k.as_str()) && current_labels.get(k) != Some(v))
        .collect();
    let summary = format!(
        "providerID {}, addresses {}{}",
        provider_id.as_deref().unwrap_or(&current_pid),
        desired
            .iter()
            .map(|a| format!("{}={}", a.type_, a.address))
            .collect::<Vec<_>>()
            .join(","),
        if labels.is_empty() {
            String::new()
        } else {
            format!(
                ", labels {}",
                labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            )
        }
    );
    Ok(Init {
        provider_id,
        labels,
        addresses: (desired != current).then_some(desired),
        summary,
    })
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
