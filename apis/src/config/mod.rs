//! The configuration model: metallb.io objects ──► one validated [`Config`].
//!
//! ```text
//!   Resources (CRD objects + Secrets, Nodes, Namespaces)
//!        │  Config::from_resources  (pure; every MetalLB validation rule)
//!        ▼
//!   Ok((Config, Vec<Pending>))        Err(ConfigError { problems })
//!     Pending = reference not created yet (non-fatal)
//! ```
//!
//! Consumers: the CCM allocator (`Config::pools`, [`Pool::admits`]), the speaker's BGP and L2
//! planners (`peers`, `bgp_advertisements`, `l2_advertisements`), the BFD engine
//! (`bfd_profiles`), the webhook and `lodestone-ccm validate`.

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
