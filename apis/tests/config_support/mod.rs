//! Shared helpers for the configuration parser tables.
#![allow(dead_code)]

use lodestone_apis::config::{Config, Missing, Pending, Reason, Resources, load_str};

/// One row: a configuration and what the parser must say about it.
pub struct Row {
    pub name: &'static str,
    pub yaml: String,
    pub expect: Expect,
}

/// (object name, field, matcher on what is missing).
pub type PendingRow = (&'static str, &'static str, fn(&Missing) -> bool);
/// (object name, field, matcher on the reason).
pub type ProblemRow = (&'static str, &'static str, fn(&Reason) -> bool);

/// Expected outcome of a row.
pub enum Expect {
    /// Valid, no pending references; the check must hold on the Config.
    Valid(fn(&Config) -> bool),
    /// Valid with exactly these pending references: (object name, field, missing matcher).
    Pending(Vec<PendingRow>),
    /// Invalid with exactly these problems, in order: (object name, field, reason matcher).
    Invalid(Vec<ProblemRow>),
}

pub fn any(_: &Config) -> bool {
    true
}

fn indent(s: &str) -> String {
    s.trim_matches('\n')
        .lines()
        .map(|l| format!("  {l}\n"))
        .collect()
}

pub fn doc(api: &str, kind: &str, name: &str, spec: &str) -> String {
    format!(
        "---\napiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\n  namespace: metallb-system\nspec:\n{}",
        indent(spec)
    )
}

pub fn pool(name: &str, spec: &str) -> String {
    doc("metallb.io/v1beta1", "IPAddressPool", name, spec)
}

pub fn peer(name: &str, spec: &str) -> String {
    doc("metallb.io/v1beta2", "BGPPeer", name, spec)
}

pub fn bgp_adv(name: &str, spec: &str) -> String {
    doc("metallb.io/v1beta1", "BGPAdvertisement", name, spec)
}

pub fn l2_adv(name: &str, spec: &str) -> String {
    doc("metallb.io/v1beta1", "L2Advertisement", name, spec)
}

pub fn bfd(name: &str, spec: &str) -> String {
    doc("metallb.io/v1beta1", "BFDProfile", name, spec)
}

pub fn community(name: &str, spec: &str) -> String {
    doc("metallb.io/v1beta1", "Community", name, spec)
}

pub fn secret(name: &str, ty: &str, data: &[(&str, &str)]) -> String {
    let mut s = format!(
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: metallb-system\ntype: {ty}\nstringData:\n"
    );
    for (k, v) in data {
        s.push_str(&format!("  {k}: {v:?}\n"));
    }
    s
}

pub fn node(name: &str, labels: &[(&str, &str)]) -> String {
    let mut s = format!("---\napiVersion: v1\nkind: Node\nmetadata:\n  name: {name}\n  labels:\n");
    for (k, v) in labels {
        s.push_str(&format!("    {k}: {v:?}\n"));
    }
    s
}

/// A minimal valid eBGP peer spec.
pub const PEER: &str = "myASN: 64500\npeerASN: 64501\npeerAddress: 192.0.2.1\n";

pub fn resources(yaml: &str) -> Resources {
    let mut r = Resources::default();
    match load_str("row", yaml, &mut r) {
        Ok(_) => r,
        Err(e) => panic!("row does not load: {e}\n{yaml}"),
    }
}

/// Runs every row; returns the failures (empty = all good).
pub fn run(rows: &[Row]) -> Vec<String> {
    let mut failures = Vec::new();
    for row in rows {
        let res = resources(&row.yaml);
        let outcome = Config::from_resources(&res);
        let fail = |msg: String| format!("row {:?}: {msg}", row.name);
        match (&row.expect, outcome) {
            (Expect::Valid(check), Ok((config, pending))) => {
                if !pending.is_empty() {
                    failures.push(fail(format!("unexpected pending {pending:?}")));
                } else if !check(&config) {
                    failures.push(fail(format!("check failed on {config:#?}")));
                }
            }
            (Expect::Pending(want), Ok((_, pending))) => {
                if let Some(m) = compare_pending(want, &pending) {
                    failures.push(fail(m));
                }
            }
            (Expect::Invalid(want), Err(e)) => {
                let ok = want.len() == e.problems.len()
                    && want.iter().zip(&e.problems).all(|((name, field, m), p)| {
                        p.object.name == *name && p.field == *field && m(&p.reason)
                    });
                if !ok {
                    let got: Vec<String> = e
                        .problems
                        .iter()
                        .map(|p| format!("{p} [{:?}]", p.reason))
                        .collect();
                    let want: Vec<String> =
                        want.iter().map(|(n, f, _)| format!("{n} {f}")).collect();
                    failures.push(fail(format!("want problems {want:?}, got {got:#?}")));
                }
            }
            (_, Ok((_, pending))) => failures.push(fail(format!(
                "expected problems, got a valid config (pending {pending:?})"
            ))),
            (_, Err(e)) => failures.push(fail(format!("expected valid, got {e}"))),
        }
    }
    failures
}

fn compare_pending(want: &[PendingRow], got: &[Pending]) -> Option<String> {
    let ok = want.len() == got.len()
        && want.iter().zip(got).all(|((name, field, m), p)| {
            p.object.name == *name && p.field == *field && m(&p.missing)
        });
    (!ok).then(|| {
        let want: Vec<String> = want.iter().map(|(n, f, _)| format!("{n} {f}")).collect();
        format!("want pending {want:?}, got {got:#?}")
    })
}
