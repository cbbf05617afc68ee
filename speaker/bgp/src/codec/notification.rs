//! NOTIFICATION (RFC 4271 §4.5) and ROUTE-REFRESH (RFC 2918, RFC 7313) bodies.

use super::error::{DecodeError, code};
use super::open::Family;

/// NOTIFICATION body.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Error code    | Error subcode |   Data (variable)             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub code: u8,
    pub subcode: u8,
    pub data: Vec<u8>,
}

/// Cease subcodes (RFC 4486).
pub mod cease {
    pub const MAX_PREFIXES: u8 = 1;
    pub const ADMINISTRATIVE_SHUTDOWN: u8 = 2;
    pub const PEER_DECONFIGURED: u8 = 3;
    pub const ADMINISTRATIVE_RESET: u8 = 4;
    pub const CONNECTION_REJECTED: u8 = 5;
    pub const OTHER_CONFIGURATION_CHANGE: u8 = 6;
    pub const CONNECTION_COLLISION_RESOLUTION: u8 = 7;
    pub const OUT_OF_RESOURCES: u8 = 8;
    pub const HARD_RESET: u8 = 9;
}

impl Notification {
    pub fn new(code: u8, subcode: u8) -> Self {
        Self {
            code,
            subcode,
            data: Vec::new(),
        }
    }

    pub fn cease(subcode: u8) -> Self {
        Self::new(code::CEASE, subcode)
    }

    pub(crate) fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        match body {
            [c, s, data @ ..] => Ok(Self {
                code: *c,
                subcode: *s,
                data: data.to_vec(),
            }),
            // The header check guarantees 21 octets; kept total for direct callers.
            _ => Err(DecodeError::BadMessageLength {
                length: (super::HEADER_LEN + body.len()) as u16,
            }),
        }
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.code);
        out.push(self.subcode);
        out.extend_from_slice(&self.data);
    }
}

impl std::fmt::Display for Notification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match (self.code, self.subcode) {
            (1, _) => "message header error",
            (2, 6) => "OPEN error: unacceptable hold time",
            (2, 2) => "OPEN error: bad peer AS",
            (2, _) => "OPEN message error",
            (3, _) => "UPDATE message error",
            (4, _) => "hold timer expired",
            (5, _) => "finite state machine error",
            (6, 2) => "cease: administrative shutdown",
            (6, 7) => "cease: connection collision resolution",
            (6, _) => "cease",
            (7, _) => "ROUTE-REFRESH message error",
            _ => "unknown error",
        };
        write!(f, "{name} ({}/{})", self.code, self.subcode)
    }
}

/// ROUTE-REFRESH body (RFC 2918; subtype per RFC 7313: 0 request, 1 BoRR, 2 EoRR).
///
/// ```text
///  0       7      15      23      31
/// +-------+-------+-------+-------+
/// |      AFI      | Subtype | SAFI|
/// +-------+-------+-------+-------+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteRefresh {
    pub family: Family,
    pub subtype: u8,
}

impl RouteRefresh {
    pub(crate) fn decode(body: &[u8], whole: &[u8]) -> Result<Self, DecodeError> {
        match body {
            [a0, a1, subtype, safi] => Ok(Self {
                family: Family {
                    afi: u16::from_be_bytes([*a0, *a1]),
                    safi: *safi,
                },
                subtype: *subtype,
            }),
            _ => Err(DecodeError::RouteRefreshInvalidLength {
                message: whole.to_vec(),
            }),
        }
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.family.afi.to_be_bytes());
        out.push(self.subtype);
        out.push(self.family.safi);
    }
}
