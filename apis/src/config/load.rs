//! Reading manifests (multi-document YAML or JSON) into [`Resources`].
//!
//! ```text
//!   text ──► YAML documents ──► {apiVersion, kind} ──► metallb.io kinds: typed (+ unknown-field
//!                                   │                     warnings from the CRD schema)
//!                                   ├─► v1 Secret/Node/Namespace: typed
//!                                   ├─► v1 List: each item
//!                                   └─► anything else: ignored
//! ```
//!
//! Unreadable input (bad YAML, an unknown metallb.io apiVersion or kind, a value of the wrong
//! type) is a [`LoadError`]; fields the schema does not know are [`LoadWarning`]s, like
//! kubectl's default field validation. Nothing here panics on any input.

use kube::CustomResourceExt;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::resources::Resources;
use crate::{conversion, v1beta1, v1beta2};

/// A problem that does not stop reading: a field the schema does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadWarning {
    /// `file#document`.
    pub origin: String,
    /// `Kind namespace/name`.
    pub object: String,
    /// What was noticed.
    pub message: String,
}

impl std::fmt::Display for LoadWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.origin, self.object, self.message)
    }
}

/// Input that cannot be read as Kubernetes objects.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// Not YAML (or JSON).
    #[error("{origin}: not valid YAML: {detail}")]
    Yaml {
        /// File (and document) where it failed.
        origin: String,
        /// Parser message.
        detail: String,
    },
    /// A document that is not a mapping with string `apiVersion` and `kind`.
    #[error("{origin}: not a Kubernetes object: {detail}")]
    NotAnObject {
        /// `file#document`.
        origin: String,
        /// Why.
        detail: String,
    },
    /// A metallb.io apiVersion this version does not serve for that kind.
    #[error(
        "{origin}: {kind} {name}: apiVersion {api_version} is not served (metallb.io serves v1beta1, and v1beta2 for BGPPeer)"
    )]
    UnknownApiVersion {
        /// `file#document`.
        origin: String,
        /// The apiVersion.
        api_version: String,
        /// The kind.
        kind: String,
        /// Object name.
        name: String,
    },
    /// A metallb.io kind that does not exist.
    #[error("{origin}: {kind} {name}: metallb.io has no kind {kind}")]
    UnknownKind {
        /// `file#document`.
        origin: String,
        /// The kind.
        kind: String,
        /// Object name.
        name: String,
    },
    /// A field holding a value of the wrong type.
    #[error("{origin}: {kind} {name}: field {path}: {detail}")]
    WrongType {
        /// `file#document`.
        origin: String,
        /// The kind.
        kind: String,
        /// Object name.
        name: String,
        /// JSON path of the field.
        path: String,
        /// What was expected.
        detail: String,
    },
}

/// Kinds of metallb.io that carry status only, not configuration: accepted and ignored.
const STATUS_KINDS: [&str; 3] = ["ServiceL2Status", "ServiceBGPStatus", "ConfigurationState"];

/// Reads every document of `text` into `into`. `origin` names the input in messages.
pub fn load_str(
    origin: &str,
    text: &str,
    into: &mut Resources,
) -> Result<Vec<LoadWarning>, LoadError> {
    let mut warnings = Vec::new();
    for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let doc_origin = format!("{origin}#{}", i + 1);
        let yaml = serde_yaml::Value::deserialize(doc).map_err(|e| LoadError::Yaml {
            origin: doc_origin.clone(),
            detail: e.to_string(),
        })?;
        if yaml.is_null() {
            continue;
        }
        let json = serde_json::to_value(&yaml).map_err(|e| LoadError::NotAnObject {
            origin: doc_origin.clone(),
            detail: format!("cannot be represented as JSON: {e}"),
        })?;
        load_object(&doc_origin, json, into, &mut warnings, 0)?;
    }
    Ok(warnings)
}

/// Reads one object (or a `List` of objects) given as JSON.
pub fn load_value(
    origin: &str,
    value: Value,
    into: &mut Resources,
) -> Result<Vec<LoadWarning>, LoadError> {
    let mut warnings = Vec::new();
    load_object(origin, value, into, &mut warnings, 0)?;
    Ok(warnings)
}

fn load_object(
    origin: &str,
    value: Value,
    into: &mut Resources,
    warnings: &mut Vec<LoadWarning>,
    depth: usize,
) -> Result<(), LoadError> {
    let not_object = |detail: &str| LoadError::NotAnObject {
        origin: origin.to_string(),
        detail: detail.to_string(),
    };
    let Value::Object(map) = &value else {
        return Err(not_object("the document is not a mapping"));
    };
    let api_version = match map.get("apiVersion") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(not_object("apiVersion is missing or not a string")),
    };
    let kind = match map.get("kind") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(not_object("kind is missing or not a string")),
    };
    let name = object_name(&value);
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version.as_str()),
    };

    if kind.ends_with("List") && map.contains_key("items") {
        if depth > 0 {
            return Err(not_object("a List inside a List"));
        }
        let Some(Value::Array(items)) = map.get("items") else {
            return Err(not_object("items of a List is not a list"));
        };
        for (i, item) in items.iter().enumerate() {
            let item_origin = format!("{origin} items[{i}]");
            load_object(&item_origin, item.clone(), into, warnings, depth + 1)?;
        }
        return Ok(());
    }

    let ctx = Ctx {
        origin,
        kind: &kind,
        name: &name,
    };
    match group {
        "metallb.io" => load_metallb(&ctx, version, &api_version, value, into, warnings),
        "" if version == "v1" => {
            match kind.as_str() {
                "Secret" => into.secrets.push(ctx.typed(value)?),
                "Node" => into.nodes.push(ctx.typed(value)?),
                "Namespace" => into.namespaces.push(ctx.typed(value)?),
                _ => {}
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn load_metallb(
    ctx: &Ctx<'_>,
    version: &str,
    api_version: &str,
    value: Value,
    into: &mut Resources,
    warnings: &mut Vec<LoadWarning>,
) -> Result<(), LoadError> {
    let unknown_version = || LoadError::UnknownApiVersion {
        origin: ctx.origin.to_string(),
        api_version: api_version.to_string(),
        kind: ctx.kind.to_string(),
        name: ctx.name.to_string(),
    };
    match (ctx.kind, version) {
        ("BGPPeer", "v1beta2") => {
            ctx.warn_unknown::<v1beta2::BGPPeer>(&value, "v1beta2", warnings);
            into.peers.push(ctx.typed(value)?);
        }
        ("BGPPeer", "v1beta1") => {
            ctx.warn_unknown::<v1beta1::BGPPeer>(&value, "v1beta1", warnings);
            let old: v1beta1::BGPPeer = ctx.typed(value)?;
            into.peers.push(conversion::to_v1beta2(&old));
        }
        (_, "v1beta1") => match ctx.kind {
            "IPAddressPool" => {
                ctx.warn_unknown::<v1beta1::IPAddressPool>(&value, version, warnings);
                into.pools.push(ctx.typed(value)?);
            }
            "BGPAdvertisement" => {
                ctx.warn_unknown::<v1beta1::BGPAdvertisement>(&value, version, warnings);
                into.bgp_advertisements.push(ctx.typed(value)?);
            }
            "L2Advertisement" => {
                ctx.warn_unknown::<v1beta1::L2Advertisement>(&value, version, warnings);
                into.l2_advertisements.push(ctx.typed(value)?);
            }
            "BFDProfile" => {
                ctx.warn_unknown::<v1beta1::BFDProfile>(&value, version, warnings);
                into.bfd_profiles.push(ctx.typed(value)?);
            }
            "Community" => {
                ctx.warn_unknown::<v1beta1::Community>(&value, version, warnings);
                into.communities.push(ctx.typed(value)?);
            }
            k if STATUS_KINDS.contains(&k) => {}
            _ => {
                return Err(LoadError::UnknownKind {
                    origin: ctx.origin.to_string(),
                    kind: ctx.kind.to_string(),
                    name: ctx.name.to_string(),
                });
            }
        },
        (k, _) if is_metallb_kind(k) => return Err(unknown_version()),
        _ => {
            return Err(LoadError::UnknownKind {
                origin: ctx.origin.to_string(),
                kind: ctx.kind.to_string(),
                name: ctx.name.to_string(),
            });
        }
    }
    Ok(())
}

fn is_metallb_kind(kind: &str) -> bool {
    matches!(
        kind,
        "IPAddressPool"
            | "BGPAdvertisement"
            | "L2Advertisement"
            | "BFDProfile"
            | "Community"
            | "BGPPeer"
    ) || STATUS_KINDS.contains(&kind)
}

fn object_name(value: &Value) -> String {
    let meta = value.get("metadata");
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("<unnamed>");
    match meta
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str)
    {
        Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
        _ => name.to_string(),
    }
}

struct Ctx<'a> {
    origin: &'a str,
    kind: &'a str,
    name: &'a str,
}

impl Ctx<'_> {
    fn typed<T: DeserializeOwned>(&self, value: Value) -> Result<T, LoadError> {
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            LoadError::WrongType {
                origin: self.origin.to_string(),
                kind: self.kind.to_string(),
                name: self.name.to_string(),
                path: if path == "." { "(object)".into() } else { path },
                detail: e.into_inner().to_string(),
            }
        })
    }

    fn warn_unknown<T: CustomResourceExt>(
        &self,
        value: &Value,
        version: &str,
        warnings: &mut Vec<LoadWarning>,
    ) {
        let Some(schema) = crd_schema::<T>(version) else {
            return;
        };
        let mut unknown = Vec::new();
        if let Value::Object(map) = value {
            for (k, v) in map {
                match k.as_str() {
                    "apiVersion" | "kind" => {}
                    "metadata" => unknown_metadata(v, &mut unknown),
                    _ => match schema.get("properties").and_then(|p| p.get(k)) {
                        Some(sub) => unknown_fields(v, sub, k, &mut unknown),
                        None => unknown.push(k.clone()),
                    },
                }
            }
        }
        for path in unknown {
            warnings.push(LoadWarning {
                origin: self.origin.to_string(),
                object: format!("{} {}", self.kind, self.name),
                message: format!("unknown field \"{path}\" (ignored)"),
            });
        }
    }
}

/// The openAPIV3Schema of version `version` of `T`'s CRD, as JSON.
fn crd_schema<T: CustomResourceExt>(version: &str) -> Option<Value> {
    let crd = serde_json::to_value(T::crd()).ok()?;
    crd.get("spec")?
        .get("versions")?
        .as_array()?
        .iter()
        .find(|v| v.get("name").and_then(Value::as_str) == Some(version))?
        .get("schema")?
        .get("openAPIV3Schema")
        .cloned()
}

const OBJECT_META_FIELDS: [&str; 16] = [
    "name",
    "namespace",
    "labels",
    "annotations",
    "uid",
    "resourceVersion",
    "generation",
    "generateName",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "finalizers",
    "ownerReferences",
    "managedFields",
    "selfLink",
    "managedBy",
];

fn unknown_metadata(meta: &Value, out: &mut Vec<String>) {
    if let Value::Object(m) = meta {
        for k in m.keys() {
            if !OBJECT_META_FIELDS.contains(&k.as_str()) {
                out.push(format!("metadata.{k}"));
            }
        }
    }
}

/// Collects paths of `value` that `schema` does not describe.
fn unknown_fields(value: &Value, schema: &Value, path: &str, out: &mut Vec<String>) {
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        return;
    }
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            for (k, v) in map {
                let sub_path = format!("{path}.{k}");
                match (props.and_then(|p| p.get(k)), additional) {
                    (Some(sub), _) => unknown_fields(v, sub, &sub_path, out),
                    (None, Some(Value::Bool(true))) => {}
                    (None, Some(add @ Value::Object(_))) => unknown_fields(v, add, &sub_path, out),
                    (None, _) if props.is_some() => out.push(sub_path),
                    // A schema without properties (e.g. `type: object` alone) says nothing.
                    (None, _) => {}
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    unknown_fields(item, item_schema, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}
