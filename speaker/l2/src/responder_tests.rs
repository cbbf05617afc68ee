use super::*;
use crate::arp::{ArpPacket, Operation};
use crate::ethernet::EthernetFrame;
use crate::vectors::{self, hex};
use std::net::Ipv4Addr;

const A: MacAddr = MacAddr([2, 0, 0, 0, 0, 0x0a]);
const B: MacAddr = MacAddr([2, 0, 0, 0, 0, 0x0b]);

fn owns_vip(a: IpAddr) -> bool {
    a == IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)) || a == "2001:db8::1".parse::<IpAddr>().unwrap()
}

#[test]
fn answers_arping_like_the_kernel() {
    let answer = respond(&hex(vectors::ARPING_REQUEST), B, owns_vip).unwrap();
    assert_eq!(answer.address, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(answer.frame, hex(vectors::KERNEL_ARP_REPLY));
}

#[test]
fn answers_ndisc6_like_the_kernel() {
    let answer = respond(&hex(vectors::NDISC6_SOLICITATION), B, owns_vip).unwrap();
    assert_eq!(answer.address, "2001:db8::1".parse::<IpAddr>().unwrap());
    assert_eq!(answer.frame, hex(vectors::KERNEL_NEIGHBOR_ADVERTISEMENT));
}

#[test]
fn drop_rows() {
    let arp = hex(vectors::ARPING_REQUEST);
    let ns = hex(vectors::NDISC6_SOLICITATION);
    let with = |base: &[u8], at: usize, v: u8| {
        let mut f = base.to_vec();
        f[at] = v;
        f
    };
    let rows: Vec<(&str, Vec<u8>, MacAddr, DropReason)> = vec![
        ("short frame", arp[..13].to_vec(), B, DropReason::BadLength),
        (
            "IPv4 ethertype",
            with(&arp, 13, 0x00)
                .iter()
                .enumerate()
                .map(|(i, b)| if i == 12 { 0x08 } else { *b })
                .collect(),
            B,
            DropReason::UnsupportedEtherType,
        ),
        (
            "our own ARP (AF_PACKET echoes outgoing)",
            arp.clone(),
            A,
            DropReason::OwnFrame,
        ),
        ("our own NS", ns.clone(), A, DropReason::OwnFrame),
        (
            "ARP reply",
            hex(vectors::KERNEL_ARP_REPLY),
            A.max(MacAddr([2, 0, 0, 0, 0, 0x0c])),
            DropReason::ArpNotRequest,
        ),
        (
            "ARP unicast to someone else",
            with(&arp, 5, 0x0c)
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    if i == 0 {
                        0x02
                    } else if i < 5 {
                        0
                    } else {
                        *b
                    }
                })
                .collect(),
            B,
            DropReason::EthernetDestination,
        ),
        (
            "gratuitous request from another host",
            hex(vectors::ARPING_GRATUITOUS_REQUEST),
            B,
            DropReason::ArpAnnouncement,
        ),
        (
            "ARP for an address we do not own",
            with(&arp, 14 + 27, 2),
            B,
            DropReason::NotOwned,
        ),
        (
            "NS for an address we do not own",
            hex(vectors::KERNEL_DAD_SOLICITATION),
            A,
            DropReason::NotOwned,
        ),
        (
            "NS to the wrong multicast MAC",
            with(&ns, 5, 0x02),
            B,
            DropReason::EthernetDestination,
        ),
        (
            "NS with hop limit 64",
            with(&ns, 14 + 7, 64),
            B,
            DropReason::HopLimit,
        ),
    ];
    for (name, frame, mac, want) in rows {
        assert_eq!(respond(&frame, mac, owns_vip), Err(want), "{name}");
    }
}

#[test]
fn arp_probe_from_unspecified_is_answered_unicast() {
    // RFC 5227 probe: sender IP 0.0.0.0.
    let mut probe = hex(vectors::ARPING_REQUEST);
    probe[14 + 14..14 + 18].copy_from_slice(&[0, 0, 0, 0]);
    let answer = respond(&probe, B, owns_vip).unwrap();
    assert_eq!(&answer.frame[0..6], &A.0);
    assert_eq!(&answer.frame[14 + 24..14 + 28], &[0, 0, 0, 0]);
}

#[test]
fn dad_probe_for_owned_address_is_defended_to_all_nodes() {
    let dad = hex(vectors::KERNEL_DAD_SOLICITATION);
    let answer = respond(&dad, A, |a| {
        a == "fe80::ff:fe00:b".parse::<IpAddr>().unwrap()
    })
    .unwrap();
    assert_eq!(&answer.frame[0..6], &[0x33, 0x33, 0, 0, 0, 1]);
}

/// A Neighbor Solicitation frame built independently of the parser under test.
fn ns_frame(src_mac: MacAddr, src: std::net::Ipv6Addr, target: std::net::Ipv6Addr) -> Vec<u8> {
    let group = crate::ndp::solicited_node_group(target);
    let mut msg = vec![135, 0, 0, 0, 0, 0, 0, 0];
    msg.extend_from_slice(&target.octets());
    msg.extend_from_slice(&[1, 1]);
    msg.extend_from_slice(&src_mac.0);
    let sum = crate::ndp::icmpv6_checksum(src, group, &msg);
    msg[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut f = Vec::new();
    f.extend_from_slice(&MacAddr::ipv6_multicast(group).0);
    f.extend_from_slice(&src_mac.0);
    f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0, 0, msg.len() as u8, 58, 255]);
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(&group.octets());
    f.extend_from_slice(&msg);
    f
}

proptest::proptest! {
    #[test]
    fn arp_request_reply_round_trip(asker in proptest::array::uniform6(0u8..), ours in proptest::array::uniform6(0u8..),
                                    sip in proptest::prelude::any::<u32>(), tip in proptest::prelude::any::<u32>()) {
        let asker = MacAddr([asker[0] & 0xfe, asker[1], asker[2], asker[3], asker[4], asker[5]]);
        let ours = MacAddr(ours);
        proptest::prop_assume!(asker != ours && sip != tip);
        let request = ArpPacket {
            operation: Operation::Request,
            sender_mac: asker,
            sender_ip: Ipv4Addr::from(sip),
            target_mac: MacAddr::ZERO,
            target_ip: Ipv4Addr::from(tip),
        }
        .to_frame(MacAddr::BROADCAST, asker);
        let answer = respond(&request, ours, |a| a == IpAddr::V4(Ipv4Addr::from(tip))).unwrap();
        let eth = EthernetFrame::parse(&answer.frame).unwrap();
        proptest::prop_assert_eq!(eth.destination, asker);
        let reply = ArpPacket::parse(eth.payload).unwrap();
        proptest::prop_assert_eq!(reply.operation, Operation::Reply);
        proptest::prop_assert_eq!(reply.sender_mac, ours);
        proptest::prop_assert_eq!(reply.sender_ip, Ipv4Addr::from(tip));
        proptest::prop_assert_eq!(reply.target_ip, Ipv4Addr::from(sip));
        // Not owned: a named drop, never an answer.
        proptest::prop_assert_eq!(respond(&request, ours, |_| false), Err(DropReason::NotOwned));
    }

    #[test]
    fn ns_na_round_trip(src_mac in proptest::array::uniform6(0u8..), src in proptest::prelude::any::<u128>(),
                        target in proptest::prelude::any::<u128>()) {
        let src_mac = MacAddr([src_mac[0] & 0xfe, src_mac[1], src_mac[2], src_mac[3], src_mac[4], src_mac[5]]);
        let src = std::net::Ipv6Addr::from(src);
        let target = std::net::Ipv6Addr::from(target);
        proptest::prop_assume!(!src.is_multicast() && !src.is_unspecified() && !target.is_multicast() && src_mac != B);
        let frame = ns_frame(src_mac, src, target);
        let answer = respond(&frame, B, |a| a == IpAddr::V6(target)).unwrap();
        let eth = EthernetFrame::parse(&answer.frame).unwrap();
        proptest::prop_assert_eq!(eth.destination, src_mac);
        let (ip, msg) = crate::ndp::parse_ipv6(eth.payload).unwrap();
        proptest::prop_assert_eq!(ip.hop_limit, 255);
        proptest::prop_assert_eq!(ip.source, target);
        proptest::prop_assert_eq!(ip.destination, src);
        proptest::prop_assert_eq!(crate::ndp::icmpv6_checksum(ip.source, ip.destination, msg), 0);
        proptest::prop_assert_eq!(msg[4], 0x60);
        proptest::prop_assert_eq!(&msg[8..24], &target.octets()[..]);
        proptest::prop_assert_eq!(&msg[24..32], &[2, 1, 2, 0, 0, 0, 0, 0x0b][..]);
    }
}
