//! Feeds arbitrary bytes to every frame decoder and the responder, and checks that whatever we
//! would send back is itself well-formed.
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use lodestone_l2::MacAddr;
use lodestone_l2::arp::{ArpPacket, Operation};
use lodestone_l2::ethernet::{ETHERTYPE_ARP, EthernetFrame};
use lodestone_l2::ndp::{self, icmpv6_checksum, parse_ipv6, parse_neighbor_solicitation};
use lodestone_l2::responder::respond;

const OURS: MacAddr = MacAddr([0x02, 0, 0, 0, 0x01, 0x01]);

fuzz_target!(|data: &[u8]| {
    if let Some(eth) = EthernetFrame::parse(data) {
        if let Ok(arp) = ArpPacket::parse(eth.payload) {
            // Re-encoding and decoding is the identity.
            let mut again = Vec::new();
            arp.write(&mut again);
            assert_eq!(ArpPacket::parse(&again), Ok(arp));
        }
        if let Ok(ns) = parse_neighbor_solicitation(eth.payload) {
            assert!(!ns.target.is_multicast());
            assert!(!ns.is_dad() || ns.source_mac.is_none());
        }
        let _ = parse_ipv6(eth.payload);
    }
    // Answer for everything: the deepest path through the responder.
    if let Ok(answer) = respond(data, OURS, |_| true) {
        let out = EthernetFrame::parse(&answer.frame).expect("our answer has an Ethernet header");
        assert_eq!(out.source, OURS);
        if out.ethertype == ETHERTYPE_ARP {
            let reply = ArpPacket::parse(out.payload).expect("our ARP reply parses");
            assert_eq!(reply.operation, Operation::Reply);
            assert_eq!(IpAddr::V4(reply.sender_ip), answer.address);
        } else {
            let (ip, msg) = parse_ipv6(out.payload).expect("our NA parses");
            assert_eq!(ip.hop_limit, 255);
            assert_eq!(msg[0], ndp::TYPE_NEIGHBOR_ADVERTISEMENT);
            assert_eq!(icmpv6_checksum(ip.source, ip.destination, msg), 0);
            assert_eq!(IpAddr::V6(ip.source), answer.address);
        }
    }
});
