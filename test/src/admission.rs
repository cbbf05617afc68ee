//! Admission webhooks (mutating, then validating): matching rules (operations, resources, scope),
//! namespaceSelector and objectSelector, AdmissionReview v1 over HTTPS with the caBundle,
//! failurePolicy, and the denial message as the real server words it.

use std::time::Duration;

use base64::Engine;

use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::rest::{Cluster, Target, WriteOptions, str_at, uid};
use crate::selector::{LabelSelector, labels_of};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
        }
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(String::from))
        .collect()
}

fn rule_matches(rule: &Value, t: &Target, op: Operation) -> bool {
    let any = |list: Vec<String>, want: &str| list.iter().any(|x| x == "*" || x == want);
    let resource = match &t.subresource {
        Some(s) => format!("{}/{s}", t.rt.plural),
        None => t.rt.plural.clone(),
    };
    let resources = strings(rule.get("resources"));
    let res_ok = resources.iter().any(|r| {
        r == "*" && t.subresource.is_none()
            || *r == resource
            || r == "*/*"
            || (t.subresource.is_some() && r.strip_prefix("*/") == t.subresource.as_deref())
            || (t.subresource.is_none() && r.strip_suffix("/*").is_some_and(|p| p == t.rt.plural))
    });
    let scope = rule.get("scope").and_then(Value::as_str).unwrap_or("*");
    let scope_ok = match scope {
        "Cluster" => !t.rt.namespaced,
        "Namespaced" => t.rt.namespaced,
        _ => true,
    };
    any(strings(rule.get("operations")), op.as_str())
        && any(strings(rule.get("apiGroups")), &t.rt.group)
        && any(strings(rule.get("apiVersions")), &t.rt.version)
        && res_ok
        && scope_ok
}

fn selector_matches(
    sel: Option<&Value>,
    labels: &std::collections::BTreeMap<String, String>,
) -> bool {
    match sel {
        None => true,
        Some(s) => LabelSelector::from_object(s)
            .map(|l| l.matches(labels))
            .unwrap_or(false),
    }
}

/// Runs every matching validating webhook; the first denial or hard failure rejects the request.
pub async fn validate(
    c: &Cluster,
    t: &Target,
    op: Operation,
    old: Option<&Value>,
    new: &Value,
    o: &WriteOptions,
) -> ApiResult<()> {
    let key = "admissionregistration.k8s.io/validatingwebhookconfigurations";
    for hook in matching(c, key, t, op, old, new) {
        call(c, &hook, t, op, old, new, o).await?;
    }
    Ok(())
}

/// Runs every matching mutating webhook in order and applies the JSONPatch each returns.
pub async fn mutate(
    c: &Cluster,
    t: &Target,
    op: Operation,
    old: Option<&Value>,
    new: &mut Value,
    o: &WriteOptions,
) -> ApiResult<()> {
    let key = "admissionregistration.k8s.io/mutatingwebhookconfigurations";
    for hook in matching(c, key, t, op, old, new) {
        let Some(resp) = call(c, &hook, t, op, old, new, o).await? else {
            continue;
        };
        let Some(patch) = resp.pointer("/response/patch").and_then(Value::as_str) else {
            continue;
        };
        let name = str_at(&hook, "/name").to_string();
        let bad =
            |why: String| ApiError::internal(format!("failed calling webhook \"{name}\": {why}"));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(patch)
            .map_err(|e| bad(format!("invalid patch: {e}")))?;
        let ops: json_patch::Patch =
            serde_json::from_slice(&bytes).map_err(|e| bad(format!("invalid patch: {e}")))?;
        json_patch::patch(new, &ops)
            .map_err(|e| bad(format!("patch could not be applied: {e}")))?;
    }
    Ok(())
}

/// The webhooks of every configuration stored under `key` that select this request.
fn matching(
    c: &Cluster,
    key: &str,
    t: &Target,
    op: Operation,
    old: Option<&Value>,
    new: &Value,
) -> Vec<Value> {
    let configs = c.store.lock().list(key, None);
    if configs.is_empty() {
        return vec![];
    }
    let ns_labels = if t.rt.namespaced {
        c.store
            .lock()
            .get("/namespaces", "", t.ns())
            .map(|n| labels_of(&n))
            .unwrap_or_default()
    } else if t.rt.kind == "Namespace" && t.rt.group.is_empty() {
        labels_of(new)
    } else {
        Default::default()
    };
    let mut out = vec![];
    for cfg in configs {
        for hook in cfg
            .get("webhooks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let rules = hook
                .get("rules")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if !rules.iter().any(|r| rule_matches(r, t, op)) {
                continue;
            }
            let cluster_scoped = !t.rt.namespaced && t.rt.kind != "Namespace";
            if !cluster_scoped && !selector_matches(hook.get("namespaceSelector"), &ns_labels) {
                continue;
            }
            let obj_labels = labels_of(new);
            let old_labels = old.map(labels_of).unwrap_or_default();
            let old_matches =
                old.is_some() && selector_matches(hook.get("objectSelector"), &old_labels);
            if !selector_matches(hook.get("objectSelector"), &obj_labels) && !old_matches {
                continue;
            }
            out.push(hook.clone());
        }
    }
    out
}

async fn call(
    c: &Cluster,
    hook: &Value,
    t: &Target,
    op: Operation,
    old: Option<&Value>,
    new: &Value,
    o: &WriteOptions,
) -> ApiResult<Option<Value>> {
    let name = str_at(hook, "/name").to_string();
    let gvk = json!({"group": t.rt.group, "version": t.rt.version, "kind": t.rt.kind});
    let gvr = json!({"group": t.rt.group, "version": t.rt.version, "resource": t.rt.plural});
    let mut req = json!({
        "uid": uid(),
        "kind": gvk, "resource": gvr, "requestKind": gvk, "requestResource": gvr,
        "name": str_at(new, "/metadata/name"),
        "operation": op.as_str(),
        "userInfo": {"username": o.user, "groups": o.groups},
        "object": if op == Operation::Delete { Value::Null } else { new.clone() },
        "oldObject": old.cloned().unwrap_or(Value::Null),
        "dryRun": o.dry_run,
    });
    if t.rt.namespaced {
        req["namespace"] = json!(t.ns());
    }
    if let Some(s) = &t.subresource {
        req["subResource"] = json!(s);
    }
    let review =
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req});
    let timeout = Duration::from_secs(
        hook.get("timeoutSeconds")
            .and_then(Value::as_u64)
            .unwrap_or(10),
    );
    let cfg = hook.get("clientConfig").cloned().unwrap_or(Value::Null);
    let resp = match crate::webhook::post(c, &cfg, &review, timeout).await {
        Ok(r) => r,
        Err(e) => {
            if hook.get("failurePolicy").and_then(Value::as_str) == Some("Ignore") {
                tracing::debug!(webhook = %name, error = %e, "webhook failed, failurePolicy Ignore");
                return Ok(None);
            }
            return Err(ApiError::internal(format!(
                "failed calling webhook \"{name}\": {e}"
            )));
        }
    };
    if resp.pointer("/response/allowed").and_then(Value::as_bool) == Some(true) {
        return Ok(Some(resp));
    }
    let status = resp
        .pointer("/response/status")
        .cloned()
        .unwrap_or(json!({}));
    let code = status
        .get("code")
        .and_then(Value::as_u64)
        .filter(|c| *c >= 400)
        .unwrap_or(400) as u16;
    let msg = status.get("message").and_then(Value::as_str).unwrap_or("");
    let reason = status.get("reason").and_then(Value::as_str).unwrap_or("");
    let denied = format!("admission webhook \"{name}\" denied the request");
    let message = if !msg.is_empty() {
        format!("{denied}: {msg}")
    } else if !reason.is_empty() {
        format!("{denied}: {reason}")
    } else {
        format!("{denied} without explanation")
    };
    let mut e = ApiError::new(code, reason, message);
    e.details = status.get("details").cloned();
    Err(e)
}
