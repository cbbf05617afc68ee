//! What the planner reads off core objects: node availability, a Service's addresses and pool,
//! and which nodes hold serving endpoints.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::discovery::v1::{EndpointConditions, EndpointSlice};
use lodestone_apis::config::{Config, Labels, Pool};

/// Node label that keeps a node out of every load balancer (MetalLB honours it by default).
pub const EXCLUDE_LB_LABEL: &str = "node.kubernetes.io/exclude-from-external-load-balancers";
/// Annotation the CCM writes with the pool an address came from.
pub const POOL_ANNOTATION: &str = "metallb.io/ip-allocated-from-pool";
/// Label linking an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// `namespace/name` of a Service.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceKey {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ServiceKey {
    /// Builds a key.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        ServiceKey {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// Key of a Service object (`None` without a name).
    pub fn of(svc: &Service) -> Option<Self> {
        Some(ServiceKey::new(
            svc.metadata.namespace.clone().unwrap_or_default(),
            svc.metadata.name.clone()?,
        ))
    }
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Why a node announces nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeUnavailable {
    /// The Node object does not exist (yet).
    Unknown,
    /// Condition `NetworkUnavailable` is `True`.
    NetworkUnavailable,
    /// Labelled `node.kubernetes.io/exclude-from-external-load-balancers`.
    Excluded,
}

/// The labels of a node (empty when it has none).
pub fn node_labels(node: &Node) -> Labels {
    node.metadata.labels.clone().unwrap_or_default()
}

/// Whether a node may announce at all (MetalLB's `IsNodeAvailable` and
/// `IsNodeExcludedFromBalancers`).
pub fn node_availability(node: Option<&Node>) -> Result<(), NodeUnavailable> {
    let Some(node) = node else {
        return Err(NodeUnavailable::Unknown);
    };
    let network_down = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c.type_ == "NetworkUnavailable" && c.status == "True")
        });
    if network_down {
        return Err(NodeUnavailable::NetworkUnavailable);
    }
    if node
        .metadata
        .labels
        .as_ref()
        .is_some_and(|l| l.contains_key(EXCLUDE_LB_LABEL))
    {
        return Err(NodeUnavailable::Excluded);
    }
    Ok(())
}

/// MetalLB's `IsConditionServing`: `serving`, deferring to `ready` when `serving` is unset or
/// the Service publishes not-ready addresses; an endpoint with neither counts as serving.
pub fn is_serving(conditions: Option<&EndpointConditions>, publish_not_ready: bool) -> bool {
    let Some(c) = conditions else {
        return true;
    };
    match (c.serving, publish_not_ready) {
        (Some(serving), false) => serving,
        _ => c.ready.unwrap_or(true),
    }
}

/// Serving endpoints of one Service, by node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// Whether any serving endpoint exists (also ones without a node name).
    pub any_serving: bool,
    /// Nodes with at least one serving endpoint.
    pub serving_nodes: BTreeSet<String>,
}

/// Groups EndpointSlices by Service and summarises their serving endpoints.
pub fn endpoints_by_service(
    slices: &[EndpointSlice],
    services: &BTreeMap<ServiceKey, &Service>,
) -> BTreeMap<ServiceKey, Endpoints> {
    let mut out: BTreeMap<ServiceKey, Endpoints> = BTreeMap::new();
    for slice in slices {
        let Some(name) = slice
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(SERVICE_NAME_LABEL))
            .filter(|n| !n.is_empty())
        else {
            continue;
        };
        let key = ServiceKey::new(slice.metadata.namespace.clone().unwrap_or_default(), name);
        let publish_not_ready = services
            .get(&key)
            .and_then(|s| s.spec.as_ref())
            .and_then(|s| s.publish_not_ready_addresses)
            .unwrap_or(false);
        let entry = out.entry(key).or_default();
        for ep in &slice.endpoints {
            if !is_serving(ep.conditions.as_ref(), publish_not_ready) {
                continue;
            }
            entry.any_serving = true;
            if let Some(n) = &ep.node_name {
                entry.serving_nodes.insert(n.clone());
            }
        }
    }
    out
}

/// The addresses of a LoadBalancer Service from `status.loadBalancer.ingress[].ip` (hostnames
/// and unparsable entries ignored), in order, unique. Empty for other Service types.
pub fn ingress_ips(svc: &Service) -> Vec<IpAddr> {
    let is_lb = svc
        .spec
        .as_ref()
        .and_then(|s| s.type_.as_deref())
        .is_some_and(|t| t == "LoadBalancer");
    if !is_lb {
        return Vec::new();
    }
    let mut ips = Vec::new();
    let ingress = svc
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref());
    for ing in ingress.into_iter().flatten() {
        if let Some(ip) = ing.ip.as_deref().and_then(|s| s.parse::<IpAddr>().ok())
            && !ips.contains(&ip)
        {
            ips.push(ip);
        }
    }
    ips
}

/// Whether the Service's `externalTrafficPolicy` is `Local`.
pub fn is_local_policy(svc: &Service) -> bool {
    svc.spec
        .as_ref()
        .and_then(|s| s.external_traffic_policy.as_deref())
        .is_some_and(|p| p == "Local")
}

/// The pool serving `ips`: the one named by the `metallb.io/ip-allocated-from-pool` annotation,
/// or (no annotation, e.g. a Service allocated by an older controller) the pool holding the
/// first address. `None` when that pool does not exist or does not hold every address
/// (MetalLB: "assigned IP not allowed by config").
pub fn pool_for<'c>(config: &'c Config, svc: &Service, ips: &[IpAddr]) -> Option<&'c Pool> {
    let named = svc
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(POOL_ANNOTATION));
    let pool = match named {
        Some(name) => config.pools.get(name)?,
        None => config.pool_for_ip(*ips.first()?)?,
    };
    ips.iter().all(|ip| pool.contains(*ip)).then_some(pool)
}
