//! The pure owner election for layer-2 addresses.
//!
//! ```text
//!  inputs (each with `now`)                      Election                    output
//!  set_candidates(addr, [Candidate])  ──►  ranked nodes per address    decide(now) ──► Decision
//!  observe_lease(node, record)        ──►  liveness of other nodes       answer: {addr}
//!  renewed(sent_at) / release()       ──►  own lease, self-fencing       per-address state
//!                                          handover guards               next_check
//! ```
//!
//! Each L2-eligible speaker renews one Lease of its own (holder = its node name). The owner of
//! an address is the top-ranked **live** candidate ([`rank`]: preferred weight, then a stable
//! hash of (node, address)), so every node computes the same owner from the same view, Services
//! sharing an address share an owner, and API writes grow with nodes, not Services.
//!
//! # Liveness
//! Another node is live while its Lease names it as holder and `observed_at + leaseDuration` is
//! in the future, where `observed_at` is *our* clock when the record last changed (client-go's
//! leader-election rule: no clock comparison across nodes). A Lease with no holder is released:
//! the node is not live from the moment we see it. A speaker that just started treats every
//! Lease it lists as freshly renewed, so it waits up to one lease duration before a crashed
//! node's addresses move (conservative, never unsafe).
//!
//! # Safety rules
//! - **Self-fencing.** Our own Lease counts from the moment the renew request was *sent*; others
//!   count from when they saw the write, which is later. We stop answering everything at
//!   `sent + leaseDuration − fencingMargin`, strictly before anyone may take over.
//! - **Takeover after death.** When the previous owner's Lease is released or expired we answer
//!   at once (graceful release gives immediate handover; a crash waits for expiry).
//! - **Handover between live nodes** (a higher-ranked node joins, a weight or the candidate set
//!   changes): the old owner stops as soon as its view changes; the new owner starts
//!   `handoverDelay` after *its* view changed, unless the old owner's Lease is released or expired
//!   first. Both views come from the same API watch, so the delay only has to cover watch
//!   propagation between speakers; a speaker that cannot reach the API cannot renew either and
//!   fences itself. The same delay applies when we ourselves become live (start, rejoin after a
//!   fence), since others only then learn that we rank above them.
//!
//! # Defaults and what they cost
//! | parameter | default | meaning |
//! |---|---|---|
//! | `lease_duration` | 4 s | others declare us dead this long after our last renewal |
//! | `renew_period` | 1 s | how often we renew (one API write per renewal) |
//! | `fencing_margin` | 1 s | we stop answering this long before our lease could expire |
//! | `handover_delay` | 1 s | wait for a live previous owner to stop |
//!
//! API cost at the defaults: one Lease update per node per `renew_period` = **1 write/s per node**
//! (100 nodes: 100 writes/s), independent of the number of Services; every speaker watches the
//! L2 Leases, so the watch fan-out is nodes² / `renew_period` events/s (100 nodes: 10 000/s). A
//! crash moves addresses after at most `lease_duration` + watch latency (~4 s); a graceful stop
//! after one watch round trip. Tolerated API outage before fencing: `lease_duration −
//! fencing_margin` = 3 s (two failed renewals). Cheaper, slower setting: 15 s / 5 s / 2 s →
//! 0.2 writes/s per node, crash failover ~15 s.

pub mod rank;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

pub use rank::Candidate;

/// Timing of the election. See the module docs for the defaults and their API cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElectionParams {
    pub lease_duration: Duration,
    pub renew_period: Duration,
    pub fencing_margin: Duration,
    pub handover_delay: Duration,
}

impl Default for ElectionParams {
    fn default() -> Self {
        ElectionParams {
            lease_duration: Duration::from_secs(4),
            renew_period: Duration::from_secs(1),
            fencing_margin: Duration::from_secs(1),
            handover_delay: Duration::from_secs(1),
        }
    }
}

/// Parameters that cannot work together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    #[error("fencing margin {margin:?} must be shorter than the lease duration {lease:?}")]
    MarginNotBelowLease { margin: Duration, lease: Duration },
    #[error(
        "renew period {renew:?} must be shorter than lease duration − fencing margin ({window:?}), or one slow renewal fences the node"
    )]
    RenewTooSlow { renew: Duration, window: Duration },
}

impl ElectionParams {
    /// Checks that a renewal fits in the fencing window.
    pub fn validate(&self) -> Result<(), ParamsError> {
        if self.fencing_margin >= self.lease_duration {
            return Err(ParamsError::MarginNotBelowLease {
                margin: self.fencing_margin,
                lease: self.lease_duration,
            });
        }
        let window = self.lease_duration - self.fencing_margin;
        if self.renew_period >= window {
            return Err(ParamsError::RenewTooSlow {
                renew: self.renew_period,
                window,
            });
        }
        Ok(())
    }

    /// Lease API writes per second per node at these parameters.
    pub fn writes_per_second_per_node(&self) -> f64 {
        1.0 / self.renew_period.as_secs_f64()
    }
}

/// What the watch shows of another node's Lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRecord {
    /// `spec.holderIdentity`; `None` or empty = released.
    pub holder: Option<String>,
    /// `spec.renewTime` (only compared for change, never against our clock).
    pub renew_time: Option<SystemTime>,
    /// `spec.acquireTime` (idem).
    pub acquire_time: Option<SystemTime>,
    /// `spec.leaseDurationSeconds`.
    pub lease_duration: Duration,
}

impl LeaseRecord {
    fn is_released(&self) -> bool {
        self.holder.as_deref().is_none_or(str::is_empty)
    }
}

#[derive(Debug, Clone)]
struct LeaseView {
    record: LeaseRecord,
    observed_at: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OwnLease {
    NotHeld,
    Held {
        last_renew_sent: Instant,
        live_since: Instant,
    },
    Released,
}

/// A guard left when an address's owner changed while the previous owner was live: that node
/// may still be answering until it sees the change.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HandoverGuard {
    previous: String,
    until: Instant,
}

/// Why we are not answering an address we rank first for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wait {
    /// A live previous owner may still be answering; we start at `until` or when its lease
    /// ends, whichever comes first.
    PreviousOwner { node: String, until: Instant },
    /// We only just became live; others learn it by the watch.
    JustJoined { until: Instant },
}

/// This node's view of one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressState {
    /// We own it and answer for it.
    Answering,
    /// We own it but wait before answering.
    Waiting(Wait),
    /// Another live node owns it.
    OwnedBy(String),
    /// We own it by rank but our lease is fenced or released.
    Fenced,
    /// No live candidate.
    NoLiveCandidate,
}

/// The result of [`Election::decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Addresses to answer for now (hand this to the responder).
    pub answer: BTreeSet<IpAddr>,
    /// Every known address and how it stands from this node.
    pub addresses: BTreeMap<IpAddr, AddressState>,
    /// Our own lease is past its fencing point (or released, or never renewed).
    pub fenced: bool,
    /// When the decision can change without new input (an expiry, a guard, our fence):
    /// call `decide` again then.
    pub next_check: Option<Instant>,
}

/// One node's election state. Inputs take `now`; nothing here reads a clock.
#[derive(Debug, Clone)]
pub struct Election {
    me: String,
    params: ElectionParams,
    ranked: BTreeMap<IpAddr, Vec<String>>,
    leases: BTreeMap<String, LeaseView>,
    own: OwnLease,
    guards: BTreeMap<IpAddr, Vec<HandoverGuard>>,
}

impl Election {
    /// A node named `me` that has not renewed its lease yet (so answers nothing).
    pub fn new(me: impl Into<String>, params: ElectionParams) -> Result<Self, ParamsError> {
        params.validate()?;
        Ok(Election {
            me: me.into(),
            params,
            ranked: BTreeMap::new(),
            leases: BTreeMap::new(),
            own: OwnLease::NotHeld,
            guards: BTreeMap::new(),
        })
    }

    pub fn node(&self) -> &str {
        &self.me
    }

    pub fn params(&self) -> &ElectionParams {
        &self.params
    }

    /// Sets the eligible candidates for `address` (empty removes it).
    pub fn set_candidates(&mut self, address: IpAddr, candidates: &[Candidate], now: Instant) {
        let ranked = rank::ranked(candidates, address);
        if self.ranked.get(&address) == Some(&ranked) {
            return;
        }
        let before = self.owner_of(address, now);
        if ranked.is_empty() {
            self.ranked.remove(&address);
            self.guards.remove(&address);
        } else {
            self.ranked.insert(address, ranked);
        }
        let after = self.owner_of(address, now);
        self.guard_change(address, before, after, now);
    }

    /// Drops an address that is no longer served.
    pub fn remove_address(&mut self, address: IpAddr, now: Instant) {
        self.set_candidates(address, &[], now);
    }

    /// Records what the watch shows for `node`'s Lease (`None`: deleted).
    pub fn observe_lease(&mut self, node: &str, record: Option<LeaseRecord>, now: Instant) {
        if node == self.me {
            // Our own liveness comes from our renewals, not from the echo of our writes.
            return;
        }
        let was_live = self.is_live(node, now);
        match record {
            None => {
                self.leases.remove(node);
            }
            Some(record) => {
                let unchanged = self.leases.get(node).is_some_and(|v| v.record == record);
                if !unchanged {
                    self.leases.insert(
                        node.to_owned(),
                        LeaseView {
                            record,
                            observed_at: now,
                        },
                    );
                }
            }
        }
        let now_live = self.is_live(node, now);
        if was_live != now_live {
            self.after_liveness_change(node, now_live, now);
        }
    }

    /// Our renewal, sent at `sent_at`, succeeded (reported at `now`).
    pub fn renewed(&mut self, sent_at: Instant, now: Instant) {
        let me = self.me.clone();
        let was_live = self.is_live(&me, now);
        let live_since = match self.own {
            OwnLease::Held { live_since, .. } if was_live => live_since,
            _ => now,
        };
        let sent_at = match self.own {
            OwnLease::Held {
                last_renew_sent, ..
            } => sent_at.max(last_renew_sent),
            _ => sent_at,
        };
        self.own = OwnLease::Held {
            last_renew_sent: sent_at,
            live_since,
        };
        if !was_live && self.is_live(&me, now) {
            self.after_liveness_change(&me, true, now);
        }
    }

    /// We stop (SIGTERM): answer nothing from now on. Write the released Lease *after* the
    /// responder has been told (`decide` returns an empty `answer`).
    pub fn release(&mut self, now: Instant) {
        let me = self.me.clone();
        let was_live = self.is_live(&me, now);
        self.own = OwnLease::Released;
        if was_live {
            self.after_liveness_change(&me, false, now);
        }
    }

    /// When the next renewal is due (`None`: renew now).
    pub fn renew_due(&self) -> Option<Instant> {
        match self.own {
            OwnLease::Held {
                last_renew_sent, ..
            } => Some(last_renew_sent + self.params.renew_period),
            _ => None,
        }
    }

    /// Our fencing point: past it we answer nothing.
    pub fn fence_at(&self) -> Option<Instant> {
        match self.own {
            OwnLease::Held {
                last_renew_sent, ..
            } => Some(last_renew_sent + self.params.lease_duration - self.params.fencing_margin),
            _ => None,
        }
    }

    /// Is `node` live at `now` in this view?
    pub fn is_live(&self, node: &str, now: Instant) -> bool {
        if node == self.me {
            return self.fence_at().is_some_and(|fence| now < fence);
        }
        self.leases.get(node).is_some_and(|v| {
            !v.record.is_released()
                && v.record.holder.as_deref() == Some(node)
                && now < v.observed_at + v.record.lease_duration
        })
    }

    fn expiry_of(&self, node: &str) -> Option<Instant> {
        if node == self.me {
            return self.fence_at();
        }
        self.leases
            .get(node)
            .map(|v| v.observed_at + v.record.lease_duration)
    }

    /// The top-ranked live candidate for `address` at `now` (ignoring our own fencing gates).
    pub fn owner_of(&self, address: IpAddr, now: Instant) -> Option<String> {
        self.ranked
            .get(&address)?
            .iter()
            .find(|n| self.is_live(n, now))
            .cloned()
    }

    /// Applies a liveness change of `node` (to `now_live`) and leaves a guard on every address
    /// whose owner moved away from a node that is still live.
    fn after_liveness_change(&mut self, node: &str, now_live: bool, now: Instant) {
        let addresses: Vec<IpAddr> = self.ranked.keys().copied().collect();
        for address in addresses {
            let flipped = Some((node, !now_live));
            let before = self.owner_with(address, now, flipped);
            let after = self.owner_with(address, now, None);
            self.guard_change(address, before, after, now);
        }
    }

    /// Owner of `address` with an optional override of one node's liveness.
    fn owner_with(
        &self,
        address: IpAddr,
        now: Instant,
        flip: Option<(&str, bool)>,
    ) -> Option<String> {
        self.ranked
            .get(&address)?
            .iter()
            .find(|n| match flip {
                Some((f, live)) if f == n.as_str() => live,
                _ => self.is_live(n, now),
            })
            .cloned()
    }

    fn guard_change(
        &mut self,
        address: IpAddr,
        before: Option<String>,
        after: Option<String>,
        now: Instant,
    ) {
        if let Some(previous) = before
            && after.as_ref() != Some(&previous)
            && self.is_live(&previous, now)
        {
            self.push_guard(address, previous, now);
        }
    }

    fn push_guard(&mut self, address: IpAddr, previous: String, now: Instant) {
        let until = now + self.params.handover_delay;
        let guards = self.guards.entry(address).or_default();
        guards.retain(|g| g.until > now && g.previous != previous);
        guards.push(HandoverGuard { previous, until });
    }

    /// What to answer at `now`.
    pub fn decide(&self, now: Instant) -> Decision {
        let mut answer = BTreeSet::new();
        let mut addresses = BTreeMap::new();
        let mut next_check: Option<Instant> = None;
        let mut wake = |t: Instant| {
            if t > now {
                next_check = Some(next_check.map_or(t, |n| n.min(t)));
            }
        };
        let fenced = !self.is_live(&self.me, now);
        if let Some(fence) = self.fence_at() {
            wake(fence);
        }
        for node in self.leases.keys() {
            if self.is_live(node, now)
                && let Some(e) = self.expiry_of(node)
            {
                wake(e);
            }
        }
        for (address, ranked) in &self.ranked {
            let state = match ranked
                .iter()
                .find(|n| *n == &self.me || self.is_live(n, now))
            {
                None => AddressState::NoLiveCandidate,
                Some(top) if top == &self.me && fenced => match self.owner_of(*address, now) {
                    Some(other) => AddressState::OwnedBy(other),
                    None => AddressState::Fenced,
                },
                Some(top) if top != &self.me => AddressState::OwnedBy(top.clone()),
                Some(_) => match self.wait_for(*address, ranked, now) {
                    Some(w) => {
                        match &w {
                            Wait::PreviousOwner { node, until } => {
                                wake(*until);
                                if let Some(e) = self.expiry_of(node) {
                                    wake(e);
                                }
                            }
                            Wait::JustJoined { until } => wake(*until),
                        }
                        AddressState::Waiting(w)
                    }
                    None => {
                        answer.insert(*address);
                        AddressState::Answering
                    }
                },
            };
            addresses.insert(*address, state);
        }
        Decision {
            answer,
            addresses,
            fenced,
            next_check,
        }
    }

    fn wait_for(&self, address: IpAddr, ranked: &[String], now: Instant) -> Option<Wait> {
        if let Some(guards) = self.guards.get(&address) {
            for g in guards {
                if g.previous != self.me && now < g.until && self.is_live(&g.previous, now) {
                    return Some(Wait::PreviousOwner {
                        node: g.previous.clone(),
                        until: g.until,
                    });
                }
            }
        }
        if let OwnLease::Held { live_since, .. } = self.own {
            let until = live_since + self.params.handover_delay;
            if now < until && ranked.iter().any(|n| n != &self.me && self.is_live(n, now)) {
                return Some(Wait::JustJoined { until });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
