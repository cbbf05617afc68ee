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
