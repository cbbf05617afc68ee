//! BGPPeer conversion between v1beta1 and v1beta2, and the `ConversionReview` exchange a
//! conversion webhook answers.
//!
//! ```text
//!   ConversionReview{request} ──► review() ──► ConversionReview{response}
//!                                   │ per object: decode strictly (Go's unmarshal)
//!                                   ▼
//!   v1beta1::BGPPeer ──to_v1beta2──► v1beta2::BGPPeer   (hub = storage version)
//!                    ◄─to_v1beta1──
//! ```
//!
//! The functions reproduce MetalLB's `api/v1beta1/bgppeer_conversion.go` field by field,
//! including its quirks, because objects round-trip through whichever implementation
//! served them last:
//! - v1beta1 `holdTime`/`keepaliveTime` are non-pointer `metav1.Duration`s, so converting to
//!   v1beta2 always sets both, `0s` when the v1beta1 object had none; converting back writes
//!   `0s` for an unset v1beta2 value.
//! - Durations pass through Go's `time.ParseDuration`/`Duration.String`: `90s` becomes
//!   `1m30s`.
//! - Go's `omitempty` drops empty strings, `false` and port 0; v1beta1's `peerASN` and
//!   `peerAddress` have no `omitempty` and are always written.
//! - v1beta2-only fields (dynamicASN, localASN, interface, connectTime, passwordSecret,
//!   enableGracefulRestart, vrf, disableMP, dualStackAddressFamily) are dropped going to
//!   v1beta1, and absent coming back.
//! - v1beta1 node selectors become `metav1.LabelSelector`s (an empty one stays empty);
//!   going back every selector gets `matchLabels`/`matchExpressions` with `values` copied.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use serde_json::{Value, json};
use thiserror::Error;

use crate::v1beta1::{self, GoDuration};
use crate::v1beta2;

/// API version of BGPPeer v1beta1 objects.
pub const V1BETA1: &str = "metallb.io/v1beta1";
/// API version of BGPPeer v1beta2 objects (the storage version).
pub const V1BETA2: &str = "metallb.io/v1beta2";

/// Why an object could not be converted (the webhook answers `Failure` with this text).
#[derive(Debug, Error)]
pub enum ConversionError {
    /// The object does not decode as a BGPPeer of its declared version.
    #[error("decoding {api_version} BGPPeer {name}: {source}")]
    Decode {
        /// Declared apiVersion.
        api_version: String,
        /// Object name, if known.
        name: String,
        /// The decoding error, with the path of the offending field.
        source: serde_path_to_error::Error<serde_json::Error>,
    },
    /// A duration field does not parse as a Go duration (Go's decoding fails the same way).
    #[error("decoding {api_version} BGPPeer {name}: spec.{field}: {source}")]
    Duration {
        /// Declared apiVersion.
        api_version: String,
        /// Object name, if known.
        name: String,
        /// The JSON field name.
        field: &'static str,
        /// The parse error.
        source: v1beta1::GoDurationError,
    },
    /// The object is not a BGPPeer, or is of an apiVersion this webhook does not serve.
    #[error("cannot convert {kind} {api_version} to {desired}")]
    Unsupported {
        /// The object's kind.
        kind: String,
        /// The object's apiVersion.
        api_version: String,
        /// The requested apiVersion.
        desired: String,
    },
    /// The converted object could not be encoded (does not happen for these types).
    #[error("encoding the converted BGPPeer: {0}")]
    Encode(serde_json::Error),
}

/// Go's `Duration.String` of a parsed duration; text that does not parse is kept verbatim
/// so that the configuration parser can report it against the field.
fn canonical_duration(text: &str) -> String {
    GoDuration::parse(text).map_or_else(|_| text.to_owned(), |d| d.to_string())
}

/// A v1beta1 duration as v1beta2 receives it: always set, `0s` when absent.
fn duration_always(text: Option<&str>) -> String {
    text.map_or_else(|| GoDuration::ZERO.to_string(), canonical_duration)
}

/// Go's `omitempty` for strings: an empty string is absent.
fn non_empty(text: Option<&String>) -> Option<String> {
    text.filter(|s| !s.is_empty()).cloned()
}

/// Go's `omitempty` for bools: `false` is absent.
fn true_or_absent(flag: Option<bool>) -> Option<bool> {
    flag.filter(|&b| b)
}

/// v1beta1 → v1beta2 (MetalLB `ConvertTo`).
///
/// Durations that parse are rewritten in Go's canonical text; those that do not are carried over
/// verbatim, so that the configuration parser can report them. Use [`review`] or
/// [`convert_object`] for the webhook's strict behaviour.
pub fn to_v1beta2(old: &v1beta1::BGPPeer) -> v1beta2::BGPPeer {
    let s = &old.spec;
    v1beta2::BGPPeer {
        metadata: old.metadata.clone(),
        spec: v1beta2::BGPPeerSpec {
            my_asn: s.my_asn,
            peer_asn: Some(s.peer_asn).filter(|&asn| asn != 0),
            peer_address: Some(s.peer_address.clone()).filter(|a| !a.is_empty()),
            source_address: non_empty(s.source_address.as_ref()),
            // Port 0 is omitted by Go and then defaulted to 179 by the API server.
            peer_port: s.peer_port.filter(|&p| p != 0),
            hold_time: Some(duration_always(s.hold_time.as_deref())),
            keepalive_time: Some(duration_always(s.keepalive_time.as_deref())),
            router_id: non_empty(s.router_id.as_ref()),
            password: non_empty(s.password.as_ref()),
            bfd_profile: non_empty(s.bfd_profile.as_ref()),
            ebgp_multi_hop: true_or_absent(s.ebgp_multi_hop),
            node_selectors: s.node_selectors.iter().map(label_selector).collect(),
            dynamic_asn: None,
            local_asn: None,
            interface: None,
            connect_time: None,
            password_secret: None,
            enable_graceful_restart: None,
            vrf: None,
            disable_mp: false,
            dual_stack_address_family: false,
        },
        status: old.status.as_ref().map(|_| v1beta2::BGPPeerStatus {}),
    }
}

/// v1beta2 → v1beta1 (MetalLB `ConvertFrom`): drops what v1beta1 cannot hold.
pub fn to_v1beta1(new: &v1beta2::BGPPeer) -> v1beta1::BGPPeer {
    let s = &new.spec;
    v1beta1::BGPPeer {
        metadata: new.metadata.clone(),
        spec: v1beta1::BGPPeerSpec {
            my_asn: s.my_asn,
            peer_asn: s.peer_asn.unwrap_or(0),
            peer_address: s.peer_address.clone().unwrap_or_default(),
            source_address: non_empty(s.source_address.as_ref()),
            peer_port: s.peer_port.filter(|&p| p != 0),
            hold_time: Some(duration_always(s.hold_time.as_deref())),
            keepalive_time: Some(duration_always(s.keepalive_time.as_deref())),
            router_id: non_empty(s.router_id.as_ref()),
            node_selectors: s.node_selectors.iter().map(legacy_selector).collect(),
            password: non_empty(s.password.as_ref()),
            bfd_profile: non_empty(s.bfd_profile.as_ref()),
            ebgp_multi_hop: true_or_absent(s.ebgp_multi_hop),
        },
        status: new.status.as_ref().map(|_| v1beta1::BGPPeerStatus {}),
    }
}

impl From<&v1beta1::BGPPeer> for v1beta2::BGPPeer {
    fn from(old: &v1beta1::BGPPeer) -> Self {
        to_v1beta2(old)
    }
}

impl From<&v1beta2::BGPPeer> for v1beta1::BGPPeer {
    fn from(new: &v1beta2::BGPPeer) -> Self {
        to_v1beta1(new)
    }
}

/// A v1beta1 node selector as a `metav1.LabelSelector` (MetalLB `parseNodeSelector`).
fn label_selector(old: &v1beta1::NodeSelector) -> LabelSelector {
    if old.match_labels.is_empty() && old.match_expressions.is_empty() {
        return LabelSelector::default();
    }
    let expressions: Vec<LabelSelectorRequirement> = old
        .match_expressions
        .iter()
        .map(|e| LabelSelectorRequirement {
            key: e.key.clone(),
            operator: e.operator.clone(),
            values: Some(e.values.clone()).filter(|v| !v.is_empty()),
        })
        .collect();
    LabelSelector {
        match_labels: Some(old.match_labels.clone()).filter(|m| !m.is_empty()),
        match_expressions: Some(expressions).filter(|e| !e.is_empty()),
    }
}

/// A `metav1.LabelSelector` as a v1beta1 node selector (MetalLB `labelsToLegacySelector`).
fn legacy_selector(new: &LabelSelector) -> v1beta1::NodeSelector {
    v1beta1::NodeSelector {
        match_labels: new.match_labels.clone().unwrap_or_default(),
        match_expressions: new
            .match_expressions
            .iter()
            .flatten()
            .map(|e| v1beta1::MatchExpression {
                key: e.key.clone(),
                operator: e.operator.clone(),
                values: e.values.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

/// Go's JSON decoding of a `metav1.Duration` fails on text `time.ParseDuration` rejects.
fn check_durations(
    api_version: &str,
    name: &str,
    fields: &[(&'static str, Option<&str>)],
) -> Result<(), ConversionError> {
    for (field, text) in fields {
        if let Some(text) = text {
            GoDuration::parse(text).map_err(|source| ConversionError::Duration {
                api_version: api_version.to_owned(),
                name: name.to_owned(),
                field,
                source,
            })?;
        }
    }
    Ok(())
}

/// Converts one BGPPeer object (JSON) to `desired`, strictly: the object must decode as its
/// declared version and its durations must parse, as MetalLB's webhook requires.
///
/// `metadata` is copied verbatim from the input, so the API server sees it unchanged.
pub fn convert_object(object: &Value, desired: &str) -> Result<Value, ConversionError> {
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let unsupported = || ConversionError::Unsupported {
        kind: kind.to_owned(),
        api_version: api_version.to_owned(),
        desired: desired.to_owned(),
    };
    if kind != "BGPPeer" || ![V1BETA1, V1BETA2].contains(&desired) {
        return Err(unsupported());
    }
    let decode_error = |source| ConversionError::Decode {
        api_version: api_version.to_owned(),
        name: name.to_owned(),
        source,
    };
    let mut converted = match api_version {
        V1BETA1 => {
            let old: v1beta1::BGPPeer =
                serde_path_to_error::deserialize(object.clone()).map_err(decode_error)?;
            check_durations(
                api_version,
                name,
                &[
                    ("holdTime", old.spec.hold_time.as_deref()),
                    ("keepaliveTime", old.spec.keepalive_time.as_deref()),
                ],
            )?;
            if desired == V1BETA1 {
                return Ok(object.clone());
            }
            serde_json::to_value(to_v1beta2(&old)).map_err(ConversionError::Encode)?
        }
        V1BETA2 => {
            let new: v1beta2::BGPPeer =
                serde_path_to_error::deserialize(object.clone()).map_err(decode_error)?;
            check_durations(
                api_version,
                name,
                &[
                    ("holdTime", new.spec.hold_time.as_deref()),
                    ("keepaliveTime", new.spec.keepalive_time.as_deref()),
                    ("connectTime", new.spec.connect_time.as_deref()),
                ],
            )?;
            if desired == V1BETA2 {
                return Ok(object.clone());
            }
            serde_json::to_value(to_v1beta1(&new)).map_err(ConversionError::Encode)?
        }
        _ => return Err(unsupported()),
    };
    if let (Some(out), Some(metadata)) = (converted.as_object_mut(), object.get("metadata")) {
        out.insert("metadata".into(), metadata.clone());
    }
    Ok(converted)
}

/// Answers a `ConversionReview` (apiextensions.k8s.io/v1): every object of the request is
/// converted to `request.desiredAPIVersion`, or the whole review fails with the first
/// error, as controller-runtime's conversion webhook does.
///
/// Never panics; a review without a usable request gets a `Failure` response.
pub fn review(input: &Value) -> Value {
    let api_version = input
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("apiextensions.k8s.io/v1");
    let request = input.get("request");
    let uid = request
        .and_then(|r| r.get("uid"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let outcome = match request {
        None => Err("ConversionReview has no request".to_owned()),
        Some(request) => convert_request(request),
    };
    let response = match outcome {
        Ok(objects) => json!({
            "uid": uid,
            "convertedObjects": objects,
            "result": { "status": "Success" },
        }),
        Err(message) => json!({
            "uid": uid,
            "convertedObjects": [],
            "result": { "status": "Failure", "message": message },
        }),
    };
    json!({
        "apiVersion": api_version,
        "kind": "ConversionReview",
        "response": response,
    })
}

fn convert_request(request: &Value) -> Result<Vec<Value>, String> {
    if request.get("uid").and_then(Value::as_str).is_none() {
        return Err("ConversionReview request has no uid".to_owned());
    }
    let desired = request
        .get("desiredAPIVersion")
        .and_then(Value::as_str)
        .ok_or("ConversionReview request has no desiredAPIVersion")?;
    let objects = match request.get("objects") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(objects)) => objects,
        Some(_) => return Err("ConversionReview request objects is not a list".to_owned()),
    };
    objects
        .iter()
        .map(|object| convert_object(object, desired).map_err(|e| e.to_string()))
        .collect()
}
