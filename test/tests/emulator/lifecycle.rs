//! Object lifecycle: finalizers, garbage collection, namespace deletion, status subresource,
//! generation, and Service defaulting.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{call, call_ct, start};

async fn eventually(emu: &lodestone_test::Emulator, path: &str, code: u16) -> Value {
    for _ in 0..100 {
        let r = call(emu, "GET", path, None).await;
        if r.code == code {
            return r.json();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{path} never answered {code}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finalizers_and_garbage_collection() {
    let emu = start().await;
    let base = "/api/v1/namespaces/default/configmaps";
    let owner = call(
        &emu,
        "POST",
        base,
        Some(&json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "owner", "finalizers": ["example.com/hold"]}})),
    )
    .await
    .json();
    let uid = owner["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(uid.len(), 36);
    for name in ["dep1", "dep2"] {
        let r = call(&emu, "POST", base, Some(&json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid}]}}))).await;
        assert_eq!(r.code, 201);
    }
    // Finalizer: delete only marks.
    let r = call(&emu, "DELETE", &format!("{base}/owner"), None).await;
    assert_eq!(r.code, 200);
    assert!(r.json()["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(
        call(&emu, "GET", &format!("{base}/dep1"), None).await.code,
        200
    );
    // Removing the finalizer removes the object; dependents follow in the background.
    let r = call_ct(
        &emu,
        "PATCH",
        &format!("{base}/owner"),
        "application/merge-patch+json",
        "{\"metadata\":{\"finalizers\":null}}",
    )
    .await;
    assert_eq!(r.code, 200);
    eventually(&emu, &format!("{base}/owner"), 404).await;
    eventually(&emu, &format!("{base}/dep1"), 404).await;
    eventually(&emu, &format!("{base}/dep2"), 404).await;

    // Orphan keeps the dependent and strips the reference.
    let o2 = call(
        &emu,
        "POST",
        base,
        Some(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "o2"}})),
    )
    .await
    .json();
    let uid2 = o2["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    call(&emu, "POST", base, Some(&json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "kept", "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o2", "uid": uid2}]}}))).await;
    let r = call(
        &emu,
        "DELETE",
        &format!("{base}/o2?propagationPolicy=Orphan"),
        None,
    )
    .await;
    assert_eq!(r.code, 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let kept = call(&emu, "GET", &format!("{base}/kept"), None)
        .await
        .json();
    assert_eq!(
        kept["metadata"]
            .get("ownerReferences")
            .cloned()
            .unwrap_or(json!([])),
        json!([])
    );

    // Foreground: the owner waits for its dependents.
    let o3 = call(
        &emu,
        "POST",
        base,
        Some(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "o3"}})),
    )
    .await
    .json();
    let uid3 = o3["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    call(&emu, "POST", base, Some(&json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "child", "finalizers": ["example.com/x"], "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o3", "uid": uid3}]}}))).await;
    let r = call(&emu, "DELETE", &format!("{base}/o3"), Some(&json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"}))).await;
    assert_eq!(r.code, 200);
    assert_eq!(
        r.json()["metadata"]["finalizers"],
        json!(["foregroundDeletion"])
    );
    let child = eventually(&emu, &format!("{base}/child"), 200).await;
    for _ in 0..50 {
        if call(&emu, "GET", &format!("{base}/child"), None)
            .await
            .json()["metadata"]["deletionTimestamp"]
            .is_string()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = child;
    assert_eq!(
        call(&emu, "GET", &format!("{base}/o3"), None).await.code,
        200
    );
    call_ct(
        &emu,
        "PATCH",
        &format!("{base}/child"),
        "application/merge-patch+json",
        "{\"metadata\":{\"finalizers\":null}}",
    )
    .await;
    eventually(&emu, &format!("{base}/o3"), 404).await;

    // deletecollection with a selector.
    for n in ["x1", "x2", "y1"] {
        call(&emu, "POST", base, Some(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n, "labels": {"set": &n[..1]}}}))).await;
    }
    let r = call(
        &emu,
        "DELETE",
        &format!("{base}?labelSelector=set%3Dx"),
        None,
    )
    .await;
    assert_eq!(r.code, 200);
    assert_eq!(
        call(&emu, "GET", &format!("{base}/x1"), None).await.code,
        404
    );
    assert_eq!(
        call(&emu, "GET", &format!("{base}/y1"), None).await.code,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_deletion_empties_then_removes() {
    let emu = start().await;
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "doomed"}});
    assert_eq!(
        call(&emu, "POST", "/api/v1/namespaces", Some(&ns))
            .await
            .code,
        201
    );
    let base = "/api/v1/namespaces/doomed/configmaps";
    call(&emu, "POST", base, Some(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "finalizers": ["x/y"]}}))).await;
    let r = call(&emu, "DELETE", "/api/v1/namespaces/doomed", None).await;
    assert_eq!(r.json()["status"]["phase"], "Terminating");
    let r = call(
        &emu,
        "POST",
        base,
        Some(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}})),
    )
    .await;
    assert_eq!(r.code, 403);
    assert_eq!(
        r.json()["message"],
        "configmaps \"b\" is forbidden: unable to create new content in namespace doomed because it is being terminated"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        call(&emu, "GET", "/api/v1/namespaces/doomed", None)
            .await
            .code,
        200
    );
    call_ct(
        &emu,
        "PATCH",
        &format!("{base}/a"),
        "application/merge-patch+json",
        "{\"metadata\":{\"finalizers\":[]}}",
    )
    .await;
    eventually(&emu, "/api/v1/namespaces/doomed", 404).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_subresource_and_generation() {
    let emu = start().await;
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
            "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {"size": {"type": "integer"}}},
                    "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}}}}}]}});
    assert_eq!(
        call(
            &emu,
            "POST",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            Some(&crd)
        )
        .await
        .code,
        201
    );
    let base = "/apis/example.com/v1/namespaces/default/widgets";
    let w = call(
        &emu,
        "POST",
        base,
        Some(&json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w"}, "spec": {"size": 1}, "status": {"ready": true}})),
    )
    .await
    .json();
    assert_eq!(w["metadata"]["generation"], 1);
    assert!(w.get("status").is_none(), "create drops status: {w}");
    // Status write: only status changes, generation stays.
    let r = call_ct(
        &emu,
        "PATCH",
        &format!("{base}/w/status"),
        "application/merge-patch+json",
        "{\"spec\":{\"size\":5},\"status\":{\"ready\":true}}",
    )
    .await
    .json();
    assert_eq!(r["spec"]["size"], 1);
    assert_eq!(r["status"]["ready"], true);
    assert_eq!(r["metadata"]["generation"], 1);
    // Main write: status ignored, generation moves on spec change only.
    let r = call_ct(
        &emu,
        "PATCH",
        &format!("{base}/w"),
        "application/merge-patch+json",
        "{\"spec\":{\"size\":2},\"status\":{\"ready\":false}}",
    )
    .await
    .json();
    assert_eq!(r["status"]["ready"], true);
    assert_eq!(r["metadata"]["generation"], 2);
    let r = call_ct(
        &emu,
        "PATCH",
        &format!("{base}/w"),
        "application/merge-patch+json",
        "{\"metadata\":{\"labels\":{\"a\":\"b\"}}}",
    )
    .await
    .json();
    assert_eq!(r["metadata"]["generation"], 2);
    // A no-op write keeps the resourceVersion.
    let again = call_ct(
        &emu,
        "PATCH",
        &format!("{base}/w"),
        "application/merge-patch+json",
        "{\"metadata\":{\"labels\":{\"a\":\"b\"}}}",
    )
    .await
    .json();
    assert_eq!(
        again["metadata"]["resourceVersion"],
        r["metadata"]["resourceVersion"]
    );
    // Custom resources need a resourceVersion on update.
    let mut put = r.clone();
    put["metadata"]
        .as_object_mut()
        .map(|m| m.remove("resourceVersion"));
    assert_eq!(
        call(&emu, "PUT", &format!("{base}/w"), Some(&put))
            .await
            .code,
        422
    );
    // Short names and status subresource are discovered.
    let d = call(&emu, "GET", "/apis/example.com/v1", None).await.json();
    let names: Vec<&str> = d["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names, vec!["widgets", "widgets/status"]);
    assert_eq!(d["resources"][0]["shortNames"], json!(["wd"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_defaulting_allocation_and_immutability() {
    let emu = start().await;
    let base = "/api/v1/namespaces/default/services";
    let svc = |name: &str, spec: Value| json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec});
    let lb = call(
        &emu,
        "POST",
        base,
        Some(&svc(
            "lb",
            json!({"type": "LoadBalancer", "loadBalancerClass": "lodestone.io/lb",
        "ipFamilyPolicy": "PreferDualStack", "ports": [{"port": 80}]}),
        )),
    )
    .await
    .json();
    let spec = &lb["spec"];
    assert_eq!(spec["ipFamilies"], json!(["IPv4", "IPv6"]));
    assert_eq!(spec["clusterIPs"].as_array().map(Vec::len), Some(2));
    assert_eq!(spec["clusterIP"], spec["clusterIPs"][0]);
    assert!(
        spec["clusterIPs"][1]
            .as_str()
            .unwrap_or_default()
            .contains(':')
    );
    let np = spec["ports"][0]["nodePort"].as_u64().unwrap_or(0);
    assert!((30000..=32767).contains(&np), "{np}");
    assert_eq!(spec["ports"][0]["protocol"], "TCP");
    assert_eq!(spec["ports"][0]["targetPort"], 80);
    assert_eq!(spec["allocateLoadBalancerNodePorts"], true);
    assert_eq!(spec["externalTrafficPolicy"], "Cluster");
    assert_eq!(lb["status"], json!({"loadBalancer": {}}));

    let no_np = call(
        &emu,
        "POST",
        base,
        Some(&svc(
            "nonp",
            json!({"type": "LoadBalancer",
        "allocateLoadBalancerNodePorts": false, "ports": [{"port": 80}]}),
        )),
    )
    .await
    .json();
    assert!(no_np["spec"]["ports"][0].get("nodePort").is_none());
    assert_eq!(no_np["spec"]["ipFamilyPolicy"], "SingleStack");
    assert_eq!(no_np["spec"]["ipFamilies"], json!(["IPv4"]));

    let v6 = call(
        &emu,
        "POST",
        base,
        Some(&svc(
            "v6",
            json!({"ipFamilies": ["IPv6"], "ports": [{"port": 53, "protocol": "UDP"}]}),
        )),
    )
    .await
    .json();
    assert!(
        v6["spec"]["clusterIP"]
            .as_str()
            .unwrap_or_default()
            .contains(':')
    );

    let cases = vec![
        (
            json!({"type": "Bogus", "ports": [{"port": 1}]}),
            "spec.type",
        ),
        (
            json!({"ipFamilies": ["IPv4", "IPv6"], "ipFamilyPolicy": "SingleStack", "ports": [{"port": 1}]}),
            "spec.ipFamilyPolicy",
        ),
        (
            json!({"ipFamilies": ["IPv4", "IPv4"], "ipFamilyPolicy": "PreferDualStack", "ports": [{"port": 1}]}),
            "spec.ipFamilies[1]",
        ),
        (
            json!({"clusterIP": "192.0.2.1", "ports": [{"port": 1}]}),
            "spec.clusterIPs",
        ),
        (
            json!({"clusterIP": spec["clusterIP"].clone(), "ports": [{"port": 1}]}),
            "spec.clusterIPs",
        ),
        (
            json!({"type": "NodePort", "ports": [{"port": 1, "nodePort": 80}]}),
            "spec.ports[0].nodePort",
        ),
        (
            json!({"type": "NodePort", "ports": [{"port": 1, "nodePort": np}]}),
            "spec.ports[0].nodePort",
        ),
        (
            json!({"ports": [{"port": 1, "nodePort": 30555}]}),
            "spec.ports[0].nodePort",
        ),
        (
            json!({"loadBalancerClass": "x/y", "ports": [{"port": 1}]}),
            "spec.loadBalancerClass",
        ),
        (
            json!({"ports": [{"port": 1}, {"port": 2}]}),
            "spec.ports[0].name",
        ),
    ];
    for (i, (spec, field)) in cases.into_iter().enumerate() {
        let r = call(
            &emu,
            "POST",
            base,
            Some(&svc(&format!("bad{i}"), spec.clone())),
        )
        .await;
        assert_eq!(r.code, 422, "{spec}: {}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json()["details"]["causes"][0]["field"], field, "{spec}");
    }
    // Immutable on update.
    let r = call_ct(
        &emu,
        "PATCH",
        &format!("{base}/lb"),
        "application/merge-patch+json",
        "{\"spec\":{\"loadBalancerClass\":\"other/x\"}}",
    )
    .await;
    assert_eq!(r.code, 422);
    assert_eq!(
        r.json()["message"],
        "Service \"lb\" is invalid: spec.loadBalancerClass: Invalid value: \"other/x\": may not change once set"
    );
    let r = call_ct(
        &emu,
        "PATCH",
        &format!("{base}/lb"),
        "application/merge-patch+json",
        "{\"spec\":{\"clusterIP\":\"10.96.0.99\",\"clusterIPs\":[\"10.96.0.99\"]}}",
    )
    .await;
    assert_eq!(r.code, 422);
    assert_eq!(
        r.json()["details"]["causes"][0]["field"],
        "spec.clusterIPs[0]"
    );
    // Omitting allocated values on update keeps them.
    let mut put = lb.clone();
    for f in ["clusterIP", "clusterIPs"] {
        put["spec"].as_object_mut().map(|m| m.remove(f));
    }
    put["spec"]["ports"][0]
        .as_object_mut()
        .map(|m| m.remove("nodePort"));
    let r = call(&emu, "PUT", &format!("{base}/lb"), Some(&put))
        .await
        .json();
    assert_eq!(r["spec"]["clusterIPs"], lb["spec"]["clusterIPs"]);
    assert_eq!(r["spec"]["ports"][0]["nodePort"], np);
    // Status: ingress IPs validated; main writes cannot set status.
    let r = call_ct(
        &emu,
        "PATCH",
        &format!("{base}/lb/status"),
        "application/merge-patch+json",
        "{\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"not-an-ip\"}]}}}",
    )
    .await;
    assert_eq!(r.code, 422);
    let r = call_ct(
        &emu,
        "PATCH",
        &format!("{base}/lb/status"),
        "application/merge-patch+json",
        "{\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"192.0.2.10\"}]}}}",
    )
    .await;
    assert_eq!(r.code, 200);
    assert_eq!(
        r.json()["status"]["loadBalancer"]["ingress"][0]["ip"],
        "192.0.2.10"
    );
    // Deleting frees the nodePort for reuse.
    assert_eq!(
        call(&emu, "DELETE", &format!("{base}/lb"), None).await.code,
        200
    );
    let r = call(
        &emu,
        "POST",
        base,
        Some(&svc(
            "reuse",
            json!({"type": "NodePort", "ports": [{"port": 1, "nodePort": np}]}),
        )),
    )
    .await;
    assert_eq!(r.code, 201, "{}", String::from_utf8_lossy(&r.body));
}
