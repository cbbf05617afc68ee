//! lodestone-speaker: the node agent. Turns configuration + cluster state into running
//! protocol engines on one node.
//!
//! ```text
//!  reflectors (kube) ──► Snapshot ──► planner::plan (pure) ──► Plan
//!                                                               │
//!          ┌──────────────── diff against what runs ────────────┤
//!          ▼                           ▼                        ▼
//!   lodestone-bgp sessions     lodestone-bfd sessions    L2: Lease election
//!   (set_routes per peer)      (Down ─► BGP Cease)       (lodestone-l2 core + driver)
//!          └──────────── status (ServiceL2Status / ServiceBGPStatus), events, /metrics
//! ```
#![forbid(unsafe_code)]

pub mod metrics;
pub mod planner;
pub mod run;
