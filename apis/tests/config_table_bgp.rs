//! Parser table: BGP peers, timers, passwords and BFD profiles.

mod config_support;

use std::time::Duration;

use config_support::{Expect, PEER, Row, bfd, doc, peer, run, secret};
use lodestone_apis::config::{Config, Missing, PeerAsn, PeerEndpoint, PeerPassword, Reason};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn timers(c: &Config, hold: u64, keepalive: u64) -> bool {
    let t = c.peers["p"].timers;
    t.hold == secs(hold) && t.keepalive == secs(keepalive)
}

fn rows() -> Vec<Row> {
    use Expect::*;
    vec![
        // Peers: ASNs, endpoint, addresses.
        Row {
            name: "minimal peer gets the default timers",
            yaml: peer("p", PEER),
            expect: Valid(|c| {
                let p = &c.peers["p"];
                timers(c, 90, 30)
                    && !p.timers.explicit
                    && p.port == 179
                    && p.peer_asn == PeerAsn::Fixed(64501)
                    && !p.is_ibgp()
                    && p.selects_node(&Default::default())
            }),
        },
        Row {
            name: "hold alone: keepalive is a third",
            yaml: peer("p", &format!("{PEER}holdTime: 90s")),
            expect: Valid(|c| timers(c, 90, 30) && c.peers["p"].timers.explicit),
        },
        Row {
            name: "keepalive alone: hold is three times",
            yaml: peer("p", &format!("{PEER}keepaliveTime: 10s")),
            expect: Valid(|c| timers(c, 30, 10)),
        },
        Row {
            name: "hold and keepalive 0/0 allowed",
            yaml: peer("p", &format!("{PEER}holdTime: 0s\nkeepaliveTime: 0s")),
            expect: Valid(|c| timers(c, 0, 0)),
        },
        Row {
            name: "hold 3s is the smallest non-zero hold",
            yaml: peer("p", &format!("{PEER}holdTime: 3s\nkeepaliveTime: 1s")),
            expect: Valid(|c| timers(c, 3, 1)),
        },
        Row {
            name: "Go duration text 1m30s",
            yaml: peer("p", &format!("{PEER}holdTime: 1m30s\nkeepaliveTime: 30s")),
            expect: Valid(|c| timers(c, 90, 30)),
        },
        Row {
            name: "hold 2s is invalid",
            yaml: peer("p", &format!("{PEER}holdTime: 2s")),
            expect: Invalid(vec![("p", "spec.holdTime", |r| {
                matches!(r, Reason::HoldTimeTooShort { .. })
            })]),
        },
        Row {
            name: "hold 1s is invalid (via keepalive alone it would be 3x, so set both)",
            yaml: peer("p", &format!("{PEER}holdTime: 1s\nkeepaliveTime: 1s")),
            expect: Invalid(vec![("p", "spec.holdTime", |r| {
                matches!(r, Reason::HoldTimeTooShort { .. })
            })]),
        },
        Row {
            name: "keepalive above hold",
            yaml: peer("p", &format!("{PEER}holdTime: 30s\nkeepaliveTime: 40s")),
            expect: Invalid(vec![("p", "spec.keepaliveTime", |r| {
                matches!(r, Reason::KeepaliveAboveHold { .. })
            })]),
        },
        Row {
            name: "duration without unit",
            yaml: peer("p", &format!("{PEER}holdTime: \"90\"")),
            expect: Invalid(vec![("p", "spec.holdTime", |r| {
                matches!(r, Reason::InvalidDuration { .. })
            })]),
        },
        Row {
            name: "negative keepalive",
            yaml: peer("p", &format!("{PEER}keepaliveTime: -5s")),
            expect: Invalid(vec![("p", "spec.keepaliveTime", |r| {
                matches!(r, Reason::InvalidDuration { .. })
            })]),
        },
        Row {
            name: "connectTime within range",
            yaml: peer("p", &format!("{PEER}connectTime: 5s")),
            expect: Valid(|c| c.peers["p"].connect_time == Some(secs(5))),
        },
        Row {
            name: "connectTime with a fraction of a second",
            yaml: peer("p", &format!("{PEER}connectTime: 1500ms")),
            expect: Invalid(vec![("p", "spec.connectTime", |r| {
                matches!(r, Reason::InvalidDuration { .. })
            })]),
        },
        Row {
            name: "connectTime zero",
            yaml: peer("p", &format!("{PEER}connectTime: 0s")),
            expect: Invalid(vec![("p", "spec.connectTime", |r| {
                matches!(
                    r,
                    Reason::OutOfRange {
                        min: 1,
                        max: 65535,
                        ..
                    }
                )
            })]),
        },
        Row {
            name: "myASN 0",
            yaml: peer("p", "myASN: 0\npeerASN: 64501\npeerAddress: 192.0.2.1"),
            expect: Invalid(vec![("p", "spec.myASN", |r| {
                matches!(r, Reason::MissingMyAsn)
            })]),
        },
        Row {
            name: "neither peerASN nor dynamicASN",
            yaml: peer("p", "myASN: 64500\npeerAddress: 192.0.2.1"),
            expect: Invalid(vec![("p", "spec.peerASN", |r| {
                matches!(r, Reason::MissingPeerAsn)
            })]),
        },
        Row {
            name: "both peerASN and dynamicASN",
            yaml: peer("p", &format!("{PEER}dynamicASN: external")),
            expect: Invalid(vec![("p", "spec.dynamicASN", |r| {
                matches!(r, Reason::BothPeerAsnAndDynamic)
            })]),
        },
        Row {
            name: "dynamicASN internal",
            yaml: peer(
                "p",
                "myASN: 64500\ndynamicASN: internal\npeerAddress: 192.0.2.1",
            ),
            expect: Valid(|c| {
                c.peers["p"].peer_asn == PeerAsn::DynamicInternal && c.peers["p"].is_ibgp()
            }),
        },
        Row {
            name: "dynamicASN external",
            yaml: peer(
                "p",
                "myASN: 64500\ndynamicASN: external\npeerAddress: 192.0.2.1",
            ),
            expect: Valid(|c| c.peers["p"].peer_asn == PeerAsn::DynamicExternal),
        },
        Row {
            name: "ebgpMultiHop on an iBGP session",
            yaml: peer(
                "p",
                "myASN: 64500\npeerASN: 64500\npeerAddress: 192.0.2.1\nebgpMultiHop: true",
            ),
            expect: Invalid(vec![("p", "spec.ebgpMultiHop", |r| {
                matches!(r, Reason::MultihopOnIbgp)
            })]),
        },
        Row {
            name: "ebgpMultiHop on an eBGP session",
            yaml: peer("p", &format!("{PEER}ebgpMultiHop: true")),
            expect: Valid(|c| c.peers["p"].ebgp_multihop),
        },
        Row {
            name: "neither address nor interface",
            yaml: peer("p", "myASN: 64500\npeerASN: 64501"),
            expect: Invalid(vec![("p", "spec.peerAddress", |r| {
                matches!(r, Reason::NoAddressOrInterface)
            })]),
        },
        Row {
            name: "both address and interface",
            yaml: peer("p", &format!("{PEER}interface: eth0")),
            expect: Invalid(vec![("p", "spec.interface", |r| {
                matches!(r, Reason::BothAddressAndInterface)
            })]),
        },
        Row {
            name: "unnumbered peer on an interface",
            yaml: peer("p", "myASN: 64500\npeerASN: 64501\ninterface: eth1"),
            expect: Valid(|c| c.peers["p"].endpoint == PeerEndpoint::Interface("eth1".into())),
        },
        Row {
            name: "interface with a line break",
            yaml: peer(
                "p",
                "myASN: 64500\npeerASN: 64501\ninterface: \"eth0\\nrouter bgp 1\"",
            ),
            expect: Invalid(vec![("p", "spec.interface", |r| {
                matches!(r, Reason::LineBreak)
            })]),
        },
        Row {
            name: "VRF with a line break",
            yaml: peer("p", &format!("{PEER}vrf: \"red\\r\"")),
            expect: Invalid(vec![("p", "spec.vrf", |r| matches!(r, Reason::LineBreak))]),
        },
        Row {
            name: "malformed peer address",
            yaml: peer("p", "myASN: 64500\npeerASN: 64501\npeerAddress: 192.0.2"),
            expect: Invalid(vec![("p", "spec.peerAddress", |r| {
                matches!(r, Reason::InvalidAddress(_))
            })]),
        },
        Row {
            name: "malformed source address",
            yaml: peer("p", &format!("{PEER}sourceAddress: nope")),
            expect: Invalid(vec![("p", "spec.sourceAddress", |r| {
                matches!(r, Reason::InvalidAddress(_))
            })]),
        },
        Row {
            name: "malformed router ID",
            yaml: peer("p", &format!("{PEER}routerID: 10.0.0")),
            expect: Invalid(vec![("p", "spec.routerID", |r| {
                matches!(r, Reason::InvalidRouterId(_))
            })]),
        },
        Row {
            name: "IPv6 router ID",
            yaml: peer("p", &format!("{PEER}routerID: \"2001:db8::1\"")),
            expect: Invalid(vec![("p", "spec.routerID", |r| {
                matches!(r, Reason::InvalidRouterId(_))
            })]),
        },
        Row {
            name: "IPv6 peer with router ID, port, VRF, graceful restart, dual-stack",
            yaml: peer(
                "p",
                "myASN: 4200000000\npeerASN: 64501\npeerAddress: \"2001:db8::1\"\nrouterID: 198.51.100.1\npeerPort: 1179\nvrf: red\nenableGracefulRestart: true\ndualStackAddressFamily: true\nlocalASN: 64999",
            ),
            expect: Valid(|c| {
                let p = &c.peers["p"];
                p.port == 1179
                    && p.vrf.as_deref() == Some("red")
                    && p.graceful_restart
                    && p.dual_stack_address_family
                    && p.local_asn == Some(64999)
                    && p.router_id == Some([198, 51, 100, 1].into())
            }),
        },
        Row {
            name: "peer port above the CRD maximum",
            yaml: peer("p", &format!("{PEER}peerPort: 20000")),
            expect: Invalid(vec![("p", "spec.peerPort", |r| {
                matches!(r, Reason::OutOfRange { .. })
            })]),
        },
        Row {
            name: "duplicate node selectors",
            yaml: peer(
                "p",
                &format!("{PEER}nodeSelectors:\n- matchLabels: {{a: b}}\n- matchLabels: {{a: b}}"),
            ),
            expect: Invalid(vec![("p", "spec.nodeSelectors[1]", |r| {
                matches!(r, Reason::DuplicateSelector { .. })
            })]),
        },
        Row {
            name: "duplicate peer names",
            yaml: peer("p", PEER) + &peer("p", PEER),
            expect: Invalid(vec![("p", "metadata.name", |r| {
                matches!(r, Reason::DuplicateName { .. })
            })]),
        },
        Row {
            name: "v1beta1 BGPPeer is converted",
            yaml: doc(
                "metallb.io/v1beta1",
                "BGPPeer",
                "p",
                "myASN: 64500\npeerASN: 64501\npeerAddress: 192.0.2.1\nholdTime: 9s",
            ),
            // MetalLB's conversion always sets both times (v1beta1 durations are not
            // optional), so a v1beta1 hold time alone arrives with keepalive 0s.
            expect: Valid(|c| timers(c, 9, 0)),
        },
        Row {
            name: "v1beta1 BGPPeer without times converts to 0s/0s",
            yaml: doc(
                "metallb.io/v1beta1",
                "BGPPeer",
                "p",
                "myASN: 64500\npeerASN: 64501\npeerAddress: 192.0.2.1",
            ),
            expect: Valid(|c| timers(c, 0, 0) && c.peers["p"].timers.explicit),
        },
        // Passwords.
        Row {
            name: "inline password",
            yaml: peer("p", &format!("{PEER}password: s3cret")),
            expect: Valid(|c| c.peers["p"].password.value() == Some("s3cret")),
        },
        Row {
            name: "password and passwordSecret",
            yaml: peer(
                "p",
                &format!("{PEER}password: x\npasswordSecret: {{name: s}}"),
            ),
            expect: Invalid(vec![("p", "spec.passwordSecret", |r| {
                matches!(r, Reason::BothPasswordAndSecret)
            })]),
        },
        Row {
            name: "password with a line break",
            yaml: peer("p", &format!("{PEER}password: \"a\\nb\"")),
            expect: Invalid(vec![("p", "spec.password", |r| {
                matches!(r, Reason::LineBreak)
            })]),
        },
        Row {
            name: "passwordSecret not created yet is pending",
            yaml: peer("p", &format!("{PEER}passwordSecret: {{name: later}}")),
            expect: Pending(vec![(
                "p",
                "spec.passwordSecret",
                |m| matches!(m, Missing::Secret { name, namespace } if name == "later" && namespace == "metallb-system"),
            )]),
        },
        Row {
            name: "basic-auth Secret",
            yaml: peer("p", &format!("{PEER}passwordSecret: {{name: s}}"))
                + &secret(
                    "s",
                    "kubernetes.io/basic-auth",
                    &[("username", "u"), ("password", "pw")],
                ),
            expect: Valid(|c| c.peers["p"].password.value() == Some("pw")),
        },
        Row {
            name: "Opaque Secret (kubectl create secret generic)",
            yaml: peer("p", &format!("{PEER}passwordSecret: {{name: s}}"))
                + &secret("s", "Opaque", &[("password", "pw2")]),
            expect: Valid(
                |c| matches!(&c.peers["p"].password, PeerPassword::FromSecret { value, .. } if value == "pw2"),
            ),
        },
        Row {
            name: "passwordSecret.key names the key to read",
            yaml: peer("p", &format!("{PEER}passwordSecret: {{name: s, key: bgp}}"))
                + &secret("s", "Opaque", &[("password", "no"), ("bgp", "yes")]),
            expect: Valid(|c| c.peers["p"].password.value() == Some("yes")),
        },
        Row {
            name: "Secret of another type",
            yaml: peer("p", &format!("{PEER}passwordSecret: {{name: s}}"))
                + &secret("s", "kubernetes.io/tls", &[("password", "pw")]),
            expect: Invalid(vec![("p", "spec.passwordSecret", |r| {
                matches!(r, Reason::SecretType { .. })
            })]),
        },
        Row {
            name: "Secret without the key",
            yaml: peer("p", &format!("{PEER}passwordSecret: {{name: s}}"))
                + &secret("s", "Opaque", &[("pass", "pw")]),
            expect: Invalid(vec![(
                "p",
                "spec.passwordSecret",
                |r| matches!(r, Reason::SecretKeyMissing { key, .. } if key == "password"),
            )]),
        },
        Row {
            name: "Secret password with a line break",
            yaml: peer("p", &format!("{PEER}passwordSecret: {{name: s}}"))
                + &secret("s", "Opaque", &[("password", "a\nb")]),
            expect: Invalid(vec![("p", "spec.passwordSecret", |r| {
                matches!(r, Reason::LineBreak)
            })]),
        },
        Row {
            name: "Secret password that is not text",
            yaml: peer("p", &format!("{PEER}passwordSecret: {{name: s}}"))
                + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: metallb-system}\ndata: {password: /w==}\n",
            expect: Invalid(vec![("p", "spec.passwordSecret", |r| {
                matches!(r, Reason::SecretNotText { .. })
            })]),
        },
        Row {
            name: "Secret in another namespace named by the reference",
            yaml: peer(
                "p",
                &format!("{PEER}passwordSecret: {{name: s, namespace: other}}"),
            ) + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: other}\nstringData: {password: pw}\n",
            expect: Valid(|c| c.peers["p"].password.value() == Some("pw")),
        },
        // BFD profiles.
        Row {
            name: "BFD profile defaults",
            yaml: bfd("b", "{}") + &peer("p", &format!("{PEER}bfdProfile: b")),
            expect: Valid(|c| {
                let b = &c.bfd_profiles["b"];
                b.receive_interval == Duration::from_millis(300)
                    && b.transmit_interval == Duration::from_millis(300)
                    && b.detect_multiplier == 3
                    && b.echo_interval == Duration::from_millis(50)
                    && b.minimum_ttl == 254
                    && !b.echo_mode
                    && !b.passive_mode
                    && c.peers["p"].bfd_profile.as_deref() == Some("b")
            }),
        },
        Row {
            name: "BFD profile at the edges of every range",
            yaml: bfd(
                "b",
                "receiveInterval: 10\ntransmitInterval: 60000\ndetectMultiplier: 255\nechoInterval: 10\nminimumTtl: 1\nechoMode: true\npassiveMode: true",
            ),
            expect: Valid(|c| {
                let b = &c.bfd_profiles["b"];
                b.detect_multiplier == 255 && b.minimum_ttl == 1 && b.echo_mode && b.passive_mode
            }),
        },
        Row {
            name: "BFD receiveInterval too small",
            yaml: bfd("b", "receiveInterval: 9"),
            expect: Invalid(vec![("b", "spec.receiveInterval", |r| {
                matches!(
                    r,
                    Reason::OutOfRange {
                        min: 10,
                        max: 60000,
                        ..
                    }
                )
            })]),
        },
        Row {
            name: "BFD transmitInterval too large",
            yaml: bfd("b", "transmitInterval: 60001"),
            expect: Invalid(vec![("b", "spec.transmitInterval", |r| {
                matches!(r, Reason::OutOfRange { .. })
            })]),
        },
        Row {
            name: "BFD detectMultiplier 1",
            yaml: bfd("b", "detectMultiplier: 1"),
            expect: Invalid(vec![("b", "spec.detectMultiplier", |r| {
                matches!(
                    r,
                    Reason::OutOfRange {
                        min: 2,
                        max: 255,
                        ..
                    }
                )
            })]),
        },
        Row {
            name: "BFD echoInterval too small",
            yaml: bfd("b", "echoInterval: 9"),
            expect: Invalid(vec![("b", "spec.echoInterval", |r| {
                matches!(r, Reason::OutOfRange { .. })
            })]),
        },
        Row {
            name: "BFD minimumTtl 255 and 0",
            yaml: bfd("b", "minimumTtl: 255") + &bfd("c", "minimumTtl: 0"),
            expect: Invalid(vec![
                ("b", "spec.minimumTtl", |r| {
                    matches!(
                        r,
                        Reason::OutOfRange {
                            min: 1,
                            max: 254,
                            ..
                        }
                    )
                }),
                ("c", "spec.minimumTtl", |r| {
                    matches!(r, Reason::OutOfRange { .. })
                }),
            ]),
        },
        Row {
            name: "BFD duplicate profile names",
            yaml: bfd("b", "{}") + &bfd("b", "{}"),
            expect: Invalid(vec![("b", "metadata.name", |r| {
                matches!(r, Reason::DuplicateName { .. })
            })]),
        },
        Row {
            name: "peer's BFD profile not created yet is pending",
            yaml: peer("p", &format!("{PEER}bfdProfile: later")),
            expect: Pending(vec![(
                "p",
                "spec.bfdProfile",
                |m| matches!(m, Missing::BfdProfile(b) if b == "later"),
            )]),
        },
    ]
}

#[test]
fn bgp_table() {
    let rows = rows();
    let invalid = rows
        .iter()
        .filter(|r| matches!(r.expect, Expect::Invalid(_)))
        .count();
    assert!(rows.len() >= 30, "only {} rows", rows.len());
    assert!(
        invalid * 3 >= rows.len(),
        "only {invalid} invalid rows of {}",
        rows.len()
    );
    let failures = run(&rows);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
