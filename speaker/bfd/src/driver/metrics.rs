//! Counters with MetalLB's metric names. The driver only counts; the speaker's metrics module
//! exports a [`MetricsSnapshot`] under these names.
//!
//! | MetalLB metric                            | field                          |
//! |-------------------------------------------|--------------------------------|
//! | `metallb_bfd_session_up{peer}`            | `PeerCounters::session_up`     |
//! | `metallb_bfd_control_packet_input{peer}`  | `PeerCounters::control_input`  |
//! | `metallb_bfd_control_packet_output{peer}` | `PeerCounters::control_output` |
//! | `metallb_bfd_echo_packet_input{peer}`     | `PeerCounters::echo_input`     |
//! | `metallb_bfd_echo_packet_output{peer}`    | `PeerCounters::echo_output`    |
//! | `metallb_bfd_session_up_events{peer}`     | `PeerCounters::up_events`      |
//! | `metallb_bfd_session_down_events{peer}`   | `PeerCounters::down_events`    |
//!
//! Drops are counted by reason label (`lodestone_bfd_dropped_packets{reason}`).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Per-peer counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerCounters {
    pub session_up: bool,
    pub control_input: u64,
    pub control_output: u64,
    pub echo_input: u64,
    pub echo_output: u64,
    pub up_events: u64,
    pub down_events: u64,
}

/// A copy of all counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    pub peers: BTreeMap<IpAddr, PeerCounters>,
    pub drops: BTreeMap<&'static str, u64>,
}

impl MetricsSnapshot {
    pub fn dropped(&self, reason: &str) -> u64 {
        self.drops.get(reason).copied().unwrap_or(0)
    }
}

/// Shared counters. One lock, taken briefly per packet.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<MetricsSnapshot>,
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut MetricsSnapshot) -> R) -> R {
        let mut guard = match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    pub fn peer(&self, peer: IpAddr, f: impl FnOnce(&mut PeerCounters)) {
        self.with(|m| f(m.peers.entry(peer).or_default()));
    }

    pub fn drop_packet(&self, reason: &'static str) {
        self.with(|m| *m.drops.entry(reason).or_default() += 1);
    }

    pub fn forget_peer(&self, peer: IpAddr) {
        self.with(|m| m.peers.remove(&peer));
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        self.with(|m| m.clone())
    }
}
