//! Two replicas of the real binary: exactly one writes; killing the leader moves leadership
//! within the lease duration and no Service changes address; a restart with 1,000 served
//! Services writes nothing and changes nothing.

mod run_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, PostParams};
use lodestone_apis::v1beta1::IPAddressPool;
use run_support::{
    Ccm, Cluster, NS, TestResult, cluster, cluster_dual_stack, eventually, eventually_every,
    free_port, http_get, lease_holder, metric,
};
use serde_json::json;

const LEASE_SECS: u64 = 3;
const SENT: &str = "lodestone_ccm_api_writes_total{kind=\"service\",result=\"sent\"}";
const RECONCILES: &str = "lodestone_ccm_reconciles_total{kind=\"service\"}";

async fn pool(c: &Cluster, addresses: &[&str]) -> TestResult {
    let api: Api<IPAddressPool> = Api::namespaced(c.client.clone(), NS);
    let pool: IPAddressPool = serde_json::from_value(json!({
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": "pool", "namespace": NS},
        "spec": {"addresses": addresses},
    }))?;
    api.create(&PostParams::default(), &pool).await?;
    Ok(())
}

async fn create_services(c: &Cluster, names: Vec<String>, ipv6: bool) -> TestResult {
    let api: Api<Service> = Api::namespaced(c.client.clone(), "default");
    futures::stream::iter(names)
        .map(|name| {
            let api = api.clone();
            async move {
                let mut svc = json!({
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": name, "namespace": "default"},
                    "spec": {
                        "type": "LoadBalancer",
                        "selector": {"app": name},
                        "ports": [{"port": 80, "protocol": "TCP"}],
                    },
                });
                if ipv6 {
                    svc["spec"]["ipFamilies"] = json!(["IPv6"]);
                    svc["spec"]["ipFamilyPolicy"] = json!("SingleStack");
                }
                let svc: Service = serde_json::from_value(svc)?;
                api.create(&PostParams::default(), &svc).await?;
                TestResult::Ok(())
            }
        })
        .buffer_unordered(8)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// name → (first ingress IP, resourceVersion) of every Service in `default`.
async fn addresses(c: &Cluster) -> TestResult<BTreeMap<String, (Option<String>, String)>> {
    let api: Api<Service> = Api::namespaced(c.client.clone(), "default");
    Ok(api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|s| s.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("LoadBalancer"))
        .map(|s| {
            let ip = s
                .status
                .as_ref()
                .and_then(|st| st.load_balancer.as_ref())
                .and_then(|lb| lb.ingress.as_ref())
                .and_then(|i| i.first())
                .and_then(|i| i.ip.clone());
            (
                s.metadata.name.unwrap_or_default(),
                (ip, s.metadata.resource_version.unwrap_or_default()),
            )
        })
        .collect())
}

async fn all_served(c: &Cluster, n: usize) -> TestResult<BTreeMap<String, String>> {
    // Listing every Service is not free: look twice a second, not 20 times.
    eventually_every(
        Duration::from_millis(500),
        Duration::from_secs(120),
        &format!("{n} Services served"),
        || async {
            let a = addresses(c).await?;
            let served: BTreeMap<String, String> = a
                .into_iter()
                .filter_map(|(k, (ip, _))| ip.map(|ip| (k, ip)))
                .collect();
            Ok((served.len() == n).then_some(served))
        },
    )
    .await
}

fn pod_of(holder: &str) -> String {
    holder
        .rsplit_once('_')
        .map(|(p, _)| p.to_string())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_writer_and_failover_keeps_every_address() -> TestResult {
    let c = cluster(true).await?;
    pool(&c, &["198.51.100.0/24"]).await?;
    let secs = LEASE_SECS.to_string();
    let (pa, pb) = (free_port()?, free_port()?);
    let (aa, ab) = (format!("127.0.0.1:{pa}"), format!("127.0.0.1:{pb}"));
    let mut a = Ccm::start(
        &c,
        "ccm-a",
        &["--lease-duration", &secs, "--metrics-addr", &aa],
    )?;
    let mut b = Ccm::start(
        &c,
        "ccm-b",
        &["--lease-duration", &secs, "--metrics-addr", &ab],
    )?;

    create_services(&c, (0..20).map(|i| format!("svc-{i:02}")).collect(), false).await?;
    let before = all_served(&c, 20).await?;
    let unique: BTreeSet<&String> = before.values().collect();
    assert_eq!(unique.len(), 20, "addresses must be distinct: {before:?}");

    // Exactly one writer: the Lease holder sent every write and every event.
    let leader = lease_holder(&c.client).await?;
    let leader_pod = pod_of(&leader);
    let (leader_port, follower_port) = if leader_pod == "ccm-a" {
        (pa, pb)
    } else {
        (pb, pa)
    };
    for port in [pa, pb] {
        let (code, _) = eventually(Duration::from_secs(20), "/readyz", || async {
            let r = http_get(port, "/readyz")?;
            Ok((r.0 == 200).then_some(r))
        })
        .await?;
        assert_eq!(code, 200);
        assert_eq!(http_get(port, "/healthz")?.0, 200);
    }
    assert!(
        metric(leader_port, SENT)? >= 40.0,
        "leader sent too few writes"
    );
    assert_eq!(metric(follower_port, SENT)?, 0.0, "the follower wrote");
    assert_eq!(
        metric(
            leader_port,
            "metallb_allocator_addresses_in_use_total{pool=\"pool\"}"
        )?,
        20.0
    );
    assert_eq!(
        metric(follower_port, "lodestone_ccm_leader")?,
        0.0,
        "follower claims to lead"
    );
    let events: Api<Event> = Api::namespaced(c.client.clone(), "default");
    let reporters: BTreeSet<String> = events
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter_map(|e| e.reporting_instance)
        .collect();
    assert_eq!(
        reporters,
        BTreeSet::from([leader.clone()]),
        "events from a non-leader"
    );

    // Kill the leader: the follower leads within the lease duration and moves nothing.
    let killed = Instant::now();
    if leader_pod == "ccm-a" {
        a.kill();
    } else {
        b.kill();
    }
    let new_leader = eventually(
        Duration::from_secs(LEASE_SECS * 4),
        "a new leader",
        || async {
            let h = lease_holder(&c.client).await?;
            Ok((!h.is_empty() && h != leader).then_some(h))
        },
    )
    .await?;
    let failover = killed.elapsed();
    eprintln!("failover with 20 Services: {failover:?}");
    assert!(failover <= Duration::from_secs(LEASE_SECS) + Duration::from_millis(1500));
    // The new leader reconciles everything (rebuild from status first), writing nothing.
    eventually(
        Duration::from_secs(30),
        "the new leader's reconciles",
        || async { Ok((metric(follower_port, RECONCILES)? >= 20.0).then_some(())) },
    )
    .await?;
    assert_eq!(
        metric(follower_port, SENT)?,
        0.0,
        "the new leader rewrote served Services"
    );
    let after = all_served(&c, 20).await?;
    assert_eq!(before, after, "an address moved on failover");

    // A new Service gets a fresh address: the rebuild happened before any allocation.
    create_services(&c, vec!["svc-new".to_string()], false).await?;
    let with_new = all_served(&c, 21).await?;
    let new_ip = with_new.get("svc-new").ok_or("svc-new unserved")?;
    assert!(!unique.contains(new_ip), "{new_ip} handed out twice");
    assert_ne!(pod_of(&new_leader), leader_pod);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_with_1000_services_changes_nothing() -> TestResult {
    const N: usize = 1000;
    // 1,000 addresses do not fit the IPv4 documentation ranges: IPv6 Services, 2001:db8::/118.
    let c = cluster_dual_stack(true).await?;
    pool(&c, &["2001:db8:1::/118"]).await?;
    let secs = LEASE_SECS.to_string();
    let pa = free_port()?;
    let aa = format!("127.0.0.1:{pa}");
    let mut a = Ccm::start(
        &c,
        "ccm-a",
        &["--lease-duration", &secs, "--metrics-addr", &aa],
    )?;
    let started = Instant::now();
    create_services(&c, (0..N).map(|i| format!("svc-{i:04}")).collect(), true).await?;
    eprintln!("{N} Services created in {:?}", started.elapsed());
    let before = all_served(&c, N).await?;
    eprintln!("{N} Services created and served in {:?}", started.elapsed());
    eprintln!(
        "leader: {} reconciles, {:.3} s reconciling, {} service writes, {} events",
        metric(pa, RECONCILES)?,
        metric(pa, "lodestone_ccm_reconcile_duration_seconds_sum")?,
        metric(pa, SENT)?,
        metric(
            pa,
            "lodestone_ccm_api_writes_total{kind=\"event\",result=\"sent\"}"
        )?,
    );
    let versions: BTreeMap<String, String> = addresses(&c)
        .await?
        .into_iter()
        .map(|(k, (_, rv))| (k, rv))
        .collect();

    if let Ok(st) = std::fs::read_to_string(format!("/proc/{}/status", a.pid())) {
        let rss = st
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .unwrap_or("VmRSS: ?");
        eprintln!("leader resident memory with {N} Services: {rss}");
    }
    let status = a.terminate(Duration::from_secs(10))?;
    assert!(status.success(), "SIGTERM exit {status:?}");
    let pb = free_port()?;
    let ab = format!("127.0.0.1:{pb}");
    let restarted = Instant::now();
    let _b = Ccm::start(
        &c,
        "ccm-b",
        &["--lease-duration", &secs, "--metrics-addr", &ab],
    )?;
    eventually(
        Duration::from_secs(60),
        "the restarted CCM to reconcile all",
        || async { Ok((metric(pb, RECONCILES).unwrap_or(0.0) >= N as f64).then_some(())) },
    )
    .await?;
    eprintln!(
        "restart: leading and {N} reconciles done in {:?}",
        restarted.elapsed()
    );
    assert_eq!(
        metric(pb, SENT)?,
        0.0,
        "the restarted CCM wrote to served Services"
    );
    let after_versions: BTreeMap<String, String> = addresses(&c)
        .await?
        .into_iter()
        .map(|(k, (_, rv))| (k, rv))
        .collect();
    assert_eq!(
        versions, after_versions,
        "a Service was modified by the restart"
    );
    let after = all_served(&c, N).await?;
    assert_eq!(before, after, "an address changed across the restart");
    Ok(())
}
