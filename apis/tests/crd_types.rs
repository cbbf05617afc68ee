//! Deserialization of MetalLB documents into the typed API: defaults, absent specs,
//! JSON names.

use lodestone_apis::v1beta2 as v2;
use lodestone_apis::{v1beta1, v1beta2};

fn from_yaml<T: serde::de::DeserializeOwned>(text: &str) -> T {
    match serde_yaml::from_str(text) {
        Ok(v) => v,
        Err(e) => panic!("cannot deserialize:\n{text}\n{e}"),
    }
}

#[test]
fn l2advertisement_without_spec_is_the_default_spec() {
    let adv: v1beta1::L2Advertisement = from_yaml(
        "apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata:\n  name: example\n  namespace: metallb-system\n",
    );
    assert_eq!(adv.metadata.name.as_deref(), Some("example"));
    assert_eq!(adv.spec, v1beta1::L2AdvertisementSpec::default());
    let null_spec: v1beta1::L2Advertisement = from_yaml(
        "apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: x}\nspec: null\n",
    );
    assert_eq!(null_spec.spec, v1beta1::L2AdvertisementSpec::default());
}

#[test]
fn ipaddresspool_requires_spec_and_addresses() {
    let no_spec = serde_yaml::from_str::<v1beta1::IPAddressPool>(
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p}\n",
    );
    assert!(no_spec.is_err());
    let no_addresses = serde_yaml::from_str::<v1beta1::IPAddressPool>(
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p}\nspec: {}\n",
    );
    assert!(no_addresses.is_err());
}

#[test]
fn ipaddresspool_defaults_and_names() {
    let pool: v1beta1::IPAddressPool = from_yaml(
        r#"
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: pool, namespace: metallb-system}
spec:
  addresses: ["192.0.2.0/24", "198.51.100.10-198.51.100.20"]
  serviceAllocation:
    priority: 50
    namespaces: [a]
    namespaceSelectors: [{matchLabels: {team: x}}]
    serviceSelectors: [{matchExpressions: [{key: app, operator: In, values: [db]}]}]
status: {assignedIPv4: 1, assignedIPv6: 0, availableIPv4: 255, availableIPv6: 0}
"#,
    );
    assert!(pool.spec.auto_assign, "autoAssign defaults to true");
    assert!(
        !pool.spec.avoid_buggy_ips,
        "avoidBuggyIPs defaults to false"
    );
    let alloc = pool
        .spec
        .service_allocation
        .as_ref()
        .expect("serviceAllocation");
    assert_eq!(alloc.priority, Some(50));
    assert_eq!(alloc.namespaces, ["a"]);
    assert_eq!(alloc.namespace_selectors.len(), 1);
    assert_eq!(alloc.service_selectors.len(), 1);
    let status = pool.status.as_ref().expect("status");
    assert_eq!((status.assigned_ipv4, status.available_ipv4), (1, 255));
    let json = serde_json::to_value(&pool).expect("serialize");
    assert_eq!(json["spec"]["avoidBuggyIPs"], false);
    assert_eq!(json["spec"]["autoAssign"], true);
    assert_eq!(json["status"]["availableIPv4"], 255);
    assert_eq!(json["apiVersion"], "metallb.io/v1beta1");
    assert_eq!(json["kind"], "IPAddressPool");
}

#[test]
fn bgpadvertisement_defaults() {
    let adv: v1beta1::BGPAdvertisement = from_yaml(
        "apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: a}\nspec:\n  localPref: 100\n  communities: [\"65000:1\", \"large:1:2:3\", alias]\n",
    );
    assert_eq!(adv.spec.aggregation_length, 32);
    assert_eq!(adv.spec.aggregation_length_v6, 128);
    assert_eq!(adv.spec.local_pref, Some(100));
    assert_eq!(adv.spec.communities.len(), 3);
    let empty: v1beta1::BGPAdvertisement =
        from_yaml("apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: a}\n");
    assert_eq!(empty.spec.aggregation_length, 32);
    assert_eq!(empty.spec.aggregation_length_v6, 128);
}

#[test]
fn bgppeer_v1beta2_fields_and_defaults() {
    let peer: v1beta2::BGPPeer = from_yaml(
        r#"
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: p, namespace: metallb-system}
spec:
  myASN: 4200000000
  dynamicASN: external
  localASN: 65010
  interface: eth1
  holdTime: 90s
  keepaliveTime: 30s
  connectTime: 5s
  routerID: 192.0.2.1
  nodeSelectors: [{matchLabels: {rack: a}}]
  passwordSecret: {name: s, namespace: metallb-system, key: pw}
  bfdProfile: fast
  enableGracefulRestart: true
  ebgpMultiHop: true
  vrf: red
  dualStackAddressFamily: true
"#,
    );
    let s = &peer.spec;
    assert_eq!(s.my_asn, 4_200_000_000);
    assert_eq!(s.peer_asn, None);
    assert_eq!(s.dynamic_asn, Some(v2::DynamicASNMode::External));
    assert_eq!(s.local_asn, Some(65010));
    assert_eq!(s.interface.as_deref(), Some("eth1"));
    assert_eq!(s.peer_port, Some(179), "peerPort defaults to 179");
    assert_eq!(s.connect_time.as_deref(), Some("5s"));
    assert_eq!(s.router_id.as_deref(), Some("192.0.2.1"));
    let secret = s.password_secret.as_ref().expect("passwordSecret");
    assert_eq!(secret.key.as_deref(), Some("pw"));
    assert!(!s.disable_mp);
    assert!(s.dual_stack_address_family);
    assert_eq!(s.enable_graceful_restart, Some(true));
    assert_eq!(s.vrf.as_deref(), Some("red"));
    let json = serde_json::to_value(&peer).expect("serialize");
    assert_eq!(json["spec"]["myASN"], 4_200_000_000_u64);
    assert_eq!(json["spec"]["dynamicASN"], "external");
    assert_eq!(json["spec"]["localASN"], 65010);
    assert_eq!(json["spec"]["routerID"], "192.0.2.1");
    assert_eq!(json["spec"]["disableMP"], false);
    assert_eq!(json["apiVersion"], "metallb.io/v1beta2");
}

#[test]
fn wrong_types_are_errors_not_panics() {
    for bad in [
        "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: p}\nspec: {myASN: 4294967296}\n",
        "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: p}\nspec: {myASN: -1}\n",
        "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: p}\nspec: {myASN: 1, dynamicASN: both}\n",
        "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: p}\nspec: {myASN: 1, peerPort: 70000}\n",
        "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: p}\nspec: [1, 2]\n",
    ] {
        assert!(serde_yaml::from_str::<v2::BGPPeer>(bad).is_err(), "{bad}");
    }
}

/// A value for every property of a reference schema: the first enum value, the minimum
/// (or 1), `true`, one-item arrays, every property of objects, one entry for maps.
fn full_sample(schema: &serde_json::Value) -> serde_json::Value {
    use serde_json::{Value, json};
    if let Some(first) = schema.get("enum").and_then(|e| e.get(0)) {
        return first.clone();
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("string") if schema.get("format").and_then(Value::as_str) == Some("date-time") => {
            json!("2025-01-02T03:04:05Z")
        }
        Some("string") => json!("Sample1"),
        Some("boolean") => json!(true),
        Some("integer") => {
            let min = schema.get("minimum").and_then(Value::as_i64).unwrap_or(1);
            json!(min.max(1))
        }
        Some("array") => json!([full_sample(&schema["items"])]),
        Some("object") => {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                Value::Object(
                    props
                        .iter()
                        .map(|(k, v)| (k.clone(), full_sample(v)))
                        .collect(),
                )
            } else if let Some(values) = schema.get("additionalProperties") {
                json!({ "k": full_sample(values) })
            } else {
                json!({})
            }
        }
        _ => Value::Null,
    }
}

/// Every field of MetalLB's CRDs survives deserializing into our types and serializing
/// back: a field dropped, renamed or mistyped in Rust fails here.
#[test]
fn every_reference_field_round_trips_through_the_rust_types() {
    use serde_json::Value;
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/reference/metallb-v0.16.1-crds");
    assert!(dir.is_dir(), "reference CRDs missing at {}", dir.display());
    fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(v: &Value) -> Value {
        let typed: T =
            serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("deserializing {v}: {e}"));
        serde_json::to_value(typed).expect("serialize")
    }
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("reference dir").flatten() {
        let text = std::fs::read_to_string(entry.path()).expect("read");
        let crd: Value = serde_yaml::from_str(&text).expect("yaml");
        let kind = crd["spec"]["names"]["kind"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        for version in crd["spec"]["versions"].as_array().into_iter().flatten() {
            let name = version["name"].as_str().unwrap_or_default();
            let mut sample = full_sample(&version["schema"]["openAPIV3Schema"]);
            sample["apiVersion"] = format!("metallb.io/{name}").into();
            sample["kind"] = kind.clone().into();
            sample["metadata"] =
                serde_json::json!({"name": "sample", "namespace": "metallb-system"});
            let back = match (kind.as_str(), name) {
                ("IPAddressPool", _) => round_trip::<v1beta1::IPAddressPool>(&sample),
                ("L2Advertisement", _) => round_trip::<v1beta1::L2Advertisement>(&sample),
                ("BGPAdvertisement", _) => round_trip::<v1beta1::BGPAdvertisement>(&sample),
                ("BFDProfile", _) => round_trip::<v1beta1::BFDProfile>(&sample),
                ("Community", _) => round_trip::<v1beta1::Community>(&sample),
                ("ServiceL2Status", _) => round_trip::<v1beta1::ServiceL2Status>(&sample),
                ("ServiceBGPStatus", _) => round_trip::<v1beta1::ServiceBGPStatus>(&sample),
                ("ConfigurationState", _) => round_trip::<v1beta1::ConfigurationState>(&sample),
                ("BGPPeer", "v1beta1") => round_trip::<v1beta1::BGPPeer>(&sample),
                ("BGPPeer", "v1beta2") => round_trip::<v1beta2::BGPPeer>(&sample),
                other => panic!("no Rust type for {other:?}"),
            };
            assert_eq!(back, sample, "{kind} {name} changed in a round trip");
            checked += 1;
        }
    }
    assert_eq!(checked, 10, "9 kinds, BGPPeer in two versions");
}

#[test]
fn spec_schemas_keep_their_names() {
    use schemars::JsonSchema;
    assert_eq!(
        v1beta1::L2AdvertisementSpec::schema_name(),
        "L2AdvertisementSpec"
    );
    assert_eq!(v1beta2::BGPPeerSpec::schema_name(), "BGPPeerSpec");
    assert_eq!(
        v1beta1::ServiceL2StatusSpec::schema_name(),
        "ServiceL2StatusSpec"
    );
}
