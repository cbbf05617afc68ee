//! `Community`: named aliases for BGP community values.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A list of community aliases that BGPAdvertisements can refer to by name.
#[derive(
    CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
)]
#[kube(
    group = "metallb.io",
    version = "v1beta1",
    kind = "Community",
    plural = "communities",
    namespaced,
    status = "CommunityStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "The `Community` resource; its fields are in [`CommunitySpec`] and [`CommunityStatus`].",
    schema = "manual"
)]
#[serde(rename_all = "camelCase")]
#[serde(remote = "Self")]
// `remote` would otherwise name the schema "Self".
#[schemars(rename = "CommunitySpec")]
pub struct CommunitySpec {
    /// The aliases.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub communities: Vec<CommunityAlias>,
}

super::spec_may_be_absent!(CommunitySpec);

super::schema::resource_schema!(
    Community,
    CommunitySpec,
    CommunityStatus,
    "A set of named aliases for BGP communities, usable in BGPAdvertisement communities.",
    spec_required = false
);

/// One alias: a name standing for a community value.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct CommunityAlias {
    /// The alias, as written in a BGPAdvertisement's `communities`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,

    /// The community the alias stands for: standard `65000:100` or large `large:65000:1:2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// Community has no observed state; the type exists for the status subresource.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct CommunityStatus {}
