//! Reading manifests: unreadable input is a LoadError (never a panic), unknown fields are
//! warnings, other kinds are ignored, v1beta1 BGPPeers are converted; and a property test
//! feeding arbitrary YAML/JSON to the loader and the parser.

use lodestone_apis::config::{Config, LoadError, Resources, load_str};
use proptest::prelude::*;

fn load(text: &str) -> Result<(Resources, Vec<String>), LoadError> {
    let mut r = Resources::default();
    let w = load_str("t.yaml", text, &mut r)?;
    Ok((r, w.iter().map(ToString::to_string).collect()))
}

type Case = (&'static str, &'static str, fn(&LoadError) -> bool);

#[test]
fn unreadable_inputs_are_errors() {
    let cases: &[Case] = &[
        ("bad YAML", "a: [b\n", |e| {
            matches!(e, LoadError::Yaml { .. })
        }),
        ("tab indentation", "apiVersion: v1\n\tkind: x\n", |e| {
            matches!(e, LoadError::Yaml { .. })
        }),
        ("a scalar", "just text\n", |e| {
            matches!(e, LoadError::NotAnObject { .. })
        }),
        ("no kind", "apiVersion: v1\nmetadata: {}\n", |e| {
            matches!(e, LoadError::NotAnObject { .. })
        }),
        ("kind not a string", "apiVersion: v1\nkind: [a]\n", |e| {
            matches!(e, LoadError::NotAnObject { .. })
        }),
        (
            "unknown metallb.io version",
            "apiVersion: metallb.io/v1\nkind: IPAddressPool\nmetadata: {name: a}\nspec: {addresses: []}\n",
            |e| matches!(e, LoadError::UnknownApiVersion { .. }),
        ),
        (
            "v1beta2 of a kind only served as v1beta1",
            "apiVersion: metallb.io/v1beta2\nkind: IPAddressPool\nmetadata: {name: a}\nspec: {addresses: []}\n",
            |e| matches!(e, LoadError::UnknownApiVersion { .. }),
        ),
        (
            "unknown metallb.io kind",
            "apiVersion: metallb.io/v1beta1\nkind: AddressPool\nmetadata: {name: a}\n",
            |e| matches!(e, LoadError::UnknownKind { .. }),
        ),
        (
            "wrong type",
            "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: p}\nspec: {myASN: lots, peerASN: 1, peerAddress: 192.0.2.1}\n",
            |e| matches!(e, LoadError::WrongType { path, .. } if path == "spec.myASN"),
        ),
        (
            "ASN beyond 32 bits",
            "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: p}\nspec: {myASN: 4294967296, peerASN: 1, peerAddress: 192.0.2.1}\n",
            |e| matches!(e, LoadError::WrongType { .. }),
        ),
        (
            "unknown dynamicASN mode",
            "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: p}\nspec: {myASN: 1, dynamicASN: maybe, peerAddress: 192.0.2.1}\n",
            |e| matches!(e, LoadError::WrongType { path, .. } if path == "spec.dynamicASN"),
        ),
        (
            "addresses not a list",
            "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: a}\nspec: {addresses: 192.0.2.0/24}\n",
            |e| matches!(e, LoadError::WrongType { .. }),
        ),
        (
            "Secret data not base64",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: \"not base64!\"}\n",
            |e| matches!(e, LoadError::WrongType { .. }),
        ),
    ];
    for (name, text, check) in cases {
        match load(text) {
            Ok(_) => panic!("{name}: loaded"),
            Err(e) => assert!(check(&e), "{name}: unexpected error {e:?}"),
        }
    }
}

#[test]
fn unknown_fields_are_warnings() {
    let text = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: a\n  colour: red\nspec:\n  addresses: [192.0.2.0/24]\n  autoAsign: false\n  serviceAllocation:\n    priority: 1\n    namespace: [x]\n";
    let (r, warnings) = match load(text) {
        Ok(x) => x,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(r.pools.len(), 1);
    assert!(
        r.pools[0].spec.auto_assign,
        "the misspelt field must not apply"
    );
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    for field in [
        "metadata.colour",
        "spec.autoAsign",
        "spec.serviceAllocation.namespace",
    ] {
        assert!(
            warnings.iter().any(|w| w.contains(&format!("\"{field}\""))),
            "{field} not in {warnings:?}"
        );
    }
}

#[test]
fn other_kinds_are_ignored_and_lists_are_read() {
    let text = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec: {whatever: [1, 2]}
---
apiVersion: v1
kind: Service
metadata: {name: s}
---
# an empty document follows
---
apiVersion: v1
kind: List
items:
- apiVersion: metallb.io/v1beta1
  kind: IPAddressPool
  metadata: {name: a, namespace: ns}
  spec: {addresses: [192.0.2.0/24]}
- apiVersion: v1
  kind: Namespace
  metadata: {name: ns, labels: {team: web}}
- apiVersion: v1
  kind: Node
  metadata: {name: n1}
- apiVersion: metallb.io/v1beta1
  kind: ServiceL2Status
  metadata: {name: st}
"#;
    let (r, warnings) = match load(text) {
        Ok(x) => x,
        Err(e) => panic!("{e}"),
    };
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        (r.pools.len(), r.namespaces.len(), r.nodes.len()),
        (1, 1, 1)
    );
    assert_eq!(r.metallb_objects(), 1);
}

#[test]
fn json_documents_and_v1beta1_peers() {
    let text = r#"{"apiVersion": "metallb.io/v1beta1", "kind": "BGPPeer",
        "metadata": {"name": "p", "namespace": "m"},
        "spec": {"myASN": 64500, "peerASN": 64501, "peerAddress": "192.0.2.1", "holdTime": "30s", "keepaliveTime": "10s"}}"#;
    let (r, _) = match load(text) {
        Ok(x) => x,
        Err(e) => panic!("{e}"),
    };
    let (config, _) = match Config::from_resources(&r) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let t = config.peers["p"].timers;
    assert_eq!((t.hold.as_secs(), t.keepalive.as_secs()), (30, 10));
}

fn kinds() -> impl Strategy<Value = (&'static str, &'static str)> {
    prop::sample::select(vec![
        ("metallb.io/v1beta1", "IPAddressPool"),
        ("metallb.io/v1beta1", "BGPAdvertisement"),
        ("metallb.io/v1beta1", "L2Advertisement"),
        ("metallb.io/v1beta1", "BFDProfile"),
        ("metallb.io/v1beta1", "Community"),
        ("metallb.io/v1beta1", "BGPPeer"),
        ("metallb.io/v1beta2", "BGPPeer"),
        ("v1", "Secret"),
        ("v1", "Node"),
    ])
}

/// Arbitrary JSON values, biased towards the shapes the parser reads.
fn json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u32>().prop_map(serde_json::Value::from),
        "[0-9a-f:./ -]{0,24}".prop_map(serde_json::Value::from),
        prop::sample::select(vec![
            "192.0.2.0/24",
            "192.0.2.1-192.0.2.9",
            "2001:db8::/64",
            "90s",
            "0s",
            "65000:100",
            "large:1:2:3",
            "internal",
            "In",
            "password",
            "Opaque",
            "cGFzcw==",
        ])
        .prop_map(serde_json::Value::from),
    ];
    let keys = prop::sample::select(vec![
        "addresses",
        "autoAssign",
        "serviceAllocation",
        "priority",
        "namespaces",
        "serviceSelectors",
        "matchLabels",
        "matchExpressions",
        "key",
        "operator",
        "values",
        "myASN",
        "peerASN",
        "dynamicASN",
        "peerAddress",
        "holdTime",
        "keepaliveTime",
        "passwordSecret",
        "name",
        "bfdProfile",
        "communities",
        "value",
        "aggregationLength",
        "localPref",
        "ipAddressPools",
        "peers",
        "nodeSelectors",
        "interfaces",
        "receiveInterval",
        "minimumTtl",
        "data",
        "type",
    ]);
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(keys.clone(), inner, 0..6).prop_map(|m| {
                serde_json::Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any text: the loader returns (Ok or Err) and the parser returns, never panicking.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let mut r = Resources::default();
        if load_str("p", &text, &mut r).is_ok() {
            let _ = Config::from_resources(&r);
        }
    }

    /// Objects of the parsed kinds with arbitrary specs, as YAML and as JSON.
    #[test]
    fn arbitrary_objects_never_panic(
        docs in prop::collection::vec((kinds(), json(), json()), 1..5),
    ) {
        let mut yaml = String::new();
        let mut json_docs = Vec::new();
        for (i, ((api, kind), spec, data)) in docs.iter().enumerate() {
            let obj = serde_json::json!({
                "apiVersion": api, "kind": kind,
                "metadata": {"name": format!("o{}", i % 3), "namespace": "m"},
                "spec": spec, "data": data,
            });
            yaml.push_str("---\n");
            yaml.push_str(&serde_yaml::to_string(&obj).unwrap_or_default());
            json_docs.push(obj.to_string());
        }
        let mut r = Resources::default();
        if load_str("p", &yaml, &mut r).is_ok() {
            let _ = Config::from_resources(&r);
        }
        for doc in json_docs {
            let mut r = Resources::default();
            if load_str("p.json", &doc, &mut r).is_ok() {
                let _ = Config::from_resources(&r);
            }
        }
    }
}
