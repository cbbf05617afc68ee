//! FSM tests: feed inputs, assert outputs. No sockets, no clock.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use lodestone_bfd::packet::{ControlPacket, Diagnostic, State};
use lodestone_bfd::profile::Profile;
use lodestone_bfd::session::{Ignored, Input, Output, RandomSource, Session, TimerKind};

/// Always returns the same value: jitter is fully determined.
struct Fixed(u32);
impl RandomSource for Fixed {
    fn next_u32(&mut self) -> u32 {
        self.0
    }
}

const MS: Duration = Duration::from_millis(1);

fn profile(tx_ms: u64, rx_ms: u64, mult: u8) -> Profile {
    Profile {
        transmit_interval: MS * tx_ms as u32,
        receive_interval: MS * rx_ms as u32,
        detect_multiplier: mult,
        ..Profile::default()
    }
}

fn session(discr: u32, p: Profile) -> Session {
    Session::new(discr, p, Box::new(Fixed(0)))
}

fn sent(out: &[Output]) -> Vec<ControlPacket> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send(p) => Some(p.clone()),
            _ => None,
        })
        .collect()
}

fn changes(out: &[Output]) -> Vec<(State, State, Diagnostic)> {
    out.iter()
        .filter_map(|o| match o {
            Output::StateChanged {
                from,
                to,
                diagnostic,
            } => Some((*from, *to, *diagnostic)),
            _ => None,
        })
        .collect()
}

fn armed(out: &[Output], kind: TimerKind) -> Option<Instant> {
    out.iter().rev().find_map(|o| match o {
        Output::ArmTimer(k, at) if *k == kind => Some(*at),
        _ => None,
    })
}

fn peer(state: State, my: u32, your: u32) -> ControlPacket {
    ControlPacket {
        diagnostic: Diagnostic::None,
        state,
        poll: false,
        final_: false,
        control_plane_independent: false,
        demand: false,
        detect_mult: 3,
        my_discriminator: my,
        your_discriminator: your,
        desired_min_tx_us: 1_000_000,
        required_min_rx_us: 1_000_000,
        required_min_echo_rx_us: 0,
        auth: None,
    }
}

#[test]
fn first_packet_is_down_at_one_second() {
    let t0 = Instant::now();
    let mut s = session(11, profile(300, 300, 3));
    assert_eq!(s.start(t0), vec![Output::ArmTimer(TimerKind::Transmit, t0)]);
    let out = s.process(t0, Input::TimerExpired(TimerKind::Transmit));
    let p = sent(&out);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].state, State::Down);
    assert_eq!(p[0].my_discriminator, 11);
    assert_eq!(p[0].your_discriminator, 0);
    assert_eq!(p[0].desired_min_tx_us, 1_000_000, "1 s until Up");
    assert_eq!(p[0].required_min_rx_us, 300_000);
    assert_eq!(p[0].detect_mult, 3);
    // Remote min rx is 1 µs until we hear from the peer: interval = our 1 s, no jitter (Fixed(0)).
    assert_eq!(
        armed(&out, TimerKind::Transmit),
        Some(t0 + Duration::from_secs(1))
    );
}

#[test]
fn three_way_handshake_from_down() {
    let t0 = Instant::now();
    let mut s = session(11, profile(300, 300, 3));
    s.start(t0);
    // Peer Down → we go Init and tell it at once.
    let out = s.process(t0, Input::Control(peer(State::Down, 99, 0)));
    assert_eq!(
        changes(&out),
        vec![(State::Down, State::Init, Diagnostic::None)]
    );
    let p = sent(&out);
    assert_eq!(p.len(), 1);
    assert_eq!((p[0].state, p[0].your_discriminator), (State::Init, 99));
    // Detection: remote mult 3 × max(our rx 300 ms, remote tx 1 s) = 3 s.
    assert_eq!(
        armed(&out, TimerKind::Detection),
        Some(t0 + Duration::from_secs(3))
    );
    // Peer Up → we are Up, and we start a Poll to the fast rate.
    let t1 = t0 + 100 * MS;
    let out = s.process(t1, Input::Control(peer(State::Up, 99, 11)));
    assert_eq!(
        changes(&out),
        vec![(State::Init, State::Up, Diagnostic::None)]
    );
    let p = sent(&out);
    assert_eq!(p[0].state, State::Up);
    assert!(p[0].poll, "parameter change polls");
    assert_eq!(p[0].desired_min_tx_us, 300_000);
    assert_eq!(s.state(), State::Up);
}

#[test]
fn down_peer_init_brings_us_up_directly() {
    let t0 = Instant::now();
    let mut s = session(11, profile(300, 300, 3));
    let out = s.process(t0, Input::Control(peer(State::Init, 99, 11)));
    assert_eq!(
        changes(&out),
        vec![(State::Down, State::Up, Diagnostic::None)]
    );
}

#[test]
fn down_ignores_peer_up() {
    let t0 = Instant::now();
    let mut s = session(11, profile(300, 300, 3));
    let out = s.process(t0, Input::Control(peer(State::Up, 99, 11)));
    assert!(changes(&out).is_empty());
    assert_eq!(s.state(), State::Down);
}

fn up_session(t0: Instant, p: Profile) -> Session {
    let mut s = session(11, p);
    s.start(t0);
    s.process(t0, Input::Control(peer(State::Down, 99, 0)));
    s.process(t0, Input::Control(peer(State::Up, 99, 11)));
    assert_eq!(s.state(), State::Up);
    s
}

#[test]
fn peer_down_and_admin_down_signal_neighbor_down() {
    let t0 = Instant::now();
    for remote in [State::Down, State::AdminDown] {
        let mut s = up_session(t0, profile(300, 300, 3));
        let out = s.process(t0, Input::Control(peer(remote, 99, 11)));
        assert_eq!(
            changes(&out),
            vec![(
                State::Up,
                State::Down,
                Diagnostic::NeighborSignaledSessionDown
            )]
        );
        assert_eq!(
            sent(&out)[0].diagnostic,
            Diagnostic::NeighborSignaledSessionDown
        );
        assert_eq!(sent(&out)[0].desired_min_tx_us, 1_000_000, "back to 1 s");
    }
}

#[test]
fn detection_timeout_goes_down_and_forgets_remote() {
    let t0 = Instant::now();
    let mut s = up_session(t0, profile(300, 300, 3));
    let out = s.process(
        t0 + Duration::from_secs(3),
        Input::TimerExpired(TimerKind::Detection),
    );
    assert_eq!(
        changes(&out),
        vec![(
            State::Up,
            State::Down,
            Diagnostic::ControlDetectionTimeExpired
        )]
    );
    assert_eq!(s.remote_discriminator(), 0);
    let out = s.process(
        t0 + Duration::from_secs(4),
        Input::TimerExpired(TimerKind::Transmit),
    );
    let p = sent(&out);
    assert_eq!(p[0].your_discriminator, 0, "remote discriminator reset");
    assert_eq!(p[0].diagnostic, Diagnostic::ControlDetectionTimeExpired);
}

#[test]
fn detection_time_uses_max_of_local_rx_and_remote_tx() {
    let t0 = Instant::now();
    let mut s = session(11, profile(300, 300, 3));
    let mut p = peer(State::Down, 99, 0);
    p.detect_mult = 5;
    p.desired_min_tx_us = 100_000; // remote tx 100 ms < our rx 300 ms
    let out = s.process(t0, Input::Control(p.clone()));
    assert_eq!(armed(&out, TimerKind::Detection), Some(t0 + 5 * 300 * MS));
    p.desired_min_tx_us = 2_000_000;
    let out = s.process(t0, Input::Control(p));
    assert_eq!(
        armed(&out, TimerKind::Detection),
        Some(t0 + Duration::from_secs(10))
    );
}

#[test]
fn poll_is_answered_with_final() {
    let t0 = Instant::now();
    let mut s = up_session(t0, profile(300, 300, 3));
    let mut p = peer(State::Up, 99, 11);
    p.poll = true;
    let out = s.process(t0, Input::Control(p));
    let f = sent(&out);
    assert_eq!(f.len(), 1);
    assert!(f[0].final_ && !f[0].poll, "F set, P clear in the answer");
}

#[test]
fn poll_sequence_ends_on_final_and_applies_timers() {
    let t0 = Instant::now();
    let mut s = up_session(t0, profile(50, 50, 3));
    // Peer now accepts 50 ms.
    let mut p = peer(State::Up, 99, 11);
    p.required_min_rx_us = 50_000;
    p.desired_min_tx_us = 50_000;
    s.process(t0, Input::Control(p.clone()));
    let out = s.process(t0, Input::TimerExpired(TimerKind::Transmit));
    assert!(sent(&out)[0].poll, "still polling until the Final");
    p.final_ = true;
    s.process(t0, Input::Control(p));
    let out = s.process(t0, Input::TimerExpired(TimerKind::Transmit));
    assert!(!sent(&out)[0].poll, "poll finished");
    assert_eq!(armed(&out, TimerKind::Transmit), Some(t0 + 50 * MS));
    assert_eq!(s.detection_time(), 150 * MS);
}

#[test]
fn slower_tx_waits_for_final() {
    let t0 = Instant::now();
    let mut s = up_session(t0, profile(50, 50, 3));
    let mut p = peer(State::Up, 99, 11);
    p.required_min_rx_us = 50_000;
    p.final_ = true;
    s.process(t0, Input::Control(p.clone()));
    assert_eq!(s.transmit_interval(), 50 * MS);
    // The profile slows to 500 ms / 500 ms.
    let out = s.process(t0, Input::SetProfile(profile(500, 500, 3)));
    assert!(out.is_empty() || sent(&out).is_empty());
    let out = s.process(t0, Input::TimerExpired(TimerKind::Transmit));
    let q = sent(&out);
    assert!(q[0].poll && q[0].desired_min_tx_us == 500_000);
    assert_eq!(s.transmit_interval(), 50 * MS, "old rate until the Final");
    s.process(t0, Input::Control(p));
    assert_eq!(s.transmit_interval(), 500 * MS);
}

#[test]
fn jitter_ranges() {
    let t0 = Instant::now();
    for (mult, rand, want_ms) in [
        (3u8, 0u32, 1000u64),
        (3, 250, 750),
        (3, 125, 875),
        (1, 0, 900),
        (1, 150, 750),
        (1, 75, 825),
    ] {
        let mut s = Session::new(11, profile(300, 300, mult), Box::new(Fixed(rand)));
        let out = s.process(t0, Input::TimerExpired(TimerKind::Transmit));
        assert_eq!(
            armed(&out, TimerKind::Transmit),
            Some(t0 + MS * want_ms as u32),
            "mult {mult} rand {rand}"
        );
    }
    // Any random value stays within 75–100 % (or 75–90 % with multiplier 1).
    for rand in (0..2000).step_by(7) {
        for mult in [1u8, 3] {
            let mut s = Session::new(11, profile(300, 300, mult), Box::new(Fixed(rand)));
            let out = s.process(t0, Input::TimerExpired(TimerKind::Transmit));
            let d = armed(&out, TimerKind::Transmit).expect("armed") - t0;
            let hi = if mult == 1 { 900 * MS } else { 1000 * MS };
            assert!(d >= 750 * MS && d <= hi, "mult {mult} rand {rand}: {d:?}");
        }
    }
}

#[test]
fn passive_waits_for_the_peer() {
    let t0 = Instant::now();
    let mut p = profile(300, 300, 3);
    p.passive_mode = true;
    let mut s = session(11, p);
    assert!(s.start(t0).is_empty());
    assert!(
        s.process(t0, Input::TimerExpired(TimerKind::Transmit))
            .is_empty()
    );
    let out = s.process(t0, Input::Control(peer(State::Down, 99, 0)));
    assert!(!sent(&out).is_empty(), "answers once the peer spoke");
    assert!(armed(&out, TimerKind::Transmit).is_some());
    // After a timeout it forgets the peer and is silent again.
    let out = s.process(
        t0 + Duration::from_secs(3),
        Input::TimerExpired(TimerKind::Detection),
    );
    assert!(out.contains(&Output::CancelTimer(TimerKind::Transmit)));
    assert!(
        s.process(t0, Input::TimerExpired(TimerKind::Transmit))
            .is_empty()
    );
}

#[test]
fn ignored_packets_are_named() {
    let t0 = Instant::now();
    let mut s = session(11, profile(300, 300, 3));
    let out = s.process(t0, Input::Control(peer(State::Init, 99, 12)));
    assert!(out.is_empty());
    assert_eq!(s.last_ignored(), Some(Ignored::DiscriminatorMismatch));
    let mut p = peer(State::Down, 99, 0);
    p.auth = Some(lodestone_bfd::packet::AuthSection {
        auth_type: lodestone_bfd::packet::AuthType::SimplePassword,
        data: vec![1, b'x'],
    });
    assert!(s.process(t0, Input::Control(p)).is_empty());
    assert_eq!(s.last_ignored(), Some(Ignored::AuthenticationNotConfigured));
    s.process(t0, Input::AdminDown);
    assert!(
        s.process(t0, Input::Control(peer(State::Down, 99, 0)))
            .is_empty()
    );
    assert_eq!(s.last_ignored(), Some(Ignored::LocalAdminDown));
}

#[test]
fn admin_down_tells_the_peer() {
    let t0 = Instant::now();
    let mut s = up_session(t0, profile(300, 300, 3));
    let out = s.process(t0, Input::AdminDown);
    assert_eq!(
        changes(&out),
        vec![(
            State::Up,
            State::AdminDown,
            Diagnostic::AdministrativelyDown
        )]
    );
    let p = sent(&out);
    assert_eq!(
        (p[0].state, p[0].diagnostic),
        (State::AdminDown, Diagnostic::AdministrativelyDown)
    );
    let out = s.process(t0, Input::AdminUp);
    assert_eq!(
        changes(&out),
        vec![(State::AdminDown, State::Down, Diagnostic::None)]
    );
}

#[test]
fn echo_runs_when_up_and_peer_loops() {
    let t0 = Instant::now();
    let mut p = profile(300, 300, 3);
    p.echo_mode = true;
    p.echo_interval = 50 * MS;
    let mut s = session(11, p);
    s.process(t0, Input::Control(peer(State::Down, 99, 0)));
    let mut up = peer(State::Up, 99, 11);
    up.required_min_echo_rx_us = 100_000; // peer loops at most every 100 ms
    let out = s.process(t0, Input::Control(up.clone()));
    assert!(s.echo_active());
    assert_eq!(armed(&out, TimerKind::EchoTransmit), Some(t0));
    assert_eq!(sent(&out)[0].required_min_echo_rx_us, 50_000);
    let out = s.process(t0, Input::TimerExpired(TimerKind::EchoTransmit));
    assert!(matches!(out[0], Output::SendEcho(e) if e.my_discriminator == 11));
    assert_eq!(armed(&out, TimerKind::EchoTransmit), Some(t0 + 100 * MS));
    let out = s.process(t0 + 50 * MS, Input::EchoReturned);
    assert_eq!(armed(&out, TimerKind::EchoDetection), Some(t0 + 350 * MS));
    let out = s.process(t0 + 350 * MS, Input::TimerExpired(TimerKind::EchoDetection));
    assert_eq!(
        changes(&out),
        vec![(State::Up, State::Down, Diagnostic::EchoFunctionFailed)]
    );
    assert!(!s.echo_active());
}

#[test]
fn no_echo_when_peer_does_not_loop() {
    let t0 = Instant::now();
    let mut p = profile(300, 300, 3);
    p.echo_mode = true;
    let s = up_session(t0, p);
    assert!(!s.echo_active());
}

/// Two sessions wired back to back on a virtual clock: they come Up, converge to the fast rate
/// through Poll/Final, and the detection timeout fires once one side goes silent.
#[test]
fn back_to_back_pair_converges_and_detects() {
    let t0 = Instant::now();
    let mut sessions = [
        Session::new(1, profile(50, 50, 3), Box::new(Fixed(37))),
        Session::new(2, profile(50, 50, 3), Box::new(Fixed(911))),
    ];
    let mut timers: [BTreeMap<TimerKind, Instant>; 2] = [BTreeMap::new(), BTreeMap::new()];
    let mut ups = [None, None];
    let mut downs = [None, None];
    let mut inbox: Vec<(usize, ControlPacket)> = Vec::new();
    let apply = |i: usize,
                 out: Vec<Output>,
                 timers: &mut [BTreeMap<TimerKind, Instant>; 2],
                 inbox: &mut Vec<(usize, ControlPacket)>,
                 now: Instant,
                 ups: &mut [Option<Instant>; 2],
                 downs: &mut [Option<Instant>; 2]| {
        for o in out {
            match o {
                Output::Send(p) => inbox.push((1 - i, p)),
                Output::ArmTimer(k, at) => {
                    timers[i].insert(k, at);
                }
                Output::CancelTimer(k) => {
                    timers[i].remove(&k);
                }
                Output::StateChanged { to: State::Up, .. } => ups[i] = Some(now),
                Output::StateChanged {
                    to: State::Down, ..
                } => downs[i] = Some(now),
                _ => {}
            }
        }
    };
    for (i, s) in sessions.iter_mut().enumerate() {
        let out = s.start(t0);
        apply(i, out, &mut timers, &mut inbox, t0, &mut ups, &mut downs);
    }
    let cut_at = t0 + Duration::from_secs(10);
    let mut now = t0;
    let mut sent_after_up = 0;
    let mut rates = (Duration::ZERO, Duration::ZERO);
    while now < t0 + Duration::from_secs(12) {
        // Deliver everything in flight (zero latency) unless the link is cut.
        while let Some((to, p)) = inbox.pop() {
            if now >= cut_at {
                continue;
            }
            if ups[0].is_some() && ups[1].is_some() {
                sent_after_up += 1;
            }
            let out = sessions[to].process(now, Input::Control(p));
            apply(to, out, &mut timers, &mut inbox, now, &mut ups, &mut downs);
        }
        // Next timer.
        let next = timers
            .iter()
            .enumerate()
            .flat_map(|(i, m)| m.iter().map(move |(k, at)| (*at, i, *k)))
            .min();
        let Some((at, i, k)) = next else { break };
        if at < cut_at {
            rates = (
                sessions[0].transmit_interval(),
                sessions[1].detection_time(),
            );
        }
        now = at.max(now);
        timers[i].remove(&k);
        let out = sessions[i].process(now, Input::TimerExpired(k));
        apply(i, out, &mut timers, &mut inbox, now, &mut ups, &mut downs);
    }
    let up = ups[0].zip(ups[1]).expect("both sides came Up");
    assert!(up.0 - t0 < Duration::from_secs(2) && up.1 - t0 < Duration::from_secs(2));
    assert_eq!(
        rates,
        (50 * MS, 150 * MS),
        "fast timers in effect before the cut"
    );
    // ~20 packets/s each for ~8 s after Up.
    assert!(sent_after_up > 250, "fast rate reached: {sent_after_up}");
    for d in downs {
        let d = d.expect("both sides detected the cut");
        // Last packet before the cut arrived at most one (jittered) interval before it; detection
        // fires 150 ms after the last packet.
        assert!(d > cut_at && d <= cut_at + 150 * MS, "{:?}", d - cut_at);
    }
}
