use super::*;
use crate::vectors::{self, hex};

const A: MacAddr = MacAddr([2, 0, 0, 0, 0, 0x0a]);
const B: MacAddr = MacAddr([2, 0, 0, 0, 0, 0x0b]);

fn ip(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn packet(frame: &[u8]) -> &[u8] {
    &frame[ethernet::HEADER_LEN..]
}

#[test]
fn solicited_node_groups() {
    assert_eq!(
        solicited_node_group(ip("2001:db8::1")),
        ip("ff02::1:ff00:1")
    );
    assert_eq!(
        solicited_node_group(ip("2001:db8::abcd:12:3456")),
        ip("ff02::1:ff12:3456")
    );
}

#[test]
fn parses_ndisc6_solicitation() {
    let ns = parse_neighbor_solicitation(packet(&hex(vectors::NDISC6_SOLICITATION))).unwrap();
    assert_eq!(
        ns,
        NeighborSolicitation {
            source: ip("fe80::ff:fe00:a"),
            destination: ip("ff02::1:ff00:1"),
            target: ip("2001:db8::1"),
            source_mac: Some(A),
        }
    );
    assert!(!ns.is_dad());
}

#[test]
fn parses_kernel_dad_probe_with_nonce() {
    let ns = parse_neighbor_solicitation(packet(&hex(vectors::KERNEL_DAD_SOLICITATION))).unwrap();
    assert!(ns.is_dad());
    assert_eq!(ns.target, ip("fe80::ff:fe00:b"));
    assert_eq!(ns.source_mac, None);
}

#[test]
fn reply_is_byte_identical_to_the_kernels() {
    let frame = hex(vectors::NDISC6_SOLICITATION);
    let ns = parse_neighbor_solicitation(packet(&frame)).unwrap();
    let na = NeighborAdvertisement::reply_to(&ns, B);
    let ours = na.to_frame(na.eth_destination(Some((&ns, A))));
    assert_eq!(ours, hex(vectors::KERNEL_NEIGHBOR_ADVERTISEMENT));
}

#[test]
fn checksum_verifies_on_captured_messages() {
    for v in [
        vectors::NDISC6_SOLICITATION,
        vectors::KERNEL_NEIGHBOR_ADVERTISEMENT,
        vectors::KERNEL_DAD_SOLICITATION,
    ] {
        let frame = hex(v);
        let (h, msg) = parse_ipv6(packet(&frame)).unwrap();
        assert_eq!(icmpv6_checksum(h.source, h.destination, msg), 0);
    }
}

#[test]
fn checksum_odd_length() {
    // One trailing byte is padded with zero on the right (RFC 1071).
    let a = icmpv6_checksum(Ipv6Addr::UNSPECIFIED, Ipv6Addr::UNSPECIFIED, &[0x12]);
    let b = icmpv6_checksum(Ipv6Addr::UNSPECIFIED, Ipv6Addr::UNSPECIFIED, &[0x12, 0x00]);
    // Lengths differ in the pseudo-header by one.
    assert_eq!(a.wrapping_sub(b), 1);
}

#[test]
fn unsolicited_advertisement_bytes() {
    let frame = unsolicited_advertisement_frame(ip("2001:db8::1"), B);
    let (h, msg) = parse_ipv6(packet(&frame)).unwrap();
    assert_eq!(&frame[0..6], &[0x33, 0x33, 0, 0, 0, 1]);
    assert_eq!(&frame[6..12], &B.0);
    assert_eq!(h.hop_limit, 255);
    assert_eq!(h.source, ip("2001:db8::1"));
    assert_eq!(h.destination, ALL_NODES);
    assert_eq!(msg[0], TYPE_NEIGHBOR_ADVERTISEMENT);
    assert_eq!(msg[4], 0x20, "Override only");
    assert_eq!(icmpv6_checksum(h.source, h.destination, msg), 0);
    // Full byte-exact form; the checksum was cross-checked with tshark ("[Checksum Status: Good]").
    let want = hex("333300000001 02000000000b 86dd 60000000 0020 3a ff
                    20010db8000000000000000000000001 ff020000000000000000000000000001
                    88 00 f920 20000000 20010db8000000000000000000000001 02 01 02000000000b");
    assert_eq!(frame, want);
}

#[test]
fn dad_probe_gets_all_nodes_advertisement() {
    let ns = parse_neighbor_solicitation(packet(&hex(vectors::KERNEL_DAD_SOLICITATION))).unwrap();
    let na = NeighborAdvertisement::reply_to(&ns, A);
    assert_eq!(na.destination, ALL_NODES);
    assert!(!na.solicited);
    assert!(na.override_flag);
    assert_eq!(
        na.eth_destination(Some((&ns, B))),
        MacAddr([0x33, 0x33, 0, 0, 0, 1])
    );
}

/// Re-computes the checksum after a mutation so that only the mutated field is wrong.
fn fix_checksum(frame: &mut [u8]) {
    let p = &mut frame[ethernet::HEADER_LEN..];
    p[42] = 0;
    p[43] = 0;
    let (h, msg) = parse_ipv6(p).unwrap();
    let sum = icmpv6_checksum(h.source, h.destination, msg);
    p[42..44].copy_from_slice(&sum.to_be_bytes());
}

#[test]
fn rejects_rows() {
    let good = hex(vectors::NDISC6_SOLICITATION);
    let dad = hex(vectors::KERNEL_DAD_SOLICITATION);
    let e = ethernet::HEADER_LEN;
    let ip6 = e + IPV6_HEADER_LEN;
    let mutate = |base: &[u8], f: &dyn Fn(&mut Vec<u8>), fix: bool| {
        let mut v = base.to_vec();
        f(&mut v);
        if fix {
            fix_checksum(&mut v);
        }
        v
    };
    let rows: Vec<(&str, Vec<u8>, DropReason)> = vec![
        (
            "ipv6 header short",
            good[..e + 39].to_vec(),
            DropReason::BadLength,
        ),
        (
            "payload length past end",
            good[..good.len() - 1].to_vec(),
            DropReason::BadLength,
        ),
        (
            "version 4",
            mutate(&good, &|v| v[e] = 0x40, false),
            DropReason::NotIcmpv6,
        ),
        (
            "next header UDP",
            mutate(&good, &|v| v[e + 6] = 17, false),
            DropReason::NotIcmpv6,
        ),
        (
            "hop-by-hop (MLD)",
            mutate(&good, &|v| v[e + 6] = 0, false),
            DropReason::NotIcmpv6,
        ),
        (
            "echo request",
            mutate(&good, &|v| v[ip6] = 128, true),
            DropReason::NotNeighborSolicitation,
        ),
        (
            "advertisement",
            mutate(&good, &|v| v[ip6] = 136, true),
            DropReason::NotNeighborSolicitation,
        ),
        (
            "code 1",
            mutate(&good, &|v| v[ip6 + 1] = 1, true),
            DropReason::BadCode,
        ),
        (
            "hop limit 254",
            mutate(&good, &|v| v[e + 7] = 254, false),
            DropReason::HopLimit,
        ),
        (
            "hop limit 1",
            mutate(&good, &|v| v[e + 7] = 1, false),
            DropReason::HopLimit,
        ),
        (
            "checksum off by one",
            mutate(&good, &|v| v[ip6 + 3] ^= 1, false),
            DropReason::BadChecksum,
        ),
        (
            "target changed, checksum stale",
            mutate(&good, &|v| v[ip6 + 23] = 2, false),
            DropReason::BadChecksum,
        ),
        (
            "target multicast",
            mutate(&good, &|v| v[ip6 + 8] = 0xff, true),
            DropReason::TargetMulticast,
        ),
        (
            "multicast source",
            mutate(&good, &|v| v[e + 8] = 0xff, true),
            DropReason::MulticastSource,
        ),
        (
            "option length 0",
            mutate(&good, &|v| v[ip6 + 25] = 0, true),
            DropReason::BadOption,
        ),
        (
            "option overruns",
            mutate(&good, &|v| v[ip6 + 25] = 2, true),
            DropReason::BadOption,
        ),
        (
            "source LL option 16 bytes",
            {
                let mut v = good.clone();
                v[ip6 + 25] = 2;
                v.extend_from_slice(&[0; 8]);
                v[e + 5] += 8;
                fix_checksum(&mut v);
                v
            },
            DropReason::BadOption,
        ),
        (
            "ICMPv6 shorter than NS",
            {
                let mut v = good[..ip6 + 20].to_vec();
                v[e + 5] = 20;
                fix_checksum(&mut v);
                v
            },
            DropReason::BadLength,
        ),
        (
            "dad with source LL",
            {
                let mut v = dad.clone();
                v[ip6 + 24] = OPTION_SOURCE_LL;
                fix_checksum(&mut v);
                v
            },
            DropReason::BadOption,
        ),
        (
            "dad to all-nodes",
            mutate(&dad, &|v| v[e + 24 + 11] = 0, true),
            DropReason::BadDestination,
        ),
        (
            "unicast to another address",
            mutate(
                &good,
                &|v| v[e + 24..e + 40].copy_from_slice(&ip("2001:db8::99").octets()),
                true,
            ),
            DropReason::BadDestination,
        ),
    ];
    for (name, bytes, want) in rows {
        assert_eq!(
            parse_neighbor_solicitation(&bytes[e..]),
            Err(want),
            "{name}"
        );
    }
    // Unicast NUD probe straight to the target is valid.
    let nud = mutate(
        &good,
        &|v| v[e + 24..e + 40].copy_from_slice(&ip("2001:db8::1").octets()),
        true,
    );
    assert!(parse_neighbor_solicitation(&nud[e..]).is_ok());
    // Unknown options (the nonce) are skipped; trailing Ethernet padding is ignored.
    let mut padded = good.clone();
    padded.extend_from_slice(&[0; 6]);
    assert!(parse_neighbor_solicitation(&padded[e..]).is_ok());
}
