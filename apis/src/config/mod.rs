//! The configuration model: metallb.io objects ──► one validated [`Config`].
//!
//! ```text
//!   Resources (CRD objects + Secrets, Nodes, Namespaces)
//!        │  Config::from_resources  (pure; every MetalLB validation rule)
//!        ▼
//!   Ok((Config, Vec<Pending>))        Err(ConfigError { problems, pending })
//!     Pending = reference not created yet (non-fatal)
//! ```
//!
//! Consumers: the CCM allocator (`Config::pools`, [`Pool::admits`]), the speaker's BGP and L2
//! planners (`peers`, `bgp_advertisements`, `l2_advertisements`), the BFD engine
//! (`bfd_profiles`), the webhook and `lodestone-ccm validate`.
//!
//! # Where Lodestone differs from MetalLB's `internal/config`
//!
//! - Every problem is reported (MetalLB stops at the first); overlaps once per pair of
//!   `spec.addresses` entries.
//! - Lodestone has its own BGP speaker, so neither MetalLB's native-mode restrictions (no BFD,
//!   keepalive, VRF, IPv6 pools over BGP, large communities, graceful restart, dynamicASN,
//!   interface) nor its FRR-mode restrictions (all peers share one routerID / myASN per VRF, no
//!   two peers with one address) apply. The BFD-echo-versus-IPv6-pool rule is kept.
//! - Password Secrets may be `kubernetes.io/basic-auth` or `Opaque`; `passwordSecret.key`
//!   names the key (default `password`); `stringData` is read as well as `data`.
//! - `routerID` must be IPv4 (MetalLB accepts any IP, which BGP cannot send); negative
//!   durations are rejected (MetalLB lets a negative keepalive through).
//! - CRD-schema and CEL rules are checked too, so offline validation matches what the API
//!   server would refuse: `connectTime` 1–65535 whole seconds, `peerPort` ≤ 16384,
//!   `aggregationLength` ≥ 1, preferred-node weight 1–100.
//! - Missing Secrets, BFDProfiles and community aliases are [`Pending`] (MetalLB: transient
//!   error), and so are pool and peer names an advertisement lists that do not exist (MetalLB
//!   ignores them silently).
//! - `namespaceSelectors` stay selectors in the model and are matched against the Service's
//!   Namespace labels when admitting ([`Pool::admits`]); MetalLB resolves them to names when it
//!   parses, and a selector matching no Namespace then leaves the pool unrestricted.
//! - The localPref conflict check uses the snapshot's Nodes like MetalLB; with no Nodes at all
//!   (offline) two advertisements are taken to share nodes when both select every node or they
//!   have a node selector in common (MetalLB would find no conflict).

mod addresses;
pub mod community;
pub mod error;
pub mod load;
pub mod model;
mod parse;
mod parse_bgp;
pub mod resources;
pub mod selector;

pub use community::{Community, CommunityError};
pub use error::{ConfigError, Problem, Reason};
pub use load::{LoadError, LoadWarning, load_str, load_value};
pub use model::{
    AddressBlock, BfdProfile, BgpAdvertisement, Config, Family, Kind, L2Advertisement, Missing,
    ObjectRef, Peer, PeerAsn, PeerEndpoint, PeerPassword, Pending, Pool, PoolRefusal,
    PreferredNode, SecretKeyRef, ServiceAllocation, ServiceFacts, Timers,
};
pub use resources::Resources;
pub use selector::{Labels, Operator, Requirement, Selector, SelectorError};
