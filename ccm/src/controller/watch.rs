//! Watches that feed in-memory stores and tell the controller what changed.
//!
//! ```text
//!   watcher(Api<K>) ─► reflector(Writer<K>) ─► Store<K> (read by the controller)
//!                                  └─► Change::{Service, Namespace, Config} on the channel
//! ```

use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::Hash;

use futures::StreamExt;
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use tracing::warn;

use crate::metrics::Metrics;

/// What changed, as far as the controller cares.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Change {
    /// One Service (namespace, name).
    Service(String, String),
    /// A Namespace's labels (pool namespaceSelectors): every Service may be affected.
    Namespace,
    /// A metallb.io object or a Secret: the configuration must be evaluated again.
    Config,
}

/// What about an object matters to the controller; an update that leaves it unchanged (a
/// status write, a heartbeat) is not reported. `None`: every update matters.
pub type Fingerprint<K> = fn(&K) -> Option<u64>;

/// Every update matters.
pub fn every_update<K>(_: &K) -> Option<u64> {
    None
}

/// Only spec changes matter: `metadata.generation` (objects with a status subresource).
pub fn generation<K: Resource>(o: &K) -> Option<u64> {
    o.meta().generation.and_then(|g| u64::try_from(g).ok())
}

/// Only label changes matter (Namespaces, for namespaceSelectors).
pub fn labels<K: Resource>(o: &K) -> Option<u64> {
    use std::hash::Hasher;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    o.meta().labels.hash(&mut h);
    Some(h.finish())
}

/// Starts watching `api`; every event that changes `fingerprint` becomes `to_change(obj)` on
/// `tx`.
pub fn spawn<K>(
    api: Api<K>,
    dyntype: K::DynamicType,
    what: &'static str,
    tx: UnboundedSender<Change>,
    metrics: Metrics,
    to_change: fn(&K) -> Change,
    fingerprint: Fingerprint<K>,
) -> (Store<K>, JoinHandle<()>)
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Clone + Eq + Hash + Default + Send + Sync,
{
    spawn_with(api, dyntype, what, tx, metrics, to_change, fingerprint)
}

fn spawn_with<K>(
    api: Api<K>,
    dyntype: K::DynamicType,
    what: &'static str,
    tx: UnboundedSender<Change>,
    metrics: Metrics,
    to_change: fn(&K) -> Change,
    fingerprint: Fingerprint<K>,
) -> (Store<K>, JoinHandle<()>)
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Clone + Eq + Hash + Send + Sync,
{
    let writer = reflector::store::Writer::new(dyntype);
    let store = writer.as_reader();
    let stream = reflector::reflector(
        writer,
        watcher(api, watcher::Config::default()).default_backoff(),
    );
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        // uid → last fingerprint reported.
        let mut seen: HashMap<String, u64> = HashMap::new();
        while let Some(event) = stream.next().await {
            match event {
                Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => {
                    metrics.updates.inc();
                    if let (Some(uid), Some(fp)) = (o.meta().uid.clone(), fingerprint(&o))
                        && seen.insert(uid, fp) == Some(fp)
                    {
                        continue;
                    }
                    if tx.send(to_change(&o)).is_err() {
                        return;
                    }
                }
                Ok(watcher::Event::Delete(o)) => {
                    metrics.updates.inc();
                    if let Some(uid) = &o.meta().uid {
                        seen.remove(uid);
                    }
                    if tx.send(to_change(&o)).is_err() {
                        return;
                    }
                }
                Ok(watcher::Event::Init) => {}
                Ok(watcher::Event::InitDone) => {
                    // A relist may have dropped objects we never saw deleted.
                    if tx.send(Change::Config).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    metrics.update_errors.inc();
                    warn!(kind = what, error = %e, "watch failed; retrying with backoff");
                }
            }
        }
    });
    (store, task)
}

/// `Change::Service` for a Service object.
pub fn service_change<K: ResourceExt>(o: &K) -> Change {
    Change::Service(o.namespace().unwrap_or_default(), o.name_any())
}

/// `Change::Namespace` for any Namespace event.
pub fn namespace_change<K>(_: &K) -> Change {
    Change::Namespace
}

/// `Change::Config` for any event (Secrets).
pub fn config_change<K>(_: &K) -> Change {
    Change::Config
}
