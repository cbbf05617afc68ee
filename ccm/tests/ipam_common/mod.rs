//! Helpers shared by the allocator tests: pool and request builders, and a step-table runner
//! in the style of MetalLB's `allocator_test.go`.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Subnets, Ipv6Subnets};
use lodestone_apis::config::{AddressBlock, Config, Pool, Selector, ServiceAllocation};
use lodestone_ccm::ipam::{
    Allocator, Change, Family, FamilyPolicy, Labels, Port, ServiceKey, ServiceRequest,
};

/// Parses `a.b.c.d/n` or `first-last` into an address block.
pub fn block(spec: &str) -> AddressBlock {
    let cidrs: Vec<IpNet> = match spec.split_once('-') {
        Some((a, b)) => match (a.trim().parse::<IpAddr>(), b.trim().parse::<IpAddr>()) {
            (Ok(IpAddr::V4(a)), Ok(IpAddr::V4(b))) => {
                Ipv4Subnets::new(a, b, 0).map(IpNet::V4).collect()
            }
            (Ok(IpAddr::V6(a)), Ok(IpAddr::V6(b))) => {
                Ipv6Subnets::new(a, b, 0).map(IpNet::V6).collect()
            }
            _ => panic!("bad range {spec}"),
        },
        None => vec![spec.parse().expect("cidr")],
    };
    AddressBlock {
        spec: spec.to_string(),
        cidrs,
    }
}

/// A pool with autoAssign true, no avoidBuggyIPs, no serviceAllocation.
pub fn pool(name: &str, specs: &[&str]) -> Pool {
    Pool {
        name: name.to_string(),
        namespace: "metallb-system".to_string(),
        labels: Labels::new(),
        blocks: specs.iter().map(|s| block(s)).collect(),
        avoid_buggy_ips: false,
        auto_assign: true,
        service_allocation: None,
    }
}

/// Builder methods on pools.
pub trait PoolExt {
    fn manual(self) -> Self;
    fn avoid_buggy(self) -> Self;
    fn allocation(self, sa: ServiceAllocation) -> Self;
}

impl PoolExt for Pool {
    fn manual(mut self) -> Self {
        self.auto_assign = false;
        self
    }
    fn avoid_buggy(mut self) -> Self {
        self.avoid_buggy_ips = true;
        self
    }
    fn allocation(mut self, sa: ServiceAllocation) -> Self {
        self.service_allocation = Some(sa);
        self
    }
}

/// A selector with `matchLabels` only.
pub fn selector(pairs: &[(&str, &str)]) -> Selector {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
    Selector::from_label_selector(&LabelSelector {
        match_labels: Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        match_expressions: None,
    })
    .expect("selector")
}

/// `serviceAllocation` builder.
pub fn sa(
    priority: i32,
    namespaces: &[&str],
    namespace_selectors: Vec<Selector>,
    service_selectors: Vec<Selector>,
) -> ServiceAllocation {
    ServiceAllocation {
        priority,
        namespaces: namespaces.iter().map(|s| s.to_string()).collect(),
        namespace_selectors,
        service_selectors,
    }
}

pub fn config(pools: Vec<Pool>) -> Config {
    Config {
        pools: pools.into_iter().map(|p| (p.name.clone(), p)).collect(),
        ..Config::default()
    }
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

pub fn key(s: &str) -> ServiceKey {
    match s.split_once('/') {
        Some((ns, name)) => ServiceKey::new(ns, name),
        None => ServiceKey::new("default", s),
    }
}

/// A request builder: `svc("ns/name")` is a single-stack IPv4 Service.
#[derive(Clone, Debug)]
pub struct Svc(pub ServiceRequest);

pub fn svc(name: &str) -> Svc {
    Svc(ServiceRequest::new(key(name), Family::V4))
}

impl Svc {
    pub fn v6(mut self) -> Self {
        self.0.families = vec![Family::V6];
        self
    }
    pub fn families(mut self, f: &[Family]) -> Self {
        self.0.families = f.to_vec();
        self
    }
    pub fn policy(mut self, p: FamilyPolicy) -> Self {
        self.0.policy = p;
        self
    }
    pub fn dual(self, p: FamilyPolicy) -> Self {
        self.families(&[Family::V4, Family::V6]).policy(p)
    }
    pub fn ips(mut self, ips: &[&str]) -> Self {
        self.0.requested_ips = ips.iter().map(|s| ip(s)).collect();
        self
    }
    pub fn pool(mut self, p: &str) -> Self {
        self.0.requested_pool = Some(p.to_string());
        self
    }
    pub fn share(mut self, k: &str) -> Self {
        self.0.sharing_key = k.to_string();
        self
    }
    pub fn backend(mut self, k: &str) -> Self {
        self.0.backend_key = k.to_string();
        self
    }
    pub fn ports(mut self, ports: &[Port]) -> Self {
        self.0.ports = ports.to_vec();
        self
    }
    pub fn labels(mut self, l: &[(&str, &str)]) -> Self {
        self.0.labels = l
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self
    }
    pub fn ns_labels(mut self, l: &[(&str, &str)]) -> Self {
        self.0.namespace_labels = l
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self
    }
}

/// What an assign step must produce.
#[derive(Clone, Debug, Default)]
pub struct Want {
    /// Expected addresses (IPv4 first); `None` = the step must fail.
    pub ips: Option<Vec<IpAddr>>,
    pub pool: Option<String>,
    /// Expected `metric_label()` of the error.
    pub err: Option<&'static str>,
    /// Substring of the error message.
    pub msg: Option<&'static str>,
    /// Expected `metric_label()` of the clear reason (`None`: nothing cleared).
    pub cleared: Option<&'static str>,
    pub change: Option<Change>,
}

pub fn ok(ips: &[&str]) -> Want {
    Want {
        ips: Some(ips.iter().map(|s| ip(s)).collect()),
        ..Want::default()
    }
}

pub fn fail(label: &'static str) -> Want {
    Want {
        err: Some(label),
        ..Want::default()
    }
}

impl Want {
    pub fn from(mut self, pool: &str) -> Self {
        self.pool = Some(pool.to_string());
        self
    }
    pub fn msg(mut self, m: &'static str) -> Self {
        self.msg = Some(m);
        self
    }
    pub fn cleared(mut self, reason: &'static str) -> Self {
        self.cleared = Some(reason);
        self
    }
    pub fn change(mut self, c: Change) -> Self {
        self.change = Some(c);
        self
    }
}

/// One step of a table.
pub enum Step {
    Assign(&'static str, Svc, Want),
    Release(&'static str, &'static str, bool),
    /// Restore (rebuild from status): description, request, addresses, expected error label.
    Restore(&'static str, Svc, Vec<&'static str>, Option<&'static str>),
    /// Load a configuration; the Services whose allocations it drops.
    Reload(&'static str, Config, Vec<&'static str>),
    /// Load a configuration that must be refused.
    BadReload(&'static str, Config),
    /// Pool counters: (in use v4, total v4, in use v6, total v6).
    Counters(&'static str, &'static str, (i64, i64, i64, i64)),
    Holders(&'static str, &'static str, Vec<&'static str>),
}

/// Runs the steps against one allocator, checking the invariants after each.
pub fn run(alloc: &mut Allocator, steps: Vec<Step>) -> usize {
    let n = steps.len();
    for (i, step) in steps.into_iter().enumerate() {
        match step {
            Step::Assign(desc, req, want) => {
                let out = alloc.assign(&req.0);
                let ctx = format!("step {i} ({desc}): {out:?}");
                match (&want.ips, &out.result) {
                    (Some(ips), Ok(a)) => {
                        assert_eq!(&a.allocation.ips, ips, "{ctx}");
                        if let Some(p) = &want.pool {
                            assert_eq!(&a.allocation.pool, p, "{ctx}");
                        }
                        if let Some(c) = &want.change {
                            assert_eq!(&a.change, c, "{ctx}");
                        }
                        assert_eq!(alloc.allocation(&req.0.key), Some(&a.allocation), "{ctx}");
                    }
                    (None, Err(e)) => {
                        if let Some(label) = want.err {
                            assert_eq!(e.metric_label(), label, "{ctx}");
                        }
                        if let Some(m) = want.msg {
                            assert!(e.to_string().contains(m), "{ctx}: message {e}");
                        }
                    }
                    _ => panic!("{ctx}: wanted {want:?}"),
                }
                let cleared = out.cleared.as_ref().map(|c| c.reason.metric_label());
                assert_eq!(cleared, want.cleared, "{ctx}: cleared");
            }
            Step::Release(desc, name, held) => {
                assert_eq!(
                    alloc.release(&key(name)).is_some(),
                    held,
                    "step {i} ({desc})"
                );
                assert_eq!(alloc.allocation(&key(name)), None, "step {i} ({desc})");
            }
            Step::Restore(desc, req, ips, want) => {
                let ips: Vec<IpAddr> = ips.iter().map(|s| ip(s)).collect();
                let got = alloc.restore(&req.0, &ips);
                match (want, &got) {
                    (None, Ok(a)) => {
                        let mut sorted = ips.clone();
                        sorted.sort_by_key(|ip| ip.is_ipv6());
                        assert_eq!(a.ips, sorted, "step {i} ({desc})");
                    }
                    (Some(label), Err(e)) => {
                        assert_eq!(e.metric_label(), label, "step {i} ({desc})")
                    }
                    _ => panic!("step {i} ({desc}): got {got:?}, wanted {want:?}"),
                }
            }
            Step::Reload(desc, cfg, dropped) => {
                let got = alloc.set_config(&cfg).expect("config loads");
                let got: BTreeSet<String> = got.iter().map(|d| d.service.to_string()).collect();
                let want: BTreeSet<String> = dropped.iter().map(|s| key(s).to_string()).collect();
                assert_eq!(got, want, "step {i} ({desc})");
            }
            Step::BadReload(desc, cfg) => {
                let before = format!("{:?}", alloc.counters_all());
                assert!(alloc.set_config(&cfg).is_err(), "step {i} ({desc})");
                assert_eq!(
                    format!("{:?}", alloc.counters_all()),
                    before,
                    "step {i} ({desc})"
                );
            }
            Step::Counters(desc, pool, (u4, t4, u6, t6)) => {
                let c = alloc.counters(pool).expect("pool exists");
                assert_eq!(
                    (c.in_use_v4, c.total_v4, c.in_use_v6, c.total_v6),
                    (u4, t4, u6, t6),
                    "step {i} ({desc})"
                );
                assert_eq!(c.in_use, u4 + u6, "step {i} ({desc})");
                assert_eq!(c.available_v4(), t4 - u4, "step {i} ({desc})");
            }
            Step::Holders(desc, addr, names) => {
                let want: Vec<ServiceKey> = names.iter().map(|s| key(s)).collect();
                let mut want = want;
                want.sort();
                assert_eq!(alloc.holders(ip(addr)), want, "step {i} ({desc})");
            }
        }
        if let Err(e) = alloc.check_invariants() {
            panic!("step {i}: invariant broken: {e}");
        }
    }
    n
}

/// Counters of every pool, for "unchanged" checks.
pub trait CountersAll {
    fn counters_all(&self) -> BTreeMap<String, (i64, i64, i64, i64)>;
}

impl CountersAll for Allocator {
    fn counters_all(&self) -> BTreeMap<String, (i64, i64, i64, i64)> {
        self.pool_names()
            .filter_map(|p| {
                let c = self.counters(p)?;
                Some((
                    p.to_string(),
                    (c.in_use_v4, c.total_v4, c.in_use_v6, c.total_v6),
                ))
            })
            .collect()
    }
}
