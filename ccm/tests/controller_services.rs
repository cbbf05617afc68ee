//! The service controller end to end: the real binary against the API emulator, with pools and
//! Services applied and status, annotation, finalizer, events and pool status asserted.

mod run_support;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use lodestone_apis::v1beta1::{ConfigurationState, IPAddressPool};
use run_support::{Ccm, Cluster, NS, TestResult, cluster, eventually};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);

pub async fn apply_pool(c: &Cluster, name: &str, addresses: &[&str]) -> TestResult {
    let api: Api<IPAddressPool> = Api::namespaced(c.client.clone(), NS);
    let pool: IPAddressPool = serde_json::from_value(json!({
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"addresses": addresses},
    }))?;
    match api.get_opt(name).await? {
        None => {
            api.create(&PostParams::default(), &pool).await?;
        }
        Some(_) => {
            let patch = json!({"spec": {"addresses": addresses}});
            api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
        }
    }
    Ok(())
}

pub async fn create_service(c: &Cluster, name: &str, class: Option<&str>) -> TestResult {
    let api: Api<Service> = Api::namespaced(c.client.clone(), "default");
    let mut spec = json!({
        "type": "LoadBalancer",
        "selector": {"app": name},
        "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
    });
    if let Some(class) = class {
        spec["loadBalancerClass"] = json!(class);
    }
    let svc: Service = serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }))?;
    api.create(&PostParams::default(), &svc).await?;
    Ok(())
}

pub async fn get_service(c: &Cluster, name: &str) -> TestResult<Option<Service>> {
    let api: Api<Service> = Api::namespaced(c.client.clone(), "default");
    Ok(api.get_opt(name).await?)
}

/// (ingress IPs, ipModes, pool annotation, has our finalizer)
pub fn served(svc: &Service) -> (Vec<String>, Vec<String>, Option<String>, bool) {
    let ingress = svc
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|l| l.ingress.clone())
        .unwrap_or_default();
    let ips = ingress.iter().filter_map(|i| i.ip.clone()).collect();
    let modes = ingress.iter().filter_map(|i| i.ip_mode.clone()).collect();
    let pool = svc
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("metallb.io/ip-allocated-from-pool"))
        .cloned();
    let fin = svc
        .metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == "service.kubernetes.io/load-balancer-cleanup");
    (ips, modes, pool, fin)
}

pub async fn wait_ip(c: &Cluster, name: &str) -> TestResult<String> {
    eventually(WAIT, &format!("{name} to get an address"), || async {
        let Some(svc) = get_service(c, name).await? else {
            return Ok(None);
        };
        Ok(served(&svc).0.first().cloned())
    })
    .await
}

/// Reasons of the events about Service `name`, in order.
pub async fn event_reasons(c: &Cluster, name: &str) -> TestResult<Vec<(String, String, String)>> {
    let api: Api<Event> = Api::namespaced(c.client.clone(), "default");
    let mut out: Vec<(String, String, String)> = api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .map(|e| {
            (
                e.reason.unwrap_or_default(),
                e.type_.unwrap_or_default(),
                e.note.unwrap_or_default(),
            )
        })
        .collect();
    out.sort();
    Ok(out)
}

pub async fn has_event(c: &Cluster, name: &str, reason: &str, note_has: &str) -> TestResult {
    eventually(WAIT, &format!("event {reason} on {name}"), || async {
        let evs = event_reasons(c, name).await?;
        Ok(evs
            .iter()
            .any(|(r, _, n)| r == reason && n.contains(note_has))
            .then_some(()))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_classes_exhausts_releases_and_follows_pool_changes() -> TestResult {
    let c = cluster(true).await?;
    apply_pool(&c, "pool-a", &["192.0.2.10-192.0.2.12"]).await?;
    let _ccm = Ccm::start(
        &c,
        "ccm-a",
        &["--lease-duration", "3", "--lb-class", "metallb.io/internal"],
    )?;

    create_service(&c, "web-1", None).await?;
    create_service(&c, "web-2", Some("metallb.io/internal")).await?;
    create_service(&c, "other", Some("example.com/other-lb")).await?;

    assert_eq!(wait_ip(&c, "web-1").await?, "192.0.2.10");
    assert_eq!(wait_ip(&c, "web-2").await?, "192.0.2.11");
    let svc = get_service(&c, "web-1").await?.ok_or("web-1 missing")?;
    let (ips, modes, pool, fin) = served(&svc);
    assert_eq!(ips, ["192.0.2.10"]);
    assert_eq!(modes, ["VIP"]);
    assert_eq!(pool.as_deref(), Some("pool-a"));
    assert!(fin, "finalizer missing on a served Service");
    has_event(&c, "web-1", "IPAllocated", "192.0.2.10").await?;
    has_event(&c, "web-1", "EnsuringLoadBalancer", "").await?;
    has_event(&c, "web-1", "EnsuredLoadBalancer", "").await?;

    // Another class is none of our business, not even a finalizer.
    let other = get_service(&c, "other").await?.ok_or("other missing")?;
    assert_eq!(served(&other), (vec![], vec![], None, false));
    assert!(event_reasons(&c, "other").await?.is_empty());

    // Exhaust the pool: the fourth Service stays pending and says why.
    create_service(&c, "web-3", None).await?;
    assert_eq!(wait_ip(&c, "web-3").await?, "192.0.2.12");
    create_service(&c, "web-4", None).await?;
    has_event(&c, "web-4", "AllocationFailed", "").await?;
    let (reason, type_) = event_reasons(&c, "web-4")
        .await?
        .into_iter()
        .find(|(r, _, _)| r == "AllocationFailed")
        .map(|(r, t, _)| (r, t))
        .ok_or("no AllocationFailed")?;
    assert_eq!(
        (reason.as_str(), type_.as_str()),
        ("AllocationFailed", "Warning")
    );
    let w4 = get_service(&c, "web-4").await?.ok_or("web-4 missing")?;
    assert!(
        served(&w4).0.is_empty(),
        "an exhausted pool gave an address"
    );
    assert!(served(&w4).3, "a pending Service keeps the finalizer");

    // Pool status and ConfigurationState.
    eventually(WAIT, "pool status", || async {
        let api: Api<IPAddressPool> = Api::namespaced(c.client.clone(), NS);
        let p = api.get("pool-a").await?;
        Ok(p.status
            .filter(|s| s.assigned_ipv4 == 3 && s.available_ipv4 == 0)
            .map(|_| ()))
    })
    .await?;
    let cs_api: Api<ConfigurationState> = Api::namespaced(c.client.clone(), NS);
    let cs = eventually(WAIT, "ConfigurationState", || async {
        Ok(cs_api.get_opt("controller").await?.and_then(|c| c.status))
    })
    .await?;
    assert_eq!(
        serde_json::to_value(&cs)?["result"],
        json!("Valid"),
        "{cs:?}"
    );

    // Deleting a served Service releases its address (finalizer removed, object gone) and the
    // pending one gets it.
    let api: Api<Service> = Api::namespaced(c.client.clone(), "default");
    api.delete("web-1", &DeleteParams::default()).await?;
    eventually(WAIT, "web-1 to be gone", || async {
        Ok(get_service(&c, "web-1").await?.is_none().then_some(()))
    })
    .await?;
    assert_eq!(wait_ip(&c, "web-4").await?, "192.0.2.10");

    // Type change to ClusterIP releases: status, annotation and finalizer go.
    // (nodePorts must go with the type, as the real API server insists.)
    let patch = json!({"spec": {
        "type": "ClusterIP",
        "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
    }});
    api.patch("web-3", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    eventually(WAIT, "web-3 released", || async {
        let s = get_service(&c, "web-3").await?.ok_or("web-3 missing")?;
        Ok((served(&s) == (vec![], vec![], None, false)).then_some(()))
    })
    .await?;

    // Shrink the pool: web-4 (192.0.2.10) falls outside and moves to the free .12.
    apply_pool(&c, "pool-a", &["192.0.2.11-192.0.2.12"]).await?;
    eventually(WAIT, "web-4 re-served", || async {
        let s = get_service(&c, "web-4").await?.ok_or("web-4 missing")?;
        Ok((served(&s).0 == ["192.0.2.12"]).then_some(()))
    })
    .await?;
    assert_eq!(wait_ip(&c, "web-2").await?, "192.0.2.11");

    // Delete the pool: every Service is cleared and waits, with the finalizer kept.
    let pools: Api<IPAddressPool> = Api::namespaced(c.client.clone(), NS);
    pools.delete("pool-a", &DeleteParams::default()).await?;
    for name in ["web-2", "web-4"] {
        eventually(WAIT, &format!("{name} cleared"), || async {
            let s = get_service(&c, name).await?.ok_or("missing")?;
            let (ips, _, pool, fin) = served(&s);
            Ok((ips.is_empty() && pool.is_none() && fin).then_some(()))
        })
        .await?;
    }
    let reasons: BTreeMap<String, usize> =
        event_reasons(&c, "web-4")
            .await?
            .into_iter()
            .fold(BTreeMap::new(), |mut m, (r, _, _)| {
                *m.entry(r).or_default() += 1;
                m
            });
    assert!(reasons.contains_key("ClearAssignment") || reasons.contains_key("AllocationFailed"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deprecated_annotations_are_honoured_with_a_warning() -> TestResult {
    let c = cluster(true).await?;
    apply_pool(&c, "legacy-pool", &["198.51.100.0/28"]).await?;
    let _ccm = Ccm::start(&c, "ccm-a", &["--lease-duration", "3"])?;
    let api: Api<Service> = Api::namespaced(c.client.clone(), "default");
    let svc: Service = serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "legacy",
            "namespace": "default",
            "annotations": {"metallb.universe.tf/loadBalancerIPs": "198.51.100.7"},
        },
        "spec": {
            "type": "LoadBalancer",
            "ports": [{"port": 443, "protocol": "TCP"}],
        },
    }))?;
    api.create(&PostParams::default(), &svc).await?;
    assert_eq!(wait_ip(&c, "legacy").await?, "198.51.100.7");
    has_event(
        &c,
        "legacy",
        "DeprecatedAnnotation",
        "metallb.universe.tf/loadBalancerIPs",
    )
    .await?;
    let (_, type_, _) = event_reasons(&c, "legacy")
        .await?
        .into_iter()
        .find(|(r, _, _)| r == "DeprecatedAnnotation")
        .ok_or("no DeprecatedAnnotation event")?;
    assert_eq!(type_, "Warning");
    Ok(())
}
