//! `ServiceL2Status`: which node answers ARP/NDP for a Service, written by the speaker.

// One `printcolumn(type_ = ..)` per column looks like a repeated attribute to clippy.
#![allow(clippy::duplicated_attributes)]

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// ServiceL2Status carries everything in its status; the spec is empty.
#[derive(
    CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
)]
#[kube(
    group = "metallb.io",
    version = "v1beta1",
    kind = "ServiceL2Status",
    plural = "servicel2statuses",
    namespaced,
    status = "MetalLBServiceL2Status",
    derive = "PartialEq",
    derive = "Default",
    doc = "The `ServiceL2Status` resource; its fields are in [`ServiceL2StatusSpec`] and [`MetalLBServiceL2Status`].",
    schema = "manual",
    printcolumn(name = "Allocated Node", type_ = "string", json_path = ".status.node"),
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
#[schemars(rename = "ServiceL2StatusSpec")]
pub struct ServiceL2StatusSpec {}

/// The announcing node of one Service in layer-2 mode.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetalLBServiceL2Status {
    /// The node that receives the Service's traffic. Immutable.
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

    /// The node's interfaces that receive the traffic.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<InterfaceInfo>,
}

super::spec_may_be_absent!(ServiceL2StatusSpec);

super::schema::resource_schema!(
    ServiceL2Status,
    ServiceL2StatusSpec,
    MetalLBServiceL2Status,
    "Where the layer-2 traffic of a LoadBalancer Service actually arrives: the announcing node and interfaces.",
    spec_required = false
);

/// One interface of a layer-2 announcement.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct InterfaceInfo {
    /// Interface name on the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}
