//! Planner tables: L2 candidates (computed for every node) and this node's interfaces.

use super::tests::{Scenario, base, node, run, slice, svc};
use super::*;

fn l2adv(spec: &str) -> String {
    format!(
        "apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {{name: l2, namespace: lodestone}}\nspec: {spec}\n"
    )
}

/// `ip: node=weight,... if=...` lines.
fn render(p: &Plan) -> Vec<String> {
    p.l2.iter()
        .map(|(ip, a)| {
            let cands: Vec<String> = a
                .candidates
                .iter()
                .map(|(n, w)| format!("{n}={w}"))
                .collect();
            let ifs = match &a.interfaces {
                None => "-".to_string(),
                Some(Interfaces::All) => "all".to_string(),
                Some(Interfaces::Only(s)) => s.iter().cloned().collect::<Vec<_>>().join("+"),
            };
            let svcs: Vec<String> = a.services.iter().map(|s| s.to_string()).collect();
            format!("{ip}: {} if={ifs} svc={}", cands.join(","), svcs.join(","))
        })
        .collect()
}

type Edit = fn(&mut Scenario);

#[test]
fn l2_candidates_table() {
    let rows: Vec<(&str, String, Edit, Vec<&str>)> = vec![
        (
            "every available node",
            l2adv("{}"),
            |_| {},
            vec!["192.0.2.10: n1=0,n2=0,n3=0 if=all svc=default/web"],
        ),
        (
            "no L2Advertisement: not an L2 address",
            String::new(),
            |_| {},
            vec![],
        ),
        (
            "no serving endpoint: no candidates",
            l2adv("{}"),
            |s| s.slices = vec![slice("web", &[("n2", false)])],
            vec![],
        ),
        (
            "cluster policy does not need a local endpoint",
            l2adv("{}"),
            |s| s.slices = vec![slice("web", &[("n3", true)])],
            vec!["192.0.2.10: n1=0,n2=0,n3=0 if=all svc=default/web"],
        ),
        (
            "local policy: nodes with serving endpoints only",
            l2adv("{}"),
            |s| {
                s.services = vec![svc("web", &["192.0.2.10"], Some("pub"), true)];
                s.slices = vec![slice("web", &[("n2", true), ("n3", false)])];
            },
            vec!["192.0.2.10: n2=0 if=- svc=default/web"],
        ),
        (
            "NetworkUnavailable and excluded nodes are no candidates",
            l2adv("{}"),
            |s| {
                s.nodes[1] = node("n2", &[("rack", "b")], "192.0.2.202", true);
                s.nodes[2] = node(
                    "n3",
                    &[(
                        "node.kubernetes.io/exclude-from-external-load-balancers",
                        "true",
                    )],
                    "192.0.2.203",
                    false,
                );
            },
            vec!["192.0.2.10: n1=0 if=all svc=default/web"],
        ),
        (
            "node selector",
            l2adv("{nodeSelectors: [{matchLabels: {rack: b}}]}"),
            |_| {},
            vec!["192.0.2.10: n2=0,n3=0 if=- svc=default/web"],
        ),
        (
            "service selector not matching",
            l2adv("{serviceSelectors: [{matchLabels: {app: db}}]}"),
            |_| {},
            vec![],
        ),
        (
            "pool not covered",
            l2adv("{ipAddressPools: [priv]}"),
            |_| {},
            vec![],
        ),
        (
            "interfaces restricted",
            l2adv("{interfaces: [eth1, eth2]}"),
            |_| {},
            vec!["192.0.2.10: n1=0,n2=0,n3=0 if=eth1+eth2 svc=default/web"],
        ),
        (
            "preferred node weights",
            l2adv("{preferredNodeSelectors: [{weight: 50, preference: {matchLabels: {rack: b}}}]}"),
            |_| {},
            vec!["192.0.2.10: n1=0,n2=50,n3=50 if=all svc=default/web"],
        ),
        (
            "dual-stack: one entry per address",
            l2adv("{}"),
            |s| {
                s.services = vec![svc(
                    "web",
                    &["192.0.2.10", "2001:db8::a"],
                    Some("pub"),
                    false,
                )]
            },
            vec![
                "192.0.2.10: n1=0,n2=0,n3=0 if=all svc=default/web",
                "2001:db8::a: n1=0,n2=0,n3=0 if=all svc=default/web",
            ],
        ),
        (
            "shared address: candidate sets intersect",
            l2adv("{}"),
            |s| {
                s.services = vec![
                    svc("web", &["192.0.2.10"], Some("pub"), true),
                    svc("api", &["192.0.2.10"], Some("pub"), true),
                ];
                s.slices = vec![
                    slice("web", &[("n1", true), ("n2", true)]),
                    slice("api", &[("n2", true), ("n3", true)]),
                ];
            },
            vec!["192.0.2.10: n2=0 if=- svc=default/api,default/web"],
        ),
        (
            "shared address, disjoint sets: united rather than dropped",
            l2adv("{}"),
            |s| {
                s.services = vec![
                    svc("web", &["192.0.2.10"], Some("pub"), true),
                    svc("api", &["192.0.2.10"], Some("pub"), true),
                ];
                s.slices = vec![slice("web", &[("n1", true)]), slice("api", &[("n3", true)])];
            },
            vec!["192.0.2.10: n1=0,n3=0 if=all svc=default/api,default/web"],
        ),
    ];
    for (name, yaml, edit, want) in rows {
        let mut s = base(&yaml);
        edit(&mut s);
        let p = run(&s);
        assert_eq!(render(&p), want, "row {name:?}");
    }
}

#[test]
fn every_node_computes_the_same_candidates() {
    let yaml =
        l2adv("{preferredNodeSelectors: [{weight: 5, preference: {matchLabels: {rack: a}}}]}");
    let mut plans = Vec::new();
    for me in ["n1", "n2", "n3"] {
        let mut s = base(&yaml);
        s.me = me;
        let p = run(&s);
        plans.push(
            p.l2.values()
                .map(|a| a.candidates.clone())
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(plans[0], plans[1]);
    assert_eq!(plans[1], plans[2]);
    assert_eq!(plans[0].len(), 1);
}
