//! Interop with BIRD 2 (`protocol bfd`) in network namespaces. LODESTONE_NETLAB=1 only.
//!
//! ```text
//!  ns ours: lodestone-bfd driver ── veth ── ns peer: bird (protocol bfd, neighbor 192.0.2.1)
//! ```

mod lab;

use std::time::{Duration, Instant};

use lab::{Lab, NsDriver, OURS, PEER, block_on, ip, wait_until};
use lodestone_bfd::driver::{DriverConfig, SessionKey, SessionSpec, StateEvent};
use lodestone_bfd::packet::{Diagnostic, State};
use lodestone_bfd::profile::Profile;
use tokio::sync::broadcast;

fn wait_event(
    rx: &mut broadcast::Receiver<StateEvent>,
    to: State,
    limit: Duration,
) -> Option<StateEvent> {
    block_on(async {
        tokio::time::timeout(limit, async {
            loop {
                match rx.recv().await {
                    Ok(ev) if ev.to == to => return Some(ev),
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

fn bird_state(lab: &Lab) -> Option<String> {
    lab.bird_session(OURS).map(|(s, _, _)| s)
}

#[test]
fn bird_up_cut_link_down_and_restore() {
    if !lab::enabled() {
        return;
    }
    let mut lab = Lab::new("bfdb");
    let driver = NsDriver::start(&lab.ours, DriverConfig::default());
    let bfd = driver.bfd();
    let mut events = bfd.subscribe();
    let key = SessionKey {
        peer: ip(PEER),
        local: ip(OURS),
        multihop: false,
    };
    let profile = Profile {
        transmit_interval: Duration::from_millis(100),
        receive_interval: Duration::from_millis(100),
        detect_multiplier: 3,
        ..Profile::default()
    };
    block_on(bfd.add_session(SessionSpec {
        key,
        interface: None,
        profile,
    }))
    .expect("add session");
    lab.start_bird(&format!(
        "router id {PEER};\n\
         protocol device {{ scan time 1; }}\n\
         protocol bfd lab {{\n\
           interface \"*\" {{ min rx interval 100 ms; min tx interval 100 ms; idle tx interval 1000 ms; multiplier 3; }};\n\
           neighbor {OURS} dev \"{}\" local {PEER};\n\
         }}\n",
        lab.if_peer
    ));
    assert!(
        wait_event(&mut events, State::Up, Duration::from_secs(30)).is_some(),
        "our session Up"
    );
    assert!(
        wait_until(Duration::from_secs(30), || bird_state(&lab).as_deref()
            == Some("Up")),
        "BIRD Up: {}",
        lab.birdc("show bfd sessions")
    );
    // Negotiated: interval 0.100 s, timeout 0.300 s in BIRD's table.
    let negotiated = wait_until(Duration::from_secs(10), || {
        lab.bird_session(OURS)
            .is_some_and(|(_, i, t)| i == "0.100" && t == "0.300")
    });
    assert!(negotiated, "{}", lab.birdc("show bfd sessions"));
    let ours = block_on(bfd.sessions()).expect("status");
    assert_eq!(ours[0].detection_time, Duration::from_millis(300));

    // 100 % loss both ways.
    let t0 = Instant::now();
    lab.cut(true);
    let ev = wait_event(&mut events, State::Down, Duration::from_secs(20)).expect("ours Down");
    let ours_down = t0.elapsed();
    assert_eq!(ev.diagnostic, Diagnostic::ControlDetectionTimeExpired);
    assert!(
        wait_until(Duration::from_secs(20), || bird_state(&lab).as_deref()
            == Some("Down")),
        "BIRD Down: {}",
        lab.birdc("show bfd sessions")
    );
    let bird_down = t0.elapsed();
    eprintln!("detection after 100% loss: ours {ours_down:?}, BIRD {bird_down:?} (polled birdc)");
    assert!(
        ours_down < Duration::from_secs(3),
        "our detection took {ours_down:?}"
    );
    lab.cut(false);
    assert!(
        wait_event(&mut events, State::Up, Duration::from_secs(30)).is_some(),
        "ours Up again"
    );
    assert!(
        wait_until(Duration::from_secs(30), || bird_state(&lab).as_deref()
            == Some("Up")),
        "BIRD Up again"
    );

    // Link down on our end, then up again.
    lab.link(false);
    assert!(
        wait_event(&mut events, State::Down, Duration::from_secs(20)).is_some(),
        "ours Down on link down"
    );
    assert!(
        wait_until(Duration::from_secs(20), || bird_state(&lab).as_deref()
            != Some("Up")),
        "BIRD not Up on link down"
    );
    lab.link(true);
    assert!(
        wait_event(&mut events, State::Up, Duration::from_secs(30)).is_some(),
        "ours Up after link up"
    );
    assert!(
        wait_until(Duration::from_secs(30), || bird_state(&lab).as_deref()
            == Some("Up")),
        "BIRD Up after link up"
    );
    let m = bfd.metrics();
    let c = &m.peers[&ip(PEER)];
    assert!(
        c.up_events == 3 && c.down_events == 2 && c.session_up,
        "{c:?}"
    );
}
