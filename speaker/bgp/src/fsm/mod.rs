//! The BGP session state machine (RFC 4271 §8), sans IO.
//!
//! ```text
//!            Start                Connected          OPEN ok            KEEPALIVE
//!   Idle ──────────► Connect ───────────────► OpenSent ───────► OpenConfirm ─────► Established
//!    ▲  (passive: Active)  │ConnectFailed         │ error/Closed/Hold     │              │
//!    │                     ▼                      ▼                       ▼              ▼
//!    └──── ConnectRetry (backoff) ◄──────────────── failure: NOTIFICATION, close, SessionDown
//! ```
//! A session may briefly own two connections (ours and the peer's); RFC 4271 §6.8 collision
//! detection keeps the one opened by the speaker with the higher BGP Identifier.
//!
//! [`PeerSession::process`] takes one [`Input`] and the current time and returns the
//! [`Output`]s for the driver. It never blocks, reads a clock or touches a socket.

mod types;

use std::time::{Duration, Instant};

use crate::codec::{Capability, GracefulRestartFamily, Message, Notification, Open, cease, code};

pub use types::*;

/// RFC 4271 session states, as seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Idle,
    Connect,
    Active,
    OpenSent,
    OpenConfirm,
    Established,
}

impl State {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Connect => "connect",
            Self::Active => "active",
            Self::OpenSent => "open_sent",
            Self::OpenConfirm => "open_confirm",
            Self::Established => "established",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnState {
    OpenSent,
    OpenConfirm,
    Established,
}

#[derive(Debug, Clone)]
struct Conn {
    id: ConnId,
    direction: Direction,
    state: ConnState,
    negotiated: Option<Negotiated>,
}

/// A session is stable after this long Established; the reconnect backoff then starts over.
const STABLE_AFTER: Duration = Duration::from_secs(60);

/// One BGP peer session.
#[derive(Debug)]
pub struct PeerSession {
    config: SessionConfig,
    /// Without a connection: Idle, Connect or Active.
    phase: State,
    stopped: bool,
    conns: Vec<Conn>,
    failures: u32,
    established_at: Option<Instant>,
    last_down: Option<DownReason>,
}

impl PeerSession {
    pub fn new(config: SessionConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            config,
            phase: State::Idle,
            stopped: true,
            conns: Vec::new(),
            failures: 0,
            established_at: None,
            last_down: None,
        })
    }

    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    pub fn state(&self) -> State {
        self.conns
            .iter()
            .map(|c| match c.state {
                ConnState::OpenSent => State::OpenSent,
                ConnState::OpenConfirm => State::OpenConfirm,
                ConnState::Established => State::Established,
            })
            .max_by_key(|s| *s as u8)
            .unwrap_or(self.phase)
    }

    /// The negotiated parameters of the Established connection.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.conns
            .iter()
            .find(|c| c.state == ConnState::Established)
            .and_then(|c| c.negotiated.as_ref())
    }

    pub fn last_down(&self) -> Option<&DownReason> {
        self.last_down.as_ref()
    }

    /// The delay before the next connection attempt: `connect_retry` after the first failure,
    /// doubling with each further one up to `connect_retry_max`.
    pub fn backoff(&self) -> Duration {
        let shift = self.failures.saturating_sub(1).min(16);
        self.config
            .connect_retry
            .saturating_mul(1 << shift)
            .min(self.config.connect_retry_max)
    }

    /// The OPEN we send.
    pub fn open_message(&self) -> Open {
        let c = &self.config;
        let mut caps: Vec<Capability> = c
            .families
            .iter()
            .map(|f| Capability::Multiprotocol(*f))
            .collect();
        caps.push(Capability::RouteRefresh);
        caps.push(Capability::RouteRefreshLegacy);
        caps.push(Capability::FourOctetAs(c.local_as));
        if c.extended_messages {
            caps.push(Capability::ExtendedMessage);
        }
        if let Some(gr) = c.graceful_restart {
            caps.push(Capability::GracefulRestart {
                restart_state: gr.restarted,
                notification: false,
                restart_time: gr.restart_time,
                families: c
                    .families
                    .iter()
                    .map(|f| GracefulRestartFamily {
                        family: *f,
                        forwarding_preserved: gr.forwarding_preserved,
                    })
                    .collect(),
            });
        }
        Open::new(c.local_as, c.hold_time, c.router_id, caps)
    }

    /// Feed one input; returns what to do, in order.
    pub fn process(&mut self, input: Input, now: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        match input {
            Input::Start => self.start(&mut out),
            Input::Stop(reason) => self.stop(reason, &mut out),
            Input::Connected { conn, direction } => self.connected(conn, direction, &mut out),
            Input::ConnectFailed => {
                if !self.stopped && self.conns.is_empty() && self.phase == State::Connect {
                    self.failures = self.failures.saturating_add(1);
                    self.phase = State::Active;
                    out.push(Output::ArmTimer(Timer::ConnectRetry, self.backoff()));
                }
            }
            Input::Closed { conn } => {
                if self.index(conn).is_some() {
                    self.drop_conn(conn, DownReason::ConnectionClosed, None, now, &mut out);
                }
            }
            Input::Received { conn, message } => self.received(conn, message, now, &mut out),
            Input::Malformed { conn, error } => {
                if self.index(conn).is_some() {
                    let n = error.notification();
                    self.drop_conn(
                        conn,
                        DownReason::NotificationSent(n.clone()),
                        Some(n),
                        now,
                        &mut out,
                    );
                }
            }
            Input::TimerExpired(t) => self.timer(t, now, &mut out),
        }
        out
    }

    fn index(&self, conn: ConnId) -> Option<usize> {
        self.conns.iter().position(|c| c.id == conn)
    }

    fn start(&mut self, out: &mut Vec<Output>) {
        if !self.stopped {
            return;
        }
        self.stopped = false;
        self.failures = 0;
        self.begin_connecting(out);
    }

    fn begin_connecting(&mut self, out: &mut Vec<Output>) {
        if self.config.passive {
            self.phase = State::Active;
        } else {
            self.phase = State::Connect;
            out.push(Output::Connect);
        }
    }

    fn stop(&mut self, reason: StopReason, out: &mut Vec<Output>) {
        self.stopped = true;
        let was_up = self.conns.iter().any(|c| c.state == ConnState::Established);
        let graceful = reason == StopReason::Restart
            && self.negotiated().is_some_and(|n| n.graceful_restart)
            && self.config.graceful_restart.is_some();
        let subcode = match reason {
            StopReason::PeerDeconfigured => cease::PEER_DECONFIGURED,
            _ => cease::ADMINISTRATIVE_SHUTDOWN,
        };
        for c in std::mem::take(&mut self.conns) {
            if !graceful {
                out.push(Output::Send {
                    conn: c.id,
                    message: Message::Notification(Notification::cease(subcode)),
                });
            }
            out.push(Output::Close { conn: c.id });
        }
        self.stop_timers(out);
        out.push(Output::StopTimer(Timer::ConnectRetry));
        self.phase = State::Idle;
        if was_up {
            let r = DownReason::Stopped(reason);
            self.last_down = Some(r.clone());
            out.push(Output::SessionDown(r));
        }
    }

    fn stop_timers(&self, out: &mut Vec<Output>) {
        out.push(Output::StopTimer(Timer::Hold));
        out.push(Output::StopTimer(Timer::Keepalive));
    }

    fn connected(&mut self, conn: ConnId, direction: Direction, out: &mut Vec<Output>) {
        if self.stopped || self.conns.len() >= 2 {
            if !self.stopped {
                let n = Notification::cease(cease::CONNECTION_REJECTED);
                out.push(Output::Send {
                    conn,
                    message: Message::Notification(n),
                });
            }
            out.push(Output::Close { conn });
            return;
        }
        if self.conns.is_empty() {
            out.push(Output::StopTimer(Timer::ConnectRetry));
            out.push(Output::ArmTimer(Timer::Hold, self.config.open_hold));
        }
        self.conns.push(Conn {
            id: conn,
            direction,
            state: ConnState::OpenSent,
            negotiated: None,
        });
        out.push(Output::Send {
            conn,
            message: Message::Open(self.open_message()),
        });
    }

    fn received(&mut self, conn: ConnId, message: Message, now: Instant, out: &mut Vec<Output>) {
        let Some(i) = self.index(conn) else { return };
        let state = self.conns[i].state;
        match (state, message) {
            (_, Message::Notification(n)) => {
                self.drop_conn(conn, DownReason::NotificationReceived(n), None, now, out)
            }
            (ConnState::OpenSent, Message::Open(open)) => self.open_received(conn, open, now, out),
            (ConnState::OpenConfirm, Message::Keepalive) => {
                let mut c = self.conns.remove(i);
                c.state = ConnState::Established;
                // Any other connection loses (RFC 4271 §6.8 once one is Established).
                for other in std::mem::take(&mut self.conns) {
                    let n = Notification::cease(cease::CONNECTION_COLLISION_RESOLUTION);
                    out.push(Output::Send {
                        conn: other.id,
                        message: Message::Notification(n),
                    });
                    out.push(Output::Close { conn: other.id });
                }
                let neg = c.negotiated.clone();
                self.conns.push(c);
                self.established_at = Some(now);
                if let Some(neg) = neg {
                    self.arm_hold(&neg, out);
                    out.push(Output::SessionUp(neg));
                }
                out.push(Output::AdvertiseAll {
                    conn,
                    end_of_rib: true,
                });
            }
            (ConnState::Established, Message::Keepalive | Message::Update(_)) => {
                if let Some(neg) = self.conns[i].negotiated.clone() {
                    self.arm_hold(&neg, out);
                }
            }
            (ConnState::Established, Message::RouteRefresh(_)) => {
                if let Some(neg) = self.conns[i].negotiated.clone() {
                    self.arm_hold(&neg, out);
                }
                out.push(Output::AdvertiseAll {
                    conn,
                    end_of_rib: false,
                });
            }
            (s, _) => {
                // RFC 6608 FSM error subcodes.
                let sub = match s {
                    ConnState::OpenSent => 1,
                    ConnState::OpenConfirm => 2,
                    ConnState::Established => 3,
                };
                let n = Notification::new(code::FSM, sub);
                self.drop_conn(
                    conn,
                    DownReason::NotificationSent(n.clone()),
                    Some(n),
                    now,
                    out,
                );
            }
        }
    }

    fn check_open(&self, open: &Open) -> Result<Negotiated, Notification> {
        let c = &self.config;
        if open.asn() != c.peer_as {
            return Err(Notification {
                code: code::OPEN_MESSAGE,
                subcode: 2,
                data: open.my_as.to_be_bytes().to_vec(),
            });
        }
        if open.bgp_id == c.router_id {
            return Err(Notification::new(code::OPEN_MESSAGE, 3));
        }
        let theirs = open.families();
        let families: Vec<_> = c
            .families
            .iter()
            .copied()
            .filter(|f| theirs.contains(f))
            .collect();
        if families.is_empty() {
            let mut data = Vec::new();
            for f in &c.families {
                data.extend_from_slice(&[1, 4]);
                data.extend_from_slice(&f.afi.to_be_bytes());
                data.extend_from_slice(&[0, f.safi]);
            }
            return Err(Notification {
                code: code::OPEN_MESSAGE,
                subcode: 7,
                data,
            });
        }
        let hold_time = c.hold_time.min(open.hold_time);
        let keepalive_time = match (hold_time, c.keepalive_time) {
            (0, _) => 0,
            (h, Some(k)) => k.clamp(1, h / 3),
            (h, None) => h / 3,
        };
        Ok(Negotiated {
            conn: ConnId(0),
            peer_router_id: open.bgp_id,
            peer_as: open.asn(),
            hold_time,
            keepalive_time,
            four_octet_as: open.four_octet_as().is_some(),
            extended_messages: c.extended_messages && open.has(6),
            route_refresh: open.has(2) || open.has(128),
            families,
            graceful_restart: c.graceful_restart.is_some() && open.has(64),
        })
    }

    fn open_received(&mut self, conn: ConnId, open: Open, now: Instant, out: &mut Vec<Output>) {
        let mut neg = match self.check_open(&open) {
            Ok(n) => n,
            Err(n) => {
                self.drop_conn(
                    conn,
                    DownReason::NotificationSent(n.clone()),
                    Some(n),
                    now,
                    out,
                );
                return;
            }
        };
        neg.conn = conn;
        // Collision detection (RFC 4271 §6.8).
        if let Some(other) = self
            .conns
            .iter()
            .find(|c| c.id != conn && c.state != ConnState::OpenSent)
            .cloned()
        {
            let this_dir = self
                .conns
                .iter()
                .find(|c| c.id == conn)
                .map(|c| c.direction);
            let lose_this = if other.state == ConnState::Established {
                if other
                    .negotiated
                    .as_ref()
                    .is_some_and(|n| n.graceful_restart)
                {
                    // RFC 4724 §4.2: a new OPEN from a GR peer means it restarted.
                    self.drop_conn(other.id, DownReason::PeerRestarted, None, now, out);
                    self.failures = 0;
                    false
                } else {
                    true
                }
            } else {
                // Keep the connection opened by the side with the higher identifier.
                let keep_outbound = u32::from(self.config.router_id) > u32::from(open.bgp_id);
                let keep = if keep_outbound {
                    Direction::Outbound
                } else {
                    Direction::Inbound
                };
                this_dir != Some(keep) && other.direction == keep
            };
            let n = Notification::cease(cease::CONNECTION_COLLISION_RESOLUTION);
            let loser = if lose_this { conn } else { other.id };
            if let Some(i) = self.index(loser) {
                self.conns.remove(i);
                out.push(Output::Send {
                    conn: loser,
                    message: Message::Notification(n),
                });
                out.push(Output::Close { conn: loser });
            }
            if lose_this {
                return;
            }
        }
        if self.conns.is_empty() {
            out.push(Output::StopTimer(Timer::ConnectRetry));
        }
        let Some(i) = self.index(conn) else { return };
        self.conns[i].state = ConnState::OpenConfirm;
        self.conns[i].negotiated = Some(neg.clone());
        out.push(Output::Send {
            conn,
            message: Message::Keepalive,
        });
        self.arm_hold(&neg, out);
        if neg.keepalive_time > 0 {
            out.push(Output::ArmTimer(
                Timer::Keepalive,
                Duration::from_secs(neg.keepalive_time.into()),
            ));
        } else {
            out.push(Output::StopTimer(Timer::Keepalive));
        }
    }

    fn arm_hold(&self, neg: &Negotiated, out: &mut Vec<Output>) {
        if neg.hold_time > 0 {
            out.push(Output::ArmTimer(
                Timer::Hold,
                Duration::from_secs(neg.hold_time.into()),
            ));
        } else {
            out.push(Output::StopTimer(Timer::Hold));
        }
    }

    /// Remove one connection (sending `notify` first). If it was the last one, the session
    /// fails: timers stop, SessionDown if it was Established, and a reconnect is scheduled.
    fn drop_conn(
        &mut self,
        conn: ConnId,
        reason: DownReason,
        notify: Option<Notification>,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        let Some(i) = self.index(conn) else { return };
        let c = self.conns.remove(i);
        if let Some(n) = notify {
            out.push(Output::Send {
                conn,
                message: Message::Notification(n),
            });
        }
        out.push(Output::Close { conn });
        if c.state == ConnState::Established {
            self.last_down = Some(reason.clone());
            out.push(Output::SessionDown(reason));
            if self
                .established_at
                .is_some_and(|t| now.saturating_duration_since(t) >= STABLE_AFTER)
            {
                self.failures = 0;
            }
            self.established_at = None;
        }
        if !self.conns.is_empty() {
            return;
        }
        self.stop_timers(out);
        if self.stopped {
            return;
        }
        self.failures = self.failures.saturating_add(1);
        if self.config.passive {
            self.phase = State::Active;
        } else {
            self.phase = State::Idle;
            out.push(Output::ArmTimer(Timer::ConnectRetry, self.backoff()));
        }
    }

    fn timer(&mut self, t: Timer, now: Instant, out: &mut Vec<Output>) {
        if self.stopped {
            return;
        }
        match t {
            Timer::ConnectRetry => {
                if self.conns.is_empty() && !self.config.passive {
                    self.phase = State::Connect;
                    out.push(Output::Connect);
                }
            }
            Timer::Hold => {
                let n = Notification::new(code::HOLD_TIMER_EXPIRED, 0);
                let ids: Vec<ConnId> = self.conns.iter().map(|c| c.id).collect();
                for id in ids {
                    self.drop_conn(id, DownReason::HoldTimerExpired, Some(n.clone()), now, out);
                }
            }
            Timer::Keepalive => {
                let mut interval = None;
                for c in &self.conns {
                    if let Some(neg) = c.negotiated.as_ref().filter(|n| n.keepalive_time > 0) {
                        out.push(Output::Send {
                            conn: c.id,
                            message: Message::Keepalive,
                        });
                        interval = Some(neg.keepalive_time);
                    }
                }
                if let Some(k) = interval {
                    out.push(Output::ArmTimer(
                        Timer::Keepalive,
                        Duration::from_secs(k.into()),
                    ));
                }
            }
        }
    }
}
