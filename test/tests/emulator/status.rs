//! Status codes and Status bodies, checked against tables written from the Kubernetes API
//! conventions (api-conventions.md "HTTP Status codes" and the `Status` kind).

use serde_json::{Value, json};

use crate::{call, call_ct, start, start_with};

fn cm(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}})
}

/// (method, path, body, code, reason, message)
type Row = (
    &'static str,
    String,
    Option<Value>,
    u16,
    &'static str,
    &'static str,
);

fn assert_status(body: &Value, code: u16, reason: &str, message: &str) {
    assert_eq!(body["kind"], "Status", "{body}");
    assert_eq!(body["apiVersion"], "v1", "{body}");
    assert_eq!(body["status"], "Failure", "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["reason"], reason, "{body}");
    assert_eq!(body["message"], message, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_status_table() {
    let emu = start().await;
    let base = "/api/v1/namespaces/default/configmaps";
    let created = call(&emu, "POST", base, Some(&cm("a"))).await;
    assert_eq!(created.code, 201);
    let stale_rv = created.json()["metadata"]["resourceVersion"].clone();
    let mut updated = created.json();
    updated["data"]["k"] = json!("w");
    assert_eq!(
        call(&emu, "PUT", &format!("{base}/a"), Some(&updated))
            .await
            .code,
        200
    );

    let mut stale = cm("a");
    stale["metadata"]["resourceVersion"] = stale_rv;
    let bad_svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
        "spec": {"ports": [{"port": 0}]}});
    // (method, path, body, code, reason, message)
    let table: Vec<Row> = vec![
        (
            "GET",
            format!("{base}/nope"),
            None,
            404,
            "NotFound",
            "configmaps \"nope\" not found",
        ),
        (
            "POST",
            base.to_string(),
            Some(cm("a")),
            409,
            "AlreadyExists",
            "configmaps \"a\" already exists",
        ),
        (
            "PUT",
            format!("{base}/a"),
            Some(stale),
            409,
            "Conflict",
            "Operation cannot be fulfilled on configmaps \"a\": the object has been modified; please apply your changes to the latest version and try again",
        ),
        (
            "POST",
            "/api/v1/namespaces/default/services".into(),
            Some(bad_svc),
            422,
            "Invalid",
            "Service \"s\" is invalid: spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
        ),
        (
            "POST",
            "/api/v1/namespaces/missing/configmaps".into(),
            Some(cm("x")),
            404,
            "NotFound",
            "namespaces \"missing\" not found",
        ),
        (
            "POST",
            format!("{base}/a"),
            Some(cm("a")),
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        ),
        (
            "GET",
            "/apis/example.com/v1/widgets".into(),
            None,
            404,
            "NotFound",
            "the server could not find the requested resource",
        ),
        (
            "GET",
            "/api/v1/namespaces/default/leases".into(),
            None,
            404,
            "NotFound",
            "the server could not find the requested resource",
        ),
    ];
    for (method, path, body, code, reason, message) in table {
        let r = call(&emu, method, &path, body.as_ref()).await;
        assert_eq!(
            r.code,
            code,
            "{method} {path}: {:?}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.content_type, "application/json");
        assert_status(&r.json(), code, reason, message);
    }
    let nf = call(&emu, "GET", &format!("{base}/nope"), None)
        .await
        .json();
    assert_eq!(nf["details"], json!({"name": "nope", "kind": "configmaps"}));
    let dup = call(
        &emu,
        "POST",
        "/apis/coordination.k8s.io/v1/namespaces/default/leases",
        Some(&json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l"}})),
    )
    .await;
    assert_eq!(dup.code, 201);
    let dup = call(
        &emu,
        "POST",
        "/apis/coordination.k8s.io/v1/namespaces/default/leases",
        Some(&json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l"}})),
    )
    .await;
    assert_status(
        &dup.json(),
        409,
        "AlreadyExists",
        "leases.coordination.k8s.io \"l\" already exists",
    );
    assert_eq!(
        dup.json()["details"],
        json!({"name": "l", "group": "coordination.k8s.io", "kind": "leases"})
    );

    let invalid = call(
        &emu,
        "POST",
        "/api/v1/namespaces/default/services",
        Some(&json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "s"}, "spec": {"ports": [{"port": 0}]}})),
    )
    .await
    .json();
    assert_eq!(
        invalid["details"],
        json!({"name": "s", "kind": "Service", "causes": [{"reason": "FieldValueInvalid",
            "message": "Invalid value: 0: must be between 1 and 65535, inclusive", "field": "spec.ports[0].port"}]})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_from_compacted_version_gets_410_event() {
    let emu = start_with(lodestone_test::Options {
        history: 3,
        ..Default::default()
    })
    .await;
    let base = "/api/v1/namespaces/default/configmaps";
    for i in 0..6 {
        assert_eq!(
            call(&emu, "POST", base, Some(&cm(&format!("c{i}"))))
                .await
                .code,
            201
        );
    }
    let r = call(
        &emu,
        "GET",
        &format!("{base}?watch=true&resourceVersion=2&timeoutSeconds=1"),
        None,
    )
    .await;
    assert_eq!(r.code, 200);
    let first = String::from_utf8_lossy(&r.body)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    let ev: Value = serde_json::from_str(&first).unwrap_or(Value::Null);
    assert_eq!(ev["type"], "ERROR");
    assert_eq!(ev["object"]["code"], 410);
    assert_eq!(ev["object"]["reason"], "Expired");
    let msg = ev["object"]["message"].as_str().unwrap_or_default();
    assert!(msg.starts_with("too old resource version: 2 ("), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_real_errors() {
    let emu = start().await;
    let base = "/api/v1/namespaces/default/configmaps";
    let cases: Vec<(&str, &str, &str, String, u16, &str)> = vec![
        (
            "POST",
            base,
            "application/json",
            "{\"apiVersion\": ".into(),
            400,
            "BadRequest",
        ),
        (
            "POST",
            base,
            "application/yaml",
            "kind: [".into(),
            400,
            "BadRequest",
        ),
        (
            "POST",
            base,
            "application/json",
            "[1,2]".into(),
            400,
            "BadRequest",
        ),
        (
            "POST",
            base,
            "text/plain",
            "hello".into(),
            415,
            "UnsupportedMediaType",
        ),
        (
            "POST",
            base,
            "application/json",
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}).to_string(),
            400,
            "BadRequest",
        ),
        (
            "PATCH",
            "/api/v1/namespaces/default/configmaps/none",
            "text/plain",
            "{}".into(),
            415,
            "UnsupportedMediaType",
        ),
        (
            "GET",
            "/api/v1/namespaces/default/configmaps?labelSelector=a%20in%20b",
            "application/json",
            String::new(),
            400,
            "BadRequest",
        ),
        (
            "GET",
            "/api/v1/namespaces/default/configmaps?fieldSelector=spec.nope%3D1",
            "application/json",
            String::new(),
            400,
            "BadRequest",
        ),
        (
            "GET",
            "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=abc",
            "application/json",
            String::new(),
            400,
            "BadRequest",
        ),
    ];
    for (method, path, ct, body, code, reason) in cases {
        let r = call_ct(&emu, method, path, ct, &body).await;
        assert_eq!(
            r.code,
            code,
            "{method} {path} {ct}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.json()["reason"], reason);
        assert_eq!(r.json()["kind"], "Status");
    }
    // A 4 MiB body: 413 with the real limit in the message, and the server keeps serving.
    let big = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"},
        "data": {"k": "x".repeat(4 * 1024 * 1024)}});
    let r = call(&emu, "POST", base, Some(&big)).await;
    assert_eq!(r.code, 413);
    assert_eq!(r.json()["reason"], "RequestEntityTooLarge");
    assert_eq!(
        r.json()["message"],
        "Request entity too large: limit is 3145728"
    );
    // Malformed patches.
    assert_eq!(call(&emu, "POST", base, Some(&cm("p"))).await.code, 201);
    let r = call_ct(
        &emu,
        "PATCH",
        &format!("{base}/p"),
        "application/json-patch+json",
        "{\"op\":1}",
    )
    .await;
    assert_eq!(r.code, 400);
    let r = call_ct(
        &emu,
        "PATCH",
        &format!("{base}/p"),
        "application/json-patch+json",
        "[{\"op\":\"test\",\"path\":\"/data/k\",\"value\":\"other\"}]",
    )
    .await;
    assert_eq!(r.code, 422);
    let r = call_ct(
        &emu,
        "PATCH",
        &format!("{base}/p"),
        "application/apply-patch+yaml",
        "data: {k: v}",
    )
    .await;
    assert_eq!(r.code, 400, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        call(&emu, "GET", &format!("{base}/p"), None).await.code,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_selectors_and_pagination() {
    let emu = start().await;
    let base = "/api/v1/namespaces/default/configmaps";
    for (name, tier) in [
        ("a", "web"),
        ("b", "db"),
        ("c", "web"),
        ("d", "cache"),
        ("e", ""),
    ] {
        let mut o = cm(name);
        if !tier.is_empty() {
            o["metadata"]["labels"] = json!({"tier": tier});
        }
        assert_eq!(call(&emu, "POST", base, Some(&o)).await.code, 201);
    }
    let names = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["metadata"]["name"].as_str().map(String::from))
            .collect()
    };
    let cases = [
        ("tier%3Dweb", vec!["a", "c"]),
        ("tier%3D%3Dweb", vec!["a", "c"]),
        ("tier!%3Dweb", vec!["b", "d", "e"]),
        ("tier%20in%20(db,cache)", vec!["b", "d"]),
        ("tier%20notin%20(db,cache)", vec!["a", "c", "e"]),
        ("tier", vec!["a", "b", "c", "d"]),
        ("!tier", vec!["e"]),
    ];
    for (sel, want) in cases {
        let r = call(&emu, "GET", &format!("{base}?labelSelector={sel}"), None).await;
        assert_eq!(names(&r.json()), want, "{sel}");
    }
    let r = call(
        &emu,
        "GET",
        &format!("{base}?fieldSelector=metadata.name%3Db"),
        None,
    )
    .await;
    assert_eq!(names(&r.json()), vec!["b"]);
    let r = call(
        &emu,
        "GET",
        "/api/v1/configmaps?fieldSelector=metadata.namespace%3Ddefault,metadata.name!%3Da",
        None,
    )
    .await;
    assert_eq!(names(&r.json()), vec!["b", "c", "d", "e"]);
    // limit/continue walks everything exactly once.
    let mut seen = vec![];
    let mut token = String::new();
    loop {
        let r = call(
            &emu,
            "GET",
            &format!("{base}?limit=2&continue={token}"),
            None,
        )
        .await
        .json();
        assert_eq!(r["kind"], "ConfigMapList");
        seen.extend(names(&r));
        match r["metadata"]["continue"].as_str() {
            Some(t) if !t.is_empty() => token = t.to_string(),
            _ => break,
        }
    }
    assert_eq!(seen, vec!["a", "b", "c", "d", "e"]);
    let r = call(&emu, "GET", &format!("{base}?continue=garbage!"), None).await;
    assert_eq!(r.code, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_bookmarks_initial_events_and_timeout() {
    let emu = start_with(lodestone_test::Options {
        bookmark_interval: std::time::Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    let base = "/api/v1/namespaces/default/configmaps";
    let made = call(
        &emu,
        "POST",
        base,
        Some(
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-"}}),
        ),
    )
    .await
    .json();
    let name = made["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(name.starts_with("gen-") && name.len() == 9, "{name}");
    let rv: u64 = made["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);

    // Streaming list: ADDED for the current state, then the initial-events-end bookmark.
    let r = call(&emu, "GET", &format!("{base}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1"), None).await;
    let events: Vec<Value> = String::from_utf8_lossy(&r.body)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events[0]["object"]["metadata"]["name"], name.as_str());
    assert_eq!(events[1]["type"], "BOOKMARK");
    assert_eq!(
        events[1]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    let bm_rv: u64 = events[1]["object"]["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    assert!(bm_rv >= rv);
    // Periodic bookmarks; the watch ends after timeoutSeconds on its own.
    let started = std::time::Instant::now();
    let r = call(
        &emu,
        "GET",
        &format!(
            "{base}?watch=true&resourceVersion={rv}&allowWatchBookmarks=true&timeoutSeconds=1"
        ),
        None,
    )
    .await;
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let events: Vec<Value> = String::from_utf8_lossy(&r.body)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        !events.is_empty() && events.iter().all(|e| e["type"] == "BOOKMARK"),
        "{events:?}"
    );
    assert_eq!(events[0]["object"]["kind"], "ConfigMap");
    // Resume from a resourceVersion delivers only later events.
    call(&emu, "POST", base, Some(&cm("later"))).await;
    let r = call(
        &emu,
        "GET",
        &format!("{base}?watch=true&resourceVersion={rv}&timeoutSeconds=1"),
        None,
    )
    .await;
    let events: Vec<Value> = String::from_utf8_lossy(&r.body)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events[0]["object"]["metadata"]["name"], "later");
}
