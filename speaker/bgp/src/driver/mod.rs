//! The tokio driver: one task per peer session owning its sockets and timers, and listeners
//! shared by every session (an accepted connection is handed to the session of its source
//! address).
//!
//! ```text
//!  Speaker::bind([0.0.0.0:179, [::]:179])      listener tasks ──accept──► by peer address
//!     │ add_peer(PeerConfig) ─► MD5 key + GTSM on the listener, spawn ──┐        │
//!     ▼                                                                 ▼        ▼
//!  PeerHandle ──set_routes/shutdown──► peer task: PeerSession (fsm) + AdjRibOut + codec
//!     ▲                                    │ reader task per connection ─► frames
//!     └── PeerStatus (watch) + PeerMetrics (atomics) ◄───────────────────┘
//! ```

mod session;
mod socket;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ipnet::IpNet;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};

use crate::fsm::{ConfigError, DownReason, Negotiated, SessionConfig, State, StopReason};
use crate::rib_out::Attributes;
pub use crate::sys::{MD5_MAX_KEY_LEN, SockOptError};
pub use socket::gtsm_min_ttl;

/// How the TTL of a session's packets is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TtlPolicy {
    /// The kernel's default TTL.
    #[default]
    Default,
    /// Send with this TTL (1 for single-hop eBGP, more for eBGP multihop).
    Hops(u8),
    /// RFC 5082: send with TTL 255, accept only TTL ≥ 256 − hops.
    Gtsm { hops: u8 },
}

/// One peer: session parameters plus transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    pub session: SessionConfig,
    pub address: IpAddr,
    /// Destination port for our connections (179).
    pub port: u16,
    pub source_address: Option<IpAddr>,
    /// TCP-MD5 key (RFC 2385), at most 80 octets.
    pub password: Option<String>,
    pub ttl: TtlPolicy,
    /// Give up a connection attempt after this long.
    pub connect_time: Duration,
    /// Next hop for IPv4 prefixes when the session runs over IPv6 (else the local address).
    pub next_hop_v4: Option<Ipv4Addr>,
    /// Next hop for IPv6 prefixes when the session runs over IPv4 (else the local address).
    pub next_hop_v6: Option<Ipv6Addr>,
}

impl PeerConfig {
    pub fn new(session: SessionConfig, address: IpAddr) -> Self {
        Self {
            session,
            address,
            port: 179,
            source_address: None,
            password: None,
            ttl: TtlPolicy::Default,
            connect_time: Duration::from_secs(10),
            next_hop_v4: None,
            next_hop_v6: None,
        }
    }
}

/// Errors of the driver. Socket-option failures are reported, never ignored.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("bind {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    SockOpt(#[from] SockOptError),
    #[error("invalid session configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("peer {0} is already configured")]
    DuplicatePeer(IpAddr),
    #[error("passive or keyed peer {0} needs a listener of its address family")]
    NoListener(IpAddr),
    #[error("connect to {peer}: {source}")]
    Connect {
        peer: SocketAddr,
        source: std::io::Error,
    },
    #[error("connect to {peer}: no answer after {after:?}")]
    ConnectTimeout { peer: SocketAddr, after: Duration },
    #[error("the session task has ended")]
    SessionGone,
}

impl DriverError {
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Bind { .. } => "bind",
            Self::SockOpt(e) => e.metric_label(),
            Self::Config(_) => "config",
            Self::DuplicatePeer(_) => "duplicate_peer",
            Self::NoListener(_) => "no_listener",
            Self::Connect { .. } => "connect",
            Self::ConnectTimeout { .. } => "connect_timeout",
            Self::SessionGone => "session_gone",
        }
    }
}

/// Counters of one session, exported by the speaker as
/// `metallb_bgp_session_up{peer}`, `metallb_bgp_updates_total{peer}`,
/// `metallb_bgp_announced_prefixes_total{peer}`, `metallb_bgp_pending_prefixes_total{peer}`.
#[derive(Debug, Default)]
pub struct PeerMetrics {
    pub session_up: AtomicBool,
    pub updates_sent: AtomicU64,
    pub updates_received: AtomicU64,
    /// Prefixes currently advertised to the peer.
    pub announced_prefixes: AtomicU64,
    /// Prefixes wanted but not advertised (session down, family or next hop missing).
    pub pending_prefixes: AtomicU64,
    pub notifications_sent: AtomicU64,
    pub notifications_received: AtomicU64,
    /// Messages that failed to decode (each answered with a NOTIFICATION).
    pub malformed_received: AtomicU64,
    /// UPDATEs handled as withdraw / with attributes discarded (RFC 7606).
    pub treat_as_withdraw: AtomicU64,
    pub connect_failures: AtomicU64,
}

/// A point-in-time copy of [`PeerMetrics`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MetricsSnapshot {
    pub session_up: bool,
    pub updates_sent: u64,
    pub updates_received: u64,
    pub announced_prefixes: u64,
    pub pending_prefixes: u64,
    pub notifications_sent: u64,
    pub notifications_received: u64,
    pub malformed_received: u64,
    pub treat_as_withdraw: u64,
    pub connect_failures: u64,
}

impl PeerMetrics {
    pub fn snapshot(&self) -> MetricsSnapshot {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        MetricsSnapshot {
            session_up: self.session_up.load(Ordering::Relaxed),
            updates_sent: g(&self.updates_sent),
            updates_received: g(&self.updates_received),
            announced_prefixes: g(&self.announced_prefixes),
            pending_prefixes: g(&self.pending_prefixes),
            notifications_sent: g(&self.notifications_sent),
            notifications_received: g(&self.notifications_received),
            malformed_received: g(&self.malformed_received),
            treat_as_withdraw: g(&self.treat_as_withdraw),
            connect_failures: g(&self.connect_failures),
        }
    }
}

/// Session state as published on the handle's watch channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerStatus {
    pub state: State,
    pub negotiated: Option<Negotiated>,
    pub last_down: Option<DownReason>,
    /// The last connection or socket error, as text.
    pub last_error: Option<String>,
}

enum Command {
    SetRoutes(Vec<(IpNet, Attributes)>),
    Shutdown(StopReason, oneshot::Sender<()>),
}

/// Controls one peer session. Dropping it stops the session with a Cease.
pub struct PeerHandle {
    peer: IpAddr,
    commands: mpsc::Sender<Command>,
    status: watch::Receiver<PeerStatus>,
    metrics: Arc<PeerMetrics>,
}

impl PeerHandle {
    pub fn peer(&self) -> IpAddr {
        self.peer
    }

    /// Replace the announced table; only the difference goes on the wire.
    pub async fn set_routes(&self, routes: Vec<(IpNet, Attributes)>) -> Result<(), DriverError> {
        self.commands
            .send(Command::SetRoutes(routes))
            .await
            .map_err(|_| DriverError::SessionGone)
    }

    /// Stop the session (Cease / Administrative Shutdown) and wait for the task to end.
    pub async fn shutdown(self) {
        self.stop(StopReason::AdminShutdown).await;
    }

    /// Stop with a specific reason (e.g. `Restart` to let graceful restart keep our routes).
    pub async fn stop(self, reason: StopReason) {
        let (tx, rx) = oneshot::channel();
        if self
            .commands
            .send(Command::Shutdown(reason, tx))
            .await
            .is_ok()
        {
            let _ = rx.await;
        }
    }

    pub fn status(&self) -> PeerStatus {
        self.status.borrow().clone()
    }

    /// A receiver that changes whenever the state does.
    pub fn watch(&self) -> watch::Receiver<PeerStatus> {
        self.status.clone()
    }

    pub fn metrics(&self) -> MetricsSnapshot {
        self.metrics.snapshot()
    }

    /// Shared counters, for a metrics exporter that reads them on scrape.
    pub fn metrics_handle(&self) -> Arc<PeerMetrics> {
        self.metrics.clone()
    }
}

struct Registered {
    events: mpsc::Sender<session::Event>,
    ttl: TtlPolicy,
}

struct SpeakerInner {
    listeners: Vec<(SocketAddr, Arc<TcpListener>)>,
    peers: Mutex<HashMap<IpAddr, Registered>>,
    next_conn: AtomicU64,
    rejected_connections: AtomicU64,
    accept_tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Drop for SpeakerInner {
    /// The last reference is gone (speaker and every session): close the listeners.
    fn drop(&mut self) {
        let tasks = match self.accept_tasks.get_mut() {
            Ok(t) => t,
            Err(poisoned) => poisoned.into_inner(),
        };
        for t in tasks.drain(..) {
            t.abort();
        }
    }
}

impl SpeakerInner {
    fn conn_id(&self) -> crate::fsm::ConnId {
        crate::fsm::ConnId(self.next_conn.fetch_add(1, Ordering::Relaxed))
    }

    /// Recompute listener-wide GTSM for one family after peers changed.
    fn refresh_listener_ttl(
        &self,
        peers: &HashMap<IpAddr, Registered>,
        ipv6: bool,
    ) -> Result<(), DriverError> {
        let fam: Vec<TtlPolicy> = peers
            .iter()
            .filter(|(a, _)| a.is_ipv6() == ipv6)
            .map(|(_, r)| r.ttl)
            .collect();
        let any_gtsm = fam.iter().any(|t| matches!(t, TtlPolicy::Gtsm { .. }));
        let min = fam
            .iter()
            .map(|t| match t {
                TtlPolicy::Gtsm { hops } => gtsm_min_ttl(*hops),
                _ => 0,
            })
            .min()
            .unwrap_or(0);
        for (addr, l) in &self.listeners {
            if addr.is_ipv6() == ipv6 {
                socket::apply_listener_ttl(l, ipv6, min, any_gtsm)?;
            }
        }
        Ok(())
    }

    fn unregister(&self, cfg: &PeerConfig) {
        let mut peers = match self.peers.lock() {
            Ok(p) => p,
            Err(poisoned) => poisoned.into_inner(),
        };
        peers.remove(&cfg.address);
        if cfg.password.is_some() {
            for (addr, l) in &self.listeners {
                if socket::family_matches(addr, &cfg.address)
                    && let Err(e) = crate::sys::set_tcp_md5(&**l, cfg.address, b"")
                {
                    tracing::warn!(peer = %cfg.address, error = %e, "removing TCP-MD5 key from listener failed");
                }
            }
        }
        if let Err(e) = self.refresh_listener_ttl(&peers, cfg.address.is_ipv6()) {
            tracing::warn!(peer = %cfg.address, error = %e, "updating listener GTSM failed");
        }
    }
}

/// The BGP speaker: listeners plus a registry of peer sessions.
#[derive(Clone)]
pub struct Speaker {
    inner: Arc<SpeakerInner>,
}

impl Speaker {
    /// Bind listeners (e.g. `0.0.0.0:179` and `[::]:179`; none for active-only use). Must be
    /// called inside a tokio runtime.
    pub fn bind(addrs: &[SocketAddr]) -> Result<Self, DriverError> {
        let mut listeners = Vec::new();
        for a in addrs {
            let l = socket::listen(*a)?;
            let local = l
                .local_addr()
                .map_err(|source| DriverError::Bind { addr: *a, source })?;
            listeners.push((local, Arc::new(l)));
        }
        let inner = Arc::new(SpeakerInner {
            listeners,
            peers: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(1),
            rejected_connections: AtomicU64::new(0),
            accept_tasks: Mutex::new(Vec::new()),
        });
        let tasks: Vec<_> = inner
            .listeners
            .iter()
            .map(|(addr, l)| tokio::spawn(accept_loop(*addr, l.clone(), Arc::downgrade(&inner))))
            .collect();
        match inner.accept_tasks.lock() {
            Ok(mut t) => t.extend(tasks),
            Err(poisoned) => poisoned.into_inner().extend(tasks),
        }
        Ok(Self { inner })
    }

    /// Addresses actually bound (useful with port 0).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.inner.listeners.iter().map(|(a, _)| *a).collect()
    }

    /// Connections refused because no session matches their source address.
    pub fn rejected_connections(&self) -> u64 {
        self.inner.rejected_connections.load(Ordering::Relaxed)
    }

    /// Register a peer and start its session. The MD5 key and GTSM go on the listener before
    /// the session starts, so the peer's first SYN is already accepted.
    pub fn add_peer(&self, cfg: PeerConfig) -> Result<PeerHandle, DriverError> {
        cfg.session.validate()?;
        if let Some(k) = &cfg.password
            && k.len() > MD5_MAX_KEY_LEN
        {
            return Err(SockOptError::Md5KeyTooLong(k.len()).into());
        }
        let has_listener = self
            .inner
            .listeners
            .iter()
            .any(|(a, _)| socket::family_matches(a, &cfg.address));
        if cfg.session.passive && !has_listener {
            return Err(DriverError::NoListener(cfg.address));
        }
        let (ev_tx, ev_rx) = mpsc::channel(256);
        {
            let mut peers = match self.inner.peers.lock() {
                Ok(p) => p,
                Err(poisoned) => poisoned.into_inner(),
            };
            if peers.contains_key(&cfg.address) {
                return Err(DriverError::DuplicatePeer(cfg.address));
            }
            if let Some(key) = &cfg.password {
                for (addr, l) in &self.inner.listeners {
                    if socket::family_matches(addr, &cfg.address) {
                        crate::sys::set_tcp_md5(&**l, cfg.address, key.as_bytes())?;
                    }
                }
            }
            peers.insert(
                cfg.address,
                Registered {
                    events: ev_tx.clone(),
                    ttl: cfg.ttl,
                },
            );
            if let Err(e) = self
                .inner
                .refresh_listener_ttl(&peers, cfg.address.is_ipv6())
            {
                drop(peers);
                self.inner.unregister(&cfg);
                return Err(e);
            }
        }
        let (cmd_tx, cmd_rx) = mpsc::channel(16);
        let metrics = Arc::new(PeerMetrics::default());
        let initial = PeerStatus {
            state: State::Idle,
            negotiated: None,
            last_down: None,
            last_error: None,
        };
        let (st_tx, st_rx) = watch::channel(initial);
        let peer = cfg.address;
        let task = session::PeerTask::new(
            cfg,
            self.inner.clone(),
            ev_tx,
            ev_rx,
            cmd_rx,
            st_tx,
            metrics.clone(),
        )?;
        tokio::spawn(task.run());
        Ok(PeerHandle {
            peer,
            commands: cmd_tx,
            status: st_rx,
            metrics,
        })
    }
}

async fn accept_loop(
    addr: SocketAddr,
    listener: Arc<TcpListener>,
    inner: std::sync::Weak<SpeakerInner>,
) {
    loop {
        let accepted = listener.accept().await;
        let Some(inner) = inner.upgrade() else { return };
        match accepted {
            Ok((stream, remote)) => {
                let events = {
                    let peers = match inner.peers.lock() {
                        Ok(p) => p,
                        Err(poisoned) => poisoned.into_inner(),
                    };
                    peers.get(&remote.ip()).map(|r| r.events.clone())
                };
                match events {
                    Some(tx) => {
                        if tx.try_send(session::Event::Accepted(stream)).is_err() {
                            inner.rejected_connections.fetch_add(1, Ordering::Relaxed);
                            tracing::debug!(%remote, reason = "session_busy", "dropping inbound connection");
                        }
                    }
                    None => {
                        inner.rejected_connections.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(%remote, listener = %addr, reason = "unknown_peer", "dropping inbound connection");
                    }
                }
            }
            Err(e) => {
                tracing::warn!(listener = %addr, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
