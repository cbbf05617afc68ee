//! Structural-schema admission for custom resources: prune unknown fields, apply defaults,
//! validate (type, required, enum, minimum/maximum, lengths, pattern, items, format) with the
//! field paths and messages of the real server. CEL `x-kubernetes-validations` are not evaluated.

use std::net::IpAddr;

use regex::Regex;
use serde_json::{Map, Value};

use crate::error::Cause;

/// Prunes, defaults and validates a custom resource against its version's openAPIV3Schema.
/// The paths of pruned unknown fields are appended to `pruned` (`spec.bogus`).
pub fn admit(schema: &Value, obj: &mut Value, pruned: &mut Vec<String>) -> Vec<Cause> {
    let Some(m) = obj.as_object_mut() else {
        return vec![];
    };
    let mut causes = vec![];
    let props = schema.get("properties").and_then(Value::as_object);
    let preserve = preserves(schema);
    let keys: Vec<String> = m.keys().cloned().collect();
    for k in keys {
        if matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        match props.and_then(|p| p.get(&k)) {
            Some(sub) => {
                if let Some(v) = m.get_mut(&k) {
                    prune_and_default(sub, v, &k, pruned);
                }
            }
            None if !preserve => {
                m.remove(&k);
                pruned.push(k.clone());
            }
            None => {}
        }
    }
    if let Some(p) = props {
        for (k, sub) in p {
            if matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            if !m.contains_key(k)
                && let Some(d) = sub.get("default")
            {
                let mut d = d.clone();
                prune_and_default(sub, &mut d, k, &mut vec![]);
                m.insert(k.clone(), d);
            }
        }
    }
    for k in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !m.contains_key(k) {
            causes.push(Cause::required(k.to_string(), ""));
        }
    }
    for (k, v) in m.iter() {
        if matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        if let Some(sub) = props.and_then(|p| p.get(k)) {
            validate(sub, v, k, &mut causes);
        }
    }
    causes
}

fn preserves(s: &Value) -> bool {
    s.get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true)
}

fn prune_and_default(schema: &Value, v: &mut Value, path: &str, pruned: &mut Vec<String>) {
    let join = |k: &str| format!("{path}.{k}");
    if v.is_null()
        && schema.get("nullable").and_then(Value::as_bool) != Some(true)
        && let Some(d) = schema.get("default")
    {
        *v = d.clone();
    }
    match v {
        Value::Object(m) => {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                if !preserves(schema)
                    && !schema
                        .get("additionalProperties")
                        .is_some_and(Value::is_object)
                {
                    m.retain(|k, _| {
                        let known = props.contains_key(k);
                        if !known {
                            pruned.push(join(k));
                        }
                        known
                    });
                }
                for (k, sub) in props {
                    match m.get_mut(k) {
                        Some(child) => prune_and_default(sub, child, &join(k), pruned),
                        None => {
                            if let Some(d) = sub.get("default") {
                                let mut d = d.clone();
                                prune_and_default(sub, &mut d, &join(k), &mut vec![]);
                                m.insert(k.clone(), d);
                            }
                        }
                    }
                }
            } else if let Some(ap) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                for (k, child) in m.iter_mut() {
                    prune_and_default(ap, child, &join(k), pruned);
                }
            } else if !preserves(schema)
                && schema.get("type").and_then(Value::as_str) == Some("object")
            {
                // An object schema with neither properties nor additionalProperties holds nothing.
                if schema.get("x-kubernetes-embedded-resource").is_none() {
                    pruned.extend(m.keys().map(|k| join(k)));
                    m.clear();
                }
            }
        }
        Value::Array(items) => {
            if let Some(is) = schema.get("items") {
                for (n, i) in items.iter_mut().enumerate() {
                    prune_and_default(is, i, &format!("{path}[{n}]"), pruned);
                }
            }
        }
        _ => {}
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_ok(ty: &str, v: &Value) -> bool {
    match ty {
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => true,
    }
}

fn format_ok(format: &str, s: &str) -> bool {
    match format {
        "ipv4" => s.parse::<std::net::Ipv4Addr>().is_ok(),
        "ipv6" => s.parse::<std::net::Ipv6Addr>().is_ok(),
        "ip" => s.parse::<IpAddr>().is_ok(),
        "cidr" => s.parse::<ipnet::IpNet>().is_ok(),
        "date-time" => s.parse::<jiff::Timestamp>().is_ok(),
        "uuid" => uuid::Uuid::parse_str(s).is_ok(),
        _ => true,
    }
}

fn enum_strings(vals: &[Value]) -> Vec<String> {
    vals.iter()
        .map(|v| {
            v.as_str()
                .map(String::from)
                .unwrap_or_else(|| v.to_string())
        })
        .collect()
}

/// Validates `v` at `path` (rendered like `spec.ports[0].name`).
pub fn validate(schema: &Value, v: &Value, path: &str, causes: &mut Vec<Cause>) {
    if v.is_null() {
        if schema.get("nullable").and_then(Value::as_bool) == Some(true) {
            return;
        }
        if let Some(ty) = schema.get("type").and_then(Value::as_str) {
            causes.push(Cause::type_invalid(
                path,
                &Value::String("null".into()),
                &format!("{path} in body must be of type {ty}: \"null\""),
            ));
        }
        return;
    }
    let int_or_string = schema
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        == Some(true);
    if int_or_string {
        if !(v.is_string() || v.is_i64() || v.is_u64()) {
            causes.push(Cause::type_invalid(
                path,
                &Value::String(type_name(v).into()),
                &format!(
                    "{path} in body must be of type integer,string: \"{}\"",
                    type_name(v)
                ),
            ));
            return;
        }
    } else if let Some(ty) = schema.get("type").and_then(Value::as_str)
        && !type_ok(ty, v)
    {
        causes.push(Cause::type_invalid(
            path,
            &Value::String(type_name(v).into()),
            &format!("{path} in body must be of type {ty}: \"{}\"", type_name(v)),
        ));
        return;
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        causes.push(Cause::unsupported(path, v, &enum_strings(e)));
    }
    if let Some(n) = v.as_f64() {
        let excl_min = schema.get("exclusiveMinimum").and_then(Value::as_bool) == Some(true);
        let excl_max = schema.get("exclusiveMaximum").and_then(Value::as_bool) == Some(true);
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && (n < min || (excl_min && n == min))
        {
            let rel = if excl_min {
                "greater than"
            } else {
                "greater than or equal to"
            };
            causes.push(Cause::invalid(
                path,
                v,
                &format!("{path} in body should be {rel} {}", num(min)),
            ));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && (n > max || (excl_max && n == max))
        {
            let rel = if excl_max {
                "less than"
            } else {
                "less than or equal to"
            };
            causes.push(Cause::invalid(
                path,
                v,
                &format!("{path} in body should be {rel} {}", num(max)),
            ));
        }
    }
    if let Some(s) = v.as_str() {
        let len = s.chars().count() as u64;
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && len > max
        {
            causes.push(Cause::new(
                "FieldValueTooLong",
                path,
                format!("Too long: may not be more than {max} bytes"),
            ));
        }
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && len < min
        {
            causes.push(Cause::invalid(
                path,
                v,
                &format!("{path} in body should be at least {min} chars long"),
            ));
        }
        if let Some(p) = schema.get("pattern").and_then(Value::as_str)
            && let Ok(re) = Regex::new(p)
            && !re.is_match(s)
        {
            causes.push(Cause::invalid(
                path,
                v,
                &format!("{path} in body should match '{p}'"),
            ));
        }
        if let Some(f) = schema.get("format").and_then(Value::as_str)
            && !int_or_string
            && !format_ok(f, s)
        {
            causes.push(Cause::invalid(
                path,
                v,
                &format!("{path} in body must be of type {f}: {v}"),
            ));
        }
    }
    if let Some(items) = v.as_array() {
        if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
            && items.len() as u64 > max
        {
            causes.push(Cause::new(
                "FieldValueTooMany",
                path,
                format!("Too many: {}: must have at most {max} items", items.len()),
            ));
        }
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
            && (items.len() as u64) < min
        {
            causes.push(Cause::invalid(
                path,
                &Value::from(items.len()),
                &format!("{path} in body should have at least {min} items"),
            ));
        }
        if schema.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("set") {
            for (i, it) in items.iter().enumerate() {
                if items[..i].contains(it) {
                    causes.push(Cause::duplicate(format!("{path}[{i}]"), it));
                }
            }
        }
        if let Some(is) = schema.get("items") {
            for (i, it) in items.iter().enumerate() {
                validate(is, it, &format!("{path}[{i}]"), causes);
            }
        }
    }
    if let Some(m) = v.as_object() {
        validate_object(schema, m, path, causes);
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        let Some(subs) = schema.get(key).and_then(Value::as_array) else {
            continue;
        };
        let results: Vec<Vec<Cause>> = subs
            .iter()
            .map(|s| {
                let mut c = vec![];
                validate(s, v, path, &mut c);
                c
            })
            .collect();
        let passing = results.iter().filter(|r| r.is_empty()).count();
        match key {
            "allOf" => results.into_iter().for_each(|r| causes.extend(r)),
            "anyOf" if passing == 0 => {
                causes.push(Cause::invalid(
                    path,
                    v,
                    &format!("{path} in body must match at least one schema (anyOf)"),
                ));
            }
            "oneOf" if passing != 1 => {
                causes.push(Cause::invalid(
                    path,
                    v,
                    &format!("{path} in body must match exactly one schema (oneOf)"),
                ));
            }
            _ => {}
        }
    }
}

fn num(f: f64) -> String {
    if f.fract() == 0.0 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

fn validate_object(schema: &Value, m: &Map<String, Value>, path: &str, causes: &mut Vec<Cause>) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    for k in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !m.contains_key(k) {
            causes.push(Cause::required(join(k), ""));
        }
    }
    if let Some(max) = schema.get("maxProperties").and_then(Value::as_u64)
        && m.len() as u64 > max
    {
        causes.push(Cause::new(
            "FieldValueTooMany",
            path,
            format!("Too many: {}: must have at most {max} items", m.len()),
        ));
    }
    let props = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties").filter(|a| a.is_object());
    for (k, child) in m {
        if let Some(sub) = props.and_then(|p| p.get(k)) {
            validate(sub, child, &join(k), causes);
        } else if let Some(ap) = additional {
            validate(ap, child, &join(k), causes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prunes_defaults_and_validates() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "required": ["name"],
            "properties": {"name": {"type": "string", "maxLength": 3},
                "mode": {"type": "string", "enum": ["a", "b"], "default": "a"},
                "port": {"type": "integer", "minimum": 1, "maximum": 10}}}}});
        let mut obj = json!({"spec": {"name": "abcd", "port": 11, "junk": 1}, "other": 1});
        let mut pruned = vec![];
        let causes = admit(&schema, &mut obj, &mut pruned);
        assert_eq!(pruned, vec!["other".to_string(), "spec.junk".to_string()]);
        assert_eq!(
            obj,
            json!({"spec": {"name": "abcd", "port": 11, "mode": "a"}})
        );
        let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, vec!["spec.name", "spec.port"]);
        assert_eq!(
            causes[1].message,
            "Invalid value: 11: spec.port in body should be less than or equal to 10"
        );
    }
}
