//! Vectors from another implementation: the bytes FRR 8.4 (Debian 12 package) sent to our
//! speaker, captured with tcpdump on the FRR side of a veth pair and printed with
//! `tshark -r cap.pcap -Y bgp -T fields -e ip.src -e bgp.type -e tcp.payload`.
//! FRR config: `router bgp 64513`, `bgp router-id 192.0.2.2`, `neighbor 192.0.2.1 remote-as
//! 64512`, `timers 3 9`, IPv4 and IPv6 unicast activated; it reflected our routes
//! 198.51.100.10/32 (community 64512:100, large community 64512:1:2) and 2001:db8:5::/64 back.
//!
//! FRR sets the extended-length flag on short attributes and puts MP_REACH_NLRI first, so these
//! rows are checked in the decode direction; our own encoding is covered in `codec_table.rs`.

use std::net::Ipv4Addr;

use lodestone_bgp::codec::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const FRR_OPEN: &str = concat!(
    "ffffffffffffffffffffffffffffffff00710104fc010009c00002025402060104000100010206010400020001",
    "020280000202020002024600020641040000fc0102020600020a450800010101000201010206490402766d0002",
    "044002c0780210470e0001018000000000020180000000"
);
const FRR_KEEPALIVE: &str = "ffffffffffffffffffffffffffffffff001304";
const FRR_UPDATE_V4: &str = concat!(
    "ffffffffffffffffffffffffffffffff004b020000002f400101005002000a02020000fc010000fc00400304c00002",
    "02c00804fc000064c0200c0000fc00000000010000000220c633640a"
);
const FRR_UPDATE_V6: &str = concat!(
    "ffffffffffffffffffffffffffffffff005b0200000044900e002e0002012020010db80000000000000000000000",
    "02fe80000000000000406854fffefa3e99004020010db800050000400101005002000a02020000fc010000fc00"
);
const FRR_WITHDRAW_V4: &str = "ffffffffffffffffffffffffffffffff001c02000520c633640a0000";

#[test]
fn frr_open_decodes_with_unknown_capabilities_kept() {
    let Ok(Message::Open(o)) = decode(&hex(FRR_OPEN)) else {
        panic!("FRR OPEN did not decode")
    };
    assert_eq!(
        (o.my_as, o.hold_time, o.bgp_id),
        (64513, 9, Ipv4Addr::new(192, 0, 2, 2))
    );
    assert_eq!(o.asn(), 64513);
    assert_eq!(
        o.families(),
        vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]
    );
    assert!(o.has(2) && o.has(128) && o.has(6));
    assert!(o.capabilities.contains(&Capability::GracefulRestart {
        restart_state: true,
        notification: true,
        restart_time: 120,
        families: vec![],
    }));
    // Enhanced route refresh (70), add-path (69), hostname (73), long-lived GR (71).
    let unknown: Vec<u8> = o
        .capabilities
        .iter()
        .filter_map(|c| match c {
            Capability::Unknown { code, .. } => Some(*code),
            _ => None,
        })
        .collect();
    assert_eq!(unknown, vec![70, 69, 73, 71]);
    assert_eq!(decode(&hex(FRR_KEEPALIVE)), Ok(Message::Keepalive));
}

#[test]
fn frr_ipv4_update_with_communities_decodes() {
    let Ok(Message::Update(u)) = decode(&hex(FRR_UPDATE_V4)) else {
        panic!("FRR UPDATE did not decode")
    };
    let a = &u.attributes;
    assert_eq!(a.origin, Some(Origin::Igp));
    assert_eq!(
        a.as_path,
        Some(vec![AsSegment::sequence(vec![64513, 64512])])
    );
    assert_eq!(a.next_hop, Some(Ipv4Addr::new(192, 0, 2, 2)));
    assert_eq!(a.communities, vec![(64512 << 16) | 100]);
    assert_eq!(
        a.large_communities,
        vec![LargeCommunity {
            global: 64512,
            local1: 1,
            local2: 2
        }]
    );
    assert_eq!(u.nlri, vec!["198.51.100.10/32".parse().unwrap()]);
    assert_eq!(u.treat_as_withdraw, None);
}

#[test]
fn frr_ipv6_update_with_link_local_next_hop_decodes() {
    let Ok(Message::Update(u)) = decode(&hex(FRR_UPDATE_V6)) else {
        panic!("FRR UPDATE did not decode")
    };
    let m = u.attributes.mp_reach.as_ref().unwrap();
    assert_eq!(m.family, Family::IPV6_UNICAST);
    assert_eq!(
        m.next_hop,
        MpNextHop::V6 {
            global: "2001:db8::2".parse().unwrap(),
            link_local: Some("fe80::4068:54ff:fefa:3e99".parse().unwrap())
        }
    );
    assert_eq!(m.nlri, vec!["2001:db8:5::/64".parse().unwrap()]);
    assert_eq!(
        u.attributes.as_path,
        Some(vec![AsSegment::sequence(vec![64513, 64512])])
    );
    assert_eq!(u.attributes.next_hop, None);
    assert_eq!(u.treat_as_withdraw, None);
}

#[test]
fn frr_withdraw_decodes_and_re_encodes_byte_exact() {
    let bytes = hex(FRR_WITHDRAW_V4);
    let m = decode(&bytes).unwrap();
    let Message::Update(u) = &m else {
        panic!("not an update")
    };
    assert_eq!(u.withdrawn, vec!["198.51.100.10/32".parse().unwrap()]);
    assert_eq!(encode(&m).unwrap(), bytes);
    assert_eq!(encode(&Message::Keepalive).unwrap(), hex(FRR_KEEPALIVE));
}
