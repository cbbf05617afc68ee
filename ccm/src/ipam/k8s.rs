//! From a Kubernetes Service to a [`ServiceRequest`]: a pure function, the only place the
//! `metallb.io` Service annotations are read for allocation.

use std::net::IpAddr;

use k8s_openapi::api::core::v1::Service;

use super::addrset::Family;
use super::request::{FamilyPolicy, Labels, Port, Protocol, ServiceKey, ServiceRequest};

/// `metallb.io/address-pool`: the pool to allocate from.
pub const ANNOTATION_ADDRESS_POOL: &str = "metallb.io/address-pool";
/// `metallb.io/loadBalancerIPs`: comma-separated addresses to assign.
pub const ANNOTATION_LOADBALANCER_IPS: &str = "metallb.io/loadBalancerIPs";
/// `metallb.io/allow-shared-ip`: the sharing key.
pub const ANNOTATION_ALLOW_SHARED_IP: &str = "metallb.io/allow-shared-ip";
/// `metallb.io/ip-allocated-from-pool`: written by the controller.
pub const ANNOTATION_IP_ALLOCATED_FROM_POOL: &str = "metallb.io/ip-allocated-from-pool";
/// Prefix of the deprecated twins of these annotations.
pub const DEPRECATED_ANNOTATION_PREFIX: &str = "metallb.universe.tf/";
const STABLE_PREFIX: &str = "metallb.io/";

/// Why a Service's request cannot be understood. The allocation (if any) is left alone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The Service has no name or namespace.
    #[error("the service has no name or namespace")]
    MissingName,
    /// Both the annotation and `spec.loadBalancerIP` are set.
    #[error("service can not have both {ANNOTATION_LOADBALANCER_IPS} and spec.loadBalancerIP")]
    BothIpFields,
    /// An address that does not parse.
    #[error("invalid {field}: {value:?} is not an IP address")]
    InvalidIp {
        /// Where it was written.
        field: &'static str,
        /// The text.
        value: String,
    },
    /// More than two addresses.
    #[error(
        "invalid {ANNOTATION_LOADBALANCER_IPS}: at most two addresses (one per family), got {0}"
    )]
    TooManyIps(usize),
    /// Two addresses of one family.
    #[error("invalid {ANNOTATION_LOADBALANCER_IPS}: {0} and {1} are of the same family")]
    SameFamily(IpAddr, IpAddr),
}

impl RequestError {
    /// Short stable label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            RequestError::MissingName => "missing_name",
            RequestError::BothIpFields => "both_ip_fields",
            RequestError::InvalidIp { .. } => "invalid_ip",
            RequestError::TooManyIps(_) => "too_many_ips",
            RequestError::SameFamily(..) => "same_family",
        }
    }
}

/// The value of `metallb.io/<name>`, else of `metallb.universe.tf/<name>` (MetalLB's
/// `valueForAnnotation`: the stable key wins whenever it is present, even empty).
pub(crate) fn annotation<'a>(svc: &'a Service, name: &str) -> Option<&'a str> {
    let annotations = svc.metadata.annotations.as_ref()?;
    annotations
        .get(&format!("{STABLE_PREFIX}{name}"))
        .or_else(|| annotations.get(&format!("{DEPRECATED_ANNOTATION_PREFIX}{name}")))
        .map(String::as_str)
}

fn parse_family_policy(s: Option<&str>) -> FamilyPolicy {
    match s {
        Some("PreferDualStack") => FamilyPolicy::PreferDualStack,
        Some("RequireDualStack") => FamilyPolicy::RequireDualStack,
        _ => FamilyPolicy::SingleStack,
    }
}

/// Families of the cluster IPs (`spec.clusterIPs`, else `spec.clusterIP`), else of
/// `spec.ipFamilies`; "None" and unparsable entries are skipped.
fn service_families(svc: &Service) -> Vec<Family> {
    let spec = svc.spec.as_ref();
    let mut from_ips: Vec<Family> = Vec::new();
    let cluster_ips: Vec<&String> = match spec.and_then(|s| s.cluster_ips.as_ref()) {
        Some(ips) if !ips.is_empty() => ips.iter().collect(),
        _ => spec
            .and_then(|s| s.cluster_ip.as_ref())
            .into_iter()
            .collect(),
    };
    for ip in cluster_ips {
        if let Ok(ip) = ip.parse::<IpAddr>() {
            let f = Family::of(ip);
            if !from_ips.contains(&f) {
                from_ips.push(f);
            }
        }
    }
    if !from_ips.is_empty() {
        return from_ips;
    }
    let mut from_families = Vec::new();
    for f in spec
        .and_then(|s| s.ip_families.as_ref())
        .into_iter()
        .flatten()
    {
        let f = match f.as_str() {
            "IPv4" => Family::V4,
            "IPv6" => Family::V6,
            _ => continue,
        };
        if !from_families.contains(&f) {
            from_families.push(f);
        }
    }
    from_families
}

/// The requested addresses: the annotation (comma-separated) or `spec.loadBalancerIP`.
fn requested_ips(svc: &Service) -> Result<Vec<IpAddr>, RequestError> {
    let from_annotation = annotation(svc, "loadBalancerIPs").filter(|s| !s.is_empty());
    let from_spec = svc
        .spec
        .as_ref()
        .and_then(|s| s.load_balancer_ip.as_deref())
        .filter(|s| !s.is_empty());
    let ips = match (from_annotation, from_spec) {
        (Some(_), Some(_)) => return Err(RequestError::BothIpFields),
        (None, None) => return Ok(Vec::new()),
        (Some(list), None) => list
            .split(',')
            .map(|s| {
                s.trim()
                    .parse::<IpAddr>()
                    .map_err(|_| RequestError::InvalidIp {
                        field: ANNOTATION_LOADBALANCER_IPS,
                        value: list.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?,
        (None, Some(one)) => {
            vec![
                one.trim()
                    .parse::<IpAddr>()
                    .map_err(|_| RequestError::InvalidIp {
                        field: "spec.loadBalancerIP",
                        value: one.to_string(),
                    })?,
            ]
        }
    };
    match ips.as_slice() {
        [a, b] if Family::of(*a) == Family::of(*b) => Err(RequestError::SameFamily(*a, *b)),
        list if list.len() > 2 => Err(RequestError::TooManyIps(list.len())),
        _ => Ok(ips),
    }
}

/// `labels.Set(selector).String()`: sorted `k=v` pairs joined by commas.
fn selector_string(svc: &Service) -> String {
    svc.spec
        .as_ref()
        .and_then(|s| s.selector.as_ref())
        .map(|sel| {
            sel.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

impl ServiceRequest {
    /// Extracts the allocator's view of a Service (MetalLB's `k8salloc` + the annotation reading
    /// of its service controller). `namespace_labels` are the labels of the Service's Namespace.
    pub fn from_service(svc: &Service, namespace_labels: &Labels) -> Result<Self, RequestError> {
        let namespace = svc
            .metadata
            .namespace
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or(RequestError::MissingName)?;
        let name = svc
            .metadata
            .name
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or(RequestError::MissingName)?;
        let spec = svc.spec.as_ref();
        let ports = spec
            .and_then(|s| s.ports.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|p| {
                Some(Port {
                    protocol: Protocol::parse(p.protocol.as_deref()),
                    port: u16::try_from(p.port).ok()?,
                })
            })
            .collect();
        let local = spec.and_then(|s| s.external_traffic_policy.as_deref()) == Some("Local");
        Ok(ServiceRequest {
            key: ServiceKey::new(namespace, name),
            labels: svc.metadata.labels.clone().unwrap_or_default(),
            namespace_labels: namespace_labels.clone(),
            families: service_families(svc),
            policy: parse_family_policy(spec.and_then(|s| s.ip_family_policy.as_deref())),
            requested_ips: requested_ips(svc)?,
            requested_pool: annotation(svc, "address-pool")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            sharing_key: annotation(svc, "allow-shared-ip")
                .unwrap_or_default()
                .to_string(),
            ports,
            backend_key: if local {
                selector_string(svc)
            } else {
                String::new()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    use k8s_openapi::api::core::v1::{ServicePort, ServiceSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn svc(annotations: &[(&str, &str)], spec: ServiceSpec) -> Service {
        Service {
            metadata: ObjectMeta {
                namespace: Some("default".into()),
                name: Some("web".into()),
                annotations: Some(
                    annotations
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
                ..Default::default()
            },
            spec: Some(spec),
            status: None,
        }
    }

    fn spec_v4() -> ServiceSpec {
        ServiceSpec {
            type_: Some("LoadBalancer".into()),
            cluster_ip: Some("10.96.0.10".into()),
            cluster_ips: Some(vec!["10.96.0.10".into()]),
            ports: Some(vec![
                ServicePort {
                    port: 80,
                    ..Default::default()
                },
                ServicePort {
                    port: 53,
                    protocol: Some("UDP".into()),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        }
    }

    #[test]
    fn reads_annotations_ports_and_families() {
        let mut spec = spec_v4();
        spec.cluster_ips = Some(vec!["fd00::10".into(), "10.96.0.10".into()]);
        spec.ip_family_policy = Some("PreferDualStack".into());
        spec.external_traffic_policy = Some("Local".into());
        spec.selector = Some(BTreeMap::from([
            ("b".to_string(), "2".to_string()),
            ("a".to_string(), "1".to_string()),
        ]));
        let s = svc(
            &[
                (ANNOTATION_ADDRESS_POOL, "blue"),
                (ANNOTATION_ALLOW_SHARED_IP, "k"),
                (ANNOTATION_LOADBALANCER_IPS, "192.0.2.1, 2001:db8::1"),
            ],
            spec,
        );
        let r = ServiceRequest::from_service(&s, &Labels::new()).unwrap();
        assert_eq!(r.key, ServiceKey::new("default", "web"));
        assert_eq!(r.families, vec![Family::V6, Family::V4]);
        assert_eq!(r.policy, FamilyPolicy::PreferDualStack);
        assert_eq!(r.requested_pool.as_deref(), Some("blue"));
        assert_eq!(r.sharing_key, "k");
        assert_eq!(r.backend_key, "a=1,b=2");
        assert_eq!(r.ports, vec![Port::tcp(80), Port::udp(53)]);
        assert_eq!(
            r.requested_ips,
            vec![
                "192.0.2.1".parse::<IpAddr>().unwrap(),
                "2001:db8::1".parse().unwrap()
            ]
        );
    }

    #[test]
    fn deprecated_annotations_are_read_and_stable_ones_win() {
        let s = svc(
            &[
                ("metallb.universe.tf/address-pool", "old"),
                ("metallb.universe.tf/allow-shared-ip", "old-key"),
                (ANNOTATION_ALLOW_SHARED_IP, "new-key"),
            ],
            spec_v4(),
        );
        let r = ServiceRequest::from_service(&s, &Labels::new()).unwrap();
        assert_eq!(r.requested_pool.as_deref(), Some("old"));
        assert_eq!(r.sharing_key, "new-key");
        assert_eq!(
            r.backend_key, "",
            "Cluster policy shares regardless of backends"
        );
    }

    #[test]
    fn refuses_bad_requests() {
        let mut spec = spec_v4();
        spec.load_balancer_ip = Some("192.0.2.9".into());
        let both = svc(&[(ANNOTATION_LOADBALANCER_IPS, "192.0.2.1")], spec.clone());
        assert_eq!(
            ServiceRequest::from_service(&both, &Labels::new()),
            Err(RequestError::BothIpFields)
        );
        let alone = svc(&[], spec);
        let r = ServiceRequest::from_service(&alone, &Labels::new()).unwrap();
        assert_eq!(
            r.requested_ips,
            vec!["192.0.2.9".parse::<IpAddr>().unwrap()]
        );
        for (value, label) in [
            ("192.0.2.1,192.0.2.2", "same_family"),
            ("192.0.2.1,2001:db8::1,192.0.2.3", "too_many_ips"),
            ("not-an-ip", "invalid_ip"),
        ] {
            let s = svc(&[(ANNOTATION_LOADBALANCER_IPS, value)], spec_v4());
            let err = ServiceRequest::from_service(&s, &Labels::new()).unwrap_err();
            assert_eq!(err.metric_label(), label, "{value}");
        }
        let mut nameless = svc(&[], spec_v4());
        nameless.metadata.name = None;
        assert_eq!(
            ServiceRequest::from_service(&nameless, &Labels::new()),
            Err(RequestError::MissingName)
        );
    }

    #[test]
    fn families_fall_back_to_ip_families() {
        let mut spec = spec_v4();
        spec.cluster_ip = None;
        spec.cluster_ips = None;
        spec.ip_families = Some(vec!["IPv6".into()]);
        let r = ServiceRequest::from_service(&svc(&[], spec), &Labels::new()).unwrap();
        assert_eq!(r.families, vec![Family::V6]);
        let mut spec = spec_v4();
        spec.cluster_ip = Some("None".into());
        spec.cluster_ips = Some(vec!["None".into()]);
        let r = ServiceRequest::from_service(&svc(&[], spec), &Labels::new()).unwrap();
        assert!(r.families.is_empty());
    }
}
