//! `L2Advertisement`: announce the addresses of selected pools with ARP/NDP.

// One `printcolumn(type_ = ..)` per column looks like a repeated attribute to clippy.
#![allow(clippy::duplicated_attributes)]

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which pools are announced at layer 2, from which nodes and interfaces.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "metallb.io",
    version = "v1beta1",
    kind = "L2Advertisement",
    plural = "l2advertisements",
    namespaced,
    status = "L2AdvertisementStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "The `L2Advertisement` resource; its fields are in [`L2AdvertisementSpec`] and [`L2AdvertisementStatus`].",
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
    printcolumn(name = "Interfaces", type_ = "string", json_path = ".spec.interfaces"),
    printcolumn(
        name = "Node Selectors",
        type_ = "string",
        json_path = ".spec.nodeSelectors",
        priority = 10
    )
)]
#[serde(rename_all = "camelCase")]
#[serde(remote = "Self")]
// `remote` would otherwise name the schema "Self".
#[schemars(rename = "L2AdvertisementSpec")]
pub struct L2AdvertisementSpec {
    /// Pools announced by this advertisement, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_address_pools: Vec<String>,

    /// Pools announced by this advertisement, by label. When neither this nor
    /// `ipAddressPools` selects anything, the advertisement applies to every pool.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "super::schema::label_selectors")]
    pub ip_address_pool_selectors: Vec<LabelSelector>,

    /// Nodes allowed to announce. Empty means every node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "super::schema::label_selectors")]
    pub node_selectors: Vec<LabelSelector>,

    /// Interfaces to announce from. Empty means every interface of the node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<String>,

    /// Services announced by this advertisement, by label. Empty means every Service
    /// allocated from the selected pools.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "super::schema::label_selectors")]
    pub service_selectors: Vec<LabelSelector>,

    /// Soft preferences for the announcing node: among the eligible nodes, those matching
    /// heavier preferences are elected first; any eligible node remains a fallback.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preferred_node_selectors: Vec<PreferredNodeSelector>,
}

super::spec_may_be_absent!(L2AdvertisementSpec);

super::schema::resource_schema!(
    L2Advertisement,
    L2AdvertisementSpec,
    L2AdvertisementStatus,
    "Announces the LoadBalancer addresses of the selected pools at layer 2 (ARP for IPv4, NDP for IPv6).",
    spec_required = false
);

/// A weighted soft preference for announcing nodes (modelled on `PreferredSchedulingTerm`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct PreferredNodeSelector {
    /// Weight added to the score of every node the preference matches, 1..=100.
    #[schemars(range(min = 1, max = 100))]
    pub weight: i32,

    /// The nodes this preference applies to.
    #[schemars(schema_with = "super::schema::label_selector")]
    pub preference: LabelSelector,
}

/// L2Advertisement has no observed state; the type exists for the status subresource.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct L2AdvertisementStatus {}
