//! IPv6 Neighbor Discovery (RFC 4861): Neighbor Solicitations in, Neighbor Advertisements out.
//!
//! ```text
//! IPv6 header (40)                      ICMPv6 Neighbor Solicitation (type 135) / Advertisement (136)
//! +-------+--------+------------------+ +--------+--------+-----------------+
//! |ver=6|tc| flow label               | | type   | code=0 | checksum        |
//! +-------+--------+--------+---------+ +--------+--------+-----------------+
//! | payload length | nh=58  | hop=255 | | NS: reserved; NA: R|S|O + reserved |
//! +----------------+--------+---------+ +-----------------------------------+
//! | source address (16)               | | target address (16)               |
//! | destination address (16)          | | options: type | len (×8) | value  |
//! +-----------------------------------+ +-----------------------------------+
//! ```
//!
//! The ICMPv6 checksum covers a pseudo-header (source, destination, upper-layer length,
//! next header 58) followed by the ICMPv6 message (RFC 8200 §8.1).

use std::net::Ipv6Addr;

use crate::drop_reason::DropReason;
use crate::ethernet::{self, ETHERTYPE_IPV6, MacAddr};

/// IPv6 header length.
pub const IPV6_HEADER_LEN: usize = 40;
/// ICMPv6 next-header value.
pub const NEXT_HEADER_ICMPV6: u8 = 58;
/// ICMPv6 type of a Neighbor Solicitation.
pub const TYPE_NEIGHBOR_SOLICITATION: u8 = 135;
/// ICMPv6 type of a Neighbor Advertisement.
pub const TYPE_NEIGHBOR_ADVERTISEMENT: u8 = 136;
/// Option type: source link-layer address.
pub const OPTION_SOURCE_LL: u8 = 1;
/// Option type: target link-layer address.
pub const OPTION_TARGET_LL: u8 = 2;
/// ff02::1, all nodes.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

const NS_FIXED_LEN: usize = 24;
const FLAG_SOLICITED: u8 = 0x40;
const FLAG_OVERRIDE: u8 = 0x20;

/// The solicited-node multicast group of an address (RFC 4291 §2.7.1): ff02::1:ffXX:XXXX.
pub fn solicited_node_group(addr: Ipv6Addr) -> Ipv6Addr {
    let o = addr.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    )
}

/// The fields of an IPv6 header we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Header {
    pub next_header: u8,
    pub hop_limit: u8,
    pub source: Ipv6Addr,
    pub destination: Ipv6Addr,
}

/// A validated Neighbor Solicitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighborSolicitation {
    pub source: Ipv6Addr,
    pub destination: Ipv6Addr,
    pub target: Ipv6Addr,
    /// The source link-layer address option, if present.
    pub source_mac: Option<MacAddr>,
}

impl NeighborSolicitation {
    /// Duplicate Address Detection probe (source is the unspecified address).
    pub fn is_dad(&self) -> bool {
        self.source.is_unspecified()
    }
}

fn addr_at(b: &[u8], at: usize) -> Result<Ipv6Addr, DropReason> {
    let o: [u8; 16] = b
        .get(at..at + 16)
        .and_then(|s| s.try_into().ok())
        .ok_or(DropReason::BadLength)?;
    Ok(Ipv6Addr::from(o))
}

/// Splits an IPv6 packet (the payload of an Ethernet frame, possibly padded) into its header and
/// its payload, trimmed to the header's payload length.
pub fn parse_ipv6(packet: &[u8]) -> Result<(Ipv6Header, &[u8]), DropReason> {
    if packet.len() < IPV6_HEADER_LEN {
        return Err(DropReason::BadLength);
    }
    if packet[0] >> 4 != 6 {
        return Err(DropReason::NotIcmpv6);
    }
    let payload_len = usize::from(u16::from_be_bytes([packet[4], packet[5]]));
    let payload = packet
        .get(IPV6_HEADER_LEN..IPV6_HEADER_LEN + payload_len)
        .ok_or(DropReason::BadLength)?;
    Ok((
        Ipv6Header {
            next_header: packet[6],
            hop_limit: packet[7],
            source: addr_at(packet, 8)?,
            destination: addr_at(packet, 24)?,
        },
        payload,
    ))
}

/// The ICMPv6 checksum of `message` (with its checksum field zeroed or not: the caller decides)
/// between `source` and `destination`.
pub fn icmpv6_checksum(source: Ipv6Addr, destination: Ipv6Addr, message: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    let mut add = |bytes: &[u8]| {
        let mut chunks = bytes.chunks_exact(2);
        for c in &mut chunks {
            sum += u64::from(u16::from_be_bytes([c[0], c[1]]));
        }
        if let [last] = chunks.remainder() {
            sum += u64::from(*last) << 8;
        }
    };
    add(&source.octets());
    add(&destination.octets());
    // Upper-layer packet length (32 bits) and next header (zero-padded to 32 bits).
    let len = u32::try_from(message.len()).unwrap_or(u32::MAX);
    add(&len.to_be_bytes());
    add(&[0, 0, 0, NEXT_HEADER_ICMPV6]);
    add(message);
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Parses and validates an IPv6 packet as a Neighbor Solicitation (RFC 4861 §7.1.1).
pub fn parse_neighbor_solicitation(packet: &[u8]) -> Result<NeighborSolicitation, DropReason> {
    let (ip, msg) = parse_ipv6(packet)?;
    if ip.next_header != NEXT_HEADER_ICMPV6 {
        return Err(DropReason::NotIcmpv6);
    }
    if msg.len() < 4 {
        return Err(DropReason::BadLength);
    }
    if msg[0] != TYPE_NEIGHBOR_SOLICITATION {
        return Err(DropReason::NotNeighborSolicitation);
    }
    if msg[1] != 0 {
        return Err(DropReason::BadCode);
    }
    if ip.hop_limit != 255 {
        return Err(DropReason::HopLimit);
    }
    if msg.len() < NS_FIXED_LEN {
        return Err(DropReason::BadLength);
    }
    if icmpv6_checksum(ip.source, ip.destination, msg) != 0 {
        return Err(DropReason::BadChecksum);
    }
    if ip.source.is_multicast() {
        return Err(DropReason::MulticastSource);
    }
    let target = addr_at(msg, 8)?;
    if target.is_multicast() {
        return Err(DropReason::TargetMulticast);
    }
    let mut source_mac = None;
    let mut options = &msg[NS_FIXED_LEN..];
    while !options.is_empty() {
        if options.len() < 2 {
            return Err(DropReason::BadOption);
        }
        let len = usize::from(options[1]) * 8;
        if len == 0 || len > options.len() {
            return Err(DropReason::BadOption);
        }
        if options[0] == OPTION_SOURCE_LL {
            // Ethernet: 2 + 6 bytes, exactly one unit of 8.
            if len != 8 {
                return Err(DropReason::BadOption);
            }
            source_mac = MacAddr::from_slice(&options[2..8]);
        }
        options = &options[len..];
    }
    if ip.source.is_unspecified() {
        if source_mac.is_some() {
            return Err(DropReason::BadOption);
        }
        if ip.destination != solicited_node_group(target) {
            return Err(DropReason::BadDestination);
        }
    } else if ip.destination != solicited_node_group(target) && ip.destination != target {
        return Err(DropReason::BadDestination);
    }
    Ok(NeighborSolicitation {
        source: ip.source,
        destination: ip.destination,
        target,
        source_mac,
    })
}

/// A Neighbor Advertisement we send, always with a target link-layer address option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighborAdvertisement {
    pub source: Ipv6Addr,
    pub destination: Ipv6Addr,
    pub target: Ipv6Addr,
    pub solicited: bool,
    pub override_flag: bool,
    pub target_mac: MacAddr,
}

impl NeighborAdvertisement {
    /// The answer to a solicitation for `ns.target`: Solicited + Override, unicast to the asker;
    /// a DAD probe (unspecified source) gets an all-nodes advertisement without Solicited
    /// (RFC 4861 §7.2.4).
    pub fn reply_to(ns: &NeighborSolicitation, our_mac: MacAddr) -> NeighborAdvertisement {
        if ns.is_dad() {
            return NeighborAdvertisement::unsolicited(ns.target, our_mac);
        }
        NeighborAdvertisement {
            source: ns.target,
            destination: ns.source,
            target: ns.target,
            solicited: true,
            override_flag: true,
            target_mac: our_mac,
        }
    }

    /// An unsolicited advertisement for `target` to all nodes, Override set (RFC 4861 §7.2.6).
    pub fn unsolicited(target: Ipv6Addr, our_mac: MacAddr) -> NeighborAdvertisement {
        NeighborAdvertisement {
            source: target,
            destination: ALL_NODES,
            target,
            solicited: false,
            override_flag: true,
            target_mac: our_mac,
        }
    }

    /// The ICMPv6 message (32 bytes) with its checksum filled in.
    pub fn icmpv6_message(&self) -> Vec<u8> {
        let mut flags = 0u8;
        if self.solicited {
            flags |= FLAG_SOLICITED;
        }
        if self.override_flag {
            flags |= FLAG_OVERRIDE;
        }
        let mut msg = Vec::with_capacity(32);
        msg.extend_from_slice(&[TYPE_NEIGHBOR_ADVERTISEMENT, 0, 0, 0, flags, 0, 0, 0]);
        msg.extend_from_slice(&self.target.octets());
        msg.extend_from_slice(&[OPTION_TARGET_LL, 1]);
        msg.extend_from_slice(&self.target_mac.0);
        let sum = icmpv6_checksum(self.source, self.destination, &msg);
        msg[2..4].copy_from_slice(&sum.to_be_bytes());
        msg
    }

    /// The full Ethernet frame to `eth_destination` (hop limit 255, flow label 0).
    pub fn to_frame(&self, eth_destination: MacAddr) -> Vec<u8> {
        let msg = self.icmpv6_message();
        let mut out = Vec::with_capacity(ethernet::HEADER_LEN + IPV6_HEADER_LEN + msg.len());
        ethernet::push_header(&mut out, eth_destination, self.target_mac, ETHERTYPE_IPV6);
        out.extend_from_slice(&[0x60, 0, 0, 0]);
        let len = u16::try_from(msg.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&[NEXT_HEADER_ICMPV6, 255]);
        out.extend_from_slice(&self.source.octets());
        out.extend_from_slice(&self.destination.octets());
        out.extend_from_slice(&msg);
        out
    }

    /// The Ethernet destination for this advertisement when answering `ns` framed by
    /// `ns_eth_source`: the source link-layer option, else the frame's source; all-nodes
    /// multicast for a multicast destination.
    pub fn eth_destination(&self, ns: Option<(&NeighborSolicitation, MacAddr)>) -> MacAddr {
        if self.destination.is_multicast() {
            return MacAddr::ipv6_multicast(self.destination);
        }
        match ns {
            Some((ns, frame_source)) => ns.source_mac.unwrap_or(frame_source),
            None => MacAddr::ipv6_multicast(ALL_NODES),
        }
    }
}

/// The unsolicited Neighbor Advertisement frame sent on takeover: to ff02::1 at
/// 33:33:00:00:00:01, Override set, Solicited clear, hop limit 255, target link-layer option.
pub fn unsolicited_advertisement_frame(target: Ipv6Addr, our_mac: MacAddr) -> Vec<u8> {
    NeighborAdvertisement::unsolicited(target, our_mac).to_frame(MacAddr::ipv6_multicast(ALL_NODES))
}

#[cfg(test)]
#[path = "ndp_tests.rs"]
mod tests;
