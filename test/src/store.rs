//! In-memory storage with one global, monotonically increasing resourceVersion, and the watch hub.
//!
//! ```text
//!  write ──► objects[resource][(ns,name)] ──► history (bounded ring) ──► broadcast ──► watches
//!            rv += 1 per write                 resume / 410 Gone
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::broadcast;

/// ADDED / MODIFIED / DELETED.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One committed write.
#[derive(Debug, Clone)]
pub struct Event {
    pub rv: u64,
    /// `group/plural`.
    pub resource: String,
    pub namespace: String,
    pub kind: EventType,
    pub object: Arc<Value>,
    /// The object before this write (None for ADDED).
    pub prev: Option<Arc<Value>>,
    /// `object` serialised once, shared by every watch that sends it unchanged.
    pub json: std::sync::OnceLock<String>,
}

type Key = (String, String);

#[derive(Debug)]
pub struct StoreState {
    rv: u64,
    objects: BTreeMap<String, BTreeMap<Key, Arc<Value>>>,
    /// uid → (resource, namespace, name).
    uids: HashMap<String, (String, String, String)>,
    /// owner uid → dependents (resource, namespace, name), from ownerReferences.
    dependents: HashMap<String, BTreeSet<(String, String, String)>>,
    history: VecDeque<Arc<Event>>,
    history_cap: usize,
    /// Highest rv no longer in `history` (watches from at or below it get 410).
    compacted: u64,
    tx: broadcast::Sender<Arc<Event>>,
}

/// The object store; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    state: Arc<Mutex<StoreState>>,
}

/// What a new watch starts from: the snapshot (if asked for) and the live feed after it.
pub struct Subscription {
    pub initial: Vec<Arc<Value>>,
    pub backlog: Vec<Arc<Event>>,
    pub start_rv: u64,
    pub feed: broadcast::Receiver<Arc<Event>>,
}

fn meta(o: &Value, field: &str) -> String {
    o.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn owner_uids(o: &Value) -> Vec<String> {
    o.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("uid").and_then(Value::as_str).map(String::from))
        .collect()
}

pub fn set_rv(object: &mut Value, rv: u64) {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
    }
}

impl Store {
    pub fn new(history_cap: usize) -> Self {
        let (tx, _) = broadcast::channel(65536);
        Store {
            state: Arc::new(Mutex::new(StoreState {
                rv: 1,
                objects: BTreeMap::new(),
                uids: HashMap::new(),
                dependents: HashMap::new(),
                history: VecDeque::new(),
                history_cap: history_cap.max(1),
                compacted: 1,
                tx,
            })),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, StoreState> {
        // A poisoned lock only means another request panicked mid-write; the map is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl StoreState {
    pub fn current_rv(&self) -> u64 {
        self.rv
    }

    pub fn compacted_rv(&self) -> u64 {
        self.compacted
    }

    pub fn get(&self, resource: &str, namespace: &str, name: &str) -> Option<Arc<Value>> {
        self.objects
            .get(resource)?
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
    }

    /// All objects of a resource (in one namespace when given), in key order.
    pub fn list(&self, resource: &str, namespace: Option<&str>) -> Vec<Arc<Value>> {
        let Some(m) = self.objects.get(resource) else {
            return vec![];
        };
        match namespace {
            Some(ns) => m
                .range((ns.to_string(), String::new())..)
                .take_while(|((n, _), _)| n == ns)
                .map(|(_, v)| v.clone())
                .collect(),
            None => m.values().cloned().collect(),
        }
    }

    /// Every resource key that has objects.
    pub fn resources(&self) -> Vec<String> {
        self.objects
            .iter()
            .filter(|(_, m)| !m.is_empty())
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Commits a create or update: stamps the next rv into the object and publishes the event.
    pub fn put(
        &mut self,
        resource: &str,
        namespace: &str,
        name: &str,
        mut object: Value,
    ) -> Arc<Value> {
        self.rv += 1;
        set_rv(&mut object, self.rv);
        let object = Arc::new(object);
        let key = (namespace.to_string(), name.to_string());
        let old = self
            .objects
            .entry(resource.to_string())
            .or_default()
            .insert(key, object.clone());
        if let Some(o) = &old {
            self.unindex(resource, o);
        }
        self.index(resource, &object);
        let kind = if old.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.publish(resource, namespace, kind, object.clone(), old);
        object
    }

    /// Removes an object; the DELETED event carries it with a fresh rv.
    pub fn remove(&mut self, resource: &str, namespace: &str, name: &str) -> Option<Arc<Value>> {
        let key = (namespace.to_string(), name.to_string());
        let old = self.objects.get_mut(resource)?.remove(&key)?;
        self.unindex(resource, &old);
        self.rv += 1;
        let mut gone = (*old).clone();
        set_rv(&mut gone, self.rv);
        let gone = Arc::new(gone);
        self.publish(
            resource,
            namespace,
            EventType::Deleted,
            gone.clone(),
            Some(old),
        );
        Some(gone)
    }

    fn publish(
        &mut self,
        resource: &str,
        namespace: &str,
        kind: EventType,
        object: Arc<Value>,
        prev: Option<Arc<Value>>,
    ) {
        let event = Arc::new(Event {
            rv: self.rv,
            resource: resource.to_string(),
            namespace: namespace.to_string(),
            kind,
            object,
            prev,
            json: std::sync::OnceLock::new(),
        });
        self.history.push_back(event.clone());
        while self.history.len() > self.history_cap {
            if let Some(old) = self.history.pop_front() {
                self.compacted = old.rv;
            }
        }
        // No receivers is fine: nobody watches.
        let _ = self.tx.send(event);
    }

    fn index(&mut self, resource: &str, o: &Value) {
        let id = (resource.to_string(), meta(o, "namespace"), meta(o, "name"));
        for owner in owner_uids(o) {
            self.dependents.entry(owner).or_default().insert(id.clone());
        }
        let uid = meta(o, "uid");
        if !uid.is_empty() {
            self.uids.insert(uid, id);
        }
    }

    fn unindex(&mut self, resource: &str, o: &Value) {
        let id = (resource.to_string(), meta(o, "namespace"), meta(o, "name"));
        for owner in owner_uids(o) {
            if let Some(set) = self.dependents.get_mut(&owner) {
                set.remove(&id);
                if set.is_empty() {
                    self.dependents.remove(&owner);
                }
            }
        }
        self.uids.remove(&meta(o, "uid"));
    }

    /// The object with this uid, with its resource key.
    pub fn by_uid(&self, uid: &str) -> Option<(String, Arc<Value>)> {
        let (r, ns, name) = self.uids.get(uid)?;
        Some((r.clone(), self.get(r, ns, name)?))
    }

    /// Objects whose ownerReferences name `uid`, with their resource keys.
    pub fn dependents_of(&self, uid: &str) -> Vec<(String, Arc<Value>)> {
        self.dependents
            .get(uid)
            .into_iter()
            .flatten()
            .filter_map(|(r, ns, name)| Some((r.clone(), self.get(r, ns, name)?)))
            .collect()
    }

    /// Every event from now on.
    pub fn feed(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    /// Starts a watch. `from == None` means "current state as ADDED events, then changes".
    /// `Err(oldest)` when `from` is older than the retained history.
    pub fn subscribe(
        &self,
        resource: &str,
        namespace: Option<&str>,
        from: Option<u64>,
    ) -> Result<Subscription, u64> {
        let feed = self.tx.subscribe();
        match from {
            None => Ok(Subscription {
                initial: self.list(resource, namespace),
                backlog: vec![],
                start_rv: self.rv,
                feed,
            }),
            Some(rv) => {
                if rv < self.compacted {
                    return Err(self.compacted + 1);
                }
                let backlog = self.history.iter().filter(|e| e.rv > rv).cloned().collect();
                Ok(Subscription {
                    initial: vec![],
                    backlog,
                    start_rv: rv.max(self.compacted),
                    feed,
                })
            }
        }
    }
}
