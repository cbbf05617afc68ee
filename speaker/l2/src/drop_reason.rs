//! Why a received frame got no answer. Every ignored frame maps to exactly one reason, which the
//! driver counts (per interface) and logs at debug level.

/// A named reason for not answering a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropReason {
    /// Shorter than its headers say, or than the protocol's minimum.
    BadLength,
    /// Neither ARP nor IPv6 (includes VLAN-tagged frames).
    UnsupportedEtherType,
    /// The frame came from this interface's own MAC (AF_PACKET delivers outgoing frames too).
    OwnFrame,
    /// Ethernet destination is neither broadcast, our MAC, nor the group the packet targets.
    EthernetDestination,
    /// ARP for something other than Ethernet/IPv4.
    ArpUnsupportedFormat,
    /// An ARP reply or another operation: only requests get answers.
    ArpNotRequest,
    /// A gratuitous ARP (sender IP = target IP) from another host: an announcement, not a question.
    ArpAnnouncement,
    /// IPv6 but the version field is not 6, or the payload is not ICMPv6 (extension headers).
    NotIcmpv6,
    /// ICMPv6 other than a Neighbor Solicitation (RS, MLD, NA, echo, ...).
    NotNeighborSolicitation,
    /// Neighbor Solicitation with a hop limit other than 255 (RFC 4861 §7.1.1: off-link sender).
    HopLimit,
    /// ICMPv6 code other than 0.
    BadCode,
    /// ICMPv6 checksum does not verify.
    BadChecksum,
    /// The solicitation's target is a multicast address.
    TargetMulticast,
    /// A malformed NDP option (length 0, overrunning the packet, bad link-layer option length),
    /// or a source link-layer option on a solicitation from the unspecified address.
    BadOption,
    /// The IPv6 destination is neither the target nor the target's solicited-node group
    /// (RFC 4861 §7.1.1; a solicitation from the unspecified address must use the group).
    BadDestination,
    /// The IPv6 source of a solicitation is a multicast address (RFC 4291 §2.7).
    MulticastSource,
    /// The target is an address this node does not currently answer for.
    NotOwned,
    /// We answer for the target, but not on this interface (L2Advertisement `interfaces`).
    InterfaceNotSelected,
}

impl DropReason {
    /// Every reason, for exporting zeroed counters.
    pub const ALL: [DropReason; 18] = [
        DropReason::BadLength,
        DropReason::UnsupportedEtherType,
        DropReason::OwnFrame,
        DropReason::EthernetDestination,
        DropReason::ArpUnsupportedFormat,
        DropReason::ArpNotRequest,
        DropReason::ArpAnnouncement,
        DropReason::NotIcmpv6,
        DropReason::NotNeighborSolicitation,
        DropReason::HopLimit,
        DropReason::BadCode,
        DropReason::BadChecksum,
        DropReason::TargetMulticast,
        DropReason::BadOption,
        DropReason::BadDestination,
        DropReason::MulticastSource,
        DropReason::NotOwned,
        DropReason::InterfaceNotSelected,
    ];

    /// Short label for metrics and logs.
    pub fn metric_label(self) -> &'static str {
        match self {
            DropReason::BadLength => "bad_length",
            DropReason::UnsupportedEtherType => "unsupported_ethertype",
            DropReason::OwnFrame => "own_frame",
            DropReason::EthernetDestination => "ethernet_destination",
            DropReason::ArpUnsupportedFormat => "arp_unsupported_format",
            DropReason::ArpNotRequest => "arp_not_request",
            DropReason::ArpAnnouncement => "arp_announcement",
            DropReason::NotIcmpv6 => "not_icmpv6",
            DropReason::NotNeighborSolicitation => "not_neighbor_solicitation",
            DropReason::HopLimit => "hop_limit",
            DropReason::BadCode => "bad_code",
            DropReason::BadChecksum => "bad_checksum",
            DropReason::TargetMulticast => "target_multicast",
            DropReason::BadOption => "bad_option",
            DropReason::BadDestination => "bad_destination",
            DropReason::MulticastSource => "multicast_source",
            DropReason::NotOwned => "not_owned",
            DropReason::InterfaceNotSelected => "interface_not_selected",
        }
    }
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.metric_label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn labels_are_unique_and_all_is_complete() {
        let labels: BTreeSet<_> = DropReason::ALL.iter().map(|r| r.metric_label()).collect();
        assert_eq!(labels.len(), DropReason::ALL.len());
        let reasons: BTreeSet<_> = DropReason::ALL.iter().collect();
        assert_eq!(reasons.len(), DropReason::ALL.len());
    }
}
