//! Node initialisation and lifecycle for kubelets running with `--cloud-provider=external`.
//!
//! ```text
//!   watch Nodes ─────────────┐
//!   watch ConfigMap          ├─► reconcile(node) ─► plan(node, entry) ─► LeaderGate ─► PATCH status
//!   (--node-inventory NAME) ─┤        (pure, see plan.rs)                              PATCH spec/labels
//!   leadership changes ──────┘                                                         DELETE, Events
//! ```
//!
//! * Nodes with the `node.cloudprovider.kubernetes.io/uninitialized` taint are initialised in
//!   one step or not at all: `spec.providerID` (`<scheme>://<status.nodeInfo.systemUUID>` when
//!   empty), `status.addresses` (InternalIPs from the kubelet's
//!   `alpha.kubernetes.io/provided-node-ip` annotation and the inventory, plus Hostname), the
//!   inventory's zone/region/instance-type labels, and the removal of the taint. Event `Synced`
//!   on success; otherwise a Warning (`NotInitialized`, `InventoryConflict`) naming what is
//!   missing or contradicted, nothing written and the taint kept.
//! * Lifecycle (needs an inventory, format in [`inventory`]): a NotReady node whose entry says
//!   `decommissioned` is deleted (event `DeletingNode`); `shutdown` adds the
//!   `node.cloudprovider.kubernetes.io/shutdown:NoSchedule` taint, removed once Ready again.
//!   Without an inventory nothing is ever deleted.
//! * Only the leader writes (every write checks the [`LeaderGate`](crate::lease::LeaderGate)).
//!   Spec and status writes carry the resourceVersion read; conflicts re-read and re-plan.
//!
//! The CCM must run before any node is initialised: its Deployment needs `hostNetwork: true`
//! and tolerations for `node.cloudprovider.kubernetes.io/uninitialized` (NoSchedule, value
//! "true"), `node-role.kubernetes.io/control-plane` (NoSchedule) and
//! `node.kubernetes.io/not-ready` (NoSchedule/NoExecute), since on a fresh cluster every node
//! carries them. RBAC: nodes get/list/watch/patch/delete, nodes/status patch, configmaps
//! get/list/watch in its namespace, events.k8s.io events create/patch.

pub mod controller;
pub mod inventory;
pub mod plan;

pub use controller::{NodeParams, run};
pub use inventory::{Entry, Inventory, InventoryError, MachineState};
pub use plan::{Action, NodePatch, Plan, PlanConfig, plan};

/// The node controller's flags of `lodestone-ccm run`.
#[derive(Clone, Debug, PartialEq, Eq, clap::Args)]
pub struct NodeArgs {
    /// Name of the node inventory ConfigMap (data key `inventory.yaml`) in the CCM's namespace;
    /// without it, no labels come from an inventory and no node is ever deleted.
    #[arg(long = "node-inventory", value_name = "NAME")]
    pub node_inventory: Option<String>,
    /// Scheme of the providerIDs set on nodes: `<SCHEME>://<systemUUID>`.
    #[arg(
        long = "node-provider-id-scheme",
        value_name = "SCHEME",
        default_value = "lodestone"
    )]
    pub provider_id_scheme: String,
}
