//! Running BGP sessions (and their BFD sessions) reconciled against the plan.
//!
//! ```text
//!   Plan.sessions / Plan.routes ──apply()──► per peer: unchanged → set_routes (diff only)
//!                                                       new/changed params → (re)start alone
//!                                                       gone → Cease (Peer De-configured)
//!   BFD StateEvent ──on_bfd()──► Up→Down: BGP session stopped (Cease), held down
//!                                 Down→Up: BGP session started again
//! ```
//! The BFD session is sourced from the BGP session's local address: `sourceAddress` when set,
//! else the address the kernel would pick to reach the peer (a UDP socket `connect`, which sends
//! nothing).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::Duration;

use ipnet::IpNet;
use lodestone_apis::config::Community;
use lodestone_apis::config::PeerAsn;
use lodestone_bfd::driver::{Bfd, SessionKey, SessionSpec, StateEvent};
use lodestone_bfd::packet::State as BfdState;
use lodestone_bfd::profile::Profile;
use lodestone_bgp::codec::LargeCommunity;
use lodestone_bgp::driver::{PeerConfig, PeerHandle, Speaker, TtlPolicy};
use lodestone_bgp::fsm::{GracefulRestart, SessionConfig, StopReason};
use lodestone_bgp::rib_out::Attributes;
use tokio::sync::broadcast;
use tracing::{info, warn};

use crate::metrics::Metrics;
use crate::planner::{PeerPlan, Plan, RouteAttrs};

/// Seconds a peer keeps our routes while we restart, when graceful restart is enabled
/// (MetalLB/FRR default).
const GR_RESTART_TIME: u16 = 120;

struct Running {
    plan: PeerPlan,
    config: PeerConfig,
    /// `None` while BFD holds the session down.
    handle: Option<PeerHandle>,
    routes: Vec<(IpNet, Attributes)>,
    bfd: Option<SessionKey>,
}

/// The BGP side of the speaker.
pub struct BgpEngine {
    speaker: Speaker,
    bfd: Option<Bfd>,
    running: BTreeMap<String, Running>,
}

impl BgpEngine {
    /// Binds the BGP listeners on port 179 (for passive peers and peers that dial us); without
    /// them (no privilege, port taken) the speaker still dials out.
    pub fn new() -> anyhow::Result<Self> {
        let listen = [
            SocketAddr::from(([0, 0, 0, 0], 179)),
            SocketAddr::from(([0u16; 8], 179)),
        ];
        let speaker = match Speaker::bind(&listen) {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "cannot listen on port 179; BGP sessions are active only");
                Speaker::bind(&[]).map_err(|e| anyhow::anyhow!("starting the BGP driver: {e}"))?
            }
        };
        Ok(BgpEngine {
            speaker,
            bfd: None,
            running: BTreeMap::new(),
        })
    }

    /// State changes of BFD sessions (once BFD runs).
    pub fn bfd_events(&self) -> Option<broadcast::Receiver<StateEvent>> {
        self.bfd.as_ref().map(Bfd::subscribe)
    }

    /// Brings the running sessions in line with `plan`.
    pub async fn apply(&mut self, plan: &Plan) {
        let gone: Vec<String> = self
            .running
            .iter()
            .filter(|(name, r)| plan.sessions.get(*name) != Some(&r.plan))
            .map(|(name, _)| name.clone())
            .collect();
        for name in gone {
            if let Some(r) = self.running.remove(&name) {
                info!(peer = %name, "stopping BGP session (removed or parameters changed)");
                self.stop(r, StopReason::PeerDeconfigured).await;
            }
        }
        for (name, pp) in &plan.sessions {
            if !self.running.contains_key(name)
                && let Some(r) = self.start(name, pp).await
            {
                self.running.insert(name.clone(), r);
            }
            let routes = routes_for(pp, plan.routes.get(name));
            if let Some(r) = self.running.get_mut(name)
                && r.routes != routes
            {
                r.routes = routes;
                if let Some(h) = &r.handle
                    && let Err(e) = h.set_routes(r.routes.clone()).await
                {
                    warn!(peer = %name, error = %e, "updating routes");
                }
            }
        }
    }

    async fn start(&mut self, name: &str, pp: &PeerPlan) -> Option<Running> {
        let config = match peer_config(pp) {
            Ok(c) => c,
            Err(why) => {
                warn!(peer = %name, reason = why, "BGP session not started");
                return None;
            }
        };
        let handle = match self.speaker.add_peer(config.clone()) {
            Ok(h) => h,
            Err(e) => {
                warn!(peer = %name, error = %e, "BGP session not started");
                return None;
            }
        };
        info!(peer = %name, address = %pp.address, "BGP session started");
        let bfd = match &pp.bfd {
            Some(profile) => self.start_bfd(name, pp, profile).await,
            None => None,
        };
        Some(Running {
            plan: pp.clone(),
            config,
            handle: Some(handle),
            routes: Vec::new(),
            bfd,
        })
    }

    async fn start_bfd(
        &mut self,
        name: &str,
        pp: &PeerPlan,
        p: &lodestone_apis::config::BfdProfile,
    ) -> Option<SessionKey> {
        if self.bfd.is_none() {
            match Bfd::spawn(lodestone_bfd::driver::DriverConfig::default()).await {
                Ok(b) => self.bfd = Some(b),
                Err(e) => {
                    warn!(peer = %name, error = %e, "cannot start BFD; session runs without it");
                    return None;
                }
            }
        }
        let bfd = self.bfd.as_ref()?;
        let Some(local) = local_address(pp) else {
            warn!(peer = %name, "no local address towards the peer; BFD not started");
            return None;
        };
        let key = SessionKey {
            peer: pp.address,
            local,
            multihop: pp.peer.ebgp_multihop,
        };
        let profile = Profile {
            receive_interval: p.receive_interval,
            transmit_interval: p.transmit_interval,
            detect_multiplier: p.detect_multiplier,
            echo_mode: p.echo_mode,
            echo_interval: p.echo_interval,
            passive_mode: p.passive_mode,
            minimum_ttl: p.minimum_ttl,
        };
        match bfd
            .add_session(SessionSpec {
                key,
                interface: None,
                profile,
            })
            .await
        {
            Ok(()) => Some(key),
            Err(e) => {
                warn!(peer = %name, error = %e, "adding BFD session");
                None
            }
        }
    }

    async fn stop(&mut self, r: Running, reason: StopReason) {
        if let Some(h) = r.handle {
            h.stop(reason).await;
        }
        if let (Some(bfd), Some(key)) = (&self.bfd, r.bfd)
            && let Err(e) = bfd.remove_session(key).await
        {
            warn!(peer = %key.peer, error = %e, "removing BFD session");
        }
    }

    /// BFD Down tears the BGP session down with a Cease and holds it down; Up starts it again.
    pub async fn on_bfd(&mut self, ev: StateEvent) {
        let Some((name, r)) = self.running.iter_mut().find(|(_, r)| r.bfd == Some(ev.key)) else {
            return;
        };
        match ev.to {
            BfdState::Down | BfdState::AdminDown if ev.from == BfdState::Up => {
                if let Some(h) = r.handle.take() {
                    warn!(peer = %name, "BFD went down; tearing the BGP session down");
                    h.stop(StopReason::AdminShutdown).await;
                }
            }
            BfdState::Up if r.handle.is_none() => match self.speaker.add_peer(r.config.clone()) {
                Ok(h) => {
                    info!(peer = %name, "BFD up again; restarting the BGP session");
                    if let Err(e) = h.set_routes(r.routes.clone()).await {
                        warn!(peer = %name, error = %e, "restoring routes");
                    }
                    r.handle = Some(h);
                }
                Err(e) => warn!(peer = %name, error = %e, "restarting the BGP session"),
            },
            _ => {}
        }
    }

    /// Peers (by name) whose session is Established.
    pub fn established(&self) -> BTreeMap<String, bool> {
        self.running
            .iter()
            .map(|(n, r)| {
                let up = r.handle.as_ref().is_some_and(|h| h.metrics().session_up);
                (n.clone(), up)
            })
            .collect()
    }

    /// Copies driver counters into the registry.
    pub fn export(&self, m: &Metrics) {
        for r in self.running.values() {
            let peer = r.plan.address.to_string();
            let snap = r
                .handle
                .as_ref()
                .map(PeerHandle::metrics)
                .unwrap_or_default();
            m.bgp_session_up
                .with_label_values(&[&peer])
                .set(i64::from(snap.session_up));
            Metrics::sync_counter(&m.bgp_updates_total, &[&peer], snap.updates_sent);
            m.bgp_announced_prefixes
                .with_label_values(&[&peer])
                .set(i64::try_from(snap.announced_prefixes).unwrap_or(i64::MAX));
            m.bgp_pending_prefixes
                .with_label_values(&[&peer])
                .set(i64::try_from(r.routes.len()).unwrap_or(i64::MAX));
        }
        if let Some(bfd) = &self.bfd {
            for (peer, c) in bfd.metrics().peers {
                let peer = peer.to_string();
                let l = [peer.as_str()];
                m.bfd_session_up
                    .with_label_values(&l)
                    .set(i64::from(c.session_up));
                Metrics::sync_counter(&m.bfd_control_in, &l, c.control_input);
                Metrics::sync_counter(&m.bfd_control_out, &l, c.control_output);
                Metrics::sync_counter(&m.bfd_echo_in, &l, c.echo_input);
                Metrics::sync_counter(&m.bfd_echo_out, &l, c.echo_output);
                Metrics::sync_counter(&m.bfd_up_events, &l, c.up_events);
                Metrics::sync_counter(&m.bfd_down_events, &l, c.down_events);
            }
        }
    }

    /// Stops every session: with graceful restart negotiated the peer keeps our routes
    /// (`Restart`), otherwise a Cease withdraws them.
    pub async fn shutdown(&mut self) {
        let all: Vec<Running> = std::mem::take(&mut self.running).into_values().collect();
        for r in all {
            self.stop(r, StopReason::Restart).await;
        }
        if let Some(bfd) = &self.bfd
            && let Err(e) = bfd.shutdown().await
        {
            warn!(error = %e, "stopping BFD");
        }
    }
}

/// The driver configuration of one planned session.
pub fn peer_config(pp: &PeerPlan) -> Result<PeerConfig, &'static str> {
    let p = &pp.peer;
    let peer_as = match p.peer_asn {
        PeerAsn::Fixed(a) => a,
        PeerAsn::DynamicInternal => p.my_asn,
        PeerAsn::DynamicExternal => return Err("dynamicASN external is not supported yet"),
    };
    let mut session = SessionConfig::new(p.my_asn, peer_as, pp.router_id);
    session.hold_time = u16::try_from(p.timers.hold.as_secs()).unwrap_or(u16::MAX);
    session.keepalive_time = Some(u16::try_from(p.timers.keepalive.as_secs()).unwrap_or(u16::MAX));
    if p.graceful_restart {
        session.graceful_restart = Some(GracefulRestart {
            restart_time: GR_RESTART_TIME,
            forwarding_preserved: true,
            restarted: false,
        });
    }
    let mut cfg = PeerConfig::new(session, pp.address);
    cfg.port = p.port;
    cfg.source_address = p.source_address;
    cfg.password = pp.password.clone();
    cfg.connect_time = p.connect_time.unwrap_or(Duration::from_secs(10));
    cfg.ttl = if p.ebgp_multihop {
        TtlPolicy::Hops(255)
    } else if p.is_ibgp() {
        TtlPolicy::Default
    } else {
        TtlPolicy::Hops(1)
    };
    Ok(cfg)
}

/// The route list handed to the driver, sorted (so equal plans compare equal).
fn routes_for(
    pp: &PeerPlan,
    routes: Option<&BTreeMap<IpNet, RouteAttrs>>,
) -> Vec<(IpNet, Attributes)> {
    let ibgp = pp.peer.is_ibgp();
    routes
        .into_iter()
        .flatten()
        .map(|(prefix, a)| {
            let mut attrs = Attributes {
                local_pref: if ibgp { a.local_pref } else { None },
                ..Attributes::default()
            };
            for c in &a.communities {
                match *c {
                    Community::Standard(v) => attrs.communities.push(v),
                    Community::Large {
                        global,
                        local1,
                        local2,
                    } => attrs.large_communities.push(LargeCommunity {
                        global,
                        local1,
                        local2,
                    }),
                }
            }
            (*prefix, attrs.normalized())
        })
        .collect()
}

/// `sourceAddress`, else the kernel's source address towards the peer.
fn local_address(pp: &PeerPlan) -> Option<IpAddr> {
    if let Some(a) = pp.peer.source_address {
        return Some(a);
    }
    let bind: SocketAddr = if pp.address.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let sock = UdpSocket::bind(bind).ok()?;
    sock.connect(SocketAddr::new(pp.address, pp.peer.port))
        .ok()?;
    sock.local_addr().ok().map(|a| a.ip())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planner::tests::{base, run};

    fn plan_with(extra: &str) -> Plan {
        let mut s = base(extra);
        s.me = "n1";
        run(&s)
    }

    #[test]
    fn peer_config_table() {
        let extra = "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: r3, namespace: lodestone}\nspec: {myASN: 64512, peerASN: 65000, peerAddress: 203.0.113.3, peerPort: 1179, holdTime: 9s, keepaliveTime: 3s, ebgpMultiHop: true, password: pw, enableGracefulRestart: true, sourceAddress: 192.0.2.201}\n---\napiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: r4, namespace: lodestone}\nspec: {myASN: 64512, dynamicASN: external, peerAddress: 203.0.113.4}\n";
        let p = plan_with(extra);
        let get = |n: &str| p.sessions.get(n).map(peer_config);
        // eBGP single hop: TTL 1, defaults.
        let r1 = get("r1")
            .and_then(Result::ok)
            .unwrap_or_else(|| panic!("r1"));
        assert_eq!(
            (r1.port, r1.ttl, r1.session.hold_time),
            (179, TtlPolicy::Hops(1), 90)
        );
        assert_eq!(r1.session.peer_as, 64513);
        // iBGP: kernel TTL.
        let r2 = get("r2")
            .and_then(Result::ok)
            .unwrap_or_else(|| panic!("r2"));
        assert_eq!(r2.ttl, TtlPolicy::Default);
        // Everything set.
        let r3 = get("r3")
            .and_then(Result::ok)
            .unwrap_or_else(|| panic!("r3"));
        assert_eq!(r3.port, 1179);
        assert_eq!(r3.ttl, TtlPolicy::Hops(255));
        assert_eq!(
            (r3.session.hold_time, r3.session.keepalive_time),
            (9, Some(3))
        );
        assert_eq!(r3.password.as_deref(), Some("pw"));
        assert!(r3.session.graceful_restart.is_some());
        assert_eq!(r3.source_address, "192.0.2.201".parse().ok());
        // Dynamic external ASN is refused (the FSM needs a fixed peer AS).
        assert!(matches!(get("r4"), Some(Err(_))));
    }

    #[test]
    fn routes_carry_local_pref_only_to_ibgp() {
        let extra = "apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: a, namespace: lodestone}\nspec: {localPref: 150, communities: ['65000:100', 'large:1:2:3']}\n";
        let p = plan_with(extra);
        let r1 = p
            .sessions
            .get("r1")
            .map(|pp| routes_for(pp, p.routes.get("r1")))
            .unwrap_or_default();
        let r2 = p
            .sessions
            .get("r2")
            .map(|pp| routes_for(pp, p.routes.get("r2")))
            .unwrap_or_default();
        assert_eq!(r1.len(), 1);
        assert_eq!(r1[0].1.local_pref, None, "eBGP");
        assert_eq!(r2[0].1.local_pref, Some(150), "iBGP");
        assert_eq!(r2[0].1.communities, vec![(65000 << 16) | 100]);
        assert_eq!(
            r2[0].1.large_communities,
            vec![LargeCommunity {
                global: 1,
                local1: 2,
                local2: 3
            }]
        );
    }
}
