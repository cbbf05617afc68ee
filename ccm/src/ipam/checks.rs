//! Self-checks of the allocator's indexes (for tests and the property test) and the
//! benchmark fill helper.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use super::addrset::{Family, to_u128};
use super::allocator::Allocator;
use super::request::Port;

impl Allocator {
    /// Takes `first..=last` of a pool out of its free set with no Service holding it, so that
    /// benchmarks can fill a /8 or a /64 to 99 % without millions of Services. Returns how many
    /// addresses that removed (0 for an unknown pool).
    #[doc(hidden)]
    pub fn occupy_for_bench(&mut self, pool: &str, first: IpAddr, last: IpAddr) -> u128 {
        match self.pool_index.get(pool) {
            Some(&i) => self.pools[i].occupy(first, last),
            None => 0,
        }
    }

    /// Checks every internal invariant; used by tests and the property test.
    #[doc(hidden)]
    pub fn check_invariants(&self) -> Result<(), String> {
        for (ip, use_) in &self.ips {
            if use_.users.is_empty() {
                return Err(format!("{ip} has no users"));
            }
            if use_.users.len() > 1 && use_.sharing_key.is_empty() {
                return Err(format!("{ip} shared without a sharing key"));
            }
            let pool = &self.pools[use_.pool];
            if !pool.contains(*ip) {
                return Err(format!("{ip} outside its pool {}", pool.name()));
            }
            let fam = pool.family(Family::of(*ip));
            let index = fam.space.index(to_u128(*ip)).ok_or("unindexable")?;
            if fam.free.contains(index) {
                return Err(format!("{ip} held and free"));
            }
            for user in &use_.users {
                let r = self
                    .records
                    .get(&**user)
                    .ok_or(format!("{user} on {ip} has no record"))?;
                if r.sharing_key != use_.sharing_key || r.backend_key != use_.backend_key {
                    return Err(format!("{user} on {ip} disagrees on keys"));
                }
            }
            let mut claimed = 0;
            for user in &use_.users {
                let own: BTreeSet<&Port> = self.records[&**user].ports.iter().collect();
                claimed += own.len();
            }
            let distinct: BTreeSet<&Port> = use_.ports.iter().map(|(p, _)| p).collect();
            if claimed != use_.ports.len() || distinct.len() != use_.ports.len() {
                return Err(format!("a port is claimed twice on {ip}"));
            }
        }
        for (key, r) in &self.records {
            for ip in &r.allocation.ips {
                let u = self
                    .ips
                    .get(ip)
                    .ok_or(format!("{key}: {ip} not recorded"))?;
                if !u.users.iter().any(|h| Arc::ptr_eq(h, key)) || u.pool != r.pool {
                    return Err(format!("{key}: {ip} record mismatch"));
                }
            }
        }
        for (i, pool) in self.pools.iter().enumerate() {
            for family in [Family::V4, Family::V6] {
                let fam = pool.family(family);
                let held = self
                    .ips
                    .iter()
                    .filter(|(ip, u)| u.pool == i && Family::of(**ip) == family)
                    .count() as u128;
                if u128::from(fam.in_use) != held {
                    return Err(format!(
                        "{} {family}: in_use {} != {held}",
                        pool.name(),
                        fam.in_use
                    ));
                }
                if fam.free.len() + held + fam.occupied != fam.members.len() {
                    return Err(format!("{} {family}: free + held != members", pool.name()));
                }
            }
        }
        Ok(())
    }
}
