//! Authentication (bearer tokens) and, when enabled, RBAC authorization with the real
//! Forbidden wording.

use std::collections::HashMap;
use std::sync::RwLock;

use serde_json::Value;

use crate::rest::{Cluster, str_at};

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub name: String,
    pub groups: Vec<String>,
}

impl User {
    pub fn admin() -> Self {
        User {
            name: "system:admin".into(),
            groups: vec!["system:masters".into(), "system:authenticated".into()],
        }
    }

    pub fn service_account(ns: &str, name: &str) -> Self {
        User {
            name: format!("system:serviceaccount:{ns}:{name}"),
            groups: vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{ns}"),
                "system:authenticated".into(),
            ],
        }
    }
}

/// Token → user table; RBAC on or off.
#[derive(Debug)]
pub struct Auth {
    pub admin_token: String,
    pub rbac: bool,
    tokens: RwLock<HashMap<String, User>>,
}

impl Auth {
    pub fn new(admin_token: String, rbac: bool) -> Self {
        Auth {
            admin_token,
            rbac,
            tokens: RwLock::new(HashMap::new()),
        }
    }

    /// Issues a bearer token for a ServiceAccount.
    pub fn issue(&self, ns: &str, name: &str) -> String {
        let token = format!("sa-{}", uuid::Uuid::new_v4().simple());
        self.tokens
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token.clone(), User::service_account(ns, name));
        token
    }

    /// The caller of a request: None means 401.
    pub fn authenticate(&self, authorization: Option<&str>) -> Option<User> {
        let token = authorization
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim);
        if !self.rbac {
            return Some(User::admin());
        }
        let token = token?;
        if token == self.admin_token {
            return Some(User::admin());
        }
        self.tokens
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(token)
            .cloned()
    }
}

/// One authorization question.
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    pub resource: &'a str,
    pub subresource: Option<&'a str>,
    pub namespace: &'a str,
    pub name: &'a str,
}

fn strs(v: Option<&Value>) -> Vec<&str> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

fn rule_allows(rule: &Value, a: &Attributes) -> bool {
    let has = |field: &str, want: &str| {
        strs(rule.get(field))
            .iter()
            .any(|x| *x == "*" || *x == want)
    };
    let resource = match a.subresource {
        Some(s) => format!("{}/{s}", a.resource),
        None => a.resource.to_string(),
    };
    let names = strs(rule.get("resourceNames"));
    let names_ok = names.is_empty() || (!a.name.is_empty() && names.contains(&a.name));
    has("verbs", a.verb)
        && has("apiGroups", a.group)
        && (has("resources", &resource)
            || a.subresource
                .is_some_and(|s| strs(rule.get("resources")).contains(&format!("*/{s}").as_str())))
        && names_ok
}

fn subject_matches(s: &Value, user: &User) -> bool {
    let kind = str_at(s, "/kind");
    let name = str_at(s, "/name");
    match kind {
        "User" => name == user.name,
        "Group" => user.groups.iter().any(|g| g == name),
        "ServiceAccount" => {
            user.name == format!("system:serviceaccount:{}:{name}", str_at(s, "/namespace"))
        }
        _ => false,
    }
}

/// RBAC: does any binding grant `a` to `user`?
pub fn allowed(c: &Cluster, user: &User, a: &Attributes) -> bool {
    if user.groups.iter().any(|g| g == "system:masters") {
        return true;
    }
    let st = c.store.lock();
    let rules_of = |kind: &str, ns: &str, name: &str| -> Vec<Value> {
        let obj = if kind == "ClusterRole" {
            st.get("rbac.authorization.k8s.io/clusterroles", "", name)
        } else {
            st.get("rbac.authorization.k8s.io/roles", ns, name)
        };
        obj.and_then(|o| o.get("rules").and_then(Value::as_array).cloned())
            .unwrap_or_default()
    };
    let grants = |b: &Value, ns: &str| -> bool {
        let subjects = b
            .get("subjects")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if !subjects.iter().any(|s| subject_matches(s, user)) {
            return false;
        }
        rules_of(str_at(b, "/roleRef/kind"), ns, str_at(b, "/roleRef/name"))
            .iter()
            .any(|r| rule_allows(r, a))
    };
    if st
        .list("rbac.authorization.k8s.io/clusterrolebindings", None)
        .iter()
        .any(|b| grants(b, ""))
    {
        return true;
    }
    !a.namespace.is_empty()
        && st
            .list("rbac.authorization.k8s.io/rolebindings", Some(a.namespace))
            .iter()
            .any(|b| grants(b, a.namespace))
}

/// The reason text of a Forbidden Status, as the real authorizer words it.
pub fn forbidden_reason(user: &User, a: &Attributes) -> String {
    let resource = match a.subresource {
        Some(s) => format!("{}/{s}", a.resource),
        None => a.resource.to_string(),
    };
    if a.namespace.is_empty() {
        format!(
            "User {:?} cannot {} resource {resource:?} in API group {:?} at the cluster scope",
            user.name, a.verb, a.group
        )
    } else {
        format!(
            "User {:?} cannot {} resource {resource:?} in API group {:?} in the namespace {:?}",
            user.name, a.verb, a.group, a.namespace
        )
    }
}
