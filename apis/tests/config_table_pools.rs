//! Parser table: address pools, service allocation, selectors and L2 advertisements.

mod config_support;

use std::net::IpAddr;

use config_support::{Expect, Row, any, l2_adv, pool, run};
use lodestone_apis::config::{Config, Family, Missing, Reason, SelectorError, ServiceFacts};

fn pool_cidrs(c: &Config, name: &str) -> Vec<String> {
    c.pools
        .get(name)
        .map(|p| p.cidrs().map(|n| n.to_string()).collect())
        .unwrap_or_default()
}

fn rows() -> Vec<Row> {
    use Expect::*;
    vec![
        Row {
            name: "IPv4 CIDR",
            yaml: pool("a", "addresses: [192.0.2.0/24]"),
            expect: Valid(|c| {
                let p = &c.pools["a"];
                p.address_count(Family::V4) == 256 && p.auto_assign && !p.avoid_buggy_ips
            }),
        },
        Row {
            name: "IPv6 CIDR",
            yaml: pool("a", "addresses: [\"2001:db8::/120\"]"),
            expect: Valid(|c| c.pools["a"].address_count(Family::V6) == 256),
        },
        Row {
            name: "IPv4 range split into CIDRs",
            yaml: pool("a", "addresses: [192.0.2.10-192.0.2.20]"),
            expect: Valid(|c| {
                pool_cidrs(c, "a")
                    == ["192.0.2.10/31", "192.0.2.12/30", "192.0.2.16/30", "192.0.2.20/32"]
                    && c.pools["a"].address_count(Family::V4) == 11
            }),
        },
        Row {
            name: "IPv6 range",
            yaml: pool("a", "addresses: [\"2001:db8::1-2001:db8::4\"]"),
            expect: Valid(|c| {
                pool_cidrs(c, "a") == ["2001:db8::1/128", "2001:db8::2/127", "2001:db8::4/128"]
            }),
        },
        Row {
            name: "dual-stack pool",
            yaml: pool("a", "addresses: [198.51.100.0/30, \"2001:db8:1::-2001:db8:1::3\"]"),
            expect: Valid(|c| {
                let p = &c.pools["a"];
                p.address_count(Family::V4) == 4
                    && p.address_count(Family::V6) == 4
                    && p.families().len() == 2
            }),
        },
        Row {
            name: "host bits are masked like Go's ParseCIDR",
            yaml: pool("a", "addresses: [192.0.2.77/24]"),
            expect: Valid(|c| pool_cidrs(c, "a") == ["192.0.2.0/24"]),
        },
        Row {
            name: "autoAssign false and avoidBuggyIPs",
            yaml: pool("a", "addresses: [192.0.2.0/24]\nautoAssign: false\navoidBuggyIPs: true"),
            expect: Valid(|c| {
                let p = &c.pools["a"];
                !p.auto_assign
                    && p.usable_count(Family::V4) == 254
                    && p.is_buggy("192.0.2.255".parse::<IpAddr>().unwrap_or(IpAddr::from([0; 4])))
            }),
        },
        Row {
            name: "adjacent ranges do not overlap",
            yaml: pool("a", "addresses: [192.0.2.0-192.0.2.9]")
                + &pool("b", "addresses: [192.0.2.10-192.0.2.19]"),
            expect: Valid(|c| c.pools.len() == 2),
        },
        Row {
            name: "/33 is not a CIDR",
            yaml: pool("a", "addresses: [192.0.2.0/33]"),
            expect: Invalid(vec![("a", "spec.addresses[0]", |r| {
                matches!(r, Reason::InvalidCidr { .. })
            })]),
        },
        Row {
            name: "/129 is not an IPv6 CIDR",
            yaml: pool("a", "addresses: [\"2001:db8::/129\"]"),
            expect: Invalid(vec![("a", "spec.addresses[0]", |r| {
                matches!(r, Reason::InvalidCidr { .. })
            })]),
        },
        Row {
            name: "a bare address is not a CIDR",
            yaml: pool("a", "addresses: [192.0.2.1]"),
            expect: Invalid(vec![("a", "spec.addresses[0]", |r| {
                matches!(r, Reason::InvalidCidr { .. })
            })]),
        },
        Row {
            name: "malformed address in a CIDR",
            yaml: pool("a", "addresses: [192.0.2.300/32]"),
            expect: Invalid(vec![("a", "spec.addresses[0]", |r| {
                matches!(r, Reason::InvalidCidr { .. })
            })]),
        },
        Row {
            name: "reversed range",
            yaml: pool("a", "addresses: [192.0.2.20-192.0.2.10]"),
            expect: Invalid(vec![("a", "spec.addresses[0]", |r| {
                matches!(r, Reason::ReversedRange { .. })
            })]),
        },
        Row {
            name: "range mixing families",
            yaml: pool("a", "addresses: [\"192.0.2.1-2001:db8::1\"]"),
            expect: Invalid(vec![("a", "spec.addresses[0]", |r| {
                matches!(r, Reason::InvalidRange { .. })
            })]),
        },
        Row {
            name: "range with a malformed end",
            yaml: pool("a", "addresses: [192.0.2.1-192.0.2]"),
            expect: Invalid(vec![("a", "spec.addresses[0]", |r| {
                matches!(r, Reason::InvalidRange { .. })
            })]),
        },
        Row {
            name: "duplicate CIDR in one pool",
            yaml: pool("a", "addresses: [192.0.2.0/28, 192.0.2.0/28]"),
            expect: Invalid(vec![("a", "spec.addresses[1]", |r| {
                matches!(r, Reason::AddressOverlap { other_pool, .. } if other_pool == "a")
            })]),
        },
        Row {
            name: "nested CIDRs between pools",
            yaml: pool("a", "addresses: [192.0.2.0/24]") + &pool("b", "addresses: [192.0.2.128/25]"),
            expect: Invalid(vec![("b", "spec.addresses[0]", |r| {
                matches!(r, Reason::AddressOverlap { other_pool, other_addresses, .. }
                    if other_pool == "a" && other_addresses == "192.0.2.0/24")
            })]),
        },
        Row {
            name: "range overlapping a CIDR of another pool",
            yaml: pool("a", "addresses: [198.51.100.0/29]")
                + &pool("b", "addresses: [198.51.100.7-198.51.100.9]"),
            expect: Invalid(vec![("b", "spec.addresses[0]", |r| {
                matches!(r, Reason::AddressOverlap { .. })
            })]),
        },
        Row {
            name: "duplicate pool names",
            yaml: pool("a", "addresses: [192.0.2.0/28]") + &pool("a", "addresses: [192.0.2.16/28]"),
            expect: Invalid(vec![("a", "metadata.name", |r| {
                matches!(r, Reason::DuplicateName { .. })
            })]),
        },
        Row {
            name: "pool without addresses",
            yaml: pool("a", "addresses: []"),
            expect: Invalid(vec![("a", "spec.addresses", |r| matches!(r, Reason::NoAddresses))]),
        },
        Row {
            name: "pool without a name",
            yaml: "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  namespace: x\nspec:\n  addresses: [192.0.2.0/28]\n".to_string(),
            expect: Invalid(vec![("", "metadata.name", |r| matches!(r, Reason::MissingName))]),
        },
        Row {
            name: "serviceAllocation with priority, namespaces and selectors",
            yaml: pool(
                "a",
                "addresses: [192.0.2.0/28]\nserviceAllocation:\n  priority: 50\n  namespaces: [default, apps]\n  namespaceSelectors:\n  - matchLabels: {team: web}\n  serviceSelectors:\n  - matchExpressions:\n    - {key: tier, operator: In, values: [front, edge]}",
            ),
            expect: Valid(|c| {
                let sa = c.pools["a"].service_allocation.clone().unwrap_or_default();
                sa.priority == 50
                    && sa.namespaces.len() == 2
                    && sa.namespace_selectors.len() == 1
                    && sa.service_selectors.len() == 1
            }),
        },
        Row {
            name: "duplicate namespace in serviceAllocation",
            yaml: pool("a", "addresses: [192.0.2.0/28]\nserviceAllocation:\n  namespaces: [default, default]"),
            expect: Invalid(vec![("a", "spec.serviceAllocation.namespaces[1]", |r| {
                matches!(r, Reason::DuplicateEntry { value } if value == "default")
            })]),
        },
        Row {
            name: "duplicate serviceSelectors",
            yaml: pool(
                "a",
                "addresses: [192.0.2.0/28]\nserviceAllocation:\n  serviceSelectors:\n  - matchLabels: {a: b}\n  - matchLabels: {a: b}",
            ),
            expect: Invalid(vec![("a", "spec.serviceAllocation.serviceSelectors[1]", |r| {
                matches!(r, Reason::DuplicateSelector { .. })
            })]),
        },
        Row {
            name: "duplicate namespaceSelectors (values in another order)",
            yaml: pool(
                "a",
                "addresses: [192.0.2.0/28]\nserviceAllocation:\n  namespaceSelectors:\n  - matchExpressions: [{key: k, operator: In, values: [x, y]}]\n  - matchExpressions: [{key: k, operator: In, values: [y, x]}]",
            ),
            expect: Invalid(vec![("a", "spec.serviceAllocation.namespaceSelectors[1]", |r| {
                matches!(r, Reason::DuplicateSelector { .. })
            })]),
        },
        Row {
            name: "unknown selector operator",
            yaml: pool(
                "a",
                "addresses: [192.0.2.0/28]\nserviceAllocation:\n  serviceSelectors:\n  - matchExpressions: [{key: k, operator: Like, values: [x]}]",
            ),
            expect: Invalid(vec![("a", "spec.serviceAllocation.serviceSelectors[0]", |r| {
                matches!(r, Reason::InvalidSelector(SelectorError::UnknownOperator(_)))
            })]),
        },
        Row {
            name: "In without values",
            yaml: pool(
                "a",
                "addresses: [192.0.2.0/28]\nserviceAllocation:\n  serviceSelectors:\n  - matchExpressions: [{key: k, operator: In}]",
            ),
            expect: Invalid(vec![("a", "spec.serviceAllocation.serviceSelectors[0]", |r| {
                matches!(r, Reason::InvalidSelector(SelectorError::MissingValues { .. }))
            })]),
        },
        Row {
            name: "Exists with values",
            yaml: pool(
                "a",
                "addresses: [192.0.2.0/28]\nserviceAllocation:\n  serviceSelectors:\n  - matchExpressions: [{key: k, operator: Exists, values: [x]}]",
            ),
            expect: Invalid(vec![("a", "spec.serviceAllocation.serviceSelectors[0]", |r| {
                matches!(r, Reason::InvalidSelector(SelectorError::UnexpectedValues { .. }))
            })]),
        },
        Row {
            name: "duplicate value in a match expression",
            yaml: pool(
                "a",
                "addresses: [192.0.2.0/28]\nserviceAllocation:\n  serviceSelectors:\n  - matchExpressions: [{key: k, operator: NotIn, values: [x, x]}]",
            ),
            expect: Invalid(vec![("a", "spec.serviceAllocation.serviceSelectors[0]", |r| {
                matches!(r, Reason::InvalidSelector(SelectorError::DuplicateValue { .. }))
            })]),
        },
        Row {
            name: "duplicate match expression",
            yaml: pool(
                "a",
                "addresses: [192.0.2.0/28]\nserviceAllocation:\n  serviceSelectors:\n  - matchExpressions: [{key: k, operator: Exists}, {key: k, operator: Exists}]",
            ),
            expect: Invalid(vec![("a", "spec.serviceAllocation.serviceSelectors[0]", |r| {
                matches!(r, Reason::InvalidSelector(SelectorError::DuplicateExpression(_)))
            })]),
        },
        Row {
            name: "invalid label key",
            yaml: pool(
                "a",
                "addresses: [192.0.2.0/28]\nserviceAllocation:\n  serviceSelectors:\n  - matchLabels: {\"bad key\": x}",
            ),
            expect: Invalid(vec![("a", "spec.serviceAllocation.serviceSelectors[0]", |r| {
                matches!(r, Reason::InvalidSelector(SelectorError::InvalidKey(_)))
            })]),
        },
        Row {
            name: "several problems in one pool are all reported",
            yaml: pool("a", "addresses: [192.0.2.0/33, 10.0.0.9-10.0.0.1]"),
            expect: Invalid(vec![
                ("a", "spec.addresses[0]", |r| matches!(r, Reason::InvalidCidr { .. })),
                ("a", "spec.addresses[1]", |r| matches!(r, Reason::ReversedRange { .. })),
            ]),
        },
        // L2 advertisements.
        Row {
            name: "L2 advertisement with interfaces and selectors",
            yaml: pool("a", "addresses: [192.0.2.0/28]")
                + &l2_adv(
                    "l2",
                    "ipAddressPools: [a]\ninterfaces: [eth0, ens192]\nnodeSelectors:\n- matchLabels: {zone: a}\nserviceSelectors:\n- matchLabels: {app: web}",
                ),
            expect: Valid(|c| {
                let l2 = &c.l2_advertisements[0];
                l2.pools == ["a"]
                    && l2.selects_interface("eth0")
                    && !l2.selects_interface("eth1")
                    && c.l2_advertisements_for("a").count() == 1
            }),
        },
        Row {
            name: "L2 advertisement without pools applies to every pool",
            yaml: pool("a", "addresses: [192.0.2.0/28]")
                + &pool("b", "addresses: [192.0.2.16/28]")
                + &l2_adv("l2", "{}"),
            expect: Valid(|c| c.l2_advertisements[0].pools == ["a", "b"]),
        },
        Row {
            name: "L2 advertisement selecting pools by label",
            yaml: "---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: a\n  labels: {tier: gold}\nspec:\n  addresses: [192.0.2.0/28]\n".to_string()
                + &pool("b", "addresses: [192.0.2.16/28]")
                + &l2_adv("l2", "ipAddressPoolSelectors:\n- matchLabels: {tier: gold}"),
            expect: Valid(|c| c.l2_advertisements[0].pools == ["a"]),
        },
        Row {
            name: "L2 preferred nodes add up weights",
            yaml: pool("a", "addresses: [192.0.2.0/28]")
                + &l2_adv(
                    "l2",
                    "preferredNodeSelectors:\n- weight: 10\n  preference: {matchLabels: {rack: r1}}\n- weight: 5\n  preference: {matchLabels: {ssd: \"true\"}}",
                ),
            expect: Valid(|c| {
                let labels = [("rack", "r1"), ("ssd", "true")]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                c.l2_advertisements[0].preference(&labels) == 15
            }),
        },
        Row {
            name: "L2 preferred node weight out of range",
            yaml: l2_adv("l2", "preferredNodeSelectors:\n- weight: 0\n  preference: {matchLabels: {rack: r1}}"),
            expect: Invalid(vec![("l2", "spec.preferredNodeSelectors[0].weight", |r| {
                matches!(r, Reason::OutOfRange { min: 1, max: 100, .. })
            })]),
        },
        Row {
            name: "L2 duplicate pool names",
            yaml: pool("a", "addresses: [192.0.2.0/28]") + &l2_adv("l2", "ipAddressPools: [a, a]"),
            expect: Invalid(vec![("l2", "spec.ipAddressPools[1]", |r| {
                matches!(r, Reason::DuplicateEntry { .. })
            })]),
        },
        Row {
            name: "L2 duplicate node selectors",
            yaml: l2_adv("l2", "nodeSelectors:\n- matchLabels: {a: b}\n- matchLabels: {a: b}"),
            expect: Invalid(vec![("l2", "spec.nodeSelectors[1]", |r| {
                matches!(r, Reason::DuplicateSelector { .. })
            })]),
        },
        Row {
            name: "L2 duplicate service selectors",
            yaml: l2_adv("l2", "serviceSelectors:\n- matchLabels: {a: b}\n- matchLabels: {a: b}"),
            expect: Invalid(vec![("l2", "spec.serviceSelectors[1]", |r| {
                matches!(r, Reason::DuplicateSelector { .. })
            })]),
        },
        Row {
            name: "L2 duplicate names",
            yaml: l2_adv("l2", "{}") + &l2_adv("l2", "{}"),
            expect: Invalid(vec![("l2", "metadata.name", |r| {
                matches!(r, Reason::DuplicateName { .. })
            })]),
        },
        Row {
            name: "L2 reference to a pool not created yet",
            yaml: l2_adv("l2", "ipAddressPools: [later]"),
            expect: Pending(vec![("l2", "spec.ipAddressPools[0]", |m| {
                matches!(m, Missing::Pool(p) if p == "later")
            })]),
        },
        Row {
            name: "empty configuration",
            yaml: String::new(),
            expect: Valid(any),
        },
    ]
}

#[test]
fn pool_and_l2_table() {
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

fn labels(pairs: &[(&str, &str)]) -> lodestone_apis::config::Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn service_allocation_admits_like_metallb() {
    let yaml = pool(
        "a",
        "addresses: [192.0.2.0/28]\nserviceAllocation:\n  priority: 5\n  namespaces: [default]\n  namespaceSelectors:\n  - matchLabels: {team: web}\n  serviceSelectors:\n  - matchLabels: {class: internal}",
    ) + &pool("b", "addresses: [192.0.2.16/28]\nautoAssign: false");
    let (config, _) = match Config::from_resources(&config_support::resources(&yaml)) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let a = &config.pools["a"];
    let none = labels(&[]);
    let internal = labels(&[("class", "internal")]);
    let web_ns = labels(&[("team", "web")]);
    let svc = |namespace, namespace_labels, labels| ServiceFacts {
        namespace,
        namespace_labels,
        labels,
    };
    assert_eq!(a.admits(svc("default", &none, &internal)), Ok(()));
    assert_eq!(a.admits(svc("shop", &web_ns, &internal)), Ok(()));
    assert!(matches!(
        a.admits(svc("shop", &none, &internal)),
        Err(lodestone_apis::config::PoolRefusal::Namespace { .. })
    ));
    assert!(matches!(
        a.admits(svc("default", &none, &none)),
        Err(lodestone_apis::config::PoolRefusal::ServiceLabels { .. })
    ));
    assert_eq!(a.priority(), 5);
    let b = &config.pools["b"];
    assert_eq!(b.admits(svc("x", &none, &none)), Ok(()));
    assert!(matches!(
        b.admits_automatic(svc("x", &none, &none)),
        Err(lodestone_apis::config::PoolRefusal::NotAutoAssign { .. })
    ));
    assert_eq!(
        config
            .pool_for_ip("192.0.2.20".parse().unwrap_or(IpAddr::from([0; 4])))
            .map(|p| p.name.as_str()),
        Some("b")
    );
}
