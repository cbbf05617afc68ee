//! The driver over loopback: two drivers in one process on 127.0.0.1 / 127.0.0.2 with their own
//! ports. No root needed (TTL 255 survives loopback).

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::time::Duration;

use lodestone_bfd::driver::{Bfd, DriverConfig, Ports, SessionKey, SessionSpec, StateEvent};
use lodestone_bfd::packet::{ControlPacket, Diagnostic, State};
use lodestone_bfd::profile::Profile;
use tokio::sync::broadcast;
use tokio::time::timeout;

const A: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
const B: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// Distinct ports per test process and per test so parallel runs do not collide.
fn ports(n: u16) -> (Ports, Ports) {
    let base = 20000 + (std::process::id() % 400) as u16 * 100 + n * 10;
    let a = Ports {
        single_hop: base,
        peer_single_hop: base + 1,
        multihop: base + 2,
        peer_multihop: base + 3,
        echo: base + 4,
    };
    let b = Ports {
        single_hop: base + 1,
        peer_single_hop: base,
        multihop: base + 3,
        peer_multihop: base + 2,
        echo: base + 5,
    };
    (a, b)
}

fn fast() -> Profile {
    Profile {
        transmit_interval: Duration::from_millis(50),
        receive_interval: Duration::from_millis(50),
        ..Profile::default()
    }
}

async fn pair(n: u16) -> (Bfd, Bfd, Ports) {
    let (pa, pb) = ports(n);
    let cfg = |p| DriverConfig {
        ports: p,
        ipv4: true,
        ipv6: false,
    };
    let a = Bfd::spawn(cfg(pa)).await.expect("driver A");
    let b = Bfd::spawn(cfg(pb)).await.expect("driver B");
    (a, b, pa)
}

fn key(peer: IpAddr, local: IpAddr) -> SessionKey {
    SessionKey {
        peer,
        local,
        multihop: false,
    }
}

/// Wait (bounded, only so a broken test cannot hang) for a transition to `to`.
async fn wait_for(rx: &mut broadcast::Receiver<StateEvent>, to: State) -> StateEvent {
    timeout(Duration::from_secs(20), async {
        loop {
            match rx.recv().await {
                Ok(ev) if ev.to == to => return ev,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("event channel closed: {e}"),
            }
        }
    })
    .await
    .expect("state change within 20 s")
}

#[tokio::test]
async fn sessions_come_up_and_admin_down_is_signalled() {
    let (a, b, _) = pair(0).await;
    let mut ea = a.subscribe();
    let mut eb = b.subscribe();
    a.add_session(SessionSpec {
        key: key(B, A),
        interface: None,
        profile: fast(),
    })
    .await
    .expect("add A");
    b.add_session(SessionSpec {
        key: key(A, B),
        interface: None,
        profile: fast(),
    })
    .await
    .expect("add B");
    wait_for(&mut ea, State::Up).await;
    wait_for(&mut eb, State::Up).await;
    // Let the Poll sequence finish, then check the negotiated timers.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let s = a.sessions().await.expect("status");
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].state, State::Up);
    assert_eq!(s[0].transmit_interval, Duration::from_millis(50));
    assert_eq!(s[0].detection_time, Duration::from_millis(150));
    assert_ne!(s[0].remote_discriminator, 0);

    assert!(b.remove_session(key(A, B)).await.expect("remove"));
    let ev = wait_for(&mut ea, State::Down).await;
    assert_eq!(ev.diagnostic, Diagnostic::NeighborSignaledSessionDown);
    let m = a.metrics();
    let c = &m.peers[&B];
    assert!(c.control_input > 5 && c.control_output > 5, "{c:?}");
    assert_eq!((c.up_events, c.down_events, c.session_up), (1, 1, false));
}

#[tokio::test]
async fn silence_is_detected_and_the_session_recovers() {
    let (a, b, _) = pair(1).await;
    let mut ea = a.subscribe();
    a.add_session(SessionSpec {
        key: key(B, A),
        interface: None,
        profile: fast(),
    })
    .await
    .expect("add A");
    b.add_session(SessionSpec {
        key: key(A, B),
        interface: None,
        profile: fast(),
    })
    .await
    .expect("add B");
    wait_for(&mut ea, State::Up).await;
    // B vanishes without a word (its task is aborted).
    let pb = ports(1).1;
    drop(b);
    let ev = wait_for(&mut ea, State::Down).await;
    assert_eq!(ev.diagnostic, Diagnostic::ControlDetectionTimeExpired);
    let s = a.sessions().await.expect("status");
    assert_eq!(s[0].remote_discriminator, 0, "remote discriminator reset");
    // B comes back with a new discriminator: A comes Up again.
    let b = Bfd::spawn(DriverConfig {
        ports: pb,
        ipv4: true,
        ipv6: false,
    })
    .await
    .expect("driver B again");
    b.add_session(SessionSpec {
        key: key(A, B),
        interface: None,
        profile: fast(),
    })
    .await
    .expect("add B again");
    wait_for(&mut ea, State::Up).await;
}

#[tokio::test]
async fn passive_session_waits_for_the_peer() {
    let (a, b, _) = pair(2).await;
    let mut ea = a.subscribe();
    let passive = Profile {
        passive_mode: true,
        ..fast()
    };
    a.add_session(SessionSpec {
        key: key(B, A),
        interface: None,
        profile: passive,
    })
    .await
    .expect("add A");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        a.metrics().peers.get(&B).map_or(0, |c| c.control_output),
        0,
        "passive is silent"
    );
    b.add_session(SessionSpec {
        key: key(A, B),
        interface: None,
        profile: fast(),
    })
    .await
    .expect("add B");
    wait_for(&mut ea, State::Up).await;
    assert!(a.metrics().peers[&B].control_output > 0);
}

fn packet(state: State, my: u32, your: u32) -> ControlPacket {
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

#[tokio::test]
async fn bad_packets_are_dropped_with_reasons() {
    let (a, _b, pa) = pair(3).await;
    a.add_session(SessionSpec {
        key: key(B, A),
        interface: None,
        profile: fast(),
    })
    .await
    .expect("add A");
    let raw = UdpSocket::bind((B, 0)).expect("raw sender");
    raw.set_ttl(255).expect("ttl");
    let to = (A, pa.single_hop);
    let good = packet(State::Down, 77, 0).encode();
    let mut wrong_version = good.clone();
    wrong_version[0] = 0x40;
    let mut bad_len = good.clone();
    bad_len[3] = 30;
    let sends: Vec<Vec<u8>> = vec![
        wrong_version,
        bad_len,
        good[..10].to_vec(),
        packet(State::Up, 77, 0).encode(),
        packet(State::Down, 77, 0xdead_beef).encode(),
    ];
    for s in &sends {
        raw.send_to(s, to).expect("send");
    }
    // Unknown session: right address family, wrong peer address.
    let stranger = UdpSocket::bind((Ipv4Addr::new(127, 0, 0, 9), 0)).expect("stranger");
    stranger.set_ttl(255).expect("ttl");
    stranger.send_to(&good, to).expect("send");
    // TTL below 255 on single-hop.
    raw.set_ttl(254).expect("ttl");
    raw.send_to(&good, to).expect("send");
    let want = [
        ("wrong_version", 1),
        ("length_exceeds_payload", 1),
        ("truncated", 1),
        ("zero_your_discriminator", 1),
        ("unknown_session", 2),
        ("ttl_not_255", 1),
    ];
    let ok = timeout(Duration::from_secs(10), async {
        loop {
            let m = a.metrics();
            if want.iter().all(|(r, n)| m.dropped(r) == *n) {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let m = ok.unwrap_or_else(|_| panic!("drop counters: {:?}", a.metrics().drops));
    assert_eq!(
        m.peers.get(&B).map_or(0, |c| c.control_input),
        0,
        "nothing reached the session"
    );
}
