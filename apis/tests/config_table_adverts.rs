//! Parser table: communities and BGP advertisements (aggregation, localPref, references).

mod config_support;

use config_support::{Expect, PEER, Row, any, bfd, bgp_adv, community, node, peer, pool, run};
use lodestone_apis::config::{Community, CommunityError, Missing, Reason};

const POOL4: &str = "addresses: [192.0.2.0/24]";

fn rows() -> Vec<Row> {
    use Expect::*;
    vec![
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
fn advertisement_table() {
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
