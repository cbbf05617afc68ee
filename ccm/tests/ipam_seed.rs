//! The seed guide's internal pool and Services, from Kubernetes objects through
//! `ServiceRequest::from_service` to the allocator: MetalLB's semantics win where the guide
//! disagrees (its database Services ask for `internal-pool` without the label the pool's
//! serviceSelectors require).

mod ipam_common;

use std::collections::BTreeMap;

use ipam_common::*;
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use lodestone_ccm::ipam::{Allocator, Labels, ServiceRequest};

fn service(
    name: &str,
    annotations: &[(&str, &str)],
    labels: &[(&str, &str)],
    local: bool,
    ports: &[i32],
) -> Service {
    let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    Service {
        metadata: ObjectMeta {
            namespace: Some("default".into()),
            name: Some(name.into()),
            annotations: Some(map(annotations)),
            labels: Some(map(labels)),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            type_: Some("LoadBalancer".into()),
            cluster_ips: Some(vec!["10.96.0.20".into()]),
            external_traffic_policy: Some(if local { "Local" } else { "Cluster" }.into()),
            selector: Some(map(&[("app", name)])),
            ports: Some(
                ports
                    .iter()
                    .map(|p| ServicePort {
                        port: *p,
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }),
        status: None,
    }
}

#[test]
fn seed_internal_pool_follows_metallb_semantics() {
    let internal = pool("internal-pool", &["10.0.3.100-10.0.3.130"]).allocation(sa(
        100,
        &["default", "applications"],
        vec![],
        vec![selector(&[("metallb.io/class", "internal")])],
    ));
    let mut a = Allocator::with_config(&config(vec![internal])).unwrap();
    let req = |svc: &Service| ServiceRequest::from_service(svc, &Labels::new()).unwrap();

    let gateway = service(
        "api-gateway-lb",
        &[
            ("metallb.io/address-pool", "internal-pool"),
            ("metallb.io/allow-shared-ip", "api-services"),
        ],
        &[("metallb.io/class", "internal")],
        false,
        &[8080, 9090],
    );
    let out = a.assign(&req(&gateway));
    let got = out.result.unwrap();
    assert_eq!(got.allocation.ips, vec![ip("10.0.3.100")]);
    assert_eq!(got.allocation.pool, "internal-pool");

    // A second API Service with the same key and other ports shares the address.
    let grpc = service(
        "api-grpc-lb",
        &[
            ("metallb.io/address-pool", "internal-pool"),
            ("metallb.io/allow-shared-ip", "api-services"),
        ],
        &[("metallb.io/class", "internal")],
        false,
        &[50051],
    );
    let got = a.assign(&req(&grpc)).result.unwrap();
    assert_eq!(got.allocation.ips, vec![ip("10.0.3.100")]);

    // The guide's database Services lack the label: refused, with a reason a user can act on.
    for (name, addr) in [
        ("postgresql-primary-lb", "10.0.3.110"),
        ("postgresql-readonly-lb", "10.0.3.111"),
    ] {
        let db = service(
            name,
            &[
                ("metallb.io/address-pool", "internal-pool"),
                ("metallb.io/loadBalancerIPs", addr),
            ],
            &[],
            name.contains("primary"),
            &[5432],
        );
        let err = a.assign(&req(&db)).result.unwrap_err();
        assert_eq!(err.metric_label(), "pool_not_allowed", "{name}");
        let msg = err.to_string();
        assert!(
            msg.contains(addr) && msg.contains("metallb.io/class"),
            "{name}: {msg}"
        );
    }
    // With the label the same request is served.
    let db = service(
        "postgresql-primary-lb",
        &[
            ("metallb.io/address-pool", "internal-pool"),
            ("metallb.io/loadBalancerIPs", "10.0.3.110"),
        ],
        &[("metallb.io/class", "internal")],
        true,
        &[5432],
    );
    let got = a.assign(&req(&db)).result.unwrap();
    assert_eq!(got.allocation.ips, vec![ip("10.0.3.110")]);
    let c = a.counters("internal-pool").unwrap();
    assert_eq!((c.in_use_v4, c.total_v4), (2, 31));
    a.check_invariants().unwrap();
}
