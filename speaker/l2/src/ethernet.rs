//! Ethernet II framing and MAC addresses.
//!
//! ```text
//!  0                   6                  12        14
//! +-------------------+-------------------+---------+----------
//! | destination MAC   | source MAC        | type    | payload
//! +-------------------+-------------------+---------+----------
//! ```
//!
//! No 802.1Q handling: AF_PACKET hands us frames with the VLAN tag already stripped
//! (or a tagged frame, which we drop as an unsupported EtherType).

use std::fmt;
use std::net::Ipv6Addr;

/// Length of an Ethernet II header.
pub const HEADER_LEN: usize = 14;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;

/// A 48-bit MAC address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// ff:ff:ff:ff:ff:ff
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    /// 00:00:00:00:00:00
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    /// The group bit (I/G) is set: broadcast or multicast.
    pub fn is_group(&self) -> bool {
        self.0[0] & 1 == 1
    }

    /// The Ethernet multicast MAC an IPv6 multicast group maps to (RFC 2464 §7):
    /// 33:33 followed by the last four bytes of the group.
    pub fn ipv6_multicast(group: Ipv6Addr) -> MacAddr {
        let o = group.octets();
        MacAddr([0x33, 0x33, o[12], o[13], o[14], o[15]])
    }

    pub(crate) fn from_slice(b: &[u8]) -> Option<MacAddr> {
        <[u8; 6]>::try_from(b).ok().map(MacAddr)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for MacAddr {
    type Err = MacParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for byte in &mut out {
            let p = parts.next().ok_or(MacParseError)?;
            if p.len() != 2 {
                return Err(MacParseError);
            }
            *byte = u8::from_str_radix(p, 16).map_err(|_| MacParseError)?;
        }
        if parts.next().is_some() {
            return Err(MacParseError);
        }
        Ok(MacAddr(out))
    }
}

/// A string that is not six colon-separated hex bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a MAC address (want xx:xx:xx:xx:xx:xx)")]
pub struct MacParseError;

/// A parsed Ethernet II header plus a borrowed payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetFrame<'a> {
    pub destination: MacAddr,
    pub source: MacAddr,
    pub ethertype: u16,
    pub payload: &'a [u8],
}

impl<'a> EthernetFrame<'a> {
    /// Splits a frame; `None` when it is shorter than the header.
    pub fn parse(frame: &'a [u8]) -> Option<Self> {
        if frame.len() < HEADER_LEN {
            return None;
        }
        Some(EthernetFrame {
            destination: MacAddr::from_slice(&frame[0..6])?,
            source: MacAddr::from_slice(&frame[6..12])?,
            ethertype: u16::from_be_bytes([frame[12], frame[13]]),
            payload: &frame[HEADER_LEN..],
        })
    }
}

/// Writes an Ethernet II header into `out`.
pub(crate) fn push_header(
    out: &mut Vec<u8>,
    destination: MacAddr,
    source: MacAddr,
    ethertype: u16,
) {
    out.extend_from_slice(&destination.0);
    out.extend_from_slice(&source.0);
    out.extend_from_slice(&ethertype.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_text_round_trip_and_rejects() {
        let m: MacAddr = "02:00:00:00:00:0a".parse().unwrap();
        assert_eq!(m, MacAddr([2, 0, 0, 0, 0, 0x0a]));
        assert_eq!(m.to_string(), "02:00:00:00:00:0a");
        for bad in [
            "",
            "02:00:00:00:00",
            "02:00:00:00:00:0a:0b",
            "2:00:00:00:00:0a",
            "zz:00:00:00:00:0a",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ipv6_multicast_mac() {
        let g: Ipv6Addr = "ff02::1:ff00:1".parse().unwrap();
        assert_eq!(
            MacAddr::ipv6_multicast(g),
            MacAddr([0x33, 0x33, 0xff, 0, 0, 1])
        );
        assert!(MacAddr::ipv6_multicast(g).is_group());
        assert!(!MacAddr([2, 0, 0, 0, 0, 1]).is_group());
    }

    #[test]
    fn short_frame_is_none() {
        assert!(EthernetFrame::parse(&[0u8; 13]).is_none());
        let f = EthernetFrame::parse(&[0u8; 14]).unwrap();
        assert!(f.payload.is_empty());
    }
}
