//! RFC 5880 §4.1 control packet codec.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       My Discriminator                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                      Your Discriminator                       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Desired Min TX Interval                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                   Required Min RX Interval                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 Required Min Echo RX Interval                 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Auth Type   |   Auth Len    |    Authentication Data...     |   (only with A)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! [`decode`] applies every check of §6.8.6 that depends on the packet alone (version, length
//! fields, multiplier, Multipoint, discriminators, the shape of the authentication section); the
//! checks that need a session (TTL, unknown session, authentication not configured) live in the
//! driver and the session. Every error has a [`DecodeError::metric_label`].

use thiserror::Error;

/// The only BFD version (RFC 5880).
pub const VERSION: u8 = 1;
/// Length of a control packet without an authentication section.
pub const CONTROL_LEN: usize = 24;

/// Session state as carried in the `Sta` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    AdminDown = 0,
    Down = 1,
    Init = 2,
    Up = 3,
}

impl State {
    fn from_bits(bits: u8) -> State {
        match bits & 0b11 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }

    /// Lower-case name, as FRR prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            State::AdminDown => "admin-down",
            State::Down => "down",
            State::Init => "init",
            State::Up => "up",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Diagnostic code (RFC 5880 §4.1). Values 9–31 are reserved and kept as they came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Diagnostic {
    None,
    ControlDetectionTimeExpired,
    EchoFunctionFailed,
    NeighborSignaledSessionDown,
    ForwardingPlaneReset,
    PathDown,
    ConcatenatedPathDown,
    AdministrativelyDown,
    ReverseConcatenatedPathDown,
    Reserved(u8),
}

impl Diagnostic {
    pub fn from_code(code: u8) -> Diagnostic {
        match code & 0x1f {
            0 => Diagnostic::None,
            1 => Diagnostic::ControlDetectionTimeExpired,
            2 => Diagnostic::EchoFunctionFailed,
            3 => Diagnostic::NeighborSignaledSessionDown,
            4 => Diagnostic::ForwardingPlaneReset,
            5 => Diagnostic::PathDown,
            6 => Diagnostic::ConcatenatedPathDown,
            7 => Diagnostic::AdministrativelyDown,
            8 => Diagnostic::ReverseConcatenatedPathDown,
            other => Diagnostic::Reserved(other),
        }
    }

    pub fn code(self) -> u8 {
        match self {
            Diagnostic::None => 0,
            Diagnostic::ControlDetectionTimeExpired => 1,
            Diagnostic::EchoFunctionFailed => 2,
            Diagnostic::NeighborSignaledSessionDown => 3,
            Diagnostic::ForwardingPlaneReset => 4,
            Diagnostic::PathDown => 5,
            Diagnostic::ConcatenatedPathDown => 6,
            Diagnostic::AdministrativelyDown => 7,
            Diagnostic::ReverseConcatenatedPathDown => 8,
            Diagnostic::Reserved(c) => c & 0x1f,
        }
    }
}

/// Authentication type (RFC 5880 §4.2–4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthType {
    SimplePassword,
    KeyedMd5,
    MeticulousKeyedMd5,
    KeyedSha1,
    MeticulousKeyedSha1,
}

impl AuthType {
    fn from_code(code: u8) -> Option<AuthType> {
        Some(match code {
            1 => AuthType::SimplePassword,
            2 => AuthType::KeyedMd5,
            3 => AuthType::MeticulousKeyedMd5,
            4 => AuthType::KeyedSha1,
            5 => AuthType::MeticulousKeyedSha1,
            _ => return None,
        })
    }

    pub fn code(self) -> u8 {
        match self {
            AuthType::SimplePassword => 1,
            AuthType::KeyedMd5 => 2,
            AuthType::MeticulousKeyedMd5 => 3,
            AuthType::KeyedSha1 => 4,
            AuthType::MeticulousKeyedSha1 => 5,
        }
    }

    /// Whether `len` (the Auth Len field, header included) is valid for this type.
    fn len_ok(self, len: usize) -> bool {
        match self {
            // Type, Len, Key ID + a 1..=16 byte password.
            AuthType::SimplePassword => (4..=19).contains(&len),
            AuthType::KeyedMd5 | AuthType::MeticulousKeyedMd5 => len == 24,
            AuthType::KeyedSha1 | AuthType::MeticulousKeyedSha1 => len == 28,
        }
    }
}

/// An authentication section, parsed for shape only. Lodestone does not configure BFD
/// authentication, so a session drops packets carrying one (RFC 5880 §6.8.6); it is kept so that
/// re-encoding is byte-exact and the drop reason is precise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSection {
    pub auth_type: AuthType,
    /// Everything after the Auth Type and Auth Len bytes.
    pub data: Vec<u8>,
}

/// A decoded BFD control packet. Intervals are in microseconds, as on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlPacket {
    pub diagnostic: Diagnostic,
    pub state: State,
    pub poll: bool,
    pub final_: bool,
    pub control_plane_independent: bool,
    pub demand: bool,
    pub detect_mult: u8,
    pub my_discriminator: u32,
    pub your_discriminator: u32,
    pub desired_min_tx_us: u32,
    pub required_min_rx_us: u32,
    pub required_min_echo_rx_us: u32,
    pub auth: Option<AuthSection>,
}

/// Why a received control packet was dropped by the decoder.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("packet is {0} bytes, shorter than the 24-byte control header")]
    Truncated(usize),
    #[error("version {0}, expected 1")]
    BadVersion(u8),
    #[error("length field {field} below the minimum {min}")]
    LengthFieldTooSmall { field: u8, min: usize },
    #[error("length field {field} exceeds the {payload}-byte payload")]
    LengthFieldExceedsPayload { field: u8, payload: usize },
    #[error("detect multiplier is zero")]
    ZeroDetectMultiplier,
    #[error("multipoint bit set")]
    MultipointSet,
    #[error("my discriminator is zero")]
    ZeroMyDiscriminator,
    #[error("your discriminator is zero in state {0}")]
    ZeroYourDiscriminator(State),
    #[error("unknown authentication type {0}")]
    UnknownAuthType(u8),
    #[error("authentication length {len} invalid for type {auth_type}")]
    BadAuthLength { auth_type: u8, len: u8 },
}

impl DecodeError {
    /// Short label for the drop counter.
    pub fn metric_label(&self) -> &'static str {
        match self {
            DecodeError::Truncated(_) => "truncated",
            DecodeError::BadVersion(_) => "wrong_version",
            DecodeError::LengthFieldTooSmall { .. } => "length_too_small",
            DecodeError::LengthFieldExceedsPayload { .. } => "length_exceeds_payload",
            DecodeError::ZeroDetectMultiplier => "zero_detect_multiplier",
            DecodeError::MultipointSet => "multipoint_set",
            DecodeError::ZeroMyDiscriminator => "zero_my_discriminator",
            DecodeError::ZeroYourDiscriminator(_) => "zero_your_discriminator",
            DecodeError::UnknownAuthType(_) => "unknown_auth_type",
            DecodeError::BadAuthLength { .. } => "bad_auth_length",
        }
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_be_bytes(w)
}

/// Decode one control packet (the UDP payload). Bytes after the Length field are ignored, as
/// §6.8.6 allows (the packet is what Length says).
pub fn decode(buf: &[u8]) -> Result<ControlPacket, DecodeError> {
    if buf.len() < CONTROL_LEN {
        return Err(DecodeError::Truncated(buf.len()));
    }
    let version = buf[0] >> 5;
    if version != VERSION {
        return Err(DecodeError::BadVersion(version));
    }
    let flags = buf[1];
    let auth_present = flags & 0x04 != 0;
    let length = buf[3];
    let min = if auth_present {
        CONTROL_LEN + 2
    } else {
        CONTROL_LEN
    };
    if usize::from(length) < min {
        return Err(DecodeError::LengthFieldTooSmall { field: length, min });
    }
    if usize::from(length) > buf.len() {
        return Err(DecodeError::LengthFieldExceedsPayload {
            field: length,
            payload: buf.len(),
        });
    }
    let detect_mult = buf[2];
    if detect_mult == 0 {
        return Err(DecodeError::ZeroDetectMultiplier);
    }
    if flags & 0x01 != 0 {
        return Err(DecodeError::MultipointSet);
    }
    let state = State::from_bits(flags >> 6);
    let my_discriminator = be32(buf, 4);
    if my_discriminator == 0 {
        return Err(DecodeError::ZeroMyDiscriminator);
    }
    let your_discriminator = be32(buf, 8);
    if your_discriminator == 0 && !matches!(state, State::Down | State::AdminDown) {
        return Err(DecodeError::ZeroYourDiscriminator(state));
    }
    let auth = if auth_present {
        let section = &buf[CONTROL_LEN..usize::from(length)];
        let code = section[0];
        let auth_len = section[1];
        let auth_type = AuthType::from_code(code).ok_or(DecodeError::UnknownAuthType(code))?;
        if !auth_type.len_ok(usize::from(auth_len)) || usize::from(auth_len) != section.len() {
            return Err(DecodeError::BadAuthLength {
                auth_type: code,
                len: auth_len,
            });
        }
        Some(AuthSection {
            auth_type,
            data: section[2..].to_vec(),
        })
    } else {
        None
    };
    Ok(ControlPacket {
        diagnostic: Diagnostic::from_code(buf[0]),
        state,
        poll: flags & 0x20 != 0,
        final_: flags & 0x10 != 0,
        control_plane_independent: flags & 0x08 != 0,
        demand: flags & 0x02 != 0,
        detect_mult,
        my_discriminator,
        your_discriminator,
        desired_min_tx_us: be32(buf, 12),
        required_min_rx_us: be32(buf, 16),
        required_min_echo_rx_us: be32(buf, 20),
        auth,
    })
}

impl ControlPacket {
    /// Encoded length in bytes.
    pub fn encoded_len(&self) -> usize {
        CONTROL_LEN + self.auth.as_ref().map_or(0, |a| 2 + a.data.len())
    }

    /// Encode to wire format. Multipoint is always zero (RFC 5880 §4.1).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.push((VERSION << 5) | self.diagnostic.code());
        let mut flags = (self.state as u8) << 6;
        for (set, bit) in [
            (self.poll, 0x20),
            (self.final_, 0x10),
            (self.control_plane_independent, 0x08),
            (self.auth.is_some(), 0x04),
            (self.demand, 0x02),
        ] {
            if set {
                flags |= bit;
            }
        }
        out.push(flags);
        out.push(self.detect_mult);
        // Bounded: an AuthSection only comes from decode (≤ 28 bytes) or from code that builds
        // one explicitly; saturate rather than wrap for the latter.
        out.push(u8::try_from(self.encoded_len()).unwrap_or(u8::MAX));
        for word in [
            self.my_discriminator,
            self.your_discriminator,
            self.desired_min_tx_us,
            self.required_min_rx_us,
            self.required_min_echo_rx_us,
        ] {
            out.extend_from_slice(&word.to_be_bytes());
        }
        if let Some(auth) = &self.auth {
            out.push(auth.auth_type.code());
            out.push(u8::try_from(2 + auth.data.len()).unwrap_or(u8::MAX));
            out.extend_from_slice(&auth.data);
        }
        out
    }
}
