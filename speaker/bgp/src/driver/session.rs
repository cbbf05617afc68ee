//! The task that runs one peer session: feeds socket events, commands and timer expiries into
//! the FSM and carries out its outputs.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use ipnet::IpNet;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{Command, DriverError, PeerConfig, PeerMetrics, PeerStatus, SpeakerInner, socket};
use crate::codec::{
    Codec, DecodeError, MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN, Message, Update,
};
use crate::fsm::{ConnId, Direction, Input, Output, PeerSession, StopReason, Timer};
use crate::rib_out::{AdjRibOut, RibDiff, UpdatePacker};

/// What arrives on a session's event channel.
pub(crate) enum Event {
    Accepted(TcpStream),
    Connected(ConnId, Result<TcpStream, DriverError>),
    Frame(ConnId, Vec<u8>),
    Malformed(ConnId, DecodeError),
    Closed(ConnId),
}

struct Conn {
    writer: OwnedWriteHalf,
    reader: JoinHandle<()>,
    codec: Codec,
    local: SocketAddr,
}

pub(crate) struct PeerTask {
    cfg: PeerConfig,
    fsm: PeerSession,
    rib: AdjRibOut,
    conns: HashMap<ConnId, Conn>,
    timers: HashMap<Timer, Instant>,
    connecting: Option<(ConnId, JoinHandle<()>)>,
    established: Option<(ConnId, UpdatePacker)>,
    speaker: Arc<SpeakerInner>,
    ev_tx: mpsc::Sender<Event>,
    ev_rx: mpsc::Receiver<Event>,
    cmd_rx: mpsc::Receiver<Command>,
    status: watch::Sender<PeerStatus>,
    metrics: Arc<PeerMetrics>,
    queue: VecDeque<Input>,
}

impl PeerTask {
    pub(crate) fn new(
        cfg: PeerConfig,
        speaker: Arc<SpeakerInner>,
        ev_tx: mpsc::Sender<Event>,
        ev_rx: mpsc::Receiver<Event>,
        cmd_rx: mpsc::Receiver<Command>,
        status: watch::Sender<PeerStatus>,
        metrics: Arc<PeerMetrics>,
    ) -> Result<Self, DriverError> {
        let fsm = PeerSession::new(cfg.session.clone())?;
        Ok(Self {
            cfg,
            fsm,
            rib: AdjRibOut::new(),
            conns: HashMap::new(),
            timers: HashMap::new(),
            connecting: None,
            established: None,
            speaker,
            ev_tx,
            ev_rx,
            cmd_rx,
            status,
            metrics,
            queue: VecDeque::new(),
        })
    }

    fn peer(&self) -> IpAddr {
        self.cfg.address
    }

    pub(crate) async fn run(mut self) {
        self.queue.push_back(Input::Start);
        self.drain().await;
        loop {
            let next = self.timers.values().min().copied();
            tokio::select! {
                cmd = self.cmd_rx.recv() => match cmd {
                    Some(Command::SetRoutes(routes)) => self.set_routes(routes).await,
                    Some(Command::Shutdown(reason, ack)) => {
                        self.queue.push_back(Input::Stop(reason));
                        self.drain().await;
                        let _ = ack.send(());
                        break;
                    }
                    None => {
                        self.queue.push_back(Input::Stop(StopReason::AdminShutdown));
                        self.drain().await;
                        break;
                    }
                },
                Some(ev) = self.ev_rx.recv() => self.event(ev),
                _ = tokio::time::sleep_until(next.unwrap_or_else(Instant::now)), if next.is_some() => {
                    let now = Instant::now();
                    let due: Vec<Timer> = self.timers.iter().filter(|(_, d)| **d <= now).map(|(t, _)| *t).collect();
                    for t in due {
                        self.timers.remove(&t);
                        self.queue.push_back(Input::TimerExpired(t));
                    }
                }
            }
            self.drain().await;
        }
        self.cleanup();
    }

    fn cleanup(&mut self) {
        if let Some((_, h)) = self.connecting.take() {
            h.abort();
        }
        for (_, c) in self.conns.drain() {
            c.reader.abort();
        }
        self.metrics.session_up.store(false, Ordering::Relaxed);
        self.speaker.unregister(&self.cfg);
        self.publish(None);
    }

    fn publish(&self, error: Option<String>) {
        let state = self.fsm.state();
        let negotiated = self.fsm.negotiated().cloned();
        let last_down = self.fsm.last_down().cloned();
        self.status.send_modify(|s| {
            s.state = state;
            s.negotiated = negotiated;
            s.last_down = last_down;
            if error.is_some() {
                s.last_error = error;
            }
        });
    }

    fn event(&mut self, ev: Event) {
        match ev {
            Event::Accepted(stream) => {
                let ipv6 = self.peer().is_ipv6();
                if let Err(e) = socket::apply_ttl(&stream, ipv6, self.cfg.ttl) {
                    tracing::warn!(peer = %self.peer(), error = %e, "inbound connection: socket option failed, dropping");
                    self.publish(Some(e.to_string()));
                    return;
                }
                let id = self.speaker.conn_id();
                if self.register(id, stream) {
                    self.queue.push_back(Input::Connected {
                        conn: id,
                        direction: Direction::Inbound,
                    });
                }
            }
            Event::Connected(id, res) => {
                if self.connecting.as_ref().is_some_and(|(c, _)| *c == id) {
                    self.connecting = None;
                }
                match res {
                    Ok(stream) => {
                        if self.register(id, stream) {
                            self.queue.push_back(Input::Connected {
                                conn: id,
                                direction: Direction::Outbound,
                            });
                        } else {
                            self.queue.push_back(Input::ConnectFailed);
                        }
                    }
                    Err(e) => {
                        tracing::debug!(peer = %self.peer(), error = %e, "connect failed");
                        self.metrics
                            .connect_failures
                            .fetch_add(1, Ordering::Relaxed);
                        self.publish(Some(e.to_string()));
                        self.queue.push_back(Input::ConnectFailed);
                    }
                }
            }
            Event::Frame(conn, bytes) => {
                let Some(c) = self.conns.get(&conn) else {
                    return;
                };
                match c.codec.decode(&bytes) {
                    Ok(message) => {
                        match &message {
                            Message::Update(u) => {
                                self.metrics
                                    .updates_received
                                    .fetch_add(1, Ordering::Relaxed);
                                if let Some(e) = &u.treat_as_withdraw {
                                    self.metrics
                                        .treat_as_withdraw
                                        .fetch_add(1, Ordering::Relaxed);
                                    tracing::info!(peer = %self.peer(), error = %e, reason = e.metric_label(), "UPDATE treated as withdraw (RFC 7606)");
                                }
                                for e in &u.discarded {
                                    tracing::debug!(peer = %self.peer(), error = %e, "attribute discarded (RFC 7606)");
                                }
                            }
                            Message::Notification(n) => {
                                self.metrics
                                    .notifications_received
                                    .fetch_add(1, Ordering::Relaxed);
                                tracing::info!(peer = %self.peer(), notification = %n, "NOTIFICATION received");
                            }
                            _ => {}
                        }
                        self.queue.push_back(Input::Received { conn, message });
                    }
                    Err(error) => self.malformed(conn, error),
                }
            }
            Event::Malformed(conn, error) => {
                if self.conns.contains_key(&conn) {
                    self.malformed(conn, error);
                }
            }
            Event::Closed(conn) => {
                if self.conns.contains_key(&conn) {
                    self.queue.push_back(Input::Closed { conn });
                }
            }
        }
    }

    fn malformed(&mut self, conn: ConnId, error: DecodeError) {
        self.metrics
            .malformed_received
            .fetch_add(1, Ordering::Relaxed);
        tracing::info!(peer = %self.peer(), %error, reason = error.metric_label(), "malformed message");
        self.queue.push_back(Input::Malformed { conn, error });
    }

    fn register(&mut self, id: ConnId, stream: TcpStream) -> bool {
        let local = match stream.local_addr() {
            Ok(a) => a,
            Err(e) => {
                tracing::debug!(peer = %self.peer(), error = %e, "connection without local address");
                return false;
            }
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(peer = %self.peer(), error = %e, "TCP_NODELAY failed");
        }
        let (rd, wr) = stream.into_split();
        let reader = tokio::spawn(read_loop(id, rd, self.ev_tx.clone()));
        self.conns.insert(
            id,
            Conn {
                writer: wr,
                reader,
                codec: Codec::default(),
                local,
            },
        );
        true
    }

    /// Run queued inputs through the FSM until nothing is left.
    async fn drain(&mut self) {
        let mut changed = false;
        while let Some(input) = self.queue.pop_front() {
            let outputs = self.fsm.process(input, std::time::Instant::now());
            for o in outputs {
                self.output(o).await;
            }
            changed = true;
        }
        if changed {
            self.publish(None);
        }
    }

    async fn output(&mut self, o: Output) {
        match o {
            Output::Connect => {
                if let Some((_, h)) = self.connecting.take() {
                    h.abort();
                }
                let id = self.speaker.conn_id();
                let cfg = self.cfg.clone();
                let tx = self.ev_tx.clone();
                let h = tokio::spawn(async move {
                    let res = socket::connect(&cfg).await;
                    let _ = tx.send(Event::Connected(id, res)).await;
                });
                self.connecting = Some((id, h));
            }
            Output::Send { conn, message } => {
                if matches!(message, Message::Notification(_)) {
                    self.metrics
                        .notifications_sent
                        .fetch_add(1, Ordering::Relaxed);
                }
                self.send(conn, std::slice::from_ref(&message)).await;
            }
            Output::Close { conn } => {
                if let Some(mut c) = self.conns.remove(&conn) {
                    c.reader.abort();
                    let _ = tokio::time::timeout(
                        std::time::Duration::from_secs(1),
                        c.writer.shutdown(),
                    )
                    .await;
                }
                if self.established.as_ref().is_some_and(|(e, _)| *e == conn) {
                    self.established = None;
                }
            }
            Output::ArmTimer(t, d) => {
                self.timers.insert(t, Instant::now() + d);
            }
            Output::StopTimer(t) => {
                self.timers.remove(&t);
            }
            Output::SessionUp(neg) => {
                let Some(c) = self.conns.get_mut(&neg.conn) else {
                    return;
                };
                c.codec = Codec {
                    four_octet_as: neg.four_octet_as,
                    max_message_len: if neg.extended_messages {
                        MAX_EXTENDED_MESSAGE_LEN
                    } else {
                        MAX_MESSAGE_LEN
                    },
                };
                let (nh4, nh6) = match c.local.ip() {
                    IpAddr::V4(a) => (
                        Some(self.cfg.next_hop_v4.unwrap_or(a)),
                        self.cfg.next_hop_v6,
                    ),
                    IpAddr::V6(a) => (
                        self.cfg.next_hop_v4,
                        Some(self.cfg.next_hop_v6.unwrap_or(a)),
                    ),
                };
                let packer = UpdatePacker {
                    local_as: self.cfg.session.local_as,
                    ibgp: self.cfg.session.is_ibgp(),
                    families: neg.families.clone(),
                    next_hop_v4: nh4,
                    next_hop_v6: nh6.map(|g| (g, None)),
                    max_message_len: c.codec.max_message_len,
                };
                tracing::info!(peer = %self.peer(), hold = neg.hold_time, families = ?neg.families, "session established");
                self.established = Some((neg.conn, packer));
                self.metrics.session_up.store(true, Ordering::Relaxed);
            }
            Output::SessionDown(reason) => {
                tracing::info!(peer = %self.peer(), %reason, reason_label = reason.metric_label(), "session down");
                self.established = None;
                self.metrics.session_up.store(false, Ordering::Relaxed);
                self.count_prefixes();
            }
            Output::AdvertiseAll { conn, end_of_rib } => {
                let Some((_, packer)) = &self.established else {
                    return;
                };
                let mut packed = packer.pack(&self.rib.full());
                if end_of_rib {
                    packed.updates.extend(packer.end_of_rib());
                }
                self.send_updates(conn, packed.updates).await;
                self.count_prefixes();
            }
        }
    }

    fn count_prefixes(&self) {
        let announced = match &self.established {
            Some((_, packer)) => self.rib_sendable(packer),
            None => 0,
        };
        self.metrics
            .announced_prefixes
            .store(announced as u64, Ordering::Relaxed);
        self.metrics
            .pending_prefixes
            .store((self.rib.len() - announced) as u64, Ordering::Relaxed);
    }

    fn rib_sendable(&self, packer: &UpdatePacker) -> usize {
        let full = self.rib.full();
        let skipped = full
            .announce
            .iter()
            .filter(|(p, _)| packer.skip_reason(p).is_some())
            .count();
        self.rib.len() - skipped
    }

    async fn set_routes(&mut self, routes: Vec<(IpNet, crate::rib_out::Attributes)>) {
        let diff: RibDiff = self.rib.set_routes(routes);
        if diff.is_empty() {
            return;
        }
        if let Some((conn, packer)) = &self.established {
            let conn = *conn;
            let packed = packer.pack(&diff);
            for (p, r) in &packed.skipped {
                tracing::debug!(peer = %self.peer(), prefix = %p, reason = r.metric_label(), "prefix not advertised");
            }
            self.send_updates(conn, packed.updates).await;
        }
        self.count_prefixes();
    }

    async fn send_updates(&mut self, conn: ConnId, updates: Vec<Update>) {
        let msgs: Vec<Message> = updates.into_iter().map(Message::Update).collect();
        self.send(conn, &msgs).await;
    }

    /// Encode and write messages in one batch; a write failure closes the connection.
    async fn send(&mut self, conn: ConnId, msgs: &[Message]) {
        let hold = self.cfg.session.hold_time;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let mut buf = Vec::with_capacity(msgs.len() * 64);
        let mut updates = 0u64;
        for m in msgs {
            match c.codec.encode_into(m, &mut buf) {
                Ok(()) => updates += u64::from(matches!(m, Message::Update(_))),
                Err(e) => {
                    tracing::warn!(peer = %self.cfg.address, error = %e, kind = m.kind(), "message not encodable, dropped")
                }
            }
        }
        let res = tokio::time::timeout(socket::send_timeout(hold), c.writer.write_all(&buf)).await;
        match res {
            Ok(Ok(())) => {
                self.metrics
                    .updates_sent
                    .fetch_add(updates, Ordering::Relaxed);
            }
            Ok(Err(e)) => {
                tracing::debug!(peer = %self.cfg.address, error = %e, "write failed");
                self.queue.push_back(Input::Closed { conn });
            }
            Err(_) => {
                tracing::info!(peer = %self.cfg.address, "write timed out");
                self.queue.push_back(Input::Closed { conn });
            }
        }
    }
}

/// Frame the byte stream (any length up to 65535; the session's codec checks the negotiated
/// maximum) and hand complete messages to the session task.
async fn read_loop(conn: ConnId, mut rd: OwnedReadHalf, tx: mpsc::Sender<Event>) {
    let framer = Codec {
        four_octet_as: true,
        max_message_len: MAX_EXTENDED_MESSAGE_LEN,
    };
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    loop {
        let mut start = 0;
        loop {
            match framer.frame_len(&buf[start..]) {
                Ok(Some(len)) if buf.len() - start >= len => {
                    if tx
                        .send(Event::Frame(conn, buf[start..start + len].to_vec()))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    start += len;
                }
                Ok(_) => break,
                Err(e) => {
                    let _ = tx.send(Event::Malformed(conn, e)).await;
                    return;
                }
            }
        }
        buf.drain(..start);
        match rd.read_buf(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = tx.send(Event::Closed(conn)).await;
                return;
            }
            Ok(_) => {}
        }
    }
}
