//! Adj-RIB-Out: the prefixes we announce to one peer, and the packing of changes into UPDATEs.
//!
//! ```text
//!  set_routes(all wanted) ──► AdjRibOut ──diff──► RibDiff { announce, withdraw }
//!                                                   │
//!                            UpdatePacker (per session: next hops, AS, iBGP, max size)
//!                                                   ▼
//!        [withdrawals, 814 /32 per UPDATE] [announcements grouped by attributes, filled]
//! ```
//! Pure: no socket, no clock. Prefixes with identical attributes share UPDATEs filled up to the
//! message size (4096 octets, or 65535 with RFC 8654): 810 IPv4 /32 or 237 IPv6 /128 with
//! minimal eBGP attributes.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ipnet::IpNet;

use crate::codec::{
    AsSegment, Family, HEADER_LEN, LargeCommunity, MpNextHop, MpReach, MpUnreach, Origin,
    PathAttributes, Update, prefix_wire_len,
};

/// What the speaker announces for a prefix. The next hop and AS_PATH come from the session.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Attributes {
    pub origin: Origin,
    pub med: Option<u32>,
    /// Sent to iBGP peers only (100 when unset); never to eBGP peers.
    pub local_pref: Option<u32>,
    pub communities: Vec<u32>,
    pub large_communities: Vec<LargeCommunity>,
}

impl Attributes {
    /// Sorted and deduplicated communities, so equal sets compare equal.
    pub fn normalized(mut self) -> Self {
        self.communities.sort_unstable();
        self.communities.dedup();
        self.large_communities.sort_unstable();
        self.large_communities.dedup();
        self
    }
}

/// What changed between two calls of [`AdjRibOut::set_routes`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RibDiff {
    pub announce: Vec<(IpNet, Arc<Attributes>)>,
    pub withdraw: Vec<IpNet>,
}

impl RibDiff {
    pub fn is_empty(&self) -> bool {
        self.announce.is_empty() && self.withdraw.is_empty()
    }
}

/// The routes currently announced (or to be announced once the session is up).
#[derive(Debug, Clone, Default)]
pub struct AdjRibOut {
    routes: BTreeMap<IpNet, Arc<Attributes>>,
}

impl AdjRibOut {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    pub fn get(&self, prefix: &IpNet) -> Option<&Attributes> {
        self.routes.get(prefix).map(|a| &**a)
    }

    /// Replace the whole table; returns only what changed. Host bits are cleared; when a
    /// prefix is listed twice the last entry wins.
    pub fn set_routes(&mut self, routes: impl IntoIterator<Item = (IpNet, Attributes)>) -> RibDiff {
        // Share one Arc per distinct attribute set, so grouping compares cheaply.
        let mut interned: BTreeMap<Attributes, Arc<Attributes>> = BTreeMap::new();
        let mut next: BTreeMap<IpNet, Arc<Attributes>> = BTreeMap::new();
        for (prefix, attrs) in routes {
            let attrs = attrs.normalized();
            let arc = match self.routes.get(&prefix.trunc()).filter(|a| ***a == attrs) {
                Some(existing) => existing.clone(),
                None => interned
                    .entry(attrs.clone())
                    .or_insert_with(|| Arc::new(attrs))
                    .clone(),
            };
            next.insert(prefix.trunc(), arc);
        }
        let mut diff = RibDiff::default();
        for (p, a) in &next {
            if self.routes.get(p).is_none_or(|old| old != a) {
                diff.announce.push((*p, a.clone()));
            }
        }
        for p in self.routes.keys() {
            if !next.contains_key(p) {
                diff.withdraw.push(*p);
            }
        }
        self.routes = next;
        diff
    }

    /// Everything, as a diff against an empty table (initial exchange, route refresh).
    pub fn full(&self) -> RibDiff {
        RibDiff {
            announce: self.routes.iter().map(|(p, a)| (*p, a.clone())).collect(),
            withdraw: Vec::new(),
        }
    }
}

/// Why a prefix could not be put in an UPDATE for this session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// The peer did not negotiate the prefix's address family.
    FamilyNotNegotiated,
    /// No next hop of the prefix's family is known for this session.
    NoNextHop,
}

impl SkipReason {
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::FamilyNotNegotiated => "family_not_negotiated",
            Self::NoNextHop => "no_next_hop",
        }
    }
}

/// Session parameters that shape UPDATEs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdatePacker {
    pub local_as: u32,
    pub ibgp: bool,
    pub families: Vec<Family>,
    pub next_hop_v4: Option<Ipv4Addr>,
    /// Global IPv6 next hop and an optional link-local (32-octet form).
    pub next_hop_v6: Option<(Ipv6Addr, Option<Ipv6Addr>)>,
    pub max_message_len: usize,
}

/// UPDATEs ready to send, plus the prefixes that could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Packed {
    pub updates: Vec<Update>,
    pub skipped: Vec<(IpNet, SkipReason)>,
}

/// Octets of an UPDATE that are not attributes or NLRI: header, two length fields.
const UPDATE_OVERHEAD: usize = HEADER_LEN + 4;

impl UpdatePacker {
    fn family_of(p: &IpNet) -> Family {
        match p {
            IpNet::V4(_) => Family::IPV4_UNICAST,
            IpNet::V6(_) => Family::IPV6_UNICAST,
        }
    }

    /// Why `p` cannot be sent on this session, if it cannot.
    pub fn skip_reason(&self, p: &IpNet) -> Option<SkipReason> {
        let fam = Self::family_of(p);
        if !self.families.contains(&fam) {
            return Some(SkipReason::FamilyNotNegotiated);
        }
        let has_nh = match p {
            IpNet::V4(_) => self.next_hop_v4.is_some(),
            IpNet::V6(_) => self.next_hop_v6.is_some(),
        };
        (!has_nh).then_some(SkipReason::NoNextHop)
    }

    /// The path attributes for one group, with an empty MP_REACH for IPv6.
    pub fn path_attributes(&self, family: Family, a: &Attributes) -> PathAttributes {
        let as_path = if self.ibgp {
            vec![]
        } else {
            vec![AsSegment::sequence(vec![self.local_as])]
        };
        let mut pa = PathAttributes {
            origin: Some(a.origin),
            as_path: Some(as_path),
            med: a.med,
            local_pref: if self.ibgp {
                Some(a.local_pref.unwrap_or(100))
            } else {
                None
            },
            communities: a.communities.clone(),
            large_communities: a.large_communities.clone(),
            ..Default::default()
        };
        if family == Family::IPV4_UNICAST {
            pa.next_hop = self.next_hop_v4;
        } else if let Some((global, link_local)) = self.next_hop_v6 {
            pa.mp_reach = Some(MpReach {
                family,
                next_hop: MpNextHop::V6 { global, link_local },
                nlri: Vec::new(),
            });
        }
        pa
    }

    fn attrs_len(pa: &PathAttributes) -> usize {
        let mut buf = Vec::with_capacity(128);
        // Four-octet width is the larger encoding, so the estimate is safe for both.
        match pa.encode(&mut buf, true) {
            Ok(()) => buf.len(),
            Err(_) => usize::MAX / 2,
        }
    }

    /// Turn a diff into UPDATEs: withdrawals first (batched), then announcements grouped by
    /// attributes and filled to the message size.
    pub fn pack(&self, diff: &RibDiff) -> Packed {
        let mut packed = Packed::default();
        let budget = self.max_message_len.saturating_sub(UPDATE_OVERHEAD);
        // Withdrawals.
        let (mut w4, mut w6) = (Vec::new(), Vec::new());
        for p in &diff.withdraw {
            match p {
                IpNet::V4(v4) if self.families.contains(&Family::IPV4_UNICAST) => w4.push(*v4),
                IpNet::V6(_) if self.families.contains(&Family::IPV6_UNICAST) => w6.push(*p),
                _ => {}
            }
        }
        for chunk in chunk_by_size(&w4, budget, |p| prefix_wire_len(&IpNet::V4(*p))) {
            packed.updates.push(Update {
                withdrawn: chunk.to_vec(),
                ..Default::default()
            });
        }
        // MP_UNREACH: 4-octet attribute header (extended length) + AFI/SAFI.
        for chunk in chunk_by_size(&w6, budget.saturating_sub(7), prefix_wire_len) {
            let mut u = Update::default();
            u.attributes.mp_unreach = Some(MpUnreach {
                family: Family::IPV6_UNICAST,
                withdrawn: chunk.to_vec(),
            });
            packed.updates.push(u);
        }
        // Announcements, grouped by (family, attributes).
        let mut groups: BTreeMap<(Family, &Attributes), Vec<IpNet>> = BTreeMap::new();
        for (p, a) in &diff.announce {
            if let Some(r) = self.skip_reason(p) {
                packed.skipped.push((*p, r));
                continue;
            }
            groups
                .entry((Self::family_of(p), &**a))
                .or_default()
                .push(*p);
        }
        for ((family, a), prefixes) in groups {
            let pa = self.path_attributes(family, a);
            // One spare octet: MP_REACH may need the extended length form once filled.
            let room = budget.saturating_sub(Self::attrs_len(&pa) + 1);
            if family == Family::IPV4_UNICAST {
                let v4: Vec<_> = prefixes
                    .iter()
                    .filter_map(|p| match p {
                        IpNet::V4(v) => Some(*v),
                        IpNet::V6(_) => None,
                    })
                    .collect();
                for chunk in chunk_by_size(&v4, room, |p| prefix_wire_len(&IpNet::V4(*p))) {
                    packed.updates.push(Update {
                        attributes: pa.clone(),
                        nlri: chunk.to_vec(),
                        ..Default::default()
                    });
                }
            } else {
                for chunk in chunk_by_size(&prefixes, room, prefix_wire_len) {
                    let mut attrs = pa.clone();
                    if let Some(m) = attrs.mp_reach.as_mut() {
                        m.nlri = chunk.to_vec();
                    }
                    packed.updates.push(Update {
                        attributes: attrs,
                        ..Default::default()
                    });
                }
            }
        }
        packed
    }

    /// End-of-RIB markers for every negotiated family.
    pub fn end_of_rib(&self) -> Vec<Update> {
        self.families
            .iter()
            .map(|f| Update::end_of_rib(*f))
            .collect()
    }
}

/// Split `items` into runs whose encoded sizes sum to at most `budget` (at least one item per
/// run, so an impossible budget still makes progress).
fn chunk_by_size<T>(items: &[T], budget: usize, size: impl Fn(&T) -> usize) -> Vec<&[T]> {
    let mut out = Vec::new();
    let (mut start, mut used) = (0, 0);
    for (i, it) in items.iter().enumerate() {
        let s = size(it);
        if i > start && used + s > budget {
            out.push(&items[start..i]);
            start = i;
            used = 0;
        }
        used += s;
    }
    if start < items.len() {
        out.push(&items[start..]);
    }
    out
}
