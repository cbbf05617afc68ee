//! Interop with FRR bfdd (8.4) in network namespaces. LODESTONE_NETLAB=1 only.
//!
//! ```text
//!  ns ours: lodestone-bfd driver ── veth ── ns peer: zebra + bfdd (vtysh -N peer)
//!           192.0.2.1 / 2001:db8::1         192.0.2.2 / 2001:db8::2
//! ```

mod lab;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lab::{Lab, NsDriver, OURS, PEER, block_on, ip, wait_until};
use lodestone_bfd::driver::{DriverConfig, SessionKey, SessionSpec, StateEvent};
use lodestone_bfd::packet::{ControlPacket, Diagnostic, State};
use lodestone_bfd::profile::Profile;
use tokio::sync::broadcast;

fn frr_conf(peer_block: &str, profile_extra: &str) -> String {
    format!(
        "frr defaults traditional\n\
         bfd\n profile lab\n  transmit-interval 100\n  receive-interval 100\n  detect-multiplier 3\n{profile_extra} !\n{peer_block}!\n"
    )
}

fn profile_100ms() -> Profile {
    Profile {
        transmit_interval: Duration::from_millis(100),
        receive_interval: Duration::from_millis(100),
        detect_multiplier: 3,
        ..Profile::default()
    }
}

fn key(peer: &str, local: &str, multihop: bool) -> SessionKey {
    SessionKey {
        peer: ip(peer),
        local: ip(local),
        multihop,
    }
}

fn wait_event(
    rx: &mut broadcast::Receiver<StateEvent>,
    to: State,
    limit: Duration,
) -> Option<(StateEvent, Instant)> {
    block_on(async {
        tokio::time::timeout(limit, async {
            loop {
                match rx.recv().await {
                    Ok(ev) if ev.to == to => return Some((ev, Instant::now())),
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => return None,
                }
            }
        })
        .await
        .ok()
        .flatten()
    })
}

fn wait_frr(lab: &Lab, addr: &str, status: &str, limit: Duration) -> bool {
    wait_until(limit, || lab.frr_status(addr).as_deref() == Some(status))
}

/// Up with negotiated timers on both sides; 100 % loss takes both Down; restoring brings both
/// back; bad packets from a raw sender in the peer namespace are dropped with named reasons.
#[test]
fn frr_single_hop_up_cut_restore_and_bad_packets() {
    if !lab::enabled() {
        return;
    }
    let mut lab = Lab::new("bfdf");
    let driver = NsDriver::start(&lab.ours, DriverConfig::default());
    let bfd = driver.bfd();
    let mut events = bfd.subscribe();
    let k = key(PEER, OURS, false);
    block_on(bfd.add_session(SessionSpec {
        key: k,
        interface: None,
        profile: profile_100ms(),
    }))
    .expect("add session");
    lab.start_frr(&frr_conf(
        &format!(" peer {OURS} local-address {PEER}\n  profile lab\n !\n"),
        "",
    ));

    assert!(
        wait_event(&mut events, State::Up, Duration::from_secs(30)).is_some(),
        "our session Up"
    );
    assert!(
        wait_frr(&lab, OURS, "up", Duration::from_secs(30)),
        "FRR Up: {}",
        lab.frr_peers()
    );
    // Negotiated timers, as FRR shows them (once its Poll sequence has finished).
    let negotiated = wait_until(Duration::from_secs(10), || {
        let p = lab.frr_peers();
        let p = &p[0];
        p["remote-receive-interval"] == 100
            && p["remote-transmit-interval"] == 100
            && p["remote-detect-multiplier"] == 3
    });
    assert!(negotiated, "FRR sees our 100/100/3: {}", lab.frr_peers());
    let ours = block_on(bfd.sessions()).expect("status");
    assert_eq!(ours[0].state, State::Up);
    assert_eq!(ours[0].transmit_interval, Duration::from_millis(100));
    assert_eq!(ours[0].detection_time, Duration::from_millis(300));

    // Cut: 100 % loss in both directions.
    let t0 = Instant::now();
    lab.cut(true);
    let down = std::thread::spawn(move || {
        wait_event(&mut events, State::Down, Duration::from_secs(20)).map(|(e, at)| (e, at, events))
    });
    assert!(
        wait_frr(&lab, OURS, "down", Duration::from_secs(20)),
        "FRR Down after the cut"
    );
    let frr_down = t0.elapsed();
    let (ev, at, mut events) = down
        .join()
        .expect("waiter")
        .expect("our session Down after the cut");
    assert_eq!(ev.diagnostic, Diagnostic::ControlDetectionTimeExpired);
    let our_down = at - t0;
    eprintln!(
        "detection after 100% loss: ours {our_down:?}, FRR {frr_down:?} (bound: 300 ms detection + 100 ms interval; FRR measured by polling vtysh)"
    );
    // Generous bound for a loaded CI machine; the benchmark measures the distribution.
    assert!(
        our_down < Duration::from_secs(3),
        "our detection took {our_down:?}"
    );

    lab.cut(false);
    assert!(
        wait_event(&mut events, State::Up, Duration::from_secs(30)).is_some(),
        "ours Up again"
    );
    assert!(
        wait_frr(&lab, OURS, "up", Duration::from_secs(30)),
        "FRR Up again"
    );

    // Bad packets from a raw UDP sender in the peer namespace.
    let sender = lab::udp_in_netns(&lab.peer, SocketAddr::new(ip(PEER), 0));
    let to = SocketAddr::new(ip(OURS), 3784);
    let base = ControlPacket {
        diagnostic: Diagnostic::None,
        state: State::Down,
        poll: false,
        final_: false,
        control_plane_independent: false,
        demand: false,
        detect_mult: 3,
        my_discriminator: 4242,
        your_discriminator: 0,
        desired_min_tx_us: 1_000_000,
        required_min_rx_us: 1_000_000,
        required_min_echo_rx_us: 0,
        auth: None,
    };
    let before = bfd.metrics();
    sender.set_ttl(255).expect("ttl");
    let mut wrong_version = base.encode();
    wrong_version[0] = 0xe0; // version 7
    let mut long_len = base.encode();
    long_len[3] = 40;
    let up_zero_your = ControlPacket {
        state: State::Up,
        ..base.clone()
    }
    .encode();
    let unknown = ControlPacket {
        your_discriminator: 0x0bad_cafe,
        ..base.clone()
    }
    .encode();
    for p in [
        &wrong_version,
        &long_len,
        &base.encode()[..12].to_vec(),
        &up_zero_your,
        &unknown,
    ] {
        sender.send_to(p, to).expect("send");
    }
    sender.set_ttl(64).expect("ttl");
    sender.send_to(&base.encode(), to).expect("send");
    let want = [
        ("wrong_version", 1),
        ("length_exceeds_payload", 1),
        ("truncated", 1),
        ("zero_your_discriminator", 1),
        ("unknown_session", 1),
        ("ttl_not_255", 1),
    ];
    let counted = wait_until(Duration::from_secs(10), || {
        let m = bfd.metrics();
        want.iter()
            .all(|(r, n)| m.dropped(r) == before.dropped(r) + n)
    });
    assert!(
        counted,
        "drops: {:?} (before {:?})",
        bfd.metrics().drops,
        before.drops
    );
    // The real session is unaffected.
    assert_eq!(
        block_on(bfd.sessions()).expect("status")[0].state,
        State::Up
    );
    let m = bfd.metrics();
    let c = &m.peers[&ip(PEER)];
    assert!(
        c.session_up && c.up_events == 2 && c.down_events == 1,
        "{c:?}"
    );
    drop(driver);
    drop(lab);
}

/// Echo both ways. FRR's echo: frames carrying source = destination = its own address that our
/// kernel forwards back (we advertise a Required Min Echo RX so FRR starts echo at all). Ours:
/// the same shape towards FRR, looped by its forwarding plane back to our echo socket (which
/// needs accept_local on our interface, the source being our own address).
#[test]
fn frr_echo_mode_comes_up() {
    if !lab::enabled() {
        return;
    }
    let mut lab = Lab::new("bfde");
    // IPv4 echo is looped in the forwarding planes.
    let (ours, peer) = (lab.ours.clone(), lab.peer.clone());
    lab.sysctl(&ours, "net.ipv4.ip_forward", "1");
    lab.sysctl(&peer, "net.ipv4.ip_forward", "1");
    lab.sysctl(
        &ours,
        &format!("net.ipv4.conf.{}.accept_local", lab.if_ours),
        "1",
    );
    for ns in [&ours, &peer] {
        lab.sysctl(ns, "net.ipv4.conf.all.rp_filter", "0");
        lab.sysctl(ns, "net.ipv4.conf.default.rp_filter", "0");
    }
    let driver = NsDriver::start(&lab.ours, DriverConfig::default());
    let bfd = driver.bfd();
    let mut events = bfd.subscribe();
    let profile = Profile {
        echo_mode: true,
        echo_interval: Duration::from_millis(50),
        ..profile_100ms()
    };
    block_on(bfd.add_session(SessionSpec {
        key: key(PEER, OURS, false),
        interface: None,
        profile,
    }))
    .expect("add session");
    lab.start_frr(&frr_conf(
        &format!(
            " peer {OURS} local-address {PEER} interface {}\n  profile lab\n !\n",
            lab.if_peer
        ),
        "  echo-mode\n  echo transmit-interval 50\n  echo receive-interval 50\n",
    ));
    assert!(
        wait_event(&mut events, State::Up, Duration::from_secs(30)).is_some(),
        "our session Up"
    );
    assert!(
        wait_frr(&lab, OURS, "up", Duration::from_secs(30)),
        "FRR Up"
    );
    let echoing = wait_until(Duration::from_secs(15), || {
        let c = lab.vtysh(&format!(
            "show bfd peer {OURS} local-address {PEER} interface {} counters json",
            lab.if_peer
        ));
        let v: serde_json::Value = serde_json::from_str(&c).unwrap_or_default();
        v["echo-packet-input"].as_u64().unwrap_or(0) > 20
    });
    let peers = lab.frr_peers();
    assert!(echoing, "FRR's echo packets come back: {peers}");
    eprintln!("FRR echo: {}", peers[0]);
    assert_eq!(peers[0]["echo-transmit-interval"], 50, "{peers}");
    assert_eq!(peers[0]["remote-echo-receive-interval"], 50, "{peers}");
    assert_eq!(lab.frr_status(OURS).as_deref(), Some("up"));
    // Our own echo goes out and comes back.
    let ours_echo = wait_until(Duration::from_secs(15), || {
        bfd.metrics()
            .peers
            .get(&ip(PEER))
            .is_some_and(|c| c.echo_output > 20 && c.echo_input > 20)
    });
    let status = block_on(bfd.sessions()).expect("status");
    assert!(
        ours_echo,
        "our echo loops: {:?} {:?}",
        bfd.metrics(),
        status
    );
    assert!(
        status[0].echo_active && status[0].state == State::Up,
        "{status:?}"
    );
}

/// Passive: we send nothing until FRR speaks, then come Up.
#[test]
fn frr_passive_waits_for_the_peer() {
    if !lab::enabled() {
        return;
    }
    let mut lab = Lab::new("bfdp");
    let driver = NsDriver::start(&lab.ours, DriverConfig::default());
    let bfd = driver.bfd();
    let mut events = bfd.subscribe();
    let profile = Profile {
        passive_mode: true,
        ..profile_100ms()
    };
    block_on(bfd.add_session(SessionSpec {
        key: key(PEER, OURS, false),
        interface: None,
        profile,
    }))
    .expect("add session");
    // FRR with no peer yet: we must stay silent.
    lab.start_frr("frr defaults traditional\n");
    std::thread::sleep(Duration::from_millis(2500));
    let sent = bfd
        .metrics()
        .peers
        .get(&ip(PEER))
        .map_or(0, |c| c.control_output);
    assert_eq!(sent, 0, "passive session transmitted before the peer spoke");
    let conf = lab.file(
        "peer.conf",
        &frr_conf(
            &format!(" peer {OURS} local-address {PEER}\n  profile lab\n !\n"),
            "",
        ),
    );
    lab::sh(&["vtysh", "-N", &lab.peer, "-f", &conf.to_string_lossy()]);
    assert!(
        wait_event(&mut events, State::Up, Duration::from_secs(30)).is_some(),
        "Up once FRR speaks"
    );
    assert!(
        wait_frr(&lab, OURS, "up", Duration::from_secs(30)),
        "FRR Up"
    );
}

/// IPv6 single-hop and IPv4 multihop (RFC 5883, UDP 4784, minimumTtl) against FRR.
#[test]
fn frr_ipv6_and_multihop() {
    if !lab::enabled() {
        return;
    }
    let mut lab = Lab::new("bfdm");
    let driver = NsDriver::start(&lab.ours, DriverConfig::default());
    let bfd = driver.bfd();
    let mut events = bfd.subscribe();
    let v6 = key(lab::PEER6, lab::OURS6, false);
    let mh = key(PEER, OURS, true);
    block_on(bfd.add_session(SessionSpec {
        key: v6,
        interface: None,
        profile: profile_100ms(),
    }))
    .expect("v6");
    let mh_profile = Profile {
        minimum_ttl: 254,
        ..profile_100ms()
    };
    block_on(bfd.add_session(SessionSpec {
        key: mh,
        interface: None,
        profile: mh_profile,
    }))
    .expect("multihop");
    lab.start_frr(&frr_conf(
        &format!(
            " peer {} local-address {}\n  profile lab\n !\n peer {OURS} multihop local-address {PEER}\n  profile lab\n  minimum-ttl 254\n !\n",
            lab::OURS6,
            lab::PEER6
        ),
        "",
    ));
    let mut up = std::collections::BTreeSet::new();
    while up.len() < 2 {
        let (ev, _) =
            wait_event(&mut events, State::Up, Duration::from_secs(30)).expect("both sessions Up");
        up.insert(ev.key);
    }
    assert!(
        wait_frr(&lab, lab::OURS6, "up", Duration::from_secs(30)),
        "FRR v6 Up: {}",
        lab.frr_peers()
    );
    assert!(
        wait_frr(&lab, OURS, "up", Duration::from_secs(30)),
        "FRR multihop Up: {}",
        lab.frr_peers()
    );
    let peers = lab.frr_peers();
    let mh_peer = peers
        .as_array()
        .and_then(|a| a.iter().find(|p| p["multihop"] == true))
        .cloned();
    assert!(mh_peer.is_some(), "{peers}");

    // Multihop TTL below minimumTtl, and an authenticated packet (we configure no auth), from a
    // raw sender in the peer namespace: both dropped by name.
    let sender = lab::udp_in_netns(&lab.peer, SocketAddr::new(ip(PEER), 0));
    let before = bfd.metrics();
    let pkt = ControlPacket {
        diagnostic: Diagnostic::None,
        state: State::Down,
        poll: false,
        final_: false,
        control_plane_independent: false,
        demand: false,
        detect_mult: 3,
        my_discriminator: 4242,
        your_discriminator: 0,
        desired_min_tx_us: 1_000_000,
        required_min_rx_us: 1_000_000,
        required_min_echo_rx_us: 0,
        auth: None,
    };
    sender.set_ttl(200).expect("ttl");
    sender
        .send_to(&pkt.encode(), SocketAddr::new(ip(OURS), 4784))
        .expect("send");
    sender.set_ttl(255).expect("ttl");
    let with_auth = ControlPacket {
        auth: Some(lodestone_bfd::packet::AuthSection {
            auth_type: lodestone_bfd::packet::AuthType::SimplePassword,
            data: vec![1, b's', b'e', b'c'],
        }),
        ..pkt
    };
    sender
        .send_to(&with_auth.encode(), SocketAddr::new(ip(OURS), 4784))
        .expect("send");
    let counted = wait_until(Duration::from_secs(10), || {
        let m = bfd.metrics();
        m.dropped("ttl_below_minimum") == before.dropped("ttl_below_minimum") + 1
            && m.dropped("auth_not_configured") == before.dropped("auth_not_configured") + 1
    });
    assert!(counted, "drops: {:?}", bfd.metrics().drops);
    let status = block_on(bfd.sessions()).expect("status");
    assert!(status.iter().all(|s| s.state == State::Up), "{status:?}");
}

/// IPv6 echo both ways: FRR's echo reaches our echo socket with hop limit 255 and is reflected
/// with 254; ours is reflected by FRR's bfdd.
#[test]
fn frr_ipv6_echo_both_ways() {
    if !lab::enabled() {
        return;
    }
    let mut lab = Lab::new("bfd6e");
    let driver = NsDriver::start(&lab.ours, DriverConfig::default());
    let bfd = driver.bfd();
    let mut events = bfd.subscribe();
    let profile = Profile {
        echo_mode: true,
        echo_interval: Duration::from_millis(50),
        ..profile_100ms()
    };
    let k = key(lab::PEER6, lab::OURS6, false);
    block_on(bfd.add_session(SessionSpec {
        key: k,
        interface: None,
        profile,
    }))
    .expect("add session");
    lab.start_frr(&frr_conf(
        &format!(
            " peer {} local-address {} interface {}\n  profile lab\n !\n",
            lab::OURS6,
            lab::PEER6,
            lab.if_peer
        ),
        "  echo-mode\n  echo transmit-interval 50\n  echo receive-interval 50\n",
    ));
    assert!(
        wait_event(&mut events, State::Up, Duration::from_secs(30)).is_some(),
        "our session Up"
    );
    assert!(
        wait_frr(&lab, lab::OURS6, "up", Duration::from_secs(30)),
        "FRR Up"
    );
    let frr_echo = wait_until(Duration::from_secs(15), || {
        let c = lab.vtysh(&format!(
            "show bfd peer {} local-address {} interface {} counters json",
            lab::OURS6,
            lab::PEER6,
            lab.if_peer
        ));
        let v: serde_json::Value = serde_json::from_str(&c).unwrap_or_default();
        v["echo-packet-input"].as_u64().unwrap_or(0) > 20
    });
    let ours_echo = wait_until(Duration::from_secs(15), || {
        bfd.metrics()
            .peers
            .get(&ip(lab::PEER6))
            .is_some_and(|c| c.echo_output > 40 && c.echo_input > 40)
    });
    assert!(
        frr_echo,
        "FRR's IPv6 echo comes back: {} {:?}",
        lab.frr_peers(),
        bfd.metrics()
    );
    assert!(ours_echo, "our IPv6 echo comes back: {:?}", bfd.metrics());
    let status = block_on(bfd.sessions()).expect("status");
    assert!(
        status[0].echo_active && status[0].state == State::Up,
        "{status:?}"
    );
}

/// IPv6 link-local single-hop (the session names its interface) against FRR.
#[test]
fn frr_ipv6_link_local() {
    if !lab::enabled() {
        return;
    }
    let mut lab = Lab::new("bfdll");
    let ll_ours = lab.link_local(true);
    let ll_peer = lab.link_local(false);
    let driver = NsDriver::start(&lab.ours, DriverConfig::default());
    let bfd = driver.bfd();
    let mut events = bfd.subscribe();
    let k = key(&ll_peer, &ll_ours, false);
    block_on(bfd.add_session(SessionSpec {
        key: k,
        interface: Some(lab.if_ours.clone()),
        profile: profile_100ms(),
    }))
    .expect("add session");
    lab.start_frr(&frr_conf(
        &format!(
            " peer {ll_ours} local-address {ll_peer} interface {}\n  profile lab\n !\n",
            lab.if_peer
        ),
        "",
    ));
    assert!(
        wait_event(&mut events, State::Up, Duration::from_secs(30)).is_some(),
        "our link-local session Up: {:?}",
        bfd.metrics()
    );
    assert!(
        wait_frr(&lab, &ll_ours, "up", Duration::from_secs(30)),
        "FRR Up: {}",
        lab.frr_peers()
    );
}
