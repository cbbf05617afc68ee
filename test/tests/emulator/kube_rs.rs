//! kube-rs against the emulator: watcher, reflector, Controller (incl. restart) and the relist
//! after a 410 Gone.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use serde_json::json;

use crate::{start, start_with};

fn cm(name: &str) -> ConfigMap {
    match serde_json::from_value(
        json!({"metadata": {"name": name, "labels": {"app": "t"}}, "data": {"k": "v"}}),
    ) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

async fn client(emu: &lodestone_test::Emulator) -> kube::Client {
    match emu.client().await {
        Ok(c) => c,
        Err(e) => panic!("client: {e}"),
    }
}

async fn until<F: Fn() -> bool>(what: &str, f: F) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflector_follows_creates_updates_deletes() {
    let emu = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client(&emu).await, "default");
    for n in ["a", "b"] {
        api.create(&PostParams::default(), &cm(n))
            .await
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let (reader, writer) = reflector::store::<ConfigMap>();
    let cfg = watcher::Config::default().labels("app=t");
    let stream = reflector(writer, watcher(api.clone(), cfg))
        .applied_objects()
        .boxed();
    let task = tokio::spawn(async move { stream.for_each(|_| async {}).await });
    until("initial list", || reader.state().len() == 2).await;
    api.create(&PostParams::default(), &cm("c"))
        .await
        .map_err(|e| e.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    let patch = Patch::Merge(json!({"data": {"k": "changed"}}));
    api.patch("a", &PatchParams::default(), &patch)
        .await
        .map_err(|e| e.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    api.delete("b", &DeleteParams::default())
        .await
        .map_err(|e| e.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    until("c added, b deleted, a changed", || {
        let names: Vec<String> = reader
            .state()
            .iter()
            .filter_map(|c| c.metadata.name.clone())
            .collect();
        let a_changed = reader.state().iter().any(|c| {
            c.metadata.name.as_deref() == Some("a")
                && c.data.as_ref().and_then(|d| d.get("k")).map(String::as_str) == Some("changed")
        });
        names.len() == 2 && names.contains(&"c".to_string()) && a_changed
    })
    .await;
    // Dropping the label takes it out of the selected set (a DELETED event for this watch).
    let patch = Patch::Merge(json!({"metadata": {"labels": {"app": null}}}));
    api.patch("c", &PatchParams::default(), &patch)
        .await
        .map_err(|e| e.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    until("c left the selection", || reader.state().len() == 1).await;
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_relists_after_410() {
    let emu = start_with(lodestone_test::Options {
        history: 4,
        ..Default::default()
    })
    .await;
    let api: Api<ConfigMap> = Api::namespaced(client(&emu).await, "default");
    let mut stream = watcher(api.clone(), watcher::Config::default().timeout(1)).boxed();
    // Initial (empty) list.
    loop {
        match stream.try_next().await {
            Ok(Some(watcher::Event::InitDone)) => break,
            Ok(Some(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    api.create(&PostParams::default(), &cm("first"))
        .await
        .map_err(|e| e.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    loop {
        if let Ok(Some(watcher::Event::Apply(c))) = stream.try_next().await
            && c.metadata.name.as_deref() == Some("first")
        {
            break;
        }
    }
    // Stop reading: the server ends the watch after 1 s, and history moves past our version.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for i in 0..8 {
        api.create(&PostParams::default(), &cm(&format!("later{i}")))
            .await
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let mut saw_gone = false;
    let mut relisted = vec![];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
            Ok(Some(Err(watcher::Error::WatchError(e)))) if e.code == 410 => saw_gone = true,
            Ok(Some(Ok(watcher::Event::Init))) => relisted.clear(),
            Ok(Some(Ok(watcher::Event::InitApply(c)))) => relisted.extend(c.metadata.name),
            Ok(Some(Ok(watcher::Event::InitDone))) => break,
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => panic!("watcher never relisted"),
        }
    }
    assert!(saw_gone, "the resume must hit 410 Gone");
    assert_eq!(relisted.len(), 9, "{relisted:?}");
}

struct Ctx {
    api: Api<ConfigMap>,
    runs: AtomicUsize,
}

async fn reconcile(obj: Arc<ConfigMap>, ctx: Arc<Ctx>) -> Result<Action, kube::Error> {
    ctx.runs.fetch_add(1, Ordering::SeqCst);
    let name = obj.metadata.name.clone().unwrap_or_default();
    if obj
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("seen"))
        .is_none()
    {
        let patch = Patch::Merge(json!({"metadata": {"annotations": {"seen": "yes"}}}));
        ctx.api
            .patch(&name, &PatchParams::default(), &patch)
            .await?;
    }
    Ok(Action::await_change())
}

fn error_policy(_: Arc<ConfigMap>, _: &kube::Error, _: Arc<Ctx>) -> Action {
    Action::requeue(Duration::from_millis(200))
}

fn run_controller(api: Api<ConfigMap>) -> (tokio::task::JoinHandle<()>, Arc<Ctx>) {
    let ctx = Arc::new(Ctx {
        api: api.clone(),
        runs: AtomicUsize::new(0),
    });
    let c = ctx.clone();
    let task = tokio::spawn(async move {
        Controller::new(api, watcher::Config::default())
            .run(reconcile, error_policy, c)
            .for_each(|_| async {})
            .await;
    });
    (task, ctx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_reconciles_and_resumes_after_restart() {
    let emu = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client(&emu).await, "default");
    api.create(&PostParams::default(), &cm("one"))
        .await
        .map_err(|e| e.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    let seen = |api: Api<ConfigMap>, n: usize| async move {
        for _ in 0..200 {
            let list = api
                .list(&Default::default())
                .await
                .map(|l| l.items)
                .unwrap_or_default();
            let c = list
                .iter()
                .filter(|c| {
                    c.metadata
                        .annotations
                        .as_ref()
                        .is_some_and(|a| a.contains_key("seen"))
                })
                .count();
            if c >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("controller never annotated {n} objects");
    };
    let (task, ctx) = run_controller(api.clone());
    seen(api.clone(), 1).await;
    api.create(&PostParams::default(), &cm("two"))
        .await
        .map_err(|e| e.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    seen(api.clone(), 2).await;
    assert!(ctx.runs.load(Ordering::SeqCst) >= 2);
    task.abort();
    // While it is down, changes keep coming; the restarted controller catches up.
    api.create(&PostParams::default(), &cm("three"))
        .await
        .map_err(|e| e.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    let (task, _) = run_controller(api.clone());
    seen(api.clone(), 3).await;
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_style_writes_status_apply_lease_events() {
    use k8s_openapi::api::coordination::v1::Lease;
    use k8s_openapi::api::core::v1::Service;
    let emu = start().await;
    let client = client(&emu).await;
    let svcs: Api<Service> = Api::namespaced(client.clone(), "default");
    let svc: Service = serde_json::from_value(json!({"metadata": {"name": "lb"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}))
    .unwrap_or_default();
    svcs.create(&PostParams::default(), &svc)
        .await
        .map_err(|e| e.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    let status = Patch::Apply(json!({"apiVersion": "v1", "kind": "Service",
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.7", "ipMode": "VIP"}]}}}));
    let pp = PatchParams::apply("lodestone-ccm").force();
    let got = svcs
        .patch_status("lb", &pp, &status)
        .await
        .map_err(|e| e.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    let ingress = got
        .status
        .and_then(|s| s.load_balancer)
        .and_then(|l| l.ingress)
        .unwrap_or_default();
    assert_eq!(
        ingress.first().and_then(|i| i.ip.as_deref()),
        Some("192.0.2.7")
    );
    let managed = got.metadata.managed_fields.unwrap_or_default();
    assert!(
        managed
            .iter()
            .any(|m| m.manager.as_deref() == Some("lodestone-ccm")
                && m.subresource.as_deref() == Some("status"))
    );
    // A spec apply by the same manager does not wipe the status it owns through the subresource.
    let spec = Patch::Apply(
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "lb", "annotations": {"a": "b"}}}),
    );
    let got = svcs
        .patch("lb", &pp, &spec)
        .await
        .map_err(|e| e.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        got.status
            .and_then(|s| s.load_balancer)
            .and_then(|l| l.ingress)
            .is_some()
    );

    // Leader-election style Lease: create, then a stale replace conflicts.
    let leases: Api<Lease> = Api::namespaced(client.clone(), "default");
    let lease: Lease = serde_json::from_value(json!({"metadata": {"name": "ccm"}, "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}})).unwrap_or_default();
    let first = leases
        .create(&PostParams::default(), &lease)
        .await
        .map_err(|e| e.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut mine = first.clone();
    mine.spec.get_or_insert_default().holder_identity = Some("b".into());
    leases
        .replace("ccm", &PostParams::default(), &mine)
        .await
        .map_err(|e| e.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut stale = first;
    stale.spec.get_or_insert_default().holder_identity = Some("c".into());
    match leases.replace("ccm", &PostParams::default(), &stale).await {
        Err(kube::Error::Api(s)) => assert_eq!((s.code, s.reason.as_str()), (409, "Conflict")),
        other => panic!("expected 409, got {other:?}"),
    }

    // Events through kube-rs' recorder (events.k8s.io/v1).
    let recorder = kube::runtime::events::Recorder::new(client.clone(), "lodestone-ccm".into());
    let reference = k8s_openapi::api::core::v1::ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Service".into()),
        name: Some("lb".into()),
        namespace: Some("default".into()),
        ..Default::default()
    };
    let ev = kube::runtime::events::Event {
        type_: kube::runtime::events::EventType::Normal,
        reason: "IPAllocated".into(),
        note: Some("192.0.2.7".into()),
        action: "Allocate".into(),
        secondary: None,
    };
    recorder
        .publish(&ev, &reference)
        .await
        .map_err(|e| e.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client, "default");
    let list = events
        .list(&Default::default())
        .await
        .map_err(|e| e.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        list.items.first().and_then(|e| e.reason.as_deref()),
        Some("IPAllocated")
    );
}
