use super::*;
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
