//! Session state machine: feed inputs, assert outputs. No sockets, no clock.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use lodestone_bgp::codec::*;
use lodestone_bgp::fsm::*;

const LOCAL_ID: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const PEER_ID: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

fn config() -> SessionConfig {
    let mut c = SessionConfig::new(64512, 64513, LOCAL_ID);
    c.connect_retry = Duration::from_secs(2);
    c.connect_retry_max = Duration::from_secs(30);
    c
}

fn peer_open(hold: u16, id: Ipv4Addr) -> Message {
    Message::Open(Open::new(
        64513,
        hold,
        id,
        vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::RouteRefresh,
            Capability::FourOctetAs(64513),
            Capability::Unknown {
                code: 73,
                value: b"\x03frr\x00".to_vec(),
            },
        ],
    ))
}

struct Lab {
    s: PeerSession,
    now: Instant,
}

impl Lab {
    fn new(c: SessionConfig) -> Self {
        Self {
            s: PeerSession::new(c).unwrap(),
            now: Instant::now(),
        }
    }
    fn feed(&mut self, i: Input) -> Vec<Output> {
        self.s.process(i, self.now)
    }
    fn recv(&mut self, conn: u64, message: Message) -> Vec<Output> {
        self.feed(Input::Received {
            conn: ConnId(conn),
            message,
        })
    }
    /// Start, connect out on conn 1, exchange OPEN/KEEPALIVE.
    fn establish(&mut self) -> Vec<Output> {
        assert_eq!(self.feed(Input::Start), vec![Output::Connect]);
        self.feed(Input::Connected {
            conn: ConnId(1),
            direction: Direction::Outbound,
        });
        self.recv(1, peer_open(30, PEER_ID));
        let out = self.recv(1, Message::Keepalive);
        assert_eq!(self.s.state(), State::Established);
        out
    }
}

fn sent(out: &[Output]) -> Vec<(u64, Message)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { conn, message } => Some((conn.0, message.clone())),
            _ => None,
        })
        .collect()
}

fn notification(out: &[Output]) -> Option<(u8, u8)> {
    sent(out).into_iter().find_map(|(_, m)| match m {
        Message::Notification(n) => Some((n.code, n.subcode)),
        _ => None,
    })
}

#[test]
fn active_session_reaches_established_and_advertises() {
    let mut lab = Lab::new(config());
    assert_eq!(lab.s.state(), State::Idle);
    assert_eq!(lab.feed(Input::Start), vec![Output::Connect]);
    assert_eq!(lab.s.state(), State::Connect);
    let out = lab.feed(Input::Connected {
        conn: ConnId(1),
        direction: Direction::Outbound,
    });
    assert_eq!(
        out,
        vec![
            Output::StopTimer(Timer::ConnectRetry),
            Output::ArmTimer(Timer::Hold, Duration::from_secs(240)),
            Output::Send {
                conn: ConnId(1),
                message: Message::Open(lab.s.open_message())
            },
        ]
    );
    assert_eq!(lab.s.state(), State::OpenSent);
    let out = lab.recv(1, peer_open(30, PEER_ID));
    assert_eq!(
        out,
        vec![
            Output::Send {
                conn: ConnId(1),
                message: Message::Keepalive
            },
            Output::ArmTimer(Timer::Hold, Duration::from_secs(30)),
            Output::ArmTimer(Timer::Keepalive, Duration::from_secs(10)),
        ]
    );
    assert_eq!(lab.s.state(), State::OpenConfirm);
    let out = lab.recv(1, Message::Keepalive);
    let neg = Negotiated {
        conn: ConnId(1),
        peer_router_id: PEER_ID,
        peer_as: 64513,
        hold_time: 30,
        keepalive_time: 10,
        four_octet_as: true,
        extended_messages: false,
        route_refresh: true,
        families: vec![Family::IPV4_UNICAST],
        graceful_restart: false,
    };
    assert_eq!(
        out,
        vec![
            Output::ArmTimer(Timer::Hold, Duration::from_secs(30)),
            Output::SessionUp(neg.clone()),
            Output::AdvertiseAll {
                conn: ConnId(1),
                end_of_rib: true
            },
        ]
    );
    assert_eq!(lab.s.negotiated(), Some(&neg));
    // Keepalives and updates re-arm the hold timer.
    assert_eq!(
        lab.recv(1, Message::Keepalive),
        vec![Output::ArmTimer(Timer::Hold, Duration::from_secs(30))]
    );
    let out = lab.feed(Input::TimerExpired(Timer::Keepalive));
    assert_eq!(
        out,
        vec![
            Output::Send {
                conn: ConnId(1),
                message: Message::Keepalive
            },
            Output::ArmTimer(Timer::Keepalive, Duration::from_secs(10)),
        ]
    );
}

#[test]
fn our_open_carries_capabilities_and_as_trans() {
    let mut c = config();
    c.local_as = 4_200_000_001;
    c.graceful_restart = Some(GracefulRestart {
        restart_time: 120,
        forwarding_preserved: true,
        restarted: false,
    });
    let s = PeerSession::new(c).unwrap();
    let open = s.open_message();
    assert_eq!(open.my_as, AS_TRANS);
    assert_eq!(open.asn(), 4_200_000_001);
    assert_eq!(open.hold_time, 90);
    for code in [1, 2, 128, 6, 64, 65] {
        assert!(open.has(code), "capability {code}");
    }
    assert!(open.capabilities.contains(&Capability::GracefulRestart {
        restart_state: false,
        notification: false,
        restart_time: 120,
        families: vec![
            GracefulRestartFamily {
                family: Family::IPV4_UNICAST,
                forwarding_preserved: true
            },
            GracefulRestartFamily {
                family: Family::IPV6_UNICAST,
                forwarding_preserved: true
            },
        ],
    }));
}

#[test]
fn hold_time_negotiation_table() {
    // (local hold, local keepalive, peer hold) -> (hold, keepalive)
    let rows = [
        (90, None, 180, 90, 30),
        (90, None, 9, 9, 3),
        (90, Some(5), 30, 30, 5),
        (90, Some(60), 30, 30, 10),
        (0, None, 180, 0, 0),
        (90, None, 0, 0, 0),
        (3, None, 90, 3, 1),
    ];
    for (local, ka, peer, hold, keep) in rows {
        let mut c = config();
        c.hold_time = local;
        c.keepalive_time = ka;
        let mut lab = Lab::new(c);
        lab.feed(Input::Start);
        lab.feed(Input::Connected {
            conn: ConnId(1),
            direction: Direction::Outbound,
        });
        let out = lab.recv(1, peer_open(peer, PEER_ID));
        lab.recv(1, Message::Keepalive);
        let n = lab.s.negotiated().unwrap();
        assert_eq!(
            (n.hold_time, n.keepalive_time),
            (hold, keep),
            "local {local} peer {peer}"
        );
        if hold == 0 {
            assert!(out.contains(&Output::StopTimer(Timer::Hold)));
            assert!(out.contains(&Output::StopTimer(Timer::Keepalive)));
        }
    }
    // 1–2 s is refused locally and, from the peer, by the codec with OPEN error 6.
    let mut c = config();
    c.hold_time = 2;
    assert_eq!(PeerSession::new(c).err(), Some(ConfigError::HoldTime(2)));
    let mut bytes = encode(&peer_open(30, PEER_ID)).unwrap();
    bytes[22..24].copy_from_slice(&1u16.to_be_bytes());
    let err = decode(&bytes).unwrap_err();
    let mut lab = Lab::new(config());
    lab.feed(Input::Start);
    lab.feed(Input::Connected {
        conn: ConnId(1),
        direction: Direction::Outbound,
    });
    let out = lab.feed(Input::Malformed {
        conn: ConnId(1),
        error: err,
    });
    assert_eq!(notification(&out), Some((2, 6)));
    assert!(out.contains(&Output::Close { conn: ConnId(1) }));
}

#[test]
fn bad_open_is_rejected_with_the_right_notification() {
    let rows: Vec<(&str, Message, (u8, u8))> = vec![
        (
            "wrong peer AS",
            Message::Open(Open::new(65001, 90, PEER_ID, vec![])),
            (2, 2),
        ),
        ("our own router ID", peer_open(90, LOCAL_ID), (2, 3)),
        (
            "no common family",
            Message::Open(Open::new(
                64513,
                90,
                PEER_ID,
                vec![Capability::Multiprotocol(Family { afi: 25, safi: 65 })],
            )),
            (2, 7),
        ),
        ("keepalive before open", Message::Keepalive, (5, 1)),
    ];
    for (name, m, want) in rows {
        let mut lab = Lab::new(config());
        lab.feed(Input::Start);
        lab.feed(Input::Connected {
            conn: ConnId(1),
            direction: Direction::Outbound,
        });
        let out = lab.recv(1, m);
        assert_eq!(notification(&out), Some(want), "{name}");
        assert!(out.contains(&Output::Close { conn: ConnId(1) }), "{name}");
        assert!(
            out.contains(&Output::ArmTimer(
                Timer::ConnectRetry,
                Duration::from_secs(2)
            )),
            "{name}"
        );
        assert_eq!(lab.s.state(), State::Idle, "{name}");
    }
}

#[test]
fn connect_retry_backs_off_exponentially_and_caps() {
    let mut lab = Lab::new(config());
    lab.feed(Input::Start);
    let mut delays = Vec::new();
    for _ in 0..6 {
        let out = lab.feed(Input::ConnectFailed);
        let Some(Output::ArmTimer(Timer::ConnectRetry, d)) = out.first() else {
            panic!("{out:?}")
        };
        delays.push(d.as_secs());
        assert_eq!(lab.s.state(), State::Active);
        assert_eq!(
            lab.feed(Input::TimerExpired(Timer::ConnectRetry)),
            vec![Output::Connect]
        );
    }
    assert_eq!(delays, vec![2, 4, 8, 16, 30, 30]);
    // Success resets nothing until the session has been stable; a fresh Start resets.
    lab.feed(Input::Stop(StopReason::AdminShutdown));
    lab.feed(Input::Start);
    let out = lab.feed(Input::ConnectFailed);
    assert_eq!(
        out,
        vec![Output::ArmTimer(
            Timer::ConnectRetry,
            Duration::from_secs(2)
        )]
    );
}

#[test]
fn passive_session_never_connects() {
    let mut c = config();
    c.passive = true;
    let mut lab = Lab::new(c);
    assert_eq!(lab.feed(Input::Start), vec![]);
    assert_eq!(lab.s.state(), State::Active);
    assert_eq!(lab.feed(Input::TimerExpired(Timer::ConnectRetry)), vec![]);
    let out = lab.feed(Input::Connected {
        conn: ConnId(7),
        direction: Direction::Inbound,
    });
    assert!(matches!(sent(&out)[..], [(7, Message::Open(_))]));
    lab.recv(7, peer_open(90, PEER_ID));
    lab.recv(7, Message::Keepalive);
    assert_eq!(lab.s.state(), State::Established);
    // Losing it goes back to Active without a timer.
    let out = lab.feed(Input::Closed { conn: ConnId(7) });
    assert!(out.contains(&Output::SessionDown(DownReason::ConnectionClosed)));
    assert!(!out.iter().any(|o| matches!(
        o,
        Output::ArmTimer(Timer::ConnectRetry, _) | Output::Connect
    )));
    assert_eq!(lab.s.state(), State::Active);
}

#[test]
fn hold_timer_expiry_sends_notification_and_resets() {
    let mut lab = Lab::new(config());
    lab.establish();
    let out = lab.feed(Input::TimerExpired(Timer::Hold));
    assert_eq!(notification(&out), Some((4, 0)));
    assert!(out.contains(&Output::SessionDown(DownReason::HoldTimerExpired)));
    assert!(out.contains(&Output::Close { conn: ConnId(1) }));
    assert_eq!(lab.s.state(), State::Idle);
    assert_eq!(
        lab.feed(Input::TimerExpired(Timer::ConnectRetry)),
        vec![Output::Connect]
    );
}

#[test]
fn received_notification_and_malformed_update_reset_the_session() {
    let mut lab = Lab::new(config());
    lab.establish();
    let out = lab.recv(1, Message::Notification(Notification::cease(2)));
    assert!(
        out.contains(&Output::SessionDown(DownReason::NotificationReceived(
            Notification::cease(2)
        )))
    );
    assert_eq!(notification(&out), None, "never answer a NOTIFICATION");

    let mut lab = Lab::new(config());
    lab.establish();
    let err = DecodeError::InvalidNetworkField {
        reason: "prefix length over 32",
    };
    let out = lab.feed(Input::Malformed {
        conn: ConnId(1),
        error: err,
    });
    assert_eq!(notification(&out), Some((3, 10)));
    assert!(
        out.contains(&Output::SessionDown(DownReason::NotificationSent(
            Notification::new(3, 10)
        )))
    );
    // An OPEN while Established is an FSM error (RFC 6608 subcode 3).
    let mut lab = Lab::new(config());
    lab.establish();
    assert_eq!(
        notification(&lab.recv(1, peer_open(90, PEER_ID))),
        Some((5, 3))
    );
}

#[test]
fn route_refresh_re_sends_everything() {
    let mut lab = Lab::new(config());
    lab.establish();
    let out = lab.recv(
        1,
        Message::RouteRefresh(RouteRefresh {
            family: Family::IPV4_UNICAST,
            subtype: 0,
        }),
    );
    assert!(out.contains(&Output::AdvertiseAll {
        conn: ConnId(1),
        end_of_rib: false
    }));
}

#[test]
fn admin_shutdown_sends_cease() {
    let mut lab = Lab::new(config());
    lab.establish();
    let out = lab.feed(Input::Stop(StopReason::AdminShutdown));
    assert_eq!(notification(&out), Some((6, 2)));
    assert!(out.contains(&Output::SessionDown(DownReason::Stopped(
        StopReason::AdminShutdown
    ))));
    assert_eq!(lab.s.state(), State::Idle);
    // Stopped sessions refuse connections and ignore timers.
    let out = lab.feed(Input::Connected {
        conn: ConnId(2),
        direction: Direction::Inbound,
    });
    assert_eq!(out, vec![Output::Close { conn: ConnId(2) }]);
    assert_eq!(lab.feed(Input::TimerExpired(Timer::ConnectRetry)), vec![]);
}

#[test]
fn graceful_restart_closes_without_notification_only_when_negotiated() {
    let gr = GracefulRestart {
        restart_time: 120,
        forwarding_preserved: true,
        restarted: false,
    };
    let mut c = config();
    c.graceful_restart = Some(gr);
    let mut lab = Lab::new(c.clone());
    lab.feed(Input::Start);
    lab.feed(Input::Connected {
        conn: ConnId(1),
        direction: Direction::Outbound,
    });
    let mut open = Open::new(64513, 90, PEER_ID, vec![Capability::FourOctetAs(64513)]);
    open.capabilities.push(Capability::GracefulRestart {
        restart_state: false,
        notification: false,
        restart_time: 120,
        families: vec![],
    });
    lab.recv(1, Message::Open(open));
    lab.recv(1, Message::Keepalive);
    assert!(lab.s.negotiated().unwrap().graceful_restart);
    let out = lab.feed(Input::Stop(StopReason::Restart));
    assert_eq!(notification(&out), None);
    assert!(out.contains(&Output::Close { conn: ConnId(1) }));
    // Peer without GR: a restart is an ordinary Cease.
    let mut lab = Lab::new(c);
    lab.establish();
    assert!(!lab.s.negotiated().unwrap().graceful_restart);
    assert_eq!(
        notification(&lab.feed(Input::Stop(StopReason::Restart))),
        Some((6, 2))
    );
}

/// RFC 4271 §6.8: both sides connect at once; the connection opened by the speaker with the
/// higher BGP Identifier survives.
#[test]
fn collision_keeps_the_connection_of_the_higher_router_id() {
    for (peer_id, survivor, loser) in [
        (Ipv4Addr::new(192, 0, 2, 200), 2, 1), // peer higher: keep its inbound conn 2
        (Ipv4Addr::new(192, 0, 2, 0), 1, 2),   // we are higher: keep our outbound conn 1
    ] {
        let mut lab = Lab::new(config());
        lab.feed(Input::Start);
        lab.feed(Input::Connected {
            conn: ConnId(1),
            direction: Direction::Outbound,
        });
        let out = lab.feed(Input::Connected {
            conn: ConnId(2),
            direction: Direction::Inbound,
        });
        assert!(
            matches!(sent(&out)[..], [(2, Message::Open(_))]),
            "both connections get our OPEN"
        );
        lab.recv(1, peer_open(90, peer_id));
        let out = lab.recv(2, peer_open(90, peer_id));
        assert_eq!(
            sent(&out)
                .iter()
                .find(|(_, m)| matches!(m, Message::Notification(_))),
            Some(&(loser, Message::Notification(Notification::cease(7)))),
            "peer {peer_id}"
        );
        assert!(out.contains(&Output::Close {
            conn: ConnId(loser)
        }));
        let out = lab.recv(survivor, Message::Keepalive);
        assert!(
            out.iter()
                .any(|o| matches!(o, Output::SessionUp(n) if n.conn == ConnId(survivor)))
        );
        assert_eq!(lab.s.state(), State::Established);
        // The losing connection's late messages are ignored.
        assert_eq!(lab.recv(loser, Message::Keepalive), vec![]);
    }
    // A third connection is refused.
    let mut lab = Lab::new(config());
    lab.feed(Input::Start);
    lab.feed(Input::Connected {
        conn: ConnId(1),
        direction: Direction::Outbound,
    });
    lab.feed(Input::Connected {
        conn: ConnId(2),
        direction: Direction::Inbound,
    });
    let out = lab.feed(Input::Connected {
        conn: ConnId(3),
        direction: Direction::Inbound,
    });
    assert_eq!(notification(&out), Some((6, 5)));
}

#[test]
fn new_connection_against_established_session() {
    // Without GR the newcomer loses.
    let mut lab = Lab::new(config());
    lab.establish();
    lab.feed(Input::Connected {
        conn: ConnId(2),
        direction: Direction::Inbound,
    });
    let out = lab.recv(2, peer_open(30, PEER_ID));
    assert_eq!(
        sent(&out),
        vec![(2, Message::Notification(Notification::cease(7)))]
    );
    assert_eq!(lab.s.negotiated().unwrap().conn, ConnId(1));
    // With GR on both sides the peer restarted: the old session goes, the new one proceeds.
    let mut c = config();
    c.graceful_restart = Some(GracefulRestart {
        restart_time: 120,
        forwarding_preserved: true,
        restarted: false,
    });
    let mut lab = Lab::new(c);
    lab.feed(Input::Start);
    lab.feed(Input::Connected {
        conn: ConnId(1),
        direction: Direction::Outbound,
    });
    let gr_open = || {
        Message::Open(Open::new(
            64513,
            30,
            PEER_ID,
            vec![
                Capability::FourOctetAs(64513),
                Capability::GracefulRestart {
                    restart_state: true,
                    notification: false,
                    restart_time: 120,
                    families: vec![],
                },
            ],
        ))
    };
    lab.recv(1, gr_open());
    lab.recv(1, Message::Keepalive);
    lab.feed(Input::Connected {
        conn: ConnId(2),
        direction: Direction::Inbound,
    });
    let out = lab.recv(2, gr_open());
    assert!(out.contains(&Output::SessionDown(DownReason::PeerRestarted)));
    assert!(out.contains(&Output::Close { conn: ConnId(1) }));
    let out = lab.recv(2, Message::Keepalive);
    assert!(out.contains(&Output::AdvertiseAll {
        conn: ConnId(2),
        end_of_rib: true
    }));
}

#[test]
fn session_stable_for_a_minute_resets_backoff() {
    let mut lab = Lab::new(config());
    lab.establish();
    lab.now += Duration::from_secs(61);
    let out = lab.feed(Input::Closed { conn: ConnId(1) });
    assert!(out.contains(&Output::ArmTimer(
        Timer::ConnectRetry,
        Duration::from_secs(2)
    )));
    // A session that flaps quickly keeps backing off.
    lab.feed(Input::TimerExpired(Timer::ConnectRetry));
    lab.feed(Input::Connected {
        conn: ConnId(2),
        direction: Direction::Outbound,
    });
    lab.recv(2, peer_open(30, PEER_ID));
    lab.recv(2, Message::Keepalive);
    let out = lab.feed(Input::Closed { conn: ConnId(2) });
    assert!(out.contains(&Output::ArmTimer(
        Timer::ConnectRetry,
        Duration::from_secs(4)
    )));
}
