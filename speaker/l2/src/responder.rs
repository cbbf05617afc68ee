//! The pure answer-or-drop decision for one received frame.
//!
//! ```text
//! frame ──► Ethernet ──► own frame? ──► ARP ──► request? for an owned IP? ──► ARP reply
//!                                  └──► IPv6 ─► valid NS? for an owned IP? ──► NA reply
//!                           every other path ──► Err(DropReason)
//! ```

use std::net::IpAddr;

use crate::arp::{ArpPacket, Operation};
use crate::drop_reason::DropReason;
use crate::ethernet::{ETHERTYPE_ARP, ETHERTYPE_IPV6, EthernetFrame, MacAddr};
use crate::ndp::{NeighborAdvertisement, parse_neighbor_solicitation};

/// A frame to send in answer to a request for an owned address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The owned address that was asked for (the metric label).
    pub address: IpAddr,
    /// The complete Ethernet frame to transmit.
    pub frame: Vec<u8>,
}

/// Decides what to do with `frame` received on an interface whose MAC is `our_mac`, answering
/// only for addresses for which `owns` is true.
pub fn respond(
    frame: &[u8],
    our_mac: MacAddr,
    owns: impl Fn(IpAddr) -> bool,
) -> Result<Answer, DropReason> {
    respond_checked(frame, our_mac, |a| {
        if owns(a) {
            Ok(())
        } else {
            Err(DropReason::NotOwned)
        }
    })
}

/// Like [`respond`], with an ownership check that names its own drop reason (for example
/// [`DropReason::InterfaceNotSelected`]).
pub fn respond_checked(
    frame: &[u8],
    our_mac: MacAddr,
    owns: impl Fn(IpAddr) -> Result<(), DropReason>,
) -> Result<Answer, DropReason> {
    let eth = EthernetFrame::parse(frame).ok_or(DropReason::BadLength)?;
    if eth.source == our_mac {
        return Err(DropReason::OwnFrame);
    }
    match eth.ethertype {
        ETHERTYPE_ARP => respond_arp(&eth, our_mac, owns),
        ETHERTYPE_IPV6 => respond_ndp(&eth, our_mac, owns),
        _ => Err(DropReason::UnsupportedEtherType),
    }
}

fn respond_arp(
    eth: &EthernetFrame<'_>,
    our_mac: MacAddr,
    owns: impl Fn(IpAddr) -> Result<(), DropReason>,
) -> Result<Answer, DropReason> {
    let arp = ArpPacket::parse(eth.payload)?;
    if arp.operation != Operation::Request {
        return Err(DropReason::ArpNotRequest);
    }
    if eth.destination != MacAddr::BROADCAST && eth.destination != our_mac {
        return Err(DropReason::EthernetDestination);
    }
    if arp.sender_ip == arp.target_ip && !arp.sender_ip.is_unspecified() {
        return Err(DropReason::ArpAnnouncement);
    }
    let address = IpAddr::V4(arp.target_ip);
    owns(address)?;
    Ok(Answer {
        address,
        frame: ArpPacket::reply_frame(&arp, our_mac),
    })
}

fn respond_ndp(
    eth: &EthernetFrame<'_>,
    our_mac: MacAddr,
    owns: impl Fn(IpAddr) -> Result<(), DropReason>,
) -> Result<Answer, DropReason> {
    let ns = parse_neighbor_solicitation(eth.payload)?;
    let expected_group_mac = MacAddr::ipv6_multicast(ns.destination);
    if eth.destination != our_mac
        && !(ns.destination.is_multicast() && eth.destination == expected_group_mac)
    {
        return Err(DropReason::EthernetDestination);
    }
    let address = IpAddr::V6(ns.target);
    owns(address)?;
    let na = NeighborAdvertisement::reply_to(&ns, our_mac);
    let destination = na.eth_destination(Some((&ns, eth.source)));
    Ok(Answer {
        address,
        frame: na.to_frame(destination),
    })
}

#[cfg(test)]
#[path = "responder_tests.rs"]
mod tests;
