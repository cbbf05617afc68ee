//! CustomResourceDefinitions: validation and defaulting of the CRD itself, and turning it into
//! served resource types (group, versions, plural, short names, scope, status subresource).

use serde_json::{Value, json};

use crate::catalog::{Behaviour, ResourceType};
use crate::error::Cause;
use crate::rest::{Cluster, now, str_at};

/// Validates and defaults a CRD; for main writes also refreshes `status.acceptedNames`,
/// `status.storedVersions` and the Established/NamesAccepted conditions.
pub fn validate(obj: &mut Value, old: Option<&Value>, main: bool) -> Vec<Cause> {
    let mut causes = vec![];
    let group = str_at(obj, "/spec/group").to_string();
    let plural = str_at(obj, "/spec/names/plural").to_string();
    let kind = str_at(obj, "/spec/names/kind").to_string();
    if group.is_empty() {
        causes.push(Cause::required("spec.group", ""));
    }
    if plural.is_empty() {
        causes.push(Cause::required("spec.names.plural", ""));
    }
    if kind.is_empty() {
        causes.push(Cause::required("spec.names.kind", ""));
    }
    let name = str_at(obj, "/metadata/name").to_string();
    if !group.is_empty() && !plural.is_empty() && name != format!("{plural}.{group}") {
        causes.push(Cause::invalid(
            "metadata.name",
            &json!(name),
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    let scope = str_at(obj, "/spec/scope").to_string();
    if scope != "Namespaced" && scope != "Cluster" {
        causes.push(Cause::unsupported(
            "spec.scope",
            &json!(scope),
            &["Cluster".into(), "Namespaced".into()],
        ));
    }
    let versions = obj
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if versions.is_empty() {
        causes.push(Cause::invalid(
            "spec.versions",
            &json!(versions),
            "must have exactly one version marked as storage version",
        ));
    } else if versions
        .iter()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .count()
        != 1
    {
        causes.push(Cause::invalid(
            "spec.versions",
            &json!(versions.iter().map(|v| v.get("name")).collect::<Vec<_>>()),
            "must have exactly one version marked as storage version",
        ));
    }
    if obj.pointer("/spec/names/singular").is_none() && !kind.is_empty() {
        obj["spec"]["names"]["singular"] = json!(kind.to_lowercase());
    }
    if obj.pointer("/spec/names/listKind").is_none() && !kind.is_empty() {
        obj["spec"]["names"]["listKind"] = json!(format!("{kind}List"));
    }
    if obj.pointer("/spec/conversion").is_none() {
        obj["spec"]["conversion"] = json!({"strategy": "None"});
    }
    if !causes.is_empty() || !main {
        return causes;
    }
    let storage = versions
        .iter()
        .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .and_then(|v| v.get("name"))
        .cloned()
        .unwrap_or(Value::Null);
    let mut stored: Vec<Value> = old
        .and_then(|o| o.pointer("/status/storedVersions"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !stored.contains(&storage) {
        stored.push(storage);
    }
    let ts = now();
    obj["status"] = json!({
        "acceptedNames": obj["spec"]["names"].clone(),
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": ts},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": ts},
        ],
        "storedVersions": stored,
    });
    causes
}

/// The resource types a CRD serves.
pub fn types_of(crd: &Value) -> Vec<ResourceType> {
    let name = str_at(crd, "/metadata/name").to_string();
    let names = &crd["spec"]["names"];
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let list = |v: &Value, k: &str| -> Vec<String> {
        v.get(k)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(String::from))
            .collect()
    };
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let storage = versions
        .iter()
        .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .map(|v| s(v, "name"))
        .unwrap_or_default();
    versions
        .iter()
        .filter(|v| v.get("served").and_then(Value::as_bool) != Some(false))
        .map(|v| ResourceType {
            group: s(&crd["spec"], "group"),
            version: s(v, "name"),
            kind: s(names, "kind"),
            plural: s(names, "plural"),
            singular: s(names, "singular"),
            namespaced: str_at(crd, "/spec/scope") == "Namespaced",
            short_names: list(names, "shortNames"),
            categories: list(names, "categories"),
            status: v.pointer("/subresources/status").is_some(),
            behaviour: Behaviour {
                generation: true,
                reset_status_on_create: true,
                unconditional_update: false,
                create_on_update: false,
            },
            crd: Some(name.clone()),
            storage_version: storage.clone(),
            schema: v.pointer("/schema/openAPIV3Schema").cloned(),
        })
        .collect()
}

/// Serves (or re-serves) what a stored CRD defines.
pub fn sync_catalog(cluster: &Cluster, crd: &Value) {
    let name = str_at(crd, "/metadata/name").to_string();
    let types = types_of(crd);
    cluster
        .catalog
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .set_crd_types(&name, types);
}

/// A deleted CRD takes its custom resources with it.
pub fn remove(cluster: &Cluster, crd: &Value) {
    let name = str_at(crd, "/metadata/name").to_string();
    let key = format!(
        "{}/{}",
        str_at(crd, "/spec/group"),
        str_at(crd, "/spec/names/plural")
    );
    cluster
        .catalog
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .remove_crd(&name);
    let mut st = cluster.store.lock();
    for obj in st.list(&key, None) {
        let ns = str_at(&obj, "/metadata/namespace").to_string();
        let n = str_at(&obj, "/metadata/name").to_string();
        st.remove(&key, &ns, &n);
    }
}
