//! What the allocator needs to know about a Service, and nothing more.
//!
//! The service controller extracts a [`ServiceRequest`] from a `Service` (see
//! [`ServiceRequest::from_service`](super::ServiceRequest::from_service)); the allocator never
//! sees Kubernetes objects.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use super::addrset::Family;

/// Labels of a Service or Namespace.
pub type Labels = BTreeMap<String, String>;

/// The identity of a Service: `namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceKey {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ServiceKey {
    /// `ServiceKey::new("default", "web")`.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// `spec.ipFamilyPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FamilyPolicy {
    /// One family (the default when the field is unset).
    #[default]
    SingleStack,
    /// Both families if possible, else one.
    PreferDualStack,
    /// Both families or nothing.
    RequireDualStack,
}

/// A transport protocol of a Service port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// TCP (the default).
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
    /// Anything else the API server accepted, kept verbatim.
    Other(String),
}

impl Protocol {
    /// Parses the Kubernetes spelling; unset means TCP.
    pub fn parse(s: Option<&str>) -> Protocol {
        match s {
            None | Some("TCP") => Protocol::Tcp,
            Some("UDP") => Protocol::Udp,
            Some("SCTP") => Protocol::Sctp,
            Some(other) => Protocol::Other(other.to_string()),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protocol::Tcp => f.write_str("TCP"),
            Protocol::Udp => f.write_str("UDP"),
            Protocol::Sctp => f.write_str("SCTP"),
            Protocol::Other(s) => f.write_str(s),
        }
    }
}

/// One port of a Service as the sharing rules see it: protocol and port number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Port {
    /// Protocol.
    pub protocol: Protocol,
    /// Port number.
    pub port: u16,
}

impl Port {
    /// A TCP port.
    pub fn tcp(port: u16) -> Self {
        Port {
            protocol: Protocol::Tcp,
            port,
        }
    }

    /// A UDP port.
    pub fn udp(port: u16) -> Self {
        Port {
            protocol: Protocol::Udp,
            port,
        }
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.protocol, self.port)
    }
}

/// Everything the allocator needs from one Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRequest {
    /// namespace/name.
    pub key: ServiceKey,
    /// The Service's labels (for `serviceSelectors`).
    pub labels: Labels,
    /// The labels of the Service's Namespace (for `namespaceSelectors`).
    pub namespace_labels: Labels,
    /// IP families of the Service's cluster IPs, primary first (one or two; empty when the
    /// Service has no cluster IP yet, which the allocator refuses).
    pub families: Vec<Family>,
    /// `spec.ipFamilyPolicy`.
    pub policy: FamilyPolicy,
    /// Addresses requested by `metallb.io/loadBalancerIPs` or `spec.loadBalancerIP`.
    pub requested_ips: Vec<IpAddr>,
    /// Pool requested by `metallb.io/address-pool`.
    pub requested_pool: Option<String>,
    /// `metallb.io/allow-shared-ip`; an empty value means no sharing.
    pub sharing_key: String,
    /// Ports and protocols, for the sharing collision check.
    pub ports: Vec<Port>,
    /// Backends that sharers must agree on: the selector when externalTrafficPolicy is Local,
    /// empty otherwise.
    pub backend_key: String,
}

impl ServiceRequest {
    /// A single-stack request with nothing else set; tests and callers fill in the rest.
    pub fn new(key: ServiceKey, family: Family) -> Self {
        ServiceRequest {
            key,
            labels: Labels::new(),
            namespace_labels: Labels::new(),
            families: vec![family],
            policy: FamilyPolicy::SingleStack,
            requested_ips: Vec::new(),
            requested_pool: None,
            sharing_key: String::new(),
            ports: Vec::new(),
            backend_key: String::new(),
        }
    }

    /// Whether the Service has cluster IPs of two families.
    pub fn is_dual_stack(&self) -> bool {
        self.families.len() == 2
    }

    /// The primary family (of the first cluster IP).
    pub fn primary_family(&self) -> Option<Family> {
        self.families.first().copied()
    }
}
