//! How each list merges: the merge keys strategic merge patch and server-side apply use.
//!
//! Built-ins carry the `patchMergeKey` / `x-kubernetes-list-map-keys` of the real types for the
//! fields kubectl and Lodestone touch; custom resources read `x-kubernetes-list-type` from the
//! version's schema (lists without it are atomic, as on the real server).

use serde_json::Value;

use crate::catalog::ResourceType;

/// Merge semantics of one list field.
#[derive(Debug, Clone, PartialEq)]
pub enum ListKind {
    /// Replaced as a whole.
    Atomic,
    /// Scalars merged as a set (`metadata.finalizers`).
    Set,
    /// Items identified by keys: `smp_key` for strategic merge, `keys` for apply.
    Map { smp_key: String, keys: Vec<String> },
}

fn map(smp: &str, keys: &[&str]) -> ListKind {
    ListKind::Map {
        smp_key: smp.to_string(),
        keys: keys.iter().map(|k| k.to_string()).collect(),
    }
}

/// `path` is the list's location, list items written as `*` (`spec.containers.*.ports`).
pub fn list_kind(rt: &ResourceType, path: &[String]) -> ListKind {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    match p.as_slice() {
        ["metadata", "finalizers"] => return ListKind::Set,
        ["metadata", "ownerReferences"] => return map("uid", &["uid"]),
        ["metadata", "managedFields"] => return ListKind::Atomic,
        _ => {}
    }
    if let Some(schema) = &rt.schema {
        return schema_list_kind(schema, &p);
    }
    let containers =
        |s: &[&str]| matches!(s, ["containers" | "initContainers" | "ephemeralContainers"]);
    // Workload pod templates merge like Pods.
    let workload = matches!(
        rt.kind.as_str(),
        "Deployment" | "DaemonSet" | "StatefulSet" | "ReplicaSet"
    );
    let (kind, p) = match p.as_slice() {
        ["spec", "template", rest @ ..] if workload => ("Pod", rest.to_vec()),
        _ => (rt.kind.as_str(), p),
    };
    match (kind, p.as_slice()) {
        ("Service", ["spec", "ports"]) => map("port", &["port", "protocol"]),
        ("Service", ["status", "conditions"]) => map("type", &["type"]),
        ("Pod", ["spec", rest @ ..]) if containers(rest) => map("name", &["name"]),
        ("Pod", ["spec", c, "*", "ports"]) if containers(&[c]) => {
            map("containerPort", &["containerPort", "protocol"])
        }
        ("Pod", ["spec", c, "*", "env"]) if containers(&[c]) => map("name", &["name"]),
        ("Pod", ["spec", c, "*", "volumeMounts"]) if containers(&[c]) => {
            map("mountPath", &["mountPath"])
        }
        ("Pod", ["spec", "volumes"]) => map("name", &["name"]),
        ("Pod", ["status", "conditions"]) => map("type", &["type"]),
        ("Node", ["status", "conditions"]) => map("type", &["type"]),
        ("Node", ["status", "addresses"]) => map("type", &["type"]),
        ("Namespace", ["status", "conditions"]) => map("type", &["type"]),
        ("CustomResourceDefinition", ["status", "conditions"]) => map("type", &["type"]),
        ("ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration", ["webhooks"]) => {
            map("name", &["name"])
        }
        (_, [.., "conditions"]) => map("type", &["type"]),
        _ => ListKind::Atomic,
    }
}

/// Walks a structural schema along `path` and reads the list's `x-kubernetes-list-*`.
fn schema_list_kind(schema: &Value, path: &[&str]) -> ListKind {
    let mut node = schema;
    for seg in path {
        let next = if *seg == "*" {
            node.get("items")
        } else {
            node.get("properties")
                .and_then(|p| p.get(*seg))
                .or_else(|| node.get("additionalProperties").filter(|a| a.is_object()))
        };
        match next {
            Some(n) => node = n,
            None => return ListKind::Atomic,
        }
    }
    match node.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("set") => ListKind::Set,
        Some("map") => {
            let keys: Vec<String> = node
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|k| k.as_str().map(String::from))
                .collect();
            match keys.first() {
                Some(first) => ListKind::Map {
                    smp_key: first.clone(),
                    keys,
                },
                None => ListKind::Atomic,
            }
        }
        _ => ListKind::Atomic,
    }
}

/// The key values identifying a map-list item, as `{"k": v, ...}` (missing keys are null).
pub fn item_key(item: &Value, keys: &[String]) -> Value {
    let mut m = serde_json::Map::new();
    for k in keys {
        let v = item.get(k).cloned().unwrap_or(Value::Null);
        // `protocol` defaults to TCP on the real server before the key is computed.
        let v = if k == "protocol" && v.is_null() {
            Value::String("TCP".into())
        } else {
            v
        };
        m.insert(k.clone(), v);
    }
    Value::Object(m)
}
