//! Shared helpers of the CCM's emulator tests: an emulator with the metallb.io CRDs, the real
//! `lodestone-ccm` binary as child processes (killed on drop), and polling.
#![allow(dead_code)]

use std::future::Future;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use lodestone_test::{Emulator, Options};

pub const NS: &str = "metallb-system";

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A unique short name for this process and call (`ls-<short>-<pid>-<n>`).
pub fn unique(short: &str) -> String {
    format!(
        "ls-{short}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// A running emulator with its kubeconfig written to a file removed on drop.
pub struct Cluster {
    pub emulator: Emulator,
    pub client: kube::Client,
    pub kubeconfig: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.kubeconfig);
    }
}

pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Starts an emulator, creates the CCM's namespace and, if `crds`, installs the metallb.io CRDs.
pub async fn cluster(crds: bool) -> TestResult<Cluster> {
    cluster_with(crds, Options::default()).await
}

/// Like [`cluster`] with IPv4 and IPv6 service CIDRs (cluster IPs are data only: no traffic).
pub async fn cluster_dual_stack(crds: bool) -> TestResult<Cluster> {
    let opts = Options {
        service_cidrs: vec!["10.96.0.0/12".parse()?, "2001:db8:96::/108".parse()?],
        ..Options::default()
    };
    cluster_with(crds, opts).await
}

async fn cluster_with(crds: bool, opts: Options) -> TestResult<Cluster> {
    let emulator = Emulator::start(opts).await?;
    let client = emulator.client().await?;
    let kubeconfig = std::env::temp_dir().join(format!("{}.kubeconfig", unique("ccm")));
    emulator.write_kubeconfig(&kubeconfig)?;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let mut ns = Namespace::default();
    ns.metadata.name = Some(NS.to_string());
    namespaces.create(&PostParams::default(), &ns).await?;
    if crds {
        let api: Api<CustomResourceDefinition> = Api::all(client.clone());
        for crd in lodestone_apis::crdgen::crds()? {
            api.create(&PostParams::default(), &crd).await?;
        }
    }
    Ok(Cluster {
        emulator,
        client,
        kubeconfig,
    })
}

/// One `lodestone-ccm run` process, killed (SIGKILL) when dropped.
pub struct Ccm {
    pub name: String,
    child: Child,
}

impl Ccm {
    /// Starts `lodestone-ccm run` against `cluster` as pod `name`.
    pub fn start(cluster: &Cluster, name: &str, extra: &[&str]) -> TestResult<Ccm> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lodestone-ccm"));
        cmd.arg("run")
            .arg("--kubeconfig")
            .arg(&cluster.kubeconfig)
            .arg("--namespace")
            .arg(NS)
            .args(extra)
            .env("POD_NAME", name)
            .env(
                "RUST_LOG",
                std::env::var("CCM_LOG").unwrap_or_else(|_| "warn".to_string()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        if !extra.contains(&"--metrics-addr") {
            cmd.arg("--metrics-addr").arg("127.0.0.1:0");
        }
        let child = cmd.spawn()?;
        Ok(Ccm {
            name: name.to_string(),
            child,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no chance to release anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait (bounded) for the exit status.
    pub fn terminate(&mut self, within: Duration) -> TestResult<ExitStatus> {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()?;
        if !status.success() {
            return Err("kill -TERM failed".into());
        }
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.child.try_wait()? {
                return Ok(s);
            }
            if Instant::now() > deadline {
                self.kill();
                return Err(
                    format!("{} did not exit within {within:?} of SIGTERM", self.name).into(),
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the process already exited (and how).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Ccm {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.kill();
        }
    }
}

/// The holder of the CCM's Lease as the API has it ("" when released or absent).
pub async fn lease_holder(client: &kube::Client) -> TestResult<String> {
    let api: Api<Lease> = Api::namespaced(client.clone(), NS);
    Ok(api
        .get_opt("lodestone-ccm")
        .await?
        .and_then(|l| l.spec)
        .and_then(|s| s.holder_identity)
        .unwrap_or_default())
}

/// Polls `f` every 50 ms until it returns `Some`, or fails after `within` (a guard against
/// hanging, not a performance assertion).
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, f: F) -> TestResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = TestResult<Option<T>>>,
{
    eventually_every(Duration::from_millis(50), within, what, f).await
}

/// [`eventually`] polling every `every`.
pub async fn eventually_every<T, F, Fut>(
    every: Duration,
    within: Duration,
    what: &str,
    mut f: F,
) -> TestResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = TestResult<Option<T>>>,
{
    let deadline = Instant::now() + within;
    let mut last_err = None;
    loop {
        match f().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last_err = Some(e.to_string()),
        }
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what} (last error: {last_err:?})").into());
        }
        tokio::time::sleep(every).await;
    }
}

/// A free loopback port (bound and released; the CCM binds it right after).
pub fn free_port() -> TestResult<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// GET `path` from a CCM's HTTP endpoint: (status code, body).
pub fn http_get(port: u16, path: &str) -> TestResult<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let code = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or("no HTTP status line")?;
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((code, body))
}

/// The value of the sample `name{labels}` (exact text before the value) in `/metrics`, 0 if
/// absent.
pub fn metric(port: u16, series: &str) -> TestResult<f64> {
    let (_, body) = http_get(port, "/metrics")?;
    Ok(body
        .lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0))
}
