//! Node initialisation and lifecycle end to end: the real `lodestone-ccm run` binary with
//! `--node-inventory` against the API emulator, Nodes created the way a kubelet with
//! `--cloud-provider=external` leaves them.

mod run_support;

use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Node};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use run_support::{Ccm, Cluster, NS, TestResult, cluster, eventually, free_port, metric, unique};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);
const UNINIT: &str = "node.cloudprovider.kubernetes.io/uninitialized";
const SHUTDOWN: &str = "node.cloudprovider.kubernetes.io/shutdown";

/// Creates a Node as a kubelet with `--cloud-provider=external` would.
async fn create_node(
    c: &Cluster,
    name: &str,
    provided_ip: Option<&str>,
    uuid: Option<&str>,
    ready: bool,
    tainted: bool,
) -> TestResult {
    let api: Api<Node> = Api::all(c.client.clone());
    let mut annotations = serde_json::Map::new();
    if let Some(ip) = provided_ip {
        annotations.insert("alpha.kubernetes.io/provided-node-ip".into(), json!(ip));
    }
    let taints = if tainted {
        json!([{"key": UNINIT, "value": "true", "effect": "NoSchedule"}, {"key": "example.com/keep", "effect": "NoSchedule"}])
    } else {
        json!([])
    };
    let node: Node = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "annotations": annotations,
                     "labels": {"kubernetes.io/hostname": name, "example.com/rack": "r9"}},
        "spec": {"taints": taints},
    }))?;
    api.create(&PostParams::default(), &node).await?;
    set_status(c, name, uuid, ready).await
}

async fn set_status(c: &Cluster, name: &str, uuid: Option<&str>, ready: bool) -> TestResult {
    let api: Api<Node> = Api::all(c.client.clone());
    let mut status = json!({
        "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}, "reason": "KubeletReady"}],
    });
    if let Some(u) = uuid {
        status["nodeInfo"] = json!({
            "systemUUID": u, "machineID": "m", "bootID": "b", "kernelVersion": "6", "osImage": "x",
            "containerRuntimeVersion": "c", "kubeletVersion": "v1.32.0", "kubeProxyVersion": "",
            "operatingSystem": "linux", "architecture": "amd64"
        });
    }
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(&json!({"status": status})),
    )
    .await?;
    Ok(())
}

async fn node(c: &Cluster, name: &str) -> TestResult<Option<Node>> {
    Ok(Api::<Node>::all(c.client.clone()).get_opt(name).await?)
}

fn taints(n: &Node) -> Vec<String> {
    n.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .map(|ts| ts.iter().map(|t| t.key.clone()).collect())
        .unwrap_or_default()
}

fn addresses(n: &Node) -> Vec<String> {
    n.status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .map(|a| {
            a.iter()
                .map(|a| format!("{}={}", a.type_, a.address))
                .collect()
        })
        .unwrap_or_default()
}

fn label<'a>(n: &'a Node, key: &str) -> Option<&'a str> {
    n.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(key))
        .map(String::as_str)
}

fn provider_id(n: &Node) -> Option<&str> {
    n.spec.as_ref().and_then(|s| s.provider_id.as_deref())
}

/// Reasons (with type) of the events about node `name`.
async fn events(c: &Cluster, name: &str) -> TestResult<Vec<(String, String)>> {
    let api: Api<Event> = Api::namespaced(c.client.clone(), "default");
    Ok(api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .map(|e| (e.reason.unwrap_or_default(), e.type_.unwrap_or_default()))
        .collect())
}

async fn wait_event(c: &Cluster, node: &str, reason: &str, type_: &str) -> TestResult {
    eventually(
        WAIT,
        &format!("{type_} event {reason} on {node}"),
        || async {
            Ok(events(c, node)
                .await?
                .iter()
                .any(|(r, t)| r == reason && t == type_)
                .then_some(()))
        },
    )
    .await
}

async fn apply_inventory(c: &Cluster, name: &str, yaml: &str) -> TestResult {
    let api: Api<ConfigMap> = Api::namespaced(c.client.clone(), NS);
    let cm: ConfigMap = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NS},
        "data": {"inventory.yaml": yaml},
    }))?;
    match api.get_opt(name).await? {
        None => {
            api.create(&PostParams::default(), &cm).await?;
        }
        Some(_) => {
            api.patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(&json!({"data": {"inventory.yaml": yaml}})),
            )
            .await?;
        }
    }
    Ok(())
}

const INVENTORY: &str = r#"
nodes:
  - name: n-inv
    addresses: [198.51.100.21, "2001:db8::21"]
    labels:
      topology.kubernetes.io/zone: zone-a
      topology.kubernetes.io/region: region-1
      node.kubernetes.io/instance-type: r640
  - name: n-both
    addresses: [192.0.2.12]
    labels: {topology.kubernetes.io/zone: zone-b}
  - name: n-conflict
    addresses: [192.0.2.99]
    labels: {topology.kubernetes.io/zone: zone-c}
  - name: n-dead
    state: decommissioned
  - selector: {example.com/rack: r9, example.com/power: "off"}
    state: shutdown
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tainted_nodes_end_in_the_documented_state() -> TestResult {
    let c = cluster(false).await?;
    let inv = unique("inv");
    apply_inventory(&c, &inv, INVENTORY).await?;
    create_node(
        &c,
        "n-ip",
        Some("192.0.2.11,2001:db8::11"),
        Some("uuid-ip"),
        true,
        true,
    )
    .await?;
    create_node(&c, "n-inv", None, Some("uuid-inv"), true, true).await?;
    create_node(
        &c,
        "n-both",
        Some("192.0.2.12"),
        Some("uuid-both"),
        true,
        true,
    )
    .await?;
    create_node(&c, "n-none", None, Some("uuid-none"), true, true).await?;
    create_node(&c, "n-nouuid", Some("192.0.2.13"), None, true, true).await?;
    create_node(
        &c,
        "n-conflict",
        Some("192.0.2.14"),
        Some("uuid-c"),
        true,
        true,
    )
    .await?;
    let port = free_port()?;
    let addr = format!("127.0.0.1:{port}");
    let _ccm = Ccm::start(
        &c,
        "ccm-node-0",
        &["--node-inventory", &inv, "--metrics-addr", &addr],
    )?;

    // Provided IPs (dual stack), no inventory entry: providerID, addresses, taint gone.
    let n = eventually(WAIT, "n-ip initialised", || async {
        Ok(node(&c, "n-ip")
            .await?
            .filter(|n| !taints(n).contains(&UNINIT.to_string())))
    })
    .await?;
    assert_eq!(provider_id(&n), Some("lodestone://uuid-ip"));
    assert_eq!(
        addresses(&n),
        [
            "InternalIP=192.0.2.11",
            "InternalIP=2001:db8::11",
            "Hostname=n-ip"
        ]
    );
    assert_eq!(taints(&n), ["example.com/keep"], "other taints are kept");
    assert_eq!(label(&n, "topology.kubernetes.io/zone"), None);
    wait_event(&c, "n-ip", "Synced", "Normal").await?;

    // No provided IP, inventory entry: its addresses and labels.
    let n = eventually(WAIT, "n-inv initialised", || async {
        Ok(node(&c, "n-inv")
            .await?
            .filter(|n| !taints(n).contains(&UNINIT.to_string())))
    })
    .await?;
    assert_eq!(provider_id(&n), Some("lodestone://uuid-inv"));
    assert_eq!(
        addresses(&n),
        [
            "InternalIP=198.51.100.21",
            "InternalIP=2001:db8::21",
            "Hostname=n-inv"
        ]
    );
    assert_eq!(label(&n, "topology.kubernetes.io/zone"), Some("zone-a"));
    assert_eq!(label(&n, "topology.kubernetes.io/region"), Some("region-1"));
    assert_eq!(label(&n, "node.kubernetes.io/instance-type"), Some("r640"));
    assert_eq!(
        label(&n, "example.com/rack"),
        Some("r9"),
        "other labels kept"
    );

    // Provided IP agreeing with the inventory.
    let n = eventually(WAIT, "n-both initialised", || async {
        Ok(node(&c, "n-both")
            .await?
            .filter(|n| !taints(n).contains(&UNINIT.to_string())))
    })
    .await?;
    assert_eq!(addresses(&n), ["InternalIP=192.0.2.12", "Hostname=n-both"]);
    assert_eq!(label(&n, "topology.kubernetes.io/zone"), Some("zone-b"));

    // Neither provided IP nor inventory; no systemUUID; contradicting inventory: Warning,
    // taint kept, nothing written.
    wait_event(&c, "n-none", "NotInitialized", "Warning").await?;
    wait_event(&c, "n-nouuid", "NotInitialized", "Warning").await?;
    wait_event(&c, "n-conflict", "InventoryConflict", "Warning").await?;
    for name in ["n-none", "n-nouuid", "n-conflict"] {
        let n = node(&c, name).await?.ok_or("node vanished")?;
        assert!(
            taints(&n).contains(&UNINIT.to_string()),
            "{name}: taint kept"
        );
        assert_eq!(provider_id(&n), None, "{name}: no providerID");
        assert!(addresses(&n).is_empty(), "{name}: no addresses");
        assert_eq!(label(&n, "topology.kubernetes.io/zone"), None, "{name}");
        assert!(
            !events(&c, name).await?.iter().any(|(r, _)| r == "Synced"),
            "{name}: no Synced"
        );
    }

    // Fixing the inventory initialises the contradicted node.
    apply_inventory(&c, &inv, &INVENTORY.replace("192.0.2.99", "192.0.2.14")).await?;
    let n = eventually(WAIT, "n-conflict initialised after the fix", || async {
        Ok(node(&c, "n-conflict")
            .await?
            .filter(|n| !taints(n).contains(&UNINIT.to_string())))
    })
    .await?;
    assert_eq!(label(&n, "topology.kubernetes.io/zone"), Some("zone-c"));
    assert_eq!(
        addresses(&n),
        ["InternalIP=192.0.2.14", "Hostname=n-conflict"]
    );

    assert!(metric(port, "lodestone_ccm_reconciles_total{kind=\"Node\"}")? >= 6.0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_deletes_decommissioned_and_taints_shut_down_nodes() -> TestResult {
    let c = cluster(false).await?;
    let inv = unique("inv");
    apply_inventory(&c, &inv, INVENTORY).await?;
    create_node(&c, "n-dead", None, Some("u1"), false, false).await?;
    create_node(&c, "n-off", None, Some("u2"), false, false).await?;
    Api::<Node>::all(c.client.clone())
        .patch(
            "n-off",
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata": {"labels": {"example.com/power": "off"}}})),
        )
        .await?;
    create_node(&c, "n-sick", None, Some("u3"), false, false).await?;
    let _ccm = Ccm::start(&c, "ccm-node-1", &["--node-inventory", &inv])?;

    eventually(WAIT, "n-dead deleted", || async {
        Ok(node(&c, "n-dead").await?.is_none().then_some(()))
    })
    .await?;
    wait_event(&c, "n-dead", "DeletingNode", "Normal").await?;
    eventually(WAIT, "n-off shutdown taint", || async {
        Ok(node(&c, "n-off")
            .await?
            .filter(|n| taints(n).contains(&SHUTDOWN.to_string())))
    })
    .await?;
    // Ready again: the taint goes.
    set_status(&c, "n-off", Some("u2"), true).await?;
    eventually(WAIT, "n-off shutdown taint removed", || async {
        Ok(node(&c, "n-off")
            .await?
            .filter(|n| !taints(n).contains(&SHUTDOWN.to_string())))
    })
    .await?;
    // NotReady without a decommissioned/shutdown entry: untouched.
    let n = node(&c, "n-sick").await?.ok_or("n-sick was deleted")?;
    assert!(taints(&n).is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_inventory_nothing_is_deleted() -> TestResult {
    let c = cluster(false).await?;
    create_node(&c, "n-dead", None, Some("u1"), false, false).await?;
    create_node(&c, "n-new", Some("203.0.113.4"), Some("u2"), true, true).await?;
    let _ccm = Ccm::start(&c, "ccm-node-2", &["--node-provider-id-scheme", "metal"])?;
    let n = eventually(WAIT, "n-new initialised", || async {
        Ok(node(&c, "n-new")
            .await?
            .filter(|n| !taints(n).contains(&UNINIT.to_string())))
    })
    .await?;
    assert_eq!(provider_id(&n), Some("metal://u2"));
    // The same watch delivered n-dead before n-new was done: it is still there.
    assert!(node(&c, "n-dead").await?.is_some());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_leader_initialises_and_reports() -> TestResult {
    let c = cluster(false).await?;
    create_node(&c, "n-ha", Some("192.0.2.40"), Some("u-ha"), true, true).await?;
    create_node(&c, "n-ha-bad", None, Some("u-bad"), true, true).await?;
    let _a = Ccm::start(&c, "ccm-node-a", &[])?;
    let _b = Ccm::start(&c, "ccm-node-b", &[])?;
    eventually(WAIT, "n-ha initialised", || async {
        Ok(node(&c, "n-ha")
            .await?
            .filter(|n| !taints(n).contains(&UNINIT.to_string())))
    })
    .await?;
    wait_event(&c, "n-ha-bad", "NotInitialized", "Warning").await?;
    let holder = run_support::lease_holder(&c.client).await?;
    assert!(!holder.is_empty());
    let api: Api<Event> = Api::namespaced(c.client.clone(), "default");
    let instances: Vec<String> = api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|e| e.reporting_controller.as_deref() == Some("lodestone-ccm"))
        .map(|e| e.reporting_instance.unwrap_or_default())
        .collect();
    assert!(instances.len() >= 2, "{instances:?}");
    assert!(
        instances.iter().all(|i| *i == holder),
        "events from a non-leader: {instances:?} (holder {holder})"
    );
    Ok(())
}
