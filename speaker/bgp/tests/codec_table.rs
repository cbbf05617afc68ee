//! Byte-exact codec tables: every row is decoded and, where it is a valid message, encoded
//! back to the same bytes. One row per error variant.

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net};
use lodestone_bgp::codec::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const M: &str = "ffffffffffffffffffffffffffffffff";

/// Header with a computed length: `msg("TT body")` where TT is the type in hex. Rows whose
/// length field is itself under test use `raw`.
fn msg(type_body: &str) -> Vec<u8> {
    let body = hex(type_body);
    let mut m = hex(M);
    m.extend_from_slice(&((19 + body.len() - 1) as u16).to_be_bytes());
    m.extend_from_slice(&body);
    m
}

fn raw(len_type_body: &str) -> Vec<u8> {
    hex(&format!("{M}{len_type_body}"))
}

fn v4(s: &str) -> Ipv4Net {
    s.parse().unwrap()
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn our_open() -> Open {
    Open::new(
        4_200_000_001,
        90,
        Ipv4Addr::new(192, 0, 2, 1),
        vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::Multiprotocol(Family::IPV6_UNICAST),
            Capability::RouteRefresh,
            Capability::RouteRefreshLegacy,
            Capability::FourOctetAs(4_200_000_001),
            Capability::ExtendedMessage,
            Capability::GracefulRestart {
                restart_state: false,
                notification: false,
                restart_time: 120,
                families: vec![
                    GracefulRestartFamily {
                        family: Family::IPV4_UNICAST,
                        forwarding_preserved: true,
                    },
                    GracefulRestartFamily {
                        family: Family::IPV6_UNICAST,
                        forwarding_preserved: true,
                    },
                ],
            },
        ],
    )
}

fn ebgp_attrs(next_hop: Ipv4Addr) -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(vec![AsSegment::sequence(vec![64512])]),
        next_hop: Some(next_hop),
        ..Default::default()
    }
}

/// Valid messages: decode(bytes) == message and encode(message) == bytes.
#[test]
fn valid_messages_round_trip_byte_exact() {
    let rows: Vec<(&str, Vec<u8>, Message)> = vec![
        ("keepalive", msg("04"), Message::Keepalive),
        (
            "open with every capability we send; AS_TRANS in the header",
            msg(concat!(
                "01 04 5ba0 005a c0000201 26 02 24",
                "0104 00010001 0104 00020001 0200 8000 4104 fa56ea01 0600",
                "400a 0078 00010180 00020180"
            )),
            Message::Open(our_open()),
        ),
        (
            "open with no optional parameters",
            msg("01 04 fde8 00b4 c6336401 00"),
            Message::Open(Open::new(
                65000,
                180,
                Ipv4Addr::new(198, 51, 100, 1),
                vec![],
            )),
        ),
        (
            "update ipv4 eBGP minimal, two /32",
            msg("02 0000 0014 40010100 400206020100 00fc00 400304c0000201 20c6336401 20c6336402"),
            Message::Update(Update {
                attributes: PathAttributes {
                    as_path: Some(vec![AsSegment::sequence(vec![64512])]),
                    ..ebgp_attrs(Ipv4Addr::new(192, 0, 2, 1))
                },
                nlri: vec![v4("198.51.100.1/32"), v4("198.51.100.2/32")],
                ..Default::default()
            }),
        ),
        (
            "update iBGP with MED, LOCAL_PREF, communities, large communities",
            msg(concat!(
                "02 0000 0036 40010100 400200 400304c0000201 80040400000005 40050400000064",
                "c00808fde80064fde800c8 c0200c0000fde8000000010000000218cb0071"
            )),
            Message::Update(Update {
                attributes: PathAttributes {
                    origin: Some(Origin::Igp),
                    as_path: Some(vec![]),
                    next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
                    med: Some(5),
                    local_pref: Some(100),
                    communities: vec![0xfde8_0064, 0xfde8_00c8],
                    large_communities: vec![LargeCommunity {
                        global: 65000,
                        local1: 1,
                        local2: 2,
                    }],
                    ..Default::default()
                },
                nlri: vec![v4("203.0.113.0/24")],
                ..Default::default()
            }),
        ),
        (
            "update ipv6 MP_REACH 16-byte next hop",
            msg(concat!(
                "02 0000 0036 40010100 400206020100 00fc00",
                "800e26 0002 01 10 20010db8000000000000000000000001 00 80 20010db8000000000000000000000a01"
            )),
            Message::Update(Update {
                attributes: PathAttributes {
                    origin: Some(Origin::Igp),
                    as_path: Some(vec![AsSegment::sequence(vec![64512])]),
                    mp_reach: Some(MpReach {
                        family: Family::IPV6_UNICAST,
                        next_hop: MpNextHop::V6 {
                            global: "2001:db8::1".parse().unwrap(),
                            link_local: None,
                        },
                        nlri: vec![net("2001:db8::a01/128")],
                    }),
                    ..Default::default()
                },
                ..Default::default()
            }),
        ),
        (
            "update ipv6 MP_REACH 32-byte next hop (:: + link-local, as BIRD sends)",
            msg(concat!(
                "02 0000 0046 40010100 400206020100 00fc00",
                "800e36 0002 01 20 00000000000000000000000000000000 fe800000000000000000000000000001 00",
                "80 20010db8000000000000000000000a01"
            )),
            Message::Update(Update {
                attributes: PathAttributes {
                    origin: Some(Origin::Igp),
                    as_path: Some(vec![AsSegment::sequence(vec![64512])]),
                    mp_reach: Some(MpReach {
                        family: Family::IPV6_UNICAST,
                        next_hop: MpNextHop::V6 {
                            global: Ipv6Addr::UNSPECIFIED,
                            link_local: Some("fe80::1".parse().unwrap()),
                        },
                        nlri: vec![net("2001:db8::a01/128")],
                    }),
                    ..Default::default()
                },
                ..Default::default()
            }),
        ),
        (
            "update ipv6 MP_UNREACH",
            msg("02 0000 0014 800f11 0002 01 40 20010db800000001 20 20010db8"),
            Message::Update(Update {
                attributes: PathAttributes {
                    mp_unreach: Some(MpUnreach {
                        family: Family::IPV6_UNICAST,
                        withdrawn: vec![net("2001:db8:0:1::/64"), net("2001:db8::/32")],
                    }),
                    ..Default::default()
                },
                ..Default::default()
            }),
        ),
        (
            "end-of-rib ipv4",
            msg("02 0000 0000"),
            Message::Update(Update::end_of_rib(Family::IPV4_UNICAST)),
        ),
        (
            "end-of-rib ipv6",
            msg("02 0000 0006 800f03 000201"),
            Message::Update(Update::end_of_rib(Family::IPV6_UNICAST)),
        ),
        (
            "notification cease/admin shutdown",
            msg("03 06 02"),
            Message::Notification(Notification::cease(2)),
        ),
        (
            "notification with data",
            msg("03 02 06 0002"),
            Message::Notification(Notification {
                code: 2,
                subcode: 6,
                data: vec![0, 2],
            }),
        ),
        (
            "route refresh ipv6",
            msg("05 0002 00 01"),
            Message::RouteRefresh(RouteRefresh {
                family: Family::IPV6_UNICAST,
                subtype: 0,
            }),
        ),
    ];
    for (name, bytes, want) in rows {
        assert_eq!(decode(&bytes), Ok(want.clone()), "decode {name}");
        assert_eq!(encode(&want).unwrap(), bytes, "encode {name}");
    }
    // IPv4 withdrawals.
    let bytes = msg("02 0009 20c6336401 18cb0071 0000");
    let want = Message::Update(Update {
        withdrawn: vec![v4("198.51.100.1/32"), v4("203.0.113.0/24")],
        ..Default::default()
    });
    assert_eq!(decode(&bytes), Ok(want.clone()));
    assert_eq!(encode(&want).unwrap(), bytes);
}

#[test]
fn end_of_rib_is_recognised_only_when_exact() {
    assert_eq!(
        Update::end_of_rib(Family::IPV6_UNICAST).end_of_rib_family(),
        Some(Family::IPV6_UNICAST)
    );
    assert_eq!(
        Update::end_of_rib(Family::IPV4_UNICAST).end_of_rib_family(),
        Some(Family::IPV4_UNICAST)
    );
    let mut u = Update::end_of_rib(Family::IPV6_UNICAST);
    u.attributes.origin = Some(Origin::Igp);
    assert_eq!(u.end_of_rib_family(), None);
    let w = Update {
        withdrawn: vec![v4("192.0.2.0/24")],
        ..Default::default()
    };
    assert_eq!(w.end_of_rib_family(), None);
}

/// Two-octet session: AS numbers above 65535 become AS_TRANS plus AS4_PATH, and merge back.
#[test]
fn two_octet_session_uses_as4_path() {
    let codec = Codec {
        four_octet_as: false,
        max_message_len: MAX_MESSAGE_LEN,
    };
    let u = Update {
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(vec![AsSegment::sequence(vec![4_200_000_001, 65001])]),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
            ..Default::default()
        },
        nlri: vec![v4("198.51.100.0/24")],
        ..Default::default()
    };
    let bytes = codec.encode(&Message::Update(u.clone())).unwrap();
    let want = msg(concat!(
        "02 0000 0021 40010100 4002060202 5ba0 fde9 400304c0000201",
        "c0110a0202 fa56ea01 0000fde9 18c63364"
    ));
    assert_eq!(bytes, want);
    assert_eq!(codec.decode(&bytes), Ok(Message::Update(u)));
}

/// Session-resetting errors: one row per `DecodeError` variant, with the NOTIFICATION bytes.
#[test]
fn decode_errors_map_to_notifications() {
    let long_update = {
        let mut m = hex(M);
        m.extend_from_slice(&[0x10, 0x01, 2]);
        m.resize(4097, 0);
        m
    };
    let rows: Vec<(&str, Vec<u8>, DecodeError, &str)> = vec![
        (
            "bad marker",
            hex("ffffffffffffffffffffffffffffff00 0013 04"),
            DecodeError::ConnectionNotSynchronized,
            "0101",
        ),
        (
            "keepalive too long",
            raw("0014 04 00"),
            DecodeError::BadMessageLength { length: 20 },
            "01020014",
        ),
        (
            "update over 4096 without RFC 8654",
            long_update,
            DecodeError::BadMessageLength { length: 4097 },
            "01021001",
        ),
        (
            "bad type",
            msg("09"),
            DecodeError::BadMessageType { kind: 9 },
            "010309",
        ),
        (
            "version 3",
            msg("01 03 fde8 00b4 c6336401 00"),
            DecodeError::UnsupportedVersion { version: 3 },
            "02010004",
        ),
        (
            "zero router id",
            msg("01 04 fde8 00b4 00000000 00"),
            DecodeError::BadBgpIdentifier {
                id: Ipv4Addr::UNSPECIFIED,
            },
            "0203",
        ),
        (
            "optional parameter 1 (authentication)",
            msg("01 04 fde8 00b4 c6336401 03 0101 00"),
            DecodeError::UnsupportedOptionalParameter { param: 1 },
            "0204",
        ),
        (
            "hold time 2",
            msg("01 04 fde8 0002 c6336401 00"),
            DecodeError::UnacceptableHoldTime { hold_time: 2 },
            "0206",
        ),
        (
            "capability overruns its parameter",
            msg("01 04 fde8 00b4 c6336401 04 0202 4104"),
            DecodeError::MalformedOpen {
                reason: "capability overruns",
            },
            "0200",
        ),
        (
            "withdrawn length beyond the message",
            msg("02 0010 0000"),
            DecodeError::MalformedAttributeList {
                reason: "lengths exceed the message",
            },
            "0301",
        ),
        (
            "unknown well-known attribute",
            msg("02 0000 0004 40630100"),
            DecodeError::UnrecognizedWellKnownAttribute {
                attribute: hex("40630100"),
            },
            "030240630100",
        ),
        (
            "MP_REACH with a 5-byte IPv6 next hop",
            msg("02 0000 0009 800e06 0002 01 05 0000"),
            DecodeError::MalformedMpAttribute {
                reason: "next hop length",
                attribute: hex("800e06 0002 01 05 0000"),
            },
            "0309800e0600020105 0000",
        ),
        (
            "NLRI prefix length 33",
            msg("02 0000 0004 40010100 21c6336401"),
            DecodeError::InvalidNetworkField {
                reason: "prefix length over 32",
            },
            "030a",
        ),
        (
            "route refresh body of 3 octets",
            msg("05 000100"),
            DecodeError::RouteRefreshInvalidLength {
                message: msg("05 000100"),
            },
            "",
        ),
    ];
    for (name, bytes, want, notif) in rows {
        let got = decode(&bytes);
        assert_eq!(got, Err(want.clone()), "{name}");
        let n = want.notification();
        let mut body = vec![n.code, n.subcode];
        body.extend_from_slice(&n.data);
        if let DecodeError::RouteRefreshInvalidLength { message } = &want {
            assert_eq!((n.code, n.subcode, &n.data), (7, 1, message), "{name}");
        } else {
            assert_eq!(body, hex(notif), "{name} notification");
        }
    }
}

/// RFC 7606: attribute errors that do not reset the session. One row per `UpdateError`.
#[test]
fn update_errors_treat_as_withdraw_or_discard() {
    let nlri = "18c63364";
    let rows: Vec<(&str, &str, UpdateError, ErrorAction)> = vec![
        (
            "ORIGIN with optional flag",
            "c0010100 40020602010000fc00 400304c0000201",
            UpdateError::AttributeFlags {
                type_code: 1,
                attribute: hex("c0010100"),
            },
            ErrorAction::TreatAsWithdraw,
        ),
        (
            "MED of 3 octets",
            "40010100 40020602010000fc00 400304c0000201 800403000000",
            UpdateError::AttributeLength {
                type_code: 4,
                attribute: hex("800403000000"),
            },
            ErrorAction::TreatAsWithdraw,
        ),
        (
            "ORIGIN 3",
            "40010103 40020602010000fc00 400304c0000201",
            UpdateError::InvalidOrigin {
                attribute: hex("40010103"),
            },
            ErrorAction::TreatAsWithdraw,
        ),
        (
            "NEXT_HOP 0.0.0.0",
            "40010100 40020602010000fc00 40030400000000",
            UpdateError::InvalidNextHop {
                attribute: hex("40030400000000"),
            },
            ErrorAction::TreatAsWithdraw,
        ),
        (
            "missing NEXT_HOP",
            "40010100 40020602010000fc00",
            UpdateError::MissingWellKnownAttribute { type_code: 3 },
            ErrorAction::TreatAsWithdraw,
        ),
        (
            "AS_PATH segment count overruns",
            "40010100 40020602020000fc00 400304c0000201",
            UpdateError::MalformedAsPath {
                type_code: 2,
                attribute: hex("40020602020000fc00"),
            },
            ErrorAction::TreatAsWithdraw,
        ),
    ];
    for (name, attrs, want, action) in rows {
        let a = hex(attrs);
        let bytes = msg(&format!("02 0000 {:04x} {attrs} {nlri}", a.len()));
        let Ok(Message::Update(u)) = decode(&bytes) else {
            panic!("{name}: not an update")
        };
        assert_eq!(u.treat_as_withdraw.as_ref(), Some(&want), "{name}");
        assert_eq!(want.action(), action, "{name}");
        assert_eq!(u.nlri, vec![v4("198.51.100.0/24")], "{name}");
    }
    // Attribute discard: a bad AGGREGATOR is dropped, the route stays.
    let bytes =
        msg("02 0000 001a 40010100 40020602010000fc00 400304c0000201 c00703000000 18c63364");
    let Ok(Message::Update(u)) = decode(&bytes) else {
        panic!("not an update")
    };
    assert_eq!(u.treat_as_withdraw, None);
    assert_eq!(
        u.discarded,
        vec![UpdateError::AttributeLength {
            type_code: 7,
            attribute: hex("c00703000000")
        }]
    );
    assert_eq!(u.discarded[0].action(), ErrorAction::AttributeDiscard);
    // A repeated attribute keeps the first copy (RFC 7606 §3.g).
    let bytes = msg("02 0000 0018 40010100 40010102 40020602010000fc00 400304c0000201 00");
    let Ok(Message::Update(u)) = decode(&bytes) else {
        panic!("not an update")
    };
    assert_eq!(u.attributes.origin, Some(Origin::Igp));
}

#[test]
fn unknown_capabilities_and_attributes_are_kept() {
    // FRR's hostname capability (73) and an unknown optional transitive attribute.
    let open = msg("01 04 fde8 00b4 c6336401 09 0207 4905 03 66 72 72 00");
    let Ok(Message::Open(o)) = decode(&open) else {
        panic!("not an open")
    };
    assert_eq!(
        o.capabilities,
        vec![Capability::Unknown {
            code: 73,
            value: hex("0366727200")
        }]
    );
    assert_eq!(o.families(), vec![Family::IPV4_UNICAST]);
    let upd = msg("02 0000 0005 c0630201ff");
    let Ok(Message::Update(u)) = decode(&upd) else {
        panic!("not an update")
    };
    assert_eq!(
        u.attributes.unknown,
        vec![RawAttribute {
            flags: 0xc0,
            type_code: 0x63,
            value: vec![1, 0xff]
        }]
    );
}

#[test]
fn encoder_refuses_oversized_messages_and_extended_codec_accepts_them() {
    let nlri: Vec<Ipv4Net> = (0..900u32)
        .map(|i| Ipv4Net::new(Ipv4Addr::from(0xc633_0000 + i), 32).unwrap())
        .collect();
    let u = Message::Update(Update {
        attributes: ebgp_attrs(Ipv4Addr::new(192, 0, 2, 1)),
        nlri,
        ..Default::default()
    });
    assert!(matches!(
        encode(&u),
        Err(EncodeError::TooLong { max: 4096, .. })
    ));
    let ext = Codec {
        four_octet_as: true,
        max_message_len: MAX_EXTENDED_MESSAGE_LEN,
    };
    let bytes = ext.encode(&u).unwrap();
    assert_eq!(bytes.len(), 19 + 4 + 20 + 900 * 5);
    assert!(ext.decode(&bytes) == Ok(u), "extended round trip");
}
