//! The tokio driver: RFC 5881 single-hop (UDP 3784) and RFC 5883 multihop (UDP 4784) sessions
//! over shared receive sockets, plus FRR-format echo (UDP 3785).
//!
//! ```text
//!  reader task per socket ──(Datagram)──►┐
//!  Bfd handle ──(Command: add/remove/…)─►├─► one loop: demux ─► Session::process ─► outputs
//!  timer set (BTreeSet<deadline>) ──────►┘        │                    │
//!                                          drop reasons            per-session tx socket
//!                                          (Metrics)               broadcast<StateEvent>
//! ```
//!
//! Demultiplexing: by Your Discriminator when it is set; otherwise by (peer address, local
//! address, single/multihop) and, when the session names one, the interface. Single-hop packets
//! must arrive with TTL 255; multihop ones with at least the profile's `minimumTtl`. The peer's
//! source port is not checked. Every dropped packet is counted under a named reason.
//!
//! Echo (FRR's format, UDP 3785, single-hop only):
//! - FRR's IPv4 echo frames carry FRR's own address as source and destination; they come back
//!   to FRR through *our kernel's forwarding* (`net.ipv4.ip_forward=1`, as on any Kubernetes
//!   node). FRR's IPv6 echo reaches our echo socket with hop limit 255 and is reflected with 254.
//! - Our echo (profile `echoMode`, only once the peer advertises a Required Min Echo RX): IPv4 is
//!   sent FRR-style from a raw socket (CAP_NET_RAW), looped by the peer's forwarding plane and
//!   received on our echo socket, which needs `accept_local=1` on the interface (the source is
//!   our own address); IPv6 is reflected by the peer's bfdd. Echo that stops returning takes the
//!   session Down with diagnostic "Echo Function Failed", as FRR does.
//!
//! Coupling with BGP: [`Bfd::subscribe`] yields a [`StateEvent`] per transition; the BGP driver
//! ends its session (NOTIFICATION Cease) when its key's session goes Down from Up.

mod metrics;
pub mod socket;

pub use metrics::{Metrics, MetricsSnapshot, PeerCounters};

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::net::UdpSocket;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::echo::decode_echo;
use crate::packet::{Diagnostic, State, decode};
use crate::profile::Profile;
use crate::session::{Input, Output, RandomSource, Session, TimerKind, XorShift};

/// UDP ports. The defaults are the IANA ones; tests on one host use others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    /// Where we listen for single-hop control packets.
    pub single_hop: u16,
    /// Where we send single-hop control packets.
    pub peer_single_hop: u16,
    pub multihop: u16,
    pub peer_multihop: u16,
    /// Echo (we listen and send on the same port).
    pub echo: u16,
}

impl Default for Ports {
    fn default() -> Self {
        Ports {
            single_hop: 3784,
            peer_single_hop: 3784,
            multihop: 4784,
            peer_multihop: 4784,
            echo: 3785,
        }
    }
}

/// Driver configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriverConfig {
    pub ports: Ports,
    pub ipv4: bool,
    pub ipv6: bool,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            ports: Ports::default(),
            ipv4: true,
            ipv6: true,
        }
    }
}

/// Identifies a session: a BGP session's peer and local address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey {
    pub peer: IpAddr,
    pub local: IpAddr,
    pub multihop: bool,
}

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSpec {
    pub key: SessionKey,
    /// Restrict to packets received on this interface (needed for IPv6 link-local peers).
    pub interface: Option<String>,
    pub profile: Profile,
}

/// A session changed state. The BGP driver tears its session down (Cease) on `to == Down`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateEvent {
    pub key: SessionKey,
    pub from: State,
    pub to: State,
    pub diagnostic: Diagnostic,
}

/// A session as seen from outside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStatus {
    pub key: SessionKey,
    pub state: State,
    pub diagnostic: Diagnostic,
    pub local_discriminator: u32,
    pub remote_discriminator: u32,
    pub transmit_interval: Duration,
    pub detection_time: Duration,
    pub echo_active: bool,
}

#[derive(Debug, Error)]
pub enum DriverError {
    #[error("binding BFD {what} socket: {source}")]
    Bind {
        what: &'static str,
        source: std::io::Error,
    },
    #[error("session {0:?} already exists")]
    Exists(SessionKey),
    #[error("peer and local address families differ for {0:?}")]
    MixedFamilies(SessionKey),
    #[error("no {0} receive socket (family disabled or failed to bind)")]
    FamilyDisabled(&'static str),
    #[error("creating transmit socket for {key:?}: {source}")]
    Sender {
        key: SessionKey,
        source: std::io::Error,
    },
    #[error("BFD driver has stopped")]
    Stopped,
}

enum Command {
    Add(SessionSpec, oneshot::Sender<Result<(), DriverError>>),
    Remove(SessionKey, oneshot::Sender<bool>),
    SetProfile(SessionKey, Profile, oneshot::Sender<bool>),
    Status(oneshot::Sender<Vec<SessionStatus>>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    SingleHop,
    Multihop,
    Echo,
}

struct Received {
    channel: Channel,
    datagram: socket::Datagram,
    payload: Vec<u8>,
}

/// Handle to a running driver. Dropping it stops the driver.
pub struct Bfd {
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<StateEvent>,
    metrics: Arc<Metrics>,
    task: JoinHandle<()>,
}

impl Bfd {
    /// Bind the shared sockets and start the driver task.
    pub async fn spawn(config: DriverConfig) -> Result<Bfd, DriverError> {
        let metrics = Arc::new(Metrics::default());
        let (events, _) = broadcast::channel(1024);
        let (cmd_tx, cmd_rx) = mpsc::channel(64);
        let (pkt_tx, pkt_rx) = mpsc::channel(4096);
        let mut readers = Vec::new();
        let mut echo = [None, None];
        let p = config.ports;
        for (v6, enabled) in [(false, config.ipv4), (true, config.ipv6)] {
            if !enabled {
                continue;
            }
            for (channel, port, what) in [
                (Channel::SingleHop, p.single_hop, "single-hop"),
                (Channel::Multihop, p.multihop, "multihop"),
                (Channel::Echo, p.echo, "echo"),
            ] {
                let sock = match socket::bind_receiver(v6, port, 255) {
                    Ok(s) => Arc::new(s),
                    Err(source) if v6 => {
                        warn!(port, error = %source, "IPv6 BFD socket unavailable; IPv4 only");
                        break;
                    }
                    Err(source) => return Err(DriverError::Bind { what, source }),
                };
                if channel == Channel::Echo {
                    echo[usize::from(v6)] = Some(sock.clone());
                }
                readers.push(tokio::spawn(read_loop(sock, channel, pkt_tx.clone())));
            }
        }
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x5eed)
            ^ u64::from(std::process::id()).rotate_left(32);
        let runner = Runner {
            ports: p,
            metrics: metrics.clone(),
            events: events.clone(),
            sessions: HashMap::new(),
            by_key: HashMap::new(),
            by_discr: HashMap::new(),
            timers: BTreeSet::new(),
            next_id: 1,
            random: XorShift::new(seed),
            echo,
            echo_raw4: None,
            v4: config.ipv4,
            v6: config.ipv6,
        };
        let task = tokio::spawn(runner.run(cmd_rx, pkt_rx, readers));
        Ok(Bfd {
            commands: cmd_tx,
            events,
            metrics,
            task,
        })
    }

    async fn ask<R>(
        &self,
        make: impl FnOnce(oneshot::Sender<R>) -> Command,
    ) -> Result<R, DriverError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| DriverError::Stopped)?;
        rx.await.map_err(|_| DriverError::Stopped)
    }

    /// Start a session. It transmits at once unless the profile is passive.
    pub async fn add_session(&self, spec: SessionSpec) -> Result<(), DriverError> {
        self.ask(|tx| Command::Add(spec, tx)).await?
    }

    /// Stop a session, telling the peer AdminDown first. Returns whether it existed.
    pub async fn remove_session(&self, key: SessionKey) -> Result<bool, DriverError> {
        self.ask(|tx| Command::Remove(key, tx)).await
    }

    /// Change a session's profile (Poll sequence on timer changes).
    pub async fn set_profile(
        &self,
        key: SessionKey,
        profile: Profile,
    ) -> Result<bool, DriverError> {
        self.ask(|tx| Command::SetProfile(key, profile, tx)).await
    }

    pub async fn sessions(&self) -> Result<Vec<SessionStatus>, DriverError> {
        self.ask(Command::Status).await
    }

    /// State changes of every session.
    pub fn subscribe(&self) -> broadcast::Receiver<StateEvent> {
        self.events.subscribe()
    }

    pub fn metrics(&self) -> MetricsSnapshot {
        self.metrics.snapshot()
    }

    /// Remove every session (each peer is told AdminDown).
    pub async fn shutdown(&self) -> Result<(), DriverError> {
        for s in self.sessions().await? {
            self.remove_session(s.key).await?;
        }
        Ok(())
    }
}

impl Drop for Bfd {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_loop(sock: Arc<UdpSocket>, channel: Channel, out: mpsc::Sender<Received>) {
    let mut buf = vec![0u8; 2048];
    loop {
        match socket::recv(&sock, &mut buf).await {
            Ok(datagram) => {
                let payload = buf[..datagram.len.min(buf.len())].to_vec();
                let msg = Received {
                    channel,
                    datagram,
                    payload,
                };
                if out.send(msg).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                debug!(error = %e, "bfd receive error");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

struct Entry {
    spec: SessionSpec,
    session: Session,
    tx: UdpSocket,
    ifindex: Option<u32>,
    timers: [Option<Instant>; 4],
}

fn timer_slot(kind: TimerKind) -> usize {
    match kind {
        TimerKind::Transmit => 0,
        TimerKind::Detection => 1,
        TimerKind::EchoTransmit => 2,
        TimerKind::EchoDetection => 3,
    }
}

const TIMER_KINDS: [TimerKind; 4] = [
    TimerKind::Transmit,
    TimerKind::Detection,
    TimerKind::EchoTransmit,
    TimerKind::EchoDetection,
];

struct Runner {
    ports: Ports,
    metrics: Arc<Metrics>,
    events: broadcast::Sender<StateEvent>,
    sessions: HashMap<u64, Entry>,
    by_key: HashMap<SessionKey, u64>,
    by_discr: HashMap<u32, u64>,
    timers: BTreeSet<(Instant, u64, TimerKind)>,
    next_id: u64,
    random: XorShift,
    /// Echo sockets [v4, v6], used to send our echo and reflect the peer's.
    echo: [Option<Arc<UdpSocket>>; 2],
    /// Raw IPv4 socket for our own echo (opened on first use; needs CAP_NET_RAW).
    echo_raw4: Option<socket2::Socket>,
    v4: bool,
    v6: bool,
}

mod run;
