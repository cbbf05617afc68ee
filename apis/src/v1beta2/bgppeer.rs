//! `BGPPeer` v1beta2: a BGP neighbour of the speakers (the stored version).

// One `printcolumn(type_ = ..)` per column looks like a repeated attribute to clippy.
#![allow(clippy::duplicated_attributes)]

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// CEL rule on `connectTime`: between 1 and 65535 seconds.
pub const CONNECT_TIME_RANGE_RULE: &str =
    "duration(self).getSeconds() >= 1 && duration(self).getSeconds() <= 65535";
/// CEL rule on `connectTime`: a whole number of seconds.
pub const CONNECT_TIME_WHOLE_SECONDS_RULE: &str = "duration(self).getMilliseconds() % 1000 == 0";
/// The BGP port dialled when `peerPort` is not set.
pub const DEFAULT_PEER_PORT: u16 = 179;

/// A BGP neighbour: whom to dial, as which AS, with which timers and from which nodes.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "metallb.io",
    version = "v1beta2",
    kind = "BGPPeer",
    plural = "bgppeers",
    namespaced,
    status = "BGPPeerStatus",
    derive = "PartialEq",
    derive = "Default",
    served = true,
    storage = true,
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
    #[schemars(schema_with = "crate::v1beta1::schema::asn")]
    pub my_asn: u32,

    /// AS number expected from the remote end. Exactly one of `peerASN` and `dynamicASN`
    /// must be set.
    #[serde(rename = "peerASN", default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::v1beta1::schema::asn")]
    pub peer_asn: Option<u32>,

    /// Accept whatever AS the neighbour announces, as long as it is the local AS
    /// (`internal`) or a different one (`external`). Exclusive with `peerASN`.
    #[serde(
        rename = "dynamicASN",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub dynamic_asn: Option<DynamicASNMode>,

    /// AS number announced to this peer instead of `myASN` (BGP local-as with no-prepend
    /// and replace-as).
    #[serde(rename = "localASN", default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::v1beta1::schema::nonzero_asn")]
    pub local_asn: Option<u32>,

    /// Address to dial. Exactly one of `peerAddress` and `interface` must be set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_address: Option<String>,

    /// Node interface for unnumbered BGP peering (IPv6 link-local). Not validated by the
    /// API: an unknown interface only keeps the session down. Exclusive with `peerAddress`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,

    /// Source address of the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_address: Option<String>,

    /// TCP port to dial.
    #[serde(default = "default_peer_port", skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::v1beta1::schema::peer_port_v1beta2")]
    pub peer_port: Option<u16>,

    /// Requested BGP hold time (RFC 4271), as a duration such as `90s`. `0s` disables
    /// keepalives and the hold timer; otherwise at least 3 seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_time: Option<String>,

    /// Requested BGP keepalive interval (RFC 4271), as a duration such as `30s`; at most
    /// the hold time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive_time: Option<String>,

    /// How long to wait between connection attempts, 1s..=65535s in whole seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-validations" = [
        {"message": "connect time should be between 1 seconds to 65535", "rule": CONNECT_TIME_RANGE_RULE},
        {"message": "connect time should contain a whole number of seconds", "rule": CONNECT_TIME_WHOLE_SECONDS_RULE},
    ]))]
    pub connect_time: Option<String>,

    /// BGP identifier to advertise to the peer (an IPv4 address).
    #[serde(rename = "routerID", default, skip_serializing_if = "Option::is_none")]
    pub router_id: Option<String>,

    /// Only connect to this peer from nodes matching one of these selectors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::v1beta1::schema::label_selectors")]
    pub node_selectors: Vec<LabelSelector>,

    /// TCP MD5 password, in clear. Exclusive with `passwordSecret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,

    /// Secret holding the TCP MD5 password (type `kubernetes.io/basic-auth`, key
    /// `password`, in the namespace of the installation). Exclusive with `password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret: Option<PasswordSecretRef>,

    /// Name of the BFDProfile that backs this session with BFD; no BFD when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bfd_profile: Option<String>,

    /// Keep forwarding along known routes while the peer restarts (BGP graceful restart).
    /// Immutable, since changing it needs a new session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-validations" = [
        {"message": "EnableGracefulRestart cannot be changed after creation", "rule": "self == oldSelf"},
    ]))]
    pub enable_graceful_restart: Option<bool>,

    /// Whether the peer is more than one hop away (eBGP multi-hop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ebgp_multi_hop: Option<bool>,

    /// Host VRF whose interfaces the session uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrf: Option<String>,

    /// Deprecated in favour of `dualStackAddressFamily`: run IPv4 and IPv6 routes in
    /// separate sessions instead of multiprotocol BGP.
    #[serde(rename = "disableMP", default)]
    pub disable_mp: bool,

    /// Also exchange the other address family over this session (IPv4 routes over an IPv6
    /// session and vice versa).
    #[serde(default)]
    pub dual_stack_address_family: bool,
}

crate::v1beta1::spec_may_be_absent!(BGPPeerSpec);

crate::v1beta1::schema::resource_schema!(
    BGPPeer,
    BGPPeerSpec,
    BGPPeerStatus,
    "A BGP neighbour the speakers establish sessions with.",
    spec_required = false
);

fn default_peer_port() -> Option<u16> {
    Some(DEFAULT_PEER_PORT)
}

impl Default for BGPPeerSpec {
    fn default() -> Self {
        Self {
            my_asn: 0,
            peer_asn: None,
            dynamic_asn: None,
            local_asn: None,
            peer_address: None,
            interface: None,
            source_address: None,
            peer_port: default_peer_port(),
            hold_time: None,
            keepalive_time: None,
            connect_time: None,
            router_id: None,
            node_selectors: Vec::new(),
            password: None,
            password_secret: None,
            bfd_profile: None,
            enable_graceful_restart: None,
            ebgp_multi_hop: None,
            vrf: None,
            disable_mp: false,
            dual_stack_address_family: false,
        }
    }
}

/// How the remote AS is learned when `peerASN` is not given.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DynamicASNMode {
    /// The neighbour must use `myASN` (iBGP).
    Internal,
    /// The neighbour must use an AS other than `myASN` (eBGP).
    External,
}

/// Where the TCP MD5 password of a session is stored (`corev1.SecretReference`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[schemars(extend("x-kubernetes-map-type" = "atomic"))]
pub struct PasswordSecretRef {
    /// Name of the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,

    /// Namespace of the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,

    /// Key of the Secret's data holding the password; `password` when unset. A Lodestone
    /// extension: MetalLB always reads `password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// BGPPeer has no observed state; the type exists for the status subresource.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct BGPPeerStatus {}
