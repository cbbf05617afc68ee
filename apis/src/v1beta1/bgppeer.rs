//! `BGPPeer` v1beta1: the deprecated, still served version of a BGP neighbour.
//!
//! v1beta2 (see [`crate::v1beta2`]) is the stored version; [`crate::conversion`] converts.

// One `printcolumn(type_ = ..)` per column looks like a repeated attribute to clippy.
#![allow(clippy::duplicated_attributes)]

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A BGP neighbour as v1beta1 describes it.
#[derive(
    CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
)]
#[kube(
    group = "metallb.io",
    version = "v1beta1",
    kind = "BGPPeer",
    plural = "bgppeers",
    namespaced,
    status = "BGPPeerStatus",
    derive = "PartialEq",
    derive = "Default",
    served = true,
    storage = false,
    deprecated = "v1beta1 is deprecated, please use v1beta2",
    doc = "The `BGPPeer` resource; its fields are in [`BGPPeerSpec`] and [`BGPPeerStatus`].",
    schema = "manual",
    printcolumn(name = "Address", type_ = "string", json_path = ".spec.peerAddress"),
    printcolumn(name = "ASN", type_ = "string", json_path = ".spec.peerASN"),
    printcolumn(name = "BFD Profile", type_ = "string", json_path = ".spec.bfdProfile"),
    printcolumn(
        name = "Multi Hops",
        type_ = "string",
        json_path = ".spec.ebgpMultiHop"
    )
)]
#[serde(rename_all = "camelCase")]
#[serde(remote = "Self")]
// `remote` would otherwise name the schema "Self".
#[schemars(rename = "BGPPeerSpec")]
pub struct BGPPeerSpec {
    /// AS number of the local end of the session.
    #[serde(rename = "myASN")]
    #[schemars(schema_with = "super::schema::asn")]
    pub my_asn: u32,

    /// AS number expected from the remote end of the session.
    #[serde(rename = "peerASN")]
    #[schemars(schema_with = "super::schema::asn")]
    pub peer_asn: u32,

    /// Address to dial when establishing the session.
    pub peer_address: String,

    /// Source address of the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_address: Option<String>,

    /// TCP port to dial (179 when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::peer_port_v1beta1")]
    pub peer_port: Option<u16>,

    /// Requested BGP hold time (RFC 4271), as a duration such as `90s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_time: Option<String>,

    /// Requested BGP keepalive interval (RFC 4271), as a duration such as `30s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive_time: Option<String>,

    /// BGP identifier to advertise to the peer (an IPv4 address).
    #[serde(rename = "routerID", default, skip_serializing_if = "Option::is_none")]
    pub router_id: Option<String>,

    /// Only connect to this peer from nodes matching one of these selectors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_selectors: Vec<NodeSelector>,

    /// TCP MD5 password, for routers that require authenticated sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,

    /// Name of the BFDProfile that backs this session with BFD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bfd_profile: Option<String>,

    /// Whether the peer is more than one hop away (eBGP multi-hop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ebgp_multi_hop: Option<bool>,
}

super::spec_may_be_absent!(BGPPeerSpec);

super::schema::resource_schema!(
    BGPPeer,
    BGPPeerSpec,
    BGPPeerStatus,
    "A BGP neighbour the speakers establish sessions with.",
    spec_required = false
);

/// v1beta1's own node selector (v1beta2 uses `metav1.LabelSelector`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeSelector {
    /// Exact label matches.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,

    /// Label requirements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<MatchExpression>,
}

/// One requirement of a v1beta1 node selector; unlike `metav1`, `values` is mandatory.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct MatchExpression {
    /// The label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: String,
    /// The values the key is related to.
    #[schemars(length(min = 1))]
    pub values: Vec<String>,
}

/// BGPPeer has no observed state; the type exists for the status subresource.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct BGPPeerStatus {}
