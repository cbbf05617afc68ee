//! Adj-RIB-Out diffing and UPDATE packing.

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use lodestone_bgp::codec::*;
use lodestone_bgp::rib_out::*;

fn packer(max: usize) -> UpdatePacker {
    UpdatePacker {
        local_as: 64512,
        ibgp: false,
        families: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
        next_hop_v4: Some(Ipv4Addr::new(192, 0, 2, 1)),
        next_hop_v6: Some(("2001:db8::1".parse().unwrap(), None)),
        max_message_len: max,
    }
}

fn v4_hosts(n: u32) -> Vec<IpNet> {
    // Distinct prefixes inside the three IPv4 documentation /24s.
    (0..n)
        .map(|i| {
            let base = [0xc000_0200u32, 0xc633_6400, 0xcb00_7100][(i % 3) as usize];
            // Unique (address, length) pairs: the length varies once the 256 hosts are used.
            let len = 32 - ((i / 3) / 256) as u8;
            let host = (i / 3) % 256;
            IpNet::V4(
                Ipv4Net::new(Ipv4Addr::from(base + (host << (32 - len))), len)
                    .unwrap()
                    .trunc(),
            )
        })
        .collect()
}

fn v6_hosts(n: u32) -> Vec<IpNet> {
    (0..n)
        .map(|i| {
            IpNet::V6(
                Ipv6Net::new(
                    Ipv6Addr::from(0x2001_0db8_0000_0000_0000_0000_0000_0000u128 + u128::from(i)),
                    128,
                )
                .unwrap(),
            )
        })
        .collect()
}

fn routes(prefixes: &[IpNet], a: &Attributes) -> Vec<(IpNet, Attributes)> {
    prefixes.iter().map(|p| (*p, a.clone())).collect()
}

fn wire_len(u: &Update, max: usize) -> usize {
    let codec = Codec {
        four_octet_as: true,
        max_message_len: max,
    };
    let bytes = codec.encode(&Message::Update(u.clone())).unwrap();
    assert_eq!(codec.decode(&bytes).unwrap(), Message::Update(u.clone()));
    bytes.len()
}

#[test]
fn a_4096_byte_update_holds_810_ipv4_host_routes() {
    let mut rib = AdjRibOut::new();
    // Pure data, never on a wire: consecutive /32s from 192.0.0.0.
    let prefixes: Vec<IpNet> = (0..1000u32)
        .map(|i| IpNet::V4(Ipv4Net::new(Ipv4Addr::from(0xc000_0000 + i), 32).unwrap()))
        .collect();
    let diff = rib.set_routes(routes(&prefixes, &Attributes::default()));
    let p = packer(MAX_MESSAGE_LEN).pack(&diff);
    assert!(p.skipped.is_empty());
    let counts: Vec<usize> = p.updates.iter().map(|u| u.nlri.len()).collect();
    assert_eq!(counts, vec![810, 190]);
    assert!(wire_len(&p.updates[0], MAX_MESSAGE_LEN) <= 4096);
    assert_eq!(wire_len(&p.updates[0], MAX_MESSAGE_LEN), 4096 - 3);
}

#[test]
fn a_4096_byte_update_holds_237_ipv6_host_routes() {
    let mut rib = AdjRibOut::new();
    let diff = rib.set_routes(routes(&v6_hosts(500), &Attributes::default()));
    let p = packer(MAX_MESSAGE_LEN).pack(&diff);
    let counts: Vec<usize> = p
        .updates
        .iter()
        .map(|u| u.attributes.mp_reach.as_ref().unwrap().nlri.len())
        .collect();
    assert_eq!(counts, vec![237, 237, 26]);
    for u in &p.updates {
        assert!(wire_len(u, MAX_MESSAGE_LEN) <= 4096);
    }
}

#[test]
fn extended_messages_fill_to_65535() {
    let mut rib = AdjRibOut::new();
    let prefixes: Vec<IpNet> = (0..20_000u32)
        .map(|i| IpNet::V4(Ipv4Net::new(Ipv4Addr::from(0xc000_0000 + i), 32).unwrap()))
        .collect();
    let diff = rib.set_routes(routes(&prefixes, &Attributes::default()));
    let p = packer(MAX_EXTENDED_MESSAGE_LEN).pack(&diff);
    // (65535 - 23 - 20 - 1) / 5 = 13098
    assert_eq!(p.updates[0].nlri.len(), 13098);
    assert!(wire_len(&p.updates[0], MAX_EXTENDED_MESSAGE_LEN) <= 65535);
    assert_eq!(
        p.updates.iter().map(|u| u.nlri.len()).sum::<usize>(),
        20_000
    );
}

#[test]
fn identical_attributes_share_updates_and_differing_ones_do_not() {
    let mut rib = AdjRibOut::new();
    let a = Attributes {
        communities: vec![0xfde8_0001, 0xfde8_0000, 0xfde8_0001],
        ..Default::default()
    };
    let b = Attributes {
        large_communities: vec![LargeCommunity {
            global: 64512,
            local1: 1,
            local2: 2,
        }],
        med: Some(10),
        ..Default::default()
    };
    let hosts = v4_hosts(6);
    let mut r = routes(&hosts[..4], &a);
    r.extend(routes(&hosts[4..], &b));
    let diff = rib.set_routes(r);
    let p = packer(MAX_MESSAGE_LEN).pack(&diff);
    assert_eq!(p.updates.len(), 2);
    let mut sizes: Vec<usize> = p.updates.iter().map(|u| u.nlri.len()).collect();
    sizes.sort();
    assert_eq!(sizes, vec![2, 4]);
    let with_a = p.updates.iter().find(|u| u.nlri.len() == 4).unwrap();
    assert_eq!(
        with_a.attributes.communities,
        vec![0xfde8_0000, 0xfde8_0001],
        "sorted, deduplicated"
    );
    assert_eq!(
        with_a.attributes.as_path,
        Some(vec![AsSegment::sequence(vec![64512])])
    );
    assert_eq!(
        with_a.attributes.local_pref, None,
        "never LOCAL_PREF on eBGP"
    );
    let with_b = p.updates.iter().find(|u| u.nlri.len() == 2).unwrap();
    assert_eq!(with_b.attributes.med, Some(10));
}

#[test]
fn ibgp_gets_local_pref_and_an_empty_as_path() {
    let mut k = packer(MAX_MESSAGE_LEN);
    k.ibgp = true;
    let mut rib = AdjRibOut::new();
    let hosts = v4_hosts(2);
    let diff = rib.set_routes(vec![
        (
            hosts[0],
            Attributes {
                local_pref: Some(250),
                ..Default::default()
            },
        ),
        (hosts[1], Attributes::default()),
    ]);
    let p = k.pack(&diff);
    let mut lp: Vec<Option<u32>> = p.updates.iter().map(|u| u.attributes.local_pref).collect();
    lp.sort();
    assert_eq!(lp, vec![Some(100), Some(250)]);
    assert!(
        p.updates
            .iter()
            .all(|u| u.attributes.as_path == Some(vec![]))
    );
}

#[test]
fn diffs_carry_only_changes_and_withdrawals_are_batched() {
    let mut rib = AdjRibOut::new();
    let hosts: Vec<IpNet> = (0..2000u32)
        .map(|i| IpNet::V4(Ipv4Net::new(Ipv4Addr::from(0xc000_0000 + i), 32).unwrap()))
        .collect();
    let first = rib.set_routes(routes(&hosts, &Attributes::default()));
    assert_eq!(first.announce.len(), 2000);
    // Same table again: nothing to send.
    assert!(
        rib.set_routes(routes(&hosts, &Attributes::default()))
            .is_empty()
    );
    // Drop 1000, change the attributes of one, add one IPv6.
    let mut next = routes(&hosts[1000..], &Attributes::default());
    next[0].1.med = Some(5);
    let v6 = v6_hosts(1);
    next.push((v6[0], Attributes::default()));
    let diff = rib.set_routes(next);
    assert_eq!(diff.withdraw.len(), 1000);
    assert_eq!(diff.announce.len(), 2);
    assert_eq!(rib.len(), 1001);
    let p = packer(MAX_MESSAGE_LEN).pack(&diff);
    // (4096 - 23) / 5 = 814 withdrawals per UPDATE.
    let withdrawn: Vec<usize> = p
        .updates
        .iter()
        .map(|u| u.withdrawn.len())
        .filter(|n| *n > 0)
        .collect();
    assert_eq!(withdrawn, vec![814, 186]);
    for u in &p.updates {
        assert!(wire_len(u, MAX_MESSAGE_LEN) <= 4096);
    }
    // IPv6 withdrawals go in MP_UNREACH, 239 /128 per UPDATE.
    let diff = rib.set_routes(Vec::new());
    let mut rib6 = AdjRibOut::new();
    rib6.set_routes(routes(&v6_hosts(300), &Attributes::default()));
    let d6 = rib6.set_routes(Vec::new());
    let p6 = packer(MAX_MESSAGE_LEN).pack(&d6);
    let counts: Vec<usize> = p6
        .updates
        .iter()
        .map(|u| u.attributes.mp_unreach.as_ref().unwrap().withdrawn.len())
        .collect();
    assert_eq!(counts, vec![239, 61]);
    for u in &p6.updates {
        assert!(wire_len(u, MAX_MESSAGE_LEN) <= 4096);
    }
    assert_eq!(diff.withdraw.len(), 1001);
}

#[test]
fn prefixes_without_family_or_next_hop_are_skipped_with_a_reason() {
    let mut k = packer(MAX_MESSAGE_LEN);
    k.families = vec![Family::IPV4_UNICAST];
    let mut rib = AdjRibOut::new();
    let v6 = v6_hosts(1);
    let v4 = v4_hosts(1);
    let diff = rib.set_routes(vec![
        (v6[0], Attributes::default()),
        (v4[0], Attributes::default()),
    ]);
    let p = k.pack(&diff);
    assert_eq!(p.skipped, vec![(v6[0], SkipReason::FamilyNotNegotiated)]);
    assert_eq!(p.updates.len(), 1);
    k.next_hop_v4 = None;
    assert_eq!(k.pack(&diff).skipped.len(), 2);
    assert!(
        k.pack(&diff)
            .skipped
            .contains(&(v4[0], SkipReason::NoNextHop))
    );
}

#[test]
fn end_of_rib_per_family_and_full_table() {
    let k = packer(MAX_MESSAGE_LEN);
    let eor = k.end_of_rib();
    assert_eq!(
        eor.iter()
            .map(|u| u.end_of_rib_family())
            .collect::<Vec<_>>(),
        vec![Some(Family::IPV4_UNICAST), Some(Family::IPV6_UNICAST)]
    );
    let mut rib = AdjRibOut::new();
    rib.set_routes(routes(&v4_hosts(3), &Attributes::default()));
    assert_eq!(rib.full().announce.len(), 3);
    assert!(rib.full().withdraw.is_empty());
}
