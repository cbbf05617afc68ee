//! Property test: random assign / release / reload sequences never hand one address to two
//! Services unless they are compatible sharers, counters always match the allocations, and an
//! unshared automatic allocation is always the lowest address nobody holds.

mod ipam_common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use ipam_common::*;
use lodestone_apis::config::Config;
use lodestone_ccm::ipam::{Allocator, FamilyPolicy, Port, ServiceKey, ServiceRequest, is_buggy};
use proptest::prelude::*;

fn configs() -> Vec<Config> {
    vec![
        config(vec![
            pool("a", &["192.0.2.0/29", "2001:db8::/126"]),
            pool("b", &["192.0.2.254-192.0.3.2"]).avoid_buggy(),
            pool("c", &["198.51.100.0/30"]).manual(),
        ]),
        // Shrunk and renamed: forces drops and re-mapping.
        config(vec![
            pool("a2", &["192.0.2.0/30", "2001:db8::/127"]),
            pool("b", &["192.0.2.254-192.0.3.2"]),
            pool("c", &["198.51.100.0/30"]).manual(),
        ]),
    ]
}

#[derive(Debug, Clone)]
enum Op {
    Assign(Box<ServiceRequest>),
    Release(u8),
    Reload(usize),
}

fn request() -> impl Strategy<Value = ServiceRequest> {
    let ports =
        prop::sample::subsequence(vec![Port::tcp(80), Port::udp(80), Port::tcp(443)], 0..=2);
    let requested = prop::sample::select(vec![
        None,
        Some("192.0.2.1"),
        Some("192.0.2.255"),
        Some("192.0.3.1"),
        Some("198.51.100.2"),
        Some("2001:db8::2"),
    ]);
    (
        0u8..10,
        0u8..4,
        prop::sample::select(vec!["", "", "k1", "k2"]),
        ports,
        prop::sample::select(vec!["", "", "sel=x"]),
        prop::sample::select(vec![None, None, Some("a"), Some("b"), Some("c")]),
        requested,
    )
        .prop_map(|(id, fam, share, ports, backend, pool, requested)| {
            let mut s = svc(&format!("s{id}"));
            s = match fam {
                0 => s,
                1 => s.v6(),
                2 => s.dual(FamilyPolicy::PreferDualStack),
                _ => s.dual(FamilyPolicy::RequireDualStack),
            };
            s = s.share(share).backend(backend).ports(&ports);
            if let Some(p) = pool {
                s = s.pool(p);
            }
            if let Some(r) = requested {
                let family_ok = (fam == 1) == r.contains(':') && fam < 2;
                if family_ok {
                    s = s.ips(&[r]);
                }
            }
            s.0
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => request().prop_map(|r| Op::Assign(Box::new(r))),
        3 => (0u8..10).prop_map(Op::Release),
        1 => (0usize..2).prop_map(Op::Reload),
    ]
}

/// Checks the allocator against the requests that produced its allocations.
fn check(alloc: &Allocator, last: &HashMap<ServiceKey, ServiceRequest>, cfg: &Config) {
    alloc.check_invariants().unwrap();
    let mut by_ip: BTreeMap<IpAddr, Vec<&ServiceKey>> = BTreeMap::new();
    for key in last.keys() {
        if let Some(a) = alloc.allocation(key) {
            for ip in &a.ips {
                by_ip.entry(*ip).or_default().push(key);
            }
            assert!(
                cfg.pools[&a.pool].contains(a.ips[0]),
                "{key} outside {}",
                a.pool
            );
        }
    }
    for (ip, holders) in &by_ip {
        assert!(
            !(cfg
                .pools
                .values()
                .any(|p| p.avoid_buggy_ips && p.contains(*ip))
                && is_buggy(*ip))
        );
        if holders.len() > 1 {
            let reqs: Vec<&ServiceRequest> = holders.iter().map(|k| &last[*k]).collect();
            let first = reqs[0];
            let mut ports = BTreeSet::new();
            for r in &reqs {
                assert!(
                    !r.sharing_key.is_empty(),
                    "{ip} shared without key: {holders:?}"
                );
                assert_eq!(r.sharing_key, first.sharing_key, "{ip}: keys differ");
                assert_eq!(r.backend_key, first.backend_key, "{ip}: backends differ");
                for p in r.ports.iter().collect::<BTreeSet<_>>() {
                    assert!(ports.insert(p.clone()), "{ip}: port {p} twice");
                }
            }
        }
    }
    for name in cfg.pools.keys() {
        let c = alloc.counters(name).unwrap();
        let held: BTreeSet<&IpAddr> = by_ip
            .keys()
            .filter(|ip| alloc.pool_for_ip(**ip) == Some(name.as_str()))
            .collect();
        let v4 = held.iter().filter(|ip| ip.is_ipv4()).count() as i64;
        assert_eq!(
            (c.in_use_v4, c.in_use_v6),
            (v4, held.len() as i64 - v4),
            "{name}"
        );
        assert!(c.in_use_v4 <= c.total_v4 && c.in_use_v6 <= c.total_v6);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_keep_addresses_unique(ops in prop::collection::vec(op(), 1..60)) {
        let cfgs = configs();
        let mut cfg = cfgs[0].clone();
        let mut alloc = Allocator::with_config(&cfg).unwrap();
        let mut last: HashMap<ServiceKey, ServiceRequest> = HashMap::new();
        for op in ops {
            match op {
                Op::Assign(req) => {
                    let before: BTreeSet<IpAddr> = last
                        .keys()
                        .filter(|k| **k != req.key)
                        .filter_map(|k| alloc.allocation(k))
                        .flat_map(|a| a.ips.clone())
                        .collect();
                    let fresh = alloc.allocation(&req.key).is_none();
                    let out = alloc.assign(&req);
                    last.insert(req.key.clone(), (*req).clone());
                    if let Ok(a) = &out.result {
                        let plain = fresh
                            && req.sharing_key.is_empty()
                            && req.requested_ips.is_empty()
                            && req.families.len() == 1;
                        if plain {
                            // The lowest usable address of the pool that nobody else holds.
                            let p = &cfg.pools[&a.allocation.pool];
                            let lowest = p
                                .cidrs()
                                .flat_map(|n| n.hosts_all())
                                .filter(|ip| ip.is_ipv4() == a.allocation.ips[0].is_ipv4())
                                .filter(|ip| !p.is_buggy(*ip) && !before.contains(ip))
                                .min();
                            prop_assert_eq!(Some(a.allocation.ips[0]), lowest);
                        }
                    }
                }
                Op::Release(id) => {
                    alloc.release(&key(&format!("s{id}")));
                }
                Op::Reload(i) => {
                    cfg = cfgs[i].clone();
                    for d in alloc.set_config(&cfg).unwrap() {
                        prop_assert!(alloc.allocation(&d.service).is_none());
                        prop_assert!(d.allocation.ips.iter().any(|ip| cfg.pool_for_ip(*ip).is_none_or(|p| p.is_buggy(*ip)) )
                            || d.allocation.ips.iter().map(|ip| cfg.pool_for_ip(*ip).map(|p| p.name.clone())).collect::<BTreeSet<_>>().len() > 1);
                    }
                }
            }
            check(&alloc, &last, &cfg);
        }
    }
}

/// `IpNet::hosts()` skips network/broadcast for IPv4; the allocator does not (MetalLB hands
/// out every address of a CIDR).
trait AllHosts {
    fn hosts_all(&self) -> Vec<IpAddr>;
}

impl AllHosts for ipnet::IpNet {
    fn hosts_all(&self) -> Vec<IpAddr> {
        match self {
            ipnet::IpNet::V4(n) => {
                let (a, b) = (u32::from(n.network()), u32::from(n.broadcast()));
                (a..=b).map(|v| IpAddr::V4(v.into())).collect()
            }
            ipnet::IpNet::V6(n) => {
                let (a, b) = (u128::from(n.network()), u128::from(n.broadcast()));
                (a..=b).map(|v| IpAddr::V6(v.into())).collect()
            }
        }
    }
}
