//! One configured pool as the allocator keeps it: per family, the member and free address
//! sets in index space, and MetalLB's capacity counters.

use std::net::IpAddr;

use ipnet::IpNet;
use lodestone_apis::config::Pool;

use super::addrset::{Family, IntervalSet, Space, from_u128, to_u128};

/// Addresses of one family of one pool.
#[derive(Debug, Clone)]
pub(crate) struct FamilyState {
    pub(crate) space: Space,
    /// Every usable address (index space).
    pub(crate) members: IntervalSet,
    /// Usable addresses nobody holds (index space).
    pub(crate) free: IntervalSet,
    /// Capacity as MetalLB's `poolCount` reports it (i64::MAX for prefixes of 2^62 or more).
    pub(crate) capacity: i64,
    /// Distinct addresses held by at least one Service.
    pub(crate) in_use: u64,
    /// Addresses taken out of the free set without a holder (benchmark fill only).
    pub(crate) occupied: u128,
}

impl FamilyState {
    fn new(family: Family, avoid_buggy: bool) -> Self {
        FamilyState {
            space: Space::for_pool(family, avoid_buggy),
            members: IntervalSet::new(),
            free: IntervalSet::new(),
            capacity: 0,
            in_use: 0,
            occupied: 0,
        }
    }
}

/// A pool and its address state.
#[derive(Debug, Clone)]
pub(crate) struct PoolState {
    pub(crate) spec: Pool,
    /// Address-space ranges `(family, first, last)` of the pool, merged; used by the owner
    /// index (which still applies [`PoolState::contains`] for the buggy addresses).
    pub(crate) ranges: Vec<(Family, u128, u128)>,
    v4: FamilyState,
    v6: FamilyState,
}

fn net_bounds(net: &IpNet) -> (Family, u128, u128) {
    match net {
        IpNet::V4(n) => (
            Family::V4,
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        ),
        IpNet::V6(n) => (
            Family::V6,
            u128::from(n.network()),
            u128::from(n.broadcast()),
        ),
    }
}

/// MetalLB's `poolCount` for one CIDR.
fn metallb_count(net: &IpNet, avoid_buggy: bool) -> i64 {
    let host_bits = u32::from(net.max_prefix_len() - net.prefix_len());
    if host_bits >= 62 {
        // MetalLB: "an enormous ipv6 range is allocated which will never run out".
        return i64::MAX;
    }
    let mut size = 1i64 << host_bits;
    if let IpNet::V4(n) = net
        && avoid_buggy
    {
        if n.prefix_len() <= 24 {
            size -= (1i64 << (24 - n.prefix_len())) * 2;
        } else {
            size -= i64::from(n.network().octets()[3] == 0);
            size -= i64::from(n.broadcast().octets()[3] == 255);
        }
    }
    size
}

impl PoolState {
    pub(crate) fn new(spec: &Pool) -> Self {
        let mut v4 = FamilyState::new(Family::V4, spec.avoid_buggy_ips);
        let mut v6 = FamilyState::new(Family::V6, spec.avoid_buggy_ips);
        let mut addr4 = IntervalSet::new();
        let mut addr6 = IntervalSet::new();
        for net in spec.cidrs() {
            let (family, first, last) = net_bounds(net);
            let count = metallb_count(net, spec.avoid_buggy_ips);
            match family {
                Family::V4 => {
                    addr4.insert(first, last);
                    v4.capacity = v4.capacity.saturating_add(count);
                }
                Family::V6 => {
                    addr6.insert(first, last);
                    v6.capacity = v6.capacity.saturating_add(count);
                }
            }
        }
        let mut ranges = Vec::new();
        for (family, addrs, state) in [(Family::V4, &addr4, &mut v4), (Family::V6, &addr6, &mut v6)]
        {
            for (first, last) in addrs.iter() {
                ranges.push((family, first, last));
                if let Some((s, e)) = state.space.range(first, last) {
                    state.members.insert(s, e);
                }
            }
            state.free = state.members.clone();
        }
        PoolState {
            spec: spec.clone(),
            ranges,
            v4,
            v6,
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.spec.name
    }

    pub(crate) fn family(&self, family: Family) -> &FamilyState {
        match family {
            Family::V4 => &self.v4,
            Family::V6 => &self.v6,
        }
    }

    fn family_mut(&mut self, family: Family) -> &mut FamilyState {
        match family {
            Family::V4 => &mut self.v4,
            Family::V6 => &mut self.v6,
        }
    }

    /// Whether `ip` is a usable address of this pool (in a CIDR, not avoided).
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let fam = self.family(Family::of(ip));
        fam.space
            .index(to_u128(ip))
            .is_some_and(|i| fam.members.contains(i))
    }

    /// Whether the pool has any usable address of `family`.
    pub(crate) fn has_family(&self, family: Family) -> bool {
        self.family(family).members.len() > 0
    }

    /// The lowest usable address nobody holds, O(log n).
    pub(crate) fn lowest_free(&self, family: Family) -> Option<IpAddr> {
        let fam = self.family(family);
        fam.free
            .first()
            .map(|i| from_u128(family, fam.space.addr(i)))
    }

    /// Marks `ip` held (first holder). No-op for addresses outside the pool.
    pub(crate) fn take(&mut self, ip: IpAddr) {
        let fam = self.family_mut(Family::of(ip));
        if let Some(i) = fam.space.index(to_u128(ip))
            && fam.free.remove(i)
        {
            fam.in_use += 1;
        }
    }

    /// Takes `first..=last` out of the free set without a holder; returns how many addresses
    /// that removed.
    pub(crate) fn occupy(&mut self, first: IpAddr, last: IpAddr) -> u128 {
        let family = Family::of(first);
        if Family::of(last) != family {
            return 0;
        }
        let fam = self.family_mut(family);
        let Some((s, e)) = fam.space.range(to_u128(first), to_u128(last)) else {
            return 0;
        };
        let n = fam.free.remove_range(s, e);
        fam.occupied = fam.occupied.saturating_add(n);
        n
    }

    /// Marks `ip` free again (last holder left).
    pub(crate) fn give_back(&mut self, ip: IpAddr) {
        let fam = self.family_mut(Family::of(ip));
        if let Some(i) = fam.space.index(to_u128(ip))
            && fam.members.contains(i)
            && !fam.free.contains(i)
        {
            fam.free.insert(i, i);
            fam.in_use = fam.in_use.saturating_sub(1);
        }
    }
}
