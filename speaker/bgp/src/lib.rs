//! BGP-4 for the Lodestone speaker.
//!
//! ```text
//!   speaker (planner) ──set_routes()──►  driver::PeerHandle  ──metrics/state──► speaker
//!                                             │ one tokio task per peer
//!                     ┌───────────────────────┼────────────────────────┐
//!                     ▼                       ▼                        ▼
//!              fsm::PeerSession       rib_out::AdjRibOut          codec::Codec
//!           (RFC 4271 states, pure;   (diff + UPDATE packing,   (bytes ⇄ Message,
//!            inputs → outputs)         pure)                     typed errors)
//!                                             │
//!                                     sys (audited setsockopt: TCP-MD5, GTSM)
//! ```
//! `codec`, `fsm` and `rib_out` take no socket and no clock: "now" is an argument and timers
//! are outputs. `driver` (feature `driver`, on by default) is the only tokio code.
#![deny(unsafe_code)]

pub mod codec;
pub mod fsm;
pub mod rib_out;

#[cfg(feature = "driver")]
pub mod driver;
#[cfg(feature = "driver")]
mod sys;
