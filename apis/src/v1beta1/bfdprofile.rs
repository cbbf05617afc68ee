//! `BFDProfile`: timers and modes of a BFD session that can back a BGP session.

// One `printcolumn(type_ = ..)` per column looks like a repeated attribute to clippy.
#![allow(clippy::duplicated_attributes)]

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// BFD session parameters. Unset fields take the defaults listed on each field.
#[derive(
    CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
)]
#[kube(
    group = "metallb.io",
    version = "v1beta1",
    kind = "BFDProfile",
    plural = "bfdprofiles",
    namespaced,
    status = "BFDProfileStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "The `BFDProfile` resource; its fields are in [`BFDProfileSpec`] and [`BFDProfileStatus`].",
    schema = "manual",
    printcolumn(
        name = "Passive Mode",
        type_ = "boolean",
        json_path = ".spec.passiveMode"
    ),
    printcolumn(
        name = "Transmit Interval",
        type_ = "integer",
        json_path = ".spec.transmitInterval"
    ),
    printcolumn(
        name = "Receive Interval",
        type_ = "integer",
        json_path = ".spec.receiveInterval"
    ),
    printcolumn(
        name = "Multiplier",
        type_ = "integer",
        json_path = ".spec.detectMultiplier"
    )
)]
#[serde(rename_all = "camelCase")]
#[serde(remote = "Self")]
// `remote` would otherwise name the schema "Self".
#[schemars(rename = "BFDProfileSpec")]
pub struct BFDProfileSpec {
    /// Minimum interval, in milliseconds, at which this system can receive control packets.
    /// Default 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::bfd_interval")]
    pub receive_interval: Option<u32>,

    /// Minimum interval, in milliseconds (before jitter), at which this system wants to send
    /// control packets. Default 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::bfd_interval")]
    pub transmit_interval: Option<u32>,

    /// Detection multiplier: the session goes down after this many remote transmit
    /// intervals without a packet. Default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::bfd_multiplier")]
    pub detect_multiplier: Option<u32>,

    /// Minimum echo receive interval, in milliseconds, this system can handle. Default 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::bfd_interval")]
    pub echo_interval: Option<u32>,

    /// Enables echo mode (off by default; not for multi-hop sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub echo_mode: Option<bool>,

    /// A passive session does not initiate: it waits for the peer's control packets before
    /// replying. Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passive_mode: Option<bool>,

    /// Multi-hop sessions only: minimum TTL an incoming control packet must carry.
    /// Default 254.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::bfd_minimum_ttl")]
    pub minimum_ttl: Option<u32>,
}

super::spec_may_be_absent!(BFDProfileSpec);

super::schema::resource_schema!(
    BFDProfile,
    BFDProfileSpec,
    BFDProfileStatus,
    "Settings of a BFD session that can be associated with a BGP session.",
    spec_required = false
);

/// BFDProfile has no observed state; the type exists for the status subresource.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct BFDProfileStatus {}
