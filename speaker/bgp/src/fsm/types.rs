//! Inputs, outputs and configuration of the session state machine.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::codec::{DecodeError, Family, Message, Notification};

/// Identifies one TCP connection of a session; chosen by the driver, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// Who opened the TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// We connected to the peer.
    Outbound,
    /// The peer connected to our listener.
    Inbound,
}

/// The session's timers. The driver keeps at most one of each kind; arming replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Waiting before the next connection attempt (with exponential backoff).
    ConnectRetry,
    Hold,
    Keepalive,
}

/// Why the session is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// Cease / Administrative Shutdown (6/2).
    AdminShutdown,
    /// Cease / Peer De-configured (6/3).
    PeerDeconfigured,
    /// The speaker is restarting: if graceful restart was negotiated, close the TCP connection
    /// without a NOTIFICATION so the peer keeps our routes for the restart time (RFC 4724 §4);
    /// otherwise the same as `AdminShutdown`.
    Restart,
}

/// Everything that can happen to a session.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // carries a Message, like codec::Message itself
pub enum Input {
    /// Administrative start (ManualStart, or ManualStart_with_PassiveTcpEstablishment).
    Start,
    Stop(StopReason),
    /// A TCP connection is up (ours completed, or the listener accepted the peer's).
    Connected {
        conn: ConnId,
        direction: Direction,
    },
    /// Our connection attempt failed or timed out.
    ConnectFailed,
    /// The peer closed the connection or it failed.
    Closed {
        conn: ConnId,
    },
    Received {
        conn: ConnId,
        message: Message,
    },
    /// A message that could not be decoded.
    Malformed {
        conn: ConnId,
        error: DecodeError,
    },
    TimerExpired(Timer),
}

/// What the session wants done.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // carries a Message, like codec::Message itself
pub enum Output {
    /// Open a TCP connection to the peer; report `Connected` or `ConnectFailed`.
    Connect,
    Send {
        conn: ConnId,
        message: Message,
    },
    /// Close after flushing what was sent.
    Close {
        conn: ConnId,
    },
    ArmTimer(Timer, Duration),
    StopTimer(Timer),
    SessionUp(Negotiated),
    SessionDown(DownReason),
    /// Send the whole Adj-RIB-Out on `conn` (initial table exchange, or a route refresh),
    /// followed by End-of-RIB for every negotiated family when `end_of_rib` is set.
    AdvertiseAll {
        conn: ConnId,
        end_of_rib: bool,
    },
}

/// What both OPENs agreed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    pub conn: ConnId,
    pub peer_router_id: Ipv4Addr,
    pub peer_as: u32,
    /// 0 = no hold timer, no keepalives.
    pub hold_time: u16,
    pub keepalive_time: u16,
    pub four_octet_as: bool,
    pub extended_messages: bool,
    pub route_refresh: bool,
    /// Families both sides enabled.
    pub families: Vec<Family>,
    /// Both sides advertised graceful restart.
    pub graceful_restart: bool,
}

/// Why an Established session went down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownReason {
    HoldTimerExpired,
    NotificationReceived(Notification),
    NotificationSent(Notification),
    ConnectionClosed,
    Stopped(StopReason),
    /// The peer opened a new session while ours was Established with graceful restart.
    PeerRestarted,
}

impl DownReason {
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::HoldTimerExpired => "hold_timer_expired",
            Self::NotificationReceived(_) => "notification_received",
            Self::NotificationSent(_) => "notification_sent",
            Self::ConnectionClosed => "connection_closed",
            Self::Stopped(_) => "stopped",
            Self::PeerRestarted => "peer_restarted",
        }
    }
}

impl std::fmt::Display for DownReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::HoldTimerExpired => f.write_str("hold timer expired"),
            Self::NotificationReceived(n) => write!(f, "received NOTIFICATION {n}"),
            Self::NotificationSent(n) => write!(f, "sent NOTIFICATION {n}"),
            Self::ConnectionClosed => f.write_str("connection closed"),
            Self::Stopped(r) => write!(f, "stopped ({r:?})"),
            Self::PeerRestarted => f.write_str("peer restarted"),
        }
    }
}

/// Graceful restart as the restarting speaker (RFC 4724).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GracefulRestart {
    /// Seconds the peer keeps our routes after the session drops (12 bits, at most 4095).
    pub restart_time: u16,
    /// F bit: the data plane keeps forwarding while the speaker restarts.
    pub forwarding_preserved: bool,
    /// R bit: this speaker has just restarted.
    pub restarted: bool,
}

/// Per-peer session parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    pub local_as: u32,
    pub peer_as: u32,
    pub router_id: Ipv4Addr,
    /// Proposed hold time: 0 or at least 3 seconds.
    pub hold_time: u16,
    /// Keepalive interval; `None` = a third of the negotiated hold time.
    pub keepalive_time: Option<u16>,
    /// First wait before reconnecting; doubles after every failure up to `connect_retry_max`.
    pub connect_retry: Duration,
    pub connect_retry_max: Duration,
    /// Never connect; wait for the peer.
    pub passive: bool,
    pub families: Vec<Family>,
    pub graceful_restart: Option<GracefulRestart>,
    /// Offer RFC 8654 extended messages.
    pub extended_messages: bool,
    /// Hold timer while waiting for the peer's OPEN (RFC 4271 suggests 4 minutes).
    pub open_hold: Duration,
}

impl SessionConfig {
    /// Defaults: hold 90 s, connect retry 1 s backing off to 120 s, both families, no GR.
    pub fn new(local_as: u32, peer_as: u32, router_id: Ipv4Addr) -> Self {
        Self {
            local_as,
            peer_as,
            router_id,
            hold_time: 90,
            keepalive_time: None,
            connect_retry: Duration::from_secs(1),
            connect_retry_max: Duration::from_secs(120),
            passive: false,
            families: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
            graceful_restart: None,
            extended_messages: true,
            open_hold: Duration::from_secs(240),
        }
    }

    pub fn is_ibgp(&self) -> bool {
        self.local_as == self.peer_as
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.hold_time == 1 || self.hold_time == 2 {
            return Err(ConfigError::HoldTime(self.hold_time));
        }
        if self.router_id.is_unspecified() {
            return Err(ConfigError::RouterId);
        }
        if self.families.is_empty() {
            return Err(ConfigError::NoFamilies);
        }
        if self.local_as == 0 || self.peer_as == 0 {
            return Err(ConfigError::AsNumber);
        }
        if let Some(gr) = self.graceful_restart
            && gr.restart_time > 4095
        {
            return Err(ConfigError::RestartTime(gr.restart_time));
        }
        Ok(())
    }
}

/// A session configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("hold time {0} s: must be 0 or at least 3")]
    HoldTime(u16),
    #[error("router ID 0.0.0.0")]
    RouterId,
    #[error("no address family enabled")]
    NoFamilies,
    #[error("AS number 0")]
    AsNumber,
    #[error("graceful restart time {0} exceeds 4095 s")]
    RestartTime(u16),
}
