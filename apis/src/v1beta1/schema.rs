//! Hand-written OpenAPI fragments for fields whose Rust type does not say enough.
//!
//! schemars derives most of each CRD schema from the Rust types. A few fields need exactly
//! what MetalLB's controller-gen output carries, which the Rust type cannot express on its
//! own: an unsigned 32-bit ASN published as `format: int64` with explicit bounds, label
//! selectors marked `x-kubernetes-map-type: atomic`, and so on. Each function here returns
//! the complete schema of one field; the field's doc comment still becomes its description.

use schemars::{Schema, SchemaGenerator, json_schema};

/// A 4-byte AS number, 0..=4294967295 (`myASN`, `peerASN`).
pub(crate) fn asn(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "integer",
        "format": "int64",
        "minimum": 0,
        "maximum": 4_294_967_295_u64,
    })
}

/// A 4-byte AS number that may not be zero (`localASN`).
pub(crate) fn nonzero_asn(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "integer",
        "format": "int64",
        "minimum": 1,
        "maximum": 4_294_967_295_u64,
    })
}

/// BGPPeer v1beta1 `peerPort`: 0..=16384, no format (Go `uint16`).
pub(crate) fn peer_port_v1beta1(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "integer",
        "minimum": 0,
        "maximum": 16384,
    })
}

/// BGPPeer v1beta2 `peerPort`: 1..=16384, defaulted to 179.
pub(crate) fn peer_port_v1beta2(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "integer",
        "minimum": 1,
        "maximum": 16384,
    })
}

/// An unsigned 32-bit value published as `format: int32` without bounds (`localPref`).
pub(crate) fn int32(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "integer",
        "format": "int32",
    })
}

/// A plain integer without a format (Go `int`: `serviceAllocation.priority`).
pub(crate) fn integer(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "integer",
    })
}

/// BFD timer in milliseconds, 10..=60000.
pub(crate) fn bfd_interval(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "integer",
        "format": "int32",
        "minimum": 10,
        "maximum": 60000,
    })
}

/// BFD detection multiplier, 2..=255.
pub(crate) fn bfd_multiplier(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "integer",
        "format": "int32",
        "minimum": 2,
        "maximum": 255,
    })
}

/// BFD minimum TTL for multi-hop sessions, 1..=254.
pub(crate) fn bfd_minimum_ttl(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "integer",
        "format": "int32",
        "minimum": 1,
        "maximum": 254,
    })
}

/// The schema of one `metav1.LabelSelector`, as controller-gen publishes it (atomic map,
/// atomic lists).
pub(crate) fn label_selector_schema() -> serde_json::Value {
    serde_json::json!({
        "description": "A label query over a set of objects. matchLabels and matchExpressions are ANDed; an empty selector matches every object.",
        "type": "object",
        "properties": {
            "matchExpressions": {
                "description": "Label selector requirements, ANDed together.",
                "type": "array",
                "items": {
                    "description": "One requirement: a label key, an operator and the values it relates the key to.",
                    "type": "object",
                    "properties": {
                        "key": {
                            "description": "The label key the requirement applies to.",
                            "type": "string",
                        },
                        "operator": {
                            "description": "How the key relates to the values: In, NotIn, Exists or DoesNotExist.",
                            "type": "string",
                        },
                        "values": {
                            "description": "The values for In and NotIn (non-empty); empty for Exists and DoesNotExist.",
                            "type": "array",
                            "items": { "type": "string" },
                            "x-kubernetes-list-type": "atomic",
                        },
                    },
                    "required": ["key", "operator"],
                },
                "x-kubernetes-list-type": "atomic",
            },
            "matchLabels": {
                "description": "Exact label matches: each {key: value} pair is the requirement key In [value].",
                "type": "object",
                "additionalProperties": { "type": "string" },
            },
        },
        "x-kubernetes-map-type": "atomic",
    })
}

/// A list of `metav1.LabelSelector`s.
pub(crate) fn label_selectors(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": label_selector_schema(),
    })
}

/// A single `metav1.LabelSelector` (the `preference` of a preferred node selector).
pub(crate) fn label_selector(_: &mut SchemaGenerator) -> Schema {
    let mut schema = label_selector_schema();
    if let Some(obj) = schema.as_object_mut() {
        // The field's own doc comment describes it.
        obj.remove("description");
    }
    Schema::try_from(schema).unwrap_or_default()
}

/// Implements `JsonSchema` for a resource root (the `#[kube(schema = "manual")]` type) as
/// [`crate::crdgen::resource_schema`] builds it, so that `Kind::crd()` carries the same
/// schema as the published CRD.
macro_rules! resource_schema {
    ($kind:ty, $spec:ty, $status:ty, $description:literal, spec_required = $required:literal) => {
        impl ::schemars::JsonSchema for $kind {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                stringify!($kind).into()
            }

            fn json_schema(_: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                $crate::crdgen::resource_schema::<$spec, $status>($description, $required)
            }
        }
    };
}
pub(crate) use resource_schema;
