//! A lab "node" for the network-namespace tests and the benchmark: the real election core and
//! the real driver, with Leases kept as files in a shared directory instead of the Kubernetes
//! API (the speaker wires the API; this wires a directory so the layer-2 behaviour can be
//! tested without one).
//!
//! ```text
//! l2-lab-node --node n1 --lease-dir DIR --addresses 192.0.2.100,2001:db8::100 \
//!             --candidates n1,n2,n3 [--interfaces eth0] [--lease-ms 4000 --renew-ms 1000
//!             --margin-ms 1000 --handover-ms 1000] [--announce-ms 5000 --announce-interval-ms 1100]
//!             [--poll-ms 20]
//! ```
//! - `DIR/NODE` is NODE's Lease: `holder renew_nanos duration_ms` (holder `-` = released),
//!   read by the others every `--poll-ms` (standing in for the API watch).
//! - `DIR/excluded` lists nodes to drop from the candidates (the exclusion label).
//! - Every ownership change is logged to stdout as
//!   `owned t_before_us=.. t_after_us=.. node=.. addrs=..` (wall clock µs around `set_owned`);
//!   `DIR/NODE.status` holds the interface MACs and counters.
//! - SIGTERM: stop answering, write a released Lease, exit. SIGKILL: the Lease just stops.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use lodestone_l2::driver::{self, AnnounceConfig, DriverConfig, InterfaceSelection, L2Handle};
use lodestone_l2::election::{Candidate, Election, ElectionParams, LeaseRecord};

struct Args {
    node: String,
    lease_dir: PathBuf,
    addresses: Vec<IpAddr>,
    candidates: Vec<String>,
    interfaces: Option<BTreeSet<String>>,
    params: ElectionParams,
    announce: AnnounceConfig,
    poll: Duration,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut kv = BTreeMap::new();
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let Some(name) = k.strip_prefix("--") else {
            bail!("unexpected argument {k}");
        };
        let v = it
            .next()
            .with_context(|| format!("--{name} needs a value"))?;
        kv.insert(name.to_owned(), v);
    }
    let get = |k: &str| {
        kv.get(k)
            .cloned()
            .with_context(|| format!("--{k} is required"))
    };
    let ms = |k: &str, d: u64| -> anyhow::Result<Duration> {
        Ok(Duration::from_millis(match kv.get(k) {
            Some(v) => v.parse().with_context(|| format!("--{k}"))?,
            None => d,
        }))
    };
    let list = |v: String| -> Vec<String> {
        v.split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let defaults = ElectionParams::default();
    Ok(Args {
        node: get("node")?,
        lease_dir: get("lease-dir")?.into(),
        addresses: list(get("addresses")?)
            .iter()
            .map(|a| a.parse().with_context(|| format!("address {a}")))
            .collect::<anyhow::Result<_>>()?,
        candidates: list(get("candidates")?),
        interfaces: kv
            .get("interfaces")
            .map(|v| list(v.clone()).into_iter().collect()),
        params: ElectionParams {
            lease_duration: ms("lease-ms", defaults.lease_duration.as_millis() as u64)?,
            renew_period: ms("renew-ms", defaults.renew_period.as_millis() as u64)?,
            fencing_margin: ms("margin-ms", defaults.fencing_margin.as_millis() as u64)?,
            handover_delay: ms("handover-ms", defaults.handover_delay.as_millis() as u64)?,
        },
        announce: AnnounceConfig {
            duration: ms("announce-ms", 5000)?,
            interval: ms("announce-interval-ms", 1100)?,
        },
        poll: ms("poll-ms", 20)?,
    })
}

fn wall_us() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0)
}

fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, path)
}

fn read_lease(path: &Path) -> Option<LeaseRecord> {
    let text = std::fs::read_to_string(path).ok()?;
    let f: Vec<&str> = text.split_whitespace().collect();
    let [holder, renew, duration] = f.as_slice() else {
        return None;
    };
    Some(LeaseRecord {
        holder: (*holder != "-").then(|| (*holder).to_owned()),
        renew_time: renew
            .parse::<u64>()
            .ok()
            .map(|n| UNIX_EPOCH + Duration::from_nanos(n)),
        acquire_time: None,
        lease_duration: Duration::from_millis(duration.parse().ok()?),
    })
}

/// Lease writes so far and since when, for the API write-rate figure.
struct WriteRate {
    writes: u64,
    since: Instant,
}

fn write_status(path: &Path, handle: &L2Handle, rate: &WriteRate) {
    let mut s = format!(
        "lease_writes {} uptime_ms {}\n",
        rate.writes,
        rate.since.elapsed().as_millis()
    );
    for l in handle.links() {
        s.push_str(&format!(
            "link {} {} arp={} ndp={}\n",
            l.name, l.mac, l.arp, l.ndp
        ));
    }
    let c = handle.counters();
    for (ip, n) in &c.requests_received {
        s.push_str(&format!("requests_received {ip} {n}\n"));
    }
    for (ip, n) in &c.responses_sent {
        s.push_str(&format!("responses_sent {ip} {n}\n"));
    }
    for (ip, n) in &c.gratuitous_sent {
        s.push_str(&format!("gratuitous_sent {ip} {n}\n"));
    }
    for ((iface, reason), n) in &c.drops {
        s.push_str(&format!("drop {iface} {reason} {n}\n"));
    }
    // Best effort: the status file is for humans and tests; losing one write is harmless.
    let _ = write_atomic(path, &s);
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = parse_args()?;
    let interfaces = match &args.interfaces {
        Some(names) => InterfaceSelection::Named(names.clone()),
        None => InterfaceSelection::default(),
    };
    let handle = driver::start(DriverConfig {
        interfaces,
        announce: args.announce,
        ..DriverConfig::default()
    })
    .await
    .context("starting the layer-2 driver")?;
    let mut election =
        Election::new(args.node.clone(), args.params).context("election parameters")?;
    let lease_path = args.lease_dir.join(&args.node);
    let status_path = args.lease_dir.join(format!("{}.status", args.node));
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut tick = tokio::time::interval(args.poll);
    let mut rate = WriteRate {
        writes: 0,
        since: Instant::now(),
    };
    let mut answering: BTreeSet<IpAddr> = BTreeSet::new();
    let mut last_status = Instant::now() - Duration::from_secs(1);
    println!("started node={} t_us={}", args.node, wall_us());
    loop {
        tokio::select! {
            _ = sigterm.recv() => {
                let now = Instant::now();
                election.release(now);
                let before = wall_us();
                handle.set_owned(BTreeMap::new());
                println!("owned t_before_us={before} t_after_us={} node={} addrs=", wall_us(), args.node);
                let released = format!("- {} {}", wall_us() * 1000, args.params.lease_duration.as_millis());
                write_atomic(&lease_path, &released).context("writing the released lease")?;
                write_status(&status_path, &handle, &rate);
                println!("released node={} t_us={}", args.node, wall_us());
                handle.shutdown();
                return Ok(());
            }
            _ = tick.tick() => {}
        }
        let now = Instant::now();
        if election.renew_due().is_none_or(|due| now >= due) {
            let sent = Instant::now();
            let record = format!(
                "{} {} {}",
                args.node,
                wall_us() * 1000,
                args.params.lease_duration.as_millis()
            );
            match write_atomic(&lease_path, &record) {
                Ok(()) => {
                    rate.writes += 1;
                    election.renewed(sent, Instant::now());
                }
                Err(e) => tracing::warn!(error = %e, "lease renewal failed"),
            }
        }
        let now = Instant::now();
        for other in &args.candidates {
            if *other != args.node {
                election.observe_lease(other, read_lease(&args.lease_dir.join(other)), now);
            }
        }
        let excluded: BTreeSet<String> = std::fs::read_to_string(args.lease_dir.join("excluded"))
            .map(|t| t.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        let candidates: Vec<Candidate> = args
            .candidates
            .iter()
            .filter(|n| !excluded.contains(*n))
            .map(|n| Candidate::new(n.clone(), 0))
            .collect();
        for a in &args.addresses {
            election.set_candidates(*a, &candidates, now);
        }
        let decision = election.decide(Instant::now());
        if decision.answer != answering {
            answering = decision.answer.clone();
            // Bracket the change with wall-clock times: the tests check that no two nodes'
            // [before gaining, after losing] intervals overlap.
            let before = wall_us();
            handle.set_owned_everywhere(answering.iter().copied());
            let after = wall_us();
            let list: Vec<String> = answering.iter().map(ToString::to_string).collect();
            println!(
                "owned t_before_us={before} t_after_us={after} node={} addrs={}",
                args.node,
                list.join(",")
            );
            write_status(&status_path, &handle, &rate);
        }
        if last_status.elapsed() >= Duration::from_millis(500) {
            write_status(&status_path, &handle, &rate);
            last_status = Instant::now();
        }
    }
}
