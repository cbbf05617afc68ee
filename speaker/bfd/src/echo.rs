//! FRR's BFD echo packet (UDP 3785). RFC 5880 leaves the echo payload to the sender; FRR's bfdd
//! uses this 24-byte layout, and it is the only echo implementation we interoperate with.
//!
//! ```text
//!  0                   1                   2                   3
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Version (1)  |  Length (24)  |           Reserved            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 My Discriminator (of the sender)              |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 Time sent, seconds (64 bit)                   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 Time sent, microseconds (64 bit)              |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! A packet that arrives with TTL (hop limit) 255 was sent by the peer and is looped back with
//! TTL 254; one that arrives with TTL 254 is our own coming back. FRR loops IPv4 echo in the
//! forwarding plane (the frame carries source = destination = the sender's address), so on IPv4
//! the reflection is the kernel's forwarding; IPv6 echo is reflected by the driver.

use thiserror::Error;

/// Echo payload length.
pub const ECHO_LEN: usize = 24;
/// FRR's echo version.
pub const ECHO_VERSION: u8 = 1;

/// A decoded echo packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EchoPacket {
    pub my_discriminator: u32,
    pub sent_sec: u64,
    pub sent_usec: u64,
}

/// Why an echo packet was dropped.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EchoDecodeError {
    #[error("echo packet is {0} bytes, expected at least 24")]
    Truncated(usize),
    #[error("echo version {0}, expected 1")]
    BadVersion(u8),
    #[error("echo length field {0}, expected 24")]
    BadLength(u8),
    #[error("echo discriminator is zero")]
    ZeroDiscriminator,
}

impl EchoDecodeError {
    pub fn metric_label(&self) -> &'static str {
        match self {
            EchoDecodeError::Truncated(_) => "echo_truncated",
            EchoDecodeError::BadVersion(_) => "echo_wrong_version",
            EchoDecodeError::BadLength(_) => "echo_bad_length",
            EchoDecodeError::ZeroDiscriminator => "echo_zero_discriminator",
        }
    }
}

fn be64(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(w)
}

/// Decode an echo payload.
pub fn decode_echo(buf: &[u8]) -> Result<EchoPacket, EchoDecodeError> {
    if buf.len() < ECHO_LEN {
        return Err(EchoDecodeError::Truncated(buf.len()));
    }
    if buf[0] != ECHO_VERSION {
        return Err(EchoDecodeError::BadVersion(buf[0]));
    }
    if usize::from(buf[1]) != ECHO_LEN {
        return Err(EchoDecodeError::BadLength(buf[1]));
    }
    let my_discriminator = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
    if my_discriminator == 0 {
        return Err(EchoDecodeError::ZeroDiscriminator);
    }
    Ok(EchoPacket {
        my_discriminator,
        sent_sec: be64(buf, 8),
        sent_usec: be64(buf, 16),
    })
}

impl EchoPacket {
    pub fn encode(&self) -> [u8; ECHO_LEN] {
        let mut out = [0u8; ECHO_LEN];
        out[0] = ECHO_VERSION;
        out[1] = ECHO_LEN as u8;
        out[4..8].copy_from_slice(&self.my_discriminator.to_be_bytes());
        out[8..16].copy_from_slice(&self.sent_sec.to_be_bytes());
        out[16..24].copy_from_slice(&self.sent_usec.to_be_bytes());
        out
    }
}

/// The IPv4 packet FRR-style echo needs on the wire: source = destination = our own address,
/// UDP `port` both ways, TTL 255, so the peer's forwarding plane sends it straight back (arriving
/// with TTL 254). The driver hands it to a raw socket addressed to the peer, whose MAC the frame
/// then carries. Checksums are filled in (FRR verifies the UDP one on its own echo).
pub fn ipv4_loop_packet(local: std::net::Ipv4Addr, port: u16, payload: &[u8]) -> Vec<u8> {
    let udp_len = 8 + payload.len();
    let total = 20 + udp_len;
    let mut p = Vec::with_capacity(total);
    p.extend_from_slice(&[0x45, 0xc0]); // version 4, IHL 5; TOS: internetwork control
    p.extend_from_slice(&(total as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x40, 0]); // id 0 (kernel fills), DF
    p.extend_from_slice(&[255, 17, 0, 0]); // TTL 255, UDP, checksum below
    p.extend_from_slice(&local.octets());
    p.extend_from_slice(&local.octets());
    let ip_sum = checksum(&[&p[..20]]);
    p[10..12].copy_from_slice(&ip_sum.to_be_bytes());
    let mut udp = Vec::with_capacity(udp_len);
    udp.extend_from_slice(&port.to_be_bytes());
    udp.extend_from_slice(&port.to_be_bytes());
    udp.extend_from_slice(&(udp_len as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    let mut pseudo = Vec::with_capacity(12);
    pseudo.extend_from_slice(&local.octets());
    pseudo.extend_from_slice(&local.octets());
    pseudo.extend_from_slice(&[0, 17]);
    pseudo.extend_from_slice(&(udp_len as u16).to_be_bytes());
    let mut udp_sum = checksum(&[&pseudo, &udp]);
    if udp_sum == 0 {
        udp_sum = 0xffff;
    }
    udp[6..8].copy_from_slice(&udp_sum.to_be_bytes());
    p.extend_from_slice(&udp);
    p
}

/// RFC 1071 Internet checksum over the concatenation of `parts`.
fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    let mut odd: Option<u8> = None;
    for part in parts {
        for &b in *part {
            match odd.take() {
                Some(hi) => sum += u32::from(u16::from_be_bytes([hi, b])),
                None => odd = Some(b),
            }
        }
    }
    if let Some(hi) = odd {
        sum += u32::from(u16::from_be_bytes([hi, 0]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loop_packet_layout_and_checksums() {
        let payload = EchoPacket {
            my_discriminator: 0x0102_0304,
            sent_sec: 1,
            sent_usec: 2,
        }
        .encode();
        let local = std::net::Ipv4Addr::new(192, 0, 2, 1);
        let p = ipv4_loop_packet(local, 3785, &payload);
        assert_eq!(p.len(), 52);
        assert_eq!(&p[..4], &[0x45, 0xc0, 0, 52]);
        assert_eq!((p[8], p[9]), (255, 17));
        assert_eq!(&p[12..16], &local.octets());
        assert_eq!(&p[16..20], &local.octets());
        // A correct checksum sums (with itself) to zero.
        assert_eq!(checksum(&[&p[..20]]), 0);
        let mut pseudo = local.octets().to_vec();
        pseudo.extend_from_slice(&local.octets());
        pseudo.extend_from_slice(&[0, 17, 0, 32]);
        assert_eq!(checksum(&[&pseudo, &p[20..]]), 0);
        assert_eq!(&p[20..26], &[0x0e, 0xc9, 0x0e, 0xc9, 0, 32]);
        assert_eq!(&p[28..], &payload[..]);
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3 example words: 0001 f203 f4f5 f6f7 → sum ddf2, checksum 220d.
        assert_eq!(
            checksum(&[&[0x00, 0x01, 0xf2, 0x03], &[0xf4, 0xf5, 0xf6, 0xf7]]),
            0x220d
        );
    }
}
