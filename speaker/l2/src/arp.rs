//! ARP for Ethernet/IPv4 (RFC 826), requests in, replies and gratuitous announcements out.
//!
//! ```text
//!  0        2        4    5    6        8                 14       18                24       28
//! +--------+--------+----+----+--------+-----------------+--------+-----------------+--------+
//! | htype=1|ptype=  |hlen|plen| oper   | sender MAC      | sender | target MAC      | target |
//! |        | 0x0800 | =6 | =4 | 1 req  |                 | IPv4   |                 | IPv4   |
//! |        |        |    |    | 2 reply|                 |        |                 |        |
//! +--------+--------+----+----+--------+-----------------+--------+-----------------+--------+
//! ```

use std::net::Ipv4Addr;

use crate::drop_reason::DropReason;
use crate::ethernet::{self, ETHERTYPE_ARP, MacAddr};

/// Length of an Ethernet/IPv4 ARP packet.
pub const PACKET_LEN: usize = 28;

/// ARP operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Request,
    Reply,
    /// Any other operation code (RARP, InARP, ...).
    Other(u16),
}

impl Operation {
    fn code(self) -> u16 {
        match self {
            Operation::Request => 1,
            Operation::Reply => 2,
            Operation::Other(c) => c,
        }
    }
    fn from_code(c: u16) -> Self {
        match c {
            1 => Operation::Request,
            2 => Operation::Reply,
            c => Operation::Other(c),
        }
    }
}

/// An Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpPacket {
    pub operation: Operation,
    pub sender_mac: MacAddr,
    pub sender_ip: Ipv4Addr,
    pub target_mac: MacAddr,
    pub target_ip: Ipv4Addr,
}

impl ArpPacket {
    /// Parses the ARP payload of an Ethernet frame (trailing padding is allowed).
    pub fn parse(payload: &[u8]) -> Result<ArpPacket, DropReason> {
        if payload.len() < 8 {
            return Err(DropReason::BadLength);
        }
        let htype = u16::from_be_bytes([payload[0], payload[1]]);
        let ptype = u16::from_be_bytes([payload[2], payload[3]]);
        if htype != 1 || ptype != 0x0800 || payload[4] != 6 || payload[5] != 4 {
            return Err(DropReason::ArpUnsupportedFormat);
        }
        if payload.len() < PACKET_LEN {
            return Err(DropReason::BadLength);
        }
        let ip = |at: usize| {
            Ipv4Addr::new(
                payload[at],
                payload[at + 1],
                payload[at + 2],
                payload[at + 3],
            )
        };
        let mac =
            |at: usize| MacAddr::from_slice(&payload[at..at + 6]).ok_or(DropReason::BadLength);
        Ok(ArpPacket {
            operation: Operation::from_code(u16::from_be_bytes([payload[6], payload[7]])),
            sender_mac: mac(8)?,
            sender_ip: ip(14),
            target_mac: mac(18)?,
            target_ip: ip(24),
        })
    }

    /// Appends the 28-byte wire form.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4]);
        out.extend_from_slice(&self.operation.code().to_be_bytes());
        out.extend_from_slice(&self.sender_mac.0);
        out.extend_from_slice(&self.sender_ip.octets());
        out.extend_from_slice(&self.target_mac.0);
        out.extend_from_slice(&self.target_ip.octets());
    }

    /// A complete Ethernet frame carrying this packet (42 bytes, unpadded like the kernel's own).
    pub fn to_frame(&self, destination: MacAddr, source: MacAddr) -> Vec<u8> {
        let mut out = Vec::with_capacity(ethernet::HEADER_LEN + PACKET_LEN);
        ethernet::push_header(&mut out, destination, source, ETHERTYPE_ARP);
        self.write(&mut out);
        out
    }

    /// The reply to `request` saying its target IP is at `our_mac`, framed unicast to the asker
    /// (what Linux sends for its own addresses; probes from 0.0.0.0 get the same shape).
    pub fn reply_frame(request: &ArpPacket, our_mac: MacAddr) -> Vec<u8> {
        ArpPacket {
            operation: Operation::Reply,
            sender_mac: our_mac,
            sender_ip: request.target_ip,
            target_mac: request.sender_mac,
            target_ip: request.sender_ip,
        }
        .to_frame(request.sender_mac, our_mac)
    }

    /// A gratuitous ARP (sender IP = target IP = `ip`, target MAC broadcast, to broadcast), as
    /// MetalLB sends on takeover: one with [`Operation::Request`], one with [`Operation::Reply`].
    pub fn gratuitous_frame(operation: Operation, our_mac: MacAddr, ip: Ipv4Addr) -> Vec<u8> {
        ArpPacket {
            operation,
            sender_mac: our_mac,
            sender_ip: ip,
            target_mac: MacAddr::BROADCAST,
            target_ip: ip,
        }
        .to_frame(MacAddr::BROADCAST, our_mac)
    }
}

#[cfg(test)]
#[path = "arp_tests.rs"]
mod tests;
