//! `ConfigurationState`: a status-only object through which each component reports whether
//! the configuration it last read was valid.
//!
//! MetalLB's type has no `spec`, which `#[derive(CustomResource)]` cannot express, so the
//! resource plumbing is written out here; the CRD is assembled in [`crate::crdgen`].

use std::borrow::Cow;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta};
use kube::core::{NamespaceResourceScope, Resource};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// Label naming the component that owns a ConfigurationState (`controller` or `speaker`).
pub const COMPONENT_TYPE_LABEL: &str = "metallb.io/component-type";
/// Label naming the node of a speaker's ConfigurationState.
pub const NODE_NAME_LABEL: &str = "metallb.io/node-name";

/// A component's verdict on the configuration it last loaded.
///
/// Labels: `metallb.io/component-type` (`controller` or `speaker`) and, for speakers,
/// `metallb.io/node-name`.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationState {
    /// Standard object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The reported state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ConfigurationStateStatus>,
}

impl ConfigurationState {
    /// An object with the given name and no status yet.
    pub fn new(name: &str) -> Self {
        Self {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                ..ObjectMeta::default()
            },
            status: None,
        }
    }
}

impl Serialize for ConfigurationState {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let fields = 3 + usize::from(self.status.is_some());
        let mut obj = ser.serialize_struct("ConfigurationState", fields)?;
        obj.serialize_field("apiVersion", &Self::api_version(&()))?;
        obj.serialize_field("kind", &Self::kind(&()))?;
        obj.serialize_field("metadata", &self.metadata)?;
        if let Some(status) = &self.status {
            obj.serialize_field("status", status)?;
        }
        obj.end()
    }
}

impl Resource for ConfigurationState {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        "ConfigurationState".into()
    }

    fn group(_: &()) -> Cow<'_, str> {
        "metallb.io".into()
    }

    fn version(_: &()) -> Cow<'_, str> {
        "v1beta1".into()
    }

    fn api_version(_: &()) -> Cow<'_, str> {
        "metallb.io/v1beta1".into()
    }

    fn plural(_: &()) -> Cow<'_, str> {
        "configurationstates".into()
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// What a component concluded about its configuration.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationStateStatus {
    /// The verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ConfigurationResult>,

    /// All reconciliation errors, joined; empty when the result is `Valid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_summary: Option<String>,

    /// Conditions reported by the reconcilers of the component, one per type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,
}

/// The verdict of a ConfigurationState.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ConfigurationResult {
    /// The configuration was loaded.
    Valid,
    /// The configuration was rejected; see `errorSummary`.
    Invalid,
    /// Not known yet.
    #[default]
    Unknown,
}

/// `[]metav1.Condition` with the validation controller-gen derives from its markers.
fn conditions_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": {
            "description": "One aspect of the component's current state.",
            "type": "object",
            "properties": {
                "lastTransitionTime": {
                    "description": "When the condition last changed status.",
                    "type": "string",
                    "format": "date-time",
                },
                "message": {
                    "description": "Human-readable details about the last transition; may be empty.",
                    "type": "string",
                    "maxLength": 32768,
                },
                "observedGeneration": {
                    "description": "The .metadata.generation the condition was computed from.",
                    "type": "integer",
                    "format": "int64",
                    "minimum": 0,
                },
                "reason": {
                    "description": "CamelCase machine-readable reason for the last transition.",
                    "type": "string",
                    "maxLength": 1024,
                    "minLength": 1,
                    "pattern": "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
                },
                "status": {
                    "description": "True, False or Unknown.",
                    "type": "string",
                    "enum": ["True", "False", "Unknown"],
                },
                "type": {
                    "description": "The condition type, CamelCase or foo.example.com/CamelCase.",
                    "type": "string",
                    "maxLength": 316,
                    "pattern": "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
                },
            },
            "required": ["lastTransitionTime", "message", "reason", "status", "type"],
        },
        "x-kubernetes-list-map-keys": ["type"],
        "x-kubernetes-list-type": "map",
    })
}
