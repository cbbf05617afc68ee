//! Server-side apply: merge an apply configuration, own its fields, detect conflicts with
//! other managers (409 with the real message unless `force`), and drop fields the manager
//! stopped applying when nobody else owns them.

use serde_json::{Map, Value, json};

use super::fields::{
    FieldSet, ManagedEntry, Part, fields_of, read_managed, remove_at, value_at, write_managed,
};
use super::lists::{ListKind, item_key, list_kind};
use crate::catalog::ResourceType;
use crate::error::ApiError;

/// One apply request.
pub struct Apply<'a> {
    pub rt: &'a ResourceType,
    pub manager: &'a str,
    pub force: bool,
    pub part: Part,
    pub now: &'a str,
}

fn render_path(path: &[String]) -> String {
    let mut s = String::new();
    for pe in path {
        if let Some(f) = pe.strip_prefix("f:") {
            s.push('.');
            s.push_str(f);
        } else if let Some(k) = pe.strip_prefix("k:") {
            s.push('[');
            s.push_str(&k.replace(':', "="));
            s.push(']');
        } else if let Some(v) = pe.strip_prefix("v:") {
            s.push_str(&format!("[={v}]"));
        }
    }
    s
}

fn conflict_error(
    rt: &ResourceType,
    name: &str,
    conflicts: &[(String, String, Vec<String>)],
) -> ApiError {
    let n = conflicts.len();
    let mut by_manager: Vec<(String, String, Vec<String>)> = vec![];
    for (m, v, p) in conflicts {
        match by_manager.iter_mut().find(|(bm, bv, _)| bm == m && bv == v) {
            Some((_, _, paths)) => paths.push(render_path(p)),
            None => by_manager.push((m.clone(), v.clone(), vec![render_path(p)])),
        }
    }
    let message = if n == 1 {
        let (m, v, p) = &by_manager[0];
        format!(
            "Apply failed with 1 conflict: conflict with \"{m}\" using {v}: {}",
            p[0]
        )
    } else {
        let parts: Vec<String> = by_manager
            .iter()
            .map(|(m, v, ps)| {
                let lines: Vec<String> = ps.iter().map(|p| format!("- {p}")).collect();
                format!("conflicts with \"{m}\" using {v}:\n{}", lines.join("\n"))
            })
            .collect();
        format!("Apply failed with {n} conflicts: {}", parts.join("\n"))
    };
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(m, v, p)| {
            json!({"reason": "FieldManagerConflict", "message": format!("conflict with \"{m}\" using {v}"), "field": render_path(p)})
        })
        .collect();
    let mut e = ApiError::new(409, "Conflict", message);
    let mut d = json!({"name": name, "kind": rt.plural, "causes": causes});
    if !rt.group.is_empty() {
        d["group"] = json!(rt.group);
    }
    e.details = Some(d);
    e
}

impl Apply<'_> {
    /// The object after applying `config` to `live` (an empty object when creating).
    pub fn run(&self, live: &Value, config: &Value) -> Result<Value, ApiError> {
        let name = live
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut entries = read_managed(live);
        let applied = fields_of(self.rt, config, self.part);
        let mine = |e: &ManagedEntry| {
            e.manager == self.manager && e.operation == "Apply" && e.part() == self.part
        };

        let mut conflicts = vec![];
        for e in entries.iter().filter(|e| !mine(e) && e.part() == self.part) {
            for p in applied.intersection(&e.fields) {
                if p.last().is_some_and(|l| l == ".") {
                    continue;
                }
                if value_at(live, p) != value_at(config, p) {
                    conflicts.push((e.manager.clone(), e.api_version.clone(), p.clone()));
                }
            }
        }
        if !conflicts.is_empty() {
            if !self.force {
                return Err(conflict_error(self.rt, &name, &conflicts));
            }
            for e in entries.iter_mut().filter(|e| !mine(e)) {
                e.fields
                    .retain(|p| !conflicts.iter().any(|(_, _, c)| c == p));
            }
        }

        let previous: FieldSet = entries
            .iter()
            .filter(|e| mine(e))
            .flat_map(|e| e.fields.clone())
            .collect();
        let others: FieldSet = entries
            .iter()
            .filter(|e| !mine(e) && e.part() == self.part)
            .flat_map(|e| e.fields.clone())
            .collect();
        let mut out = live.clone();
        // Deepest paths first so items go before their fields are looked up.
        let mut dropped: Vec<&Vec<String>> = previous
            .iter()
            .filter(|p| !applied.contains(*p) && !others.contains(*p))
            .collect();
        dropped.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in dropped {
            remove_at(&mut out, p);
        }
        let mut path = vec![];
        merge(self.rt, &mut path, &mut out, config);

        entries.retain(|e| !mine(e));
        entries.push(ManagedEntry {
            manager: self.manager.to_string(),
            operation: "Apply".into(),
            api_version: self.rt.api_version(),
            time: self.now.to_string(),
            subresource: if self.part == Part::Status {
                "status".into()
            } else {
                String::new()
            },
            fields: applied,
        });
        entries.retain(|e| !e.fields.is_empty());
        write_managed(&mut out, &entries);
        Ok(out)
    }
}

/// Structural merge of an apply configuration into the live object.
fn merge(rt: &ResourceType, path: &mut Vec<String>, live: &mut Value, config: &Value) {
    match config {
        Value::Object(cfg) => {
            if !live.is_object() {
                *live = Value::Object(Map::new());
            }
            let Some(l) = live.as_object_mut() else {
                return;
            };
            for (k, v) in cfg {
                if path.len() == 1 && path[0] == "metadata" && k == "managedFields" {
                    continue;
                }
                if v.is_null() {
                    l.remove(k);
                    continue;
                }
                path.push(k.clone());
                merge(rt, path, l.entry(k.clone()).or_insert(Value::Null), v);
                path.pop();
            }
        }
        Value::Array(items) => match list_kind(rt, path) {
            ListKind::Atomic => *live = config.clone(),
            ListKind::Set => {
                let mut cur = live.as_array().cloned().unwrap_or_default();
                for i in items {
                    if !cur.contains(i) {
                        cur.push(i.clone());
                    }
                }
                *live = Value::Array(cur);
            }
            ListKind::Map { keys, .. } => {
                let mut cur = live.as_array().cloned().unwrap_or_default();
                for item in items {
                    let k = item_key(item, &keys);
                    path.push("*".into());
                    match cur.iter_mut().find(|c| item_key(c, &keys) == k) {
                        Some(existing) => merge(rt, path, existing, item),
                        None => cur.push(item.clone()),
                    }
                    path.pop();
                }
                *live = Value::Array(cur);
            }
        },
        other => *live = other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn svc_type() -> ResourceType {
        match Catalog::new().get("", "v1", "services") {
            Some(t) => t.clone(),
            None => panic!("services served"),
        }
    }

    #[test]
    fn conflict_then_force_then_removal() {
        let rt = svc_type();
        let base = json!({"metadata": {"name": "s"}, "spec": {}});
        let a = Apply {
            rt: &rt,
            manager: "a",
            force: false,
            part: Part::Main,
            now: "t",
        };
        let one = a
            .run(
                &base,
                &json!({"metadata": {"labels": {"x": "1", "y": "1"}}}),
            )
            .unwrap_or_default();
        assert_eq!(one["metadata"]["labels"], json!({"x": "1", "y": "1"}));

        let b = Apply {
            rt: &rt,
            manager: "b",
            force: false,
            part: Part::Main,
            now: "t",
        };
        let err = b
            .run(&one, &json!({"metadata": {"labels": {"x": "2"}}}))
            .err();
        assert_eq!(err.as_ref().map(|e| e.code), Some(409));
        assert_eq!(
            err.map(|e| e.message),
            Some(
                "Apply failed with 1 conflict: conflict with \"a\" using v1: .metadata.labels.x"
                    .to_string()
            )
        );
        // Same value is shared ownership, not a conflict.
        assert!(
            b.run(&one, &json!({"metadata": {"labels": {"x": "1"}}}))
                .is_ok()
        );

        let bf = Apply {
            rt: &rt,
            manager: "b",
            force: true,
            part: Part::Main,
            now: "t",
        };
        let two = bf
            .run(&one, &json!({"metadata": {"labels": {"x": "2"}}}))
            .unwrap_or_default();
        assert_eq!(two["metadata"]["labels"]["x"], json!("2"));

        // a stops applying y: removed, since nobody else owns it; x now belongs to b and stays.
        let three = a
            .run(&two, &json!({"metadata": {"annotations": {"n": "1"}}}))
            .unwrap_or_default();
        assert_eq!(three["metadata"]["labels"], json!({"x": "2"}));
    }
}
