//! `IPAddressPool`: a named set of addresses that LoadBalancer Services and Gateways draw from.

// One `printcolumn(type_ = ..)` per column looks like a repeated attribute to clippy.
#![allow(clippy::duplicated_attributes)]

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The addresses of a pool and who may allocate from it.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "metallb.io",
    version = "v1beta1",
    kind = "IPAddressPool",
    plural = "ipaddresspools",
    namespaced,
    status = "IPAddressPoolStatus",
    derive = "PartialEq",
    doc = "The `IPAddressPool` resource; its fields are in [`IPAddressPoolSpec`] and [`IPAddressPoolStatus`].",
    schema = "manual",
    printcolumn(
        name = "Auto Assign",
        type_ = "boolean",
        json_path = ".spec.autoAssign"
    ),
    printcolumn(
        name = "Avoid Buggy IPs",
        type_ = "boolean",
        json_path = ".spec.avoidBuggyIPs"
    ),
    printcolumn(name = "Addresses", type_ = "string", json_path = ".spec.addresses")
)]
#[serde(rename_all = "camelCase")]
pub struct IPAddressPoolSpec {
    /// The address ranges this pool hands out. Each entry is a CIDR prefix
    /// (`192.0.2.0/24`, `2001:db8::/64`) or an explicit inclusive range
    /// (`192.0.2.10-192.0.2.20`). All entries share the pool's settings.
    pub addresses: Vec<String>,

    /// Whether addresses are handed out automatically. When false, a Service only gets an
    /// address from this pool if it asks for the pool or for a specific address in it.
    #[serde(default = "default_true")]
    pub auto_assign: bool,

    /// Skip addresses ending in `.0` and `.255`, which some old client stacks mishandle.
    #[serde(rename = "avoidBuggyIPs", default)]
    pub avoid_buggy_ips: bool,

    /// Restricts the pool to some namespaces and/or Services, and orders it against other
    /// pools that match the same Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_allocation: Option<ServiceAllocation>,
}

super::schema::resource_schema!(
    IPAddressPool,
    IPAddressPoolSpec,
    IPAddressPoolStatus,
    "A pool of IP addresses that can be allocated to LoadBalancer Services.",
    spec_required = true
);

fn default_true() -> bool {
    true
}

/// Which Services may be allocated from a pool, and the pool's priority among matches.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAllocation {
    /// Preference among pools that match the same Service: the lowest value wins. A pool
    /// without a priority is used only when no pool with a priority can serve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::integer")]
    pub priority: Option<i32>,

    /// Namespaces whose Services may use the pool, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,

    /// Namespaces whose Services may use the pool, by label; an alternative to `namespaces`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "super::schema::label_selectors")]
    pub namespace_selectors: Vec<LabelSelector>,

    /// Services that may use the pool, by label.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "super::schema::label_selectors")]
    pub service_selectors: Vec<LabelSelector>,
}

/// Address usage counters the controller publishes for a pool.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct IPAddressPoolStatus {
    /// Number of IPv4 addresses of the pool currently assigned to Services.
    #[serde(rename = "assignedIPv4")]
    pub assigned_ipv4: i64,
    /// Number of IPv6 addresses of the pool currently assigned to Services.
    #[serde(rename = "assignedIPv6")]
    pub assigned_ipv6: i64,
    /// Number of IPv4 addresses of the pool still free.
    #[serde(rename = "availableIPv4")]
    pub available_ipv4: i64,
    /// Number of IPv6 addresses of the pool still free.
    #[serde(rename = "availableIPv6")]
    pub available_ipv6: i64,
}
