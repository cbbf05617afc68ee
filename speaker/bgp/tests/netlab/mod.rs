//! Network-namespace lab for interop tests: namespaces, veth pairs, FRR daemons and our lab
//! speaker, each removed by a Drop guard (only processes we started are killed, by PID).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `true` when LODESTONE_NETLAB=1; then every tool must exist (a missing one fails the test).
pub fn enabled(tools: &[&str]) -> bool {
    if std::env::var("LODESTONE_NETLAB").as_deref() != Ok("1") {
        eprintln!("skipped: set LODESTONE_NETLAB=1");
        return false;
    }
    for t in tools {
        let found = if t.starts_with('/') {
            Path::new(t).exists()
        } else {
            std::env::var_os("PATH")
                .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(t).exists()))
        };
        assert!(found, "LODESTONE_NETLAB=1 but {t} is missing");
    }
    true
}

pub fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A network namespace, deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new() -> Self {
        let name = format!(
            "ls-bgp-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        run("ip", &["netns", "add", &name]);
        run("ip", &["-n", &name, "link", "set", "lo", "up"]);
        Self { name }
    }

    pub fn exec(&self, args: &[&str]) -> String {
        let mut a = vec!["netns", "exec", &self.name];
        a.extend_from_slice(args);
        run("ip", &a)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Connect two namespaces with a veth pair and give each end its addresses.
pub fn veth(a: &Netns, a_addrs: &[&str], b: &Netns, b_addrs: &[&str]) {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let (ia, ib) = (format!("lsa{n}"), format!("lsb{n}"));
    run(
        "ip",
        &[
            "link", "add", &ia, "netns", &a.name, "type", "veth", "peer", "name", &ib, "netns",
            &b.name,
        ],
    );
    for (ns, dev, addrs) in [(a, &ia, a_addrs), (b, &ib, b_addrs)] {
        for addr in addrs {
            let mut args = vec!["-n", &ns.name, "addr", "add", addr, "dev", dev];
            if addr.contains(':') {
                args.push("nodad");
            }
            run("ip", &args);
        }
        run("ip", &["-n", &ns.name, "link", "set", dev, "up"]);
    }
}

/// Poll `f` until it returns `Some`, at most `limit` (a guard against hanging, not a measurement).
pub fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// zebra + bgpd in a namespace (`-N`), killed by PID on drop.
pub struct Frr {
    ns: String,
    config: String,
    dir: PathBuf,
}

impl Frr {
    pub fn start(ns: &Netns, config: &str) -> Self {
        let dir = PathBuf::from(format!("/var/run/frr/{}", ns.name));
        std::fs::create_dir_all(&dir).expect("creating FRR run directory");
        run("chown", &["frr:frr", dir.to_str().unwrap_or_default()]);
        let f = Self {
            ns: ns.name.clone(),
            config: config.to_string(),
            dir,
        };
        f.launch();
        f
    }

    fn launch(&self) {
        for d in ["zebra", "bgpd"] {
            let bin = format!("/usr/lib/frr/{d}");
            // Debian's FRR checks that its user is in the frrvty group: run as frr.
            run(
                "ip",
                &[
                    "netns", "exec", &self.ns, &bin, "-d", "-N", &self.ns, "-u", "frr", "-g", "frr",
                ],
            );
        }
        let path = self.dir.join("lodestone-test.conf");
        std::fs::write(&path, &self.config).expect("writing FRR config");
        wait_for(
            "FRR to accept its configuration",
            Duration::from_secs(30),
            || {
                let out = Command::new("vtysh")
                    .args(["-N", &self.ns, "-f", path.to_str()?])
                    .output()
                    .ok()?;
                out.status.success().then_some(())
            },
        );
    }

    /// Kill bgpd and zebra (our PIDs, from their pid files) and start them again.
    pub fn restart(&self) {
        self.kill();
        self.launch();
    }

    fn kill(&self) {
        for d in ["bgpd", "zebra"] {
            let pidfile = self.dir.join(format!("{d}.pid"));
            if let Ok(pid) = std::fs::read_to_string(&pidfile) {
                let pid = pid.trim().to_string();
                let _ = Command::new("kill").arg(&pid).status();
                let gone = (0..40).any(|_| {
                    std::thread::sleep(Duration::from_millis(100));
                    !Path::new(&format!("/proc/{pid}")).exists()
                });
                if !gone {
                    let _ = Command::new("kill").args(["-9", &pid]).status();
                }
                let _ = std::fs::remove_file(&pidfile);
            }
        }
    }

    pub fn vtysh(&self, cmd: &str) -> String {
        let out = Command::new("vtysh")
            .args(["-N", &self.ns, "-c", cmd])
            .output()
            .expect("vtysh");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn json(&self, cmd: &str) -> serde_json::Value {
        serde_json::from_str(&self.vtysh(cmd)).unwrap_or(serde_json::Value::Null)
    }

    /// The detailed RIB entry of one prefix (`show bgp ... PREFIX json`), once it exists.
    pub fn route(&self, afi: &str, prefix: &str) -> Option<serde_json::Value> {
        let v = self.json(&format!("show bgp {afi} unicast {prefix} json"));
        let paths = v.get("paths")?.as_array()?;
        (!paths.is_empty()).then(|| paths[0].clone())
    }

    pub fn prefix_count(&self, afi: &str) -> usize {
        let v = self.json(&format!("show bgp {afi} unicast json"));
        v.get("routes")
            .and_then(|r| r.as_object())
            .map_or(0, |r| r.len())
    }

    pub fn neighbor_state(&self, peer: &str) -> String {
        let v = self.json(&format!("show bgp neighbors {peer} json"));
        v.get(peer)
            .and_then(|n| n.get("bgpState"))
            .and_then(|s| s.as_str())
            .unwrap_or("")
            .to_string()
    }
}

impl Drop for Frr {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Path of an example binary built beside this test (cargo test / nextest build examples).
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let p = dir.join("examples").join(name);
    assert!(
        p.exists(),
        "{} not built: run `cargo build -p lodestone-bgp --examples`",
        p.display()
    );
    p
}

/// A child process in a namespace with line-oriented stdin/stdout; killed on drop.
pub struct LabProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl LabProcess {
    pub fn spawn(ns: &Netns, bin: &Path, args: &[&str]) -> Self {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &ns.name])
            .arg(bin)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawning lab process");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let stdin = child.stdin.take();
        Self {
            child,
            stdin,
            lines: rx,
        }
    }

    pub fn line(&self, limit: Duration) -> String {
        self.lines.recv_timeout(limit).expect("lab process output")
    }

    pub fn expect_line(&self, want: &str) {
        let got = self.line(Duration::from_secs(60));
        assert_eq!(got, want);
    }

    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("writing to lab process");
        stdin.flush().expect("flush");
    }

    /// Send `status`, return the line for `peer`.
    pub fn status(&mut self, peer: &str) -> String {
        self.send("status");
        let mut found = String::new();
        loop {
            let l = self.line(Duration::from_secs(30));
            if l == "end" {
                return found;
            }
            if l.starts_with(&format!("{peer} ")) {
                found = l;
            }
        }
    }

    /// Close stdin and wait for a clean exit.
    pub fn finish(mut self) {
        drop(self.stdin.take());
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(st)) = self.child.try_wait() {
                assert!(st.success(), "lab process exited with {st}");
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("lab process did not exit");
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for LabProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A minimal FRR config peering with one neighbour on both unicast families.
pub fn frr_config(
    asn: u32,
    router_id: &str,
    neighbor: &str,
    neighbor_as: u32,
    extra_neighbor: &[&str],
) -> String {
    let mut c = format!(
        "frr defaults traditional\nrouter bgp {asn}\n bgp router-id {router_id}\n no bgp ebgp-requires-policy\n \
         no bgp default ipv4-unicast\n no bgp network import-check\n neighbor {neighbor} remote-as {neighbor_as}\n \
         neighbor {neighbor} timers 10 30\n neighbor {neighbor} timers connect 1\n"
    );
    for e in extra_neighbor {
        c.push_str(&format!(" neighbor {neighbor} {e}\n"));
    }
    c.push_str(&format!(
        " address-family ipv4 unicast\n  neighbor {neighbor} activate\n exit-address-family\n \
         address-family ipv6 unicast\n  neighbor {neighbor} activate\n exit-address-family\n"
    ));
    c
}

/// A foreground daemon (bird -f, gobgpd) in a namespace, killed by PID on drop.
pub struct Daemon {
    child: Child,
    pub dir: tempdir::Dir,
}

pub mod tempdir {
    use std::path::PathBuf;

    /// A scratch directory removed on drop.
    pub struct Dir(pub PathBuf);

    impl Dir {
        pub fn new(tag: &str) -> Self {
            let p = std::env::temp_dir().join(format!(
                "lodestone-bgp-{tag}-{}-{}",
                std::process::id(),
                super::SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&p).expect("scratch dir");
            Self(p)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Daemon {
    pub fn spawn(ns: &Netns, dir: tempdir::Dir, cmd: &[&str]) -> Self {
        let log = std::fs::File::create(dir.0.join("daemon.log")).expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name])
            .args(cmd)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawning daemon");
        Self { child, dir }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("daemon.log")).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// BIRD 2 with one BGP protocol `lodestone`.
pub struct Bird {
    pub daemon: Daemon,
    sock: String,
}

impl Bird {
    pub fn start(ns: &Netns, config: &str) -> Self {
        let dir = tempdir::Dir::new("bird");
        let conf = dir.0.join("bird.conf");
        let sock = dir.0.join("bird.ctl").to_string_lossy().into_owned();
        std::fs::write(&conf, config).expect("bird.conf");
        let conf = conf.to_string_lossy().into_owned();
        let daemon = Daemon::spawn(ns, dir, &["bird", "-f", "-c", &conf, "-s", &sock]);
        let b = Self { daemon, sock };
        wait_for("birdc to answer", Duration::from_secs(30), || {
            b.birdc("show status")
                .contains("Daemon is up")
                .then_some(())
        });
        b
    }

    pub fn birdc(&self, cmd: &str) -> String {
        let mut args = vec!["-s", self.sock.as_str()];
        args.extend(cmd.split_whitespace());
        Command::new("birdc")
            .args(&args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// `show route for PREFIX all` text, when the prefix is present.
    pub fn route(&self, prefix: &str) -> Option<String> {
        let out = self.birdc(&format!("show route {prefix} all"));
        out.contains(prefix).then_some(out)
    }
}

/// GoBGP with its gRPC API on 127.0.0.1:PORT inside the namespace.
pub struct GoBgp {
    pub daemon: Daemon,
    ns: String,
    port: u16,
}

impl GoBgp {
    pub fn start(ns: &Netns, config_toml: &str, api_port: u16) -> Self {
        let dir = tempdir::Dir::new("gobgp");
        let conf = dir.0.join("gobgpd.toml");
        std::fs::write(&conf, config_toml).expect("gobgpd.toml");
        let conf = conf.to_string_lossy().into_owned();
        let api = format!("127.0.0.1:{api_port}");
        let daemon = Daemon::spawn(
            ns,
            dir,
            &["gobgpd", "-f", &conf, "-t", "toml", "--api-hosts", &api],
        );
        let g = Self {
            daemon,
            ns: ns.name.clone(),
            port: api_port,
        };
        wait_for("gobgp API", Duration::from_secs(30), || {
            g.cli(&["global"]).contains("AS").then_some(())
        });
        g
    }

    pub fn cli(&self, args: &[&str]) -> String {
        let port = self.port.to_string();
        Command::new("ip")
            .args(["netns", "exec", &self.ns, "gobgp", "--port", &port])
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// The path attributes of `prefix` in the global RIB, as GoBGP's JSON.
    pub fn route(&self, family: &str, prefix: &str) -> Option<serde_json::Value> {
        let v: serde_json::Value =
            serde_json::from_str(&self.cli(&["-j", "global", "rib", "-a", family])).ok()?;
        let paths = v.get(prefix)?.as_array()?;
        paths.first().cloned()
    }
}
