//! Network-namespace lab for the interop tests: two namespaces joined by a veth pair, FRR and
//! BIRD started inside one of them, everything removed on drop (even when the test panics).
//! Runs only with LODESTONE_NETLAB=1 (and then requires root, iproute2, FRR and BIRD).

#![allow(dead_code)]

use std::fs::File;
use std::future::Future;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, setns};

/// Whether the netlab tests should run (says why not); panics when enabled but a tool is missing.
pub fn enabled() -> bool {
    if std::env::var("LODESTONE_NETLAB").as_deref() != Ok("1") {
        eprintln!("skipped: set LODESTONE_NETLAB=1");
        return false;
    }
    for tool in ["ip", "vtysh", "bird", "birdc", "sysctl"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        assert!(found, "LODESTONE_NETLAB=1 but `{tool}` is missing");
    }
    for daemon in ["/usr/lib/frr/zebra", "/usr/lib/frr/bfdd"] {
        assert!(
            std::path::Path::new(daemon).exists(),
            "LODESTONE_NETLAB=1 but {daemon} is missing"
        );
    }
    true
}

/// Run a command, panic with its output if it fails.
pub fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("running {args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Run a command, return stdout if it succeeded.
pub fn try_sh(args: &[&str]) -> Option<String> {
    let out = Command::new(args[0]).args(&args[1..]).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// Two namespaces: `ours` (192.0.2.1, 2001:db8::1 on `if_ours`) and `peer` (192.0.2.2,
/// 2001:db8::2 on `if_peer`).
pub struct Lab {
    pub ours: String,
    pub peer: String,
    pub if_ours: String,
    pub if_peer: String,
    pids: Vec<PathBuf>,
    frr_dir: Option<PathBuf>,
    dir: PathBuf,
}

pub const OURS: &str = "192.0.2.1";
pub const PEER: &str = "192.0.2.2";
pub const OURS6: &str = "2001:db8::1";
pub const PEER6: &str = "2001:db8::2";

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

impl Lab {
    pub fn new(tag: &str) -> Lab {
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        let ours = format!("ls-{tag}-{pid}-{n}-a");
        let peer = format!("ls-{tag}-{pid}-{n}-b");
        // Interface names are limited to 15 characters.
        let short = format!("{:x}{n}", pid);
        let if_ours = format!("lsba{short}");
        let if_peer = format!("lsbb{short}");
        let dir = std::env::temp_dir().join(format!("ls-{tag}-{pid}-{n}"));
        let _ = std::fs::create_dir_all(&dir);
        let lab = Lab {
            ours,
            peer,
            if_ours,
            if_peer,
            pids: Vec::new(),
            frr_dir: None,
            dir,
        };
        sh(&["ip", "netns", "add", &lab.ours]);
        sh(&["ip", "netns", "add", &lab.peer]);
        sh(&[
            "ip",
            "link",
            "add",
            &lab.if_ours,
            "netns",
            &lab.ours,
            "type",
            "veth",
            "peer",
            "name",
            &lab.if_peer,
            "netns",
            &lab.peer,
        ]);
        for (ns, ifname, v4, v6) in [
            (&lab.ours, &lab.if_ours, OURS, OURS6),
            (&lab.peer, &lab.if_peer, PEER, PEER6),
        ] {
            sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
            sh(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{v4}/24"),
                "dev",
                ifname,
            ]);
            sh(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{v6}/64"),
                "dev",
                ifname,
                "nodad",
            ]);
            sh(&["ip", "-n", ns, "link", "set", ifname, "up"]);
        }
        lab
    }

    pub fn file(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, contents).unwrap_or_else(|e| panic!("writing {p:?}: {e}"));
        p
    }

    /// zebra + bfdd in the peer namespace, then `conf` loaded with vtysh.
    pub fn start_frr(&mut self, conf: &str) {
        let run = PathBuf::from(format!("/var/run/frr/{}", self.peer));
        let _ = std::fs::create_dir_all(&run);
        sh(&["chown", "frr:frr", &run.to_string_lossy()]);
        self.frr_dir = Some(run.clone());
        for daemon in ["zebra", "bfdd"] {
            let pidfile = run.join(format!("{daemon}.pid"));
            sh(&[
                "ip",
                "netns",
                "exec",
                &self.peer,
                &format!("/usr/lib/frr/{daemon}"),
                "-d",
                "-N",
                &self.peer,
                "-i",
                &pidfile.to_string_lossy(),
            ]);
            self.pids.push(pidfile);
        }
        let ready = wait_until(Duration::from_secs(30), || {
            try_sh(&["vtysh", "-N", &self.peer, "-c", "show bfd peers json"]).is_some()
        });
        assert!(ready, "bfdd did not answer vtysh within 30 s");
        let path = self.file("frr.conf", conf);
        sh(&["vtysh", "-N", &self.peer, "-f", &path.to_string_lossy()]);
    }

    pub fn vtysh(&self, cmd: &str) -> String {
        sh(&["vtysh", "-N", &self.peer, "-c", cmd])
    }

    /// FRR's view of its BFD peers.
    pub fn frr_peers(&self) -> serde_json::Value {
        let out = self.vtysh("show bfd peers json");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("bad JSON from vtysh ({e}): {out}"))
    }

    /// FRR's status string for the peer at `addr` ("up", "down", "init", …).
    pub fn frr_status(&self, addr: &str) -> Option<String> {
        let peers = self.frr_peers();
        peers.as_array()?.iter().find_map(|p| {
            (p["peer"] == addr).then(|| p["status"].as_str().unwrap_or("").to_string())
        })
    }

    pub fn bird_socket(&self) -> PathBuf {
        self.dir.join("bird.ctl")
    }

    pub fn start_bird(&mut self, conf: &str) {
        let path = self.file("bird.conf", conf);
        let pidfile = self.dir.join("bird.pid");
        sh(&[
            "ip",
            "netns",
            "exec",
            &self.peer,
            "bird",
            "-c",
            &path.to_string_lossy(),
            "-s",
            &self.bird_socket().to_string_lossy(),
            "-P",
            &pidfile.to_string_lossy(),
        ]);
        self.pids.push(pidfile);
    }

    pub fn birdc(&self, cmd: &str) -> String {
        let sock = self.bird_socket();
        let mut args = vec!["birdc", "-s"];
        let s = sock.to_string_lossy().into_owned();
        args.push(&s);
        args.extend(cmd.split(' '));
        sh(&args)
    }

    /// (state, interval s, timeout s) of BIRD's session with `addr`.
    pub fn bird_session(&self, addr: &str) -> Option<(String, String, String)> {
        let out = self.birdc("show bfd sessions");
        out.lines().find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.first() == Some(&addr) && f.len() >= 6)
                .then(|| (f[2].to_string(), f[4].to_string(), f[5].to_string()))
        })
    }

    /// 100 % loss in both directions, or back to normal. The lab kernel has no netem (nor tc
    /// classifiers), and blackhole routes do not stop a sender bound to its device (BIRD), so each
    /// end gets a permanent neighbour entry for the other with a MAC nobody has: frames leave but
    /// the far veth drops them as not addressed to it. No daemon is told anything (unlike link
    /// down). Restoring deletes the entries; ARP/ND resolve again.
    pub fn cut(&self, on: bool) {
        for (ns, ifname, v4, v6) in [
            (&self.ours, &self.if_ours, PEER, PEER6),
            (&self.peer, &self.if_peer, OURS, OURS6),
        ] {
            for addr in [v4, v6] {
                if on {
                    sh(&[
                        "ip",
                        "-n",
                        ns,
                        "neigh",
                        "replace",
                        addr,
                        "lladdr",
                        "02:00:5e:00:53:01",
                        "dev",
                        ifname,
                        "nud",
                        "permanent",
                    ]);
                } else {
                    sh(&["ip", "-n", ns, "neigh", "del", addr, "dev", ifname]);
                }
            }
        }
    }

    /// Link down/up on our end (the peer's veth loses carrier too).
    pub fn link(&self, up: bool) {
        sh(&[
            "ip",
            "-n",
            &self.ours,
            "link",
            "set",
            &self.if_ours,
            if up { "up" } else { "down" },
        ]);
    }

    pub fn sysctl(&self, ns: &str, key: &str, value: &str) {
        sh(&[
            "ip",
            "netns",
            "exec",
            ns,
            "sysctl",
            "-qw",
            &format!("{key}={value}"),
        ]);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for pidfile in &self.pids {
            if let Ok(pid) = std::fs::read_to_string(pidfile) {
                let pid = pid.trim();
                if !pid.is_empty() && pid.chars().all(|c| c.is_ascii_digit()) {
                    let _ = Command::new("kill").arg(pid).status();
                }
            }
        }
        std::thread::sleep(Duration::from_millis(200));
        for ns in [&self.ours, &self.peer] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        if let Some(d) = &self.frr_dir {
            let _ = std::fs::remove_dir_all(d);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Poll `f` every 50 ms until it holds or `limit` passes (only a guard against hanging).
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

/// Run `f` on a fresh thread that has entered network namespace `ns`, with a current-thread
/// tokio runtime; sockets it opens live in that namespace.
pub fn in_netns<T: Send + 'static, Fut: Future<Output = T>>(
    ns: &str,
    f: impl FnOnce() -> Fut + Send + 'static,
) -> T {
    let path = format!("/var/run/netns/{ns}");
    let handle = std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|e| panic!("setns {path}: {e}"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        rt.block_on(f())
    });
    match handle.join() {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// A plain std UDP socket opened inside namespace `ns`.
pub fn udp_in_netns(ns: &str, bind: std::net::SocketAddr) -> std::net::UdpSocket {
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|e| panic!("setns {path}: {e}"));
        std::net::UdpSocket::bind(bind).unwrap_or_else(|e| panic!("bind {bind}: {e}"))
    })
    .join()
    .unwrap_or_else(|p| std::panic::resume_unwind(p))
}

/// Our BFD driver running on its own thread (and runtime) inside a namespace, so that the test
/// thread can block on vtysh/birdc without delaying our transmissions. The handle's channels work
/// from any runtime.
pub struct NsDriver {
    pub bfd: Option<lodestone_bfd::driver::Bfd>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl NsDriver {
    pub fn start(ns: &str, config: lodestone_bfd::driver::DriverConfig) -> NsDriver {
        let path = format!("/var/run/netns/{ns}");
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let file = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|e| panic!("setns {path}: {e}"));
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("runtime: {e}"));
            rt.block_on(async move {
                let bfd = lodestone_bfd::driver::Bfd::spawn(config).await;
                let _ = tx.send(bfd);
                let _ = stop_rx.await;
            });
        });
        let bfd = rx
            .recv()
            .unwrap_or_else(|e| panic!("driver thread died: {e}"))
            .unwrap_or_else(|e| panic!("driver: {e}"));
        NsDriver {
            bfd: Some(bfd),
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    pub fn bfd(&self) -> &lodestone_bfd::driver::Bfd {
        self.bfd
            .as_ref()
            .unwrap_or_else(|| panic!("driver stopped"))
    }
}

impl Drop for NsDriver {
    fn drop(&mut self) {
        drop(self.bfd.take());
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A small runtime for the test thread's own async calls.
pub fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"))
        .block_on(f)
}

impl Lab {
    /// The (non-tentative) IPv6 link-local address of our (`ours`) or the peer's veth end.
    pub fn link_local(&self, ours: bool) -> String {
        let (ns, ifname) = if ours {
            (&self.ours, &self.if_ours)
        } else {
            (&self.peer, &self.if_peer)
        };
        let mut found = None;
        let ok = wait_until(Duration::from_secs(10), || {
            let out = sh(&[
                "ip", "-n", ns, "-6", "-o", "addr", "show", "dev", ifname, "scope", "link",
            ]);
            found = out
                .lines()
                .filter(|l| !l.contains("tentative"))
                .find_map(|l| l.split_whitespace().skip_while(|w| *w != "inet6").nth(1))
                .and_then(|a| a.split('/').next())
                .map(str::to_string);
            found.is_some()
        });
        assert!(ok, "no link-local address on {ifname} in {ns}");
        found.unwrap_or_default()
    }
}
