//! BGPPeer v1beta1 <-> v1beta2 conversion, as MetalLB's `bgppeer_conversion.go` does it,
//! and the ConversionReview exchange.

use lodestone_apis::conversion::{self, V1BETA1, V1BETA2};
use lodestone_apis::{v1beta1, v1beta2};
use proptest::prelude::*;
use serde_json::{Value, json};

fn v1(spec: Value) -> v1beta1::BGPPeer {
    serde_json::from_value(json!({
        "apiVersion": V1BETA1, "kind": "BGPPeer",
        "metadata": {"name": "peer", "namespace": "metallb-system", "labels": {"a": "b"}},
        "spec": spec,
    }))
    .expect("v1beta1 BGPPeer")
}

fn v2(spec: Value) -> v1beta2::BGPPeer {
    serde_json::from_value(json!({
        "apiVersion": V1BETA2, "kind": "BGPPeer",
        "metadata": {"name": "peer", "namespace": "metallb-system"},
        "spec": spec,
    }))
    .expect("v1beta2 BGPPeer")
}

fn spec_json<T: serde::Serialize>(obj: &T) -> Value {
    serde_json::to_value(obj).expect("encode")["spec"].clone()
}

#[test]
fn v1beta1_to_v1beta2_copies_every_field() {
    let old = v1(json!({
        "myASN": 64500, "peerASN": 64501, "peerAddress": "192.0.2.1",
        "sourceAddress": "192.0.2.10", "peerPort": 1179,
        "holdTime": "90s", "keepaliveTime": "30s", "routerID": "192.0.2.100",
        "nodeSelectors": [{"matchLabels": {"rack": "a"},
                           "matchExpressions": [{"key": "zone", "operator": "In", "values": ["z1", "z2"]}]}],
        "password": "secret", "bfdProfile": "fast", "ebgpMultiHop": true,
    }));
    let new = conversion::to_v1beta2(&old);
    assert_eq!(new.metadata, old.metadata);
    assert_eq!(
        spec_json(&new),
        json!({
            "myASN": 64500, "peerASN": 64501, "peerAddress": "192.0.2.1",
            "sourceAddress": "192.0.2.10", "peerPort": 1179,
            // Go's Duration.String
            "holdTime": "1m30s", "keepaliveTime": "30s", "routerID": "192.0.2.100",
            "nodeSelectors": [{"matchLabels": {"rack": "a"},
                               "matchExpressions": [{"key": "zone", "operator": "In", "values": ["z1", "z2"]}]}],
            "password": "secret", "bfdProfile": "fast", "ebgpMultiHop": true,
            "disableMP": false, "dualStackAddressFamily": false,
        })
    );
}

#[test]
fn v1beta1_to_v1beta2_always_sets_hold_and_keepalive() {
    let new = conversion::to_v1beta2(&v1(
        json!({"myASN": 64500, "peerASN": 64501, "peerAddress": "192.0.2.1"}),
    ));
    assert_eq!(new.spec.hold_time.as_deref(), Some("0s"));
    assert_eq!(new.spec.keepalive_time.as_deref(), Some("0s"));
    // Port absent (Go: 0, omitted) so the API server defaults it to 179 on v1beta2.
    assert_eq!(spec_json(&new).get("peerPort"), None);
    // Nothing v1beta2-only appears.
    for field in [
        "dynamicASN",
        "localASN",
        "interface",
        "connectTime",
        "passwordSecret",
        "vrf",
    ] {
        assert_eq!(spec_json(&new).get(field), None, "{field}");
    }
}

#[test]
fn go_omitempty_drops_empty_values() {
    let new = conversion::to_v1beta2(&v1(json!({
        "myASN": 64500, "peerASN": 64501, "peerAddress": "192.0.2.1",
        "peerPort": 0, "password": "", "routerID": "", "bfdProfile": "", "ebgpMultiHop": false,
    })));
    let spec = spec_json(&new);
    for field in [
        "peerPort",
        "password",
        "routerID",
        "bfdProfile",
        "ebgpMultiHop",
    ] {
        assert_eq!(spec.get(field), None, "{field} must be omitted");
    }
}

#[test]
fn node_selectors_follow_metallb() {
    let new = conversion::to_v1beta2(&v1(json!({
        "myASN": 1, "peerASN": 2, "peerAddress": "192.0.2.1",
        "nodeSelectors": [{}, {"matchLabels": {"x": "y"}}],
    })));
    assert_eq!(
        spec_json(&new)["nodeSelectors"],
        json!([{}, {"matchLabels": {"x": "y"}}])
    );
    // And back: every legacy selector gets its maps; Exists keeps an empty values list.
    let back = conversion::to_v1beta1(&v2(json!({
        "myASN": 1, "peerASN": 2, "peerAddress": "192.0.2.1",
        "nodeSelectors": [{"matchExpressions": [{"key": "k", "operator": "Exists"}]}],
    })));
    assert_eq!(
        spec_json(&back)["nodeSelectors"],
        json!([{"matchExpressions": [{"key": "k", "operator": "Exists", "values": []}]}])
    );
}

#[test]
fn v1beta2_to_v1beta1_drops_what_v1beta1_lacks() {
    let new = v2(json!({
        "myASN": 64500, "dynamicASN": "external", "localASN": 65000,
        "interface": "eth1", "connectTime": "5s",
        "passwordSecret": {"name": "s", "namespace": "metallb-system"},
        "enableGracefulRestart": true, "vrf": "red", "disableMP": true,
        "dualStackAddressFamily": true, "bfdProfile": "fast",
    }));
    let old = conversion::to_v1beta1(&new);
    assert_eq!(
        spec_json(&old),
        json!({
            // peerASN and peerAddress have no omitempty in v1beta1.
            "myASN": 64500, "peerASN": 0, "peerAddress": "",
            // peerPort 179 came from the v1beta2 default.
            "peerPort": 179,
            "holdTime": "0s", "keepaliveTime": "0s", "bfdProfile": "fast",
        })
    );
    let again = conversion::to_v1beta2(&old);
    assert_eq!(again.spec.dynamic_asn, None);
    assert_eq!(again.spec.interface, None);
    assert!(!again.spec.dual_stack_address_family);
}

#[test]
fn v1beta1_round_trip_is_stable_after_normalisation() {
    let old = v1(json!({
        "myASN": 64500, "peerASN": 64501, "peerAddress": "2001:db8::1",
        "holdTime": "1m30s", "keepaliveTime": "30s", "peerPort": 179,
        "nodeSelectors": [{"matchLabels": {"rack": "a"}}], "ebgpMultiHop": true,
    }));
    let back = conversion::to_v1beta1(&conversion::to_v1beta2(&old));
    assert_eq!(
        back, old,
        "a normalised v1beta1 object survives v1beta1→v1beta2→v1beta1"
    );
    let unnormalised =
        v1(json!({"myASN": 1, "peerASN": 2, "peerAddress": "192.0.2.1", "holdTime": "180s"}));
    let back = conversion::to_v1beta1(&conversion::to_v1beta2(&unnormalised));
    assert_eq!(back.spec.hold_time.as_deref(), Some("3m0s"));
    assert_eq!(back.spec.keepalive_time.as_deref(), Some("0s"));
}

#[test]
fn v1beta2_round_trip_keeps_the_common_fields() {
    let new = v2(json!({
        "myASN": 64500, "peerASN": 64501, "peerAddress": "192.0.2.1", "peerPort": 1790,
        "holdTime": "3m0s", "keepaliveTime": "1m0s", "routerID": "192.0.2.9",
        "password": "pw", "bfdProfile": "b", "ebgpMultiHop": true, "sourceAddress": "192.0.2.2",
        "nodeSelectors": [{"matchLabels": {"a": "b"}, "matchExpressions": [{"key": "k", "operator": "In", "values": ["v"]}]}],
    }));
    let back = conversion::to_v1beta2(&conversion::to_v1beta1(&new));
    assert_eq!(back, new);
}

#[test]
fn invalid_durations_pass_through_the_lenient_conversion() {
    // The configuration parser reports them against spec.holdTime.
    let new = conversion::to_v1beta2(&v1(json!({
        "myASN": 1, "peerASN": 2, "peerAddress": "192.0.2.1", "holdTime": "ninety",
    })));
    assert_eq!(new.spec.hold_time.as_deref(), Some("ninety"));
}

fn review_request(desired: &str, objects: Value) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "ConversionReview",
        "request": {"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "desiredAPIVersion": desired, "objects": objects},
    })
}

#[test]
fn review_converts_every_object_and_keeps_metadata_verbatim() {
    let metadata = json!({
        "name": "p", "namespace": "metallb-system", "uid": "1234",
        "creationTimestamp": "2025-01-02T03:04:05Z", "resourceVersion": "42",
        "annotations": {"note": "kept"},
    });
    let input = review_request(
        V1BETA2,
        json!([
            {"apiVersion": V1BETA1, "kind": "BGPPeer", "metadata": metadata,
             "spec": {"myASN": 1, "peerASN": 2, "peerAddress": "192.0.2.1", "holdTime": "90s"}},
            {"apiVersion": V1BETA2, "kind": "BGPPeer", "metadata": metadata,
             "spec": {"myASN": 1, "interface": "eth0", "dynamicASN": "internal"}},
        ]),
    );
    let out = conversion::review(&input);
    assert_eq!(out["apiVersion"], "apiextensions.k8s.io/v1");
    assert_eq!(out["kind"], "ConversionReview");
    assert_eq!(
        out["response"]["uid"],
        "705ab4f5-6393-11e8-b7cc-42010a800002"
    );
    assert_eq!(out["response"]["result"]["status"], "Success", "{out}");
    let objects = out["response"]["convertedObjects"]
        .as_array()
        .expect("list");
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[0]["apiVersion"], V1BETA2);
    assert_eq!(objects[0]["kind"], "BGPPeer");
    assert_eq!(objects[0]["metadata"], metadata);
    assert_eq!(objects[0]["spec"]["holdTime"], "1m30s");
    assert_eq!(objects[0]["spec"]["keepaliveTime"], "0s");
    // Already in the desired version: returned unchanged.
    assert_eq!(objects[1], input["request"]["objects"][1]);
}

#[test]
fn review_to_v1beta1() {
    let input = review_request(
        V1BETA1,
        json!([{"apiVersion": V1BETA2, "kind": "BGPPeer", "metadata": {"name": "p"},
                "spec": {"myASN": 1, "peerASN": 2, "peerAddress": "192.0.2.1", "vrf": "red"}}]),
    );
    let out = conversion::review(&input);
    assert_eq!(out["response"]["result"]["status"], "Success", "{out}");
    let obj = &out["response"]["convertedObjects"][0];
    assert_eq!(obj["apiVersion"], V1BETA1);
    assert_eq!(obj["spec"].get("vrf"), None);
    assert_eq!(obj["spec"]["holdTime"], "0s");
}

#[test]
fn review_failures() {
    let bad_duration = review_request(
        V1BETA2,
        json!([{"apiVersion": V1BETA1, "kind": "BGPPeer", "metadata": {"name": "p"},
                "spec": {"myASN": 1, "peerASN": 2, "peerAddress": "192.0.2.1", "holdTime": "90"}}]),
    );
    let wrong_kind = review_request(
        V1BETA2,
        json!([{"apiVersion": V1BETA1, "kind": "IPAddressPool", "metadata": {"name": "p"}, "spec": {}}]),
    );
    let wrong_version = review_request(
        "metallb.io/v1",
        json!([{"apiVersion": V1BETA1, "kind": "BGPPeer", "metadata": {"name": "p"},
                "spec": {"myASN": 1, "peerASN": 2, "peerAddress": "192.0.2.1"}}]),
    );
    let bad_type = review_request(
        V1BETA1,
        json!([{"apiVersion": V1BETA2, "kind": "BGPPeer", "metadata": {"name": "p"},
                "spec": {"myASN": "many"}}]),
    );
    let missing_required = review_request(
        V1BETA2,
        json!([{"apiVersion": V1BETA1, "kind": "BGPPeer", "metadata": {"name": "p"},
                "spec": {"myASN": 1}}]),
    );
    for (input, needle) in [
        (bad_duration, "holdTime"),
        (wrong_kind, "IPAddressPool"),
        (wrong_version, "metallb.io/v1"),
        (bad_type, "myASN"),
        (missing_required, "peerASN"),
        (json!({"kind": "ConversionReview"}), "no request"),
        (json!({"request": {"desiredAPIVersion": V1BETA2}}), "no uid"),
        (json!({"request": {"uid": "u"}}), "desiredAPIVersion"),
        (
            json!({"request": {"uid": "u", "desiredAPIVersion": V1BETA2, "objects": 3}}),
            "not a list",
        ),
    ] {
        let out = conversion::review(&input);
        assert_eq!(
            out["response"]["result"]["status"], "Failure",
            "{input} -> {out}"
        );
        let message = out["response"]["result"]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(
            message.contains(needle),
            "{message:?} should mention {needle:?}"
        );
        assert_eq!(out["response"]["convertedObjects"], json!([]));
    }
}

#[test]
fn empty_review_succeeds() {
    let out = conversion::review(&review_request(V1BETA2, json!([])));
    assert_eq!(out["response"]["result"]["status"], "Success");
    assert_eq!(out["response"]["convertedObjects"], json!([]));
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u32>().prop_map(Value::from),
        "[a-zA-Z0-9:./ -]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("metallb.io/v1beta1"),
            Just("metallb.io/v1beta2"),
            Just("BGPPeer"),
            Just("90s"),
            Just("1h"),
            Just("9999999999999999999h")
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("apiVersion".to_owned()),
                    Just("kind".to_owned()),
                    Just("metadata".to_owned()),
                    Just("spec".to_owned()),
                    Just("myASN".to_owned()),
                    Just("peerASN".to_owned()),
                    Just("peerAddress".to_owned()),
                    Just("holdTime".to_owned()),
                    Just("keepaliveTime".to_owned()),
                    Just("connectTime".to_owned()),
                    Just("nodeSelectors".to_owned()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..6,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    /// Arbitrary reviews and objects never panic, and always get a well-formed response.
    #[test]
    fn review_never_panics(objects in prop::collection::vec(arb_json(), 0..4), desired in prop_oneof![Just(V1BETA1), Just(V1BETA2)]) {
        let out = conversion::review(&review_request(desired, Value::Array(objects.clone())));
        let status = out["response"]["result"]["status"].as_str().unwrap_or_default().to_owned();
        prop_assert!(status == "Success" || status == "Failure");
        if status == "Success" {
            let converted = out["response"]["convertedObjects"].as_array().cloned().unwrap_or_default();
            prop_assert_eq!(converted.len(), objects.len());
            for obj in converted {
                prop_assert_eq!(obj["apiVersion"].as_str(), Some(desired));
            }
        }
    }

    /// Any well-typed v1beta1 peer converts and comes back with the same common fields.
    #[test]
    fn v1beta1_round_trip(
        my_asn in any::<u32>(), peer_asn in any::<u32>(),
        hold in prop::option::of(0i64..100_000), keepalive in prop::option::of(0i64..100_000),
        port in prop::option::of(0u16..16384), multihop in prop::option::of(any::<bool>()),
    ) {
        let secs = |s: Option<i64>| s.map(|s| format!("{s}s"));
        let old = v1(json!({
            "myASN": my_asn, "peerASN": peer_asn, "peerAddress": "192.0.2.1",
            "holdTime": secs(hold), "keepaliveTime": secs(keepalive),
            "peerPort": port, "ebgpMultiHop": multihop,
        }));
        let back = conversion::to_v1beta1(&conversion::to_v1beta2(&old));
        prop_assert_eq!(back.spec.my_asn, my_asn);
        prop_assert_eq!(back.spec.peer_asn, peer_asn);
        let as_nanos = |t: Option<&str>| t.map(|t| v1beta1::GoDuration::parse(t).map(|d| d.as_nanos()));
        prop_assert_eq!(as_nanos(back.spec.hold_time.as_deref()), Some(Ok(hold.unwrap_or(0) * 1_000_000_000)));
        prop_assert_eq!(as_nanos(back.spec.keepalive_time.as_deref()), Some(Ok(keepalive.unwrap_or(0) * 1_000_000_000)));
        prop_assert_eq!(back.spec.peer_port, port.filter(|&p| p != 0));
        prop_assert_eq!(back.spec.ebgp_multi_hop, multihop.filter(|&m| m));
    }
}

#[test]
fn conversion_webhook_stanza_points_at_the_review_endpoint() {
    use lodestone_apis::crdgen::{ConversionWebhook, bgppeer_conversion_webhook, crds};
    let mut crd = crds()
        .expect("generating CRDs")
        .into_iter()
        .find(|c| c.metadata.name.as_deref() == Some("bgppeers.metallb.io"))
        .expect("bgppeers CRD");
    assert_eq!(
        crd.spec.conversion, None,
        "the published CRD has no stanza, like MetalLB's"
    );
    crd.spec.conversion = Some(bgppeer_conversion_webhook(&ConversionWebhook {
        namespace: "metallb-system",
        service: "lodestone-webhook",
        path: "/convert",
        port: Some(9443),
        ca_bundle: Some(b"-----BEGIN CERTIFICATE-----\n"),
    }));
    let value = serde_json::to_value(&crd).expect("encode");
    assert_eq!(
        value["spec"]["conversion"],
        json!({
            "strategy": "Webhook",
            "webhook": {
                "clientConfig": {
                    "caBundle": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==",
                    "service": {"name": "lodestone-webhook", "namespace": "metallb-system", "path": "/convert", "port": 9443},
                },
                "conversionReviewVersions": ["v1"],
            },
        })
    );
}
