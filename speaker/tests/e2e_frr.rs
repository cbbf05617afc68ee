//! End to end (LODESTONE_NETLAB=1, root): the real `lodestone-speaker` binary, configured
//! through the Kubernetes API emulator, announces a LoadBalancer IP to FRR (zebra + bgpd +
//! bfdd) over BGP with BFD.
//!
//! ```text
//!  ns node: kube emulator (127.0.0.1) ◄── speaker ── veth ── ns rtr: zebra + bgpd + bfdd
//!           kubectl (test fixtures)       192.0.2.1          192.0.2.2
//! ```
//!
//! Asserts: 203.0.113.1/32 in FRR's RIB with our next hop and the advertisement's community,
//! the BFD session Up; a 100 % lossy link (the link stays up) takes BFD Down and the route out
//! of FRR's RIB while the BGP hold time (90 s) is far from expiring; restoring the link brings
//! it back; deleting the Service withdraws it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const NODE_IP: &str = "192.0.2.1";
const RTR_IP: &str = "192.0.2.2";
const LB_IP: &str = "203.0.113.1";
const NODE_NAME: &str = "e2e-node";
const NS: &str = "metallb-system";
/// Only stops a hung test.
const LIMIT: Duration = Duration::from_secs(60);

static SEQ: AtomicU32 = AtomicU32::new(0);

fn enabled() -> bool {
    if std::env::var("LODESTONE_NETLAB").as_deref() != Ok("1") {
        eprintln!("skipped: set LODESTONE_NETLAB=1");
        return false;
    }
    for t in [
        "/usr/lib/frr/zebra",
        "/usr/lib/frr/bgpd",
        "/usr/lib/frr/bfdd",
    ] {
        assert!(
            Path::new(t).exists(),
            "LODESTONE_NETLAB=1 but {t} is missing"
        );
    }
    for t in ["ip", "kubectl", "vtysh"] {
        let found = std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(t).exists()));
        assert!(found, "LODESTONE_NETLAB=1 but {t} is missing");
    }
    true
}

fn output(cmd: &str, args: &[&str]) -> std::process::Output {
    Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"))
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = output(cmd, args);
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A network namespace, deleted on drop.
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Self {
        let name = format!(
            "ls-e2e-{}-{tag}{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        run("ip", &["netns", "add", &name]);
        run("ip", &["-n", &name, "link", "set", "lo", "up"]);
        Self(name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// A child started by the test (through `ip netns exec`, which execs it: same PID); killed on
/// drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// zebra, bfdd and bgpd in the router namespace, killed by the PIDs in their pid files.
struct Frr {
    ns: String,
    dir: PathBuf,
}

impl Frr {
    fn start(ns: &Netns, config: &str) -> Self {
        let dir = PathBuf::from(format!("/var/run/frr/{}", ns.0));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("FRR run dir: {e}"));
        let frr = Self {
            ns: ns.0.clone(),
            dir,
        };
        let d = frr.dir.to_string_lossy().into_owned();
        run("chown", &["frr:frr", &d]);
        for daemon in ["zebra", "bfdd", "bgpd"] {
            let pidfile = format!("{d}/{daemon}.pid");
            run(
                "ip",
                &[
                    "netns",
                    "exec",
                    &ns.0,
                    &format!("/usr/lib/frr/{daemon}"),
                    "-d",
                    "-N",
                    &ns.0,
                    "-u",
                    "frr",
                    "-g",
                    "frr",
                    "-i",
                    &pidfile,
                ],
            );
        }
        let conf = frr.dir.join("lodestone-e2e.conf");
        std::fs::write(&conf, config).unwrap_or_else(|e| panic!("FRR config: {e}"));
        let conf = conf.to_string_lossy().into_owned();
        wait_for("FRR to accept its configuration", || {
            output("vtysh", &["-N", &frr.ns, "-f", &conf])
                .status
                .success()
                .then_some(())
        });
        frr
    }

    fn json(&self, cmd: &str) -> Value {
        let out = output("vtysh", &["-N", &self.ns, "-c", cmd]);
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    /// FRR's best path for `prefix`, if any.
    fn route(&self, prefix: &str) -> Option<Value> {
        let v = self.json(&format!("show bgp ipv4 unicast {prefix} json"));
        v.get("paths")?.as_array()?.first().cloned()
    }

    fn bfd_status(&self, peer: &str) -> Option<String> {
        let v = self.json("show bfd peers json");
        v.as_array()?
            .iter()
            .find(|p| p["peer"].as_str() == Some(peer))
            .and_then(|p| p["status"].as_str())
            .map(str::to_string)
    }

    fn bgp_state(&self, peer: &str) -> String {
        let v = self.json(&format!("show bgp neighbors {peer} json"));
        v[peer]["bgpState"].as_str().unwrap_or("").to_string()
    }
}

impl Drop for Frr {
    fn drop(&mut self) {
        for daemon in ["bgpd", "bfdd", "zebra"] {
            let pidfile = self.dir.join(format!("{daemon}.pid"));
            let Ok(pid) = std::fs::read_to_string(&pidfile) else {
                continue;
            };
            let pid = pid.trim().to_string();
            let _ = Command::new("kill").arg(&pid).status();
            let gone = (0..30).any(|_| {
                std::thread::sleep(Duration::from_millis(100));
                !Path::new(&format!("/proc/{pid}")).exists()
            });
            if !gone {
                let _ = Command::new("kill").args(["-9", &pid]).status();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < LIMIT,
            "timed out after {LIMIT:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Everything the test started; dropped in field order (processes, then FRR, then namespaces).
struct Lab {
    speaker: Option<Proc>,
    emulator: Option<Proc>,
    frr: Option<Frr>,
    dir: tempfile::TempDir,
    node: Netns,
    rtr: Netns,
    node_if: String,
    rtr_if: String,
}

impl Lab {
    fn kubectl(&self, args: &[&str]) -> std::process::Output {
        let kc = self.dir.path().join("kubeconfig");
        let cache = self.dir.path().join("kube-cache");
        let mut a = vec![
            "netns",
            "exec",
            &self.node.0,
            "kubectl",
            "--kubeconfig",
            kc.to_str().unwrap_or_default(),
            "--cache-dir",
            cache.to_str().unwrap_or_default(),
        ];
        a.extend_from_slice(args);
        output("ip", &a)
    }

    fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn create(&self, objects: &[Value]) {
        let path = self
            .dir
            .path()
            .join(format!("objs-{}.json", SEQ.fetch_add(1, Ordering::Relaxed)));
        let list = json!({"apiVersion": "v1", "kind": "List", "items": objects});
        std::fs::write(&path, list.to_string()).unwrap_or_else(|e| panic!("fixture: {e}"));
        self.kubectl_ok(&[
            "create",
            "--validate=false",
            "-f",
            path.to_str().unwrap_or_default(),
        ]);
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    /// 100 % loss both ways with the link up: permanent neighbour entries with a MAC nobody has.
    fn lossy(&self, on: bool) {
        for (ns, dev, addr) in [
            (&self.node.0, &self.node_if, RTR_IP),
            (&self.rtr.0, &self.rtr_if, NODE_IP),
        ] {
            if on {
                run(
                    "ip",
                    &[
                        "-n",
                        ns,
                        "neigh",
                        "replace",
                        addr,
                        "lladdr",
                        "02:00:5e:00:53:01",
                        "dev",
                        dev,
                        "nud",
                        "permanent",
                    ],
                );
            } else {
                run("ip", &["-n", ns, "neigh", "del", addr, "dev", dev]);
            }
        }
    }
}

fn spawn_logged(ns: &Netns, log: &Path, bin: &Path, args: &[&str], rust_log: &str) -> Proc {
    let f = std::fs::File::create(log).unwrap_or_else(|e| panic!("log file: {e}"));
    let f2 = f.try_clone().unwrap_or_else(|e| panic!("log file: {e}"));
    let child = Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .arg(bin)
        .args(args)
        .env("RUST_LOG", rust_log)
        .stdin(Stdio::null())
        .stdout(f)
        .stderr(f2)
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {}: {e}", bin.display()));
    Proc(child)
}

fn frr_config() -> String {
    format!(
        "frr defaults traditional\n\
         bfd\n profile lab\n  transmit-interval 100\n  receive-interval 100\n  detect-multiplier 3\n !\n!\n\
         router bgp 64513\n bgp router-id {RTR_IP}\n no bgp ebgp-requires-policy\n \
         no bgp network import-check\n neighbor {NODE_IP} remote-as 64512\n \
         neighbor {NODE_IP} timers 30 90\n neighbor {NODE_IP} timers connect 1\n \
         neighbor {NODE_IP} bfd profile lab\n!\n"
    )
}

fn metallb(kind: &str, version: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": format!("metallb.io/{version}"), "kind": kind,
           "metadata": {"name": name, "namespace": NS}, "spec": spec})
}

#[test]
fn speaker_announces_to_frr_with_bfd() {
    if !enabled() {
        return;
    }
    let started = Instant::now();
    let speaker_bin = PathBuf::from(env!("CARGO_BIN_EXE_lodestone-speaker"));
    let emulator_bin = speaker_bin
        .parent()
        .map(|d| d.join("lodestone-kube-emulator"))
        .unwrap_or_default();
    assert!(
        emulator_bin.exists(),
        "{} not built: cargo build -p lodestone-test --bin lodestone-kube-emulator",
        emulator_bin.display()
    );

    let node = Netns::new("n");
    let rtr = Netns::new("r");
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let (node_if, rtr_if) = (format!("lse{n}n"), format!("lse{n}r"));
    run(
        "ip",
        &[
            "link", "add", &node_if, "netns", &node.0, "type", "veth", "peer", "name", &rtr_if,
            "netns", &rtr.0,
        ],
    );
    for (ns, dev, addr) in [(&node, &node_if, NODE_IP), (&rtr, &rtr_if, RTR_IP)] {
        run(
            "ip",
            &[
                "-n",
                &ns.0,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                dev,
            ],
        );
        run("ip", &["-n", &ns.0, "link", "set", dev, "up"]);
    }
    let mut lab = Lab {
        speaker: None,
        emulator: None,
        frr: None,
        dir: tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}")),
        node,
        rtr,
        node_if,
        rtr_if,
    };

    // The emulator on the node namespace's loopback; it writes the kubeconfig once it serves.
    let kubeconfig = lab.dir.path().join("kubeconfig");
    lab.emulator = Some(spawn_logged(
        &lab.node,
        &lab.dir.path().join("emulator.log"),
        &emulator_bin,
        &[
            "--listen",
            "127.0.0.1:0",
            "--kubeconfig",
            kubeconfig.to_str().unwrap_or_default(),
        ],
        "warn",
    ));
    lab.frr = Some(Frr::start(&lab.rtr, &frr_config()));
    wait_for("the emulator's kubeconfig", || {
        kubeconfig.exists().then_some(())
    });

    // CRDs, then namespaces, then the objects once the CRDs serve.
    let crds: Vec<Value> = lodestone_apis::crdgen::crds()
        .unwrap_or_else(|e| panic!("crds: {e}"))
        .into_iter()
        .map(|c| serde_json::to_value(c).unwrap_or(Value::Null))
        .collect();
    lab.create(&crds);
    for ns in [NS, "default"] {
        let _ = lab.kubectl(&["create", "namespace", ns]);
    }
    wait_for("metallb.io kinds to be served", || {
        lab.kubectl(&["get", "bfdprofiles.metallb.io", "-n", NS])
            .status
            .success()
            .then_some(())
    });
    lab.create(&[
        json!({"apiVersion": "v1", "kind": "Node",
               "metadata": {"name": NODE_NAME, "labels": {"kubernetes.io/hostname": NODE_NAME}},
               "status": {"addresses": [{"type": "InternalIP", "address": NODE_IP}]}}),
        metallb(
            "IPAddressPool",
            "v1beta1",
            "pool",
            json!({"addresses": ["203.0.113.0/28"]}),
        ),
        metallb(
            "BFDProfile",
            "v1beta1",
            "lab",
            json!({"receiveInterval": 100, "transmitInterval": 100, "detectMultiplier": 3}),
        ),
        metallb(
            "BGPPeer",
            "v1beta2",
            "rtr",
            json!({"myASN": 64512, "peerASN": 64513, "peerAddress": RTR_IP,
                   "holdTime": "90s", "keepaliveTime": "30s", "bfdProfile": "lab"}),
        ),
        metallb(
            "BGPAdvertisement",
            "v1beta1",
            "adv",
            json!({"ipAddressPools": ["pool"], "communities": ["64512:100"]}),
        ),
        json!({"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "web", "namespace": "default",
                            "annotations": {"metallb.io/ip-allocated-from-pool": "pool"}},
               "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Cluster",
                        "ports": [{"port": 80, "protocol": "TCP"}]}}),
        json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
               "metadata": {"name": "web-1", "namespace": "default",
                            "labels": {"kubernetes.io/service-name": "web"}},
               "addressType": "IPv4",
               "endpoints": [{"addresses": ["198.51.100.5"], "nodeName": NODE_NAME,
                              "conditions": {"ready": true, "serving": true}}],
               "ports": [{"port": 80, "protocol": "TCP"}]}),
    ]);
    let status = json!({"status": {"loadBalancer": {"ingress": [{"ip": LB_IP, "ipMode": "VIP"}]}}});
    lab.kubectl_ok(&[
        "patch",
        "service",
        "web",
        "-n",
        "default",
        "--subresource=status",
        "--type=merge",
        "-p",
        &status.to_string(),
    ]);

    let metrics = format!("127.0.0.1:{}", 17_000 + std::process::id() % 10_000);
    lab.speaker = Some(spawn_logged(
        &lab.node,
        &lab.dir.path().join("speaker.log"),
        &speaker_bin,
        &[
            "run",
            "--kubeconfig",
            kubeconfig.to_str().unwrap_or_default(),
            "--namespace",
            NS,
            "--node-name",
            NODE_NAME,
            "--metrics-addr",
            &metrics,
        ],
        "info,lodestone_speaker=debug",
    ));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scenario(&lab)));
    if let Err(e) = result {
        let _ = writeln!(
            std::io::stderr(),
            "--- speaker log ---\n{}\n--- emulator log ---\n{}",
            lab.log("speaker.log"),
            lab.log("emulator.log")
        );
        std::panic::resume_unwind(e);
    }
    eprintln!("e2e total {:?}", started.elapsed());
}

fn scenario(lab: &Lab) {
    let frr = lab
        .frr
        .as_ref()
        .unwrap_or_else(|| panic!("FRR not started"));
    let t = Instant::now();
    let prefix = format!("{LB_IP}/32");
    let route = wait_for("the Service IP in FRR's RIB", || frr.route(&prefix));
    eprintln!("route in FRR after {:?}", t.elapsed());
    assert_eq!(
        route["nexthops"][0]["ip"].as_str(),
        Some(NODE_IP),
        "{route}"
    );
    assert_eq!(route["aspath"]["string"].as_str(), Some("64512"), "{route}");
    assert_eq!(
        route["community"]["string"].as_str(),
        Some("64512:100"),
        "{route}"
    );
    wait_for("FRR's BFD session with the speaker Up", || {
        (frr.bfd_status(NODE_IP).as_deref() == Some("up")).then_some(())
    });
    let peer = frr.json(&format!("show bgp neighbors {NODE_IP} json"));
    assert_eq!(
        peer[NODE_IP]["bgpTimerHoldTimeMsecs"].as_u64(),
        Some(90_000),
        "negotiated hold time: {peer}"
    );

    // Lossy link: only BFD can take the route away before the 90 s hold time.
    lab.lossy(true);
    let cut = Instant::now();
    wait_for("FRR's BFD session Down on a lossy link", || {
        (frr.bfd_status(NODE_IP).as_deref() == Some("down")).then_some(())
    });
    wait_for("the route to leave FRR's RIB on BFD Down", || {
        frr.route(&prefix).is_none().then_some(())
    });
    let gone = cut.elapsed();
    eprintln!("route gone {gone:?} after the cut");
    assert!(
        gone < Duration::from_secs(45),
        "the route left after {gone:?}: that is the hold timer, not BFD"
    );
    assert_ne!(frr.bgp_state(NODE_IP), "Established");

    lab.lossy(false);
    let restored = Instant::now();
    let route = wait_for("the route back after the link recovered", || {
        frr.route(&prefix)
    });
    eprintln!("route back {:?} after restore", restored.elapsed());
    assert_eq!(
        route["nexthops"][0]["ip"].as_str(),
        Some(NODE_IP),
        "{route}"
    );
    wait_for("FRR's BFD session Up again", || {
        (frr.bfd_status(NODE_IP).as_deref() == Some("up")).then_some(())
    });

    lab.kubectl_ok(&["delete", "service", "web", "-n", "default"]);
    let deleted = Instant::now();
    wait_for("the route withdrawn with the Service", || {
        frr.route(&prefix).is_none().then_some(())
    });
    eprintln!("route withdrawn {:?} after delete", deleted.elapsed());
    wait_for("the BGP session still established", || {
        (frr.bgp_state(NODE_IP) == "Established").then_some(())
    });
}
