//! CRDs: MetalLB and Gateway API definitions from shared/reference, schema validation with the
//! real 422 body, defaults, pruning, and version conversion (rewrite and webhook).

use base64::Engine;
use serde_json::{Value, json};

use crate::webhooks::serve_webhook;
use crate::{call, shared, start};

fn load_yaml_docs(dir: &std::path::Path) -> Vec<Value> {
    let mut out = vec![];
    let mut paths: Vec<_> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => panic!("reading {}: {e}", dir.display()),
    };
    paths.sort();
    for p in paths
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
    {
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            if let Ok(v) = <Value as serde::Deserialize>::deserialize(doc)
                && v.is_object()
            {
                out.push(v);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metallb_and_gateway_crds_serve_and_validate() {
    let emu = start().await;
    let mut crds = load_yaml_docs(&shared().join("reference/metallb-v0.16.1-crds"));
    crds.extend(
        load_yaml_docs(&shared().join("reference/gateway-api-v1.5.1"))
            .into_iter()
            .filter(|d| d["kind"] == "CustomResourceDefinition"),
    );
    assert!(crds.len() >= 17, "found {} CRDs", crds.len());
    for crd in &crds {
        let r = call(
            &emu,
            "POST",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            Some(crd),
        )
        .await;
        assert_eq!(
            r.code,
            201,
            "{}: {}",
            crd["metadata"]["name"],
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.json()["status"]["conditions"][1]["type"], "Established");
    }
    let groups = call(&emu, "GET", "/apis", None).await.json();
    let names: Vec<&str> = groups["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g["name"].as_str())
        .collect();
    assert!(
        names.contains(&"metallb.io") && names.contains(&"gateway.networking.k8s.io"),
        "{names:?}"
    );
    let g = call(&emu, "GET", "/apis/metallb.io", None).await.json();
    assert_eq!(g["preferredVersion"]["version"], "v1beta2");

    // IPAddressPool: defaults applied, unknown fields pruned.
    let base = "/apis/metallb.io/v1beta1/namespaces/default/ipaddresspools";
    let r = call(
        &emu,
        "POST",
        base,
        Some(
            &json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
        "metadata": {"name": "p"}, "spec": {"addresses": ["192.0.2.0/28"], "bogus": 1}}),
        ),
    )
    .await;
    assert_eq!(r.code, 201);
    let spec = &r.json()["spec"];
    assert_eq!(spec["autoAssign"], true);
    assert_eq!(spec["avoidBuggyIPs"], false);
    assert!(spec.get("bogus").is_none());
    // Missing required field → 422 naming the field.
    let r = call(
        &emu,
        "POST",
        base,
        Some(
            &json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
        "metadata": {"name": "q"}, "spec": {}}),
        ),
    )
    .await;
    assert_eq!(r.code, 422);
    assert_eq!(
        r.json()["message"],
        "IPAddressPool.metallb.io \"q\" is invalid: spec.addresses: Required value"
    );
    assert_eq!(
        r.json()["details"]["causes"][0],
        json!({"reason": "FieldValueRequired", "message": "Required value", "field": "spec.addresses"})
    );
    // BGPPeer: wrong type and out of range.
    let r = call(&emu, "POST", "/apis/metallb.io/v1beta2/namespaces/default/bgppeers", Some(&json!({"apiVersion": "metallb.io/v1beta2",
        "kind": "BGPPeer", "metadata": {"name": "b"}, "spec": {"myASN": "x", "peerASN": 64512, "peerAddress": "192.0.2.1", "peerPort": 70000}}))).await;
    assert_eq!(r.code, 422);
    let causes = r.json()["details"]["causes"].clone();
    let fields: Vec<&str> = causes
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["field"].as_str())
        .collect();
    assert_eq!(fields, vec!["spec.myASN", "spec.peerPort"]);
    assert_eq!(
        causes[0]["message"],
        "Invalid value: \"string\": spec.myASN in body must be of type integer: \"string\""
    );
    assert_eq!(
        causes[1]["message"],
        "Invalid value: 70000: spec.peerPort in body should be less than or equal to 16384"
    );

    // Gateway API: enum and pattern.
    let r = call(&emu, "POST", "/apis/gateway.networking.k8s.io/v1/gatewayclasses", Some(&json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": "gc"},
        "spec": {"controllerName": "not a domain/path"}}))).await;
    assert_eq!(r.code, 422, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        r.json()["details"]["causes"][0]["field"],
        "spec.controllerName"
    );
    let r = call(&emu, "POST", "/apis/gateway.networking.k8s.io/v1/gatewayclasses", Some(&json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": "gc"},
        "spec": {"controllerName": "example.com/lb"}}))).await;
    assert_eq!(r.code, 201);
    assert_eq!(r.json()["status"]["conditions"][0]["reason"], "Pending");
    // Strategic merge patch is not for custom resources.
    let r = crate::call_ct(
        &emu,
        "PATCH",
        "/apis/gateway.networking.k8s.io/v1/gatewayclasses/gc",
        "application/strategic-merge-patch+json",
        "{}",
    )
    .await;
    assert_eq!(r.code, 415);
}

fn two_version_crd(conversion: Value) -> Value {
    let schema = json!({"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}});
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.com"},
        "spec": {"group": "example.com", "scope": "Cluster", "conversion": conversion,
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
            "versions": [
                {"name": "v1", "served": true, "storage": true, "schema": schema},
                {"name": "v1beta1", "served": true, "storage": false, "schema": schema}]}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversion_by_rewrite_and_by_webhook() {
    let emu = start().await;
    let r = call(
        &emu,
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        Some(&two_version_crd(json!({"strategy": "None"}))),
    )
    .await;
    assert_eq!(r.code, 201);
    let r = call(
        &emu,
        "POST",
        "/apis/example.com/v1beta1/gadgets",
        Some(
            &json!({"apiVersion": "example.com/v1beta1", "kind": "Gadget",
        "metadata": {"name": "g"}, "spec": {"old": 1}}),
        ),
    )
    .await;
    assert_eq!(r.code, 201);
    assert_eq!(r.json()["apiVersion"], "example.com/v1beta1");
    let r = call(&emu, "GET", "/apis/example.com/v1/gadgets/g", None)
        .await
        .json();
    assert_eq!(r["apiVersion"], "example.com/v1");
    assert_eq!(r["spec"]["old"], 1);

    // Webhook: v1beta1 `spec.old` is v1 `spec.new`.
    let (url, ca) = serve_webhook(|review: Value| {
        let desired = review["request"]["desiredAPIVersion"].as_str().unwrap_or_default().to_string();
        let objs: Vec<Value> = review["request"]["objects"].as_array().cloned().unwrap_or_default().into_iter().map(|mut o| {
            let (from, to) = if desired.ends_with("/v1") { ("old", "new") } else { ("new", "old") };
            if let Some(v) = o["spec"].as_object_mut().and_then(|s| s.remove(from)) {
                o["spec"][to] = v;
            }
            o["apiVersion"] = json!(desired);
            o
        }).collect();
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview", "response": {
            "uid": review["request"]["uid"], "convertedObjects": objs, "result": {"status": "Success"}}})
    }).await;
    let mut crd = call(
        &emu,
        "GET",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.example.com",
        None,
    )
    .await
    .json();
    crd["spec"]["conversion"] = json!({"strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v1"],
        "clientConfig": {"url": format!("{url}/convert"), "caBundle": base64::engine::general_purpose::STANDARD.encode(&ca)}}});
    let r = call(
        &emu,
        "PUT",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.example.com",
        Some(&crd),
    )
    .await;
    assert_eq!(r.code, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = call(
        &emu,
        "POST",
        "/apis/example.com/v1beta1/gadgets",
        Some(
            &json!({"apiVersion": "example.com/v1beta1", "kind": "Gadget",
        "metadata": {"name": "h"}, "spec": {"old": 2}}),
        ),
    )
    .await;
    assert_eq!(r.code, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["spec"], json!({"old": 2}));
    let r = call(&emu, "GET", "/apis/example.com/v1/gadgets/h", None)
        .await
        .json();
    assert_eq!(r["spec"], json!({"new": 2}));
    let list = call(&emu, "GET", "/apis/example.com/v1beta1/gadgets", None)
        .await
        .json();
    assert_eq!(list["items"][1]["spec"], json!({"old": 2}));
    assert_eq!(list["items"][1]["apiVersion"], "example.com/v1beta1");
}
