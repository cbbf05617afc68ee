//! Interop against BIRD 2.0 and GoBGP 3.10 in network namespaces (LODESTONE_NETLAB=1, root).

mod netlab;

use std::time::Duration;

use netlab::*;

const LIMIT: Duration = Duration::from_secs(90);

fn established(sp: &mut LabProcess, peer: &str) {
    wait_for("our session to be established", LIMIT, || {
        sp.status(peer).contains("state=established").then_some(())
    });
}

fn bird_config(local_as: u32, extra: &str) -> String {
    format!(
        "router id 192.0.2.2;\nprotocol device {{}}\nprotocol direct {{ ipv4; ipv6; }}\n\
         protocol bgp lodestone {{\n  local 192.0.2.2 as {local_as};\n  neighbor 192.0.2.1 as 64512;\n  \
         hold time 30;\n  connect retry time 2;\n  error wait time 1,5;\n  {extra}\n  \
         ipv4 {{ import all; export none; }};\n  ipv6 {{ import all; export none; }};\n}}\n"
    )
}

/// BIRD eBGP (IPv4 and IPv6 prefixes, communities, MED) and iBGP (LOCAL_PREF).
#[test]
fn bird_ebgp_and_ibgp() {
    if !enabled(&["ip", "bird", "birdc"]) {
        return;
    }
    for ibgp in [false, true] {
        let (s, r) = (Netns::new(), Netns::new());
        veth(
            &s,
            &["192.0.2.1/24", "2001:db8::1/64"],
            &r,
            &["192.0.2.2/24", "2001:db8::2/64"],
        );
        let local_as = if ibgp { 64512 } else { 64513 };
        let bird = Bird::start(
            &r,
            &bird_config(local_as, if ibgp { "direct;" } else { "" }),
        );
        let peer = format!("192.0.2.2,{local_as},nh6=2001:db8::1");
        let mut sp = LabProcess::spawn(
            &s,
            &example("bgp-lab-speaker"),
            &[
                "--local-as",
                "64512",
                "--router-id",
                "192.0.2.1",
                "--peer",
                &peer,
            ],
        );
        sp.expect_line("ready");
        sp.send("route 198.51.100.10/32 med=20 lp=250 comm=64512:100 large=64512:1:2");
        sp.send("route 2001:db8:5::/64 lp=200");
        sp.send("commit");
        established(&mut sp, "192.0.2.2");
        let r4 = wait_for("198.51.100.10/32 in BIRD", LIMIT, || {
            bird.route("198.51.100.10/32")
        });
        assert!(r4.contains("BGP.med: 20"), "{r4}");
        assert!(r4.contains("BGP.community: (64512,100)"), "{r4}");
        assert!(r4.contains("BGP.large_community: (64512, 1, 2)"), "{r4}");
        assert!(r4.contains("BGP.next_hop: 192.0.2.1"), "{r4}");
        let r6 = wait_for("2001:db8:5::/64 in BIRD", LIMIT, || {
            bird.route("2001:db8:5::/64")
        });
        assert!(r6.contains("BGP.next_hop: 2001:db8::1"), "{r6}");
        if ibgp {
            assert!(r4.contains("BGP.local_pref: 250"), "{r4}");
            assert!(r6.contains("BGP.local_pref: 200"), "{r6}");
            let as_path = r4
                .lines()
                .map(str::trim)
                .find(|l| l.starts_with("BGP.as_path:"));
            assert_eq!(as_path, Some("BGP.as_path:"), "empty AS_PATH on iBGP: {r4}");
        } else {
            // BIRD shows its own default (100) for eBGP routes: ours (250) must not arrive.
            assert!(r4.contains("BGP.local_pref: 100"), "{r4}");
            assert!(r4.contains("BGP.as_path: 64512"), "{r4}");
        }
        sp.send("withdraw 198.51.100.10/32");
        sp.send("commit");
        wait_for("withdrawn from BIRD", LIMIT, || {
            bird.route("198.51.100.10/32").is_none().then_some(())
        });
        assert!(bird.route("2001:db8:5::/64").is_some());
        sp.finish();
    }
}

fn gobgp_config(passive: bool) -> String {
    format!(
        "[global.config]\n  as = 64513\n  router-id = \"192.0.2.2\"\n  port = 179\n\
         [[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"192.0.2.1\"\n    peer-as = 64512\n\
         [neighbors.timers.config]\n    connect-retry = 2\n    hold-time = 30\n    keepalive-interval = 10\n\
         [neighbors.transport.config]\n    passive-mode = {passive}\n\
         [[neighbors.afi-safis]]\n  [neighbors.afi-safis.config]\n    afi-safi-name = \"ipv4-unicast\"\n\
         [[neighbors.afi-safis]]\n  [neighbors.afi-safis.config]\n    afi-safi-name = \"ipv6-unicast\"\n"
    )
}

fn attr(path: &serde_json::Value, type_code: u64) -> Option<&serde_json::Value> {
    path.get("attrs")?
        .as_array()?
        .iter()
        .find(|a| a.get("type").and_then(|t| t.as_u64()) == Some(type_code))
}

/// GoBGP eBGP, IPv4 and IPv6 prefixes; we active (GoBGP passive) and we passive.
#[test]
fn gobgp_ebgp_we_active_and_passive() {
    if !enabled(&["ip", "gobgpd", "gobgp"]) {
        return;
    }
    for we_passive in [false, true] {
        let (s, r) = (Netns::new(), Netns::new());
        veth(
            &s,
            &["192.0.2.1/24", "2001:db8::1/64"],
            &r,
            &["192.0.2.2/24", "2001:db8::2/64"],
        );
        let gobgp = GoBgp::start(&r, &gobgp_config(!we_passive), 50051);
        let mut peer = "192.0.2.2,64513,nh6=2001:db8::1".to_string();
        let mut args = vec!["--local-as", "64512", "--router-id", "192.0.2.1"];
        if we_passive {
            peer.push_str(",passive");
            args.extend(["--listen", "0.0.0.0:179"]);
        }
        args.extend(["--peer", peer.as_str()]);
        let mut sp = LabProcess::spawn(&s, &example("bgp-lab-speaker"), &args);
        sp.expect_line("ready");
        sp.send("route 198.51.100.10/32 comm=64512:100 large=64512:1:2");
        sp.send("route 2001:db8:5::/64");
        sp.send("commit");
        established(&mut sp, "192.0.2.2");
        let p4 = wait_for("198.51.100.10/32 in GoBGP", LIMIT, || {
            gobgp.route("ipv4", "198.51.100.10/32")
        });
        let as_path = attr(&p4, 2).expect("AS_PATH");
        assert_eq!(
            as_path["as_paths"][0]["asns"],
            serde_json::json!([64512]),
            "{p4}"
        );
        assert_eq!(
            attr(&p4, 3).expect("NEXT_HOP")["nexthop"],
            "192.0.2.1",
            "{p4}"
        );
        assert_eq!(
            attr(&p4, 8).expect("COMMUNITIES")["communities"],
            serde_json::json!([(64512u64 << 16) | 100]),
            "{p4}"
        );
        let lc = attr(&p4, 32).expect("LARGE_COMMUNITIES");
        assert_eq!(
            lc["value"][0],
            serde_json::json!({"ASN": 64512, "LocalData1": 1, "LocalData2": 2}),
            "{p4}"
        );
        let p6 = wait_for("2001:db8:5::/64 in GoBGP", LIMIT, || {
            gobgp.route("ipv6", "2001:db8:5::/64")
        });
        assert_eq!(
            attr(&p6, 14).expect("MP_REACH")["nexthop"],
            "2001:db8::1",
            "{p6}"
        );
        sp.send("clear");
        sp.send("commit");
        wait_for("withdrawn from GoBGP", LIMIT, || {
            (gobgp.route("ipv4", "198.51.100.10/32").is_none()
                && gobgp.route("ipv6", "2001:db8:5::/64").is_none())
            .then_some(())
        });
        sp.finish();
    }
}
