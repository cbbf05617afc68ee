//! Watch streams: initial ADDED events (or resume from a resourceVersion), live events filtered
//! by namespace and selectors, bookmarks, `sendInitialEvents`, timeouts, and the 410 ERROR event.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use crate::conversion;
use crate::error::ApiError;
use crate::rest::{Cluster, ListOptions, Target};
use crate::store::{Event, EventType};

/// Parameters of one watch.
pub struct WatchRequest {
    pub target: Target,
    pub list: ListOptions,
    pub resource_version: Option<u64>,
    pub bookmarks: bool,
    pub send_initial_events: bool,
    pub timeout: Duration,
    pub bookmark_interval: Duration,
    /// Some(include_object): send objects as Table rows.
    pub table: Option<bool>,
}

/// Serialises objects the way the client asked (Table rows or plain objects).
fn present(c: &Cluster, w: &WatchRequest, obj: Value, first: &mut bool) -> Value {
    match w.table {
        Some(include) => {
            let t = crate::table::render(c, &w.target.rt, &obj, include, *first);
            *first = false;
            t
        }
        None => obj,
    }
}

fn line(kind: &str, object: &Value) -> Bytes {
    let mut s = json!({"type": kind, "object": object}).to_string();
    s.push('\n');
    Bytes::from(s)
}

fn bookmark(t: &Target, rv: u64, initial_end: bool) -> Value {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    json!({"kind": t.rt.kind, "apiVersion": t.rt.api_version(), "metadata": meta})
}

/// Streams the watch into `tx` until the timeout, a lagging feed, or the client going away.
pub async fn run(c: Arc<Cluster>, w: WatchRequest, tx: mpsc::Sender<Bytes>) {
    let t = &w.target;
    let key = t.rt.storage_key();
    let ns = if t.rt.namespaced {
        t.namespace.clone()
    } else {
        None
    };
    let from = if w.send_initial_events {
        None
    } else {
        w.resource_version.filter(|rv| *rv != 0)
    };
    let sub = c.store.lock().subscribe(&key, ns.as_deref(), from);
    let mut sub = match sub {
        Ok(s) => s,
        Err(oldest) => {
            let rv = w.resource_version.unwrap_or(0);
            let _ = tx
                .send(line("ERROR", &ApiError::too_old(rv, oldest).to_status()))
                .await;
            return;
        }
    };
    let send = |kind: &'static str, obj: Value| {
        let tx = tx.clone();
        async move { tx.send(line(kind, &obj)).await.is_ok() }
    };
    let initial: Vec<Value> = sub
        .initial
        .iter()
        .filter(|o| w.list.matches(o))
        .map(|o| (**o).clone())
        .collect();
    let initial = match conversion::many_to_version(&c, &t.rt, initial).await {
        Ok(v) => v,
        Err(e) => {
            let _ = send("ERROR", e.to_status()).await;
            return;
        }
    };
    let mut first = true;
    for o in initial {
        let o = present(&c, &w, o, &mut first);
        if !send("ADDED", o).await {
            return;
        }
    }
    let mut progress = sub.start_rv;
    if w.send_initial_events && !send("BOOKMARK", bookmark(t, progress, true)).await {
        return;
    }
    let deadline = tokio::time::sleep(w.timeout);
    tokio::pin!(deadline);
    let mut ticker = tokio::time::interval(w.bookmark_interval);
    ticker.tick().await;
    let backlog = std::mem::take(&mut sub.backlog);
    for ev in backlog {
        progress = ev.rv;
        if !deliver(&c, &w, &key, ns.as_deref(), &ev, &tx, &mut first).await {
            return;
        }
    }
    loop {
        tokio::select! {
            _ = &mut deadline => return,
            _ = tx.closed() => return,
            _ = ticker.tick(), if w.bookmarks => {
                if !send("BOOKMARK", bookmark(t, progress, false)).await {
                    return;
                }
            }
            ev = sub.feed.recv() => match ev {
                Ok(ev) => {
                    progress = ev.rv;
                    if !deliver(&c, &w, &key, ns.as_deref(), &ev, &tx, &mut first).await {
                        return;
                    }
                }
                // The client re-watches from its last resourceVersion, as after any closed watch.
                Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => return,
            }
        }
    }
}

async fn deliver(
    c: &Cluster,
    w: &WatchRequest,
    key: &str,
    ns: Option<&str>,
    ev: &Event,
    tx: &mpsc::Sender<Bytes>,
    first: &mut bool,
) -> bool {
    if ev.resource != key || ns.is_some_and(|n| n != ev.namespace) {
        return true;
    }
    let now = w.list.matches(&ev.object);
    let before = ev.prev.as_ref().is_some_and(|p| w.list.matches(p));
    let kind = match (ev.kind, before, now) {
        (EventType::Added, _, true) => "ADDED",
        (EventType::Deleted, true, _) => "DELETED",
        (EventType::Modified, true, true) => "MODIFIED",
        (EventType::Modified, false, true) => "ADDED",
        (EventType::Modified, true, false) => "DELETED",
        _ => return true,
    };
    let plain = w.table.is_none()
        && (w.target.rt.crd.is_none() || w.target.rt.version == w.target.rt.storage_version);
    if plain {
        let obj = ev.json.get_or_init(|| ev.object.to_string());
        let line = format!("{{\"type\":\"{kind}\",\"object\":{obj}}}\n");
        return tx.send(Bytes::from(line)).await.is_ok();
    }
    match conversion::to_version(c, &w.target.rt, (*ev.object).clone()).await {
        Ok(obj) => tx
            .send(line(kind, &present(c, w, obj, first)))
            .await
            .is_ok(),
        Err(e) => {
            let _ = tx.send(line("ERROR", &e.to_status())).await;
            false
        }
    }
}
