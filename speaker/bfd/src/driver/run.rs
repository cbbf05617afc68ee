//! The driver loop: commands, received packets and timers, one at a time.

use super::*;

/// Drop reasons found by the driver (decode errors and session refusals have their own labels).
pub(super) mod reason {
    pub const NO_TTL: &str = "no_ttl_info";
    pub const TTL_NOT_255: &str = "ttl_not_255";
    pub const TTL_BELOW_MINIMUM: &str = "ttl_below_minimum";
    pub const UNKNOWN_SESSION: &str = "unknown_session";
    pub const PEER_ADDRESS_MISMATCH: &str = "peer_address_mismatch";
    pub const WRONG_INTERFACE: &str = "wrong_interface";
    pub const ECHO_BAD_TTL: &str = "echo_bad_ttl";
    pub const ECHO_UNKNOWN_SESSION: &str = "echo_unknown_session";
    pub const SEND_FAILED: &str = "send_failed";
    pub const ECHO_SEND_FAILED: &str = "echo_send_failed";
}

impl Runner {
    pub(super) async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut packets: mpsc::Receiver<Received>,
        readers: Vec<JoinHandle<()>>,
    ) {
        loop {
            let next = self.timers.first().map(|(at, _, _)| *at);
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(cmd) => self.command(cmd),
                    None => break,
                },
                Some(pkt) = packets.recv() => self.packet(pkt),
                _ = sleep_until_opt(next) => self.fire_timers(),
            }
        }
        // The handle is gone: tell every peer we are going away.
        let keys: Vec<SessionKey> = self.by_key.keys().copied().collect();
        for key in keys {
            self.remove(key);
        }
        for r in readers {
            r.abort();
        }
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Add(spec, reply) => {
                let _ = reply.send(self.add(spec));
            }
            Command::Remove(key, reply) => {
                let _ = reply.send(self.remove(key));
            }
            Command::SetProfile(key, mut profile, reply) => {
                profile.echo_mode &= !key.multihop;
                let found = match self.by_key.get(&key).copied() {
                    Some(id) => {
                        if let Some(e) = self.sessions.get_mut(&id) {
                            e.spec.profile = profile;
                        }
                        self.input(id, Input::SetProfile(profile));
                        true
                    }
                    None => false,
                };
                let _ = reply.send(found);
            }
            Command::Status(reply) => {
                let mut all: Vec<SessionStatus> = self
                    .sessions
                    .values()
                    .map(|e| SessionStatus {
                        key: e.spec.key,
                        state: e.session.state(),
                        diagnostic: e.session.diagnostic(),
                        local_discriminator: e.session.local_discriminator(),
                        remote_discriminator: e.session.remote_discriminator(),
                        transmit_interval: e.session.transmit_interval(),
                        detection_time: e.session.detection_time(),
                        echo_active: e.session.echo_active(),
                    })
                    .collect();
                all.sort_by_key(|s| s.key);
                let _ = reply.send(all);
            }
        }
    }

    fn add(&mut self, mut spec: SessionSpec) -> Result<(), DriverError> {
        let key = spec.key;
        // Echo is single-hop only (RFC 5883 §3); MetalLB documents the same.
        spec.profile.echo_mode &= !key.multihop;
        if self.by_key.contains_key(&key) {
            return Err(DriverError::Exists(key));
        }
        if key.peer.is_ipv4() != key.local.is_ipv4() {
            return Err(DriverError::MixedFamilies(key));
        }
        if (key.peer.is_ipv4() && !self.v4) || (key.peer.is_ipv6() && !self.v6) {
            return Err(DriverError::FamilyDisabled(if key.peer.is_ipv4() {
                "IPv4"
            } else {
                "IPv6"
            }));
        }
        let hint = (self.random.next_u32() & 0xffff) as u16;
        let tx = socket::bind_sender(key.local, spec.interface.as_deref(), hint)
            .map_err(|source| DriverError::Sender { key, source })?;
        let discr = loop {
            let d = self.random.next_u32();
            if d != 0 && !self.by_discr.contains_key(&d) {
                break d;
            }
        };
        let jitter_seed = u64::from(self.random.next_u32()) << 32 | u64::from(discr);
        let session = Session::new(discr, spec.profile, Box::new(XorShift::new(jitter_seed)));
        let id = self.next_id;
        self.next_id += 1;
        let ifindex = spec.interface.as_deref().and_then(socket::ifindex);
        info!(peer = %key.peer, local = %key.local, multihop = key.multihop, discriminator = discr, "bfd session added");
        self.metrics.peer(key.peer, |c| c.session_up = false);
        self.sessions.insert(
            id,
            Entry {
                spec,
                session,
                tx,
                ifindex,
                timers: [None; 4],
            },
        );
        self.by_key.insert(key, id);
        self.by_discr.insert(discr, id);
        let now = Instant::now();
        let out = match self.sessions.get_mut(&id) {
            Some(e) => e.session.start(now.into_std()),
            None => Vec::new(),
        };
        self.apply(id, out);
        Ok(())
    }

    fn remove(&mut self, key: SessionKey) -> bool {
        let Some(id) = self.by_key.get(&key).copied() else {
            return false;
        };
        self.input(id, Input::AdminDown);
        // RFC 5880 §6.8.16 wants AdminDown sent for a detection time; we leave at once, so send
        // it three times rather than once, so that one lost packet does not turn a deliberate
        // shutdown into a detection timeout at the peer.
        for _ in 0..2 {
            self.input(id, Input::TimerExpired(TimerKind::Transmit));
        }
        let Some(entry) = self.sessions.remove(&id) else {
            return false;
        };
        self.by_key.remove(&key);
        self.by_discr.remove(&entry.session.local_discriminator());
        for (kind, at) in TIMER_KINDS.iter().zip(entry.timers) {
            if let Some(at) = at {
                self.timers.remove(&(at, id, *kind));
            }
        }
        if !self.by_key.keys().any(|k| k.peer == key.peer) {
            self.metrics.forget_peer(key.peer);
        }
        info!(peer = %key.peer, local = %key.local, "bfd session removed");
        true
    }

    fn input(&mut self, id: u64, input: Input) {
        let now = Instant::now().into_std();
        let out = match self.sessions.get_mut(&id) {
            Some(e) => e.session.process(now, input),
            None => return,
        };
        self.apply(id, out);
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(&(at, id, kind)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            if let Some(e) = self.sessions.get_mut(&id) {
                e.timers[timer_slot(kind)] = None;
            }
            self.input(id, Input::TimerExpired(kind));
        }
    }

    fn apply(&mut self, id: u64, out: Vec<Output>) {
        for o in out {
            let Some(e) = self.sessions.get_mut(&id) else {
                return;
            };
            let key = e.spec.key;
            match o {
                Output::Send(p) => {
                    let port = if key.multihop {
                        self.ports.peer_multihop
                    } else {
                        self.ports.peer_single_hop
                    };
                    match e.tx.try_send_to(
                        &p.encode(),
                        socket::scoped(
                            SocketAddr::new(key.peer, port),
                            e.spec.interface.as_deref(),
                        ),
                    ) {
                        Ok(_) => self.metrics.peer(key.peer, |c| c.control_output += 1),
                        Err(err) => {
                            debug!(peer = %key.peer, error = %err, "bfd send failed");
                            self.metrics.drop_packet(reason::SEND_FAILED);
                        }
                    }
                }
                Output::SendEcho(echo) => {
                    let payload = echo.encode();
                    let sent = match (key.local, key.peer) {
                        // FRR loops IPv4 echo in its forwarding plane: a packet from and to our
                        // own address, handed to the peer (raw socket, routed by the peer
                        // address). It returns with TTL 254 to our echo socket (the receiving
                        // interface needs accept_local=1, as the source is our own address).
                        (IpAddr::V4(local), IpAddr::V4(_)) => {
                            let pkt =
                                crate::echo::ipv4_loop_packet(local, self.ports.echo, &payload);
                            raw_v4(&mut self.echo_raw4)
                                .and_then(|s| s.send_to(&pkt, &SocketAddr::new(key.peer, 0).into()))
                        }
                        // IPv6: the peer's bfdd reflects it with hop limit 254.
                        _ => match self.echo[1].clone() {
                            Some(s) => s.try_send_to(
                                &payload,
                                socket::scoped(
                                    SocketAddr::new(key.peer, self.ports.echo),
                                    e.spec.interface.as_deref(),
                                ),
                            ),
                            None => Err(std::io::Error::other("no IPv6 echo socket")),
                        },
                    };
                    match sent {
                        Ok(_) => self.metrics.peer(key.peer, |c| c.echo_output += 1),
                        Err(err) => {
                            debug!(peer = %key.peer, error = %err, "bfd echo send failed");
                            self.metrics.drop_packet(reason::ECHO_SEND_FAILED);
                        }
                    }
                }
                Output::ArmTimer(kind, at) => {
                    let at = Instant::from_std(at);
                    let slot = &mut e.timers[timer_slot(kind)];
                    if let Some(old) = slot.replace(at) {
                        self.timers.remove(&(old, id, kind));
                    }
                    self.timers.insert((at, id, kind));
                }
                Output::CancelTimer(kind) => {
                    if let Some(old) = e.timers[timer_slot(kind)].take() {
                        self.timers.remove(&(old, id, kind));
                    }
                }
                Output::StateChanged {
                    from,
                    to,
                    diagnostic,
                } => {
                    info!(peer = %key.peer, local = %key.local, %from, %to, ?diagnostic, "bfd session state changed");
                    self.metrics.peer(key.peer, |c| {
                        if to == State::Up {
                            c.up_events += 1;
                        } else if from == State::Up {
                            c.down_events += 1;
                        }
                        c.session_up = to == State::Up;
                    });
                    let _ = self.events.send(StateEvent {
                        key,
                        from,
                        to,
                        diagnostic,
                    });
                }
            }
        }
    }

    fn packet(&mut self, pkt: Received) {
        match pkt.channel {
            Channel::Echo => self.echo_packet(pkt),
            Channel::SingleHop | Channel::Multihop => self.control_packet(pkt),
        }
    }

    fn control_packet(&mut self, pkt: Received) {
        let multihop = pkt.channel == Channel::Multihop;
        let d = &pkt.datagram;
        let Some(ttl) = d.ttl else {
            self.metrics.drop_packet(reason::NO_TTL);
            return;
        };
        // RFC 5881 §5 (GTSM): single-hop packets must not have crossed a router.
        if !multihop && ttl != 255 {
            self.metrics.drop_packet(reason::TTL_NOT_255);
            return;
        }
        let p = match decode(&pkt.payload) {
            Ok(p) => p,
            Err(e) => {
                debug!(source = %d.source, error = %e, "bfd packet dropped");
                self.metrics.drop_packet(e.metric_label());
                return;
            }
        };
        let peer = canonical(d.source.ip());
        let id = if p.your_discriminator != 0 {
            self.by_discr.get(&p.your_discriminator).copied()
        } else {
            d.local.and_then(|local| {
                self.by_key
                    .get(&SessionKey {
                        peer,
                        local,
                        multihop,
                    })
                    .copied()
            })
        };
        let Some(id) = id else {
            self.metrics.drop_packet(reason::UNKNOWN_SESSION);
            return;
        };
        let Some(e) = self.sessions.get(&id) else {
            self.metrics.drop_packet(reason::UNKNOWN_SESSION);
            return;
        };
        if e.spec.key.peer != peer || e.spec.key.multihop != multihop {
            self.metrics.drop_packet(reason::PEER_ADDRESS_MISMATCH);
            return;
        }
        if let (Some(want), Some(got)) = (e.ifindex, d.ifindex)
            && want != got
        {
            self.metrics.drop_packet(reason::WRONG_INTERFACE);
            return;
        }
        if multihop && ttl < e.spec.profile.minimum_ttl {
            self.metrics.drop_packet(reason::TTL_BELOW_MINIMUM);
            return;
        }
        self.metrics.peer(peer, |c| c.control_input += 1);
        self.input(id, Input::Control(p));
        if let Some(ignored) = self
            .sessions
            .get(&id)
            .and_then(|e| e.session.last_ignored())
        {
            self.metrics.drop_packet(ignored.metric_label());
        }
    }

    fn echo_packet(&mut self, pkt: Received) {
        let d = &pkt.datagram;
        let echo = match decode_echo(&pkt.payload) {
            Ok(e) => e,
            Err(e) => {
                self.metrics.drop_packet(e.metric_label());
                return;
            }
        };
        let peer = canonical(d.source.ip());
        match d.ttl {
            // The peer's echo: loop it back with TTL 254 so its bfdd recognises it.
            Some(255) => {
                let known = self.by_key.keys().any(|k| k.peer == peer && !k.multihop);
                if !known {
                    self.metrics.drop_packet(reason::ECHO_UNKNOWN_SESSION);
                    return;
                }
                self.metrics.peer(peer, |c| c.echo_input += 1);
                let sock = self.echo[usize::from(peer.is_ipv6())].clone();
                if let Some(s) = sock {
                    let sent = set_ttl_for(&s, peer.is_ipv6(), 254)
                        .and_then(|()| {
                            s.try_send_to(
                                &pkt.payload[..pkt.datagram.len.min(pkt.payload.len())],
                                d.source,
                            )
                        })
                        .and_then(|_| set_ttl_for(&s, peer.is_ipv6(), 255));
                    match sent {
                        Ok(()) => self.metrics.peer(peer, |c| c.echo_output += 1),
                        Err(_) => self.metrics.drop_packet(reason::SEND_FAILED),
                    }
                }
            }
            // Our own echo coming back.
            Some(254) => match self.by_discr.get(&echo.my_discriminator).copied() {
                Some(id) => {
                    // The source is our own address (IPv4 loop) or the peer's (IPv6 reflection):
                    // count it under the session's peer either way.
                    if let Some(e) = self.sessions.get(&id) {
                        let p = e.spec.key.peer;
                        self.metrics.peer(p, |c| c.echo_input += 1);
                    }
                    self.input(id, Input::EchoReturned);
                }
                None => self.metrics.drop_packet(reason::ECHO_UNKNOWN_SESSION),
            },
            _ => self.metrics.drop_packet(reason::ECHO_BAD_TTL),
        }
    }
}

/// Set the unicast TTL/hop limit of an echo socket (the loop is single-threaded, so switching
/// around one send cannot race with another send).
fn set_ttl_for(s: &UdpSocket, v6: bool, ttl: u32) -> std::io::Result<()> {
    let sock = socket2::SockRef::from(s);
    if v6 {
        sock.set_unicast_hops_v6(ttl)
    } else {
        sock.set_ttl_v4(ttl)
    }
}

/// The raw IPv4 socket for our echo, opened on first use.
fn raw_v4(slot: &mut Option<socket2::Socket>) -> std::io::Result<&socket2::Socket> {
    if slot.is_none() {
        let s = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::RAW,
            // IPPROTO_RAW: we supply the IP header (implies IP_HDRINCL).
            Some(socket2::Protocol::from(255)),
        )?;
        s.set_nonblocking(true)?;
        *slot = Some(s);
    }
    slot.as_ref()
        .ok_or_else(|| std::io::Error::other("raw socket unavailable"))
}

/// IPv4-mapped IPv6 sources are IPv4 peers.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
