//! Address sets whose operations cost O(log n) in the number of intervals, never in the number
//! of addresses.
//!
//! ```text
//!   address (u128) ──Space::index──► dense index ──IntervalSet──► free / member intervals
//!   10.0.0.0/8 with avoidBuggyIPs:  10.0.0.1 → 0, 10.0.0.254 → 253, 10.0.1.1 → 254, ...
//! ```
//!
//! With `avoidBuggyIPs` the `.0` and `.255` addresses of every IPv4 /24 are not part of the
//! index space at all: the mapping skips them arithmetically, so a /8 is one interval of
//! 65,536 × 254 indices and "the lowest free address" is the first key of a `BTreeMap`.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IP family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    /// The family of an address.
    pub fn of(ip: IpAddr) -> Family {
        match ip {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// The other family.
    pub fn other(self) -> Family {
        match self {
            Family::V4 => Family::V6,
            Family::V6 => Family::V4,
        }
    }

    /// Kubernetes spelling (`IPv4`, `IPv6`).
    pub fn as_str(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Family> for lodestone_apis::config::Family {
    fn from(f: Family) -> Self {
        match f {
            Family::V4 => lodestone_apis::config::Family::V4,
            Family::V6 => lodestone_apis::config::Family::V6,
        }
    }
}

impl From<lodestone_apis::config::Family> for Family {
    fn from(f: lodestone_apis::config::Family) -> Self {
        match f {
            lodestone_apis::config::Family::V4 => Family::V4,
            lodestone_apis::config::Family::V6 => Family::V6,
        }
    }
}

/// An address as an unsigned integer of its family.
pub(crate) fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The address of `family` whose integer value is `v` (`v` must fit the family).
pub(crate) fn from_u128(family: Family, v: u128) -> IpAddr {
    match family {
        // Indices of the V4 spaces never exceed u32::MAX by construction; saturate anyway.
        Family::V4 => IpAddr::V4(Ipv4Addr::from(u32::try_from(v).unwrap_or(u32::MAX))),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(v)),
    }
}

/// True for an IPv4 address ending in .0 or .255 (MetalLB's `ipConfusesBuggyFirmwares`).
pub fn is_buggy(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let last = v4.octets()[3];
            last == 0 || last == 255
        }
        IpAddr::V6(_) => false,
    }
}

/// How addresses of one family of one pool map to dense indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Space {
    /// Index = address.
    Plain,
    /// IPv4 without .0 and .255: index = (addr / 256) * 254 + (addr % 256 - 1).
    AvoidBuggyV4,
}

const USABLE_PER_24: u128 = 254;

impl Space {
    pub(crate) fn for_pool(family: Family, avoid_buggy: bool) -> Space {
        if avoid_buggy && family == Family::V4 {
            Space::AvoidBuggyV4
        } else {
            Space::Plain
        }
    }

    /// The index of `addr`, or `None` when the address is not part of the space.
    pub(crate) fn index(self, addr: u128) -> Option<u128> {
        match self {
            Space::Plain => Some(addr),
            Space::AvoidBuggyV4 => {
                let lo = addr & 0xff;
                if lo == 0 || lo == 255 {
                    None
                } else {
                    Some((addr >> 8) * USABLE_PER_24 + (lo - 1))
                }
            }
        }
    }

    /// The address at `index`.
    pub(crate) fn addr(self, index: u128) -> u128 {
        match self {
            Space::Plain => index,
            Space::AvoidBuggyV4 => ((index / USABLE_PER_24) << 8) + (index % USABLE_PER_24) + 1,
        }
    }

    /// The index range covering the addresses `first..=last`, or `None` if it holds none.
    pub(crate) fn range(self, first: u128, last: u128) -> Option<(u128, u128)> {
        match self {
            Space::Plain => (first <= last).then_some((first, last)),
            Space::AvoidBuggyV4 => {
                let lo = first & 0xff;
                let start = match lo {
                    0 => (first >> 8) * USABLE_PER_24,
                    255 => ((first >> 8) + 1) * USABLE_PER_24,
                    _ => (first >> 8) * USABLE_PER_24 + (lo - 1),
                };
                let lo = last & 0xff;
                let end = match lo {
                    0 => ((last >> 8) * USABLE_PER_24).checked_sub(1)?,
                    255 => (last >> 8) * USABLE_PER_24 + (USABLE_PER_24 - 1),
                    _ => (last >> 8) * USABLE_PER_24 + (lo - 1),
                };
                (start <= end && first <= last).then_some((start, end))
            }
        }
    }
}

/// Number of values in `start..=end`, saturating for the whole IPv6 space.
fn span_len(start: u128, end: u128) -> u128 {
    (end - start).saturating_add(1)
}

/// A set of u128 values kept as disjoint, non-adjacent inclusive intervals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IntervalSet {
    /// start → end (inclusive).
    spans: BTreeMap<u128, u128>,
    /// Number of values in the set (saturating at u128::MAX for the full IPv6 space).
    len: u128,
}

impl IntervalSet {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Number of values in the set.
    pub(crate) fn len(&self) -> u128 {
        self.len
    }

    /// Number of intervals (the `n` of every cost in this module).
    #[cfg(test)]
    pub(crate) fn spans(&self) -> usize {
        self.spans.len()
    }

    /// The smallest value, O(log n).
    pub(crate) fn first(&self) -> Option<u128> {
        self.spans.first_key_value().map(|(s, _)| *s)
    }

    /// The interval containing `v`, if any.
    fn span_of(&self, v: u128) -> Option<(u128, u128)> {
        let (s, e) = self.spans.range(..=v).next_back()?;
        (v <= *e).then_some((*s, *e))
    }

    pub(crate) fn contains(&self, v: u128) -> bool {
        self.span_of(v).is_some()
    }

    /// Adds `start..=end`, merging with overlapping or adjacent intervals. O(log n + merged).
    pub(crate) fn insert(&mut self, start: u128, end: u128) {
        if start > end {
            return;
        }
        let mut new_start = start;
        let mut new_end = end;
        // An interval starting before `start` that reaches start-1 or beyond.
        if let Some((s, e)) = self.spans.range(..start).next_back().map(|(s, e)| (*s, *e))
            && e.saturating_add(1) >= start
        {
            new_start = s;
            new_end = new_end.max(e);
            self.spans.remove(&s);
            self.len = self.len.saturating_sub(span_len(s, e));
        }
        // Intervals starting inside start..=end+1 are absorbed.
        loop {
            let upper = new_end.saturating_add(1);
            let next = self
                .spans
                .range(new_start..=upper)
                .next()
                .map(|(s, e)| (*s, *e));
            let Some((s, e)) = next else { break };
            self.spans.remove(&s);
            self.len = self.len.saturating_sub(span_len(s, e));
            new_end = new_end.max(e);
        }
        self.spans.insert(new_start, new_end);
        self.len = self.len.saturating_add(span_len(new_start, new_end));
    }

    /// Removes `v`; returns whether it was present. O(log n).
    pub(crate) fn remove(&mut self, v: u128) -> bool {
        let Some((s, e)) = self.span_of(v) else {
            return false;
        };
        self.spans.remove(&s);
        if s < v {
            self.spans.insert(s, v - 1);
        }
        if v < e {
            self.spans.insert(v + 1, e);
        }
        self.len = self.len.saturating_sub(1);
        true
    }

    /// Removes every value in `start..=end`; returns how many were present. O(log n + k)
    /// for k intervals touched.
    pub(crate) fn remove_range(&mut self, start: u128, end: u128) -> u128 {
        if start > end {
            return 0;
        }
        let mut removed = 0u128;
        if let Some((s, e)) = self.spans.range(..start).next_back().map(|(s, e)| (*s, *e))
            && e >= start
        {
            self.spans.remove(&s);
            self.spans.insert(s, start - 1);
            if e > end {
                self.spans.insert(end + 1, e);
                removed = span_len(start, end);
            } else {
                removed = span_len(start, e);
            }
        }
        while let Some((s, e)) = self.spans.range(start..=end).next().map(|(s, e)| (*s, *e)) {
            self.spans.remove(&s);
            if e > end {
                self.spans.insert(end + 1, e);
                removed = removed.saturating_add(span_len(s, end));
            } else {
                removed = removed.saturating_add(span_len(s, e));
            }
        }
        self.len = self.len.saturating_sub(removed);
        removed
    }

    /// Iterates the intervals in ascending order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u128, u128)> + '_ {
        self.spans.iter().map(|(s, e)| (*s, *e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> u128 {
        to_u128(s.parse().unwrap())
    }

    #[test]
    fn avoid_buggy_index_round_trips_and_skips_edges() {
        let sp = Space::AvoidBuggyV4;
        assert_eq!(sp.index(v4("10.0.0.0")), None);
        assert_eq!(sp.index(v4("10.0.0.255")), None);
        let a = sp.index(v4("10.0.0.254")).unwrap();
        let b = sp.index(v4("10.0.1.1")).unwrap();
        assert_eq!(b, a + 1);
        assert_eq!(sp.addr(b), v4("10.0.1.1"));
        assert_eq!(sp.addr(a), v4("10.0.0.254"));
        for s in ["0.0.0.1", "10.1.2.3", "255.255.255.254", "192.0.2.128"] {
            let i = sp.index(v4(s)).unwrap();
            assert_eq!(sp.addr(i), v4(s), "{s}");
        }
    }

    #[test]
    fn avoid_buggy_ranges_count_like_metallb() {
        let sp = Space::AvoidBuggyV4;
        // A /24 has 254 usable addresses.
        let (s, e) = sp.range(v4("192.0.2.0"), v4("192.0.2.255")).unwrap();
        assert_eq!(e - s + 1, 254);
        // A /8 has 2^24 - 2 * 2^16.
        let (s, e) = sp.range(v4("10.0.0.0"), v4("10.255.255.255")).unwrap();
        assert_eq!(e - s + 1, (1u128 << 24) - 2 * (1 << 16));
        // A /31 ending on .255 loses one address; a /32 on .0 loses everything.
        let (s, e) = sp.range(v4("192.0.2.254"), v4("192.0.2.255")).unwrap();
        assert_eq!(
            (s, e),
            (
                sp.index(v4("192.0.2.254")).unwrap(),
                sp.index(v4("192.0.2.254")).unwrap()
            )
        );
        assert_eq!(sp.range(v4("192.0.2.0"), v4("192.0.2.0")), None);
        assert_eq!(sp.range(v4("192.0.2.255"), v4("192.0.3.0")), None);
        assert_eq!(sp.range(v4("0.0.0.0"), v4("0.0.0.0")), None);
        // Range a.b.c.255 - a.b.(c+1).1 is just .1.
        let (s, e) = sp.range(v4("192.0.2.255"), v4("192.0.3.1")).unwrap();
        assert_eq!(s, e);
        assert_eq!(sp.addr(s), v4("192.0.3.1"));
    }

    #[test]
    fn interval_set_insert_merges_and_remove_splits() {
        let mut set = IntervalSet::new();
        set.insert(10, 20);
        set.insert(30, 40);
        assert_eq!(set.len(), 22);
        assert_eq!(set.spans(), 2);
        set.insert(21, 29);
        assert_eq!(set.spans(), 1);
        assert_eq!(set.len(), 31);
        assert!(set.remove(15));
        assert!(!set.remove(15));
        assert_eq!(set.spans(), 2);
        assert_eq!(set.len(), 30);
        assert!(set.remove(10));
        assert_eq!(set.first(), Some(11));
        set.insert(15, 15);
        set.insert(5, 50);
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![(5, 50)]);
        assert_eq!(set.len(), 46);
        assert_eq!(set.remove_range(10, 12), 3);
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![(5, 9), (13, 50)]);
        assert_eq!(set.remove_range(0, 6), 2);
        assert_eq!(set.remove_range(40, 100), 11);
        assert_eq!(set.remove_range(8, 14), 4);
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![(7, 7), (15, 39)]);
        assert_eq!(set.len(), 26);
        set.insert(5, 50);
        set.insert(0, 3);
        set.insert(52, 60);
        set.insert(1, 55);
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![(0, 60)]);
        assert_eq!(set.len(), 61);
    }

    #[test]
    fn interval_set_handles_the_top_of_the_space() {
        let mut set = IntervalSet::new();
        set.insert(u128::MAX - 1, u128::MAX);
        set.insert(u128::MAX - 5, u128::MAX - 2);
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            vec![(u128::MAX - 5, u128::MAX)]
        );
        assert!(set.remove(u128::MAX));
        assert!(set.contains(u128::MAX - 1));
        assert!(!set.contains(u128::MAX));
    }
}
