//! BFD (Bidirectional Forwarding Detection) for the speaker's BGP sessions.
//!
//! ```text
//!   UDP 3784/4784/3785 ──► driver (tokio, sockets, timers) ──► StateEvent broadcast ──► BGP
//!                            │ decode()          ▲ encode()
//!                            ▼                   │
//!                          packet / echo codec (pure)
//!                            │ Input::Control    ▲ Output::Send / ArmTimer / StateChanged
//!                            ▼                   │
//!                          session::Session (sans-IO FSM, `now` is a parameter)
//! ```
//!
//! - [`packet`]: RFC 5880 §4.1 control packets, typed decode errors (each a drop reason).
//! - [`echo`]: FRR's echo packet format (UDP 3785).
//! - [`session`]: the RFC 5880 state machine: Down/Init/Up/AdminDown, Poll/Final, timers,
//!   jitter, detection time, passive mode, echo.
//! - [`profile`]: the MetalLB `BFDProfile` parameters with their defaults and ranges.
//! - [`driver`]: RFC 5881 single-hop and RFC 5883 multihop over tokio UDP sockets, counters.
#![forbid(unsafe_code)]

#[cfg(feature = "driver")]
pub mod driver;
pub mod echo;
pub mod packet;
pub mod profile;
pub mod session;
