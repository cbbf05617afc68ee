//! `BGPAdvertisement`: announce the addresses of selected pools to BGP peers.

// One `printcolumn(type_ = ..)` per column looks like a repeated attribute to clippy.
#![allow(clippy::duplicated_attributes)]

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The CEL rule MetalLB attaches to `BGPAdvertisementSpec`: service selectors only go with
/// the default aggregation lengths.
pub const SERVICE_SELECTORS_RULE: &str = "!has(self.serviceSelectors) || self.serviceSelectors.size() == 0 || ((!has(self.aggregationLength) || self.aggregationLength == 32) && (!has(self.aggregationLengthV6) || self.aggregationLengthV6 == 128))";

/// How and to whom the addresses of the selected pools are announced over BGP.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "metallb.io",
    version = "v1beta1",
    kind = "BGPAdvertisement",
    plural = "bgpadvertisements",
    namespaced,
    status = "BGPAdvertisementStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "The `BGPAdvertisement` resource; its fields are in [`BGPAdvertisementSpec`] and [`BGPAdvertisementStatus`].",
    schema = "manual",
    printcolumn(
        name = "IPAddressPools",
        type_ = "string",
        json_path = ".spec.ipAddressPools"
    ),
    printcolumn(
        name = "IPAddressPool Selectors",
        type_ = "string",
        json_path = ".spec.ipAddressPoolSelectors"
    ),
    printcolumn(name = "Peers", type_ = "string", json_path = ".spec.peers"),
    printcolumn(
        name = "Node Selectors",
        type_ = "string",
        json_path = ".spec.nodeSelectors",
        priority = 10
    )
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "message": "serviceSelectors and aggregationLength are mutually exclusive, can only be used together with default aggregationLength (32) and aggregationLengthV6 (128)",
    "rule": SERVICE_SELECTORS_RULE,
}]))]
#[serde(remote = "Self")]
// `remote` would otherwise name the schema "Self".
#[schemars(rename = "BGPAdvertisementSpec")]
pub struct BGPAdvertisementSpec {
    /// Prefix length IPv4 Service addresses are rolled up to before being announced
    /// (32 announces each address on its own).
    #[serde(default = "default_aggregation_length")]
    #[schemars(range(min = 1))]
    pub aggregation_length: i32,

    /// Prefix length IPv6 Service addresses are rolled up to before being announced
    /// (128 announces each address on its own).
    #[serde(
        rename = "aggregationLengthV6",
        default = "default_aggregation_length_v6"
    )]
    pub aggregation_length_v6: i32,

    /// BGP LOCAL_PREF attached to the announcements (iBGP only); higher is preferred.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::int32")]
    pub local_pref: Option<u32>,

    /// BGP communities attached to the announcements: standard `65000:100`, large
    /// `large:65000:1:2`, or the name of an alias defined by a Community object.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub communities: Vec<String>,

    /// Pools announced by this advertisement, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_address_pools: Vec<String>,

    /// Pools announced by this advertisement, by label. When neither this nor
    /// `ipAddressPools` selects anything, the advertisement applies to every pool.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "super::schema::label_selectors")]
    pub ip_address_pool_selectors: Vec<LabelSelector>,

    /// Nodes announced as next hops. Empty means every node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "super::schema::label_selectors")]
    pub node_selectors: Vec<LabelSelector>,

    /// BGPPeers (by name) that receive the announcements. Empty means every peer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<String>,

    /// Services announced by this advertisement, by label. Empty means every Service
    /// allocated from the selected pools. Only allowed with the default aggregation lengths.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "super::schema::label_selectors")]
    pub service_selectors: Vec<LabelSelector>,
}

super::spec_may_be_absent!(BGPAdvertisementSpec);

super::schema::resource_schema!(
    BGPAdvertisement,
    BGPAdvertisementSpec,
    BGPAdvertisementStatus,
    "Announces the LoadBalancer addresses of the selected pools over BGP, with the given path attributes.",
    spec_required = false
);

impl Default for BGPAdvertisementSpec {
    fn default() -> Self {
        Self {
            aggregation_length: default_aggregation_length(),
            aggregation_length_v6: default_aggregation_length_v6(),
            local_pref: None,
            communities: Vec::new(),
            ip_address_pools: Vec::new(),
            ip_address_pool_selectors: Vec::new(),
            node_selectors: Vec::new(),
            peers: Vec::new(),
            service_selectors: Vec::new(),
        }
    }
}

/// Default IPv4 aggregation length: every address announced as a /32.
pub const DEFAULT_AGGREGATION_LENGTH: i32 = 32;
/// Default IPv6 aggregation length: every address announced as a /128.
pub const DEFAULT_AGGREGATION_LENGTH_V6: i32 = 128;

fn default_aggregation_length() -> i32 {
    DEFAULT_AGGREGATION_LENGTH
}

fn default_aggregation_length_v6() -> i32 {
    DEFAULT_AGGREGATION_LENGTH_V6
}

/// BGPAdvertisement has no observed state; the type exists for the status subresource.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct BGPAdvertisementStatus {}
