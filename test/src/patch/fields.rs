//! Field sets (the `fieldsV1` of `metadata.managedFields`) and the ownership bookkeeping that
//! server-side apply and ordinary writes share.
//!
//! A set is kept flat: each path is a list of path elements (`f:spec`, `k:{"port":80,...}`,
//! `v:"x"`), and a map-list item owned as a whole ends in `.`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::lists::{ListKind, item_key, list_kind};
use crate::catalog::ResourceType;

pub type Path = Vec<String>;
pub type FieldSet = BTreeSet<Path>;

const UNTRACKED_META: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
    "generateName",
];

/// Which part of an object a write owns: the main resource or its status subresource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Main,
    Status,
}

/// The field set an object (or apply configuration) sets.
pub fn fields_of(rt: &ResourceType, object: &Value, part: Part) -> FieldSet {
    let mut out = FieldSet::new();
    let Some(obj) = object.as_object() else {
        return out;
    };
    for (k, v) in obj {
        let wanted = match (k.as_str(), part) {
            ("apiVersion" | "kind", _) => false,
            ("status", Part::Main) => !rt.status,
            ("status", Part::Status) => true,
            (_, Part::Status) => false,
            _ => true,
        };
        if !wanted {
            continue;
        }
        let mut path = vec![format!("f:{k}")];
        let mut schema_path = vec![k.clone()];
        if k == "metadata" {
            if let Some(meta) = v.as_object() {
                for (mk, mv) in meta {
                    if UNTRACKED_META.contains(&mk.as_str()) {
                        continue;
                    }
                    path.push(format!("f:{mk}"));
                    schema_path.push(mk.clone());
                    walk(rt, &mut schema_path, &mut path, mv, &mut out);
                    path.pop();
                    schema_path.pop();
                }
            }
            continue;
        }
        walk(rt, &mut schema_path, &mut path, v, &mut out);
    }
    out
}

fn key_element(item: &Value, keys: &[String]) -> String {
    let key = item_key(item, keys);
    // Sorted keys, as the real encoder writes them.
    let sorted: BTreeMap<String, Value> = key
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    format!("k:{}", serde_json::to_string(&sorted).unwrap_or_default())
}

fn walk(
    rt: &ResourceType,
    schema_path: &mut Vec<String>,
    path: &mut Path,
    v: &Value,
    out: &mut FieldSet,
) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                path.push(format!("f:{k}"));
                schema_path.push(k.clone());
                walk(rt, schema_path, path, child, out);
                schema_path.pop();
                path.pop();
            }
        }
        Value::Array(items) => match list_kind(rt, schema_path) {
            ListKind::Atomic => {
                out.insert(path.clone());
            }
            ListKind::Set => {
                for i in items {
                    let mut p = path.clone();
                    p.push(format!("v:{i}"));
                    out.insert(p);
                }
                if items.is_empty() {
                    out.insert(path.clone());
                }
            }
            ListKind::Map { keys, .. } => {
                for item in items {
                    path.push(key_element(item, &keys));
                    let mut marker = path.clone();
                    marker.push(".".into());
                    out.insert(marker);
                    schema_path.push("*".into());
                    walk(rt, schema_path, path, item, out);
                    schema_path.pop();
                    path.pop();
                }
                if items.is_empty() {
                    out.insert(path.clone());
                }
            }
        },
        _ => {
            out.insert(path.clone());
        }
    }
}

/// The value a path points at, if present.
pub fn value_at<'a>(object: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = object;
    for pe in path {
        if pe == "." {
            return Some(cur);
        }
        if let Some(f) = pe.strip_prefix("f:") {
            cur = cur.get(f)?;
        } else if let Some(k) = pe.strip_prefix("k:") {
            let key: Map<String, Value> = serde_json::from_str(k).ok()?;
            let keys: Vec<String> = key.keys().cloned().collect();
            let want = Value::Object(key);
            cur = cur
                .as_array()?
                .iter()
                .find(|i| item_key(i, &keys) == want)?;
        } else if let Some(v) = pe.strip_prefix("v:") {
            let want: Value = serde_json::from_str(v).ok()?;
            cur = cur.as_array()?.iter().find(|i| **i == want)?;
        } else {
            return None;
        }
    }
    Some(cur)
}

/// Removes what a path points at (a map field, a keyed list item or a set member).
pub fn remove_at(object: &mut Value, path: &[String]) {
    let Some((last, parent_path)) = path.split_last() else {
        return;
    };
    if last == "." {
        remove_at(object, parent_path);
        return;
    }
    let mut cur = object;
    for pe in parent_path {
        let next = if let Some(f) = pe.strip_prefix("f:") {
            cur.get_mut(f)
        } else if let Some(k) = pe.strip_prefix("k:") {
            let Ok(key) = serde_json::from_str::<Map<String, Value>>(k) else {
                return;
            };
            let keys: Vec<String> = key.keys().cloned().collect();
            let want = Value::Object(key);
            cur.as_array_mut()
                .and_then(|a| a.iter_mut().find(|i| item_key(i, &keys) == want))
        } else {
            None
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    if let Some(f) = last.strip_prefix("f:") {
        if let Some(m) = cur.as_object_mut() {
            m.remove(f);
        }
    } else if let Some(k) = last.strip_prefix("k:") {
        let Ok(key) = serde_json::from_str::<Map<String, Value>>(k) else {
            return;
        };
        let keys: Vec<String> = key.keys().cloned().collect();
        let want = Value::Object(key);
        if let Some(a) = cur.as_array_mut() {
            a.retain(|i| item_key(i, &keys) != want);
        }
    } else if let Some(v) = last.strip_prefix("v:") {
        let Ok(want) = serde_json::from_str::<Value>(v) else {
            return;
        };
        if let Some(a) = cur.as_array_mut() {
            a.retain(|i| *i != want);
        }
    }
}

/// The `fieldsV1` tree of a flat set.
pub fn to_fields_v1(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in set {
        let mut node = &mut root;
        for pe in path {
            let entry = node.entry(pe.clone()).or_insert_with(|| json!({}));
            let Some(next) = entry.as_object_mut() else {
                break;
            };
            node = next;
        }
    }
    Value::Object(root)
}

/// The flat set of a `fieldsV1` tree.
pub fn from_fields_v1(tree: &Value) -> FieldSet {
    fn go(node: &Value, path: &mut Path, out: &mut FieldSet) {
        let Some(m) = node.as_object() else { return };
        if m.is_empty() && !path.is_empty() {
            out.insert(path.clone());
        }
        for (k, v) in m {
            path.push(k.clone());
            go(v, path, out);
            path.pop();
        }
    }
    let mut out = FieldSet::new();
    go(tree, &mut vec![], &mut out);
    out
}

/// One `metadata.managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedEntry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub time: String,
    pub subresource: String,
    pub fields: FieldSet,
}

impl ManagedEntry {
    pub fn part(&self) -> Part {
        if self.subresource == "status" {
            Part::Status
        } else {
            Part::Main
        }
    }
}

pub fn read_managed(object: &Value) -> Vec<ManagedEntry> {
    object
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| ManagedEntry {
            manager: e
                .get("manager")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            operation: e
                .get("operation")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            api_version: e
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            time: e
                .get("time")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            subresource: e
                .get("subresource")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            fields: e.get("fieldsV1").map(from_fields_v1).unwrap_or_default(),
        })
        .collect()
}

pub fn write_managed(object: &mut Value, entries: &[ManagedEntry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            let mut v = json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": to_fields_v1(&e.fields),
            });
            if !e.subresource.is_empty() {
                v["subresource"] = json!(e.subresource);
            }
            v
        })
        .collect();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        if list.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(list));
        }
    }
}

/// Records an ordinary (non-apply) write by `manager`: it takes every field it changed.
/// `owners` carries the managedFields to start from (normally `old`'s).
pub fn record_update(
    rt: &ResourceType,
    old: Option<&Value>,
    owners: Option<&Value>,
    new: &mut Value,
    manager: &str,
    part: Part,
    now: &str,
) {
    let mut entries = owners.map(read_managed).unwrap_or_default();
    let old_set = old.map(|o| fields_of(rt, o, part)).unwrap_or_default();
    let new_set = fields_of(rt, new, part);
    let changed: FieldSet = new_set
        .iter()
        .filter(|p| match old {
            Some(o) => !old_set.contains(*p) || value_at(o, p) != value_at(new, p),
            None => true,
        })
        .cloned()
        .collect();
    let removed: FieldSet = old_set.difference(&new_set).cloned().collect();
    if changed.is_empty() && removed.is_empty() {
        write_managed(new, &entries);
        return;
    }
    let subresource = if part == Part::Status { "status" } else { "" };
    for e in entries.iter_mut().filter(|e| e.part() == part) {
        e.fields.retain(|p| !removed.contains(p));
        if !(e.manager == manager && e.operation == "Update") {
            e.fields.retain(|p| !changed.contains(p));
        }
    }
    match entries
        .iter_mut()
        .find(|e| e.manager == manager && e.operation == "Update" && e.part() == part)
    {
        Some(e) => {
            e.fields.extend(changed);
            e.time = now.to_string();
        }
        None => entries.push(ManagedEntry {
            manager: manager.to_string(),
            operation: "Update".into(),
            api_version: rt.api_version(),
            time: now.to_string(),
            subresource: subresource.into(),
            fields: changed,
        }),
    }
    entries.retain(|e| !e.fields.is_empty());
    write_managed(new, &entries);
}
