//! Path attributes (RFC 4271 §4.3, §5) with RFC 7606 error handling: ORIGIN, AS_PATH,
//! NEXT_HOP, MULTI_EXIT_DISC, LOCAL_PREF, ATOMIC_AGGREGATE, AGGREGATOR, COMMUNITIES (RFC 1997),
//! MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760), AS4_PATH / AS4_AGGREGATOR (RFC 6793),
//! LARGE_COMMUNITIES (RFC 8092).
//!
//! Each attribute on the wire:
//! ```text
//! 0                   1
//! 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |O|T|P|E| flags | Type Code     |  then Length (1 octet, or 2 when E is set), Value
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::error::{DecodeError, EncodeError, ErrorAction, UpdateError};
use super::open::{AS_TRANS, Family};
use super::wire::{NlriError, Reader, put_prefix, read_ipv4_prefixes, read_ipv6_prefixes};

pub const FLAG_OPTIONAL: u8 = 0x80;
pub const FLAG_TRANSITIVE: u8 = 0x40;
pub const FLAG_PARTIAL: u8 = 0x20;
pub const FLAG_EXTENDED_LENGTH: u8 = 0x10;

/// Attribute type codes.
pub mod attr {
    pub const ORIGIN: u8 = 1;
    pub const AS_PATH: u8 = 2;
    pub const NEXT_HOP: u8 = 3;
    pub const MED: u8 = 4;
    pub const LOCAL_PREF: u8 = 5;
    pub const ATOMIC_AGGREGATE: u8 = 6;
    pub const AGGREGATOR: u8 = 7;
    pub const COMMUNITIES: u8 = 8;
    pub const MP_REACH_NLRI: u8 = 14;
    pub const MP_UNREACH_NLRI: u8 = 15;
    pub const AS4_PATH: u8 = 17;
    pub const AS4_AGGREGATOR: u8 = 18;
    pub const LARGE_COMMUNITIES: u8 = 32;
}

/// ORIGIN value (RFC 4271 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Origin {
    #[default]
    Igp = 0,
    Egp = 1,
    Incomplete = 2,
}

/// AS_PATH segment type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SegmentKind {
    Set = 1,
    Sequence = 2,
    ConfedSequence = 3,
    ConfedSet = 4,
}

/// One AS_PATH segment: type (1), count of ASes (1), then 2- or 4-octet AS numbers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AsSegment {
    pub kind: SegmentKind,
    pub asns: Vec<u32>,
}

impl AsSegment {
    pub fn sequence(asns: Vec<u32>) -> Self {
        Self {
            kind: SegmentKind::Sequence,
            asns,
        }
    }
}

/// LARGE_COMMUNITIES entry: Global Administrator, Local Data Part 1, Local Data Part 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LargeCommunity {
    pub global: u32,
    pub local1: u32,
    pub local2: u32,
}

/// Next hop carried in MP_REACH_NLRI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MpNextHop {
    V4(Ipv4Addr),
    /// 16 octets (global) or 32 (global + link-local; BIRD may send `::` as the global).
    V6 {
        global: Ipv6Addr,
        link_local: Option<Ipv6Addr>,
    },
}

/// MP_REACH_NLRI (RFC 4760 §3).
///
/// ```text
/// +---------------------------------------------------------+
/// | Address Family Identifier (2 octets)                    |
/// +---------------------------------------------------------+
/// | Subsequent Address Family Identifier (1 octet)          |
/// +---------------------------------------------------------+
/// | Length of Next Hop Network Address (1 octet)            |
/// +---------------------------------------------------------+
/// | Network Address of Next Hop (variable)                  |
/// +---------------------------------------------------------+
/// | Reserved (1 octet)                                      |
/// +---------------------------------------------------------+
/// | Network Layer Reachability Information (variable)       |
/// +---------------------------------------------------------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpReach {
    pub family: Family,
    pub next_hop: MpNextHop,
    pub nlri: Vec<IpNet>,
}

/// MP_UNREACH_NLRI (RFC 4760 §4): AFI (2), SAFI (1), Withdrawn Routes (variable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpUnreach {
    pub family: Family,
    pub withdrawn: Vec<IpNet>,
}

/// An attribute we do not interpret, kept verbatim (flags without the extended-length bit,
/// which the encoder sets from the value length).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawAttribute {
    pub flags: u8,
    pub type_code: u8,
    pub value: Vec<u8>,
}

/// The path attributes of one UPDATE. AS numbers are always 4-octet here: on a 2-octet
/// session the decoder merges AS4_PATH into `as_path` and the encoder splits it again.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PathAttributes {
    pub origin: Option<Origin>,
    pub as_path: Option<Vec<AsSegment>>,
    pub next_hop: Option<Ipv4Addr>,
    pub med: Option<u32>,
    pub local_pref: Option<u32>,
    pub atomic_aggregate: bool,
    pub aggregator: Option<(u32, Ipv4Addr)>,
    pub communities: Vec<u32>,
    pub large_communities: Vec<LargeCommunity>,
    pub mp_reach: Option<MpReach>,
    pub mp_unreach: Option<MpUnreach>,
    pub unknown: Vec<RawAttribute>,
}

/// Result of attribute decoding: the attributes plus RFC 7606 outcomes.
pub(crate) struct DecodedAttributes {
    pub attrs: PathAttributes,
    pub treat_as_withdraw: Option<UpdateError>,
    pub discarded: Vec<UpdateError>,
}

/// Expected (optional, transitive) bits per known type.
fn expected_flags(type_code: u8) -> Option<(bool, bool)> {
    use attr::*;
    match type_code {
        ORIGIN | AS_PATH | NEXT_HOP | LOCAL_PREF | ATOMIC_AGGREGATE => Some((false, true)),
        MED | MP_REACH_NLRI | MP_UNREACH_NLRI => Some((true, false)),
        AGGREGATOR | COMMUNITIES | AS4_PATH | AS4_AGGREGATOR | LARGE_COMMUNITIES => {
            Some((true, true))
        }
        _ => None,
    }
}

fn read_as_path(value: &[u8], four_octet: bool) -> Option<Vec<AsSegment>> {
    let mut r = Reader::new(value);
    let mut segs = Vec::new();
    while !r.is_empty() {
        let kind = match r.u8()? {
            1 => SegmentKind::Set,
            2 => SegmentKind::Sequence,
            3 => SegmentKind::ConfedSequence,
            4 => SegmentKind::ConfedSet,
            _ => return None,
        };
        let count = r.u8()?;
        if count == 0 {
            return None;
        }
        let mut asns = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            asns.push(if four_octet {
                r.u32()?
            } else {
                u32::from(r.u16()?)
            });
        }
        segs.push(AsSegment { kind, asns });
    }
    Some(segs)
}

/// Path length for RFC 6793 §4.2.3 (a set counts 1, confederation segments 0).
fn path_len(segs: &[AsSegment]) -> usize {
    segs.iter()
        .map(|s| match s.kind {
            SegmentKind::Sequence => s.asns.len(),
            SegmentKind::Set => 1,
            _ => 0,
        })
        .sum()
}

/// RFC 6793 §4.2.3: keep the leading `AS_PATH` entries the AS4_PATH does not cover.
fn merge_as4_path(as_path: Vec<AsSegment>, as4: Vec<AsSegment>) -> Vec<AsSegment> {
    let (n, m) = (path_len(&as_path), path_len(&as4));
    if n < m {
        return as_path;
    }
    let mut keep = n - m;
    let mut out = Vec::new();
    for seg in as_path {
        if keep == 0 {
            break;
        }
        match seg.kind {
            SegmentKind::Sequence => {
                let take = keep.min(seg.asns.len());
                keep -= take;
                out.push(AsSegment {
                    kind: seg.kind,
                    asns: seg.asns[..take].to_vec(),
                });
            }
            SegmentKind::Set => {
                keep -= 1;
                out.push(seg);
            }
            _ => out.push(seg),
        }
    }
    out.extend(as4);
    out
}

fn mp_family_nlri(family: Family, buf: &[u8]) -> Result<Vec<IpNet>, NlriError> {
    if family == Family::IPV6_UNICAST {
        Ok(read_ipv6_prefixes(buf)?
            .into_iter()
            .map(IpNet::V6)
            .collect())
    } else {
        Ok(read_ipv4_prefixes(buf)?
            .into_iter()
            .map(IpNet::V4)
            .collect())
    }
}

fn decode_mp_reach(value: &[u8], raw: &[u8]) -> Result<Option<MpReach>, DecodeError> {
    let bad = |reason| DecodeError::MalformedMpAttribute {
        reason,
        attribute: raw.to_vec(),
    };
    let mut r = Reader::new(value);
    let afi = r.u16().ok_or(bad("truncated"))?;
    let safi = r.u8().ok_or(bad("truncated"))?;
    let family = Family { afi, safi };
    if family != Family::IPV4_UNICAST && family != Family::IPV6_UNICAST {
        return Ok(None);
    }
    let nh_len = r.u8().ok_or(bad("truncated"))?;
    let next_hop = match (family.afi, nh_len) {
        (1, 4) => MpNextHop::V4(r.ipv4().ok_or(bad("truncated next hop"))?),
        (2, 16) => MpNextHop::V6 {
            global: r.ipv6().ok_or(bad("truncated next hop"))?,
            link_local: None,
        },
        (2, 32) => MpNextHop::V6 {
            global: r.ipv6().ok_or(bad("truncated next hop"))?,
            link_local: Some(r.ipv6().ok_or(bad("truncated next hop"))?),
        },
        _ => return Err(bad("next hop length")),
    };
    r.u8().ok_or(bad("missing reserved octet"))?;
    let nlri = mp_family_nlri(family, r.rest()).map_err(|_| bad("NLRI"))?;
    Ok(Some(MpReach {
        family,
        next_hop,
        nlri,
    }))
}

fn decode_mp_unreach(value: &[u8], raw: &[u8]) -> Result<Option<MpUnreach>, DecodeError> {
    let bad = |reason| DecodeError::MalformedMpAttribute {
        reason,
        attribute: raw.to_vec(),
    };
    let mut r = Reader::new(value);
    let afi = r.u16().ok_or(bad("truncated"))?;
    let safi = r.u8().ok_or(bad("truncated"))?;
    let family = Family { afi, safi };
    if family != Family::IPV4_UNICAST && family != Family::IPV6_UNICAST {
        return Ok(None);
    }
    let withdrawn = mp_family_nlri(family, r.rest()).map_err(|_| bad("withdrawn routes"))?;
    Ok(Some(MpUnreach { family, withdrawn }))
}

/// Decode the Path Attributes field. `has_ipv4_nlri` tells whether the UPDATE's own NLRI
/// field is non-empty (NEXT_HOP is then mandatory).
pub(crate) fn decode_attributes(
    buf: &[u8],
    four_octet: bool,
    has_ipv4_nlri: bool,
) -> Result<DecodedAttributes, DecodeError> {
    use attr::*;
    let mut out = DecodedAttributes {
        attrs: PathAttributes::default(),
        treat_as_withdraw: None,
        discarded: Vec::new(),
    };
    let mut seen = [false; 256];
    let mut as4_path = None;
    let mut r = Reader::new(buf);
    let overrun = DecodeError::MalformedAttributeList {
        reason: "attribute overruns the attribute field",
    };
    while !r.is_empty() {
        let start = buf.len() - r.remaining();
        let flags = r.u8().ok_or(overrun.clone())?;
        let type_code = r.u8().ok_or(overrun.clone())?;
        let len = if flags & FLAG_EXTENDED_LENGTH != 0 {
            r.u16().ok_or(overrun.clone())?
        } else {
            u16::from(r.u8().ok_or(overrun.clone())?)
        };
        let value = r.take(usize::from(len)).ok_or(overrun.clone())?;
        let raw = &buf[start..buf.len() - r.remaining()];
        if seen[usize::from(type_code)] {
            if type_code == MP_REACH_NLRI || type_code == MP_UNREACH_NLRI {
                return Err(DecodeError::MalformedAttributeList {
                    reason: "repeated MP_REACH/MP_UNREACH",
                });
            }
            // RFC 7606 §3.g: keep the first, discard the rest.
            continue;
        }
        seen[usize::from(type_code)] = true;
        let mut fail = |e: UpdateError| match e.action() {
            ErrorAction::TreatAsWithdraw => {
                out.treat_as_withdraw.get_or_insert(e);
            }
            ErrorAction::AttributeDiscard => out.discarded.push(e),
        };
        let Some((opt, trans)) = expected_flags(type_code) else {
            if flags & FLAG_OPTIONAL == 0 {
                return Err(DecodeError::UnrecognizedWellKnownAttribute {
                    attribute: raw.to_vec(),
                });
            }
            out.attrs.unknown.push(RawAttribute {
                flags: flags & !FLAG_EXTENDED_LENGTH,
                type_code,
                value: value.to_vec(),
            });
            continue;
        };
        if (flags & FLAG_OPTIONAL != 0) != opt || (flags & FLAG_TRANSITIVE != 0) != trans {
            if type_code == MP_REACH_NLRI || type_code == MP_UNREACH_NLRI {
                return Err(DecodeError::MalformedMpAttribute {
                    reason: "attribute flags",
                    attribute: raw.to_vec(),
                });
            }
            fail(UpdateError::AttributeFlags {
                type_code,
                attribute: raw.to_vec(),
            });
            continue;
        }
        let length_error = || UpdateError::AttributeLength {
            type_code,
            attribute: raw.to_vec(),
        };
        let a = &mut out.attrs;
        match type_code {
            ORIGIN => match value {
                [0] => a.origin = Some(Origin::Igp),
                [1] => a.origin = Some(Origin::Egp),
                [2] => a.origin = Some(Origin::Incomplete),
                [_] => fail(UpdateError::InvalidOrigin {
                    attribute: raw.to_vec(),
                }),
                _ => fail(length_error()),
            },
            AS_PATH => match read_as_path(value, four_octet) {
                Some(p) => a.as_path = Some(p),
                None => fail(UpdateError::MalformedAsPath {
                    type_code,
                    attribute: raw.to_vec(),
                }),
            },
            NEXT_HOP => match <[u8; 4]>::try_from(value) {
                Ok(b) => {
                    let nh = Ipv4Addr::from(b);
                    if nh.is_unspecified() || nh.is_multicast() || nh.is_broadcast() {
                        fail(UpdateError::InvalidNextHop {
                            attribute: raw.to_vec(),
                        });
                    } else {
                        a.next_hop = Some(nh);
                    }
                }
                Err(_) => fail(length_error()),
            },
            MED | LOCAL_PREF => match <[u8; 4]>::try_from(value) {
                Ok(b) if type_code == MED => a.med = Some(u32::from_be_bytes(b)),
                Ok(b) => a.local_pref = Some(u32::from_be_bytes(b)),
                Err(_) => fail(length_error()),
            },
            ATOMIC_AGGREGATE => {
                if value.is_empty() {
                    a.atomic_aggregate = true;
                } else {
                    fail(length_error());
                }
            }
            AGGREGATOR | AS4_AGGREGATOR => {
                let wide = four_octet || type_code == AS4_AGGREGATOR;
                let mut v = Reader::new(value);
                let asn = if wide {
                    v.u32()
                } else {
                    v.u16().map(u32::from)
                };
                match (asn, v.ipv4(), v.is_empty()) {
                    (Some(asn), Some(ip), true) => {
                        // AS4_AGGREGATOR replaces an AGGREGATOR carrying AS_TRANS (RFC 6793 §4.2.3).
                        if type_code == AGGREGATOR
                            || (!four_octet
                                && a.aggregator.is_none_or(|(x, _)| x == u32::from(AS_TRANS)))
                        {
                            a.aggregator = Some((asn, ip));
                        }
                    }
                    _ => fail(length_error()),
                }
            }
            COMMUNITIES => {
                if value.is_empty() || value.len() % 4 != 0 {
                    fail(length_error());
                } else {
                    a.communities = value
                        .chunks_exact(4)
                        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                        .collect();
                }
            }
            LARGE_COMMUNITIES => {
                if value.is_empty() || value.len() % 12 != 0 {
                    fail(length_error());
                } else {
                    a.large_communities = value
                        .chunks_exact(12)
                        .map(|c| LargeCommunity {
                            global: u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
                            local1: u32::from_be_bytes([c[4], c[5], c[6], c[7]]),
                            local2: u32::from_be_bytes([c[8], c[9], c[10], c[11]]),
                        })
                        .collect();
                }
            }
            AS4_PATH => match read_as_path(value, true) {
                // A 4-octet speaker must ignore AS4_PATH (RFC 6793 §4.1).
                Some(p) if !four_octet => as4_path = Some(p),
                Some(_) => {}
                None => fail(UpdateError::MalformedAsPath {
                    type_code,
                    attribute: raw.to_vec(),
                }),
            },
            MP_REACH_NLRI => match decode_mp_reach(value, raw)? {
                Some(m) => a.mp_reach = Some(m),
                None => a.unknown.push(RawAttribute {
                    flags: flags & !FLAG_EXTENDED_LENGTH,
                    type_code,
                    value: value.to_vec(),
                }),
            },
            MP_UNREACH_NLRI => match decode_mp_unreach(value, raw)? {
                Some(m) => a.mp_unreach = Some(m),
                None => a.unknown.push(RawAttribute {
                    flags: flags & !FLAG_EXTENDED_LENGTH,
                    type_code,
                    value: value.to_vec(),
                }),
            },
            _ => a.unknown.push(RawAttribute {
                flags: flags & !FLAG_EXTENDED_LENGTH,
                type_code,
                value: value.to_vec(),
            }),
        }
    }
    if let Some(p4) = as4_path
        && let Some(p) = out.attrs.as_path.take()
    {
        out.attrs.as_path = Some(merge_as4_path(p, p4));
    }
    let has_mp_nlri = out
        .attrs
        .mp_reach
        .as_ref()
        .is_some_and(|m| !m.nlri.is_empty());
    if (has_ipv4_nlri || has_mp_nlri) && out.treat_as_withdraw.is_none() {
        let mut missing = Vec::new();
        if !seen[usize::from(ORIGIN)] {
            missing.push(ORIGIN);
        }
        if !seen[usize::from(AS_PATH)] {
            missing.push(AS_PATH);
        }
        if has_ipv4_nlri && !seen[usize::from(NEXT_HOP)] {
            missing.push(NEXT_HOP);
        }
        if let Some(&type_code) = missing.first() {
            out.treat_as_withdraw = Some(UpdateError::MissingWellKnownAttribute { type_code });
        }
    }
    Ok(out)
}

fn put_attr(out: &mut Vec<u8>, flags: u8, type_code: u8, value: &[u8]) -> Result<(), EncodeError> {
    let len = u16::try_from(value.len()).map_err(|_| EncodeError::FieldTooLong {
        field: "path attribute",
    })?;
    if len > 255 {
        out.extend_from_slice(&[flags | FLAG_EXTENDED_LENGTH, type_code]);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.extend_from_slice(&[flags & !FLAG_EXTENDED_LENGTH, type_code, len as u8]);
    }
    out.extend_from_slice(value);
    Ok(())
}

fn as_path_value(segs: &[AsSegment], four_octet: bool) -> Result<Vec<u8>, EncodeError> {
    let mut v = Vec::new();
    for s in segs {
        // Long sequences are split into 255-AS segments.
        for chunk in s.asns.chunks(255) {
            v.push(s.kind as u8);
            v.push(chunk.len() as u8);
            for &a in chunk {
                if four_octet {
                    v.extend_from_slice(&a.to_be_bytes());
                } else {
                    v.extend_from_slice(&u16::try_from(a).unwrap_or(AS_TRANS).to_be_bytes());
                }
            }
        }
    }
    Ok(v)
}

impl PathAttributes {
    /// Encode in ascending type-code order. On a 2-octet session, AS numbers above 65535 go
    /// out as AS_TRANS with an AS4_PATH beside them.
    pub fn encode(&self, out: &mut Vec<u8>, four_octet: bool) -> Result<(), EncodeError> {
        use attr::*;
        const WK: u8 = FLAG_TRANSITIVE;
        const OPT: u8 = FLAG_OPTIONAL;
        const OPT_T: u8 = FLAG_OPTIONAL | FLAG_TRANSITIVE;
        if let Some(o) = self.origin {
            put_attr(out, WK, ORIGIN, &[o as u8])?;
        }
        if let Some(p) = &self.as_path {
            put_attr(out, WK, AS_PATH, &as_path_value(p, four_octet)?)?;
        }
        if let Some(nh) = self.next_hop {
            put_attr(out, WK, NEXT_HOP, &nh.octets())?;
        }
        if let Some(m) = self.med {
            put_attr(out, OPT, MED, &m.to_be_bytes())?;
        }
        if let Some(lp) = self.local_pref {
            put_attr(out, WK, LOCAL_PREF, &lp.to_be_bytes())?;
        }
        if self.atomic_aggregate {
            put_attr(out, WK, ATOMIC_AGGREGATE, &[])?;
        }
        let wide_aggregator = self
            .aggregator
            .filter(|(asn, _)| !four_octet && *asn > 0xffff);
        if let Some((asn, ip)) = self.aggregator {
            let mut v = Vec::with_capacity(8);
            if four_octet {
                v.extend_from_slice(&asn.to_be_bytes());
            } else {
                v.extend_from_slice(&u16::try_from(asn).unwrap_or(AS_TRANS).to_be_bytes());
            }
            v.extend_from_slice(&ip.octets());
            put_attr(out, OPT_T, AGGREGATOR, &v)?;
        }
        if !self.communities.is_empty() {
            let v: Vec<u8> = self
                .communities
                .iter()
                .flat_map(|c| c.to_be_bytes())
                .collect();
            put_attr(out, OPT_T, COMMUNITIES, &v)?;
        }
        if let Some(m) = &self.mp_reach {
            let mut v = Vec::new();
            v.extend_from_slice(&m.family.afi.to_be_bytes());
            v.push(m.family.safi);
            match m.next_hop {
                MpNextHop::V4(a) => {
                    v.push(4);
                    v.extend_from_slice(&a.octets());
                }
                MpNextHop::V6 {
                    global,
                    link_local: None,
                } => {
                    v.push(16);
                    v.extend_from_slice(&global.octets());
                }
                MpNextHop::V6 {
                    global,
                    link_local: Some(ll),
                } => {
                    v.push(32);
                    v.extend_from_slice(&global.octets());
                    v.extend_from_slice(&ll.octets());
                }
            }
            v.push(0);
            for n in &m.nlri {
                put_prefix(&mut v, n);
            }
            put_attr(out, OPT, MP_REACH_NLRI, &v)?;
        }
        if let Some(m) = &self.mp_unreach {
            let mut v = Vec::new();
            v.extend_from_slice(&m.family.afi.to_be_bytes());
            v.push(m.family.safi);
            for n in &m.withdrawn {
                put_prefix(&mut v, n);
            }
            put_attr(out, OPT, MP_UNREACH_NLRI, &v)?;
        }
        if !four_octet {
            if let Some(p) = &self.as_path
                && p.iter().flat_map(|s| &s.asns).any(|a| *a > 0xffff)
            {
                put_attr(out, OPT_T, AS4_PATH, &as_path_value(p, true)?)?;
            }
            if let Some((asn, ip)) = wide_aggregator {
                let mut v = asn.to_be_bytes().to_vec();
                v.extend_from_slice(&ip.octets());
                put_attr(out, OPT_T, AS4_AGGREGATOR, &v)?;
            }
        }
        if !self.large_communities.is_empty() {
            let v: Vec<u8> = self
                .large_communities
                .iter()
                .flat_map(|c| {
                    [
                        c.global.to_be_bytes(),
                        c.local1.to_be_bytes(),
                        c.local2.to_be_bytes(),
                    ]
                })
                .flatten()
                .collect();
            put_attr(out, OPT_T, LARGE_COMMUNITIES, &v)?;
        }
        for u in &self.unknown {
            put_attr(out, u.flags, u.type_code, &u.value)?;
        }
        Ok(())
    }
}
