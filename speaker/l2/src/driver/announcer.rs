//! Gratuitous announcements after a takeover: gratuitous ARP (request and reply) for IPv4, an
//! unsolicited Neighbor Advertisement for IPv6, sent at once and then every `interval` until
//! `duration` has passed since the takeover (MetalLB: every 1.1 s for 5 s), and only while we
//! still own the address.
//!
//! The schedule is a pure value ([`Schedule`]); the tokio task only sleeps until its next due
//! time.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// How long and how often to announce after a takeover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnounceConfig {
    pub duration: Duration,
    pub interval: Duration,
}

impl Default for AnnounceConfig {
    fn default() -> Self {
        AnnounceConfig {
            duration: Duration::from_secs(5),
            interval: Duration::from_millis(1100),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Round {
    next: Instant,
    until: Instant,
}

/// Pending announcements.
#[derive(Debug, Clone, Default)]
pub struct Schedule {
    rounds: BTreeMap<IpAddr, Round>,
}

impl Schedule {
    /// A takeover of `ip` at `now`: announce now and repeat.
    pub fn takeover(&mut self, ip: IpAddr, now: Instant, config: AnnounceConfig) {
        self.rounds.insert(
            ip,
            Round {
                next: now,
                until: now + config.duration,
            },
        );
    }

    /// Stops announcing `ip` (lost it).
    pub fn cancel(&mut self, ip: IpAddr) {
        self.rounds.remove(&ip);
    }

    /// Addresses due at `now`; advances their next round and forgets finished ones.
    pub fn due(&mut self, now: Instant, config: AnnounceConfig) -> Vec<IpAddr> {
        let mut out = Vec::new();
        self.rounds.retain(|ip, r| {
            if r.next > now {
                return true;
            }
            out.push(*ip);
            r.next = now + config.interval;
            r.next <= r.until
        });
        out
    }

    /// The next time something is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.rounds.values().map(|r| r.next).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metallb_cadence_five_rounds() {
        let cfg = AnnounceConfig::default();
        let t0 = Instant::now();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let mut s = Schedule::default();
        s.takeover(ip, t0, cfg);
        let mut sent_at = Vec::new();
        let mut now = t0;
        while let Some(next) = s.next_due() {
            now = now.max(next);
            for _ in s.due(now, cfg) {
                sent_at.push(now - t0);
            }
        }
        let ms: Vec<u128> = sent_at.iter().map(|d| d.as_millis()).collect();
        assert_eq!(ms, vec![0, 1100, 2200, 3300, 4400]);
    }

    #[test]
    fn cancel_and_retakeover() {
        let cfg = AnnounceConfig {
            duration: Duration::from_millis(300),
            interval: Duration::from_millis(100),
        };
        let t0 = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "2001:db8::1".parse().unwrap();
        let mut s = Schedule::default();
        s.takeover(a, t0, cfg);
        s.takeover(b, t0, cfg);
        assert_eq!(s.due(t0, cfg), vec![a, b]);
        assert!(s.due(t0 + Duration::from_millis(50), cfg).is_empty());
        s.cancel(a);
        assert_eq!(s.due(t0 + Duration::from_millis(100), cfg), vec![b]);
        s.takeover(a, t0 + Duration::from_millis(150), cfg);
        assert_eq!(s.next_due(), Some(t0 + Duration::from_millis(150)));
    }
}
