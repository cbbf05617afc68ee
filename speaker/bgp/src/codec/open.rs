//! OPEN (RFC 4271 §4.2) with Capabilities (RFC 5492): multiprotocol (RFC 4760), route refresh
//! (RFC 2918, and the pre-standard code 128), graceful restart (RFC 4724), 4-octet AS
//! (RFC 6793), extended messages (RFC 8654). Unknown capabilities are kept as raw bytes.

use std::net::Ipv4Addr;

use super::error::{DecodeError, EncodeError};
use super::wire::Reader;

/// AS_TRANS (RFC 6793): the 2-octet stand-in for a 4-octet AS number.
pub const AS_TRANS: u16 = 23456;

/// An address family / subsequent address family pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Family {
    pub afi: u16,
    pub safi: u8,
}

impl Family {
    pub const IPV4_UNICAST: Family = Family { afi: 1, safi: 1 };
    pub const IPV6_UNICAST: Family = Family { afi: 2, safi: 1 };
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Self::IPV4_UNICAST => f.write_str("ipv4-unicast"),
            Self::IPV6_UNICAST => f.write_str("ipv6-unicast"),
            Family { afi, safi } => write!(f, "afi{afi}-safi{safi}"),
        }
    }
}

/// Per-family entry of the graceful restart capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GracefulRestartFamily {
    pub family: Family,
    /// F bit: forwarding state was preserved across the restart.
    pub forwarding_preserved: bool,
}

/// One capability (RFC 5492 §4).
///
/// ```text
/// +------------------------------+
/// | Capability Code (1 octet)    |
/// +------------------------------+
/// | Capability Length (1 octet)  |
/// +------------------------------+
/// | Capability Value (variable)  |
/// +------------------------------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// Code 1: AFI (2), reserved (1), SAFI (1).
    Multiprotocol(Family),
    /// Code 2 (RFC 2918).
    RouteRefresh,
    /// Code 128: pre-standard route refresh, still sent by FRR and Cisco.
    RouteRefreshLegacy,
    /// Code 6 (RFC 8654).
    ExtendedMessage,
    /// Code 64 (RFC 4724): R bit, N bit (RFC 8538), 12-bit restart time, then per family
    /// AFI (2), SAFI (1), flags (1; 0x80 = forwarding state preserved).
    GracefulRestart {
        restart_state: bool,
        notification: bool,
        restart_time: u16,
        families: Vec<GracefulRestartFamily>,
    },
    /// Code 65 (RFC 6793): the 4-octet AS number.
    FourOctetAs(u32),
    /// Anything else, kept so it can be logged; never acted upon.
    Unknown { code: u8, value: Vec<u8> },
}

impl Capability {
    pub fn code(&self) -> u8 {
        match self {
            Self::Multiprotocol(_) => 1,
            Self::RouteRefresh => 2,
            Self::RouteRefreshLegacy => 128,
            Self::ExtendedMessage => 6,
            Self::GracefulRestart { .. } => 64,
            Self::FourOctetAs(_) => 65,
            Self::Unknown { code, .. } => *code,
        }
    }

    fn decode(code: u8, value: &[u8]) -> Result<Self, DecodeError> {
        let bad = |reason| DecodeError::MalformedOpen { reason };
        Ok(match code {
            1 => match value {
                [a0, a1, _, safi] => Self::Multiprotocol(Family {
                    afi: u16::from_be_bytes([*a0, *a1]),
                    safi: *safi,
                }),
                _ => return Err(bad("multiprotocol capability length")),
            },
            2 | 128 | 6 if !value.is_empty() => {
                return Err(bad("zero-length capability with a value"));
            }
            2 => Self::RouteRefresh,
            128 => Self::RouteRefreshLegacy,
            6 => Self::ExtendedMessage,
            64 => {
                if value.len() < 2 || !(value.len() - 2).is_multiple_of(4) {
                    return Err(bad("graceful restart capability length"));
                }
                let head = u16::from_be_bytes([value[0], value[1]]);
                let families = value[2..]
                    .chunks_exact(4)
                    .map(|c| GracefulRestartFamily {
                        family: Family {
                            afi: u16::from_be_bytes([c[0], c[1]]),
                            safi: c[2],
                        },
                        forwarding_preserved: c[3] & 0x80 != 0,
                    })
                    .collect();
                Self::GracefulRestart {
                    restart_state: head & 0x8000 != 0,
                    notification: head & 0x4000 != 0,
                    restart_time: head & 0x0fff,
                    families,
                }
            }
            65 => match value {
                [a, b, c, d] => Self::FourOctetAs(u32::from_be_bytes([*a, *b, *c, *d])),
                _ => return Err(bad("4-octet AS capability length")),
            },
            _ => Self::Unknown {
                code,
                value: value.to_vec(),
            },
        })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.push(self.code());
        let len_at = out.len();
        out.push(0);
        match self {
            Self::Multiprotocol(f) => {
                out.extend_from_slice(&f.afi.to_be_bytes());
                out.push(0);
                out.push(f.safi);
            }
            Self::RouteRefresh | Self::RouteRefreshLegacy | Self::ExtendedMessage => {}
            Self::GracefulRestart {
                restart_state,
                notification,
                restart_time,
                families,
            } => {
                let mut head = restart_time & 0x0fff;
                if *restart_state {
                    head |= 0x8000;
                }
                if *notification {
                    head |= 0x4000;
                }
                out.extend_from_slice(&head.to_be_bytes());
                for f in families {
                    out.extend_from_slice(&f.family.afi.to_be_bytes());
                    out.push(f.family.safi);
                    out.push(if f.forwarding_preserved { 0x80 } else { 0 });
                }
            }
            Self::FourOctetAs(asn) => out.extend_from_slice(&asn.to_be_bytes()),
            Self::Unknown { value, .. } => out.extend_from_slice(value),
        }
        out[len_at] =
            u8::try_from(out.len() - len_at - 1).map_err(|_| EncodeError::FieldTooLong {
                field: "capability",
            })?;
        Ok(())
    }
}

/// OPEN body.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+
/// |    Version    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     My Autonomous System      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           Hold Time           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         BGP Identifier                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Opt Parm Len  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |             Optional Parameters (variable)                    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// Each optional parameter is Type (1), Length (1), Value; type 2 carries capabilities.
/// Version is always 4 (anything else fails to decode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// The 2-octet header AS: the real AS, or [`AS_TRANS`] when it does not fit.
    pub my_as: u16,
    pub hold_time: u16,
    pub bgp_id: Ipv4Addr,
    pub capabilities: Vec<Capability>,
}

impl Open {
    /// An OPEN for `asn`, putting AS_TRANS in the header when `asn` needs 4 octets. The caller
    /// includes [`Capability::FourOctetAs`] in `capabilities`.
    pub fn new(asn: u32, hold_time: u16, bgp_id: Ipv4Addr, capabilities: Vec<Capability>) -> Self {
        let my_as = u16::try_from(asn).unwrap_or(AS_TRANS);
        Self {
            my_as,
            hold_time,
            bgp_id,
            capabilities,
        }
    }

    /// The sender's AS: from the 4-octet AS capability if present, else the header.
    pub fn asn(&self) -> u32 {
        self.four_octet_as().unwrap_or(u32::from(self.my_as))
    }

    pub fn four_octet_as(&self) -> Option<u32> {
        self.capabilities.iter().find_map(|c| match c {
            Capability::FourOctetAs(a) => Some(*a),
            _ => None,
        })
    }

    pub fn has(&self, code: u8) -> bool {
        self.capabilities.iter().any(|c| c.code() == code)
    }

    pub fn supports_family(&self, family: Family) -> bool {
        self.capabilities
            .contains(&Capability::Multiprotocol(family))
    }

    /// RFC 4760 §8: a peer that sends no multiprotocol capability speaks IPv4 unicast only.
    pub fn families(&self) -> Vec<Family> {
        let fams: Vec<Family> = self
            .capabilities
            .iter()
            .filter_map(|c| match c {
                Capability::Multiprotocol(f) => Some(*f),
                _ => None,
            })
            .collect();
        if fams.is_empty() {
            vec![Family::IPV4_UNICAST]
        } else {
            fams
        }
    }

    pub(crate) fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let short = DecodeError::MalformedOpen {
            reason: "truncated",
        };
        let version = r.u8().ok_or(short.clone())?;
        if version != 4 {
            return Err(DecodeError::UnsupportedVersion { version });
        }
        let my_as = r.u16().ok_or(short.clone())?;
        let hold_time = r.u16().ok_or(short.clone())?;
        if hold_time == 1 || hold_time == 2 {
            return Err(DecodeError::UnacceptableHoldTime { hold_time });
        }
        let bgp_id = r.ipv4().ok_or(short.clone())?;
        if bgp_id.is_unspecified() {
            return Err(DecodeError::BadBgpIdentifier { id: bgp_id });
        }
        let opt_len = r.u8().ok_or(short)?;
        if usize::from(opt_len) != r.remaining() {
            return Err(DecodeError::MalformedOpen {
                reason: "optional parameter length",
            });
        }
        let mut capabilities = Vec::new();
        while !r.is_empty() {
            let bad = DecodeError::MalformedOpen {
                reason: "optional parameter overruns",
            };
            let param = r.u8().ok_or(bad.clone())?;
            let len = r.u8().ok_or(bad.clone())?;
            let value = r.take(usize::from(len)).ok_or(bad)?;
            if param != 2 {
                return Err(DecodeError::UnsupportedOptionalParameter { param });
            }
            let mut caps = Reader::new(value);
            while !caps.is_empty() {
                let bad = DecodeError::MalformedOpen {
                    reason: "capability overruns",
                };
                let code = caps.u8().ok_or(bad.clone())?;
                let len = caps.u8().ok_or(bad.clone())?;
                let value = caps.take(usize::from(len)).ok_or(bad)?;
                capabilities.push(Capability::decode(code, value)?);
            }
        }
        Ok(Self {
            my_as,
            hold_time,
            bgp_id,
            capabilities,
        })
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.push(4);
        out.extend_from_slice(&self.my_as.to_be_bytes());
        out.extend_from_slice(&self.hold_time.to_be_bytes());
        out.extend_from_slice(&self.bgp_id.octets());
        let mut caps = Vec::new();
        for c in &self.capabilities {
            c.encode(&mut caps)?;
        }
        if caps.is_empty() {
            out.push(0);
            return Ok(());
        }
        let too_long = EncodeError::FieldTooLong {
            field: "optional parameters",
        };
        let cap_len = u8::try_from(caps.len()).map_err(|_| too_long.clone())?;
        out.push(cap_len.checked_add(2).ok_or(too_long)?);
        out.push(2);
        out.push(cap_len);
        out.extend_from_slice(&caps);
        Ok(())
    }
}
