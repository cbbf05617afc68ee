//! The validated internal configuration: what the metallb.io objects mean.
//!
//! ```text
//!  Config
//!   ├─ pools:              BTreeMap<name, Pool>          ── allocator (CCM)
//!   │     └─ blocks: Vec<AddressBlock{spec, cidrs}>, avoid_buggy_ips, auto_assign,
//!   │        service_allocation: Option<ServiceAllocation>
//!   ├─ peers:              BTreeMap<name, Peer>          ── speaker BGP planner / sessions
//!   ├─ bgp_advertisements: Vec<BgpAdvertisement>         ── BGP planner (pools/peers/communities resolved)
//!   ├─ l2_advertisements:  Vec<L2Advertisement>          ── L2 planner / election
//!   ├─ bfd_profiles:       BTreeMap<name, BfdProfile>    ── BFD sessions (defaults applied)
//!   └─ communities:        BTreeMap<alias, Community>    ── from Community objects
//! ```
//!
//! Everything here is plain data: no kube types, no I/O. Selectors are [`Selector`]s, so nobody
//! reimplements label-selector matching. Maps are `BTreeMap` so iteration is deterministic.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use ipnet::IpNet;

use super::community::Community;
use super::selector::{Labels, Selector};

/// The kinds the parser reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// metallb.io IPAddressPool.
    IPAddressPool,
    /// metallb.io BGPPeer (v1beta1 documents are converted to v1beta2 first).
    BGPPeer,
    /// metallb.io BGPAdvertisement.
    BGPAdvertisement,
    /// metallb.io L2Advertisement.
    L2Advertisement,
    /// metallb.io BFDProfile.
    BFDProfile,
    /// metallb.io Community.
    Community,
    /// core/v1 Secret (BGP passwords).
    Secret,
    /// core/v1 Node (node selectors).
    Node,
    /// core/v1 Namespace (namespace selectors).
    Namespace,
}

impl Kind {
    /// The Kubernetes kind name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::IPAddressPool => "IPAddressPool",
            Kind::BGPPeer => "BGPPeer",
            Kind::BGPAdvertisement => "BGPAdvertisement",
            Kind::L2Advertisement => "L2Advertisement",
            Kind::BFDProfile => "BFDProfile",
            Kind::Community => "Community",
            Kind::Secret => "Secret",
            Kind::Node => "Node",
            Kind::Namespace => "Namespace",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Identity of one object: kind, namespace (empty for cluster-scoped), name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    /// Kind of the object.
    pub kind: Kind,
    /// Namespace; empty for cluster-scoped kinds.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ObjectRef {
    /// Builds a reference.
    pub fn new(kind: Kind, namespace: impl Into<String>, name: impl Into<String>) -> Self {
        ObjectRef {
            kind,
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for ObjectRef {
    /// `Kind namespace/name` (or `Kind name` when cluster-scoped).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// IP family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    /// Family of an address.
    pub fn of(ip: &IpAddr) -> Family {
        match ip {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// Family of a prefix.
    pub fn of_net(net: &IpNet) -> Family {
        match net {
            IpNet::V4(_) => Family::V4,
            IpNet::V6(_) => Family::V6,
        }
    }
}

/// The validated configuration. Built only by [`Config::from_resources`](super::Config).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    /// Address pools by name. CIDRs never overlap, within or between pools.
    pub pools: BTreeMap<String, Pool>,
    /// BGP peers by name.
    pub peers: BTreeMap<String, Peer>,
    /// BGP advertisements, in input order, each with its pools resolved.
    pub bgp_advertisements: Vec<BgpAdvertisement>,
    /// L2 advertisements, in input order, each with its pools resolved.
    pub l2_advertisements: Vec<L2Advertisement>,
    /// BFD profiles by name, defaults applied.
    pub bfd_profiles: BTreeMap<String, BfdProfile>,
    /// Community aliases from Community objects.
    pub communities: BTreeMap<String, Community>,
}

impl Config {
    /// The pool holding `ip`, if any.
    pub fn pool_for_ip(&self, ip: IpAddr) -> Option<&Pool> {
        self.pools.values().find(|p| p.contains(ip))
    }

    /// BGP advertisements that apply to `pool`.
    pub fn bgp_advertisements_for<'a>(
        &'a self,
        pool: &'a str,
    ) -> impl Iterator<Item = &'a BgpAdvertisement> + 'a {
        self.bgp_advertisements
            .iter()
            .filter(move |a| a.pools.iter().any(|p| p == pool))
    }

    /// L2 advertisements that apply to `pool`.
    pub fn l2_advertisements_for<'a>(
        &'a self,
        pool: &'a str,
    ) -> impl Iterator<Item = &'a L2Advertisement> + 'a {
        self.l2_advertisements
            .iter()
            .filter(move |a| a.pools.iter().any(|p| p == pool))
    }

    /// Whether any advertisement (BGP or L2) covers `pool`. Addresses of a pool that none
    /// covers are assigned but never announced.
    pub fn is_announced(&self, pool: &str) -> bool {
        self.bgp_advertisements_for(pool).next().is_some()
            || self.l2_advertisements_for(pool).next().is_some()
    }

    /// The peers a node with `labels` opens sessions to.
    pub fn peers_for_node<'a>(&'a self, labels: &'a Labels) -> impl Iterator<Item = &'a Peer> + 'a {
        self.peers.values().filter(move |p| p.selects_node(labels))
    }

    /// Pairs of peers (by name) that a node with `labels` would open to the same endpoint in the
    /// same VRF: the remote router sees two sessions from one address and keeps only one.
    /// Not a validation error (MetalLB's native mode accepts it); the speaker should report it.
    pub fn duplicate_sessions(&self, labels: &Labels) -> Vec<(String, String)> {
        let peers: Vec<&Peer> = self.peers_for_node(labels).collect();
        let mut out = Vec::new();
        for (i, a) in peers.iter().enumerate() {
            for b in &peers[i + 1..] {
                if a.endpoint == b.endpoint && a.vrf == b.vrf {
                    out.push((a.name.clone(), b.name.clone()));
                }
            }
        }
        out
    }
}

/// One entry of `spec.addresses` and the CIDRs it stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressBlock {
    /// The entry as written (`10.0.0.0/24`, `10.0.0.1-10.0.0.9`).
    pub spec: String,
    /// The entry as CIDRs (a range summarised into the fewest prefixes), all of one family.
    pub cidrs: Vec<IpNet>,
}

impl AddressBlock {
    /// Family of this block (ranges never mix families).
    pub fn family(&self) -> Family {
        self.cidrs.first().map(Family::of_net).unwrap_or(Family::V4)
    }
}

/// An address pool (IPAddressPool).
#[derive(Clone, Debug, PartialEq)]
pub struct Pool {
    /// Pool name.
    pub name: String,
    /// Namespace of the IPAddressPool object.
    pub namespace: String,
    /// Labels of the IPAddressPool object (advertisements select pools by them).
    pub labels: Labels,
    /// The addresses, per `spec.addresses` entry, in input order.
    pub blocks: Vec<AddressBlock>,
    /// Never hand out IPv4 addresses ending in `.0` or `.255`.
    pub avoid_buggy_ips: bool,
    /// Whether the allocator may pick this pool without being asked by name/IP (default true).
    pub auto_assign: bool,
    /// `spec.serviceAllocation`: priority and which services may use the pool.
    pub service_allocation: Option<ServiceAllocation>,
}

impl Pool {
    /// All CIDRs of the pool.
    pub fn cidrs(&self) -> impl Iterator<Item = &IpNet> {
        self.blocks.iter().flat_map(|b| b.cidrs.iter())
    }

    /// CIDRs of one family.
    pub fn cidrs_of(&self, family: Family) -> impl Iterator<Item = &IpNet> {
        self.cidrs().filter(move |c| Family::of_net(c) == family)
    }

    /// Families present in the pool.
    pub fn families(&self) -> BTreeSet<Family> {
        self.cidrs().map(Family::of_net).collect()
    }

    /// Whether `ip` lies in the pool.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.cidrs().any(|c| c.contains(&ip))
    }

    /// Whether `ip` is excluded by `avoidBuggyIPs` (IPv4 ending in .0 or .255).
    pub fn is_buggy(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(v4) if self.avoid_buggy_ips => is_buggy_v4(v4),
            _ => false,
        }
    }

    /// Number of addresses of `family` (saturating at `u128::MAX`).
    pub fn address_count(&self, family: Family) -> u128 {
        self.cidrs_of(family)
            .map(prefix_size)
            .fold(0u128, u128::saturating_add)
    }

    /// Number of addresses of `family` the allocator may hand out: `address_count` minus the
    /// `.0`/`.255` addresses when `avoid_buggy_ips` is set (MetalLB's `poolCount`).
    pub fn usable_count(&self, family: Family) -> u128 {
        self.cidrs_of(family)
            .map(|c| match c {
                IpNet::V4(v4) if self.avoid_buggy_ips => {
                    let size = prefix_size(c);
                    let buggy = if v4.prefix_len() <= 24 {
                        2u128 << (24 - v4.prefix_len())
                    } else {
                        u128::from(v4.network().octets()[3] == 0)
                            + u128::from(v4.broadcast().octets()[3] == 255)
                    };
                    size.saturating_sub(buggy)
                }
                _ => prefix_size(c),
            })
            .fold(0u128, u128::saturating_add)
    }
}

fn is_buggy_v4(ip: Ipv4Addr) -> bool {
    matches!(ip.octets()[3], 0 | 255)
}

fn prefix_size(net: &IpNet) -> u128 {
    let host_bits = u32::from(net.max_prefix_len() - net.prefix_len());
    1u128.checked_shl(host_bits).unwrap_or(u128::MAX)
}

/// `spec.serviceAllocation` of a pool.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceAllocation {
    /// Lower value = higher priority; 0 means "no priority" (after all prioritised pools).
    pub priority: i32,
    /// Namespaces listed by name.
    pub namespaces: BTreeSet<String>,
    /// Namespaces selected by labels (evaluated against the Service's Namespace labels).
    pub namespace_selectors: Vec<Selector>,
    /// Services selected by labels; empty = any service (subject to the namespace rules).
    pub service_selectors: Vec<Selector>,
}

/// Why a Service may not take addresses from a pool. The CCM turns these into events.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PoolRefusal {
    /// The pool's namespace rules do not include the Service's namespace.
    #[error("pool {pool} serves only namespaces {allowed} (by name or label), not {namespace}")]
    Namespace {
        /// Pool name.
        pool: String,
        /// The Service's namespace.
        namespace: String,
        /// The pool's rules, rendered.
        allowed: String,
    },
    /// The Service's labels match none of the pool's service selectors.
    #[error("pool {pool} serves only services whose labels match one of [{selectors}]")]
    ServiceLabels {
        /// Pool name.
        pool: String,
        /// The pool's service selectors, rendered.
        selectors: String,
    },
    /// The pool has `autoAssign: false` and the Service did not ask for it by name or IP.
    #[error("pool {pool} has autoAssign false; a service must request it by name or address")]
    NotAutoAssign {
        /// Pool name.
        pool: String,
    },
    /// The pool has no addresses of the family the Service needs.
    #[error("pool {pool} has no {family:?} addresses")]
    NoFamily {
        /// Pool name.
        pool: String,
        /// The missing family.
        family: Family,
    },
}

/// What the allocator knows about a Service when it asks whether a pool may serve it.
#[derive(Clone, Copy, Debug)]
pub struct ServiceFacts<'a> {
    /// The Service's namespace.
    pub namespace: &'a str,
    /// Labels of that namespace (empty if unknown).
    pub namespace_labels: &'a Labels,
    /// The Service's labels.
    pub labels: &'a Labels,
}

impl Pool {
    /// Whether the pool's `serviceAllocation` admits this Service (MetalLB's
    /// `isPoolCompatibleWithService`): the namespace must be listed or selected when the pool
    /// restricts namespaces, and the labels must match one service selector when it has any.
    /// Does not look at `autoAssign` (see [`Pool::admits_automatic`]).
    pub fn admits(&self, svc: ServiceFacts<'_>) -> Result<(), PoolRefusal> {
        let Some(sa) = &self.service_allocation else {
            return Ok(());
        };
        let restricts_ns = !sa.namespaces.is_empty() || !sa.namespace_selectors.is_empty();
        if restricts_ns
            && !sa.namespaces.contains(svc.namespace)
            && !sa
                .namespace_selectors
                .iter()
                .any(|s| s.matches(svc.namespace_labels))
        {
            let mut allowed: Vec<String> = sa.namespaces.iter().cloned().collect();
            allowed.extend(sa.namespace_selectors.iter().map(|s| format!("[{s}]")));
            return Err(PoolRefusal::Namespace {
                pool: self.name.clone(),
                namespace: svc.namespace.to_string(),
                allowed: allowed.join(", "),
            });
        }
        if !sa.service_selectors.is_empty()
            && !sa.service_selectors.iter().any(|s| s.matches(svc.labels))
        {
            let rendered: Vec<String> =
                sa.service_selectors.iter().map(|s| s.to_string()).collect();
            return Err(PoolRefusal::ServiceLabels {
                pool: self.name.clone(),
                selectors: rendered.join("; "),
            });
        }
        Ok(())
    }

    /// [`Pool::admits`] plus `autoAssign`: whether the allocator may pick this pool for a
    /// Service that requested no pool and no address.
    ///
    /// MetalLB's order among admitted pools: pools with a `service_allocation` first, by
    /// [`Pool::priority`] (lowest non-zero first, then 0), then pools without one. MetalLB picks
    /// randomly among equals; Lodestone should break ties by name.
    pub fn admits_automatic(&self, svc: ServiceFacts<'_>) -> Result<(), PoolRefusal> {
        if !self.auto_assign {
            return Err(PoolRefusal::NotAutoAssign {
                pool: self.name.clone(),
            });
        }
        self.admits(svc)
    }

    /// Priority for automatic selection (MetalLB: lower non-zero first, 0 = unprioritised).
    pub fn priority(&self) -> i32 {
        self.service_allocation.as_ref().map_or(0, |s| s.priority)
    }
}

/// The remote AS of a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerAsn {
    /// `peerASN`: a fixed ASN.
    Fixed(u32),
    /// `dynamicASN: internal`: the peer's ASN equals ours (iBGP), learned from its OPEN.
    DynamicInternal,
    /// `dynamicASN: external`: any ASN other than ours (eBGP), learned from its OPEN.
    DynamicExternal,
}

/// Where the peer is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerEndpoint {
    /// `peerAddress`.
    Address(IpAddr),
    /// `interface`: BGP unnumbered over this interface (IPv6 link-local).
    Interface(String),
}

/// Hold and keepalive times after MetalLB's resolution rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timers {
    /// Hold time (0 = no keepalives, no hold timer).
    pub hold: Duration,
    /// Keepalive interval.
    pub keepalive: Duration,
    /// Whether either time was written by the user (false = the 90 s / 30 s defaults).
    pub explicit: bool,
}

impl Timers {
    /// Default hold time when neither time is set.
    pub const DEFAULT_HOLD: Duration = Duration::from_secs(90);
    /// Default keepalive when neither time is set.
    pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(30);
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            hold: Self::DEFAULT_HOLD,
            keepalive: Self::DEFAULT_KEEPALIVE,
            explicit: false,
        }
    }
}

/// Reference to a Secret key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretKeyRef {
    /// Secret namespace (the peer's namespace when the reference omits it).
    pub namespace: String,
    /// Secret name.
    pub name: String,
    /// Key in `data` holding the password (`password` unless the reference names another).
    pub key: String,
}

/// TCP MD5 password of a peer.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum PeerPassword {
    /// No authentication.
    #[default]
    None,
    /// `spec.password` in clear text.
    Inline(String),
    /// Read from a Secret.
    FromSecret {
        /// Where it came from.
        secret: SecretKeyRef,
        /// The password.
        value: String,
    },
    /// `spec.passwordSecret` names a Secret that does not exist (yet): the session must wait.
    Pending(SecretKeyRef),
}

impl PeerPassword {
    /// The password to configure, when known.
    pub fn value(&self) -> Option<&str> {
        match self {
            PeerPassword::Inline(v) | PeerPassword::FromSecret { value: v, .. } => Some(v),
            PeerPassword::None | PeerPassword::Pending(_) => None,
        }
    }
}

/// A BGP peer (BGPPeer v1beta2).
#[derive(Clone, Debug, PartialEq)]
pub struct Peer {
    /// Peer name.
    pub name: String,
    /// Namespace of the BGPPeer object.
    pub namespace: String,
    /// Our ASN (`myASN`).
    pub my_asn: u32,
    /// Their ASN (`peerASN` or `dynamicASN`).
    pub peer_asn: PeerAsn,
    /// `localASN`: ASN presented to the peer instead of `my_asn` (local-as, no-prepend, replace-as).
    pub local_asn: Option<u32>,
    /// Address or interface.
    pub endpoint: PeerEndpoint,
    /// TCP port to dial (default 179).
    pub port: u16,
    /// `sourceAddress`.
    pub source_address: Option<IpAddr>,
    /// `routerID` (BGP identifier); `None` = derive from the node.
    pub router_id: Option<Ipv4Addr>,
    /// Resolved hold/keepalive.
    pub timers: Timers,
    /// `connectTime`: wait between connection attempts.
    pub connect_time: Option<Duration>,
    /// `ebgpMultiHop`.
    pub ebgp_multihop: bool,
    /// TCP MD5 password.
    pub password: PeerPassword,
    /// `bfdProfile` name (the profile exists in `Config::bfd_profiles` unless the peer is pending).
    pub bfd_profile: Option<String>,
    /// Only nodes matching one of these peer (empty = every node).
    pub node_selectors: Vec<Selector>,
    /// `vrf` name.
    pub vrf: Option<String>,
    /// `enableGracefulRestart`.
    pub graceful_restart: bool,
    /// `disableMP` (deprecated): one session per family.
    pub disable_mp: bool,
    /// `dualStackAddressFamily`: advertise both families over this session.
    pub dual_stack_address_family: bool,
}

impl Peer {
    /// Whether a node with `labels` peers with this peer.
    pub fn selects_node(&self, labels: &Labels) -> bool {
        self.node_selectors.is_empty() || self.node_selectors.iter().any(|s| s.matches(labels))
    }

    /// iBGP when the remote AS is ours (fixed equal, or dynamic internal).
    pub fn is_ibgp(&self) -> bool {
        match self.peer_asn {
            PeerAsn::Fixed(asn) => asn == self.my_asn,
            PeerAsn::DynamicInternal => true,
            PeerAsn::DynamicExternal => false,
        }
    }
}

/// A BGP advertisement (BGPAdvertisement).
#[derive(Clone, Debug, PartialEq)]
pub struct BgpAdvertisement {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Pools it applies to: listed ∪ selected, or every pool when neither is given. Existing pools
    /// only, sorted, unique.
    pub pools: Vec<String>,
    /// Advertise IPv4 addresses as prefixes of this length (default 32).
    pub aggregation_length_v4: u8,
    /// Advertise IPv6 addresses as prefixes of this length (default 128).
    pub aggregation_length_v6: u8,
    /// LOCAL_PREF for iBGP peers; 0 = attribute not set.
    pub local_pref: u32,
    /// Communities to attach (aliases resolved).
    pub communities: BTreeSet<Community>,
    /// Peer names to advertise to; empty = every peer.
    pub peers: Vec<String>,
    /// Nodes that advertise (empty = every node).
    pub node_selectors: Vec<Selector>,
    /// Services this applies to (empty = every service).
    pub service_selectors: Vec<Selector>,
}

impl BgpAdvertisement {
    /// Whether a node with `labels` advertises.
    pub fn selects_node(&self, labels: &Labels) -> bool {
        self.node_selectors.is_empty() || self.node_selectors.iter().any(|s| s.matches(labels))
    }

    /// Whether a Service with `labels` is advertised by this advertisement.
    pub fn selects_service(&self, labels: &Labels) -> bool {
        self.service_selectors.is_empty()
            || self.service_selectors.iter().any(|s| s.matches(labels))
    }

    /// Whether routes go to `peer`.
    pub fn selects_peer(&self, peer: &str) -> bool {
        self.peers.is_empty() || self.peers.iter().any(|p| p == peer)
    }

    /// The prefix announced for `ip` (`ip` masked to the aggregation length).
    pub fn prefix_for(&self, ip: IpAddr) -> IpNet {
        let len = match ip {
            IpAddr::V4(_) => self.aggregation_length_v4,
            IpAddr::V6(_) => self.aggregation_length_v6,
        };
        IpNet::new(ip, len)
            .map(|n| n.trunc())
            .unwrap_or_else(|_| IpNet::from(ip))
    }
}

/// A preferred-node rule of an L2 advertisement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreferredNode {
    /// Weight added when the node matches.
    pub weight: i32,
    /// Node selector.
    pub selector: Selector,
}

/// An L2 advertisement (L2Advertisement).
#[derive(Clone, Debug, PartialEq)]
pub struct L2Advertisement {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Pools it applies to (as for BGP advertisements).
    pub pools: Vec<String>,
    /// Interfaces to answer on; empty = all interfaces.
    pub interfaces: Vec<String>,
    /// Nodes that may announce (empty = every node).
    pub node_selectors: Vec<Selector>,
    /// Services this applies to (empty = every service).
    pub service_selectors: Vec<Selector>,
    /// Preferences among eligible nodes.
    pub preferred_nodes: Vec<PreferredNode>,
}

impl L2Advertisement {
    /// Whether a node with `labels` may announce.
    pub fn selects_node(&self, labels: &Labels) -> bool {
        self.node_selectors.is_empty() || self.node_selectors.iter().any(|s| s.matches(labels))
    }

    /// Whether a Service with `labels` is announced by this advertisement.
    pub fn selects_service(&self, labels: &Labels) -> bool {
        self.service_selectors.is_empty()
            || self.service_selectors.iter().any(|s| s.matches(labels))
    }

    /// Sum of the weights of the preferred-node rules `labels` match (0 when none).
    pub fn preference(&self, labels: &Labels) -> i64 {
        self.preferred_nodes
            .iter()
            .filter(|p| p.selector.matches(labels))
            .map(|p| i64::from(p.weight))
            .sum()
    }

    /// Whether the advertisement applies to `interface`.
    pub fn selects_interface(&self, interface: &str) -> bool {
        self.interfaces.is_empty() || self.interfaces.iter().any(|i| i == interface)
    }
}

/// A BFD profile with MetalLB's defaults applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BfdProfile {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Required minimum receive interval (10–60000 ms, default 300).
    pub receive_interval: Duration,
    /// Desired minimum transmit interval (10–60000 ms, default 300).
    pub transmit_interval: Duration,
    /// Detection multiplier (2–255, default 3).
    pub detect_multiplier: u8,
    /// Echo transmit interval (10–60000 ms, default 50).
    pub echo_interval: Duration,
    /// Echo mode.
    pub echo_mode: bool,
    /// Passive mode: wait for the peer to start.
    pub passive_mode: bool,
    /// Minimum incoming TTL for multi-hop sessions (1–254, default 254).
    pub minimum_ttl: u8,
}

impl BfdProfile {
    /// Default receive interval.
    pub const DEFAULT_RECEIVE: Duration = Duration::from_millis(300);
    /// Default transmit interval.
    pub const DEFAULT_TRANSMIT: Duration = Duration::from_millis(300);
    /// Default detect multiplier.
    pub const DEFAULT_MULTIPLIER: u8 = 3;
    /// Default echo interval.
    pub const DEFAULT_ECHO: Duration = Duration::from_millis(50);
    /// Default minimum TTL.
    pub const DEFAULT_MIN_TTL: u8 = 254;
}

/// A reference that does not resolve *yet*: the non-fatal, creation-order kind of problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// The object holding the reference.
    pub object: ObjectRef,
    /// The field (JSON path below the object, e.g. `spec.passwordSecret`).
    pub field: String,
    /// What is missing.
    pub missing: Missing,
}

/// The missing target of a [`Pending`] reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Missing {
    /// A Secret.
    Secret {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
    /// A BFDProfile.
    BfdProfile(String),
    /// A community that is neither a value nor a known alias.
    CommunityAlias(String),
    /// An IPAddressPool named in `spec.ipAddressPools` (MetalLB ignores the name until it exists).
    Pool(String),
    /// A BGPPeer named in `spec.peers` (routes go to no peer of that name until it exists).
    Peer(String),
}

impl fmt::Display for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.missing {
            Missing::Secret { namespace, name } => format!("Secret {namespace}/{name}"),
            Missing::BfdProfile(n) => format!("BFDProfile {n}"),
            Missing::CommunityAlias(a) => format!("Community alias {a:?}"),
            Missing::Pool(n) => format!("IPAddressPool {n}"),
            Missing::Peer(n) => format!("BGPPeer {n}"),
        };
        write!(
            f,
            "{} {}: refers to {what}, which does not exist (yet); it takes effect once created",
            self.object, self.field
        )
    }
}
