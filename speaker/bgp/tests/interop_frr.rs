//! Interop against FRR 8.4 in network namespaces (LODESTONE_NETLAB=1, root). Each test builds
//! its own namespaces, runs our driver (the `bgp-lab-speaker` example) in one and FRR in the
//! other, and asserts the routes in FRR's RIB with their attributes.

mod netlab;

use std::time::Duration;

use netlab::*;

const TOOLS: &[&str] = &["ip", "vtysh", "/usr/lib/frr/zebra", "/usr/lib/frr/bgpd"];
const LIMIT: Duration = Duration::from_secs(90);

fn str_at<'a>(v: &'a serde_json::Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

fn established(sp: &mut LabProcess, peer: &str) {
    wait_for("our session to be established", LIMIT, || {
        sp.status(peer).contains("state=established").then_some(())
    });
}

/// eBGP over IPv4 carrying IPv4 and IPv6 prefixes with MED, communities and large
/// communities; withdrawal; recovery after FRR restarts.
#[test]
fn frr_ebgp_ipv4_transport_both_families() {
    if !enabled(TOOLS) {
        return;
    }
    let (s, r) = (Netns::new(), Netns::new());
    veth(
        &s,
        &["192.0.2.1/24", "2001:db8::1/64"],
        &r,
        &["192.0.2.2/24", "2001:db8::2/64"],
    );
    let frr = Frr::start(&r, &frr_config(64513, "192.0.2.2", "192.0.2.1", 64512, &[]));
    let mut sp = LabProcess::spawn(
        &s,
        &example("bgp-lab-speaker"),
        &[
            "--local-as",
            "64512",
            "--router-id",
            "192.0.2.1",
            "--peer",
            "192.0.2.2,64513,nh6=2001:db8::1,source=192.0.2.1,ttl=1",
        ],
    );
    sp.expect_line("ready");
    sp.send("route 198.51.100.10/32 med=20 comm=64512:100,65535:65281 large=64512:1:2");
    sp.send("route 203.0.113.0/24");
    sp.send("route 2001:db8:5::/64 comm=64512:200");
    sp.send("commit");
    established(&mut sp, "192.0.2.2");

    let r4 = wait_for("198.51.100.10/32 in FRR", LIMIT, || {
        frr.route("ipv4", "198.51.100.10/32")
    });
    assert_eq!(str_at(&r4, &["aspath", "string"]), Some("64512"));
    assert_eq!(str_at(&r4, &["origin"]), Some("IGP"));
    assert_eq!(r4.get("metric").and_then(|m| m.as_u64()), Some(20));
    assert_eq!(
        str_at(&r4, &["community", "string"]),
        Some("64512:100 no-export")
    );
    assert_eq!(
        str_at(&r4, &["largeCommunity", "string"]),
        Some("64512:1:2")
    );
    assert_eq!(r4["nexthops"][0]["ip"].as_str(), Some("192.0.2.1"));
    assert!(r4.get("locPrf").is_none(), "no LOCAL_PREF over eBGP");
    let r4b = wait_for("203.0.113.0/24 in FRR", LIMIT, || {
        frr.route("ipv4", "203.0.113.0/24")
    });
    assert!(r4b.get("community").is_none());
    let r6 = wait_for("2001:db8:5::/64 in FRR", LIMIT, || {
        frr.route("ipv6", "2001:db8:5::/64")
    });
    assert_eq!(r6["nexthops"][0]["ip"].as_str(), Some("2001:db8::1"));
    assert_eq!(str_at(&r6, &["community", "string"]), Some("64512:200"));
    assert_eq!(str_at(&r6, &["aspath", "string"]), Some("64512"));
    let st = sp.status("192.0.2.2");
    assert!(st.contains("announced=3 pending=0"), "{st}");

    // Withdrawal of one prefix leaves the others alone.
    sp.send("withdraw 198.51.100.10/32");
    sp.send("commit");
    wait_for("198.51.100.10/32 withdrawn", LIMIT, || {
        frr.route("ipv4", "198.51.100.10/32")
            .is_none()
            .then_some(())
    });
    assert!(frr.route("ipv4", "203.0.113.0/24").is_some());
    assert!(frr.route("ipv6", "2001:db8:5::/64").is_some());

    // FRR restarts: the session comes back and the table is re-sent.
    frr.restart();
    established(&mut sp, "192.0.2.2");
    wait_for("routes back after FRR restart", LIMIT, || {
        (frr.route("ipv4", "203.0.113.0/24").is_some()
            && frr.route("ipv6", "2001:db8:5::/64").is_some())
        .then_some(())
    });
    assert!(frr.route("ipv4", "198.51.100.10/32").is_none());

    // Admin shutdown: FRR sees Cease and drops our routes.
    sp.finish();
    wait_for("routes gone after shutdown", LIMIT, || {
        (frr.prefix_count("ipv4") == 0).then_some(())
    });
    let n = frr.json("show bgp neighbors 192.0.2.1 json");
    assert_eq!(
        str_at(&n, &["192.0.2.1", "lastNotificationReason"]),
        Some("Cease/Administrative Shutdown")
    );
}

/// iBGP over IPv6 transport: LOCAL_PREF, empty AS_PATH, IPv4 prefixes with an IPv4 next hop.
#[test]
fn frr_ibgp_ipv6_transport_local_pref() {
    if !enabled(TOOLS) {
        return;
    }
    let (s, r) = (Netns::new(), Netns::new());
    veth(
        &s,
        &["192.0.2.1/24", "2001:db8::1/64"],
        &r,
        &["192.0.2.2/24", "2001:db8::2/64"],
    );
    let frr = Frr::start(
        &r,
        &frr_config(64512, "192.0.2.2", "2001:db8::1", 64512, &[]),
    );
    let mut sp = LabProcess::spawn(
        &s,
        &example("bgp-lab-speaker"),
        &[
            "--local-as",
            "64512",
            "--router-id",
            "192.0.2.1",
            "--peer",
            "2001:db8::2,64512,nh4=192.0.2.1",
        ],
    );
    sp.expect_line("ready");
    sp.send("route 2001:db8:10::1/128 lp=250");
    sp.send("route 198.51.100.20/32 lp=300 large=64512:7:7");
    sp.send("route 198.51.100.21/32");
    sp.send("commit");
    established(&mut sp, "2001:db8::2");
    let r6 = wait_for("2001:db8:10::1/128 in FRR", LIMIT, || {
        frr.route("ipv6", "2001:db8:10::1/128")
    });
    assert_eq!(r6.get("locPrf").and_then(|v| v.as_u64()), Some(250));
    assert_eq!(
        str_at(&r6, &["aspath", "string"]),
        Some("Local"),
        "empty AS_PATH"
    );
    assert_eq!(r6["nexthops"][0]["ip"].as_str(), Some("2001:db8::1"));
    let r4 = wait_for("198.51.100.20/32 in FRR", LIMIT, || {
        frr.route("ipv4", "198.51.100.20/32")
    });
    assert_eq!(r4.get("locPrf").and_then(|v| v.as_u64()), Some(300));
    assert_eq!(
        str_at(&r4, &["largeCommunity", "string"]),
        Some("64512:7:7")
    );
    assert_eq!(r4["nexthops"][0]["ip"].as_str(), Some("192.0.2.1"));
    let r4d = wait_for("198.51.100.21/32 in FRR", LIMIT, || {
        frr.route("ipv4", "198.51.100.21/32")
    });
    assert_eq!(
        r4d.get("locPrf").and_then(|v| v.as_u64()),
        Some(100),
        "default LOCAL_PREF on iBGP"
    );
    sp.send("clear");
    sp.send("commit");
    wait_for("all withdrawn", LIMIT, || {
        (frr.prefix_count("ipv4") == 0 && frr.prefix_count("ipv6") == 0).then_some(())
    });
    sp.finish();
}

/// TCP-MD5 and GTSM, with FRR connecting to our listener (our side passive) and, in a second
/// speaker run, our side connecting.
#[test]
fn frr_md5_and_gtsm_both_directions() {
    if !enabled(TOOLS) {
        return;
    }
    let (s, r) = (Netns::new(), Netns::new());
    veth(&s, &["192.0.2.1/24"], &r, &["192.0.2.2/24"]);
    let frr = Frr::start(
        &r,
        &frr_config(
            64513,
            "192.0.2.2",
            "192.0.2.1",
            64512,
            &["password lodestone-secret", "ttl-security hops 1"],
        ),
    );
    for passive in [true, false] {
        let peer = format!(
            "192.0.2.2,64513,md5=lodestone-secret,gtsm=1{}",
            if passive { ",passive" } else { "" }
        );
        let mut sp = LabProcess::spawn(
            &s,
            &example("bgp-lab-speaker"),
            &[
                "--local-as",
                "64512",
                "--router-id",
                "192.0.2.1",
                "--listen",
                "0.0.0.0:179",
                "--peer",
                &peer,
            ],
        );
        sp.expect_line("ready");
        sp.send("route 198.51.100.30/32");
        sp.send("commit");
        established(&mut sp, "192.0.2.2");
        wait_for("route over an MD5 + GTSM session", LIMIT, || {
            frr.route("ipv4", "198.51.100.30/32")
        });
        sp.finish();
        wait_for("withdrawn", LIMIT, || {
            frr.route("ipv4", "198.51.100.30/32")
                .is_none()
                .then_some(())
        });
    }
    // A wrong key never establishes (segments are dropped silently).
    let mut sp = LabProcess::spawn(
        &s,
        &example("bgp-lab-speaker"),
        &[
            "--local-as",
            "64512",
            "--router-id",
            "192.0.2.1",
            "--peer",
            "192.0.2.2,64513,md5=wrong,gtsm=1",
        ],
    );
    sp.expect_line("ready");
    std::thread::sleep(Duration::from_secs(5));
    let st = sp.status("192.0.2.2");
    assert!(!st.contains("state=established"), "{st}");
    assert_ne!(frr.neighbor_state("192.0.2.1"), "Established");
    sp.finish();
}

/// A misbehaving peer gets the right NOTIFICATION for each malformed message, its session
/// resets and reconnects, and the FRR session of the same speaker is untouched.
#[test]
fn misbehaving_peer_is_notified_and_other_sessions_carry_on() {
    if !enabled(TOOLS) {
        return;
    }
    let (s, r, x) = (Netns::new(), Netns::new(), Netns::new());
    veth(&s, &["192.0.2.1/24"], &r, &["192.0.2.2/24"]);
    veth(&s, &["198.51.100.1/24"], &x, &["198.51.100.2/24"]);
    let frr = Frr::start(&r, &frr_config(64513, "192.0.2.2", "192.0.2.1", 64512, &[]));
    let m = "ffffffffffffffffffffffffffffffff";
    // Header with the right length for a type + body (length errors are spelled out).
    let frame = |t: &str, body: &str| format!("{m}{:04x}{t}{body}", 19 + body.len() / 2);
    let cases: Vec<(String, &str)> = vec![
        (
            "ffffffffffffffffffffffffffff0000001304".into(),
            "notification 1 1",
        ),
        (format!("{m}001404aa"), "notification 1 2"),
        (frame("09", ""), "notification 1 3"),
        // NLRI with prefix length 33.
        (
            frame("02", "000000044001010021c6336401"),
            "notification 3 10",
        ),
        // Unknown well-known attribute type 99.
        (frame("02", "0000000440630100"), "notification 3 2"),
        // Total attribute length beyond the message.
        (frame("02", "00000005400101"), "notification 3 1"),
        // ROUTE-REFRESH with a 2-octet body.
        (frame("05", "0001"), "notification 7 1"),
    ];
    let mut args = vec![
        "198.51.100.2:179".to_string(),
        "64514".into(),
        "198.51.100.2".into(),
    ];
    args.extend(cases.iter().map(|(h, _)| h.clone()));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let raw = LabProcess::spawn(&x, &example("bgp-lab-rawpeer"), &argv);
    raw.expect_line("listening");
    let mut sp = LabProcess::spawn(
        &s,
        &example("bgp-lab-speaker"),
        &[
            "--local-as",
            "64512",
            "--router-id",
            "192.0.2.1",
            "--peer",
            "192.0.2.2,64513",
            "--peer",
            "198.51.100.2,64514",
        ],
    );
    sp.expect_line("ready");
    sp.send("route 203.0.113.7/32");
    sp.send("commit");
    established(&mut sp, "192.0.2.2");
    wait_for("route in FRR", LIMIT, || {
        frr.route("ipv4", "203.0.113.7/32")
    });
    let up_before =
        frr.json("show bgp neighbors 192.0.2.1 json")["192.0.2.1"]["connectionsEstablished"]
            .as_u64();
    for (i, (_, want)) in cases.iter().enumerate() {
        let got = raw.line(LIMIT);
        assert_eq!(got, format!("case {i} {want}"));
    }
    let st = sp.status("198.51.100.2");
    assert!(st.contains(&format!("malformed={}", cases.len())), "{st}");
    // FRR's session never flapped and still has the route.
    assert_eq!(frr.neighbor_state("192.0.2.1"), "Established");
    let up_after =
        frr.json("show bgp neighbors 192.0.2.1 json")["192.0.2.1"]["connectionsEstablished"]
            .as_u64();
    assert_eq!(up_before, up_after);
    assert!(frr.route("ipv4", "203.0.113.7/32").is_some());
    assert!(sp.status("192.0.2.2").contains("state=established"));
    sp.finish();
}

/// Graceful restart as the restarting speaker: our process stops without a NOTIFICATION, FRR
/// keeps the routes (stale) and a new instance refreshes them.
#[test]
fn frr_keeps_routes_while_we_restart_gracefully() {
    if !enabled(TOOLS) {
        return;
    }
    let (s, r) = (Netns::new(), Netns::new());
    veth(&s, &["192.0.2.1/24"], &r, &["192.0.2.2/24"]);
    let frr = Frr::start(&r, &frr_config(64513, "192.0.2.2", "192.0.2.1", 64512, &[]));
    let args = [
        "--local-as",
        "64512",
        "--router-id",
        "192.0.2.1",
        "--peer",
        "192.0.2.2,64513,gr=120",
    ];
    let mut sp = LabProcess::spawn(&s, &example("bgp-lab-speaker"), &args);
    sp.expect_line("ready");
    sp.send("route 198.51.100.40/32");
    sp.send("commit");
    established(&mut sp, "192.0.2.2");
    wait_for("route in FRR", LIMIT, || {
        frr.route("ipv4", "198.51.100.40/32")
    });
    let n = frr.json("show bgp neighbors 192.0.2.1 json");
    assert_eq!(
        str_at(&n, &["192.0.2.1", "gracefulRestartInfo", "remoteGrMode"]),
        Some("Restart"),
        "{n}"
    );
    sp.send("restart");
    sp.finish();
    // FRR notices the closed session and keeps the route as stale.
    wait_for("FRR to see the session drop", LIMIT, || {
        (frr.neighbor_state("192.0.2.1") != "Established").then_some(())
    });
    let stale = frr
        .route("ipv4", "198.51.100.40/32")
        .expect("route kept during graceful restart");
    assert_eq!(
        stale.get("stale").and_then(|v| v.as_bool()),
        Some(true),
        "{stale}"
    );
    // The restarted speaker re-announces; End-of-RIB clears the stale flag.
    let mut sp = LabProcess::spawn(&s, &example("bgp-lab-speaker"), &args);
    sp.expect_line("ready");
    sp.send("route 198.51.100.40/32");
    sp.send("commit");
    established(&mut sp, "192.0.2.2");
    wait_for("route refreshed", LIMIT, || {
        frr.route("ipv4", "198.51.100.40/32")
            .filter(|p| p.get("stale").is_none())
            .map(|_| ())
    });
    sp.finish();
}
