//! The control loops the emulator runs itself: ownerReference garbage collection (background,
//! foreground, orphan) and namespace finalization.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::catalog::ResourceType;
use crate::patch::PatchType;
use crate::rest::{Cluster, DeleteOptions, Target, WriteOptions, str_at};
use crate::store::{Event, EventType};

fn system() -> WriteOptions {
    WriteOptions {
        manager: "kube-controller-manager".into(),
        system: true,
        user: "system:kube-controller-manager".into(),
        ..Default::default()
    }
}

fn type_of(c: &Cluster, key: &str) -> Option<ResourceType> {
    let (group, plural) = key.split_once('/')?;
    c.catalog()
        .all()
        .find(|t| t.group == group && t.plural == plural && t.version == t.storage_version)
        .cloned()
}

fn target(c: &Cluster, key: &str, obj: &Value) -> Option<Target> {
    Some(Target {
        rt: type_of(c, key)?,
        namespace: Some(str_at(obj, "/metadata/namespace").to_string()),
        name: Some(str_at(obj, "/metadata/name").to_string()),
        subresource: None,
    })
}

fn owner_uids(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("uid").and_then(Value::as_str).map(String::from))
        .collect()
}

/// Every object (storage key, object) whose ownerReferences name `uid`.
fn dependents(c: &Cluster, uid: &str) -> Vec<(String, Arc<Value>)> {
    c.store.lock().dependents_of(uid)
}

fn uid_exists(c: &Cluster, uid: &str) -> bool {
    c.store.lock().by_uid(uid).is_some()
}

pub fn has_dependents(c: &Cluster, uid: &str) -> bool {
    !dependents(c, uid).is_empty()
}

/// `propagationPolicy: Orphan`: dependents lose their reference to the owner.
pub async fn orphan_dependents(c: &Cluster, uid: &str) {
    for (key, obj) in dependents(c, uid) {
        let refs: Vec<Value> = obj
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|r| r.get("uid").and_then(Value::as_str) != Some(uid))
            .cloned()
            .collect();
        let Some(t) = target(c, &key, &obj) else {
            continue;
        };
        let patch = json!({"metadata": {"ownerReferences": refs}}).to_string();
        if let Err(e) = c
            .patch(&t, PatchType::Merge, patch.as_bytes(), &system())
            .await
        {
            tracing::debug!(error = %e, "orphaning dependent failed");
        }
    }
}

async fn delete_object(c: &Cluster, key: &str, obj: &Value) {
    let Some(t) = target(c, key, obj) else { return };
    if let Err(e) = c.delete(&t, &DeleteOptions::default(), &system()).await
        && e.code != 404
    {
        tracing::debug!(error = %e, name = t.name(), "garbage collection delete failed");
    }
}

async fn remove_finalizer(c: &Cluster, key: &str, obj: &Value, finalizer: &str) {
    let Some(t) = target(c, key, obj) else { return };
    let rest: Vec<Value> = obj
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|f| f.as_str() != Some(finalizer))
        .cloned()
        .collect();
    let patch = json!({"metadata": {"finalizers": rest}}).to_string();
    if let Err(e) = c
        .patch(&t, PatchType::Merge, patch.as_bytes(), &system())
        .await
    {
        tracing::debug!(error = %e, "removing finalizer failed");
    }
}

fn in_foreground_deletion(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp").is_some()
        && obj
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| f.iter().any(|x| x.as_str() == Some("foregroundDeletion")))
}

async fn collect_dependents_of(c: &Cluster, uid: &str) {
    for (key, dep) in dependents(c, uid) {
        let others_alive = owner_uids(&dep)
            .iter()
            .any(|u| u != uid && uid_exists(c, u));
        if !others_alive {
            delete_object(c, &key, &dep).await;
        }
    }
}

async fn sweep_namespace(c: &Cluster, ns: &str) {
    let objs: Vec<(String, Arc<Value>)> = {
        let st = c.store.lock();
        st.resources()
            .into_iter()
            .flat_map(|k| {
                st.list(&k, Some(ns))
                    .into_iter()
                    .map(move |o| (k.clone(), o))
            })
            .collect()
    };
    let namespaced: Vec<_> = objs
        .into_iter()
        .filter(|(k, _)| type_of(c, k).is_some_and(|t| t.namespaced))
        .collect();
    if namespaced.is_empty() {
        let mut st = c.store.lock();
        if st
            .get("/namespaces", "", ns)
            .is_some_and(|n| n.pointer("/metadata/deletionTimestamp").is_some())
        {
            st.remove("/namespaces", "", ns);
        }
        return;
    }
    for (key, obj) in namespaced {
        if obj.pointer("/metadata/deletionTimestamp").is_none() {
            delete_object(c, &key, &obj).await;
        }
    }
}

async fn handle(c: &Cluster, ev: &Event) {
    let obj = &ev.object;
    let uid = str_at(obj, "/metadata/uid").to_string();
    let terminating = obj.pointer("/metadata/deletionTimestamp").is_some();
    match ev.kind {
        EventType::Deleted => {
            collect_dependents_of(c, &uid).await;
            for owner in owner_uids(obj) {
                let owners: Vec<(String, Arc<Value>)> =
                    c.store.lock().by_uid(&owner).into_iter().collect();
                for (key, o) in owners {
                    if in_foreground_deletion(&o) && !has_dependents(c, &owner) {
                        remove_finalizer(c, &key, &o, "foregroundDeletion").await;
                    }
                }
            }
            if !ev.namespace.is_empty() {
                let ns = c.store.lock().get("/namespaces", "", &ev.namespace);
                if ns.is_some_and(|n| n.pointer("/metadata/deletionTimestamp").is_some()) {
                    sweep_namespace(c, &ev.namespace).await;
                }
            }
        }
        _ if terminating && ev.resource == "/namespaces" => {
            sweep_namespace(c, str_at(obj, "/metadata/name")).await;
        }
        _ if in_foreground_deletion(obj) => {
            collect_dependents_of(c, &uid).await;
            if !has_dependents(c, &uid) {
                remove_finalizer(c, &ev.resource, obj, "foregroundDeletion").await;
            }
        }
        _ => {}
    }
}

/// Runs the garbage collector and namespace finalizer until the store is dropped.
pub fn spawn(c: Arc<Cluster>) -> tokio::task::JoinHandle<()> {
    let mut rx = c.store.lock().feed();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(ev) => handle(&c, &ev).await,
                Err(RecvError::Lagged(n)) => tracing::warn!(missed = n, "garbage collector lagged"),
                Err(RecvError::Closed) => break,
            }
        }
    })
}
