//! Stateful step tables against one allocator each (MetalLB `allocator_test.go` style):
//! assign, idempotent reassign, conflicts, release and reuse, explicit requests, sharing,
//! dual-stack, pool choice by serviceAllocation, avoidBuggyIPs, reloads and rebuilds.

mod ipam_common;

use Step::*;
use ipam_common::*;
use lodestone_ccm::ipam::{Allocator, Change, Family, FamilyPolicy, Port};

#[test]
fn requests_conflicts_release_and_reuse() {
    let cfg = config(vec![
        pool("a", &["192.0.2.0/30"]),
        pool("b", &["198.51.100.0/24"]).manual(),
        pool("c", &["203.0.113.0/24", "2001:db8:c::/120"]).avoid_buggy(),
    ]);
    let mut a = Allocator::with_config(&cfg).unwrap();
    let steps = vec![
        Assign(
            "first service gets the lowest address of the first auto pool",
            svc("s1"),
            ok(&["192.0.2.0"]).from("a").change(Change::New),
        ),
        Assign(
            "assign again is idempotent",
            svc("s1"),
            ok(&["192.0.2.0"]).from("a").change(Change::Unchanged),
        ),
        Assign(
            "second service gets the next address",
            svc("s2"),
            ok(&["192.0.2.1"]).from("a"),
        ),
        Assign(
            "requested IP held by another service without sharing",
            svc("s3").ips(&["192.0.2.1"]),
            fail("sharing_key_mismatch").msg("192.0.2.1 is shared with default/s2"),
        ),
        Assign(
            "requested IP in a pool with autoAssign false",
            svc("s3").ips(&["198.51.100.7"]),
            ok(&["198.51.100.7"]).from("b"),
        ),
        Assign(
            "requested pool with autoAssign false gives its lowest address",
            svc("s4").pool("b"),
            ok(&["198.51.100.0"]).from("b"),
        ),
        Assign(
            "unknown pool",
            svc("s5").pool("nope"),
            fail("unknown_pool").msg("pool nope does not exist"),
        ),
        Assign(
            ".0 of an avoidBuggyIPs pool is in no pool",
            svc("s5").ips(&["203.0.113.0"]),
            fail("ip_not_in_pool").msg("IP 203.0.113.0 is not in any pool"),
        ),
        Assign(
            ".255 of an avoidBuggyIPs pool is in no pool",
            svc("s5").ips(&["203.0.113.255"]),
            fail("ip_not_in_pool"),
        ),
        Assign(
            "an address outside every pool",
            svc("s5").ips(&["192.0.2.77"]),
            fail("ip_not_in_pool"),
        ),
        Assign(
            "requested IP and requested pool disagree",
            svc("s5").ips(&["203.0.113.1"]).pool("b"),
            fail("ip_not_in_requested_pool").msg("not in the requested pool b"),
        ),
        Assign(
            "requested IPs in two pools",
            svc("s5")
                .dual(FamilyPolicy::RequireDualStack)
                .ips(&["192.0.2.2", "2001:db8:c::1"]),
            fail("ips_in_different_pools"),
        ),
        Assign(
            "two requested IPs of one family",
            svc("s5").ips(&["192.0.2.2", "192.0.2.3"]),
            fail("invalid_request").msg("same family"),
        ),
        Assign(
            "three requested IPs",
            svc("s5").ips(&["192.0.2.2", "2001:db8:c::1", "203.0.113.9"]),
            fail("invalid_request"),
        ),
        Assign(
            "requested IPv6 for an IPv4 service",
            svc("s5").ips(&["2001:db8:c::5"]),
            fail("family_mismatch"),
        ),
        Assign(
            "IPv4 service gets the third address",
            svc("s5"),
            ok(&["192.0.2.2"]).from("a"),
        ),
        Assign("and the fourth", svc("s6"), ok(&["192.0.2.3"]).from("a")),
        Assign(
            "a full pool falls through to the next auto pool, skipping .0",
            svc("s7"),
            ok(&["203.0.113.1"]).from("c"),
        ),
        Counters("pool a is full", "a", (4, 4, 0, 0)),
        Release("release frees the address", "s2", true),
        Release("release twice is a no-op", "s2", false),
        Counters("pool a has one free address", "a", (3, 4, 0, 0)),
        Assign(
            "the freed address is the lowest free again",
            svc("s8"),
            ok(&["192.0.2.1"]).from("a"),
        ),
        Counters("avoidBuggyIPs counts 254 per /24", "c", (1, 254, 0, 256)),
        Assign(
            "IPv6 service from the only pool with IPv6",
            svc("s9").v6(),
            ok(&["2001:db8:c::"]).from("c"),
        ),
        Assign(
            "changing the requested pool clears and re-allocates",
            svc("s1").pool("b"),
            ok(&["198.51.100.1"]).from("b").cleared("different_pool"),
        ),
        Assign(
            "asking for a held IP clears the old one and fails",
            svc("s1").ips(&["198.51.100.7"]),
            fail("sharing_key_mismatch").cleared("different_ips"),
        ),
        Assign(
            "without a request it is served from the auto pools again",
            svc("s1"),
            ok(&["192.0.2.0"]).from("a").change(Change::New),
        ),
        Assign(
            "a request equal to the held IP keeps it",
            svc("s1").ips(&["192.0.2.0"]),
            ok(&["192.0.2.0"]).change(Change::Unchanged),
        ),
        Assign(
            "a service without cluster IP",
            svc("s10").families(&[]),
            fail("no_cluster_ip"),
        ),
    ];
    assert_eq!(run(&mut a, steps), 30);
}

#[test]
fn sharing() {
    let cfg = config(vec![pool("s", &["192.0.2.0/29"])]);
    let mut a = Allocator::with_config(&cfg).unwrap();
    let tcp = Port::tcp;
    let steps = vec![
        Assign(
            "first sharer",
            svc("x1").share("k").ports(&[tcp(80)]),
            ok(&["192.0.2.0"]),
        ),
        Assign(
            "same key, other port: packs onto the same address",
            svc("x2").share("k").ports(&[tcp(443)]),
            ok(&["192.0.2.0"]),
        ),
        Assign(
            "TCP and UDP on one port do not collide",
            svc("x3").share("k").ports(&[Port::udp(80)]),
            ok(&["192.0.2.0"]),
        ),
        Assign(
            "a port collision moves to the lowest free address",
            svc("x4").share("k").ports(&[tcp(80)]),
            ok(&["192.0.2.1"]),
        ),
        Assign(
            "explicit request with a port collision",
            svc("x5").share("k").ports(&[tcp(80)]).ips(&["192.0.2.0"]),
            fail("port_in_use").msg("port TCP/80 on IP 192.0.2.0 is already used by default/x1"),
        ),
        Assign(
            "explicit request with another key",
            svc("x5")
                .share("other")
                .ports(&[tcp(8080)])
                .ips(&["192.0.2.0"]),
            fail("sharing_key_mismatch").msg("whose key differs"),
        ),
        Assign(
            "explicit request without a key",
            svc("x5").ports(&[tcp(8080)]).ips(&["192.0.2.0"]),
            fail("sharing_key_mismatch"),
        ),
        Assign(
            "same key, different backends (Local policy)",
            svc("x5")
                .share("k")
                .backend("app=a")
                .ports(&[tcp(8080)])
                .ips(&["192.0.2.0"]),
            fail("backend_mismatch").msg("backends differ"),
        ),
        Assign(
            "same key, same backends, free port",
            svc("x6").share("k").ports(&[tcp(8080)]).ips(&["192.0.2.0"]),
            ok(&["192.0.2.0"]),
        ),
        Holders("four sharers", "192.0.2.0", vec!["x1", "x2", "x3", "x6"]),
        Counters("a shared address counts once", "s", (2, 8, 0, 0)),
        Assign(
            "the sole holder may change its key",
            svc("x4").share("solo").ports(&[tcp(80)]),
            ok(&["192.0.2.1"]).change(Change::Unchanged),
        ),
        Assign(
            "a new sharer of the changed key joins it",
            svc("x7").share("solo").ports(&[tcp(22)]),
            ok(&["192.0.2.1"]),
        ),
        Assign(
            "a holder that is not alone cannot change its key: cleared, re-allocated",
            svc("x7").share("k2").ports(&[tcp(22)]),
            ok(&["192.0.2.2"]).cleared("not_allowed"),
        ),
        Assign(
            "a port change that collides with a sharer clears",
            svc("x2").share("k").ports(&[tcp(80)]),
            ok(&["192.0.2.3"]).cleared("not_allowed"),
        ),
        Release("release one sharer", "x1", true),
        Holders("the others stay", "192.0.2.0", vec!["x3", "x6"]),
        Release("release", "x3", true),
        Release("release the last sharer", "x6", true),
        Holders("nobody", "192.0.2.0", vec![]),
        Assign(
            "the address is free for a service without key",
            svc("x8"),
            ok(&["192.0.2.0"]),
        ),
        Assign(
            "a keyed service cannot join it",
            svc("x9").share("k").ports(&[tcp(1)]),
            ok(&["192.0.2.3"]),
        ),
        Holders(
            "x9 packs with x2 (same key, no collision)",
            "192.0.2.3",
            vec!["x2", "x9"],
        ),
        Counters("in use", "s", (4, 8, 0, 0)),
    ];
    assert_eq!(run(&mut a, steps), 24);
}

#[test]
fn dual_stack() {
    let cfg = config(vec![
        pool("dual", &["192.0.2.0/31", "2001:db8::/127"]),
        pool("v4only", &["198.51.100.0/31"]),
        pool("v6only", &["2001:db8:6::/127"]),
    ]);
    let mut a = Allocator::with_config(&cfg).unwrap();
    let v6_first = [Family::V6, Family::V4];
    let steps = vec![
        Assign(
            "RequireDualStack takes both families from one pool",
            svc("d1").dual(FamilyPolicy::RequireDualStack),
            ok(&["192.0.2.0", "2001:db8::"]).from("dual"),
        ),
        Assign(
            "single-stack IPv6",
            svc("d2").v6(),
            ok(&["2001:db8::1"]).from("dual"),
        ),
        Assign(
            "RequireDualStack with no pool holding both free",
            svc("d3").dual(FamilyPolicy::RequireDualStack),
            fail("no_free_address").msg("IPv4 and IPv6"),
        ),
        Assign(
            "PreferDualStack falls back to the primary family",
            svc("d3").dual(FamilyPolicy::PreferDualStack),
            ok(&["192.0.2.1"]).from("dual"),
        ),
        Assign(
            "PreferDualStack, IPv6 primary: first pool with IPv6",
            svc("d4")
                .families(&v6_first)
                .policy(FamilyPolicy::PreferDualStack),
            ok(&["2001:db8:6::"]).from("v6only"),
        ),
        Assign(
            "RequireDualStack on single-stack cluster IPs",
            svc("d5").policy(FamilyPolicy::RequireDualStack),
            fail("not_dual_stack"),
        ),
        Release("free the IPv6 address of dual", "d2", true),
        Assign(
            "PreferDualStack gets the missing family from its pool",
            svc("d3").dual(FamilyPolicy::PreferDualStack),
            ok(&["192.0.2.1", "2001:db8::1"])
                .from("dual")
                .change(Change::AddedFamily(ip("2001:db8::1"))),
        ),
        Assign(
            "requested IPs of two pools",
            svc("d7")
                .dual(FamilyPolicy::RequireDualStack)
                .ips(&["198.51.100.1", "2001:db8:6::1"]),
            fail("ips_in_different_pools"),
        ),
        Assign(
            "requested IPv6 for an IPv4 service",
            svc("d7").ips(&["2001:db8:6::1"]),
            fail("family_mismatch"),
        ),
        Assign(
            "a dual-stack service must request both families",
            svc("d8")
                .dual(FamilyPolicy::PreferDualStack)
                .ips(&["198.51.100.1"]),
            fail("family_mismatch"),
        ),
        Assign(
            "requested IPv6 for an IPv6 service",
            svc("d8").v6().ips(&["2001:db8:6::1"]),
            ok(&["2001:db8:6::1"]).from("v6only"),
        ),
        Restore(
            "restoring an address of the wrong family",
            svc("d9"),
            vec!["2001:db8:6::1"],
            Some("family_mismatch"),
        ),
        Assign(
            "cluster IPs now single-stack: family changed, re-allocated",
            svc("d1"),
            ok(&["192.0.2.0"]).from("dual").cleared("family_changed"),
        ),
        Counters("dual: two IPv4, one IPv6 in use", "dual", (2, 2, 1, 2)),
        Assign(
            "PreferDualStack with nothing free in dual nor v6only: primary from v4only",
            svc("d10").dual(FamilyPolicy::PreferDualStack),
            ok(&["198.51.100.0"]).from("v4only"),
        ),
        Assign(
            "IPv6 takes the address d1 gave up",
            svc("d11").v6(),
            ok(&["2001:db8::"]).from("dual"),
        ),
        Assign(
            "single-stack IPv6 with IPv6 exhausted",
            svc("d13").v6(),
            fail("no_free_address"),
        ),
        Assign(
            "requested pool without the family",
            svc("d13").v6().pool("v4only"),
            fail("pool_not_allowed").msg("no V6 addresses"),
        ),
        Assign(
            "PreferDualStack from a requested single-family pool",
            svc("d13")
                .dual(FamilyPolicy::PreferDualStack)
                .pool("v4only"),
            ok(&["198.51.100.1"]).from("v4only"),
        ),
        Assign(
            "RequireDualStack from a requested single-family pool",
            svc("d12")
                .dual(FamilyPolicy::RequireDualStack)
                .pool("v4only"),
            fail("pool_not_allowed"),
        ),
    ];
    assert_eq!(run(&mut a, steps), 21);
}

#[test]
fn pool_choice_by_service_allocation() {
    let cfg = config(vec![
        pool("p-high", &["192.0.2.0/31"]).allocation(sa(10, &["team-a"], vec![], vec![])),
        pool("p-low", &["192.0.2.8/31"]).allocation(sa(
            20,
            &[],
            vec![selector(&[("env", "prod")])],
            vec![],
        )),
        pool("p-zero", &["192.0.2.16/31"]).allocation(sa(
            0,
            &[],
            vec![],
            vec![selector(&[("tier", "gold")])],
        )),
        pool("p-tie-b", &["192.0.2.32/31"]).allocation(sa(
            5,
            &[],
            vec![],
            vec![selector(&[("tie", "yes")])],
        )),
        pool("p-tie-a", &["192.0.2.24/31"]).allocation(sa(
            5,
            &[],
            vec![],
            vec![selector(&[("tie", "yes")])],
        )),
        pool("p-manual", &["192.0.2.40/31"]).manual().allocation(sa(
            1,
            &["team-a"],
            vec![],
            vec![],
        )),
        pool("z-default", &["198.51.100.0/30"]),
        pool("m-default", &["203.0.113.0/31"]),
    ]);
    let mut a = Allocator::with_config(&cfg).unwrap();
    let steps = vec![
        Assign(
            "namespace listed in the highest-priority pool",
            svc("team-a/s1"),
            ok(&["192.0.2.0"]).from("p-high"),
        ),
        Assign(
            "priority 10 beats 20 even when both admit",
            svc("team-a/s2").ns_labels(&[("env", "prod")]),
            ok(&["192.0.2.1"]).from("p-high"),
        ),
        Assign(
            "the higher-priority pool is full: next priority",
            svc("team-a/s3").ns_labels(&[("env", "prod")]),
            ok(&["192.0.2.8"]).from("p-low"),
        ),
        Assign(
            "no serviceAllocation matches: auto pools by name",
            svc("team-b/s1"),
            ok(&["203.0.113.0"]).from("m-default"),
        ),
        Assign(
            "service selector of a priority-0 pool",
            svc("team-b/s2").labels(&[("tier", "gold")]),
            ok(&["192.0.2.16"]).from("p-zero"),
        ),
        Assign(
            "equal priorities: the pool name breaks the tie",
            svc("team-b/s3").labels(&[("tie", "yes")]),
            ok(&["192.0.2.24"]).from("p-tie-a"),
        ),
        Assign(
            "priority 5 before priority 0",
            svc("team-b/s4").labels(&[("tie", "yes"), ("tier", "gold")]),
            ok(&["192.0.2.25"]).from("p-tie-a"),
        ),
        Assign(
            "tie winner full: the other one",
            svc("team-b/s5").labels(&[("tie", "yes")]),
            ok(&["192.0.2.32"]).from("p-tie-b"),
        ),
        Assign(
            "requested pool whose namespaces exclude the service",
            svc("team-b/s6").pool("p-high"),
            fail("pool_not_allowed").msg("serves only namespaces team-a"),
        ),
        Assign(
            "requested IP in a pool whose namespaces exclude the service",
            svc("team-b/s6").ips(&["192.0.2.41"]),
            fail("pool_not_allowed").msg("is not in any pool this service may use"),
        ),
        Assign(
            "requested IP in a manual pool that admits the namespace",
            svc("team-a/s7").ips(&["192.0.2.41"]),
            ok(&["192.0.2.41"]).from("p-manual"),
        ),
        Assign(
            "requested manual pool",
            svc("team-a/s8").pool("p-manual"),
            ok(&["192.0.2.40"]).from("p-manual"),
        ),
        Assign(
            "a manual pool is never chosen automatically",
            svc("team-a/s9"),
            ok(&["203.0.113.1"]).from("m-default"),
        ),
        Assign(
            "auto pools in name order",
            svc("team-a/s10"),
            ok(&["198.51.100.0"]).from("z-default"),
        ),
        Assign(
            "service selector not matched",
            svc("team-b/s7").labels(&[("tier", "silver")]),
            ok(&["198.51.100.1"]).from("z-default"),
        ),
        Assign(
            "namespace selected by labels",
            svc("team-c/s1").ns_labels(&[("env", "prod")]),
            ok(&["192.0.2.9"]).from("p-low"),
        ),
        Assign(
            "namespace selector pool full: fall back",
            svc("team-c/s2").ns_labels(&[("env", "prod")]),
            ok(&["198.51.100.2"]).from("z-default"),
        ),
        Assign(
            "last address",
            svc("team-c/s3"),
            ok(&["198.51.100.3"]).from("z-default"),
        ),
        Assign(
            "everything this service may use is full",
            svc("team-c/s4"),
            fail("no_free_address").msg("m-default, z-default"),
        ),
        Assign(
            "a pinned pool exhausted and the fallbacks too",
            svc("team-c/s5").ns_labels(&[("env", "prod")]),
            fail("no_free_address").msg("p-low"),
        ),
    ];
    assert_eq!(run(&mut a, steps), 20);

    let only_manual = config(vec![pool("m", &["192.0.2.0/24"]).manual()]);
    let mut b = Allocator::with_config(&only_manual).unwrap();
    let steps = vec![
        Assign(
            "no pool may serve automatically",
            svc("n1"),
            fail("no_eligible_pool"),
        ),
        Assign(
            "but the pool may be requested",
            svc("n1").pool("m"),
            ok(&["192.0.2.0"]).from("m"),
        ),
    ];
    assert_eq!(run(&mut b, steps), 2);

    let single = config(vec![pool("one", &["192.0.2.0/32"])]);
    let mut c = Allocator::with_config(&single).unwrap();
    let steps = vec![
        Assign("the only address", svc("o1"), ok(&["192.0.2.0"])),
        Assign(
            "one eligible pool, exhausted",
            svc("o2"),
            fail("pool_exhausted").msg("pool one is exhausted"),
        ),
        Assign(
            "requested pool exhausted",
            svc("o2").pool("one"),
            fail("pool_exhausted"),
        ),
    ];
    assert_eq!(run(&mut c, steps), 3);
}

#[test]
fn reload_and_rebuild() {
    let cfg = config(vec![
        pool("old", &["192.0.2.0/24"]),
        pool("keep", &["198.51.100.0/30"]).manual(),
    ]);
    let mut a = Allocator::with_config(&cfg).unwrap();
    let renamed = config(vec![
        pool("new", &["192.0.2.0/24"]).avoid_buggy(),
        pool("keep", &["198.51.100.2/31"]).manual(),
    ]);
    let restricted = config(vec![
        pool("new", &["192.0.2.0/24"])
            .avoid_buggy()
            .allocation(sa(0, &["other"], vec![], vec![])),
        pool("keep", &["198.51.100.2/31"]),
    ]);
    let overlapping = config(vec![
        pool("x", &["192.0.2.0/24"]),
        pool("y", &["192.0.2.128/25"]),
    ]);
    let steps = vec![
        Assign("r1", svc("r1"), ok(&["192.0.2.0"]).from("old")),
        Assign("r2", svc("r2"), ok(&["192.0.2.1"]).from("old")),
        Assign(
            "r3 asks for .255",
            svc("r3").ips(&["192.0.2.255"]),
            ok(&["192.0.2.255"]).from("old"),
        ),
        Assign(
            "r4 asks for .200",
            svc("r4").ips(&["192.0.2.200"]),
            ok(&["192.0.2.200"]).from("old"),
        ),
        Assign(
            "r5 asks for pool keep",
            svc("r5").pool("keep"),
            ok(&["198.51.100.0"]).from("keep"),
        ),
        Reload(
            "rename + avoidBuggyIPs + shrink drops .0, .255 and the shrunk part",
            renamed,
            vec!["r1", "r3", "r5"],
        ),
        Assign(
            "a renamed pool keeps its services",
            svc("r2"),
            ok(&["192.0.2.1"]).from("new").change(Change::Unchanged),
        ),
        Assign(
            "r4 kept too",
            svc("r4").ips(&["192.0.2.200"]),
            ok(&["192.0.2.200"]).from("new").change(Change::Unchanged),
        ),
        Assign(
            "a dropped service is served again, skipping .0",
            svc("r1"),
            ok(&["192.0.2.2"]).from("new").change(Change::New),
        ),
        Counters("new pool after reload", "new", (3, 254, 0, 0)),
        Counters("shrunk pool", "keep", (0, 2, 0, 0)),
        BadReload(
            "overlapping pools are refused, nothing changes",
            overlapping,
        ),
        Reload(
            "serviceAllocation now excludes the namespace: kept by the reload",
            restricted,
            vec![],
        ),
        Assign(
            "... and cleared by the next assign",
            svc("r2"),
            ok(&["198.51.100.2"]).from("keep").cleared("not_allowed"),
        ),
        Assign(
            "a requested IP now excluded",
            svc("r4").ips(&["192.0.2.200"]),
            fail("pool_not_allowed").cleared("not_allowed"),
        ),
        Assign(
            "in the allowed namespace",
            svc("other/r6"),
            ok(&["192.0.2.1"]).from("new"),
        ),
    ];
    assert_eq!(run(&mut a, steps), 16);

    // A new leader rebuilds from Service status: same addresses, nothing moves.
    let mut b = Allocator::with_config(&cfg).unwrap();
    let steps = vec![
        Restore("r1 from status", svc("r1"), vec!["192.0.2.0"], None),
        Restore(
            "r2 from status",
            svc("r2").share("k").ports(&[Port::tcp(80)]),
            vec!["192.0.2.7"],
            None,
        ),
        Restore(
            "r3 shares r2's address",
            svc("r3").share("k").ports(&[Port::tcp(443)]),
            vec!["192.0.2.7"],
            None,
        ),
        Restore(
            "a conflicting status is refused",
            svc("r4").ports(&[Port::tcp(80)]),
            vec!["192.0.2.7"],
            Some("sharing_key_mismatch"),
        ),
        Restore(
            "an address outside the pools is refused",
            svc("r5"),
            vec!["203.0.113.5"],
            Some("ip_not_in_pool"),
        ),
        Restore(
            "a dual-stack status on a single pool is checked for families",
            svc("r6").dual(FamilyPolicy::RequireDualStack),
            vec!["192.0.2.9", "192.0.2.10"],
            Some("invalid_request"),
        ),
        Assign(
            "rebuilt services keep their address",
            svc("r2").share("k").ports(&[Port::tcp(80)]),
            ok(&["192.0.2.7"]).change(Change::Unchanged),
        ),
        Assign(
            "new services get the lowest free address after the rebuild",
            svc("r7"),
            ok(&["192.0.2.1"]).change(Change::New),
        ),
        Counters("after rebuild", "old", (3, 256, 0, 0)),
    ];
    assert_eq!(run(&mut b, steps), 9);
}

#[test]
fn large_pools_count_like_metallb() {
    let cfg = config(vec![
        pool("v4", &["10.0.0.0/8"]).avoid_buggy(),
        pool("v6", &["2001:db8::/64"]),
        pool("range", &["192.0.2.250-192.0.3.5"]).avoid_buggy(),
    ]);
    let mut a = Allocator::with_config(&cfg).unwrap();
    let steps = vec![
        Counters(
            "a /8 without .0/.255",
            "v4",
            (0, (1 << 24) - 2 * (1 << 16), 0, 0),
        ),
        Counters("a /64 counts as i64::MAX", "v6", (0, 0, 0, i64::MAX)),
        Counters("a range across a /24 boundary", "range", (0, 10, 0, 0)),
        Assign(
            "range: lowest",
            svc("g1").pool("range"),
            ok(&["192.0.2.250"]),
        ),
        Assign(
            "range: .255 and .0 are skipped",
            svc("g2").pool("range").ips(&["192.0.2.254"]),
            ok(&["192.0.2.254"]),
        ),
        Assign(
            "range: next after 250",
            svc("g3").pool("range"),
            ok(&["192.0.2.251"]),
        ),
        Assign("v6 /64", svc("g4").v6(), ok(&["2001:db8::"])),
        Counters("huge pools stay saturated", "v6", (0, 0, 1, i64::MAX)),
        Assign(
            "two cluster families with SingleStack: the primary only",
            svc("g5").families(&[Family::V6, Family::V4]),
            ok(&["2001:db8::1"]).from("v6"),
        ),
        Assign(
            "... and stable on the next sync",
            svc("g5").families(&[Family::V6, Family::V4]),
            ok(&["2001:db8::1"]).change(Change::Unchanged),
        ),
    ];
    assert_eq!(run(&mut a, steps), 10);
    // Fill the range: 10 usable addresses, 3 used.
    for i in 0..7 {
        let out = a.assign(&svc(&format!("f{i}")).pool("range").0);
        assert!(out.result.is_ok(), "{out:?}");
    }
    let out = a.assign(&svc("f7").pool("range").0);
    assert_eq!(out.result.unwrap_err().metric_label(), "pool_exhausted");
    for ip in ["192.0.2.255", "192.0.3.0"] {
        assert!(
            a.holders(ipam_common::ip(ip)).is_empty(),
            "{ip} never handed out"
        );
    }
}
