//! Pure planning for one Service: is it ours, what should it look like, which writes get it there.
//!
//! ```text
//!   Service + ClassFilter ──► Served | Ignored | Releasing
//!   Outcome (from the allocator) ──► Desired { finalizer, ingress, pool annotation }
//!   Service + Desired ──► [AddFinalizer, Status, Annotation, RemoveFinalizer] (only what differs)
//! ```

use std::net::IpAddr;

use k8s_openapi::api::core::v1::{LoadBalancerIngress, Service};

/// Finalizer that keeps a Service until its address is released (the upstream one).
pub const FINALIZER: &str = "service.kubernetes.io/load-balancer-cleanup";
/// Annotation naming the pool an address came from.
pub const POOL_ANNOTATION: &str = "metallb.io/ip-allocated-from-pool";

/// Which Services this CCM serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassFilter {
    /// Serve Services without `spec.loadBalancerClass`.
    pub serve_default: bool,
    /// Serve these classes as well.
    pub classes: Vec<String>,
}

impl ClassFilter {
    /// Whether the class of `svc` is one we serve (whatever its type).
    pub fn serves_class(&self, svc: &Service) -> bool {
        match svc
            .spec
            .as_ref()
            .and_then(|s| s.load_balancer_class.as_deref())
        {
            None => self.serve_default,
            Some(class) => self.classes.iter().any(|c| c == class),
        }
    }
}

/// What the controller does with a Service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// A LoadBalancer Service of one of our classes, not being deleted: allocate and publish.
    Serve,
    /// Ours once (finalizer or published address) but no longer: release and clean up.
    Release,
    /// Not ours: leave it alone.
    Ignore,
}

pub fn is_load_balancer(svc: &Service) -> bool {
    svc.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("LoadBalancer")
}

pub fn has_finalizer(svc: &Service) -> bool {
    svc.metadata
        .finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|x| x == FINALIZER))
}

pub fn pool_annotation(svc: &Service) -> Option<&str> {
    svc.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(POOL_ANNOTATION))
        .map(String::as_str)
}

/// Decides what to do with `svc`.
pub fn disposition(svc: &Service, filter: &ClassFilter) -> Disposition {
    let deleting = svc.metadata.deletion_timestamp.is_some();
    let ours = filter.serves_class(svc);
    if ours && is_load_balancer(svc) && !deleting {
        return Disposition::Serve;
    }
    // The upstream service controller owns the finalizer for every class; we remove it only for
    // Services of our classes, or when we wrote the pool annotation (class changed away).
    if has_finalizer(svc) && (ours || pool_annotation(svc).is_some()) {
        return Disposition::Release;
    }
    if ours && pool_annotation(svc).is_some() {
        return Disposition::Release;
    }
    Disposition::Ignore
}

/// The addresses a Service's status publishes (unparseable entries are skipped).
pub fn published_ips(svc: &Service) -> Vec<IpAddr> {
    svc.status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .map(|ingress| {
            ingress
                .iter()
                .filter_map(|i| i.ip.as_deref())
                .filter_map(|ip| ip.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The ingress list we publish for `ips`: one entry per address (the allocator gives at most
/// one per family), IPv4 first, `ipMode: VIP`.
pub fn ingress_for(ips: &[IpAddr]) -> Vec<LoadBalancerIngress> {
    let mut ips = ips.to_vec();
    ips.sort_by_key(|ip| (ip.is_ipv6(), *ip));
    ips.dedup();
    ips.into_iter()
        .map(|ip| LoadBalancerIngress {
            ip: Some(ip.to_string()),
            ip_mode: Some("VIP".to_string()),
            ..LoadBalancerIngress::default()
        })
        .collect()
}

/// The ingress list as the Service has it now (empty when absent).
pub fn current_ingress(svc: &Service) -> Vec<LoadBalancerIngress> {
    svc.status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.clone())
        .unwrap_or_default()
}

/// What the Service should look like after this reconcile.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    pub finalizer: bool,
    pub ingress: Vec<LoadBalancerIngress>,
    pub pool: Option<String>,
}

impl Desired {
    /// Served with `ips` from `pool`.
    pub fn served(ips: &[IpAddr], pool: &str) -> Self {
        Desired {
            finalizer: true,
            ingress: ingress_for(ips),
            pool: Some(pool.to_string()),
        }
    }

    /// Ours but without an address (pending): keep the finalizer, publish nothing.
    pub fn pending() -> Self {
        Desired {
            finalizer: true,
            ingress: Vec::new(),
            pool: None,
        }
    }

    /// No longer ours: nothing of ours left on it.
    pub fn released() -> Self {
        Desired {
            finalizer: false,
            ingress: Vec::new(),
            pool: None,
        }
    }
}

/// One API write, in the order they must be sent.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    /// The finalizer and the pool annotation, in one metadata patch.
    Metadata {
        finalizer: bool,
        pool: Option<String>,
    },
    /// `status.loadBalancer.ingress` through the status subresource.
    Status(Vec<LoadBalancerIngress>),
}

/// The writes that take `svc` to `desired`: the finalizer is added before anything is published
/// and removed only after the status is cleared.
pub fn writes(svc: &Service, desired: &Desired) -> Vec<Write> {
    let metadata = (has_finalizer(svc) != desired.finalizer
        || pool_annotation(svc) != desired.pool.as_deref())
    .then(|| Write::Metadata {
        finalizer: desired.finalizer,
        pool: desired.pool.clone(),
    });
    let status =
        (current_ingress(svc) != desired.ingress).then(|| Write::Status(desired.ingress.clone()));
    if desired.finalizer {
        metadata.into_iter().chain(status).collect()
    } else {
        status.into_iter().chain(metadata).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{LoadBalancerStatus, ServiceSpec, ServiceStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::Timestamp;

    fn svc(type_: &str, class: Option<&str>) -> Service {
        let mut s = Service::default();
        s.metadata.name = Some("web".into());
        s.metadata.namespace = Some("default".into());
        s.spec = Some(ServiceSpec {
            type_: Some(type_.into()),
            load_balancer_class: class.map(str::to_string),
            ..ServiceSpec::default()
        });
        s
    }

    fn with_finalizer(mut s: Service) -> Service {
        s.metadata.finalizers = Some(vec![FINALIZER.into()]);
        s
    }

    fn with_pool(mut s: Service, pool: &str) -> Service {
        s.metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(POOL_ANNOTATION.into(), pool.into());
        s
    }

    fn deleting(mut s: Service) -> Service {
        s.metadata.deletion_timestamp = Some(Time(Timestamp::UNIX_EPOCH));
        s
    }

    fn with_ips(mut s: Service, ips: &[&str]) -> Service {
        s.status = Some(ServiceStatus {
            load_balancer: Some(LoadBalancerStatus {
                ingress: Some(
                    ips.iter()
                        .map(|ip| LoadBalancerIngress {
                            ip: Some(ip.to_string()),
                            ip_mode: Some("VIP".into()),
                            ..LoadBalancerIngress::default()
                        })
                        .collect(),
                ),
            }),
            ..ServiceStatus::default()
        });
        s
    }

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().filter_map(|s| s.parse().ok()).collect()
    }

    #[test]
    fn class_filter_table() {
        let seed = ClassFilter {
            serve_default: true,
            classes: vec!["metallb.io/internal".into(), "metallb.io/external".into()],
        };
        let no_default = ClassFilter {
            serve_default: false,
            classes: vec!["metallb.io/internal".into()],
        };
        use Disposition::*;
        #[rustfmt::skip]
        let rows: Vec<(&str, &ClassFilter, Service, Disposition)> = vec![
            ("default class served",               &seed,       svc("LoadBalancer", None), Serve),
            ("listed class served",                &seed,       svc("LoadBalancer", Some("metallb.io/external")), Serve),
            ("other class ignored",                &seed,       svc("LoadBalancer", Some("other.io/lb")), Ignore),
            ("ClusterIP ignored",                  &seed,       svc("ClusterIP", None), Ignore),
            ("NodePort ignored",                   &seed,       svc("NodePort", None), Ignore),
            ("default off: no class ignored",      &no_default, svc("LoadBalancer", None), Ignore),
            ("default off: listed class served",   &no_default, svc("LoadBalancer", Some("metallb.io/internal")), Serve),
            ("default off: unlisted ignored",      &no_default, svc("LoadBalancer", Some("metallb.io/external")), Ignore),
            ("type changed, finalizer → release",  &seed,       with_finalizer(svc("ClusterIP", None)), Release),
            ("type changed, annotation → release", &seed,       with_pool(svc("ClusterIP", None), "p"), Release),
            ("deleting ours → release",            &seed,       deleting(with_finalizer(svc("LoadBalancer", None))), Release),
            ("deleting, never ours → ignore",      &seed,       deleting(svc("LoadBalancer", None)), Ignore),
            ("other class with upstream finalizer", &seed,      with_finalizer(svc("LoadBalancer", Some("x.io/y"))), Ignore),
            ("class moved away after we served",   &seed,       with_pool(with_finalizer(svc("LoadBalancer", Some("x.io/y"))), "p"), Release),
        ];
        for (name, filter, s, want) in rows {
            assert_eq!(disposition(&s, filter), want, "{name}");
        }
    }

    #[test]
    fn ingress_is_one_entry_per_family_ipv4_first() {
        let got = ingress_for(&ips(&["2001:db8::5", "192.0.2.7"]));
        let got: Vec<_> = got
            .iter()
            .map(|i| {
                (
                    i.ip.clone().unwrap_or_default(),
                    i.ip_mode.clone().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("192.0.2.7".to_string(), "VIP".to_string()),
                ("2001:db8::5".to_string(), "VIP".to_string())
            ]
        );
        assert!(ingress_for(&[]).is_empty());
    }

    #[test]
    fn published_ips_skip_garbage() {
        let s = with_ips(
            svc("LoadBalancer", None),
            &["192.0.2.1", "not-an-ip", "2001:db8::1"],
        );
        assert_eq!(published_ips(&s), ips(&["192.0.2.1", "2001:db8::1"]));
        assert!(published_ips(&svc("LoadBalancer", None)).is_empty());
    }

    fn meta(finalizer: bool, pool: Option<&str>) -> Write {
        Write::Metadata {
            finalizer,
            pool: pool.map(str::to_string),
        }
    }

    #[test]
    fn writes_table() {
        let served = Desired::served(&ips(&["192.0.2.1"]), "pool-a");
        let fresh = svc("LoadBalancer", None);
        let done = with_pool(
            with_finalizer(with_ips(fresh.clone(), &["192.0.2.1"])),
            "pool-a",
        );
        let moved = with_pool(
            with_finalizer(with_ips(fresh.clone(), &["192.0.2.9"])),
            "pool-a",
        );
        let other_pool = with_pool(
            with_finalizer(with_ips(fresh.clone(), &["192.0.2.1"])),
            "pool-b",
        );
        let ingress = served.ingress.clone();
        #[rustfmt::skip]
        let rows: Vec<(&str, Service, Desired, Vec<Write>)> = vec![
            ("new service: finalizer and annotation first, then status",
                fresh.clone(), served.clone(),
                vec![meta(true, Some("pool-a")), Write::Status(ingress.clone())]),
            ("already served: nothing", done.clone(), served.clone(), vec![]),
            ("address moved: status only", moved, served.clone(), vec![Write::Status(ingress.clone())]),
            ("pool renamed: annotation only", other_pool, served.clone(), vec![meta(true, Some("pool-a"))]),
            ("pending new: finalizer only", fresh.clone(), Desired::pending(), vec![meta(true, None)]),
            ("served → pending: drop the annotation, keep the finalizer, clear status",
                done.clone(), Desired::pending(),
                vec![meta(true, None), Write::Status(vec![])]),
            ("release: clear status first, then finalizer and annotation",
                done, Desired::released(),
                vec![Write::Status(vec![]), meta(false, None)]),
            ("release with only the finalizer left",
                with_finalizer(svc("ClusterIP", None)), Desired::released(),
                vec![meta(false, None)]),
            ("release of a clean service: nothing", fresh, Desired::released(), vec![]),
        ];
        for (name, s, d, want) in rows {
            assert_eq!(writes(&s, &d), want, "{name}");
        }
    }
}
