//! The REST verbs over the store, independent of HTTP: get, list, create, update, patch,
//! delete, deletecollection. Watches are served from [`crate::store::StoreState::subscribe`].
//!
//! ```text
//!  request ─► prepare (defaults, validation, status/main split, managedFields, admission)
//!          ─► commit under the store lock (resourceVersion precondition, allocation)
//!          ─► store ─► events ─► watches, garbage collector, namespace finalizer
//! ```

mod meta;
mod write;

use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

use base64::Engine;
use serde_json::{Value, json};

pub use meta::{generated_name, now, str_at, uid};
pub use write::{DeleteOptions, WriteOptions};

use crate::catalog::{Catalog, ResourceType};
use crate::conversion;
use crate::error::{ApiError, ApiResult};
use crate::selector::{FieldSelector, LabelSelector, labels_of};
use crate::service::ServiceAllocator;
use crate::store::Store;

/// What one request addresses.
#[derive(Debug, Clone)]
pub struct Target {
    pub rt: ResourceType,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

impl Target {
    pub fn ns(&self) -> &str {
        if self.rt.namespaced {
            self.namespace.as_deref().unwrap_or("")
        } else {
            ""
        }
    }
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }
    pub fn is_status(&self) -> bool {
        self.subresource.as_deref() == Some("status")
    }
}

/// List parameters.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    pub label_selector: Option<LabelSelector>,
    pub field_selector: Option<FieldSelector>,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
}

impl ListOptions {
    pub fn matches(&self, object: &Value) -> bool {
        self.label_selector
            .as_ref()
            .is_none_or(|s| s.matches(&labels_of(object)))
            && self
                .field_selector
                .as_ref()
                .is_none_or(|s| s.matches(object))
    }
}

/// The whole emulated control plane state.
#[derive(Debug)]
pub struct Cluster {
    pub store: Store,
    pub catalog: RwLock<Catalog>,
    pub services: Mutex<ServiceAllocator>,
}

fn decode_continue(token: &str, compacted: u64) -> ApiResult<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|e| ApiError::bad_request(format!("invalid continue token: {e}")))?;
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("invalid continue token: {e}")))?;
    let rv = v.get("rv").and_then(Value::as_u64).unwrap_or(0);
    if rv < compacted {
        return Err(ApiError::gone(
            "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
        ));
    }
    Ok(v.get("start")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string())
}

fn encode_continue(rv: u64, start: &str) -> String {
    let v = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": start});
    base64::engine::general_purpose::STANDARD.encode(v.to_string())
}

fn key_of(o: &Value) -> String {
    // NUL sorts before every name character, so string order matches the store's (ns, name) order.
    format!(
        "{}\u{0}{}",
        str_at(o, "/metadata/namespace"),
        str_at(o, "/metadata/name")
    )
}

impl Cluster {
    pub fn new(service_cidrs: Vec<ipnet::IpNet>, history: usize) -> Arc<Self> {
        let cluster = Arc::new(Cluster {
            store: Store::new(history),
            catalog: RwLock::new(Catalog::new()),
            services: Mutex::new(ServiceAllocator::new(service_cidrs)),
        });
        cluster.bootstrap();
        cluster
    }

    pub fn catalog(&self) -> RwLockReadGuard<'_, Catalog> {
        self.catalog.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The namespaces and the `kubernetes` Service a fresh cluster has.
    fn bootstrap(&self) {
        let ts = now();
        let mut st = self.store.lock();
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let obj = json!({
                "apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": ns, "uid": uid(), "creationTimestamp": ts,
                    "labels": {"kubernetes.io/metadata.name": ns}},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"}
            });
            st.put("/namespaces", "", ns, obj);
        }
        let ip = self
            .services
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .first_ip();
        if let Some(ip) = ip {
            let fam = if ip.contains(':') { "IPv6" } else { "IPv4" };
            let svc = json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "kubernetes", "namespace": "default", "uid": uid(), "creationTimestamp": ts,
                    "labels": {"component": "apiserver", "provider": "kubernetes"}},
                "spec": {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip], "ipFamilies": [fam],
                    "ipFamilyPolicy": "SingleStack", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
                    "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]},
                "status": {"loadBalancer": {}}
            });
            st.put("/services", "default", "kubernetes", svc);
        }
    }

    pub async fn get(&self, t: &Target) -> ApiResult<Value> {
        let found = self.store.lock().get(&t.rt.storage_key(), t.ns(), t.name());
        let obj = found.ok_or_else(|| ApiError::not_found(&t.rt.group, &t.rt.plural, t.name()))?;
        conversion::to_version(self, &t.rt, (*obj).clone()).await
    }

    pub async fn list(&self, t: &Target, opts: &ListOptions) -> ApiResult<Value> {
        let (items, rv, compacted) = {
            let st = self.store.lock();
            let ns = if t.rt.namespaced {
                t.namespace.as_deref()
            } else {
                None
            };
            (
                st.list(&t.rt.storage_key(), ns),
                st.current_rv(),
                st.compacted_rv(),
            )
        };
        let start = match &opts.continue_token {
            Some(tok) if !tok.is_empty() => Some(decode_continue(tok, compacted)?),
            _ => None,
        };
        let mut out = vec![];
        let mut more = None;
        let mut remaining = 0usize;
        for obj in items.iter() {
            if start.as_ref().is_some_and(|s| key_of(obj) <= *s) || !opts.matches(obj) {
                continue;
            }
            if opts.limit.is_some_and(|l| l > 0 && out.len() >= l) {
                if more.is_none() {
                    more = out.last().map(key_of);
                }
                remaining += 1;
                continue;
            }
            out.push((**obj).clone());
        }
        let mut out = conversion::many_to_version(self, &t.rt, out).await?;
        if t.rt.crd.is_none() {
            for o in out.iter_mut() {
                if let Some(m) = o.as_object_mut() {
                    m.remove("apiVersion");
                    m.remove("kind");
                }
            }
        }
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if let Some(last) = more {
            meta["continue"] = json!(encode_continue(rv, &last));
            meta["remainingItemCount"] = json!(remaining);
        }
        Ok(
            json!({"kind": t.rt.list_kind(), "apiVersion": t.rt.api_version(), "metadata": meta, "items": out}),
        )
    }
}
