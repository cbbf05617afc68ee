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
