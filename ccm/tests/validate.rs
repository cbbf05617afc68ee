//! `lodestone-ccm validate`: exit codes and output of the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn seed() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../apis/testdata/seed")
}

fn run(args: &[&str]) -> Output {
    match Command::new(env!("CARGO_BIN_EXE_lodestone-ccm"))
        .args(args)
        .output()
    {
        Ok(o) => o,
        Err(e) => panic!("cannot run lodestone-ccm: {e}"),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A scratch directory unique to this test process and name, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("ls-validate-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("cannot create {}: {e}", dir.display());
        }
        Scratch(dir)
    }

    fn file(&self, name: &str, content: &str) -> String {
        let p = self.0.join(name);
        if let Err(e) = std::fs::write(&p, content) {
            panic!("cannot write {}: {e}", p.display());
        }
        p.display().to_string()
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn each_seed_block_is_valid() {
    let secrets = seed().join("00-secrets.yaml").display().to_string();
    for block in [
        "01-layer2-pool.yaml",
        "02-bgp-pool.yaml",
        "03-advanced-bgp.yaml",
        "04-multi-zone.yaml",
        "05-loadbalancer-classes.yaml",
    ] {
        let path = seed().join(block).display().to_string();
        let out = run(&["validate", "-f", &path, "-f", &secrets]);
        let stdout = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{block}: {stdout}{}",
            text(&out.stderr)
        );
        assert_eq!(
            stdout.lines().count(),
            1,
            "{block}: one summary line: {stdout}"
        );
        assert!(stdout.starts_with("valid: "), "{stdout}");
    }
}

#[test]
fn summary_counts_addresses_per_family() {
    let path = seed().join("04-multi-zone.yaml").display().to_string();
    let out = run(&["validate", "-f", &path]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout).trim_end(),
        "valid: 2 pools (zone-a-pool 21 IPv4 + 0 IPv6, zone-b-pool 21 IPv4 + 0 IPv6), 0 BGP peers, \
         0 BGP advertisements, 1 L2 advertisement, 0 BFD profiles, 0 community aliases"
    );
}

#[test]
fn cross_block_references_are_warnings() {
    let path = seed().join("02-bgp-pool.yaml").display().to_string();
    let out = run(&["validate", "-f", &path]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("pending: BGPPeer metallb-system/router-1 spec.bfdProfile"),
        "{stderr}"
    );
    assert!(
        stderr.contains("pending: BGPPeer metallb-system/router-1 spec.passwordSecret"),
        "{stderr}"
    );
    assert!(text(&out.stdout).contains("2 pending references"));
}

#[test]
fn all_blocks_at_once_report_the_overlaps() {
    let dir = seed().display().to_string();
    let out = run(&["validate", "-f", &dir]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{stdout}");
    for l in &lines {
        assert!(l.starts_with("IPAddressPool metallb-system/"), "{l}");
        assert!(
            l.contains(" spec.addresses[0]: ") && l.contains(" overlaps "),
            "{l}"
        );
    }
    assert!(stdout.contains(
        "IPAddressPool metallb-system/internal-pool spec.addresses[0]: 10.0.3.100-10.0.3.130 overlaps 10.0.3.130-10.0.3.150 of pool \"zone-b-pool\""
    ));
}

#[test]
fn invalid_configuration_exits_1_with_one_line_per_problem() {
    let s = Scratch::new("invalid");
    let f = s.file(
        "bad.yaml",
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: a, namespace: m}\nspec:\n  addresses: [192.0.2.0/33, 192.0.2.9-192.0.2.1]\n---\napiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: p, namespace: m}\nspec: {myASN: 1, peerASN: 2, peerAddress: 192.0.2.1, holdTime: 2s}\n",
    );
    let out = run(&["validate", "-f", &f]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].starts_with("IPAddressPool m/a spec.addresses[0]: "));
    assert!(lines[1].starts_with("IPAddressPool m/a spec.addresses[1]: range"));
    assert_eq!(
        lines[2],
        "BGPPeer m/p spec.holdTime: hold time 2s must be 0 or at least 3s"
    );
}

#[test]
fn unreadable_input_exits_2() {
    let s = Scratch::new("unreadable");
    let cases = [
        ("yaml", s.file("a.yaml", "kind: [\n")),
        (
            "apiVersion",
            s.file("b.yaml", "apiVersion: metallb.io/v1alpha1\nkind: IPAddressPool\nmetadata: {name: a}\n"),
        ),
        (
            "types",
            s.file("c.yaml", "apiVersion: metallb.io/v1beta1\nkind: BFDProfile\nmetadata: {name: a}\nspec: {detectMultiplier: three}\n"),
        ),
        ("missing file", s.path().join("nope.yaml").display().to_string()),
    ];
    for (name, path) in cases {
        let out = run(&["validate", "-f", &path]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = text(&out.stderr);
        assert!(stderr.starts_with("error: "), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
}

#[test]
fn bad_usage_exits_2() {
    for args in [
        &["validate"][..],
        &["validate", "-f"],
        &["validate", "--bogus"],
        &["frobnicate"],
        &[],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains("usage: lodestone-ccm"),
            "{args:?}"
        );
    }
}

#[test]
fn unknown_fields_warn_and_directories_skip_other_files() {
    let s = Scratch::new("dir");
    s.file(
        "pool.yml",
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: a, namespace: m}\nspec: {addresses: [\"2001:db8::/126\"], autoAsign: true}\n",
    );
    s.file("notes.txt", "this is not YAML: [\n");
    s.file(
        "peer.json",
        r#"{"apiVersion":"metallb.io/v1beta2","kind":"BGPPeer","metadata":{"name":"p","namespace":"m"},"spec":{"myASN":1,"peerASN":2,"peerAddress":"2001:db8::1"}}"#,
    );
    let out = run(&["validate", "-f", &s.path().display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("unknown field \"spec.autoAsign\""));
    assert!(text(&out.stdout).starts_with("valid: 1 pool (a 0 IPv4 + 4 IPv6), 1 BGP peer,"));
}
