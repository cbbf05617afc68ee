//! The pure planner: configuration + cluster state ──► what this node announces.
//!
//! ```text
//!   Config (apis parser)   Nodes   Services (LB status, pool annotation)   EndpointSlices
//!          └──────────────────┴────────────┬──────────────────────────────────┘
//!                                          ▼  plan(&Input)        (no client, no clock)
//!   Plan ─┬─ sessions:  BGPPeers whose nodeSelectors match this node, parameters resolved
//!         ├─ routes:    per peer, prefix ──► {localPref, communities}  (this node only)
//!         ├─ bgp_services: Service ──► peers it is advertised to      (ServiceBGPStatus)
//!         ├─ l2:        per address, candidates for the election over ALL nodes + weights,
//!         │             this node's interfaces, the Services using it  (ServiceL2Status)
//!         └─ skipped:   Service ──► why this node does not announce it (logs / events)
//! ```
//!
//! Rules (MetalLB's speaker semantics, `speaker/main.go`, `bgp_controller.go`,
//! `layer2_controller.go`):
//! - Only `type: LoadBalancer` Services with `status.loadBalancer.ingress[].ip`. The pool is the
//!   one named by `metallb.io/ip-allocated-from-pool` (else the pool holding the address); an
//!   address outside its pool is not announced (`IpNotAllowed`, MetalLB's "ipNotAllowed").
//! - A node that is `NetworkUnavailable` or labelled
//!   `node.kubernetes.io/exclude-from-external-load-balancers` announces nothing, in both modes.
//! - Endpoints count when serving (`serving`, or `ready` when `serving` is unset or the Service
//!   publishes not-ready addresses).
//! - BGP: `externalTrafficPolicy: Local` advertises only from nodes with a serving endpoint of
//!   the Service; `Cluster` advertises while any serving endpoint exists on a node that is not
//!   NetworkUnavailable. Each BGPAdvertisement of the pool that selects this node and the Service
//!   contributes `ip/aggregationLength` to each selected peer this node has a session with. Two
//!   advertisements yielding the same prefix to the same peer merge: communities are united, the
//!   highest localPref wins (MetalLB's FRR mode behaves so; its native mode kept the last one).
//! - L2: an address has candidates only while the Service has a serving endpoint. Candidates are
//!   the available nodes selected by an L2Advertisement of the pool that selects the Service;
//!   with `Local`, only those holding a serving endpoint. A candidate's weight is the highest
//!   `preferredNodeSelectors` sum over the advertisements selecting it. Services sharing an
//!   address must share one owner: their candidate sets are intersected (united if that leaves
//!   none, so the address is never silently dropped).
//! - `loadBalancerClass` is not looked at: the CCM only allocates from our pools for classes it
//!   serves, and an address in one of our pools is ours to announce.

mod bgp;
pub mod facts;
mod l2;
#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod tests_l2;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use lodestone_apis::config::{BfdProfile, Community, Config, Peer};

pub use facts::{NodeUnavailable, ServiceKey};

/// Everything the planner reads.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    /// The validated configuration.
    pub config: &'a Config,
    /// This node's name.
    pub node_name: &'a str,
    /// Every Node (this node's object is looked up here by name).
    pub nodes: &'a [Node],
    /// Every Service.
    pub services: &'a [Service],
    /// Every EndpointSlice.
    pub endpoint_slices: &'a [EndpointSlice],
}

/// What this node must run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// BGP sessions by BGPPeer name.
    pub sessions: BTreeMap<String, PeerPlan>,
    /// BGPPeers selecting this node that cannot run (yet), with the reason.
    pub blocked_peers: BTreeMap<String, PeerBlocked>,
    /// Routes per BGPPeer name (every session has an entry, possibly empty).
    pub routes: BTreeMap<String, BTreeMap<IpNet, RouteAttrs>>,
    /// Services this node advertises by BGP, with the peers they go to.
    pub bgp_services: BTreeMap<ServiceKey, BTreeSet<String>>,
    /// L2 addresses with their election candidates.
    pub l2: BTreeMap<IpAddr, L2Address>,
    /// Services this node does not announce, and why (BGP view of this node; L2 ownership is
    /// the election's business).
    pub skipped: BTreeMap<ServiceKey, Skip>,
}

/// One BGP session with its parameters resolved for this node.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerPlan {
    /// The BGPPeer as parsed.
    pub peer: Peer,
    /// Peer address.
    pub address: IpAddr,
    /// BGP identifier: `routerID`, else this node's first IPv4 InternalIP, else the IPv4
    /// `sourceAddress`, else a stable value derived from the node name.
    pub router_id: Ipv4Addr,
    /// TCP-MD5 password.
    pub password: Option<String>,
    /// BFD profile when the peer names one.
    pub bfd: Option<BfdProfile>,
}

/// Why a BGPPeer selecting this node has no session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerBlocked {
    /// `passwordSecret` names a Secret that does not exist yet.
    PasswordPending,
    /// `bfdProfile` names a profile that does not exist yet.
    BfdProfilePending(String),
    /// BGP unnumbered (`interface`) is not supported by this speaker.
    Unnumbered(String),
}

/// Attributes of one announced prefix.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteAttrs {
    /// LOCAL_PREF (iBGP only; `None` = not set by any advertisement).
    pub local_pref: Option<u32>,
    /// Communities (standard and large).
    pub communities: BTreeSet<Community>,
}

/// Where this node answers for an L2 address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Interfaces {
    /// Every interface (an advertisement with no `interfaces`).
    #[default]
    All,
    /// Only these.
    Only(BTreeSet<String>),
}

/// One L2 address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct L2Address {
    /// Services using the address.
    pub services: BTreeSet<ServiceKey>,
    /// Candidate nodes with their preference weight (higher wins before the hash).
    pub candidates: BTreeMap<String, i32>,
    /// This node's interfaces for the address (`None` when this node is no candidate).
    pub interfaces: Option<Interfaces>,
}

/// Why this node does not announce a Service by BGP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skip {
    /// An address lies outside the Service's pool, or the pool is unknown (`announceFailed`).
    IpNotAllowed,
    /// This node may not announce.
    Node(NodeUnavailable),
    /// `Cluster` policy and no serving endpoint.
    NoEndpoints,
    /// `Local` policy and no serving endpoint on this node.
    NoLocalEndpoints,
    /// No BGPAdvertisement of the pool selects this node and Service.
    NoAdvertisement,
}

impl Skip {
    /// Short label (MetalLB's reason strings where it has one).
    pub fn label(&self) -> &'static str {
        match self {
            Skip::IpNotAllowed => "ipNotAllowed",
            Skip::Node(NodeUnavailable::Unknown) => "nodeUnknown",
            Skip::Node(NodeUnavailable::NetworkUnavailable) => "nodeNetworkUnavailable",
            Skip::Node(NodeUnavailable::Excluded) => "nodeExcluded",
            Skip::NoEndpoints => "noEndpoints",
            Skip::NoLocalEndpoints => "noLocalEndpoints",
            Skip::NoAdvertisement => "notAdvertised",
        }
    }
}

/// One Service as the planner sees it.
pub(crate) struct ServiceView<'a> {
    pub key: ServiceKey,
    pub labels: lodestone_apis::config::Labels,
    pub ips: Vec<IpAddr>,
    pub pool: &'a str,
    pub local: bool,
    pub endpoints: facts::Endpoints,
}

/// Computes this node's plan.
pub fn plan(input: &Input<'_>) -> Plan {
    let mut plan = Plan::default();
    let nodes: BTreeMap<&str, &Node> = input
        .nodes
        .iter()
        .filter_map(|n| Some((n.metadata.name.as_deref()?, n)))
        .collect();
    let me = nodes.get(input.node_name).copied();
    bgp::sessions(input, me, &mut plan);

    let by_key: BTreeMap<ServiceKey, &Service> = input
        .services
        .iter()
        .filter_map(|s| Some((ServiceKey::of(s)?, s)))
        .collect();
    let mut endpoints = facts::endpoints_by_service(input.endpoint_slices, &by_key);
    let mut views = Vec::new();
    for (key, svc) in &by_key {
        let ips = facts::ingress_ips(svc);
        if ips.is_empty() {
            continue;
        }
        let Some(pool) = facts::pool_for(input.config, svc, &ips) else {
            plan.skipped.insert(key.clone(), Skip::IpNotAllowed);
            continue;
        };
        views.push(ServiceView {
            key: key.clone(),
            labels: svc.metadata.labels.clone().unwrap_or_default(),
            ips,
            pool: &pool.name,
            local: facts::is_local_policy(svc),
            endpoints: endpoints.remove(key).unwrap_or_default(),
        });
    }
    for view in &views {
        bgp::service(input, me, &nodes, view, &mut plan);
    }
    l2::addresses(input, &nodes, &views, &mut plan);
    plan
}
