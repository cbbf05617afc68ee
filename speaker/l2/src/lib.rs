//! Layer-2 announcements for Lodestone: one node answers ARP (IPv4) and NDP (IPv6) for each
//! served address, chosen by a Lease-based election.
//!
//! ```text
//!              ┌──────────────── pure (no sockets, no clock) ────────────────┐
//! Leases ─────►│ election::Election ── decide(now) ──► addresses to answer   │
//! (kube, by    │                                             │               │
//!  the speaker)│ ethernet / arp / ndp codecs ◄── responder::respond(frame)   │
//!              └─────────────────────────────────────────────┼───────────────┘
//!                                                            ▼
//!              driver (tokio): per-interface AF_PACKET responder, solicited-node
//!              multicast joins, gratuitous ARP / unsolicited NA announcer, counters
//! ```
//!
//! - [`responder::respond`] turns one received frame into an answer or a named
//!   [`DropReason`].
//! - [`election::Election`] decides which addresses this node answers for, honouring the lease
//!   safety rules (see its docs for the defaults and the API write rate they cost).
//! - `driver` (feature `driver`, on by default) owns the sockets.
//!
//! # Wiring (what the speaker does; this crate has no Kubernetes client)
//! 1. **Own Lease.** One `coordination.k8s.io/v1` Lease per L2-eligible speaker in the speaker's
//!    namespace (e.g. `lodestone-l2-<node>`, labelled for a selector), `holderIdentity` = node
//!    name, `leaseDurationSeconds` = the lease duration (whole seconds in the API). Renew when
//!    [`election::Election::renew_due`] says (at once when `None`): take `sent_at =
//!    Instant::now()` *before* the update, and on success call `renewed(sent_at,
//!    Instant::now())`. On failure do nothing: the core fences itself. Use a request timeout no
//!    longer than the renew period.
//! 2. **Watch the Leases** (same selector): every add/modify →
//!    `observe_lease(node, Some(LeaseRecord { holder, renew_time, acquire_time, lease_duration }),
//!    Instant::now())`; delete → `observe_lease(node, None, now)`. Re-lists may repeat records;
//!    unchanged records do not extend a lease.
//! 3. **Candidates per address** (all Services sharing an address merged): the nodes MetalLB
//!    would allow — a matching L2Advertisement (pools, nodeSelectors, serviceSelectors), not
//!    `NetworkUnavailable`, no `node.kubernetes.io/exclude-from-external-load-balancers` label,
//!    and for `externalTrafficPolicy: Local` a ready serving endpoint on the node (for a shared
//!    address: a candidate of every Service using it) — with `weight` from the preferred-node
//!    terms (0 without). Call `set_candidates(ip, &candidates, now)` on every change and
//!    `remove_address` when no Service uses it.
//! 4. **Decide and apply.** After any input and at `Decision::next_check`, call
//!    `decide(Instant::now())` and hand `answer` to [`driver::L2Handle::set_owned`] with each
//!    address's [`driver::Scope`] (the union of the matching L2Advertisements' `interfaces`;
//!    none = all). Write ServiceL2Status / `nodeAssigned` for addresses in
//!    `AddressState::Answering`.
//! 5. **SIGTERM.** `release(now)`, then `set_owned(empty)`, *then* write the Lease with no holder
//!    (others take over at once), then `shutdown()`. If the renew or watch task dies, exit.
//! 6. **Driver config.** `DriverConfig::interfaces`: a flag's list, or the default MetalLB
//!    exclusions. Needs `hostNetwork` and `CAP_NET_RAW`. Export [`driver::L2Handle::counters`]
//!    as `metallb_layer2_requests_received{ip}`, `metallb_layer2_responses_sent{ip}`,
//!    `metallb_layer2_gratuitous_sent{ip}` and the drops by interface and reason.
// `unsafe` is denied everywhere except the one audited socket module
// (driver/packet_socket.rs: binding AF_PACKET sockets needs a raw `sockaddr_ll`).
#![deny(unsafe_code)]

pub mod arp;
pub mod drop_reason;
pub mod election;
pub mod ethernet;
pub mod ndp;
pub mod responder;

#[cfg(feature = "driver")]
pub mod driver;

#[cfg(test)]
mod vectors;

pub use drop_reason::DropReason;
pub use ethernet::MacAddr;
