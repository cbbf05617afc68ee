//! UPDATE (RFC 4271 §4.3) and End-of-RIB (RFC 4724 §2).

use ipnet::{IpNet, Ipv4Net};

use super::attributes::{MpUnreach, PathAttributes, decode_attributes};
use super::error::{DecodeError, EncodeError, UpdateError};
use super::open::Family;
use super::wire::{NlriError, Reader, put_prefix, read_ipv4_prefixes};

/// UPDATE body.
///
/// ```text
/// +-----------------------------------------------------+
/// |   Withdrawn Routes Length (2 octets)                |
/// +-----------------------------------------------------+
/// |   Withdrawn Routes (variable)                       |
/// +-----------------------------------------------------+
/// |   Total Path Attribute Length (2 octets)            |
/// +-----------------------------------------------------+
/// |   Path Attributes (variable)                        |
/// +-----------------------------------------------------+
/// |   Network Layer Reachability Information (variable) |
/// +-----------------------------------------------------+
/// ```
/// `treat_as_withdraw` and `discarded` are set by the decoder only (RFC 7606); the encoder
/// ignores them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Update {
    pub withdrawn: Vec<Ipv4Net>,
    pub attributes: PathAttributes,
    pub nlri: Vec<Ipv4Net>,
    /// The first error that makes every NLRI of this UPDATE count as withdrawn.
    pub treat_as_withdraw: Option<UpdateError>,
    /// Attributes dropped on their own (RFC 7606 "attribute discard").
    pub discarded: Vec<UpdateError>,
}

impl Update {
    /// End-of-RIB marker: an empty UPDATE for IPv4 unicast, an UPDATE holding only an empty
    /// MP_UNREACH_NLRI for any other family.
    pub fn end_of_rib(family: Family) -> Self {
        let mut u = Self::default();
        if family != Family::IPV4_UNICAST {
            u.attributes.mp_unreach = Some(MpUnreach {
                family,
                withdrawn: Vec::new(),
            });
        }
        u
    }

    /// The family this UPDATE marks End-of-RIB for, if it is such a marker.
    pub fn end_of_rib_family(&self) -> Option<Family> {
        if !self.withdrawn.is_empty() || !self.nlri.is_empty() {
            return None;
        }
        let a = &self.attributes;
        if *a == PathAttributes::default() {
            return Some(Family::IPV4_UNICAST);
        }
        let only_unreach = PathAttributes {
            mp_unreach: a.mp_unreach.clone(),
            ..Default::default()
        };
        match &a.mp_unreach {
            Some(m) if m.withdrawn.is_empty() && *a == only_unreach => Some(m.family),
            _ => None,
        }
    }

    /// Every prefix this UPDATE announces (own NLRI and MP_REACH).
    pub fn announced(&self) -> impl Iterator<Item = IpNet> + '_ {
        let mp = self
            .attributes
            .mp_reach
            .iter()
            .flat_map(|m| m.nlri.iter().copied());
        self.nlri.iter().map(|n| IpNet::V4(*n)).chain(mp)
    }

    /// Every prefix this UPDATE withdraws (own field and MP_UNREACH).
    pub fn withdrawn_all(&self) -> impl Iterator<Item = IpNet> + '_ {
        let mp = self
            .attributes
            .mp_unreach
            .iter()
            .flat_map(|m| m.withdrawn.iter().copied());
        self.withdrawn.iter().map(|n| IpNet::V4(*n)).chain(mp)
    }

    pub(crate) fn decode(body: &[u8], four_octet: bool) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let short = DecodeError::MalformedAttributeList {
            reason: "lengths exceed the message",
        };
        let wlen = r.u16().ok_or(short.clone())?;
        let wbuf = r.take(usize::from(wlen)).ok_or(short.clone())?;
        let alen = r.u16().ok_or(short.clone())?;
        let abuf = r.take(usize::from(alen)).ok_or(short)?;
        let nbuf = r.rest();
        let nlri_err = |e: NlriError| DecodeError::InvalidNetworkField {
            reason: match e {
                NlriError::PrefixTooLong => "prefix length over 32",
                NlriError::Truncated => "prefix overruns the field",
            },
        };
        let withdrawn = read_ipv4_prefixes(wbuf).map_err(nlri_err)?;
        let nlri = read_ipv4_prefixes(nbuf).map_err(nlri_err)?;
        let d = decode_attributes(abuf, four_octet, !nlri.is_empty())?;
        Ok(Self {
            withdrawn,
            attributes: d.attrs,
            nlri,
            treat_as_withdraw: d.treat_as_withdraw,
            discarded: d.discarded,
        })
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>, four_octet: bool) -> Result<(), EncodeError> {
        let too_long = || EncodeError::FieldTooLong {
            field: "UPDATE section",
        };
        let w_at = out.len();
        out.extend_from_slice(&[0, 0]);
        for n in &self.withdrawn {
            put_prefix(out, &IpNet::V4(*n));
        }
        let wlen = u16::try_from(out.len() - w_at - 2).map_err(|_| too_long())?;
        out[w_at..w_at + 2].copy_from_slice(&wlen.to_be_bytes());
        let a_at = out.len();
        out.extend_from_slice(&[0, 0]);
        self.attributes.encode(out, four_octet)?;
        let alen = u16::try_from(out.len() - a_at - 2).map_err(|_| too_long())?;
        out[a_at..a_at + 2].copy_from_slice(&alen.to_be_bytes());
        for n in &self.nlri {
            put_prefix(out, &IpNet::V4(*n));
        }
        Ok(())
    }
}
