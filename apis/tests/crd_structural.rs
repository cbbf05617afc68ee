//! Every generated CRD schema is structural and otherwise acceptable to the API server.
//!
//! The checker follows the apiextensions rules
//! (<https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema>):
//! every node has a `type` unless it is `x-kubernetes-int-or-string` or
//! `x-kubernetes-preserve-unknown-fields`; logical junctors (`allOf`, `anyOf`, `oneOf`, `not`)
//! only restrict values that are also specified outside them and never carry `type`,
//! `description`, `default`, `additionalProperties` or `nullable`; `metadata` only
//! restricts `name`/`generateName`; `properties` and `additionalProperties` are exclusive;
//! plus the keys the API server forbids, list/map markers and defaults that must validate.

use serde_json::{Value, json};

const JUNCTORS: [&str; 4] = ["allOf", "anyOf", "oneOf", "not"];
const TYPES: [&str; 6] = ["object", "array", "string", "integer", "number", "boolean"];
/// Keys `JSONSchemaProps` accepts in a CRD (others are dropped or rejected by the server).
const KNOWN_KEYS: &[&str] = &[
    "description",
    "type",
    "format",
    "title",
    "default",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "multipleOf",
    "enum",
    "maxProperties",
    "minProperties",
    "required",
    "items",
    "allOf",
    "oneOf",
    "anyOf",
    "not",
    "properties",
    "additionalProperties",
    "example",
    "externalDocs",
    "nullable",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-int-or-string",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-list-type",
    "x-kubernetes-map-type",
    "x-kubernetes-validations",
];
/// Formats the API server understands (others are silently ignored, which hides intent).
const FORMATS: &[&str] = &[
    "bsonobjectid",
    "uri",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "cidr",
    "mac",
    "uuid",
    "uuid3",
    "uuid4",
    "uuid5",
    "isbn",
    "isbn10",
    "isbn13",
    "creditcard",
    "ssn",
    "hexcolor",
    "rgbcolor",
    "byte",
    "password",
    "date",
    "duration",
    "datetime",
    "date-time",
    "int32",
    "int64",
    "float",
    "double",
];

fn flag(node: &Value, key: &str) -> bool {
    node.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// All violations in one version's `openAPIV3Schema`.
fn violations(root: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check_node(root, "openAPIV3Schema", true, &mut out);
    if let Some(metadata) = root.pointer("/properties/metadata") {
        check_metadata(metadata, &mut out);
    }
    out
}

fn check_node(node: &Value, path: &str, needs_type: bool, out: &mut Vec<String>) {
    let Some(obj) = node.as_object() else {
        out.push(format!("{path}: schema node is not an object"));
        return;
    };
    for key in obj.keys() {
        if !KNOWN_KEYS.contains(&key.as_str()) {
            out.push(format!(
                "{path}: key {key:?} is not allowed in a CRD schema"
            ));
        }
    }
    let exempt = flag(node, "x-kubernetes-int-or-string")
        || flag(node, "x-kubernetes-preserve-unknown-fields");
    let type_ = obj.get("type").and_then(Value::as_str);
    match type_ {
        Some(t) if !TYPES.contains(&t) => out.push(format!("{path}: unknown type {t:?}")),
        Some(_) => {}
        None if obj.contains_key("type") => out.push(format!("{path}: type is not a string")),
        None if needs_type && !exempt => out.push(format!("{path}: no type")),
        None => {}
    }
    if let Some(format) = obj.get("format").and_then(Value::as_str)
        && !FORMATS.contains(&format)
    {
        out.push(format!(
            "{path}: format {format:?} is unknown to the API server"
        ));
    }
    if obj.contains_key("properties") && obj.contains_key("additionalProperties") {
        out.push(format!(
            "{path}: properties and additionalProperties are mutually exclusive"
        ));
    }
    if flag(node, "uniqueItems") {
        out.push(format!("{path}: uniqueItems: true is forbidden"));
    }
    if type_ == Some("array") && !obj.contains_key("items") {
        out.push(format!("{path}: array without items"));
    }
    if let Some(items) = obj.get("items") {
        if items.is_array() {
            out.push(format!("{path}: items must be a single schema"));
        } else {
            check_node(items, &format!("{path}.items"), true, out);
        }
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (name, child) in props {
            check_node(child, &format!("{path}.properties.{name}"), true, out);
        }
        if let Some(required) = obj.get("required").and_then(Value::as_array) {
            for r in required {
                if let Some(r) = r.as_str()
                    && !props.contains_key(r)
                {
                    out.push(format!("{path}: required {r:?} is not a property"));
                }
            }
        }
    }
    match obj.get("additionalProperties") {
        Some(Value::Bool(false)) => {
            out.push(format!("{path}: additionalProperties: false is forbidden"))
        }
        Some(Value::Object(_)) => {
            let child = &obj["additionalProperties"];
            check_node(child, &format!("{path}.additionalProperties"), true, out);
        }
        _ => {}
    }
    for junctor in JUNCTORS {
        if let Some(j) = obj.get(junctor) {
            let branches: Vec<&Value> = match j {
                Value::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            for (i, branch) in branches.into_iter().enumerate() {
                check_junctor_branch(node, branch, &format!("{path}.{junctor}[{i}]"), out);
            }
        }
    }
    check_markers(node, path, type_, out);
    if let Some(default) = obj.get("default") {
        for problem in value_problems(node, default) {
            out.push(format!(
                "{path}: default {default} does not validate: {problem}"
            ));
        }
    }
    if let Some(values) = obj.get("enum").and_then(Value::as_array) {
        for v in values {
            if !type_matches(type_, v) {
                out.push(format!(
                    "{path}: enum value {v} does not match type {type_:?}"
                ));
            }
        }
    }
}

/// Inside a junctor: only value validations, and only on fields also specified outside.
fn check_junctor_branch(outer: &Value, branch: &Value, path: &str, out: &mut Vec<String>) {
    let int_or_string = flag(outer, "x-kubernetes-int-or-string");
    for key in [
        "description",
        "type",
        "default",
        "additionalProperties",
        "nullable",
    ] {
        if branch.get(key).is_some() {
            let allowed = int_or_string
                && key == "type"
                && matches!(
                    branch.get("type").and_then(Value::as_str),
                    Some("integer" | "string")
                );
            if !allowed {
                out.push(format!(
                    "{path}: {key} is not allowed inside a logical junctor"
                ));
            }
        }
    }
    if let Some(props) = branch.get("properties").and_then(Value::as_object) {
        for name in props.keys() {
            if outer.pointer(&format!("/properties/{name}")).is_none() {
                out.push(format!(
                    "{path}: property {name} is specified only inside a logical junctor"
                ));
            }
        }
    }
    if branch.get("items").is_some() && outer.get("items").is_none() {
        out.push(format!(
            "{path}: items specified only inside a logical junctor"
        ));
    }
}

fn check_markers(node: &Value, path: &str, type_: Option<&str>, out: &mut Vec<String>) {
    if let Some(list_type) = node.get("x-kubernetes-list-type") {
        if type_ != Some("array") {
            out.push(format!("{path}: x-kubernetes-list-type on a non-array"));
        }
        match list_type.as_str() {
            Some("atomic" | "set") => {}
            Some("map") => {
                let keys: Vec<&str> = node
                    .get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .map(|k| k.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if keys.is_empty() {
                    out.push(format!("{path}: list-type map without list-map-keys"));
                }
                let items = node.get("items").cloned().unwrap_or(Value::Null);
                if items.get("type").and_then(Value::as_str) != Some("object") {
                    out.push(format!("{path}: list-type map needs object items"));
                }
                for key in keys {
                    let required = items
                        .get("required")
                        .and_then(Value::as_array)
                        .is_some_and(|r| r.iter().any(|v| v == key));
                    let defaulted = items
                        .pointer(&format!("/properties/{key}/default"))
                        .is_some();
                    if !required && !defaulted {
                        out.push(format!(
                            "{path}: list-map key {key} is neither required nor defaulted"
                        ));
                    }
                }
            }
            _ => out.push(format!("{path}: bad x-kubernetes-list-type {list_type}")),
        }
    } else if node.get("x-kubernetes-list-map-keys").is_some() {
        out.push(format!("{path}: list-map-keys without list-type map"));
    }
    if let Some(map_type) = node.get("x-kubernetes-map-type") {
        if type_ != Some("object") {
            out.push(format!("{path}: x-kubernetes-map-type on a non-object"));
        }
        if !matches!(map_type.as_str(), Some("atomic" | "granular")) {
            out.push(format!("{path}: bad x-kubernetes-map-type {map_type}"));
        }
    }
    if let Some(rules) = node.get("x-kubernetes-validations") {
        match rules.as_array() {
            None => out.push(format!("{path}: x-kubernetes-validations is not a list")),
            Some(rules) => {
                for rule in rules {
                    if rule
                        .get("rule")
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                    {
                        out.push(format!("{path}: CEL validation without a rule: {rule}"));
                    }
                }
            }
        }
    }
}

fn check_metadata(metadata: &Value, out: &mut Vec<String>) {
    if let Some(obj) = metadata.as_object() {
        for key in obj.keys() {
            if !matches!(key.as_str(), "type" | "description" | "properties") {
                out.push(format!("metadata: {key} is not allowed on metadata"));
            }
        }
        if let Some(props) = obj.get("properties").and_then(Value::as_object) {
            for name in props.keys() {
                if !matches!(name.as_str(), "name" | "generateName") {
                    out.push(format!(
                        "metadata: only name and generateName may be restricted, not {name}"
                    ));
                }
            }
        }
    }
}

fn type_matches(type_: Option<&str>, value: &Value) -> bool {
    match (type_, value) {
        (None, _) => true,
        (Some("string"), Value::String(_)) => true,
        (Some("boolean"), Value::Bool(_)) => true,
        (Some("integer"), Value::Number(n)) => n.is_i64() || n.is_u64(),
        (Some("number"), Value::Number(_)) => true,
        (Some("array"), Value::Array(_)) => true,
        (Some("object"), Value::Object(_)) => true,
        _ => false,
    }
}

/// Why `value` would not validate against `schema` (the subset of validation defaults use).
fn value_problems(schema: &Value, value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let type_ = schema.get("type").and_then(Value::as_str);
    if !type_matches(type_, value) {
        out.push(format!("{value} is not of type {type_:?}"));
        return out;
    }
    if let Some(n) = value.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && n < min
        {
            out.push(format!("{n} < minimum {min}"));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && n > max
        {
            out.push(format!("{n} > maximum {max}"));
        }
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array)
        && !values.contains(value)
    {
        out.push(format!("{value} is not one of {values:?}"));
    }
    if let (Some(props), Some(obj)) = (
        schema.get("properties").and_then(Value::as_object),
        value.as_object(),
    ) {
        for (k, v) in obj {
            match props.get(k) {
                Some(child) => out.extend(value_problems(child, v)),
                None => out.push(format!("unknown field {k} would be pruned")),
            }
        }
    }
    out
}

fn generated_schemas() -> Vec<(String, Value)> {
    let crds = lodestone_apis::crdgen::crds().expect("generating CRDs");
    let mut schemas = Vec::new();
    for crd in &crds {
        let name = crd.metadata.name.clone().unwrap_or_default();
        for version in &crd.spec.versions {
            let schema = version
                .schema
                .as_ref()
                .and_then(|s| s.open_api_v3_schema.as_ref())
                .unwrap_or_else(|| panic!("{name} {} has no schema", version.name));
            let value = serde_json::to_value(schema).expect("encoding schema");
            schemas.push((format!("{name} {}", version.name), value));
        }
    }
    schemas
}

#[test]
fn every_generated_schema_is_structural() {
    let schemas = generated_schemas();
    assert_eq!(schemas.len(), 10, "9 CRDs, BGPPeer with two versions");
    let mut problems = Vec::new();
    for (name, schema) in &schemas {
        problems.extend(
            violations(schema)
                .into_iter()
                .map(|v| format!("{name}: {v}")),
        );
    }
    assert!(
        problems.is_empty(),
        "non-structural schemas:\n{}",
        problems.join("\n")
    );
}

#[test]
fn exactly_one_storage_version_per_crd_and_all_served() {
    for crd in lodestone_apis::crdgen::crds().expect("generating CRDs") {
        let storage = crd.spec.versions.iter().filter(|v| v.storage).count();
        assert_eq!(storage, 1, "{:?}", crd.metadata.name);
        assert!(
            crd.spec.versions.iter().all(|v| v.served),
            "{:?}",
            crd.metadata.name
        );
    }
}

/// The checker must reject each kind of violation it claims to find.
#[test]
fn the_checker_rejects_non_structural_schemas() {
    let cases = [
        (
            json!({"type": "object", "properties": {"a": {"description": "x"}}}),
            "no type",
        ),
        (
            json!({"type": "object", "properties": {"a": {"type": "object", "properties": {}, "additionalProperties": {"type": "string"}}}}),
            "mutually exclusive",
        ),
        (
            json!({"type": "object", "properties": {"a": {"type": "string", "anyOf": [{"type": "string"}]}}}),
            "inside a logical junctor",
        ),
        (
            json!({"type": "object", "properties": {"a": {"type": "object", "anyOf": [{"properties": {"b": {"type": "string"}}}]}}}),
            "only inside a logical junctor",
        ),
        (
            json!({"type": "object", "properties": {"a": {"$ref": "#/x", "type": "string"}}}),
            "not allowed",
        ),
        (
            json!({"type": "object", "properties": {"a": {"type": "integer", "format": "uint32"}}}),
            "unknown to the API server",
        ),
        (
            json!({"type": "object", "properties": {"a": {"type": "integer", "default": "x"}}}),
            "does not validate",
        ),
        (
            json!({"type": "object", "properties": {"a": {"type": "integer", "minimum": 1, "default": 0}}}),
            "minimum",
        ),
        (
            json!({"type": "object", "properties": {"a": {"type": "array"}}}),
            "array without items",
        ),
        (
            json!({"type": "object", "properties": {"a": {"type": "string", "x-kubernetes-list-type": "atomic"}}}),
            "non-array",
        ),
        (
            json!({"type": "object", "properties": {"a": {"type": "array", "items": {"type": "object"}, "x-kubernetes-list-type": "map"}}}),
            "without list-map-keys",
        ),
        (
            json!({"type": "object", "properties": {"metadata": {"type": "object", "properties": {"labels": {"type": "object"}}}}}),
            "only name and generateName",
        ),
        (
            json!({"type": "object", "properties": {"a": {"type": "string", "x-kubernetes-validations": [{"message": "m"}]}}}),
            "without a rule",
        ),
        (
            json!({"type": "object", "properties": {"a": {"type": "string", "enum": [1]}}}),
            "enum value",
        ),
    ];
    for (schema, expected) in cases {
        let found = violations(&schema);
        assert!(
            found.iter().any(|v| v.contains(expected)),
            "schema {schema} should be rejected with {expected:?}, got {found:?}"
        );
    }
    let fine = json!({
        "type": "object",
        "properties": {
            "port": {"type": "integer", "minimum": 1, "maximum": 16384, "default": 179},
            "v": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
        },
    });
    assert_eq!(violations(&fine), Vec::<String>::new());
}

/// MetalLB's own (controller-gen) CRDs, which real API servers accept, pass the checker: it
/// is not stricter than the server on anything they use.
#[test]
fn the_checker_accepts_metallbs_reference_crds() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/reference/metallb-v0.16.1-crds");
    assert!(dir.is_dir(), "reference CRDs missing at {}", dir.display());
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("reference dir").flatten() {
        let text = std::fs::read_to_string(entry.path()).expect("read");
        let crd: Value = serde_yaml::from_str(&text).expect("yaml");
        for version in crd["spec"]["versions"].as_array().into_iter().flatten() {
            let found = violations(&version["schema"]["openAPIV3Schema"]);
            assert!(found.is_empty(), "{}: {found:?}", entry.path().display());
            checked += 1;
        }
    }
    assert_eq!(checked, 10);
}
