//! Label-selector matching (the one implementation) and community parsing.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use lodestone_apis::config::{Community, CommunityError, Labels, Selector};

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn expr(key: &str, op: &str, values: &[&str]) -> LabelSelectorRequirement {
    LabelSelectorRequirement {
        key: key.into(),
        operator: op.into(),
        values: (!values.is_empty()).then(|| values.iter().map(|v| v.to_string()).collect()),
    }
}

fn selector(match_labels: &[(&str, &str)], exprs: Vec<LabelSelectorRequirement>) -> Selector {
    let sel = LabelSelector {
        match_labels: (!match_labels.is_empty()).then(|| {
            match_labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        }),
        match_expressions: (!exprs.is_empty()).then_some(exprs),
    };
    match Selector::from_label_selector(&sel) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn selector_semantics_match_kubernetes() {
    let web_a = labels(&[("app", "web"), ("zone", "a")]);
    let web = labels(&[("app", "web")]);
    let db_b = labels(&[("app", "db"), ("zone", "b")]);
    let empty = Labels::new();
    let cases: Vec<(Selector, &Labels, bool)> = vec![
        (Selector::everything(), &web_a, true),
        (Selector::everything(), &empty, true),
        (selector(&[("app", "web")], vec![]), &web_a, true),
        (selector(&[("app", "web")], vec![]), &db_b, false),
        (
            selector(&[("app", "web"), ("zone", "a")], vec![]),
            &web,
            false,
        ),
        (
            selector(&[], vec![expr("zone", "In", &["a", "b"])]),
            &db_b,
            true,
        ),
        (
            selector(&[], vec![expr("zone", "In", &["a", "b"])]),
            &web,
            false,
        ),
        // NotIn matches when the key is absent.
        (
            selector(&[], vec![expr("zone", "NotIn", &["a"])]),
            &web,
            true,
        ),
        (
            selector(&[], vec![expr("zone", "NotIn", &["a"])]),
            &web_a,
            false,
        ),
        (
            selector(&[], vec![expr("zone", "Exists", &[])]),
            &web,
            false,
        ),
        (
            selector(&[], vec![expr("zone", "DoesNotExist", &[])]),
            &web,
            true,
        ),
        (
            selector(&[], vec![expr("zone", "DoesNotExist", &[])]),
            &web_a,
            false,
        ),
        // Labels and expressions are ANDed.
        (
            selector(&[("app", "web")], vec![expr("zone", "Exists", &[])]),
            &web_a,
            true,
        ),
        (
            selector(&[("app", "web")], vec![expr("zone", "Exists", &[])]),
            &web,
            false,
        ),
    ];
    for (i, (sel, l, want)) in cases.iter().enumerate() {
        assert_eq!(sel.matches(l), *want, "case {i}: {sel} on {l:?}");
    }
    assert!(Selector::everything().is_everything());
    assert_eq!(
        selector(
            &[("app", "web")],
            vec![
                expr("zone", "In", &["b", "a"]),
                expr("x", "DoesNotExist", &[])
            ]
        )
        .to_string(),
        "app=web,!x,zone in (a,b)"
    );
}

#[test]
fn communities_parse_and_print() {
    let ok = [
        ("0:0", Community::Standard(0)),
        ("65535:65281", Community::Standard(0xFFFF_FF01)),
        ("65000:100", Community::Standard((65000 << 16) | 100)),
        (
            "large:4294967295:0:7",
            Community::Large {
                global: u32::MAX,
                local1: 0,
                local2: 7,
            },
        ),
    ];
    for (text, want) in ok {
        assert_eq!(Community::parse(text), Ok(want), "{text}");
        assert_eq!(want.to_string(), text);
    }
    let format_errors = ["", "1", "1:2:3", "large:1:2", "large:1:2:3:4", "gold"];
    for text in format_errors {
        assert!(
            matches!(Community::parse(text), Err(CommunityError::Format(_))),
            "{text}"
        );
    }
    let value_errors = [
        "65536:1",
        "1:65536",
        "-1:1",
        "a:1",
        " 1:1",
        "large:4294967296:1:1",
        "large:1::1",
        "+1:1",
    ];
    for text in value_errors {
        assert!(
            matches!(Community::parse(text), Err(CommunityError::Value { .. })),
            "{text}"
        );
    }
    assert!(Community::Standard(1).is_standard());
}
