//! Controller test: the real `lodestone-speaker` binary against the API emulator.
//!
//! A BGP peer on loopback (a plain TCP listener of the test: we only check that the speaker
//! dials it and speaks BGP), an L2Advertisement restricted to an interface that does not exist
//! (so the responder never sends a frame on this machine's interfaces, and MetalLB's
//! `announceFailed` rule applies), one LoadBalancer Service with a serving endpoint.
//! Asserts: ServiceBGPStatus written and removed with the Service; the node's L2 Lease held and
//! released on SIGTERM; `announceFailed` event; metrics and readiness.

use std::io::Read;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use lodestone_apis::v1beta1::ServiceBGPStatus;
use lodestone_test::{Emulator, Options};
use serde_json::json;

const NS: &str = "lodestone-system";

struct Speaker(Child);
impl Drop for Speaker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn create<K>(api: &Api<K>, v: serde_json::Value)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let obj: K = serde_json::from_value(v).unwrap_or_else(|e| panic!("fixture: {e}"));
    if let Err(e) = api.create(&PostParams::default(), &obj).await {
        panic!("creating fixture: {e}");
    }
}

async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    // Only stops a hung test; the assertions are about behaviour, not speed.
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("timed out waiting for: {what}");
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speaker_against_emulator() {
    let emu = Emulator::start(Options::default())
        .await
        .unwrap_or_else(|e| panic!("emulator: {e}"));
    let client = emu.client().await.unwrap_or_else(|e| panic!("client: {e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let kubeconfig = dir.path().join("kubeconfig");
    emu.write_kubeconfig(&kubeconfig)
        .unwrap_or_else(|e| panic!("kubeconfig: {e}"));

    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in lodestone_apis::crdgen::crds().unwrap_or_else(|e| panic!("crds: {e}")) {
        if let Err(e) = crds.create(&PostParams::default(), &crd).await {
            panic!("installing CRD: {e}");
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for ns in [NS, "default"] {
        let _ = namespaces
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap_or_default(),
            )
            .await;
    }

    // A "router" on loopback: it only has to accept the speaker's connection.
    // BGPPeer.spec.peerPort is at most 16384.
    let start = 10_000 + (std::process::id() % 5_000) as u16;
    let router = (start..16_384)
        .find_map(|p| TcpListener::bind(("127.0.0.1", p)).ok())
        .unwrap_or_else(|| panic!("no free port below 16384"));
    let router_port = router.local_addr().map(|a| a.port()).unwrap_or(0);
    router
        .set_nonblocking(true)
        .unwrap_or_else(|e| panic!("nonblocking: {e}"));

    create(
        &Api::<Node>::all(client.clone()),
        json!({
            "metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1"}},
            "status": {"addresses": [{"type": "InternalIP", "address": "192.0.2.201"}]}
        }),
    )
    .await;
    let dynamic = |kind: &str, plural: &str, version: &str| {
        let ar = kube::api::ApiResource {
            group: "metallb.io".into(),
            version: version.into(),
            api_version: format!("metallb.io/{version}"),
            kind: kind.into(),
            plural: plural.into(),
        };
        Api::<kube::api::DynamicObject>::namespaced_with(client.clone(), NS, &ar)
    };
    for (kind, plural, version, spec) in [
        (
            "IPAddressPool",
            "ipaddresspools",
            "v1beta1",
            json!({"addresses": ["192.0.2.0/24"]}),
        ),
        (
            "BGPPeer",
            "bgppeers",
            "v1beta2",
            json!({"myASN": 64512, "peerASN": 64513,
            "peerAddress": "127.0.0.1", "peerPort": router_port}),
        ),
        (
            "BGPAdvertisement",
            "bgpadvertisements",
            "v1beta1",
            json!({}),
        ),
        (
            "L2Advertisement",
            "l2advertisements",
            "v1beta1",
            json!({"interfaces": ["ls-sp-none0"]}),
        ),
    ] {
        let api = dynamic(kind, plural, version);
        let obj: kube::api::DynamicObject = serde_json::from_value(json!({
            "apiVersion": format!("metallb.io/{version}"), "kind": kind,
            "metadata": {"name": "t", "namespace": NS}, "spec": spec
        }))
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
        if let Err(e) = api.create(&PostParams::default(), &obj).await {
            panic!("creating {kind}: {e}");
        }
    }
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    create(
        &services,
        json!({
            "metadata": {"name": "web", "namespace": "default",
                         "annotations": {"metallb.io/ip-allocated-from-pool": "t"}},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}
        }),
    )
    .await;
    if let Err(e) = services
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(&json!({
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10", "ipMode": "VIP"}]}}})),
        )
        .await
    {
        panic!("service status: {e}");
    }
    create(
        &Api::<EndpointSlice>::namespaced(client.clone(), "default"),
        json!({
            "metadata": {"name": "web-1", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.244.0.5"], "nodeName": "n1",
                           "conditions": {"ready": true, "serving": true}}]
        }),
    )
    .await;

    let metrics_port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_lodestone-speaker"))
        .args(["run", "--kubeconfig"])
        .arg(&kubeconfig)
        .args(["--namespace", NS, "--node-name", "n1", "--metrics-addr"])
        .arg(format!("127.0.0.1:{metrics_port}"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("starting the speaker: {e}"));
    let speaker = Speaker(child);

    // BGP: the speaker dials the configured peer and opens with the BGP marker.
    eventually("the speaker dials the BGP peer", || {
        let r = router.accept();
        async move {
            match r {
                Ok((mut s, _)) => {
                    let _ = s.set_nonblocking(false);
                    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut marker = [0u8; 16];
                    s.read_exact(&mut marker).is_ok() && marker == [0xff; 16]
                }
                Err(_) => false,
            }
        }
    })
    .await;

    let bgp_status: Api<ServiceBGPStatus> = Api::namespaced(client.clone(), NS);
    let lp = ListParams::default().labels(
        "metallb.io/node=n1,metallb.io/service-name=web,metallb.io/service-namespace=default",
    );
    eventually("ServiceBGPStatus for default/web naming peer t", || {
        let (api, lp) = (bgp_status.clone(), lp.clone());
        async move {
            api.list(&lp).await.ok().is_some_and(|l| {
                l.items.iter().any(|o| {
                    o.status.as_ref().is_some_and(|s| {
                        s.node.as_deref() == Some("n1")
                            && s.service_name.as_deref() == Some("web")
                            && s.peers == vec!["t".to_string()]
                    })
                })
            })
        }
    })
    .await;

    let leases: Api<Lease> = Api::namespaced(client.clone(), NS);
    let root = is_root();
    if root {
        eventually("Lease lodestone-l2-n1 held by n1", || {
            let api = leases.clone();
            async move {
                api.get_opt("lodestone-l2-n1")
                    .await
                    .ok()
                    .flatten()
                    .is_some_and(|l| {
                        l.spec.and_then(|s| s.holder_identity).as_deref() == Some("n1")
                    })
            }
        })
        .await;
        let events: Api<Event> = Api::namespaced(client.clone(), "default");
        eventually(
            "announceFailed event (interface missing on the node)",
            || {
                let api = events.clone();
                async move {
                    api.list(&ListParams::default())
                        .await
                        .ok()
                        .is_some_and(|l| {
                            l.items
                                .iter()
                                .any(|e| e.reason.as_deref() == Some("announceFailed"))
                        })
                }
            },
        )
        .await;
    } else {
        eprintln!(
            "not root: the L2 responder cannot open packet sockets; Lease assertions skipped"
        );
    }

    let metrics_url = format!("127.0.0.1:{metrics_port}");
    let scrape = |path: &'static str| {
        let url = metrics_url.clone();
        async move {
            let mut s = std::net::TcpStream::connect(&url).ok()?;
            use std::io::Write;
            write!(
                s,
                "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            .ok()?;
            let mut body = String::new();
            s.read_to_string(&mut body).ok()?;
            Some(body)
        }
    };
    let body = scrape("/metrics").await.unwrap_or_default();
    assert!(
        body.contains("metallb_speaker_announced{ip=\"192.0.2.10\",node=\"n1\",protocol=\"bgp\",service=\"default/web\"} 1"),
        "metrics: {body}"
    );
    assert!(
        body.contains("\nmetallb_k8s_client_config_loaded_bool 1\n"),
        "metrics: {body}"
    );
    let ready = scrape("/readyz").await.unwrap_or_default();
    assert!(ready.starts_with("HTTP/1.1 200"), "readyz: {ready}");

    // An invalid configuration (overlapping pools; no webhook in the emulator) is not applied:
    // the last good one keeps running and the stale metric says so.
    let pools = dynamic("IPAddressPool", "ipaddresspools", "v1beta1");
    let bad: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
        "metadata": {"name": "overlap", "namespace": NS},
        "spec": {"addresses": ["192.0.2.0/25"]}
    }))
    .unwrap_or_else(|e| panic!("bad pool: {e}"));
    if let Err(e) = pools.create(&PostParams::default(), &bad).await {
        panic!("creating the overlapping pool: {e}");
    }
    eventually("metallb_k8s_client_config_stale_bool 1", || {
        let f = scrape("/metrics");
        async move {
            f.await
                .is_some_and(|b| b.contains("\nmetallb_k8s_client_config_stale_bool 1\n"))
        }
    })
    .await;
    let still = bgp_status
        .list(&lp)
        .await
        .map(|l| l.items.len())
        .unwrap_or(0);
    assert_eq!(still, 1, "the last good configuration keeps announcing");
    if let Err(e) = pools.delete("overlap", &DeleteParams::default()).await {
        panic!("deleting the overlapping pool: {e}");
    }
    eventually("metallb_k8s_client_config_stale_bool 0", || {
        let f = scrape("/metrics");
        async move {
            f.await
                .is_some_and(|b| b.contains("\nmetallb_k8s_client_config_stale_bool 0\n"))
        }
    })
    .await;

    // The Service goes away: its ServiceBGPStatus goes too.
    if let Err(e) = services.delete("web", &DeleteParams::default()).await {
        panic!("deleting the service: {e}");
    }
    eventually("ServiceBGPStatus removed", || {
        let (api, lp) = (bgp_status.clone(), lp.clone());
        async move { api.list(&lp).await.ok().is_some_and(|l| l.items.is_empty()) }
    })
    .await;

    // SIGTERM: exit 0, Lease released.
    let pid = speaker.0.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(killed.is_ok_and(|s| s.success()), "sending SIGTERM");
    let mut speaker = speaker;
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Ok(Some(s)) = speaker.0.try_wait() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "speaker did not exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "exit status {status}");
    if root {
        let l = leases
            .get("lodestone-l2-n1")
            .await
            .unwrap_or_else(|e| panic!("lease: {e}"));
        let holder = l.spec.and_then(|s| s.holder_identity).unwrap_or_default();
        assert!(
            holder.is_empty(),
            "lease still held by {holder:?} after SIGTERM"
        );
    }
}
