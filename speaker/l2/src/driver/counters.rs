//! Counters behind MetalLB's layer-2 metrics, plus drop reasons and send errors.
//!
//! | counter | MetalLB metric | counted when |
//! |---|---|---|
//! | `requests_received[ip]` | `metallb_layer2_requests_received` | an ARP request / NS for an address we answer for |
//! | `responses_sent[ip]` | `metallb_layer2_responses_sent` | the reply frame was handed to the kernel |
//! | `gratuitous_sent[ip]` | `metallb_layer2_gratuitous_sent` | each gratuitous ARP / unsolicited NA frame sent |
//! | `drops[(interface, reason)]` | (ours) | every frame not answered, by [`DropReason`] |
//! | `send_errors[interface]` | (ours) | a send failed |

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::DropReason;

/// A copy of all counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountersSnapshot {
    pub requests_received: BTreeMap<IpAddr, u64>,
    pub responses_sent: BTreeMap<IpAddr, u64>,
    pub gratuitous_sent: BTreeMap<IpAddr, u64>,
    pub drops: BTreeMap<(String, DropReason), u64>,
    pub send_errors: BTreeMap<String, u64>,
}

impl CountersSnapshot {
    /// Total drops for `reason` over all interfaces.
    pub fn drops_for(&self, reason: DropReason) -> u64 {
        self.drops
            .iter()
            .filter(|((_, r), _)| *r == reason)
            .map(|(_, n)| n)
            .sum()
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    inner: Mutex<CountersSnapshot>,
}

impl Counters {
    fn with(&self, f: impl FnOnce(&mut CountersSnapshot)) {
        // A poisoned lock only means another thread panicked mid-increment; counts stay usable.
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard);
    }
    pub(crate) fn request(&self, ip: IpAddr) {
        self.with(|c| *c.requests_received.entry(ip).or_default() += 1);
    }
    pub(crate) fn response(&self, ip: IpAddr) {
        self.with(|c| *c.responses_sent.entry(ip).or_default() += 1);
    }
    pub(crate) fn gratuitous(&self, ip: IpAddr) {
        self.with(|c| *c.gratuitous_sent.entry(ip).or_default() += 1);
    }
    pub(crate) fn drop(&self, interface: &str, reason: DropReason) {
        self.with(|c| *c.drops.entry((interface.to_owned(), reason)).or_default() += 1);
    }
    pub(crate) fn send_error(&self, interface: &str) {
        self.with(|c| *c.send_errors.entry(interface.to_owned()).or_default() += 1);
    }
    pub(crate) fn snapshot(&self) -> CountersSnapshot {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
