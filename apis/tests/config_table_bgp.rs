//! Parser table: BGP peers, timers, passwords, BFD profiles, communities, BGP advertisements.

mod config_support;

use std::time::Duration;

use config_support::{
    Expect, PEER, Row, any, bfd, bgp_adv, community, doc, node, peer, pool, run, secret,
};
use lodestone_apis::config::{
    Community, CommunityError, Config, Missing, PeerAsn, PeerEndpoint, PeerPassword, Reason,
};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn timers(c: &Config, hold: u64, keepalive: u64) -> bool {
    let t = c.peers["p"].timers;
    t.hold == secs(hold) && t.keepalive == secs(keepalive)
}

const POOL4: &str = "addresses: [192.0.2.0/24]";

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
        // Communities.
        Row {
            name: "alias, classic and large communities are resolved",
            yaml: pool("a", POOL4)
                + &community("c", "communities:\n- {name: gold, value: \"65000:100\"}")
                + &bgp_adv(
                    "adv",
                    "communities: [gold, \"65000:200\", \"large:4200000000:1:2\"]",
                ),
            expect: Valid(|c| {
                let got = &c.bgp_advertisements[0].communities;
                got.len() == 3
                    && got.contains(&Community::Standard((65000 << 16) | 100))
                    && got.contains(&Community::Large {
                        global: 4_200_000_000,
                        local1: 1,
                        local2: 2,
                    })
                    && c.communities["gold"] == Community::Standard((65000 << 16) | 100)
            }),
        },
        Row {
            name: "Community object with a malformed value",
            yaml: community("c", "communities:\n- {name: bad, value: \"65536:1\"}"),
            expect: Invalid(vec![("c", "spec.communities[0].value", |r| {
                matches!(r, Reason::InvalidCommunity(CommunityError::Value { .. }))
            })]),
        },
        Row {
            name: "Community object with a value of the wrong shape",
            yaml: community("c", "communities:\n- {name: bad, value: \"1:2:3\"}"),
            expect: Invalid(vec![("c", "spec.communities[0].value", |r| {
                matches!(r, Reason::InvalidCommunity(CommunityError::Format(_)))
            })]),
        },
        Row {
            name: "the same alias in two Community objects",
            yaml: community("c", "communities:\n- {name: x, value: \"1:1\"}")
                + &community("d", "communities:\n- {name: x, value: \"1:2\"}"),
            expect: Invalid(vec![("d", "spec.communities[0].name", |r| {
                matches!(r, Reason::DuplicateEntry { .. })
            })]),
        },
        Row {
            name: "advertisement community out of range",
            yaml: bgp_adv("adv", "communities: [\"65000:70000\"]"),
            expect: Invalid(vec![("adv", "spec.communities[0]", |r| {
                matches!(r, Reason::InvalidCommunity(CommunityError::Value { .. }))
            })]),
        },
        Row {
            name: "large community with a non-number",
            yaml: bgp_adv("adv", "communities: [\"large:1:x:3\"]"),
            expect: Invalid(vec![("adv", "spec.communities[0]", |r| {
                matches!(r, Reason::InvalidCommunity(CommunityError::Value { .. }))
            })]),
        },
        Row {
            name: "unknown alias is pending",
            yaml: bgp_adv("adv", "communities: [no-such-alias, \"large:1:2\"]"),
            expect: Pending(vec![
                (
                    "adv",
                    "spec.communities[0]",
                    |m| matches!(m, Missing::CommunityAlias(a) if a == "no-such-alias"),
                ),
                ("adv", "spec.communities[1]", |m| {
                    matches!(m, Missing::CommunityAlias(_))
                }),
            ]),
        },
        Row {
            name: "duplicate community in an advertisement",
            yaml: bgp_adv("adv", "communities: [\"1:1\", \"1:1\"]"),
            expect: Invalid(vec![("adv", "spec.communities[1]", |r| {
                matches!(r, Reason::DuplicateEntry { .. })
            })]),
        },
        // BGP advertisements.
        Row {
            name: "advertisement without pools applies to every pool, IPv6 included",
            yaml: pool("a", POOL4)
                + &pool("b", "addresses: [\"2001:db8::/64\"]")
                + &bgp_adv("adv", "{}"),
            expect: Valid(|c| {
                let a = &c.bgp_advertisements[0];
                a.pools == ["a", "b"]
                    && a.aggregation_length_v4 == 32
                    && a.aggregation_length_v6 == 128
                    && a.local_pref == 0
                    && c.bgp_advertisements_for("b").count() == 1
            }),
        },
        Row {
            name: "aggregation to the pool's own prefix",
            yaml: pool("a", POOL4) + &bgp_adv("adv", "ipAddressPools: [a]\naggregationLength: 24"),
            expect: Valid(|c| {
                c.bgp_advertisements[0]
                    .prefix_for([192, 0, 2, 77].into())
                    .to_string()
                    == "192.0.2.0/24"
            }),
        },
        Row {
            name: "aggregation shorter than the pool",
            yaml: pool("a", "addresses: [192.0.2.0/24]") + &bgp_adv("adv", "aggregationLength: 23"),
            expect: Invalid(vec![("adv", "spec.aggregationLength", |r| {
                matches!(
                    r,
                    Reason::AggregationShorterThanPool {
                        length: 23,
                        prefix_len: 24,
                        ..
                    }
                )
            })]),
        },
        Row {
            name: "aggregation versus a range uses its widest prefix",
            yaml: pool("a", "addresses: [192.0.2.0-192.0.2.130]")
                + &bgp_adv("adv", "aggregationLength: 25"),
            expect: Valid(any),
        },
        Row {
            name: "IPv6 aggregation shorter than the pool",
            yaml: pool("a", "addresses: [\"2001:db8::/64\"]")
                + &bgp_adv("adv", "aggregationLengthV6: 48"),
            expect: Invalid(vec![("adv", "spec.aggregationLengthV6", |r| {
                matches!(r, Reason::AggregationShorterThanPool { .. })
            })]),
        },
        Row {
            name: "aggregation length 33",
            yaml: bgp_adv("adv", "aggregationLength: 33"),
            expect: Invalid(vec![("adv", "spec.aggregationLength", |r| {
                matches!(r, Reason::AggregationTooLong { max: 32, .. })
            })]),
        },
        Row {
            name: "IPv6 aggregation length 129",
            yaml: bgp_adv("adv", "aggregationLengthV6: 129"),
            expect: Invalid(vec![("adv", "spec.aggregationLengthV6", |r| {
                matches!(r, Reason::AggregationTooLong { max: 128, .. })
            })]),
        },
        Row {
            name: "aggregation length 0",
            yaml: bgp_adv("adv", "aggregationLength: 0"),
            expect: Invalid(vec![("adv", "spec.aggregationLength", |r| {
                matches!(r, Reason::OutOfRange { .. })
            })]),
        },
        Row {
            name: "serviceSelectors with a non-default aggregation",
            yaml: bgp_adv(
                "adv",
                "aggregationLength: 24\nserviceSelectors:\n- matchLabels: {a: b}",
            ),
            expect: Invalid(vec![("adv", "spec.aggregationLength", |r| {
                matches!(r, Reason::SelectorsWithAggregation)
            })]),
        },
        Row {
            name: "serviceSelectors with the default aggregation",
            yaml: bgp_adv(
                "adv",
                "aggregationLength: 32\nserviceSelectors:\n- matchLabels: {a: b}",
            ),
            expect: Valid(|c| {
                let a = &c.bgp_advertisements[0];
                let l = [("a".to_string(), "b".to_string())].into_iter().collect();
                a.selects_service(&l) && !a.selects_service(&Default::default())
            }),
        },
        Row {
            name: "conflicting localPref for the same pool, peers and nodes",
            yaml: pool("a", POOL4)
                + &bgp_adv("one", "ipAddressPools: [a]\nlocalPref: 100")
                + &bgp_adv("two", "ipAddressPools: [a]\nlocalPref: 200"),
            expect: Invalid(vec![(
                "two",
                "spec.localPref",
                |r| matches!(r, Reason::LocalPrefConflict { other, .. } if other == "one"),
            )]),
        },
        Row {
            name: "different localPref to different peers",
            yaml: pool("a", POOL4)
                + &peer("p", PEER)
                + &peer("q", "myASN: 64500\npeerASN: 64502\npeerAddress: 192.0.2.2")
                + &bgp_adv("one", "localPref: 100\npeers: [p]")
                + &bgp_adv("two", "localPref: 200\npeers: [q]"),
            expect: Valid(|c| {
                c.bgp_advertisements[0].selects_peer("p")
                    && !c.bgp_advertisements[0].selects_peer("q")
            }),
        },
        Row {
            name: "different localPref with different aggregation",
            yaml: pool("a", POOL4)
                + &bgp_adv("one", "localPref: 100")
                + &bgp_adv("two", "localPref: 200\naggregationLength: 24"),
            expect: Valid(any),
        },
        Row {
            name: "different localPref on disjoint nodes",
            yaml: pool("a", POOL4)
                + &node("n1", &[("rack", "1")])
                + &node("n2", &[("rack", "2")])
                + &bgp_adv(
                    "one",
                    "localPref: 100\nnodeSelectors:\n- matchLabels: {rack: \"1\"}",
                )
                + &bgp_adv(
                    "two",
                    "localPref: 200\nnodeSelectors:\n- matchLabels: {rack: \"2\"}",
                ),
            expect: Valid(any),
        },
        Row {
            name: "different localPref on a shared node",
            yaml: pool("a", POOL4)
                + &node("n1", &[("rack", "1"), ("ssd", "y")])
                + &bgp_adv(
                    "one",
                    "localPref: 100\nnodeSelectors:\n- matchLabels: {rack: \"1\"}",
                )
                + &bgp_adv(
                    "two",
                    "localPref: 200\nnodeSelectors:\n- matchLabels: {ssd: \"y\"}",
                ),
            expect: Invalid(vec![("two", "spec.localPref", |r| {
                matches!(r, Reason::LocalPrefConflict { .. })
            })]),
        },
        Row {
            name: "different localPref when one uses serviceSelectors",
            yaml: pool("a", POOL4)
                + &bgp_adv("one", "localPref: 100")
                + &bgp_adv(
                    "two",
                    "localPref: 200\nserviceSelectors:\n- matchLabels: {a: b}",
                ),
            expect: Valid(any),
        },
        Row {
            name: "duplicate pool names in an advertisement",
            yaml: pool("a", POOL4) + &bgp_adv("adv", "ipAddressPools: [a, a]"),
            expect: Invalid(vec![("adv", "spec.ipAddressPools[1]", |r| {
                matches!(r, Reason::DuplicateEntry { .. })
            })]),
        },
        Row {
            name: "duplicate peers in an advertisement",
            yaml: bgp_adv("adv", "peers: [p, p]"),
            expect: Invalid(vec![("adv", "spec.peers[1]", |r| {
                matches!(r, Reason::DuplicateEntry { .. })
            })]),
        },
        Row {
            name: "duplicate node selectors in an advertisement",
            yaml: bgp_adv(
                "adv",
                "nodeSelectors:\n- matchLabels: {a: b}\n- matchLabels: {a: b}",
            ),
            expect: Invalid(vec![("adv", "spec.nodeSelectors[1]", |r| {
                matches!(r, Reason::DuplicateSelector { .. })
            })]),
        },
        Row {
            name: "advertisement naming a pool and a peer not created yet",
            yaml: bgp_adv("adv", "ipAddressPools: [later]\npeers: [router]"),
            expect: Pending(vec![
                (
                    "adv",
                    "spec.peers[0]",
                    |m| matches!(m, Missing::Peer(p) if p == "router"),
                ),
                (
                    "adv",
                    "spec.ipAddressPools[0]",
                    |m| matches!(m, Missing::Pool(p) if p == "later"),
                ),
            ]),
        },
        Row {
            name: "BFD echo with an IPv6 pool",
            yaml: pool("a", "addresses: [\"2001:db8::/64\"]")
                + &bfd("b", "echoMode: true")
                + &peer("p", &format!("{PEER}bfdProfile: b"))
                + &bgp_adv("adv", "{}"),
            expect: Invalid(vec![("p", "spec.bfdProfile", |r| {
                matches!(r, Reason::EchoWithIpv6 { .. })
            })]),
        },
        Row {
            name: "BFD echo with IPv4 pools only",
            yaml: pool("a", POOL4)
                + &bfd("b", "echoMode: true")
                + &peer("p", &format!("{PEER}bfdProfile: b"))
                + &bgp_adv("adv", "{}"),
            expect: Valid(any),
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
