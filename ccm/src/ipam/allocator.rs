//! The allocator: which Service holds which addresses, and the MetalLB rules for giving out
//! more. See the module docs of [`crate::ipam`] for the rules and the pool order.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use foldhash::fast::RandomState;

use lodestone_apis::config::{Config, PoolRefusal, ServiceFacts};

use super::addrset::{Family, to_u128};
use super::error::{AllocError, FamilyList, IpList, PoolsError};
use super::outcome::{Allocation, Assigned, Change, ClearReason, Cleared, Dropped, Outcome};
use super::pool::PoolState;
use super::request::{FamilyPolicy, Port, ServiceKey, ServiceRequest};
use super::table::PoolTable;

/// Hash maps keyed by API-controlled strings: foldhash is fast and seeded per process.
pub(super) type FastMap<K, V> = HashMap<K, V, RandomState>;

/// A Service as the allocator's indexes hold it: one shared key, compared by pointer.
pub(super) type Holder = Arc<ServiceKey>;

/// What the allocator remembers about one Service's allocation.
#[derive(Debug, Clone)]
pub(super) struct Record {
    pub(super) allocation: Allocation,
    pub(super) pool: usize,
    pub(super) ports: Vec<Port>,
    pub(super) sharing_key: String,
    pub(super) backend_key: String,
}

/// Who holds one address.
#[derive(Debug, Clone)]
pub(super) struct IpUse {
    pub(super) pool: usize,
    pub(super) sharing_key: String,
    pub(super) backend_key: String,
    /// Holders of the address (usually one; sharers otherwise).
    pub(super) users: Vec<Holder>,
    /// Ports in use on the address and who uses each.
    pub(super) ports: Vec<(Port, Holder)>,
}

/// Per-pool counters, computed as MetalLB computes them: totals from the pool's CIDRs
/// (`i64::MAX` for IPv6 prefixes of /66 or shorter... precisely: 2^62 addresses or more), in-use
/// as the number of distinct addresses held (a shared address counts once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolCounters {
    /// `metallb_allocator_addresses_total`.
    pub total: i64,
    /// `metallb_allocator_ipv4_addresses_total`.
    pub total_v4: i64,
    /// `metallb_allocator_ipv6_addresses_total`.
    pub total_v6: i64,
    /// `metallb_allocator_addresses_in_use_total`.
    pub in_use: i64,
    /// `metallb_allocator_ipv4_addresses_in_use_total`; IPAddressPool `assignedIPv4`.
    pub in_use_v4: i64,
    /// `metallb_allocator_ipv6_addresses_in_use_total`; IPAddressPool `assignedIPv6`.
    pub in_use_v6: i64,
}

impl PoolCounters {
    /// IPAddressPool status `availableIPv4`.
    pub fn available_v4(&self) -> i64 {
        self.total_v4.saturating_sub(self.in_use_v4)
    }

    /// IPAddressPool status `availableIPv6`.
    pub fn available_v6(&self) -> i64 {
        self.total_v6.saturating_sub(self.in_use_v6)
    }
}

/// The pure allocator: no client, no clock.
#[derive(Debug, Clone, Default)]
pub struct Allocator {
    pub(super) pools: Vec<PoolState>,
    pub(super) pool_index: FastMap<String, usize>,
    /// (family, first address) → (last address, pool): which pool owns an address.
    pub(super) owners: BTreeMap<(Family, u128), (u128, usize)>,
    /// Pools with a serviceAllocation and autoAssign, in choice order.
    pub(super) pinned_order: Vec<usize>,
    /// Pools without serviceAllocation and with autoAssign, in choice order.
    pub(super) fallback_order: Vec<usize>,
    pub(super) records: FastMap<Holder, Record>,
    pub(super) ips: FastMap<IpAddr, IpUse>,
    /// sharing key → addresses whose holders use that key.
    pub(super) shared: FastMap<String, BTreeSet<IpAddr>>,
}

fn sort_ips(ips: &mut Vec<IpAddr>) {
    ips.sort_by_key(|ip| Family::of(*ip));
    ips.dedup();
}

fn facts(req: &ServiceRequest) -> ServiceFacts<'_> {
    ServiceFacts {
        namespace: &req.key.namespace,
        namespace_labels: &req.namespace_labels,
        labels: &req.labels,
    }
}

/// The families the Service gets addresses for: both for dual-stack cluster IPs unless the
/// policy is SingleStack (which the API server never combines with two cluster IPs).
fn effective_families(req: &ServiceRequest) -> &[Family] {
    let n = match req.policy {
        FamilyPolicy::SingleStack => 1,
        _ => 2,
    };
    &req.families[..req.families.len().min(n)]
}

/// The families of `items` as a bit set (IPv4 = 1, IPv6 = 2): no allocation on the hot path.
fn family_mask(items: impl IntoIterator<Item = Family>) -> u8 {
    items.into_iter().fold(0, |m, f| {
        m | match f {
            Family::V4 => 1,
            Family::V6 => 2,
        }
    })
}

fn ip_families(ips: &[IpAddr]) -> u8 {
    family_mask(ips.iter().map(|ip| Family::of(*ip)))
}

impl Allocator {
    /// An allocator with no pools.
    pub fn new() -> Self {
        Self::default()
    }

    /// An allocator serving the pools of `config`.
    pub fn with_config(config: &Config) -> Result<Self, PoolsError> {
        let mut a = Self::new();
        a.set_config(config)?;
        Ok(a)
    }

    /// Loads a new configuration and re-maps every allocation, O(n log n): an allocation whose
    /// addresses all lie in one new pool moves to it (a renamed pool keeps its Services);
    /// the others (pool deleted or shrunk, `.0`/`.255` under avoidBuggyIPs, addresses now in
    /// two pools) are released and returned, sorted by Service. Whether a kept allocation
    /// still fits the new serviceAllocation rules is checked by the next [`Allocator::assign`].
    /// On error the allocator is unchanged.
    pub fn set_config(&mut self, config: &Config) -> Result<Vec<Dropped>, PoolsError> {
        let table = PoolTable::build(config)?;
        let mut old: Vec<(Holder, Record)> = self.records.drain().collect();
        old.sort_by(|a, b| a.0.cmp(&b.0));
        self.pools = table.pools;
        self.pool_index = table.pool_index;
        self.owners = table.owners;
        self.pinned_order = table.pinned_order;
        self.fallback_order = table.fallback_order;
        self.ips.clear();
        self.shared.clear();
        let mut dropped = Vec::new();
        for (key, record) in old {
            match self.pool_of_all(&record.allocation.ips) {
                Ok(pool) => {
                    self.commit(
                        key,
                        pool,
                        record.allocation.ips,
                        record.ports,
                        record.sharing_key,
                        record.backend_key,
                    );
                }
                Err(_) => dropped.push(Dropped {
                    service: (*key).clone(),
                    allocation: record.allocation,
                }),
            }
        }
        Ok(dropped)
    }

    /// The allocation of a Service.
    pub fn allocation(&self, key: &ServiceKey) -> Option<&Allocation> {
        self.records.get(key).map(|r| &r.allocation)
    }

    /// Number of Services holding addresses.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no Service holds an address.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Services holding `ip`, sorted.
    pub fn holders(&self, ip: IpAddr) -> Vec<ServiceKey> {
        let mut holders: Vec<ServiceKey> = self
            .ips
            .get(&ip)
            .map(|u| u.users.iter().map(|h| (**h).clone()).collect())
            .unwrap_or_default();
        holders.sort();
        holders
    }

    /// Names of the configured pools, sorted.
    pub fn pool_names(&self) -> impl Iterator<Item = &str> {
        self.pools.iter().map(|p| p.name())
    }

    /// The pool holding `ip` as a usable address.
    pub fn pool_for_ip(&self, ip: IpAddr) -> Option<&str> {
        self.owner(ip).map(|i| self.pools[i].name())
    }

    /// MetalLB's counters for one pool.
    pub fn counters(&self, pool: &str) -> Option<PoolCounters> {
        let p = &self.pools[*self.pool_index.get(pool)?];
        let v4 = p.family(Family::V4);
        let v6 = p.family(Family::V6);
        let in_use_v4 = i64::try_from(v4.in_use).unwrap_or(i64::MAX);
        let in_use_v6 = i64::try_from(v6.in_use).unwrap_or(i64::MAX);
        Some(PoolCounters {
            total: v4.capacity.saturating_add(v6.capacity),
            total_v4: v4.capacity,
            total_v6: v6.capacity,
            in_use: in_use_v4.saturating_add(in_use_v6),
            in_use_v4,
            in_use_v6,
        })
    }

    /// Releases the Service's addresses; returns what it held.
    pub fn release(&mut self, key: &ServiceKey) -> Option<Allocation> {
        let (holder, record) = self.records.remove_entry(key)?;
        self.release_record(&holder, &record);
        Some(record.allocation)
    }

    /// Removes a (just unrecorded) Service from its addresses' indexes.
    fn release_record(&mut self, holder: &Holder, record: &Record) {
        for ip in &record.allocation.ips {
            let Some(use_) = self.ips.get_mut(ip) else {
                continue;
            };
            use_.users.retain(|u| !Arc::ptr_eq(u, holder));
            use_.ports.retain(|(_, h)| !Arc::ptr_eq(h, holder));
            if use_.users.is_empty() {
                let sharing_key = std::mem::take(&mut use_.sharing_key);
                self.ips.remove(ip);
                self.unindex_shared(&sharing_key, *ip);
                if let Some(pool) = self.pools.get_mut(record.pool) {
                    pool.give_back(*ip);
                }
            }
        }
    }

    /// Records addresses a Service already holds (from its `status.loadBalancer.ingress`) when
    /// the allocator is rebuilt, O(log n). The same checks as for an explicit request apply
    /// except the requested pool/IPs: call this for every served Service first, then
    /// [`Allocator::assign`] for every Service, which reconciles requests that changed.
    pub fn restore(
        &mut self,
        req: &ServiceRequest,
        ips: &[IpAddr],
    ) -> Result<Allocation, AllocError> {
        let mut ips = ips.to_vec();
        sort_ips(&mut ips);
        Self::check_service(req)?;
        self.check_ip_list(&ips)?;
        if self.family_changed(&ips, req) {
            return Err(AllocError::FamilyMismatch {
                ips: IpList(ips),
                families: FamilyList(req.families.clone()),
            });
        }
        let pool = self.check_place(req, &ips)?;
        Ok(self.commit_req(req, pool, ips))
    }

    /// Makes the Service's allocation match its request, as MetalLB's controller converges a
    /// Service: keep the current addresses if they are still allowed and still what was asked
    /// for (adding the missing family for PreferDualStack), otherwise release them and
    /// allocate again — the requested IPs, else from the requested pool, else from the first
    /// eligible pool in choice order.
    pub fn assign(&mut self, req: &ServiceRequest) -> Outcome {
        let mut cleared = None;
        if let Err(e) = Self::check_service(req) {
            // MetalLB clears the state of a Service whose family cannot be served.
            if let Some(previous) = self.release(&req.key) {
                cleared = Some(Cleared {
                    previous,
                    reason: ClearReason::InvalidService(e.clone()),
                });
            }
            return Outcome {
                cleared,
                result: Err(e),
            };
        }
        let mut requested = req.requested_ips.clone();
        sort_ips(&mut requested);
        if let Err(e) = self.check_ip_list(&req.requested_ips) {
            // An invalid request leaves the current state alone (MetalLB returns early).
            return Outcome {
                cleared,
                result: Err(e),
            };
        }

        if let Some(current) = self.records.get(&req.key).map(|r| r.allocation.clone()) {
            let reason = if self.family_changed(&current.ips, req) {
                Some(ClearReason::FamilyChanged)
            } else if let Err(e) = self.check_place(req, &current.ips) {
                Some(ClearReason::NotAllowed(e))
            } else if let Some(pool) = req.requested_pool.as_ref().filter(|p| **p != current.pool) {
                Some(ClearReason::DifferentPool(pool.clone()))
            } else if !requested.is_empty() && requested != current.ips {
                Some(ClearReason::DifferentIps(IpList(requested.clone())))
            } else {
                None
            };
            match reason {
                Some(reason) => {
                    self.release(&req.key);
                    cleared = Some(Cleared {
                        previous: current,
                        reason,
                    });
                }
                None => {
                    return Outcome {
                        cleared,
                        result: Ok(self.keep(req, current)),
                    };
                }
            }
        }

        let result = self.allocate(req, requested).map(|allocation| Assigned {
            allocation,
            change: Change::New,
            additional_family_error: None,
        });
        Outcome { cleared, result }
    }

    /// Re-records the current addresses with the request's ports and keys, and for
    /// PreferDualStack tries to add the missing family from the same pool.
    fn keep(&mut self, req: &ServiceRequest, current: Allocation) -> Assigned {
        let pool = self.records.get(&req.key).map_or(0, |r| r.pool);
        let allocation = self.commit_req(req, pool, current.ips.clone());
        let mut assigned = Assigned {
            allocation,
            change: Change::Unchanged,
            additional_family_error: None,
        };
        let wants_both = req.policy == FamilyPolicy::PreferDualStack && req.is_dual_stack();
        if wants_both && current.ips.len() == 1 {
            let missing = Family::of(current.ips[0]).other();
            match self.candidate(pool, missing, req) {
                Some(extra) => {
                    let mut ips = current.ips.clone();
                    ips.push(extra);
                    sort_ips(&mut ips);
                    assigned.allocation = self.commit_req(req, pool, ips);
                    assigned.change = Change::AddedFamily(extra);
                }
                None => {
                    assigned.additional_family_error = Some(AllocError::PoolExhausted {
                        pool: current.pool.clone(),
                        families: FamilyList(vec![missing]),
                    });
                }
            }
        }
        assigned
    }

    fn allocate(
        &mut self,
        req: &ServiceRequest,
        requested: Vec<IpAddr>,
    ) -> Result<Allocation, AllocError> {
        let families = effective_families(req);
        if !requested.is_empty() {
            if ip_families(&requested) != family_mask(families.iter().copied()) {
                return Err(AllocError::FamilyMismatch {
                    ips: IpList(requested),
                    families: FamilyList(families.to_vec()),
                });
            }
            let pool = self.check_place(req, &requested)?;
            if let Some(wanted) = &req.requested_pool
                && *wanted != self.pools[pool].spec.name
            {
                return Err(AllocError::IpNotInRequestedPool {
                    ips: IpList(requested),
                    requested: wanted.clone(),
                    actual: self.pools[pool].spec.name.clone(),
                });
            }
            return Ok(self.commit_req(req, pool, requested));
        }

        if let Some(wanted) = &req.requested_pool {
            let pool = *self
                .pool_index
                .get(wanted)
                .ok_or_else(|| AllocError::UnknownPool(wanted.clone()))?;
            self.pools[pool]
                .spec
                .admits(facts(req))
                .map_err(AllocError::RequestedPoolNotAllowed)?;
            let missing: Vec<Family> = families
                .iter()
                .copied()
                .filter(|f| !self.pools[pool].has_family(*f))
                .collect();
            let one_is_enough = req.policy == FamilyPolicy::PreferDualStack;
            let unusable = if one_is_enough {
                missing.len() == families.len()
            } else {
                !missing.is_empty()
            };
            if let Some(&family) = missing.first()
                && unusable
            {
                return Err(AllocError::RequestedPoolNotAllowed(PoolRefusal::NoFamily {
                    pool: wanted.clone(),
                    family: family.into(),
                }));
            }
            let (pool, ips) =
                self.choose(req, families, &[pool])
                    .ok_or_else(|| AllocError::PoolExhausted {
                        pool: wanted.clone(),
                        families: FamilyList(families.to_vec()),
                    })?;
            return Ok(self.commit_req(req, pool, ips));
        }

        let pinned: Vec<usize> = self
            .pinned_order
            .iter()
            .copied()
            .filter(|&i| self.pools[i].spec.admits(facts(req)).is_ok())
            .collect();
        if let Some((pool, ips)) = self.choose(req, families, &pinned) {
            return Ok(self.commit_req(req, pool, ips));
        }
        if let Some((pool, ips)) = self.choose(req, families, &self.fallback_order) {
            return Ok(self.commit_req(req, pool, ips));
        }
        let tried: Vec<&str> = pinned
            .iter()
            .chain(self.fallback_order.iter())
            .map(|&i| self.pools[i].name())
            .collect();
        Err(match tried.as_slice() {
            [] => AllocError::NoEligiblePool,
            [one] => AllocError::PoolExhausted {
                pool: one.to_string(),
                families: FamilyList(families.to_vec()),
            },
            many => AllocError::NoFreeAddress {
                families: FamilyList(families.to_vec()),
                pools: many.join(", "),
            },
        })
    }

    /// MetalLB's `findBestPoolForService` + `selectIPsForFamilyAndPolicy`: the first pool
    /// (in `order`) with an address of every needed family; for PreferDualStack, failing that,
    /// the first pool with the primary family, then the first with the secondary one.
    fn choose(
        &self,
        req: &ServiceRequest,
        families: &[Family],
        order: &[usize],
    ) -> Option<(usize, Vec<IpAddr>)> {
        match families {
            [] => None,
            [family] => order
                .iter()
                .find_map(|&p| self.candidate(p, *family, req).map(|ip| (p, vec![ip]))),
            [primary, secondary, ..] => {
                let prefer = req.policy == FamilyPolicy::PreferDualStack;
                let mut first_primary = None;
                let mut first_secondary = None;
                for &p in order {
                    let a = self.candidate(p, *primary, req);
                    let b = self.candidate(p, *secondary, req);
                    match (a, b) {
                        (Some(a), Some(b)) => {
                            let mut ips = vec![a, b];
                            sort_ips(&mut ips);
                            return Some((p, ips));
                        }
                        (Some(a), None) if prefer && first_primary.is_none() => {
                            first_primary = Some((p, vec![a]));
                        }
                        (None, Some(b)) if prefer && first_secondary.is_none() => {
                            first_secondary = Some((p, vec![b]));
                        }
                        _ => {}
                    }
                }
                first_primary.or(first_secondary)
            }
        }
    }

    /// The lowest address of `family` in pool `p` that the Service may take: the lowest free
    /// one, or a lower address already shared under the Service's key with no port collision
    /// (MetalLB walks the pool from its first address and takes the first acceptable one).
    fn candidate(&self, p: usize, family: Family, req: &ServiceRequest) -> Option<IpAddr> {
        let free = self.pools[p].lowest_free(family);
        let shared = if req.sharing_key.is_empty() {
            None
        } else {
            let me = self.holder(&req.key);
            self.shared.get(&req.sharing_key).and_then(|ips| {
                ips.iter().copied().find(|ip| {
                    Family::of(*ip) == family
                        && self.ips.get(ip).is_some_and(|u| u.pool == p)
                        && self
                            .check_sharing(me, *ip, &req.ports, &req.sharing_key, &req.backend_key)
                            .is_ok()
                })
            })
        };
        match (free, shared) {
            (Some(f), Some(s)) => Some(if to_u128(s) < to_u128(f) { s } else { f }),
            (f, s) => f.or(s),
        }
    }

    /// Refusals that concern the Service itself, not its request.
    fn check_service(req: &ServiceRequest) -> Result<(), AllocError> {
        let Some(&primary) = req.families.first() else {
            return Err(AllocError::NoClusterIp);
        };
        if req.policy == FamilyPolicy::RequireDualStack && !req.is_dual_stack() {
            return Err(AllocError::NotDualStack(primary));
        }
        Ok(())
    }

    /// At most two addresses, of distinct families.
    fn check_ip_list(&self, ips: &[IpAddr]) -> Result<(), AllocError> {
        match ips {
            [a, b] if Family::of(*a) == Family::of(*b) => Err(AllocError::SameFamily(*a, *b)),
            list if list.len() > 2 => Err(AllocError::TooManyIps(list.len())),
            _ => Ok(()),
        }
    }

    /// MetalLB's `serviceFamilyChanged` (on the effective families, so that a request with two
    /// families and SingleStack, which the API server never produces, cannot flap).
    fn family_changed(&self, ips: &[IpAddr], req: &ServiceRequest) -> bool {
        let held = ip_families(ips);
        let cluster = family_mask(effective_families(req).iter().copied());
        if held == 0 {
            return true;
        }
        if held == cluster {
            return false;
        }
        !(cluster == 3 && req.policy == FamilyPolicy::PreferDualStack)
    }

    fn owner(&self, ip: IpAddr) -> Option<usize> {
        let family = Family::of(ip);
        let v = to_u128(ip);
        let ((f, _), (end, pool)) = self.owners.range(..=(family, v)).next_back()?;
        (*f == family && v <= *end && self.pools[*pool].contains(ip)).then_some(*pool)
    }

    /// The one pool holding every address (MetalLB's `poolFor`).
    fn pool_of_all(&self, ips: &[IpAddr]) -> Result<usize, AllocError> {
        let mut found: Option<usize> = None;
        for ip in ips {
            let p = self.owner(*ip).ok_or(AllocError::NotInAnyPool(*ip))?;
            match found {
                Some(q) if q != p => {
                    return Err(AllocError::SplitAcrossPools {
                        ips: IpList(ips.to_vec()),
                        pools: format!("{}, {}", self.pools[q].name(), self.pools[p].name()),
                    });
                }
                _ => found = Some(p),
            }
        }
        found.ok_or(AllocError::NoAddress)
    }

    /// MetalLB's `Assign` checks: one pool, admitted by its serviceAllocation, sharing rules.
    fn check_place(&self, req: &ServiceRequest, ips: &[IpAddr]) -> Result<usize, AllocError> {
        self.check_ip_list(ips)?;
        let pool = self.pool_of_all(ips)?;
        if let Err(refusal) = self.pools[pool].spec.admits(facts(req)) {
            return Err(AllocError::PoolNotAllowed {
                ip: ips[0],
                refusal,
            });
        }
        let me = self.holder(&req.key);
        for ip in ips {
            self.check_sharing(me, *ip, &req.ports, &req.sharing_key, &req.backend_key)?;
        }
        Ok(pool)
    }

    /// MetalLB's `checkSharing`: another holder of `ip` must have the same non-empty sharing
    /// key and backend key (the sole holder may change its own), and no port may collide.
    fn check_sharing(
        &self,
        me: Option<&Holder>,
        ip: IpAddr,
        ports: &[Port],
        sharing_key: &str,
        backend_key: &str,
    ) -> Result<(), AllocError> {
        let Some(use_) = self.ips.get(&ip) else {
            return Ok(());
        };
        let is_me = |h: &Holder| me.is_some_and(|m| Arc::ptr_eq(m, h));
        if let Some(other) = use_.users.iter().find(|u| !is_me(u)) {
            if use_.sharing_key.is_empty()
                || sharing_key.is_empty()
                || use_.sharing_key != sharing_key
            {
                return Err(AllocError::SharingKeyMismatch {
                    ip,
                    other: (**other).clone(),
                    theirs: use_.sharing_key.clone(),
                    ours: sharing_key.to_string(),
                });
            }
            if use_.backend_key != backend_key {
                return Err(AllocError::BackendMismatch {
                    ip,
                    other: (**other).clone(),
                });
            }
        }
        for port in ports {
            if let Some((_, holder)) = use_.ports.iter().find(|(p, h)| p == port && !is_me(h)) {
                return Err(AllocError::PortInUse {
                    ip,
                    port: port.clone(),
                    other: (**holder).clone(),
                });
            }
        }
        Ok(())
    }

    /// The index handle of a Service that holds addresses.
    fn holder(&self, key: &ServiceKey) -> Option<&Holder> {
        self.records.get_key_value(key).map(|(h, _)| h)
    }

    fn commit_req(&mut self, req: &ServiceRequest, pool: usize, ips: Vec<IpAddr>) -> Allocation {
        let holder = match self.records.remove_entry(&req.key) {
            Some((holder, record)) => {
                self.release_record(&holder, &record);
                holder
            }
            None => Arc::new(req.key.clone()),
        };
        self.commit(
            holder,
            pool,
            ips,
            req.ports.clone(),
            req.sharing_key.clone(),
            req.backend_key.clone(),
        )
    }

    /// Records the allocation unconditionally (callers checked it and released any previous
    /// allocation of the Service).
    fn commit(
        &mut self,
        holder: Holder,
        pool: usize,
        mut ips: Vec<IpAddr>,
        ports: Vec<Port>,
        sharing_key: String,
        backend_key: String,
    ) -> Allocation {
        sort_ips(&mut ips);
        for ip in &ips {
            let use_ = match self.ips.get_mut(ip) {
                Some(u) => u,
                None => {
                    if let Some(p) = self.pools.get_mut(pool) {
                        p.take(*ip);
                    }
                    self.ips.entry(*ip).or_insert_with(|| IpUse {
                        pool,
                        sharing_key: String::new(),
                        backend_key: String::new(),
                        users: Vec::new(),
                        ports: Vec::new(),
                    })
                }
            };
            let old_key = std::mem::replace(&mut use_.sharing_key, sharing_key.clone());
            use_.backend_key = backend_key.clone();
            use_.users.push(holder.clone());
            for port in &ports {
                if !use_
                    .ports
                    .iter()
                    .any(|(p, h)| p == port && Arc::ptr_eq(h, &holder))
                {
                    use_.ports.push((port.clone(), holder.clone()));
                }
            }
            if old_key != sharing_key {
                self.unindex_shared(&old_key, *ip);
                if !sharing_key.is_empty() {
                    self.shared
                        .entry(sharing_key.clone())
                        .or_default()
                        .insert(*ip);
                }
            }
        }
        let allocation = Allocation {
            pool: self
                .pools
                .get(pool)
                .map(|p| p.name().to_string())
                .unwrap_or_default(),
            ips,
        };
        self.records.insert(
            holder,
            Record {
                allocation: allocation.clone(),
                pool,
                ports,
                sharing_key,
                backend_key,
            },
        );
        allocation
    }

    fn unindex_shared(&mut self, sharing_key: &str, ip: IpAddr) {
        if sharing_key.is_empty() {
            return;
        }
        if let Some(set) = self.shared.get_mut(sharing_key) {
            set.remove(&ip);
            if set.is_empty() {
                self.shared.remove(sharing_key);
            }
        }
    }
}
