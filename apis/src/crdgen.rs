//! CustomResourceDefinitions for every `metallb.io` kind, generated from the Rust types.
//!
//! ```text
//!   Spec, Status ──schema_for (our settings: no `nullable`)──► spec / status schemas
//!                ──resource_schema──► root (apiVersion, kind, metadata, spec, status)
//!   Kind: #[kube(schema = "manual")] + JsonSchema = resource_schema ──► Kind::crd()
//!        (names, printer columns, versions, subresources from the derive) ──► CRD
//!   BGPPeer: v1beta1 (served, deprecated) + v1beta2 (served, storage) ──► one CRD
//! ```
//!
//! The derive's default schema marks every optional field `nullable: true` and always
//! requires `spec`, where MetalLB's CRDs do neither; so every kind uses the manual schema
//! mode with the root built here, and `Kind::crd()` carries the published schema. The
//! result is field-for-field equal to MetalLB's (see `tests/crd_reference.rs` for the
//! comparison and the intended differences).

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, CustomResourceDefinitionVersion, CustomResourceValidation,
    JSONSchemaProps,
};
use kube::core::CustomResourceExt;
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use schemars::transform::{AddNullable, Transform, transform_subschemas};
use serde_json::{Value, json};
use thiserror::Error;

use crate::{v1beta1, v1beta2};

/// Why a CRD could not be generated or rendered.
#[derive(Debug, Error)]
pub enum CrdGenError {
    /// A generated schema does not fit `JSONSchemaProps` (a bug in a schema function).
    #[error("schema of {kind} is not a valid JSONSchemaProps: {source}")]
    Schema {
        /// The kind whose schema failed.
        kind: String,
        /// The decoding error.
        source: serde_json::Error,
    },
    /// A CRD could not be turned into JSON (does not happen for valid CRDs).
    #[error("cannot encode {name}: {source}")]
    Json {
        /// The CRD name.
        name: String,
        /// The encoding error.
        source: serde_json::Error,
    },
    /// A CRD could not be rendered as YAML.
    #[error("cannot render {name} as YAML: {source}")]
    Yaml {
        /// The CRD name.
        name: String,
        /// The encoding error.
        source: serde_yaml::Error,
    },
}

/// The OpenAPI schema of `T` as it appears inside a CRD: fully inlined, without
/// `nullable`, `title` or `$schema`.
pub fn schema_for<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::openapi3()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .with_transform(AddNullable::default())
        .with_transform(kube::core::schema::StructuralSchemaRewriter)
        .with_transform(kube::core::schema::OptionalEnum)
        .with_transform(kube::core::schema::OptionalIntOrString)
        .with_transform(Published)
        .into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    if let Some(root) = schema.as_object_mut() {
        root.remove("title");
    }
    schema
}

/// Removes what schemars adds for Rust's benefit but MetalLB's CRDs do not carry:
/// `nullable` (absent optional fields are simply omitted) and empty `properties` of
/// field-less structs.
#[derive(Clone)]
struct Published;

impl Transform for Published {
    fn transform(&mut self, schema: &mut schemars::Schema) {
        if let Some(obj) = schema.as_object_mut() {
            obj.remove("nullable");
            if obj
                .get("properties")
                .and_then(Value::as_object)
                .is_some_and(|p| p.is_empty())
            {
                obj.remove("properties");
            }
        }
        transform_subschemas(self, schema);
    }
}

/// The root object schema of one kind: `apiVersion`, `kind`, `metadata`, and the given
/// `spec` and `status` schemas.
fn root_schema(
    description: &str,
    spec: Option<Value>,
    status: Option<Value>,
    spec_required: bool,
) -> serde_json::Map<String, Value> {
    let mut properties = serde_json::Map::new();
    properties.insert(
        "apiVersion".into(),
        json!({
            "description": "The versioned schema of this representation of the object (`metallb.io/<version>`).",
            "type": "string",
        }),
    );
    properties.insert(
        "kind".into(),
        json!({
            "description": "The REST resource this object represents, in CamelCase.",
            "type": "string",
        }),
    );
    properties.insert("metadata".into(), json!({ "type": "object" }));
    if let Some(spec) = spec {
        properties.insert("spec".into(), spec);
    }
    if let Some(status) = status {
        properties.insert("status".into(), status);
    }
    let mut root = serde_json::Map::new();
    root.insert("description".into(), description.into());
    root.insert("properties".into(), Value::Object(properties));
    if spec_required {
        root.insert("required".into(), json!(["spec"]));
    }
    root.insert("type".into(), "object".into());
    root
}

/// The schema of a resource root with the given spec and status types: what
/// `#[kube(schema = "manual")]` kinds return from `JsonSchema::json_schema`, so that the
/// derive's `crd()` carries it too.
pub fn resource_schema<Spec: JsonSchema, Status: JsonSchema>(
    description: &str,
    spec_required: bool,
) -> schemars::Schema {
    schemars::Schema::from(root_schema(
        description,
        Some(schema_for::<Spec>()),
        Some(schema_for::<Status>()),
        spec_required,
    ))
}

/// Completes a CRD made by `#[derive(CustomResource)]`: its schema is already ours (the
/// kinds implement `JsonSchema` through [`resource_schema`]), except for the `title`
/// schemars puts on every root; `listKind` is spelled out as MetalLB's CRDs do.
fn derived<K: CustomResourceExt>() -> CustomResourceDefinition {
    let mut crd = K::crd();
    crd.spec.names.list_kind = Some(format!("{}List", crd.spec.names.kind));
    for version in &mut crd.spec.versions {
        if let Some(schema) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        {
            schema.title = None;
        }
    }
    crd
}

/// The BGPPeer CRD: v1beta1 (served, deprecated) and v1beta2 (served, storage).
fn bgppeers() -> CustomResourceDefinition {
    let old = derived::<v1beta1::BGPPeer>();
    let mut crd = derived::<v1beta2::BGPPeer>();
    let mut versions: Vec<CustomResourceDefinitionVersion> = old.spec.versions;
    versions.append(&mut crd.spec.versions);
    versions.sort_by(|a, b| a.name.cmp(&b.name));
    crd.spec.versions = versions;
    crd
}

/// Where the API server sends BGPPeer ConversionReviews.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionWebhook<'a> {
    /// Namespace of the webhook Service.
    pub namespace: &'a str,
    /// Name of the webhook Service.
    pub service: &'a str,
    /// HTTP path of the conversion endpoint (MetalLB uses `/convert`).
    pub path: &'a str,
    /// Service port (the API server's default is 443).
    pub port: Option<i32>,
    /// PEM bundle of the CA that signed the webhook's serving certificate.
    pub ca_bundle: Option<&'a [u8]>,
}

/// The `spec.conversion` stanza that routes BGPPeer conversions to a webhook.
///
/// MetalLB's published CRD (and so ours) has no stanza: without a webhook the API server
/// converts by rewriting `apiVersion` only. MetalLB adds the stanza with a kustomize patch
/// and fills `caBundle` at run time; Lodestone's webhook can set this value on
/// `bgppeers.metallb.io` once it serves [`crate::conversion::review`].
pub fn bgppeer_conversion_webhook(
    webhook: &ConversionWebhook<'_>,
) -> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceConversion {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
        CustomResourceConversion, ServiceReference, WebhookClientConfig, WebhookConversion,
    };
    CustomResourceConversion {
        strategy: "Webhook".into(),
        webhook: Some(WebhookConversion {
            client_config: Some(WebhookClientConfig {
                ca_bundle: webhook
                    .ca_bundle
                    .map(|pem| k8s_openapi::ByteString(pem.to_vec())),
                service: Some(ServiceReference {
                    name: webhook.service.into(),
                    namespace: webhook.namespace.into(),
                    path: Some(webhook.path.into()),
                    port: webhook.port,
                }),
                url: None,
            }),
            conversion_review_versions: vec!["v1".into()],
        }),
    }
}

/// ConfigurationState: status only, no `spec` (hence no derive).
fn configurationstates() -> Result<CustomResourceDefinition, CrdGenError> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
        CustomResourceColumnDefinition, CustomResourceDefinitionNames,
        CustomResourceDefinitionSpec, CustomResourceSubresourceStatus, CustomResourceSubresources,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    let column = |name: &str, type_: &str, json_path: &str| CustomResourceColumnDefinition {
        name: name.into(),
        type_: type_.into(),
        json_path: json_path.into(),
        ..CustomResourceColumnDefinition::default()
    };
    let root = root_schema(
        "A status-only report of whether a component (label metallb.io/component-type: controller or speaker, plus metallb.io/node-name for speakers) accepted the configuration it last read.",
        None,
        Some(schema_for::<v1beta1::ConfigurationStateStatus>()),
        false,
    );
    let schema: JSONSchemaProps =
        serde_json::from_value(Value::Object(root)).map_err(|source| CrdGenError::Schema {
            kind: "ConfigurationState".into(),
            source,
        })?;
    Ok(CustomResourceDefinition {
        metadata: ObjectMeta {
            name: Some("configurationstates.metallb.io".into()),
            ..ObjectMeta::default()
        },
        spec: CustomResourceDefinitionSpec {
            group: "metallb.io".into(),
            names: CustomResourceDefinitionNames {
                kind: "ConfigurationState".into(),
                list_kind: Some("ConfigurationStateList".into()),
                plural: "configurationstates".into(),
                singular: Some("configurationstate".into()),
                ..CustomResourceDefinitionNames::default()
            },
            scope: "Namespaced".into(),
            versions: vec![CustomResourceDefinitionVersion {
                additional_printer_columns: Some(vec![
                    column("Result", "string", ".status.result"),
                    column("ErrorSummary", "string", ".status.errorSummary"),
                    column("Age", "date", ".metadata.creationTimestamp"),
                ]),
                name: "v1beta1".into(),
                schema: Some(CustomResourceValidation {
                    open_api_v3_schema: Some(schema),
                }),
                served: true,
                storage: true,
                subresources: Some(CustomResourceSubresources {
                    status: Some(CustomResourceSubresourceStatus(json!({}))),
                    scale: None,
                }),
                ..CustomResourceDefinitionVersion::default()
            }],
            ..CustomResourceDefinitionSpec::default()
        },
        status: None,
    })
}

/// Every `metallb.io` CRD, ordered by name.
pub fn crds() -> Result<Vec<CustomResourceDefinition>, CrdGenError> {
    use v1beta1 as b1;
    let mut all = vec![
        derived::<b1::BFDProfile>(),
        derived::<b1::BGPAdvertisement>(),
        bgppeers(),
        derived::<b1::Community>(),
        configurationstates()?,
        derived::<b1::IPAddressPool>(),
        derived::<b1::L2Advertisement>(),
        derived::<b1::ServiceBGPStatus>(),
        derived::<b1::ServiceL2Status>(),
    ];
    all.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    Ok(all)
}

/// The file a CRD is written to: `metallb.io_<plural>.yaml`, as in MetalLB's tree.
pub fn file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural)
}

/// The header of every generated file.
pub const GENERATED_HEADER: &str =
    "# Generated by lodestone-gen-crds (run hack/gen-crds.sh); do not edit.\n";

/// One CRD as the YAML document checked in under `manifests/crds/`.
pub fn render(crd: &CustomResourceDefinition) -> Result<String, CrdGenError> {
    let name = || crd.metadata.name.clone().unwrap_or_default();
    let mut value = serde_json::to_value(crd).map_err(|source| CrdGenError::Json {
        name: name(),
        source,
    })?;
    whole_numbers_as_integers(&mut value);
    let yaml = serde_yaml::to_string(&value).map_err(|source| CrdGenError::Yaml {
        name: name(),
        source,
    })?;
    Ok(format!("{GENERATED_HEADER}---\n{yaml}"))
}

/// `JSONSchemaProps` keeps `minimum`/`maximum` as `f64`; write `1`, not `1.0`, as
/// controller-gen does.
fn whole_numbers_as_integers(value: &mut Value) {
    match value {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| n.is_f64() && f.fract() == 0.0) {
                if f >= 0.0 && f <= u64::MAX as f64 {
                    *value = Value::from(f as u64);
                } else if f < 0.0 && f >= i64::MIN as f64 {
                    *value = Value::from(f as i64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        Value::Object(map) => map.values_mut().for_each(whole_numbers_as_integers),
        _ => {}
    }
}

/// Every generated file of `manifests/crds/` as (file name, contents): one per CRD plus the
/// `kustomization.yaml` listing them.
pub fn manifest_files() -> Result<Vec<(String, String)>, CrdGenError> {
    let crds = crds()?;
    let mut files = Vec::with_capacity(crds.len() + 1);
    let mut kustomization = format!(
        "{GENERATED_HEADER}apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
    );
    for crd in &crds {
        let name = file_name(crd);
        kustomization.push_str(&format!("- {name}\n"));
        files.push((name, render(crd)?));
    }
    files.push(("kustomization.yaml".to_owned(), kustomization));
    Ok(files)
}
