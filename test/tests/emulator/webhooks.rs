//! Validating admission webhooks over HTTPS and RBAC authorization.

use std::convert::Infallible;
use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};

use crate::{call, start_with};

/// Serves `answer` as an HTTPS JSON webhook on loopback; returns (url, CA PEM).
pub async fn serve_webhook(answer: fn(Value) -> Value) -> (String, String) {
    let certs = match lodestone_test::tls::generate(&["hooks.default.svc".to_string()]) {
        Ok(c) => c,
        Err(e) => panic!("certs: {e}"),
    };
    let tls = match lodestone_test::tls::server_config(&certs) {
        Ok(c) => c,
        Err(e) => panic!("tls: {e}"),
    };
    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => panic!("bind: {e}"),
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| async move {
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let review: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        let out = answer(review).to_string();
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(out))))
                    },
                );
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .await;
            });
        }
    });
    (format!("https://127.0.0.1:{port}"), certs.ca_pem)
}

fn deny_big_pools(review: Value) -> Value {
    let req = &review["request"];
    let replicas = req["object"]["data"]["size"]
        .as_str()
        .unwrap_or("0")
        .parse::<u32>()
        .unwrap_or(0);
    let allowed = replicas <= 10;
    let mut resp = json!({"uid": req["uid"], "allowed": allowed});
    if !allowed {
        resp["status"] = json!({"code": 403, "message": format!("size {replicas} is above 10 (operation {})", req["operation"].as_str().unwrap_or(""))});
    }
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": resp})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validating_webhook_rules_selectors_and_failure_policy() {
    let emu = start_with(Default::default()).await;
    let (url, ca) = serve_webhook(deny_big_pools).await;
    let ca_b64 = base64::engine::general_purpose::STANDARD.encode(&ca);
    let hook = |name: &str, url: &str, policy: &str, object_selector: Value| {
        json!({
            "name": name, "admissionReviewVersions": ["v1"], "sideEffects": "None", "failurePolicy": policy,
            "clientConfig": {"url": url, "caBundle": ca_b64},
            "rules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps"]}],
            "namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["default"]}]},
            "objectSelector": object_selector,
        })
    };
    let cfg = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
    "metadata": {"name": "v"}, "webhooks": [
        hook("size.example.com", &format!("{url}/validate"), "Fail", json!({})),
        hook("down-ignored.example.com", "https://127.0.0.1:1/x", "Ignore", json!({})),
        hook("down-fail.example.com", "https://127.0.0.1:1/x", "Fail", json!({"matchLabels": {"strict": "yes"}})),
    ]});
    let r = call(
        &emu,
        "POST",
        "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
        Some(&cfg),
    )
    .await;
    assert_eq!(r.code, 201, "{}", String::from_utf8_lossy(&r.body));
    let cm = |name: &str, size: &str, labels: Value| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels}, "data": {"size": size}})
    };
    let base = "/api/v1/namespaces/default/configmaps";
    assert_eq!(
        call(&emu, "POST", base, Some(&cm("small", "3", json!({}))))
            .await
            .code,
        201
    );
    let r = call(&emu, "POST", base, Some(&cm("big", "30", json!({})))).await;
    assert_eq!(r.code, 403);
    assert_eq!(
        r.json()["message"],
        "admission webhook \"size.example.com\" denied the request: size 30 is above 10 (operation CREATE)"
    );
    assert_eq!(r.json()["kind"], "Status");
    // Update goes through the webhook too.
    let r = crate::call_ct(
        &emu,
        "PATCH",
        &format!("{base}/small"),
        "application/merge-patch+json",
        "{\"data\":{\"size\":\"11\"}}",
    )
    .await;
    assert_eq!(r.code, 403);
    // Other namespaces are not selected.
    call(
        &emu,
        "POST",
        "/api/v1/namespaces",
        Some(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "free"}})),
    )
    .await;
    assert_eq!(
        call(
            &emu,
            "POST",
            "/api/v1/namespaces/free/configmaps",
            Some(&cm("big", "30", json!({})))
        )
        .await
        .code,
        201
    );
    // failurePolicy Fail on an unreachable webhook, for objects its objectSelector picks.
    let r = call(
        &emu,
        "POST",
        base,
        Some(&cm("strict", "1", json!({"strict": "yes"}))),
    )
    .await;
    assert_eq!(r.code, 500);
    let msg = r.json()["message"].as_str().unwrap_or_default().to_string();
    assert!(msg.starts_with("Internal error occurred: failed calling webhook \"down-fail.example.com\": failed to call webhook: Post \"https://127.0.0.1:1/x\""), "{msg}");
    // Secrets are not in the rules.
    let r = call(&emu, "POST", "/api/v1/namespaces/default/secrets", Some(&json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"size": "99"}}))).await;
    assert_eq!(r.code, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_by_service_reference_goes_to_its_endpoints() {
    let emu = start_with(Default::default()).await;
    let (url, ca) = serve_webhook(deny_big_pools).await;
    let port: u64 = url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "hooks"},
        "spec": {"ports": [{"name": "https", "port": 443, "targetPort": port}]}});
    assert_eq!(
        call(
            &emu,
            "POST",
            "/api/v1/namespaces/default/services",
            Some(&svc)
        )
        .await
        .code,
        201
    );
    let slice = json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "hooks-1", "labels": {"kubernetes.io/service-name": "hooks"}},
        "addressType": "IPv4", "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": true}}],
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}]});
    assert_eq!(
        call(
            &emu,
            "POST",
            "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
            Some(&slice)
        )
        .await
        .code,
        201
    );
    let cfg = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "v"}, "webhooks": [{"name": "svc.example.com", "admissionReviewVersions": ["v1"], "sideEffects": "None",
            "clientConfig": {"service": {"namespace": "default", "name": "hooks", "path": "/validate"},
                "caBundle": base64::engine::general_purpose::STANDARD.encode(&ca)},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps"]}]}]});
    assert_eq!(
        call(
            &emu,
            "POST",
            "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
            Some(&cfg)
        )
        .await
        .code,
        201
    );
    let cm = |size: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "c-"}, "data": {"size": size}});
    assert_eq!(
        call(
            &emu,
            "POST",
            "/api/v1/namespaces/default/configmaps",
            Some(&cm("1"))
        )
        .await
        .code,
        201
    );
    let r = call(
        &emu,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some(&cm("99")),
    )
    .await;
    assert_eq!(r.code, 403);
    assert_eq!(
        r.json()["message"],
        "admission webhook \"svc.example.com\" denied the request: size 99 is above 10 (operation CREATE)"
    );
}

fn add_label(review: Value) -> Value {
    let patch =
        json!([{"op": "add", "path": "/metadata/labels", "value": {"mutated": "yes"}}]).to_string();
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": {
        "uid": review["request"]["uid"], "allowed": true, "patchType": "JSONPatch",
        "patch": base64::engine::general_purpose::STANDARD.encode(patch)}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutating_webhook_patch_is_applied_before_validation() {
    let emu = start_with(Default::default()).await;
    let (url, ca) = serve_webhook(add_label).await;
    let cfg = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "m"}, "webhooks": [{"name": "label.example.com", "admissionReviewVersions": ["v1"], "sideEffects": "None",
            "clientConfig": {"url": format!("{url}/mutate"), "caBundle": base64::engine::general_purpose::STANDARD.encode(&ca)},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps"]}]}]});
    let r = call(
        &emu,
        "POST",
        "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
        Some(&cfg),
    )
    .await;
    assert_eq!(r.code, 201);
    let r = call(
        &emu,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})),
    )
    .await;
    assert_eq!(r.code, 201);
    assert_eq!(r.json()["metadata"]["labels"], json!({"mutated": "yes"}));
    let r = call(
        &emu,
        "POST",
        "/api/v1/namespaces/default/secrets",
        Some(&json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}})),
    )
    .await;
    assert!(r.json()["metadata"].get("labels").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_forbids_until_bound() {
    let emu = start_with(lodestone_test::Options {
        rbac: true,
        ..Default::default()
    })
    .await;
    let token = emu.service_account_token("default", "ctl");
    let get = |path: &'static str, token: String| {
        let emu = &emu;
        async move {
            match lodestone_test::raw::request(emu, "GET", path, None, vec![], Some(&token)).await {
                Ok(r) => r,
                Err(e) => panic!("{e}"),
            }
        }
    };
    let r = get("/api/v1/namespaces/default/services", token.clone()).await;
    assert_eq!(r.code, 403);
    assert_eq!(
        r.json()["message"],
        "services is forbidden: User \"system:serviceaccount:default:ctl\" cannot list resource \"services\" in API group \"\" in the namespace \"default\""
    );
    assert_eq!(r.json()["details"], json!({"kind": "services"}));
    let r = get("/api/v1/nodes/n1", token.clone()).await;
    assert_eq!(
        r.json()["message"],
        "nodes \"n1\" is forbidden: User \"system:serviceaccount:default:ctl\" cannot get resource \"nodes\" in API group \"\" at the cluster scope"
    );
    let bad = get("/api/v1/namespaces", "nope".into()).await;
    assert_eq!(bad.code, 401);

    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "svc-reader"},
        "rules": [{"apiGroups": [""], "resources": ["services"], "verbs": ["get", "list", "watch"]},
                  {"apiGroups": [""], "resources": ["services/status"], "verbs": ["patch"]}]});
    assert_eq!(
        call(
            &emu,
            "POST",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            Some(&role)
        )
        .await
        .code,
        201
    );
    let rb = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "ctl", "namespace": "default"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "svc-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "ctl", "namespace": "default"}]});
    assert_eq!(
        call(
            &emu,
            "POST",
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
            Some(&rb)
        )
        .await
        .code,
        201
    );
    assert_eq!(
        get("/api/v1/namespaces/default/services", token.clone())
            .await
            .code,
        200
    );
    // Namespaced binding: other namespaces and other verbs stay forbidden.
    assert_eq!(
        get("/api/v1/namespaces/kube-system/services", token.clone())
            .await
            .code,
        403
    );
    assert_eq!(get("/api/v1/services", token.clone()).await.code, 403);
    let r = lodestone_test::raw::request(
        &emu,
        "DELETE",
        "/api/v1/namespaces/default/services/kubernetes",
        None,
        vec![],
        Some(&token),
    )
    .await;
    assert_eq!(r.map(|r| r.code).ok(), Some(403));
    let _ = Arc::new(());
}
