//! Byte-level helpers shared by the message decoders and encoders: a bounds-checked reader
//! (every read returns `None` instead of panicking) and NLRI prefix encoding (RFC 4271 §4.3).

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// A cursor over received bytes. Reads past the end return `None`.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    pub(crate) fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn ipv4(&mut self) -> Option<Ipv4Addr> {
        self.u32().map(Ipv4Addr::from)
    }

    pub(crate) fn ipv6(&mut self) -> Option<Ipv6Addr> {
        let b = self.take(16)?;
        let mut a = [0u8; 16];
        a.copy_from_slice(b);
        Some(Ipv6Addr::from(a))
    }

    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let s = &self.buf[self.pos..];
        self.pos = self.buf.len();
        s
    }
}

/// Why a run of NLRI prefixes could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NlriError {
    /// The length octet exceeds the address width.
    PrefixTooLong,
    /// The prefix bytes run past the end of the field.
    Truncated,
}

/// Read `Length | Prefix` pairs until the field ends (RFC 4271 §4.3). Host bits beyond the
/// prefix length are cleared, as every implementation does.
pub(crate) fn read_ipv4_prefixes(buf: &[u8]) -> Result<Vec<Ipv4Net>, NlriError> {
    let mut r = Reader::new(buf);
    let mut out = Vec::with_capacity(buf.len() / 5);
    while !r.is_empty() {
        let len = r.u8().ok_or(NlriError::Truncated)?;
        if len > 32 {
            return Err(NlriError::PrefixTooLong);
        }
        let bytes = r
            .take(usize::from(len).div_ceil(8))
            .ok_or(NlriError::Truncated)?;
        let mut a = [0u8; 4];
        a[..bytes.len()].copy_from_slice(bytes);
        let net = Ipv4Net::new(Ipv4Addr::from(a), len).map_err(|_| NlriError::PrefixTooLong)?;
        out.push(net.trunc());
    }
    Ok(out)
}

/// IPv6 twin of [`read_ipv4_prefixes`].
pub(crate) fn read_ipv6_prefixes(buf: &[u8]) -> Result<Vec<Ipv6Net>, NlriError> {
    let mut r = Reader::new(buf);
    let mut out = Vec::with_capacity(buf.len() / 17);
    while !r.is_empty() {
        let len = r.u8().ok_or(NlriError::Truncated)?;
        if len > 128 {
            return Err(NlriError::PrefixTooLong);
        }
        let bytes = r
            .take(usize::from(len).div_ceil(8))
            .ok_or(NlriError::Truncated)?;
        let mut a = [0u8; 16];
        a[..bytes.len()].copy_from_slice(bytes);
        let net = Ipv6Net::new(Ipv6Addr::from(a), len).map_err(|_| NlriError::PrefixTooLong)?;
        out.push(net.trunc());
    }
    Ok(out)
}

/// Encoded size of one prefix in NLRI form.
pub fn prefix_wire_len(net: &IpNet) -> usize {
    1 + usize::from(net.prefix_len()).div_ceil(8)
}

/// Append one prefix in NLRI form.
pub(crate) fn put_prefix(out: &mut Vec<u8>, net: &IpNet) {
    let len = net.prefix_len();
    let n = usize::from(len).div_ceil(8);
    out.push(len);
    match net {
        IpNet::V4(v4) => out.extend_from_slice(&v4.network().octets()[..n]),
        IpNet::V6(v6) => out.extend_from_slice(&v6.network().octets()[..n]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_never_reads_past_the_end() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16(), Some(0x0102));
        assert_eq!(r.u16(), None);
        assert_eq!(r.u8(), Some(3));
        assert_eq!(r.u8(), None);
        assert_eq!(r.take(usize::MAX), None);
    }

    #[test]
    fn prefixes_round_trip_and_host_bits_are_cleared() {
        let got = read_ipv4_prefixes(&[24, 198, 51, 100, 32, 192, 0, 2, 1, 0]).unwrap();
        assert_eq!(
            got,
            vec![
                "198.51.100.0/24".parse::<Ipv4Net>().unwrap(),
                "192.0.2.1/32".parse().unwrap(),
                "0.0.0.0/0".parse().unwrap()
            ]
        );
        assert_eq!(
            read_ipv4_prefixes(&[23, 198, 51, 101]).unwrap(),
            vec!["198.51.100.0/23".parse::<Ipv4Net>().unwrap()]
        );
        assert_eq!(
            read_ipv4_prefixes(&[33, 1, 1, 1, 1, 1]),
            Err(NlriError::PrefixTooLong)
        );
        assert_eq!(read_ipv4_prefixes(&[24, 1, 1]), Err(NlriError::Truncated));
        assert_eq!(read_ipv6_prefixes(&[129]), Err(NlriError::PrefixTooLong));
        let mut out = Vec::new();
        put_prefix(&mut out, &"2001:db8::/32".parse().unwrap());
        assert_eq!(out, [32, 0x20, 0x01, 0x0d, 0xb8]);
        assert_eq!(
            read_ipv6_prefixes(&out).unwrap(),
            vec!["2001:db8::/32".parse::<Ipv6Net>().unwrap()]
        );
    }
}
