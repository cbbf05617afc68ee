//! The CRD YAML checked in under `manifests/crds/` is exactly what the generator produces,
//! and `kubectl kustomize manifests/crds` renders it.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use serde::Deserialize;

fn crds_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../manifests/crds")
}

const REGENERATE: &str = "run hack/gen-crds.sh to regenerate manifests/crds/ and commit the result";

#[test]
fn checked_in_manifests_equal_the_generator_output() {
    let dir = crds_dir();
    let files = lodestone_apis::crdgen::manifest_files().expect("generating CRDs");
    let mut stale = Vec::new();
    for (name, expected) in &files {
        let path = dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(actual) if actual == *expected => {}
            Ok(_) => stale.push(format!("{name}: differs from the generator output")),
            Err(e) => stale.push(format!("{name}: cannot read ({e})")),
        }
    }
    let generated: BTreeSet<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for entry in std::fs::read_dir(&dir)
        .expect("reading manifests/crds")
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".yaml") && !generated.contains(name.as_str()) {
            stale.push(format!("{name}: not produced by the generator"));
        }
    }
    assert!(
        stale.is_empty(),
        "manifests/crds is stale ({REGENERATE}):\n{}",
        stale.join("\n")
    );
}

#[test]
fn one_file_per_crd_named_like_metallb() {
    let files = lodestone_apis::crdgen::manifest_files().expect("generating CRDs");
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "metallb.io_bfdprofiles.yaml",
            "metallb.io_bgpadvertisements.yaml",
            "metallb.io_bgppeers.yaml",
            "metallb.io_communities.yaml",
            "metallb.io_configurationstates.yaml",
            "metallb.io_ipaddresspools.yaml",
            "metallb.io_l2advertisements.yaml",
            "metallb.io_servicebgpstatuses.yaml",
            "metallb.io_servicel2statuses.yaml",
            "kustomization.yaml",
        ]
    );
}

#[derive(Deserialize)]
struct Rendered {
    kind: String,
    metadata: RenderedMeta,
}

#[derive(Deserialize)]
struct RenderedMeta {
    name: String,
}

/// kubectl is part of the test toolchain in CI (LODESTONE_NETLAB=1); elsewhere the test
/// skips when it is missing.
#[test]
fn kubectl_kustomize_renders_every_crd() {
    let dir = crds_dir();
    let output = match Command::new("kubectl").arg("kustomize").arg(&dir).output() {
        Ok(output) => output,
        Err(e) if std::env::var_os("LODESTONE_NETLAB").is_none() => {
            eprintln!("skipped: kubectl not runnable ({e}); set LODESTONE_NETLAB=1 to require it");
            return;
        }
        Err(e) => panic!("LODESTONE_NETLAB=1 but kubectl cannot run: {e}"),
    };
    assert!(
        output.status.success(),
        "kubectl kustomize {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let mut names = BTreeSet::new();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let rendered = Rendered::deserialize(doc).expect("kustomize output is YAML");
        assert_eq!(rendered.kind, "CustomResourceDefinition");
        assert!(
            names.insert(rendered.metadata.name.clone()),
            "duplicate {}",
            rendered.metadata.name
        );
    }
    let expected: BTreeSet<String> = [
        "bfdprofiles",
        "bgpadvertisements",
        "bgppeers",
        "communities",
        "configurationstates",
        "ipaddresspools",
        "l2advertisements",
        "servicebgpstatuses",
        "servicel2statuses",
    ]
    .iter()
    .map(|p| format!("{p}.metallb.io"))
    .collect();
    assert_eq!(names, expected);
    // The rendering is the same CRDs, not just the same names.
    let ours: Vec<serde_json::Value> = lodestone_apis::crdgen::crds()
        .expect("generating CRDs")
        .iter()
        .map(|c| serde_json::to_value(c).expect("encode"))
        .collect();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let value = serde_json::Value::deserialize(doc).expect("yaml");
        let name = value.pointer("/metadata/name").cloned();
        let mine = ours
            .iter()
            .find(|c| c.pointer("/metadata/name").cloned() == name)
            .expect("known CRD");
        let mine_typed: k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition =
            serde_json::from_value(mine.clone()).expect("ours decode");
        let rendered_typed: k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition =
            serde_json::from_value(value).expect("rendered decode");
        assert_eq!(mine_typed, rendered_typed, "kustomize changed {name:?}");
    }
}

/// `Kind::crd()` from the derive carries the published schema (only the root `title`
/// schemars adds and the explicit `listKind` differ), so callers that use it directly see
/// MetalLB's schema too.
#[test]
fn derive_crd_carries_the_published_schema() {
    use kube::CustomResourceExt;
    use lodestone_apis::{v1beta1 as b1, v1beta2 as b2};
    let published = lodestone_apis::crdgen::crds().expect("generating CRDs");
    let schema_of = |name: &str, version: &str| {
        let crd = published
            .iter()
            .find(|c| c.metadata.name.as_deref() == Some(name))
            .expect("published CRD");
        let v = crd
            .spec
            .versions
            .iter()
            .find(|v| v.name == version)
            .expect("version");
        serde_json::to_value(&v.schema).expect("encode")
    };
    let derived = [
        (b1::BFDProfile::crd(), "v1beta1"),
        (b1::BGPAdvertisement::crd(), "v1beta1"),
        (b1::BGPPeer::crd(), "v1beta1"),
        (b2::BGPPeer::crd(), "v1beta2"),
        (b1::Community::crd(), "v1beta1"),
        (b1::IPAddressPool::crd(), "v1beta1"),
        (b1::L2Advertisement::crd(), "v1beta1"),
        (b1::ServiceBGPStatus::crd(), "v1beta1"),
        (b1::ServiceL2Status::crd(), "v1beta1"),
    ];
    for (crd, version) in derived {
        let name = crd.metadata.name.clone().unwrap_or_default();
        let mut schema = serde_json::to_value(&crd.spec.versions[0].schema).expect("encode");
        if let Some(root) = schema
            .pointer_mut("/openAPIV3Schema")
            .and_then(|r| r.as_object_mut())
        {
            root.remove("title");
        }
        assert_eq!(schema, schema_of(&name, version), "{name} {version}");
    }
}
