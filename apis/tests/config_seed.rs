//! The deployment guide in the seed: each YAML block (with the Secrets the guide creates) is a
//! valid configuration; references to other blocks are pending; all blocks together report
//! exactly the pool overlaps between blocks; the guide's Services are judged by MetalLB's rules.

use std::collections::BTreeSet;
use std::path::PathBuf;

use k8s_openapi::api::core::v1::Service;
use lodestone_apis::config::{
    Config, ConfigError, Family, Labels, Missing, Pending, PoolRefusal, Reason, Resources,
    ServiceFacts, load_str,
};
use serde::Deserialize;

fn seed_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/seed")
}

fn load(files: &[&str]) -> Resources {
    let mut r = Resources::default();
    for f in files {
        let path = seed_dir().join(f);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        match load_str(f, &text, &mut r) {
            Ok(warnings) => assert!(warnings.is_empty(), "{f}: unexpected warnings {warnings:?}"),
            Err(e) => panic!("{f}: {e}"),
        }
    }
    r
}

fn valid(files: &[&str]) -> (Config, Vec<Pending>) {
    match Config::from_resources(&load(files)) {
        Ok(c) => c,
        Err(e) => panic!("{files:?} should be valid: {e}"),
    }
}

fn missing(pending: &[Pending]) -> BTreeSet<String> {
    pending
        .iter()
        .map(|p| format!("{} {} -> {:?}", p.object.name, p.field, p.missing))
        .collect()
}

const SECRETS: &str = "00-secrets.yaml";

#[test]
fn block_layer2_pool() {
    let (c, pending) = valid(&["01-layer2-pool.yaml", SECRETS]);
    assert!(pending.is_empty(), "{pending:?}");
    let p = &c.pools["layer2-pool"];
    assert_eq!(p.address_count(Family::V4), 51);
    assert!(p.avoid_buggy_ips && p.auto_assign);
    let l2 = &c.l2_advertisements[0];
    assert_eq!(l2.pools, ["layer2-pool"]);
    let linux: Labels = [("kubernetes.io/os".to_string(), "linux".to_string())].into();
    assert!(l2.selects_node(&linux) && !l2.selects_node(&Labels::new()));
}

#[test]
fn block_bgp_pool_refers_to_other_blocks() {
    let (c, pending) = valid(&["02-bgp-pool.yaml", SECRETS]);
    assert_eq!(
        missing(&pending),
        BTreeSet::from([
            format!(
                "router-1 spec.passwordSecret -> {:?}",
                Missing::Secret {
                    namespace: "metallb-system".into(),
                    name: "bgp-auth".into()
                }
            ),
            format!(
                "router-1 spec.bfdProfile -> {:?}",
                Missing::BfdProfile("default-bfd".into())
            ),
        ])
    );
    let peer = &c.peers["router-1"];
    assert_eq!(peer.timers.hold.as_secs(), 90);
    assert_eq!(peer.timers.keepalive.as_secs(), 30);
    assert_eq!(peer.router_id, Some([10, 0, 2, 10].into()));
    let adv = &c.bgp_advertisements[0];
    assert_eq!(adv.pools, ["bgp-pool-production"]);
    assert_eq!(adv.peers, ["router-1"]);
    assert_eq!(adv.local_pref, 100);
    assert_eq!(c.pools["bgp-pool-production"].address_count(Family::V4), 24);
}

#[test]
fn block_advanced_bgp_with_the_guides_secrets() {
    let (c, pending) = valid(&["03-advanced-bgp.yaml", SECRETS]);
    assert!(pending.is_empty(), "{pending:?}");
    assert_eq!(
        c.peers["core-router-primary"].password.value(),
        Some("secure-bgp-password-primary")
    );
    assert_eq!(
        c.peers["core-router-secondary"].password.value(),
        Some("secure-bgp-password-secondary")
    );
    assert_eq!(c.peers["core-router-primary"].timers.hold.as_secs(), 180);
    let bfd = &c.bfd_profiles["default-bfd"];
    assert!(bfd.echo_mode);
    assert_eq!(bfd.minimum_ttl, 254);
    assert_eq!(bfd.receive_interval.as_millis(), 150);
    assert_eq!(c.communities.len(), 3);
}

#[test]
fn block_advanced_bgp_without_secrets_is_pending() {
    let (_, pending) = valid(&["03-advanced-bgp.yaml"]);
    let names: BTreeSet<String> = pending
        .iter()
        .filter_map(|p| match &p.missing {
            Missing::Secret { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["bgp-auth-primary".into(), "bgp-auth-secondary".into()])
    );
}

#[test]
fn block_multi_zone() {
    let (c, pending) = valid(&["04-multi-zone.yaml", SECRETS]);
    assert!(pending.is_empty(), "{pending:?}");
    assert_eq!(c.pools["zone-a-pool"].priority(), 100);
    assert_eq!(c.pools["zone-b-pool"].priority(), 90);
    let l2 = &c.l2_advertisements[0];
    assert_eq!(l2.pools, ["zone-a-pool", "zone-b-pool"]);
    assert_eq!(l2.interfaces, ["eth0", "ens192"]);
    let zone_c: Labels = [("topology.kubernetes.io/zone".to_string(), "zone-c".into())].into();
    let zone_b: Labels = [("topology.kubernetes.io/zone".to_string(), "zone-b".into())].into();
    assert!(l2.selects_node(&zone_b) && !l2.selects_node(&zone_c));
}

#[test]
fn block_loadbalancer_classes() {
    let (c, pending) = valid(&["05-loadbalancer-classes.yaml", SECRETS]);
    assert!(pending.is_empty(), "{pending:?}");
    assert_eq!(c.pools.len(), 2);
    assert_eq!(c.pools["external-pool"].address_count(Family::V4), 31);
}

#[test]
fn all_blocks_together_report_exactly_the_overlaps() {
    let files = [
        SECRETS,
        "01-layer2-pool.yaml",
        "02-bgp-pool.yaml",
        "03-advanced-bgp.yaml",
        "04-multi-zone.yaml",
        "05-loadbalancer-classes.yaml",
    ];
    let err: ConfigError = match Config::from_resources(&load(&files)) {
        Ok(_) => panic!("the blocks overlap"),
        Err(e) => e,
    };
    let got: BTreeSet<(String, String, String, String)> = err
        .problems
        .iter()
        .map(|p| match &p.reason {
            Reason::AddressOverlap {
                addresses,
                other_pool,
                ..
            } => (
                p.object.name.clone(),
                p.field.clone(),
                addresses.clone(),
                other_pool.clone(),
            ),
            other => panic!("unexpected problem {p}: {other:?}"),
        })
        .collect();
    let row = |a: &str, addr: &str, b: &str| {
        (
            a.to_string(),
            "spec.addresses[0]".to_string(),
            addr.to_string(),
            b.to_string(),
        )
    };
    let want = BTreeSet::from([
        row("zone-a-pool", "10.0.3.100-10.0.3.120", "layer2-pool"),
        row("zone-b-pool", "10.0.3.130-10.0.3.150", "layer2-pool"),
        row("internal-pool", "10.0.3.100-10.0.3.130", "layer2-pool"),
        row("internal-pool", "10.0.3.100-10.0.3.130", "zone-a-pool"),
        row("internal-pool", "10.0.3.100-10.0.3.130", "zone-b-pool"),
    ]);
    assert_eq!(got, want);
    assert_eq!(err.problems.len(), 5);
    // The Secret router-1 names is never created by the guide.
    assert!(
        err.pending
            .iter()
            .any(|p| matches!(&p.missing, Missing::Secret { name, .. } if name == "bgp-auth"))
    );
}

/// The guide's Services, judged against block 05 (where internal-pool and external-pool live).
#[test]
fn guide_services_against_pool_rules() {
    let (config, _) = valid(&["05-loadbalancer-classes.yaml"]);
    let mut services: Vec<Service> = Vec::new();
    for f in [
        "05-loadbalancer-classes.yaml",
        "services/06-multi-tier-services.yaml",
        "services/07-database-services.yaml",
    ] {
        let text = std::fs::read_to_string(seed_dir().join(f)).unwrap_or_default();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let v = serde_yaml::Value::deserialize(doc).unwrap_or_default();
            if v.get("kind").and_then(|k| k.as_str()) == Some("Service") {
                match serde_yaml::from_value::<Service>(v) {
                    Ok(s) => services.push(s),
                    Err(e) => panic!("{f}: {e}"),
                }
            }
        }
    }
    let no_labels = Labels::new();
    let mut verdicts = Vec::new();
    for svc in &services {
        let name = svc.metadata.name.clone().unwrap_or_default();
        let ns = svc.metadata.namespace.clone().unwrap_or("default".into());
        let labels = svc.metadata.labels.clone().unwrap_or_default();
        let wanted = svc
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("metallb.io/address-pool"))
            .cloned()
            .unwrap_or_default();
        let pool = &config.pools[&wanted];
        let verdict = pool.admits(ServiceFacts {
            namespace: &ns,
            namespace_labels: &no_labels,
            labels: &labels,
        });
        verdicts.push((name, verdict.map_err(|e| std::mem::discriminant(&e))));
    }
    let refused = std::mem::discriminant(&PoolRefusal::ServiceLabels {
        pool: String::new(),
        selectors: String::new(),
    });
    let want = vec![
        ("internal-app".to_string(), Ok(())),
        ("web-frontend-lb".to_string(), Ok(())),
        ("api-gateway-lb".to_string(), Ok(())),
        ("postgresql-primary-lb".to_string(), Err(refused)),
        ("postgresql-readonly-lb".to_string(), Err(refused)),
    ];
    assert_eq!(verdicts, want);
    // The explanation the CCM puts in its event.
    let pg = config.pools["internal-pool"].admits(ServiceFacts {
        namespace: "default",
        namespace_labels: &no_labels,
        labels: &no_labels,
    });
    assert_eq!(
        pg.map_err(|e| e.to_string()),
        Err("pool internal-pool serves only services whose labels match one of [metallb.io/class=internal]".to_string())
    );
}

/// What the guide's blocks mean at run time, beyond validity (the CCM and speaker report these).
#[test]
fn guide_findings_the_controllers_report() {
    let files = [
        SECRETS,
        "02-bgp-pool.yaml",
        "03-advanced-bgp.yaml",
        "05-loadbalancer-classes.yaml",
    ];
    let (c, _) = valid(&files);
    // internal-pool and external-pool are covered by no advertisement in any block.
    assert!(!c.is_announced("internal-pool"));
    assert!(!c.is_announced("external-pool"));
    assert!(c.is_announced("bgp-pool-production"));
    // router-1 (every node) and core-router-primary both peer with 10.0.1.1.
    let primary: Labels = [("metallb.io/bgp-node".to_string(), "primary".to_string())].into();
    assert_eq!(
        c.duplicate_sessions(&primary),
        [("core-router-primary".to_string(), "router-1".to_string())]
    );
    let other = Labels::new();
    assert!(c.duplicate_sessions(&other).is_empty());
    assert_eq!(c.peers_for_node(&other).count(), 1);
}
