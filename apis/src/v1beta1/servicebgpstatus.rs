//! `ServiceBGPStatus`: which peers a node advertises a Service to, written by the speaker.

// One `printcolumn(type_ = ..)` per column looks like a repeated attribute to clippy.
#![allow(clippy::duplicated_attributes)]

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// ServiceBGPStatus carries everything in its status; the spec is empty.
#[derive(
    CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
)]
#[kube(
    group = "metallb.io",
    version = "v1beta1",
    kind = "ServiceBGPStatus",
    plural = "servicebgpstatuses",
    namespaced,
    status = "MetalLBServiceBGPStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "The `ServiceBGPStatus` resource; its fields are in [`ServiceBGPStatusSpec`] and [`MetalLBServiceBGPStatus`].",
    schema = "manual",
    printcolumn(name = "Node", type_ = "string", json_path = ".status.node"),
    printcolumn(
        name = "Service Name",
        type_ = "string",
        json_path = ".status.serviceName"
    ),
    printcolumn(
        name = "Service Namespace",
        type_ = "string",
        json_path = ".status.serviceNamespace"
    )
)]
#[serde(remote = "Self")]
// `remote` would otherwise name the schema "Self".
#[schemars(rename = "ServiceBGPStatusSpec")]
pub struct ServiceBGPStatusSpec {}

/// The peers one node advertises one Service to.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetalLBServiceBGPStatus {
    /// The announcing node. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-validations" = [{"message": "Value is immutable", "rule": "self == oldSelf"}]))]
    pub node: Option<String>,

    /// Name of the Service this status describes. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-validations" = [{"message": "Value is immutable", "rule": "self == oldSelf"}]))]
    pub service_name: Option<String>,

    /// Namespace of the Service this status describes. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-validations" = [{"message": "Value is immutable", "rule": "self == oldSelf"}]))]
    pub service_namespace: Option<String>,

    /// Names of the BGPPeers the Service is configured to be advertised to. Whether a
    /// given peer actually receives it depends on that session being established.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<String>,
}

super::spec_may_be_absent!(ServiceBGPStatusSpec);

super::schema::resource_schema!(
    ServiceBGPStatus,
    ServiceBGPStatusSpec,
    MetalLBServiceBGPStatus,
    "The BGP peers a node is configured to advertise a LoadBalancer Service to.",
    spec_required = false
);
