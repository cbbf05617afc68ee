//! Strategic merge patch for built-in kinds: maps merge, keyed lists merge by their
//! `patchMergeKey`, and the `$patch`, `$retainKeys`, `$deleteFromPrimitiveList` and
//! `$setElementOrder` directives kubectl sends are honoured.

use serde_json::{Map, Value};

use super::lists::{ListKind, list_kind};
use crate::catalog::ResourceType;
use crate::error::ApiError;

/// Applies `patch` to `target` in place.
pub fn apply(rt: &ResourceType, target: &mut Value, patch: &Value) -> Result<(), ApiError> {
    let mut path = vec![];
    merge_map(rt, &mut path, target, patch)
}

fn invalid(msg: impl Into<String>) -> ApiError {
    ApiError::new(422, "Invalid", msg)
}

fn merge_map(
    rt: &ResourceType,
    path: &mut Vec<String>,
    target: &mut Value,
    patch: &Value,
) -> Result<(), ApiError> {
    let Some(p) = patch.as_object() else {
        *target = patch.clone();
        return Ok(());
    };
    match p.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            let mut clean = p.clone();
            clean.remove("$patch");
            *target = Value::Object(clean);
            return Ok(());
        }
        Some("delete") => {
            *target = Value::Null;
            return Ok(());
        }
        Some(other) => return Err(invalid(format!("unknown patch type: {other}"))),
        None => {}
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Some(t) = target.as_object_mut() else {
        return Ok(());
    };
    if let Some(retain) = p.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = retain.iter().filter_map(Value::as_str).collect();
        t.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (k, v) in p {
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(list), Some(drop)) =
                (t.get_mut(field).and_then(Value::as_array_mut), v.as_array())
            {
                list.retain(|x| !drop.contains(x));
            }
            continue;
        }
        if k.starts_with('$') {
            continue;
        }
        if v.is_null() {
            t.remove(k);
            continue;
        }
        path.push(k.clone());
        let slot = t.entry(k.clone()).or_insert(Value::Null);
        match v {
            Value::Object(_) => {
                merge_map(rt, path, slot, v)?;
                if slot.is_null() {
                    t.remove(k);
                }
            }
            Value::Array(items) => merge_list(rt, path, slot, items)?,
            _ => *slot = v.clone(),
        }
        path.pop();
    }
    // `$setElementOrder/<list>` orders the merged list like the patch author's list.
    for (k, v) in p {
        if let (Some(field), Some(order)) = (k.strip_prefix("$setElementOrder/"), v.as_array()) {
            let mut lp = path.clone();
            lp.push(field.to_string());
            let kind = list_kind(rt, &lp);
            if let Some(list) = t.get_mut(field).and_then(Value::as_array_mut) {
                reorder(list, order, &kind);
            }
        }
    }
    Ok(())
}

fn reorder(list: &mut [Value], order: &[Value], kind: &ListKind) {
    let key_of = |item: &Value| -> Value {
        match kind {
            ListKind::Map { smp_key, .. } => item.get(smp_key).cloned().unwrap_or(Value::Null),
            _ => item.clone(),
        }
    };
    let pos = |item: &Value| {
        let k = key_of(item);
        order
            .iter()
            .position(|o| key_of(o) == k || *o == k)
            .unwrap_or(usize::MAX)
    };
    list.sort_by_key(pos);
}

fn merge_list(
    rt: &ResourceType,
    path: &mut Vec<String>,
    slot: &mut Value,
    items: &[Value],
) -> Result<(), ApiError> {
    let kind = list_kind(rt, path);
    if items
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        *slot = Value::Array(
            items
                .iter()
                .filter(|i| i.get("$patch").is_none())
                .cloned()
                .collect(),
        );
        return Ok(());
    }
    match kind {
        ListKind::Atomic => *slot = Value::Array(items.to_vec()),
        ListKind::Set => {
            let mut cur = slot.as_array().cloned().unwrap_or_default();
            for i in items {
                if !cur.contains(i) {
                    cur.push(i.clone());
                }
            }
            *slot = Value::Array(cur);
        }
        ListKind::Map { smp_key, .. } => {
            let mut cur = slot.as_array().cloned().unwrap_or_default();
            for item in items {
                let Some(key) = item.get(&smp_key) else {
                    return Err(invalid(format!(
                        "map: {item} does not contain declared merge key: {smp_key}"
                    )));
                };
                let existing = cur.iter().position(|c| c.get(&smp_key) == Some(key));
                if item.get("$patch").and_then(Value::as_str) == Some("delete") {
                    if let Some(i) = existing {
                        cur.remove(i);
                    }
                    continue;
                }
                path.push("*".into());
                match existing {
                    Some(i) => merge_map(rt, path, &mut cur[i], item)?,
                    None => {
                        let mut fresh = Value::Object(Map::new());
                        merge_map(rt, path, &mut fresh, item)?;
                        cur.push(fresh);
                    }
                }
                path.pop();
            }
            *slot = Value::Array(cur);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use serde_json::json;

    #[test]
    fn service_ports_merge_by_port_and_finalizers_union() {
        let cat = Catalog::new();
        let Some(rt) = cat.get("", "v1", "services") else {
            panic!("services served")
        };
        let mut svc = json!({
            "metadata": {"finalizers": ["a"], "labels": {"x": "1", "y": "2"}},
            "spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}]}
        });
        let patch = json!({
            "metadata": {"finalizers": ["b"], "labels": {"y": null}},
            "spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443, "$patch": "delete"}]}
        });
        assert_eq!(apply(rt, &mut svc, &patch), Ok(()));
        assert_eq!(svc["metadata"]["finalizers"], json!(["a", "b"]));
        assert_eq!(svc["metadata"]["labels"], json!({"x": "1"}));
        assert_eq!(
            svc["spec"]["ports"],
            json!([{"port": 80, "name": "http", "targetPort": 8080}])
        );
    }

    #[test]
    fn delete_from_primitive_list_and_replace() {
        let cat = Catalog::new();
        let Some(rt) = cat.get("", "v1", "pods") else {
            panic!("pods served")
        };
        let mut pod = json!({"metadata": {"finalizers": ["a", "b"]}, "spec": {"containers": [{"name": "c", "image": "x"}]}});
        let patch = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]},
            "spec": {"containers": [{"name": "d", "image": "y"}, {"$patch": "replace"}]}});
        assert_eq!(apply(rt, &mut pod, &patch), Ok(()));
        assert_eq!(pod["metadata"]["finalizers"], json!(["b"]));
        assert_eq!(
            pod["spec"]["containers"],
            json!([{"name": "d", "image": "y"}])
        );
    }
}
