//! The resource types the emulator serves: the built-in table plus those CRDs add.

use std::collections::BTreeMap;

use serde_json::Value;

/// How a type's objects behave on writes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Behaviour {
    /// `metadata.generation` is maintained (custom resources, CRDs, webhook configurations).
    pub generation: bool,
    /// Create drops `.status` (types whose status only the status subresource writes).
    pub reset_status_on_create: bool,
    /// PUT without `metadata.resourceVersion` is allowed.
    pub unconditional_update: bool,
    /// PUT on a missing object creates it.
    pub create_on_update: bool,
}

/// One served resource (`services`, `ipaddresspools.metallb.io/v1beta1`, ...).
#[derive(Debug, Clone)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub status: bool,
    pub behaviour: Behaviour,
    /// Set for custom resources: the CRD name (`plural.group`).
    pub crd: Option<String>,
    /// The version objects are stored in (custom resources convert to it).
    pub storage_version: String,
    /// The version's openAPIV3Schema (custom resources only).
    pub schema: Option<Value>,
}

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Storage key shared by every version of the resource.
    pub fn storage_key(&self) -> String {
        format!("{}/{}", self.group, self.plural)
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    pub fn verbs(&self) -> Vec<&'static str> {
        vec![
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ]
    }
}

struct Builtin {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    short: &'static [&'static str],
    status: bool,
    generation: bool,
    create_on_update: bool,
}

const fn b(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    short: &'static [&'static str],
    status: bool,
) -> Builtin {
    Builtin {
        group,
        version,
        kind,
        plural,
        namespaced,
        short,
        status,
        generation: false,
        create_on_update: false,
    }
}

const fn with_generation(mut x: Builtin) -> Builtin {
    x.generation = true;
    x
}

const fn create_on_update(mut x: Builtin) -> Builtin {
    x.create_on_update = true;
    x
}

const BUILTINS: &[Builtin] = &[
    b("", "v1", "Namespace", "namespaces", false, &["ns"], true),
    b("", "v1", "Node", "nodes", false, &["no"], true),
    b("", "v1", "Service", "services", true, &["svc"], true),
    create_on_update(b("", "v1", "Endpoints", "endpoints", true, &["ep"], false)),
    b("", "v1", "Pod", "pods", true, &["po"], true),
    b("", "v1", "Secret", "secrets", true, &[], false),
    b("", "v1", "ConfigMap", "configmaps", true, &["cm"], false),
    b("", "v1", "Event", "events", true, &["ev"], false),
    b(
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        true,
        &["sa"],
        false,
    ),
    b(
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        true,
        &[],
        false,
    ),
    b(
        "events.k8s.io",
        "v1",
        "Event",
        "events",
        true,
        &["ev"],
        false,
    ),
    b(
        "coordination.k8s.io",
        "v1",
        "Lease",
        "leases",
        true,
        &[],
        false,
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        true,
        &[],
        false,
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
        &[],
        false,
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
        &[],
        false,
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
        &[],
        false,
    ),
    with_generation(b(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
        &["crd", "crds"],
        true,
    )),
    with_generation(b(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        false,
        &[],
        false,
    )),
    with_generation(b(
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        false,
        &[],
        false,
    )),
    // Workloads and policy kinds the install manifests carry: stored and served, no controllers.
    with_generation(b(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        true,
        &["deploy"],
        true,
    )),
    with_generation(b(
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        true,
        &["ds"],
        true,
    )),
    with_generation(b(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        true,
        &["sts"],
        true,
    )),
    with_generation(b(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        true,
        &["rs"],
        true,
    )),
    with_generation(b(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
        &["pdb"],
        true,
    )),
    with_generation(b(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
        &["netpol"],
        false,
    )),
    with_generation(b(
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        true,
        &["ing"],
        true,
    )),
    with_generation(b(
        "networking.k8s.io",
        "v1",
        "IngressClass",
        "ingressclasses",
        false,
        &[],
        false,
    )),
    b(
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        "priorityclasses",
        false,
        &["pc"],
        false,
    ),
    // Stored and served; their CEL policies are not enforced.
    with_generation(b(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicy",
        "validatingadmissionpolicies",
        false,
        &[],
        true,
    )),
    with_generation(b(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings",
        false,
        &[],
        false,
    )),
];

fn builtin_types() -> Vec<ResourceType> {
    BUILTINS
        .iter()
        .map(|x| ResourceType {
            group: x.group.into(),
            version: x.version.into(),
            kind: x.kind.into(),
            plural: x.plural.into(),
            singular: x.kind.to_lowercase(),
            namespaced: x.namespaced,
            short_names: x.short.iter().map(|s| s.to_string()).collect(),
            categories: if matches!(x.kind, "Pod" | "Service") {
                vec!["all".into()]
            } else {
                vec![]
            },
            status: x.status,
            behaviour: Behaviour {
                generation: x.generation,
                // Nodes and Namespaces keep the status they are created with; Pods and Services
                // are reset (their strategies' PrepareForCreate).
                reset_status_on_create: matches!(
                    x.kind,
                    "Service"
                        | "Pod"
                        | "CustomResourceDefinition"
                        | "Deployment"
                        | "DaemonSet"
                        | "StatefulSet"
                        | "ReplicaSet"
                        | "PodDisruptionBudget"
                        | "Ingress"
                ),
                unconditional_update: true,
                create_on_update: x.create_on_update,
            },
            crd: None,
            storage_version: x.version.into(),
            schema: None,
        })
        .collect()
}

/// Every served resource, indexed by group/version/plural.
#[derive(Debug, Clone)]
pub struct Catalog {
    types: BTreeMap<(String, String, String), ResourceType>,
}

impl Default for Catalog {
    fn default() -> Self {
        Catalog::new()
    }
}

impl Catalog {
    pub fn new() -> Self {
        let mut types = BTreeMap::new();
        for t in builtin_types() {
            types.insert((t.group.clone(), t.version.clone(), t.plural.clone()), t);
        }
        Catalog { types }
    }

    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceType> {
        self.types
            .get(&(group.to_string(), version.to_string(), plural.to_string()))
    }

    pub fn all(&self) -> impl Iterator<Item = &ResourceType> {
        self.types.values()
    }

    /// The type for an object's apiVersion + kind.
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<&ResourceType> {
        let (group, version) = split_api_version(api_version);
        self.types
            .values()
            .find(|t| t.group == group && t.version == version && t.kind == kind)
    }

    /// Versions of a group in preference order (as a CRD lists them; v1 first for built-ins).
    pub fn group_versions(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for t in self.types.values() {
            let v = out.entry(t.group.clone()).or_default();
            if !v.contains(&t.version) {
                v.push(t.version.clone());
            }
        }
        for versions in out.values_mut() {
            versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        }
        out
    }

    /// Replaces every type the CRD named `crd` serves.
    pub fn set_crd_types(&mut self, crd: &str, types: Vec<ResourceType>) {
        self.types.retain(|_, t| t.crd.as_deref() != Some(crd));
        for t in types {
            let key = (t.group.clone(), t.version.clone(), t.plural.clone());
            // A CRD never shadows a built-in.
            if self.types.get(&key).is_some_and(|old| old.crd.is_none()) {
                continue;
            }
            self.types.insert(key, t);
        }
    }

    pub fn remove_crd(&mut self, crd: &str) {
        self.types.retain(|_, t| t.crd.as_deref() != Some(crd));
    }
}

pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

/// Kubernetes version ordering: GA > beta > alpha, higher numbers first.
pub fn version_priority(v: &str) -> (u8, u32, u32) {
    let Some(rest) = v.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let Ok(major) = digits.parse::<u32>() else {
        return (0, 0, 0);
    };
    let tail = &rest[digits.len()..];
    if tail.is_empty() {
        return (3, major, 0);
    }
    let (level, num) = if let Some(n) = tail.strip_prefix("beta") {
        (2, n)
    } else if let Some(n) = tail.strip_prefix("alpha") {
        (1, n)
    } else {
        return (0, 0, 0);
    };
    match num.parse::<u32>() {
        Ok(n) => (level, major, n),
        Err(_) => (0, 0, 0),
    }
}
