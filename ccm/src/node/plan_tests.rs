use super::*;
use crate::node::inventory::Inventory;
use serde_json::json;

fn node(
    taints: &[&str],
    annotation: Option<&str>,
    uuid: Option<&str>,
    ready: bool,
    addresses: serde_json::Value,
) -> Node {
    let mut annotations = serde_json::Map::new();
    if let Some(a) = annotation {
        annotations.insert(ANNOTATION_PROVIDED_IP.into(), json!(a));
    }
    let taints: Vec<_> = taints
        .iter()
        .map(|k| json!({"key": k, "effect": "NoSchedule", "value": "true"}))
        .collect();
    let mut v = json!({
        "metadata": {"name": "n1", "annotations": annotations, "labels": {"example.com/rack": "b"}},
        "spec": {"taints": taints},
        "status": {
            "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}],
            "addresses": addresses,
        },
    });
    if let Some(u) = uuid {
        v["status"]["nodeInfo"] = json!({
            "systemUUID": u, "machineID": "", "bootID": "", "kernelVersion": "", "osImage": "",
            "containerRuntimeVersion": "", "kubeletVersion": "", "kubeProxyVersion": "",
            "operatingSystem": "linux", "architecture": "amd64"
        });
    }
    serde_json::from_value(v).unwrap_or_default()
}

fn inv(text: &str) -> Inventory {
    Inventory::parse(text).unwrap_or_else(|e| panic!("test inventory {text}: {e}"))
}

const U: &str = TAINT_UNINITIALIZED;

fn addrs(plan: &Plan) -> Vec<String> {
    match &plan.action {
        Action::Patch(p) => p
            .addresses
            .iter()
            .flatten()
            .map(|a| format!("{}={}", a.type_, a.address))
            .collect(),
        Action::Delete => vec!["<delete>".into()],
    }
}

fn taint_keys(plan: &Plan) -> Option<Vec<String>> {
    match &plan.action {
        Action::Patch(p) => p
            .taints
            .as_ref()
            .map(|ts| ts.iter().map(|t| t.key.clone()).collect()),
        Action::Delete => None,
    }
}

fn reasons(plan: &Plan) -> Vec<(&'static str, bool)> {
    plan.notes.iter().map(|n| (n.reason, n.warning)).collect()
}

struct Row {
    what: &'static str,
    node: Node,
    inventory: &'static str,
    /// Expected: taints afterwards (None = untouched), addresses written, providerID, labels, events.
    taints: Option<&'static [&'static str]>,
    addresses: &'static [&'static str],
    provider_id: Option<&'static str>,
    labels: &'static [(&'static str, &'static str)],
    events: &'static [(&'static str, bool)],
}

#[test]
fn table() {
    let none = json!([]);
    let rows = vec![
        Row {
            what: "provided IP, no inventory: initialised",
            node: node(&[U], Some("192.0.2.10"), Some("abc-1"), true, none.clone()),
            inventory: "",
            taints: Some(&[]),
            addresses: &["InternalIP=192.0.2.10", "Hostname=n1"],
            provider_id: Some("lodestone://abc-1"),
            labels: &[],
            events: &[(REASON_SYNCED, false)],
        },
        Row {
            what: "dual-stack provided IPs with spaces, other taints kept",
            node: node(
                &["other", U],
                Some("192.0.2.10, 2001:db8::10"),
                Some("abc-1"),
                true,
                none.clone(),
            ),
            inventory: "",
            taints: Some(&["other"]),
            addresses: &[
                "InternalIP=192.0.2.10",
                "InternalIP=2001:db8::10",
                "Hostname=n1",
            ],
            provider_id: Some("lodestone://abc-1"),
            labels: &[],
            events: &[(REASON_SYNCED, false)],
        },
        Row {
            what: "provided IP plus consistent inventory: labels and extra v6 address",
            node: node(&[U], Some("192.0.2.10"), Some("abc-1"), true, none.clone()),
            inventory: "nodes: [{name: n1, addresses: [192.0.2.10, '2001:db8::10'], labels: {topology.kubernetes.io/zone: z1, topology.kubernetes.io/region: r1, node.kubernetes.io/instance-type: big}}]",
            taints: Some(&[]),
            addresses: &[
                "InternalIP=192.0.2.10",
                "InternalIP=2001:db8::10",
                "Hostname=n1",
            ],
            provider_id: Some("lodestone://abc-1"),
            labels: &[
                ("node.kubernetes.io/instance-type", "big"),
                ("topology.kubernetes.io/region", "r1"),
                ("topology.kubernetes.io/zone", "z1"),
            ],
            events: &[(REASON_SYNCED, false)],
        },
        Row {
            what: "no provided IP, inventory by selector gives the address",
            node: node(&[U], None, Some("abc-1"), true, none.clone()),
            inventory: "nodes: [{selector: {example.com/rack: b}, addresses: [198.51.100.7]}]",
            taints: Some(&[]),
            addresses: &["InternalIP=198.51.100.7", "Hostname=n1"],
            provider_id: Some("lodestone://abc-1"),
            labels: &[],
            events: &[(REASON_SYNCED, false)],
        },
        Row {
            what: "no provided IP, no inventory, addresses already in status: kept",
            node: node(
                &[U],
                None,
                Some("abc-1"),
                true,
                json!([{"type": "InternalIP", "address": "203.0.113.5"}, {"type": "Hostname", "address": "h"}]),
            ),
            inventory: "",
            taints: Some(&[]),
            addresses: &[],
            provider_id: Some("lodestone://abc-1"),
            labels: &[],
            events: &[(REASON_SYNCED, false)],
        },
        Row {
            what: "no address anywhere: Warning, taint kept, nothing written",
            node: node(&[U], None, Some("abc-1"), true, none.clone()),
            inventory: "",
            taints: None,
            addresses: &[],
            provider_id: None,
            labels: &[],
            events: &[(REASON_NOT_INITIALIZED, true)],
        },
        Row {
            what: "no systemUUID: Warning, taint kept",
            node: node(&[U], Some("192.0.2.10"), None, true, none.clone()),
            inventory: "",
            taints: None,
            addresses: &[],
            provider_id: None,
            labels: &[],
            events: &[(REASON_NOT_INITIALIZED, true)],
        },
        Row {
            what: "malformed provided IP: Warning, taint kept",
            node: node(
                &[U],
                Some("192.0.2.10,bogus"),
                Some("abc-1"),
                true,
                none.clone(),
            ),
            inventory: "",
            taints: None,
            addresses: &[],
            provider_id: None,
            labels: &[],
            events: &[(REASON_NOT_INITIALIZED, true)],
        },
        Row {
            what: "inventory contradicts provided IP: Warning, nothing written",
            node: node(&[U], Some("192.0.2.10"), Some("abc-1"), true, none.clone()),
            inventory: "nodes: [{name: n1, addresses: [192.0.2.99], labels: {topology.kubernetes.io/zone: z1}}]",
            taints: None,
            addresses: &[],
            provider_id: None,
            labels: &[],
            events: &[(REASON_INVENTORY_CONFLICT, true)],
        },
        Row {
            what: "inventory of the other family does not contradict",
            node: node(&[U], Some("192.0.2.10"), Some("abc-1"), true, none.clone()),
            inventory: "nodes: [{name: n1, addresses: ['2001:db8::10']}]",
            taints: Some(&[]),
            addresses: &[
                "InternalIP=192.0.2.10",
                "InternalIP=2001:db8::10",
                "Hostname=n1",
            ],
            provider_id: Some("lodestone://abc-1"),
            labels: &[],
            events: &[(REASON_SYNCED, false)],
        },
        Row {
            what: "untainted node: initialisation not touched",
            node: node(&[], None, None, true, none.clone()),
            inventory: "nodes: [{name: n1, labels: {topology.kubernetes.io/zone: z1}}]",
            taints: None,
            addresses: &[],
            provider_id: None,
            labels: &[],
            events: &[],
        },
        Row {
            what: "NotReady + shutdown: shutdown taint added",
            node: node(&[], None, None, false, none.clone()),
            inventory: "nodes: [{name: n1, state: shutdown}]",
            taints: Some(&[TAINT_SHUTDOWN]),
            addresses: &[],
            provider_id: None,
            labels: &[],
            events: &[(REASON_SHUTDOWN, false)],
        },
        Row {
            what: "Ready again: shutdown taint removed",
            node: node(&[TAINT_SHUTDOWN], None, None, true, none.clone()),
            inventory: "nodes: [{name: n1, state: shutdown}]",
            taints: Some(&[]),
            addresses: &[],
            provider_id: None,
            labels: &[],
            events: &[],
        },
        Row {
            what: "NotReady, shutdown taint present: unchanged",
            node: node(&[TAINT_SHUTDOWN], None, None, false, none.clone()),
            inventory: "nodes: [{name: n1, state: shutdown}]",
            taints: None,
            addresses: &[],
            provider_id: None,
            labels: &[],
            events: &[],
        },
        Row {
            what: "NotReady without inventory: nothing",
            node: node(&[], None, None, false, none.clone()),
            inventory: "",
            taints: None,
            addresses: &[],
            provider_id: None,
            labels: &[],
            events: &[],
        },
        Row {
            what: "Ready + decommissioned: not deleted",
            node: node(&[], None, None, true, none.clone()),
            inventory: "nodes: [{name: n1, state: decommissioned}]",
            taints: None,
            addresses: &[],
            provider_id: None,
            labels: &[],
            events: &[],
        },
    ];
    for r in rows {
        let inventory = inv(r.inventory);
        let labels = r.node.metadata.labels.clone().unwrap_or_default();
        let entry = inventory.lookup("n1", &labels);
        let p = plan(&r.node, entry, &PlanConfig::default());
        let Action::Patch(patch) = &p.action else {
            panic!("{}: unexpected delete", r.what);
        };
        assert_eq!(
            taint_keys(&p),
            r.taints
                .map(|ts| ts.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
            "{}: taints",
            r.what
        );
        assert_eq!(addrs(&p), r.addresses, "{}: addresses", r.what);
        assert_eq!(
            patch.provider_id.as_deref(),
            r.provider_id,
            "{}: providerID",
            r.what
        );
        let want: BTreeMap<String, String> = r
            .labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(patch.labels, want, "{}: labels", r.what);
        assert_eq!(reasons(&p), r.events, "{}: events", r.what);
        // Initialisation is all or nothing: the taint goes exactly when Synced is reported.
        let synced = p.notes.iter().any(|n| n.reason == REASON_SYNCED);
        let had_u = r
            .node
            .spec
            .as_ref()
            .and_then(|s| s.taints.as_ref())
            .is_some_and(|t| has_taint(t, U));
        let keeps_u = patch.taints.as_ref().map_or(had_u, |t| has_taint(t, U));
        assert_eq!(
            had_u && !keeps_u,
            synced,
            "{}: taint removal iff Synced",
            r.what
        );
        if p.notes.iter().any(|n| n.warning) {
            assert!(
                patch.provider_id.is_none() && patch.labels.is_empty() && patch.addresses.is_none(),
                "{}: partial write",
                r.what
            );
        }
    }
}

#[test]
fn decommissioned_and_not_ready_is_deleted_only_with_an_inventory() {
    let n = node(&[U], Some("192.0.2.10"), Some("abc-1"), false, json!([]));
    let inventory = inv("nodes: [{name: n1, state: decommissioned}]");
    let p = plan(
        &n,
        inventory.lookup("n1", &BTreeMap::new()),
        &PlanConfig::default(),
    );
    assert_eq!(p.action, Action::Delete);
    assert_eq!(reasons(&p), [(REASON_DELETING, false)]);
    let p = plan(&n, None, &PlanConfig::default());
    assert_ne!(p.action, Action::Delete);
}

#[test]
fn provider_id_scheme_is_configurable_and_existing_ids_are_kept() {
    let cfg = PlanConfig {
        provider_id_scheme: "metal".into(),
    };
    let n = node(&[U], Some("192.0.2.10"), Some("abc-1"), true, json!([]));
    let Action::Patch(p) = plan(&n, None, &cfg).action else {
        panic!("delete");
    };
    assert_eq!(p.provider_id.as_deref(), Some("metal://abc-1"));
    let mut n = n;
    if let Some(s) = n.spec.as_mut() {
        s.provider_id = Some("other://x".into());
    }
    let Action::Patch(p) = plan(&n, None, &cfg).action else {
        panic!("delete");
    };
    assert_eq!(p.provider_id, None);
    assert_eq!(p.taints.map(|t| t.len()), Some(0));
}

#[test]
fn already_present_labels_and_addresses_are_not_rewritten() {
    let mut n = node(
        &[U],
        Some("192.0.2.10"),
        Some("abc-1"),
        true,
        json!([{"type": "InternalIP", "address": "192.0.2.10"}, {"type": "Hostname", "address": "n1"}]),
    );
    if let Some(l) = n.metadata.labels.as_mut() {
        l.insert("topology.kubernetes.io/zone".into(), "z1".into());
    }
    let inventory = inv("nodes: [{name: n1, labels: {topology.kubernetes.io/zone: z1}}]");
    let Action::Patch(p) = plan(
        &n,
        inventory.lookup("n1", &BTreeMap::new()),
        &PlanConfig::default(),
    )
    .action
    else {
        panic!("delete");
    };
    assert!(p.labels.is_empty() && p.addresses.is_none());
    assert!(p.touches_spec());
}
