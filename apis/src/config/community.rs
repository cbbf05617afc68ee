//! BGP communities as written in BGPAdvertisement and Community objects.
//!
//! ```text
//!   "65000:100"          ──► Community::Standard(0xFDE8_0064)        (RFC 1997, 16:16)
//!   "large:65000:1:2"    ──► Community::Large { global, local1, local2 } (RFC 8092, 32:32:32)
//!   "high-priority"      ──► alias, looked up in Community objects (else: pending)
//! ```

use std::fmt;

/// One BGP community value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Community {
    /// Classic community `AA:NN`, as the 32-bit value sent on the wire (AA in the high half).
    Standard(u32),
    /// Large community `large:A:B:C`.
    Large {
        /// Global administrator (usually an ASN).
        global: u32,
        /// First local data part.
        local1: u32,
        /// Second local data part.
        local2: u32,
    },
}

/// Why a community string is not a community value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommunityError {
    /// Not of the shape `AA:NN` or `large:A:B:C`. Such a string may be an alias of a
    /// Community object that does not exist yet, so MetalLB treats it as transient.
    #[error("{0:?} is neither AA:NN nor large:A:B:C")]
    Format(String),
    /// The right shape but a part is not a number in range (16 bits for AA:NN, 32 for large).
    #[error("{value:?}: part {part:?} is not a number from 0 to {max}")]
    Value {
        /// The whole community string.
        value: String,
        /// The offending part.
        part: String,
        /// The largest allowed value of that part.
        max: u32,
    },
}

const LARGE_PREFIX: &str = "large:";

impl Community {
    /// Parses `AA:NN` or `large:A:B:C`, like MetalLB's `community.New`.
    pub fn parse(s: &str) -> Result<Self, CommunityError> {
        if let Some(rest) = s.strip_prefix(LARGE_PREFIX) {
            let parts: Vec<&str> = rest.split(':').collect();
            if parts.len() != 3 {
                return Err(CommunityError::Format(s.to_string()));
            }
            let mut n = [0u32; 3];
            for (slot, part) in n.iter_mut().zip(&parts) {
                *slot = parse_part(s, part, u32::MAX)?;
            }
            return Ok(Community::Large {
                global: n[0],
                local1: n[1],
                local2: n[2],
            });
        }
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 2 {
            return Err(CommunityError::Format(s.to_string()));
        }
        let hi = parse_part(s, parts[0], u32::from(u16::MAX))?;
        let lo = parse_part(s, parts[1], u32::from(u16::MAX))?;
        Ok(Community::Standard((hi << 16) | lo))
    }

    /// Whether this is a classic (RFC 1997) community.
    pub fn is_standard(&self) -> bool {
        matches!(self, Community::Standard(_))
    }
}

fn parse_part(whole: &str, part: &str, max: u32) -> Result<u32, CommunityError> {
    let err = || CommunityError::Value {
        value: whole.to_string(),
        part: part.to_string(),
        max,
    };
    // Decimal digits only (Go's ParseUint base 10 rejects signs and spaces too).
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err());
    }
    let v: u64 = part.parse().map_err(|_| err())?;
    u32::try_from(v).ok().filter(|v| *v <= max).ok_or_else(err)
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Community::Standard(v) => write!(f, "{}:{}", v >> 16, v & 0xffff),
            Community::Large {
                global,
                local1,
                local2,
            } => write!(f, "large:{global}:{local1}:{local2}"),
        }
    }
}
