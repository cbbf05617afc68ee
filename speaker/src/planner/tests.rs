//! Planner tables: BGP sessions and routes. Each row edits one base scenario and names the
//! routes (or skip reason) it expects on node `n1`.

use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use lodestone_apis::config::{Config, Resources, load_str};
use serde_json::json;

use super::*;

pub(super) const BASE: &str = r#"
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: pub, namespace: lodestone, labels: {tier: public}}
spec: {addresses: ["192.0.2.0/24", "2001:db8::/120"]}
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: priv, namespace: lodestone}
spec: {addresses: ["198.51.100.0/24"]}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1, namespace: lodestone}
spec: {myASN: 64512, peerASN: 64513, peerAddress: 203.0.113.1}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r2, namespace: lodestone}
spec:
  myASN: 64512
  peerASN: 64512
  peerAddress: 203.0.113.2
  nodeSelectors: [{matchLabels: {rack: a}}]
"#;

pub(crate) struct Scenario {
    pub yaml: String,
    pub nodes: Vec<Node>,
    pub services: Vec<Service>,
    pub slices: Vec<EndpointSlice>,
    pub me: &'static str,
}

pub(super) fn node(name: &str, labels: &[(&str, &str)], ip: &str, net_down: bool) -> Node {
    let labels: serde_json::Map<String, serde_json::Value> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let status = if net_down { "True" } else { "False" };
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels},
        "status": {
            "addresses": [{"type": "InternalIP", "address": ip}],
            "conditions": [{"type": "NetworkUnavailable", "status": status}]
        }
    }))
    .unwrap_or_default()
}

pub(super) fn svc(name: &str, ips: &[&str], pool: Option<&str>, local: bool) -> Service {
    let mut annotations = serde_json::Map::new();
    if let Some(p) = pool {
        annotations.insert("metallb.io/ip-allocated-from-pool".into(), json!(p));
    }
    let ingress: Vec<_> = ips.iter().map(|ip| json!({"ip": ip})).collect();
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default", "annotations": annotations,
                     "labels": {"app": name}},
        "spec": {"type": "LoadBalancer",
                 "externalTrafficPolicy": if local { "Local" } else { "Cluster" }},
        "status": {"loadBalancer": {"ingress": ingress}}
    }))
    .unwrap_or_default()
}

/// One slice of Service `name` with endpoints `(node, serving)`.
pub(super) fn slice(name: &str, eps: &[(&str, bool)]) -> EndpointSlice {
    let endpoints: Vec<_> = eps
        .iter()
        .enumerate()
        .map(|(i, (n, serving))| {
            json!({"addresses": [format!("10.244.0.{}", i + 1)], "nodeName": n,
                   "conditions": {"ready": serving, "serving": serving}})
        })
        .collect();
    serde_json::from_value(json!({
        "metadata": {"name": format!("{name}-abc"), "namespace": "default",
                     "labels": {"kubernetes.io/service-name": name}},
        "addressType": "IPv4",
        "endpoints": endpoints
    }))
    .unwrap_or_else(|e| panic!("slice fixture: {e}"))
}

pub(crate) fn base(extra_yaml: &str) -> Scenario {
    Scenario {
        yaml: format!("{BASE}---\n{extra_yaml}"),
        nodes: vec![
            node("n1", &[("rack", "a")], "192.0.2.201", false),
            node("n2", &[("rack", "b")], "192.0.2.202", false),
            node("n3", &[("rack", "b")], "192.0.2.203", false),
        ],
        services: vec![svc("web", &["192.0.2.10"], Some("pub"), false)],
        slices: vec![slice("web", &[("n2", true)])],
        me: "n1",
    }
}

pub(crate) fn config_of(yaml: &str) -> Config {
    let mut res = Resources::default();
    if let Err(e) = load_str("test", yaml, &mut res) {
        panic!("fixture does not load: {e}");
    }
    match Config::from_resources(&res) {
        Ok((c, _pending)) => c,
        Err(e) => panic!("fixture config invalid: {e}"),
    }
}

pub(crate) fn run(s: &Scenario) -> Plan {
    let config = config_of(&s.yaml);
    plan(&Input {
        config: &config,
        node_name: s.me,
        nodes: &s.nodes,
        services: &s.services,
        endpoint_slices: &s.slices,
    })
}

/// `peer prefix lp=N c=a,b` lines, sorted.
fn routes(p: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    for (peer, rs) in &p.routes {
        for (prefix, a) in rs {
            let lp = a.local_pref.map_or("-".to_string(), |v| v.to_string());
            let cs: Vec<String> = a.communities.iter().map(|c| c.to_string()).collect();
            out.push(format!("{peer} {prefix} lp={lp} c={}", cs.join(",")));
        }
    }
    out
}

const ADV_ALL: &str = "apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: all, namespace: lodestone}\nspec: {}\n";

type Edit = fn(&mut Scenario);
type RouteRow = (
    &'static str,
    &'static str,
    Edit,
    Vec<&'static str>,
    Option<&'static str>,
);
type SessionRow = (
    &'static str,
    &'static str,
    &'static str,
    Vec<&'static str>,
    Vec<(&'static str, PeerBlocked)>,
);

#[test]
fn bgp_routes_table() {
    let rows: Vec<RouteRow> = vec![
        (
            "cluster policy, endpoint elsewhere: both peers",
            ADV_ALL,
            |_| {},
            vec!["r1 192.0.2.10/32 lp=- c=", "r2 192.0.2.10/32 lp=- c="],
            None,
        ),
        (
            "no advertisement: nothing",
            "",
            |_| {},
            vec![],
            Some("notAdvertised"),
        ),
        (
            "cluster policy, no serving endpoint",
            ADV_ALL,
            |s| s.slices = vec![slice("web", &[("n2", false)])],
            vec![],
            Some("noEndpoints"),
        ),
        (
            "cluster policy, no slices at all",
            ADV_ALL,
            |s| s.slices.clear(),
            vec![],
            Some("noEndpoints"),
        ),
        (
            "cluster policy, only endpoint on a NetworkUnavailable node",
            ADV_ALL,
            |s| s.nodes[1] = node("n2", &[], "192.0.2.202", true),
            vec![],
            Some("noEndpoints"),
        ),
        (
            "local policy, endpoint elsewhere",
            ADV_ALL,
            |s| s.services = vec![svc("web", &["192.0.2.10"], Some("pub"), true)],
            vec![],
            Some("noLocalEndpoints"),
        ),
        (
            "local policy, local serving endpoint",
            ADV_ALL,
            |s| {
                s.services = vec![svc("web", &["192.0.2.10"], Some("pub"), true)];
                s.slices = vec![slice("web", &[("n1", true), ("n2", true)])];
            },
            vec!["r1 192.0.2.10/32 lp=- c=", "r2 192.0.2.10/32 lp=- c="],
            None,
        ),
        (
            "local policy, local endpoint not serving",
            ADV_ALL,
            |s| {
                s.services = vec![svc("web", &["192.0.2.10"], Some("pub"), true)];
                s.slices = vec![slice("web", &[("n1", false), ("n2", true)])];
            },
            vec![],
            Some("noLocalEndpoints"),
        ),
        (
            "this node NetworkUnavailable",
            ADV_ALL,
            |s| s.nodes[0] = node("n1", &[("rack", "a")], "192.0.2.201", true),
            vec![],
            Some("nodeNetworkUnavailable"),
        ),
        (
            "this node excluded by label",
            ADV_ALL,
            |s| {
                s.nodes[0] = node(
                    "n1",
                    &[
                        ("rack", "a"),
                        (
                            "node.kubernetes.io/exclude-from-external-load-balancers",
                            "",
                        ),
                    ],
                    "192.0.2.201",
                    false,
                )
            },
            vec![],
            Some("nodeExcluded"),
        ),
        (
            "address outside the annotated pool",
            ADV_ALL,
            |s| s.services = vec![svc("web", &["192.0.2.10"], Some("priv"), false)],
            vec![],
            Some("ipNotAllowed"),
        ),
        (
            "annotation names an unknown pool",
            ADV_ALL,
            |s| s.services = vec![svc("web", &["192.0.2.10"], Some("nope"), false)],
            vec![],
            Some("ipNotAllowed"),
        ),
        (
            "no annotation: pool found by address",
            ADV_ALL,
            |s| s.services = vec![svc("web", &["198.51.100.7"], None, false)],
            vec!["r1 198.51.100.7/32 lp=- c=", "r2 198.51.100.7/32 lp=- c="],
            None,
        ),
        (
            "dual-stack service",
            ADV_ALL,
            |s| {
                s.services = vec![svc(
                    "web",
                    &["192.0.2.10", "2001:db8::a"],
                    Some("pub"),
                    false,
                )]
            },
            vec![
                "r1 192.0.2.10/32 lp=- c=",
                "r1 2001:db8::a/128 lp=- c=",
                "r2 192.0.2.10/32 lp=- c=",
                "r2 2001:db8::a/128 lp=- c=",
            ],
            None,
        ),
        (
            "not a LoadBalancer: ignored",
            ADV_ALL,
            |s| {
                let mut v = svc("web", &["192.0.2.10"], Some("pub"), false);
                if let Some(spec) = v.spec.as_mut() {
                    spec.type_ = Some("ClusterIP".into());
                }
                s.services = vec![v];
            },
            vec![],
            None,
        ),
        (
            "advertisement restricted to other pool",
            "apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: a, namespace: lodestone}\nspec: {ipAddressPools: [priv]}\n",
            |_| {},
            vec![],
            Some("notAdvertised"),
        ),
        (
            "pool selected by label",
            "apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: a, namespace: lodestone}\nspec: {ipAddressPoolSelectors: [{matchLabels: {tier: public}}]}\n",
            |_| {},
            vec!["r1 192.0.2.10/32 lp=- c=", "r2 192.0.2.10/32 lp=- c="],
            None,
        ),
        (
            "pool selector matching nothing",
            "apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: a, namespace: lodestone}\nspec: {ipAddressPoolSelectors: [{matchLabels: {tier: secret}}]}\n",
            |_| {},
            vec![],
            Some("notAdvertised"),
        ),
        (
            "advertisement node selector excludes this node",
            "apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: a, namespace: lodestone}\nspec: {nodeSelectors: [{matchLabels: {rack: b}}]}\n",
            |_| {},
            vec![],
            Some("notAdvertised"),
        ),
        (
            "advertisement node selector includes this node",
            "apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: a, namespace: lodestone}\nspec: {nodeSelectors: [{matchLabels: {rack: a}}]}\n",
            |_| {},
            vec!["r1 192.0.2.10/32 lp=- c=", "r2 192.0.2.10/32 lp=- c="],
            None,
        ),
        (
            "service selector not matching",
            "apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: a, namespace: lodestone}\nspec: {serviceSelectors: [{matchLabels: {app: db}}]}\n",
            |_| {},
            vec![],
            Some("notAdvertised"),
        ),
        (
            "service selector matching",
            "apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: a, namespace: lodestone}\nspec: {serviceSelectors: [{matchLabels: {app: web}}]}\n",
            |_| {},
            vec!["r1 192.0.2.10/32 lp=- c=", "r2 192.0.2.10/32 lp=- c="],
            None,
        ),
        (
            "peers restricts to r1",
            "apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: a, namespace: lodestone}\nspec: {peers: [r1]}\n",
            |_| {},
            vec!["r1 192.0.2.10/32 lp=- c="],
            None,
        ),
        (
            "aggregation lengths",
            "apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: a, namespace: lodestone}\nspec: {aggregationLength: 24, aggregationLengthV6: 120, peers: [r1]}\n",
            |s| {
                s.services = vec![
                    svc("web", &["192.0.2.10", "2001:db8::a"], Some("pub"), false),
                    svc("api", &["192.0.2.77"], Some("pub"), false),
                ];
                s.slices.push(slice("api", &[("n3", true)]));
            },
            vec!["r1 192.0.2.0/24 lp=- c=", "r1 2001:db8::/120 lp=- c="],
            None,
        ),
        (
            "communities, alias and large, localPref",
            "apiVersion: metallb.io/v1beta1\nkind: Community\nmetadata: {name: c, namespace: lodestone}\nspec: {communities: [{name: edge, value: '65000:300'}]}\n---\napiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: a, namespace: lodestone}\nspec: {localPref: 150, communities: ['65000:100', edge, 'large:64512:1:2'], peers: [r2]}\n",
            |_| {},
            vec!["r2 192.0.2.10/32 lp=150 c=65000:100,65000:300,large:64512:1:2"],
            None,
        ),
        (
            "two advertisements merge on one prefix",
            "apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: a, namespace: lodestone}\nspec: {localPref: 200, communities: ['65000:1'], peers: [r2]}\n---\napiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: b, namespace: lodestone}\nspec: {localPref: 200, communities: ['65000:2'], peers: [r2]}\n",
            |_| {},
            vec!["r2 192.0.2.10/32 lp=200 c=65000:1,65000:2"],
            None,
        ),
    ];
    for (name, yaml, edit, want, want_skip) in rows {
        let mut s = base(yaml);
        edit(&mut s);
        let p = run(&s);
        assert_eq!(routes(&p), want, "row {name:?}: routes");
        let skip = p.skipped.values().next().map(Skip::label);
        assert_eq!(skip, want_skip, "row {name:?}: skip reason");
        let advertised = !want.is_empty();
        assert_eq!(
            !p.bgp_services.is_empty(),
            advertised,
            "row {name:?}: bgp_services"
        );
    }
}

#[test]
fn sessions_table() {
    let rows: Vec<SessionRow> = vec![
        (
            "rack a node peers with both",
            "n1",
            "",
            vec!["r1 203.0.113.1 192.0.2.201", "r2 203.0.113.2 192.0.2.201"],
            vec![],
        ),
        (
            "rack b node: r2's selector excludes it",
            "n2",
            "",
            vec!["r1 203.0.113.1 192.0.2.202"],
            vec![],
        ),
        (
            "unknown node: only selector-less peers",
            "zz",
            "",
            vec!["r1 203.0.113.1 0.0.0.0"],
            vec![],
        ),
        (
            "explicit router ID",
            "n2",
            "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: r3, namespace: lodestone}\nspec: {myASN: 64512, peerASN: 65000, peerAddress: 203.0.113.3, routerID: 198.51.100.99}\n",
            vec!["r1 203.0.113.1 192.0.2.202", "r3 203.0.113.3 198.51.100.99"],
            vec![],
        ),
        (
            "password secret pending",
            "n2",
            "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: r3, namespace: lodestone}\nspec: {myASN: 64512, peerASN: 65000, peerAddress: 203.0.113.3, passwordSecret: {name: s, namespace: lodestone}}\n",
            vec!["r1 203.0.113.1 192.0.2.202"],
            vec![("r3", PeerBlocked::PasswordPending)],
        ),
        (
            "bfd profile pending",
            "n2",
            "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: r3, namespace: lodestone}\nspec: {myASN: 64512, peerASN: 65000, peerAddress: 203.0.113.3, bfdProfile: fast}\n",
            vec!["r1 203.0.113.1 192.0.2.202"],
            vec![("r3", PeerBlocked::BfdProfilePending("fast".into()))],
        ),
        (
            "bfd profile resolved, inline password",
            "n2",
            "apiVersion: metallb.io/v1beta1\nkind: BFDProfile\nmetadata: {name: fast, namespace: lodestone}\nspec: {receiveInterval: 50, transmitInterval: 50}\n---\napiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: r3, namespace: lodestone}\nspec: {myASN: 64512, peerASN: 65000, peerAddress: 203.0.113.3, bfdProfile: fast, password: sesame}\n",
            vec![
                "r1 203.0.113.1 192.0.2.202",
                "r3 203.0.113.3 192.0.2.202 bfd=50ms pw",
            ],
            vec![],
        ),
    ];
    for (name, me, yaml, want, want_blocked) in rows {
        let mut s = base(yaml);
        s.me = me;
        let p = run(&s);
        let got: Vec<String> = p
            .sessions
            .iter()
            .map(|(n, pp)| {
                let mut line = format!("{n} {} {}", pp.address, pp.router_id);
                if let Some(b) = &pp.bfd {
                    line.push_str(&format!(" bfd={:?}", b.receive_interval));
                }
                if pp.password.is_some() {
                    line.push_str(" pw");
                }
                line
            })
            .collect();
        let got: Vec<String> = got
            .into_iter()
            .map(|l| {
                // An unknown node has a derived router ID; normalise it for the table.
                if me == "zz" {
                    l.rsplit_once(' ')
                        .map(|(a, _)| format!("{a} 0.0.0.0"))
                        .unwrap_or(l)
                } else {
                    l
                }
            })
            .collect();
        assert_eq!(got, want, "row {name:?}: sessions");
        let blocked: Vec<(&str, PeerBlocked)> = p
            .blocked_peers
            .iter()
            .map(|(n, b)| (n.as_str(), b.clone()))
            .collect();
        assert_eq!(blocked, want_blocked, "row {name:?}: blocked peers");
        assert_eq!(
            p.routes.keys().collect::<Vec<_>>(),
            p.sessions.keys().collect::<Vec<_>>(),
            "row {name:?}: every session has a route table"
        );
    }
}

#[test]
fn derived_router_id_is_stable_and_nonzero() {
    let mut s = base("");
    s.me = "zz";
    let a = run(&s);
    let b = run(&s);
    let ra = a.sessions.get("r1").map(|p| p.router_id);
    assert_eq!(ra, b.sessions.get("r1").map(|p| p.router_id));
    assert_ne!(ra, Some(std::net::Ipv4Addr::UNSPECIFIED));
}
