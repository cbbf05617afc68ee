//! `spec.addresses` entries: a CIDR or an inclusive range, as MetalLB's `ParseCIDR` reads them.
//!
//! ```text
//!   "10.0.3.200/29"              ──► [10.0.3.200/29]
//!   "10.0.3.100-10.0.3.150"      ──► [.100/30, .104/29, .112/28, .128/28, .144/30, .148/31, .150/32]
//!   "2001:db8::1-2001:db8::ff"   ──► the fewest prefixes covering exactly the range
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::error::Reason;

/// An address entry as an inclusive numeric range plus its CIDRs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParsedEntry {
    /// First address (IPv4 in the low 32 bits).
    pub first: u128,
    /// Last address.
    pub last: u128,
    /// Whether the entry is IPv6.
    pub v6: bool,
    /// The CIDRs covering exactly `first..=last`.
    pub cidrs: Vec<IpNet>,
}

impl ParsedEntry {
    /// Whether two entries share an address.
    pub fn overlaps(&self, other: &ParsedEntry) -> bool {
        self.v6 == other.v6 && self.first <= other.last && other.first <= self.last
    }
}

/// Parses one `spec.addresses` entry.
pub(crate) fn parse_entry(entry: &str) -> Result<ParsedEntry, Reason> {
    if entry.contains('-') {
        parse_range(entry)
    } else {
        parse_cidr(entry)
    }
}

fn parse_cidr(entry: &str) -> Result<ParsedEntry, Reason> {
    let bad = |detail: &str| Reason::InvalidCidr {
        value: entry.to_string(),
        detail: detail.to_string(),
    };
    let (addr, len) = entry
        .split_once('/')
        .ok_or_else(|| bad("a CIDR needs a prefix length, like /32"))?;
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| bad(&format!("{addr:?} is not an IP address")))?;
    if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(&format!("{len:?} is not a prefix length")));
    }
    let len: u8 = len
        .parse()
        .map_err(|_| bad(&format!("{len:?} is not a prefix length")))?;
    let net = IpNet::new(ip, len)
        .map_err(|_| {
            let max = if ip.is_ipv4() { 32 } else { 128 };
            bad(&format!("prefix length /{len} is longer than /{max}"))
        })?
        .trunc();
    let (first, last) = bounds(&net);
    Ok(ParsedEntry {
        first,
        last,
        v6: ip.is_ipv6(),
        cidrs: vec![net],
    })
}

fn parse_range(entry: &str) -> Result<ParsedEntry, Reason> {
    let bad = |detail: String| Reason::InvalidRange {
        value: entry.to_string(),
        detail,
    };
    let (a, b) = entry
        .split_once('-')
        .ok_or_else(|| bad("expected START-END".to_string()))?;
    let (a, b) = (a.trim(), b.trim());
    let start: IpAddr = a
        .parse()
        .map_err(|_| bad(format!("start {a:?} is not an IP address")))?;
    let end: IpAddr = b
        .parse()
        .map_err(|_| bad(format!("end {b:?} is not an IP address")))?;
    let (first, last, v6) = match (start, end) {
        (IpAddr::V4(s), IpAddr::V4(e)) => {
            (u128::from(u32::from(s)), u128::from(u32::from(e)), false)
        }
        (IpAddr::V6(s), IpAddr::V6(e)) => (u128::from(s), u128::from(e), true),
        _ => return Err(bad("start and end are of different IP families".to_string())),
    };
    if first > last {
        return Err(Reason::ReversedRange {
            value: entry.to_string(),
        });
    }
    Ok(ParsedEntry {
        first,
        last,
        v6,
        cidrs: summarize(first, last, v6),
    })
}

fn bounds(net: &IpNet) -> (u128, u128) {
    match net {
        IpNet::V4(n) => (
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        ),
        IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
    }
}

/// The fewest prefixes covering exactly `first..=last`.
fn summarize(first: u128, last: u128, v6: bool) -> Vec<IpNet> {
    let width: u32 = if v6 { 128 } else { 32 };
    let mut out = Vec::new();
    let mut cur = first;
    loop {
        // Largest block aligned at `cur` that does not pass `last`.
        let align = if cur == 0 {
            width
        } else {
            cur.trailing_zeros().min(width)
        };
        let mut bits = align;
        while bits > 0 {
            let span_minus_one = if bits >= 128 {
                u128::MAX
            } else {
                (1u128 << bits) - 1
            };
            if cur
                .checked_add(span_minus_one)
                .is_some_and(|end| end <= last)
            {
                break;
            }
            bits -= 1;
        }
        let prefix_len = (width - bits) as u8;
        let net = if v6 {
            IpNet::new(IpAddr::V6(Ipv6Addr::from(cur)), prefix_len)
        } else {
            IpNet::new(IpAddr::V4(Ipv4Addr::from(cur as u32)), prefix_len)
        };
        if let Ok(net) = net {
            out.push(net);
        }
        let span_minus_one = if bits >= 128 {
            u128::MAX
        } else {
            (1u128 << bits) - 1
        };
        match cur.checked_add(span_minus_one) {
            Some(end) if end < last => cur = end + 1,
            _ => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidrs(entry: &str) -> Vec<String> {
        parse_entry(entry)
            .map(|p| p.cidrs.iter().map(|c| c.to_string()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn ranges_summarise_to_the_fewest_prefixes() {
        assert_eq!(
            cidrs("10.0.3.100-10.0.3.150"),
            [
                "10.0.3.100/30",
                "10.0.3.104/29",
                "10.0.3.112/28",
                "10.0.3.128/28",
                "10.0.3.144/30",
                "10.0.3.148/31",
                "10.0.3.150/32"
            ]
        );
        assert_eq!(cidrs("0.0.0.0-255.255.255.255"), ["0.0.0.0/0"]);
        assert_eq!(
            cidrs("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            ["::/0"]
        );
        assert_eq!(
            cidrs("2001:db8::1 - 2001:db8::2"),
            ["2001:db8::1/128", "2001:db8::2/128"]
        );
        assert_eq!(cidrs("192.0.2.7-192.0.2.7"), ["192.0.2.7/32"]);
    }

    #[test]
    fn cidrs_are_masked_like_go() {
        assert_eq!(cidrs("192.0.2.77/24"), ["192.0.2.0/24"]);
    }
}
