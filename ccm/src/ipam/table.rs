//! The pools of a configuration, indexed for the allocator: by name, by address (which pool
//! owns an address) and in choice order (see the rules in [`crate::ipam`]).

use std::collections::BTreeMap;

use lodestone_apis::config::Config;

use super::addrset::Family;
use super::allocator::FastMap;
use super::error::PoolsError;
use super::pool::PoolState;

/// The pools of a configuration, indexed.
pub(super) struct PoolTable {
    pub(super) pools: Vec<PoolState>,
    pub(super) pool_index: FastMap<String, usize>,
    pub(super) owners: BTreeMap<(Family, u128), (u128, usize)>,
    pub(super) pinned_order: Vec<usize>,
    pub(super) fallback_order: Vec<usize>,
}

impl PoolTable {
    pub(super) fn build(config: &Config) -> Result<PoolTable, PoolsError> {
        // `config.pools` is a BTreeMap: pools come sorted by name, so indices follow names.
        let pools: Vec<PoolState> = config.pools.values().map(PoolState::new).collect();
        let pool_index = pools
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name().to_string(), i))
            .collect();
        let mut owners: BTreeMap<(Family, u128), (u128, usize)> = BTreeMap::new();
        for (i, pool) in pools.iter().enumerate() {
            for &(family, first, last) in &pool.ranges {
                let before = owners
                    .range(..=(family, last))
                    .next_back()
                    .filter(|((f, _), (end, _))| *f == family && *end >= first);
                if let Some((_, (_, other))) = before {
                    return Err(PoolsError::Overlap {
                        first: pools[*other].name().to_string(),
                        second: pool.name().to_string(),
                    });
                }
                owners.insert((family, first), (last, i));
            }
        }
        let mut pinned_order: Vec<usize> = (0..pools.len())
            .filter(|&i| pools[i].spec.auto_assign && pools[i].spec.service_allocation.is_some())
            .collect();
        // Lowest positive priority first, priority 0 (or negative: unset) last, then by name.
        // Indices already follow names, so a stable sort on the priority class is enough.
        pinned_order.sort_by_key(|&i| {
            let p = pools[i].spec.priority();
            if p > 0 { (0, p) } else { (1, 0) }
        });
        let fallback_order = (0..pools.len())
            .filter(|&i| pools[i].spec.auto_assign && pools[i].spec.service_allocation.is_none())
            .collect();
        Ok(PoolTable {
            pools,
            pool_index,
            owners,
            pinned_order,
            fallback_order,
        })
    }
}
