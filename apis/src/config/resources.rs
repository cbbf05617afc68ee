//! The snapshot the parser reads: every metallb.io configuration object plus the core objects
//! needed to resolve references and selectors.
//!
//! ```text
//!   informers / YAML files ──► Resources { pools, peers, bgp_advertisements, l2_advertisements,
//!                                          bfd_profiles, communities, secrets, nodes, namespaces }
//! ```
//!
//! BGPPeers are held in the stored version (v1beta2); v1beta1 documents are converted on load.

use k8s_openapi::api::core::v1::{Namespace, Node, Secret};

use crate::{v1beta1, v1beta2};

/// All inputs of [`Config::from_resources`](super::Config::from_resources), in the order read.
#[derive(Clone, Debug, Default)]
pub struct Resources {
    /// IPAddressPools.
    pub pools: Vec<v1beta1::IPAddressPool>,
    /// BGPPeers (v1beta2).
    pub peers: Vec<v1beta2::BGPPeer>,
    /// BGPAdvertisements.
    pub bgp_advertisements: Vec<v1beta1::BGPAdvertisement>,
    /// L2Advertisements.
    pub l2_advertisements: Vec<v1beta1::L2Advertisement>,
    /// BFDProfiles.
    pub bfd_profiles: Vec<v1beta1::BFDProfile>,
    /// Communities (alias lists).
    pub communities: Vec<v1beta1::Community>,
    /// Secrets (BGP passwords).
    pub secrets: Vec<Secret>,
    /// Nodes (to evaluate advertisement node selectors for the localPref check).
    pub nodes: Vec<Node>,
    /// Namespaces.
    pub namespaces: Vec<Namespace>,
}

impl Resources {
    /// Appends everything from `other`, keeping order.
    pub fn extend(&mut self, other: Resources) {
        self.pools.extend(other.pools);
        self.peers.extend(other.peers);
        self.bgp_advertisements.extend(other.bgp_advertisements);
        self.l2_advertisements.extend(other.l2_advertisements);
        self.bfd_profiles.extend(other.bfd_profiles);
        self.communities.extend(other.communities);
        self.secrets.extend(other.secrets);
        self.nodes.extend(other.nodes);
        self.namespaces.extend(other.namespaces);
    }

    /// Number of metallb.io configuration objects.
    pub fn metallb_objects(&self) -> usize {
        self.pools.len()
            + self.peers.len()
            + self.bgp_advertisements.len()
            + self.l2_advertisements.len()
            + self.bfd_profiles.len()
            + self.communities.len()
    }
}
