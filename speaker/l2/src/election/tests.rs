use super::*;
use std::net::Ipv4Addr;

fn v4(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn cands(nodes: &[&str]) -> Vec<Candidate> {
    nodes.iter().map(|n| Candidate::new(*n, 0)).collect()
}

fn held(node: &str, renew_tag: u64) -> Option<LeaseRecord> {
    Some(LeaseRecord {
        holder: Some(node.to_owned()),
        renew_time: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(renew_tag)),
        acquire_time: Some(SystemTime::UNIX_EPOCH),
        lease_duration: Duration::from_secs(4),
    })
}

fn released(node: &str) -> Option<LeaseRecord> {
    let _ = node;
    Some(LeaseRecord {
        holder: None,
        renew_time: None,
        acquire_time: None,
        lease_duration: Duration::from_secs(1),
    })
}

/// A node `me` that renewed at t0, sees `others` live (observed at t0) and has `addr` with
/// candidates `nodes`; started long enough ago that the join guard has passed.
fn settled(me: &str, others: &[&str], addr: IpAddr, nodes: &[&str], t0: Instant) -> Election {
    let mut e = Election::new(me, ElectionParams::default()).unwrap();
    let start = t0 - Duration::from_secs(10);
    e.renewed(start, start);
    for o in others {
        e.observe_lease(o, held(o, 0), start);
    }
    e.set_candidates(addr, &cands(nodes), start);
    // Everyone renews every second up to t0.
    for k in 1..=10u64 {
        let now = start + Duration::from_secs(k);
        e.renewed(now, now);
        for o in others {
            e.observe_lease(o, held(o, k), now);
        }
    }
    e
}

#[test]
fn ranking_rows() {
    // Independent check of the hash order (computed with Python's hashlib):
    //   sha256("node-X#192.0.2.1"): node-c < node-a < node-b
    //   sha256("node-X#2001:db8::1"): node-b < node-a < node-c
    let v6: IpAddr = "2001:db8::1".parse().unwrap();
    let rows: Vec<(&str, Vec<Candidate>, IpAddr, Vec<&str>)> = vec![
        (
            "hash order v4",
            cands(&["node-a", "node-b", "node-c"]),
            v4(1),
            vec!["node-c", "node-a", "node-b"],
        ),
        (
            "hash order v6",
            cands(&["node-a", "node-b", "node-c"]),
            v6,
            vec!["node-b", "node-a", "node-c"],
        ),
        (
            "input order does not matter",
            cands(&["node-b", "node-c", "node-a"]),
            v4(1),
            vec!["node-c", "node-a", "node-b"],
        ),
        (
            "weight beats hash",
            vec![
                Candidate::new("node-a", 0),
                Candidate::new("node-b", 10),
                Candidate::new("node-c", 0),
            ],
            v4(1),
            vec!["node-b", "node-c", "node-a"],
        ),
        (
            "negative weight ranks last",
            vec![
                Candidate::new("node-a", 0),
                Candidate::new("node-b", 0),
                Candidate::new("node-c", -1),
            ],
            v4(1),
            vec!["node-a", "node-b", "node-c"],
        ),
        (
            "duplicate node keeps its best weight",
            vec![
                Candidate::new("node-a", 0),
                Candidate::new("node-a", 5),
                Candidate::new("node-c", 1),
            ],
            v4(1),
            vec!["node-a", "node-c"],
        ),
        ("single", cands(&["node-b"]), v4(1), vec!["node-b"]),
        ("none", vec![], v4(1), vec![]),
    ];
    for (name, c, addr, want) in rows {
        assert_eq!(rank::ranked(&c, addr), want, "{name}");
    }
}

#[test]
fn every_node_computes_the_same_owner_and_shared_addresses_share_it() {
    let t0 = Instant::now();
    let nodes = ["node-a", "node-b", "node-c"];
    let views: Vec<Election> = nodes
        .iter()
        .map(|me| {
            let others: Vec<&str> = nodes.iter().copied().filter(|n| n != me).collect();
            let mut e = settled(me, &others, v4(1), &nodes, t0);
            e.set_candidates(v4(2), &cands(&nodes), t0 - Duration::from_secs(5));
            e
        })
        .collect();
    for addr in [v4(1), v4(2)] {
        let owners: BTreeSet<_> = views.iter().map(|v| v.owner_of(addr, t0)).collect();
        assert_eq!(owners.len(), 1, "{addr}: {owners:?}");
        let answering: Vec<_> = views
            .iter()
            .filter(|v| v.decide(t0).answer.contains(&addr))
            .map(|v| v.node())
            .collect();
        assert_eq!(
            answering.len(),
            1,
            "{addr}: exactly one node answers, got {answering:?}"
        );
    }
    assert_eq!(views[0].owner_of(v4(1), t0).as_deref(), Some("node-c"));
}

#[test]
fn adding_or_removing_a_node_moves_only_its_share() {
    let addrs: Vec<IpAddr> = (0..1000u32)
        .map(|i| {
            IpAddr::V4(Ipv4Addr::new(
                198,
                51,
                100 + (i / 256) as u8 % 2,
                (i % 256) as u8,
            ))
        })
        .chain((0..500u32).map(|i| IpAddr::V6(format!("2001:db8::{i:x}").parse().unwrap())))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let owners = |nodes: &[String]| -> BTreeMap<IpAddr, String> {
        let c: Vec<Candidate> = nodes.iter().map(|n| Candidate::new(n.clone(), 0)).collect();
        addrs
            .iter()
            .map(|a| (*a, rank::ranked(&c, *a)[0].clone()))
            .collect()
    };
    let ten: Vec<String> = (0..10).map(|i| format!("worker-{i}")).collect();
    let mut eleven = ten.clone();
    eleven.push("worker-new".into());
    let before = owners(&ten);
    let after = owners(&eleven);
    let moved: Vec<_> = addrs.iter().filter(|a| before[a] != after[a]).collect();
    assert!(
        moved.iter().all(|a| after[*a] == "worker-new"),
        "only moves to the new node"
    );
    let share = addrs.len() as f64 / 11.0;
    assert!(
        (moved.len() as f64) < share * 1.5 && (moved.len() as f64) > share * 0.5,
        "moved {} of {}, fair share {share:.0}",
        moved.len(),
        addrs.len()
    );
    // Removing worker-3 moves exactly the addresses it owned, nothing else.
    let nine: Vec<String> = ten.iter().filter(|n| *n != "worker-3").cloned().collect();
    let without = owners(&nine);
    for a in &addrs {
        if before[a] == "worker-3" {
            assert_ne!(without[a], "worker-3");
        } else {
            assert_eq!(without[a], before[a], "{a} moved although its owner stayed");
        }
    }
}

#[test]
fn crash_takeover_waits_for_expiry_and_self_fencing_comes_first() {
    // node-c ranks first for 192.0.2.1, then node-a, then node-b.
    let t0 = Instant::now();
    let nodes = ["node-a", "node-b", "node-c"];
    let mut a = settled("node-a", &["node-b", "node-c"], v4(1), &nodes, t0);
    let mut c = settled("node-c", &["node-a", "node-b"], v4(1), &nodes, t0);
    assert!(c.decide(t0).answer.contains(&v4(1)));
    assert!(!a.decide(t0).answer.contains(&v4(1)));
    // node-c loses the API at t0: its last successful renewal was sent at t0.
    // node-a keeps renewing; node-b too.
    for step in 1..=50u64 {
        let now = t0 + ms(100 * step);
        if step % 10 == 0 {
            a.renewed(now, now);
            a.observe_lease("node-b", held("node-b", 100 + step), now);
        }
        let c_answers = c.decide(now).answer.contains(&v4(1));
        let a_answers = a.decide(now).answer.contains(&v4(1));
        assert!(!(c_answers && a_answers), "two owners at +{}ms", 100 * step);
        // node-c fences at t0 + 4 s − 1 s.
        assert_eq!(
            c_answers,
            now < t0 + ms(3000),
            "node-c at +{}ms",
            100 * step
        );
        // node-a takes over exactly when node-c's lease (observed at t0) expires.
        assert_eq!(
            a_answers,
            now >= t0 + ms(4000),
            "node-a at +{}ms",
            100 * step
        );
    }
    let d = c.decide(t0 + ms(3000));
    assert!(d.fenced);
    assert_eq!(d.addresses[&v4(1)], AddressState::OwnedBy("node-a".into()));
    // While node-c still looks live, node-a knows when to look again: node-c's expiry.
    assert_eq!(a.decide(t0 + ms(3500)).next_check, Some(t0 + ms(4000)));
    // node-c recovers: renewal succeeds again; it rejoins and waits the join guard.
    let back = t0 + ms(6000);
    c.renewed(back, back);
    c.observe_lease("node-a", held("node-a", 999), back);
    assert_eq!(
        c.decide(back).addresses[&v4(1)],
        AddressState::Waiting(Wait::JustJoined {
            until: back + ms(1000)
        })
    );
    assert!(c.decide(back + ms(1000)).answer.contains(&v4(1)));
}

#[test]
fn self_fencing_timeline_and_next_check() {
    let t0 = Instant::now();
    let mut e = Election::new("node-c", ElectionParams::default()).unwrap();
    e.set_candidates(v4(1), &cands(&["node-c"]), t0);
    assert!(e.decide(t0).fenced, "never renewed: fenced");
    assert!(e.decide(t0).answer.is_empty());
    assert_eq!(e.renew_due(), None);
    e.renewed(t0, t0 + ms(50));
    let d = e.decide(t0 + ms(50));
    assert!(d.answer.contains(&v4(1)), "alone: no join wait");
    assert_eq!(d.next_check, Some(t0 + ms(3000)));
    assert_eq!(e.renew_due(), Some(t0 + ms(1000)));
    assert!(e.decide(t0 + ms(2999)).answer.contains(&v4(1)));
    assert!(e.decide(t0 + ms(3000)).answer.is_empty());
    // A renewal that was sent before the fence but answered after it: the lease counts from
    // when it was sent, and the node is live again.
    e.renewed(t0 + ms(2900), t0 + ms(3100));
    assert!(e.decide(t0 + ms(3100)).answer.contains(&v4(1)));
    // A late answer to an older request never moves the lease back.
    e.renewed(t0 + ms(1000), t0 + ms(3200));
    assert_eq!(e.fence_at(), Some(t0 + ms(5900)));
}

#[test]
fn graceful_release_hands_over_immediately() {
    let t0 = Instant::now();
    let nodes = ["node-a", "node-b", "node-c"];
    let mut c = settled("node-c", &["node-a", "node-b"], v4(1), &nodes, t0);
    let mut a = settled("node-a", &["node-b", "node-c"], v4(1), &nodes, t0);
    let t1 = t0 + ms(200);
    c.release(t1);
    assert!(c.decide(t1).answer.is_empty(), "released: stop at once");
    // node-a sees the released Lease 5 ms later and answers at once.
    let t2 = t1 + ms(5);
    a.observe_lease("node-c", released("node-c"), t2);
    assert_eq!(a.decide(t2).addresses[&v4(1)], AddressState::Answering);
}

#[test]
fn a_higher_ranked_node_joining_preempts_after_the_handover_delay() {
    let t0 = Instant::now();
    let nodes = ["node-a", "node-b", "node-c"];
    // node-c is not running yet: node-a owns the address.
    let mut a = settled("node-a", &["node-b"], v4(1), &nodes, t0);
    assert!(a.decide(t0).answer.contains(&v4(1)));
    // node-c starts and renews at t1; node-a sees the Lease at t1 + 20 ms and stops at once.
    let t1 = t0 + ms(500);
    let mut c = Election::new("node-c", ElectionParams::default()).unwrap();
    c.observe_lease("node-a", held("node-a", 7), t1 - ms(100));
    c.observe_lease("node-b", held("node-b", 7), t1 - ms(100));
    c.set_candidates(v4(1), &cands(&nodes), t1 - ms(100));
    c.renewed(t1, t1);
    a.observe_lease("node-c", held("node-c", 1), t1 + ms(20));
    assert_eq!(
        a.decide(t1 + ms(20)).addresses[&v4(1)],
        AddressState::OwnedBy("node-c".into())
    );
    // node-c waits the handover delay from becoming live, for node-a (the owner until then).
    assert_eq!(
        c.decide(t1 + ms(20)).addresses[&v4(1)],
        AddressState::Waiting(Wait::PreviousOwner {
            node: "node-a".into(),
            until: t1 + ms(1000)
        })
    );
    assert_eq!(c.decide(t1 + ms(20)).next_check, Some(t1 + ms(1000)));
    assert!(c.decide(t1 + ms(1000)).answer.contains(&v4(1)));
}

#[test]
fn eligibility_change_waits_for_the_live_previous_owner_unless_it_releases() {
    let t0 = Instant::now();
    let nodes = ["node-a", "node-b", "node-c"];
    // node-c owns; node-c gets the exclude label, so the caller drops it from the candidates.
    for release in [false, true] {
        let mut a = settled("node-a", &["node-b", "node-c"], v4(1), &nodes, t0);
        let t1 = t0 + ms(100);
        a.set_candidates(v4(1), &cands(&["node-a", "node-b"]), t1);
        assert_eq!(
            a.decide(t1).addresses[&v4(1)],
            AddressState::Waiting(Wait::PreviousOwner {
                node: "node-c".into(),
                until: t1 + ms(1000)
            })
        );
        if release {
            a.observe_lease("node-c", released("node-c"), t1 + ms(30));
            assert!(
                a.decide(t1 + ms(30)).answer.contains(&v4(1)),
                "released previous owner: at once"
            );
        } else {
            assert!(!a.decide(t1 + ms(999)).answer.contains(&v4(1)));
            assert!(a.decide(t1 + ms(1000)).answer.contains(&v4(1)));
        }
    }
}

#[test]
fn weights_move_ownership_with_a_guard() {
    let t0 = Instant::now();
    let mut b = settled(
        "node-b",
        &["node-a", "node-c"],
        v4(1),
        &["node-a", "node-b", "node-c"],
        t0,
    );
    assert_eq!(b.owner_of(v4(1), t0).as_deref(), Some("node-c"));
    let weighted = vec![
        Candidate::new("node-a", 0),
        Candidate::new("node-b", 50),
        Candidate::new("node-c", 0),
    ];
    b.set_candidates(v4(1), &weighted, t0);
    assert!(matches!(
        b.decide(t0).addresses[&v4(1)],
        AddressState::Waiting(Wait::PreviousOwner { .. })
    ));
    assert!(b.decide(t0 + ms(1000)).answer.contains(&v4(1)));
}

#[test]
fn liveness_rows() {
    let t0 = Instant::now();
    let mut e = Election::new("me", ElectionParams::default()).unwrap();
    e.observe_lease("x", held("x", 1), t0);
    assert!(e.is_live("x", t0 + ms(3999)));
    assert!(!e.is_live("x", t0 + ms(4000)));
    // A resync of the same record does not extend the lease.
    e.observe_lease("x", held("x", 1), t0 + ms(3000));
    assert!(!e.is_live("x", t0 + ms(4000)));
    // A renewal does.
    e.observe_lease("x", held("x", 2), t0 + ms(3000));
    assert!(e.is_live("x", t0 + ms(6999)));
    // Held by someone else, empty holder, deleted: not live.
    e.observe_lease("y", held("z", 1), t0);
    assert!(!e.is_live("y", t0));
    let mut empty = held("x", 3);
    if let Some(r) = empty.as_mut() {
        r.holder = Some(String::new());
    }
    e.observe_lease("x", empty, t0 + ms(3100));
    assert!(!e.is_live("x", t0 + ms(3100)));
    e.observe_lease("x", held("x", 4), t0 + ms(3200));
    e.observe_lease("x", None, t0 + ms(3300));
    assert!(!e.is_live("x", t0 + ms(3300)));
    // Our own echoed Lease is ignored: liveness comes from our renewals.
    e.observe_lease("me", held("me", 1), t0);
    assert!(!e.is_live("me", t0));
}

#[test]
fn no_live_candidate_and_removal() {
    let t0 = Instant::now();
    let mut e = Election::new("me", ElectionParams::default()).unwrap();
    e.renewed(t0, t0);
    e.set_candidates(v4(9), &cands(&["gone"]), t0);
    assert_eq!(
        e.decide(t0).addresses[&v4(9)],
        AddressState::NoLiveCandidate
    );
    e.remove_address(v4(9), t0);
    assert!(e.decide(t0).addresses.is_empty());
}

#[test]
fn params_rows() {
    let ok = ElectionParams::default();
    assert_eq!(ok.validate(), Ok(()));
    assert!((ok.writes_per_second_per_node() - 1.0).abs() < 1e-9);
    let bad_margin = ElectionParams {
        fencing_margin: Duration::from_secs(4),
        ..ok
    };
    assert!(matches!(
        bad_margin.validate(),
        Err(ParamsError::MarginNotBelowLease { .. })
    ));
    let slow = ElectionParams {
        renew_period: Duration::from_secs(3),
        ..ok
    };
    assert!(matches!(
        slow.validate(),
        Err(ParamsError::RenewTooSlow { .. })
    ));
    assert!(Election::new("x", slow).is_err());
}
