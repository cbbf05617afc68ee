//! A small speaker for interop tests and benchmarks: run it inside a network namespace, drive
//! it over stdin, read its state on stdout.
//!
//! ```text
//! bgp-lab-speaker --local-as 64512 --router-id 192.0.2.1 --listen 0.0.0.0:179 \
//!     --peer 192.0.2.2,64513[,passive][,md5=KEY][,gtsm=1][,ttl=N][,port=N][,nh6=ADDR][,gr=SECS]
//! stdin:  route PREFIX [med=N] [lp=N] [comm=A:B,...] [large=A:B:C,...]
//!         gen COUNT FIRST_IPV4          (COUNT consecutive /32s)
//!         withdraw PREFIX | clear | commit | status | quit
//! stdout: "ready", then one line per `status`:
//!         PEER state=established up=1 sent=N received=N announced=N pending=N malformed=N
//! ```

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, bail};
use ipnet::IpNet;
use lodestone_bgp::codec::LargeCommunity;
use lodestone_bgp::driver::{PeerConfig, PeerHandle, Speaker, TtlPolicy};
use lodestone_bgp::fsm::{GracefulRestart, SessionConfig, StopReason};
use lodestone_bgp::rib_out::Attributes;
use tokio::io::{AsyncBufReadExt, BufReader};

struct Args {
    local_as: u32,
    router_id: Ipv4Addr,
    hold: u16,
    listen: Vec<SocketAddr>,
    peers: Vec<String>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args {
        local_as: 0,
        router_id: Ipv4Addr::UNSPECIFIED,
        hold: 30,
        listen: vec![],
        peers: vec![],
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().with_context(|| format!("{k} needs a value"))?;
        match k.as_str() {
            "--local-as" => a.local_as = v.parse().context("--local-as")?,
            "--router-id" => a.router_id = v.parse().context("--router-id")?,
            "--hold" => a.hold = v.parse().context("--hold")?,
            "--listen" => a.listen.push(v.parse().context("--listen")?),
            "--peer" => a.peers.push(v),
            _ => bail!("unknown argument {k}"),
        }
    }
    if a.local_as == 0 || a.router_id.is_unspecified() || a.peers.is_empty() {
        bail!("--local-as, --router-id and at least one --peer are required");
    }
    Ok(a)
}

fn peer_config(a: &Args, spec: &str) -> anyhow::Result<PeerConfig> {
    let mut parts = spec.split(',');
    let addr: IpAddr = parts
        .next()
        .context("peer address")?
        .parse()
        .context("peer address")?;
    let asn: u32 = parts
        .next()
        .context("peer AS")?
        .parse()
        .context("peer AS")?;
    let mut s = SessionConfig::new(a.local_as, asn, a.router_id);
    s.hold_time = a.hold;
    s.connect_retry = Duration::from_secs(1);
    s.connect_retry_max = Duration::from_secs(4);
    let mut p = PeerConfig::new(s, addr);
    p.connect_time = Duration::from_secs(3);
    for opt in parts {
        let (k, v) = opt.split_once('=').unwrap_or((opt, ""));
        match k {
            "passive" => p.session.passive = true,
            "md5" => p.password = Some(v.to_string()),
            "gtsm" => {
                p.ttl = TtlPolicy::Gtsm {
                    hops: v.parse().context("gtsm")?,
                }
            }
            "ttl" => p.ttl = TtlPolicy::Hops(v.parse().context("ttl")?),
            "port" => p.port = v.parse().context("port")?,
            "nh6" => p.next_hop_v6 = Some(v.parse().context("nh6")?),
            "nh4" => p.next_hop_v4 = Some(v.parse().context("nh4")?),
            "source" => p.source_address = Some(v.parse().context("source")?),
            "gr" => {
                p.session.graceful_restart = Some(GracefulRestart {
                    restart_time: v.parse().context("gr")?,
                    forwarding_preserved: true,
                    restarted: false,
                })
            }
            _ => bail!("unknown peer option {k}"),
        }
    }
    Ok(p)
}

fn parse_route(words: &[&str]) -> anyhow::Result<(IpNet, Attributes)> {
    let prefix: IpNet = words.first().context("prefix")?.parse().context("prefix")?;
    let mut a = Attributes::default();
    for w in &words[1..] {
        let (k, v) = w.split_once('=').context("key=value")?;
        match k {
            "med" => a.med = Some(v.parse()?),
            "lp" => a.local_pref = Some(v.parse()?),
            "comm" => {
                for c in v.split(',') {
                    let (hi, lo) = c.split_once(':').context("community A:B")?;
                    a.communities
                        .push((hi.parse::<u32>()? << 16) | lo.parse::<u32>()?);
                }
            }
            "large" => {
                for c in v.split(',') {
                    let n: Vec<u32> = c.split(':').map(str::parse).collect::<Result<_, _>>()?;
                    let [global, local1, local2] = n[..] else {
                        bail!("large community A:B:C")
                    };
                    a.large_communities.push(LargeCommunity {
                        global,
                        local1,
                        local2,
                    });
                }
            }
            _ => bail!("unknown route attribute {k}"),
        }
    }
    Ok((prefix, a))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber_init();
    let args = parse_args()?;
    let speaker = Speaker::bind(&args.listen).context("binding listeners")?;
    let mut handles: Vec<PeerHandle> = Vec::new();
    for spec in &args.peers {
        let cfg = peer_config(&args, spec)?;
        handles.push(
            speaker
                .add_peer(cfg)
                .with_context(|| format!("adding peer {spec}"))?,
        );
    }
    println!("ready");
    let mut table: BTreeMap<IpNet, Attributes> = BTreeMap::new();
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await.context("reading stdin")? {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first().copied() {
            Some("route") => {
                let (p, a) = parse_route(&words[1..])?;
                table.insert(p, a);
            }
            Some("gen") => {
                let n: u32 = words.get(1).context("count")?.parse()?;
                let first: Ipv4Addr = words.get(2).context("first address")?.parse()?;
                for i in 0..n {
                    let a = Ipv4Addr::from(u32::from(first).wrapping_add(i));
                    table.insert(IpNet::new(IpAddr::V4(a), 32)?, Attributes::default());
                }
            }
            Some("withdraw") => {
                table.remove(&words.get(1).context("prefix")?.parse::<IpNet>()?);
            }
            Some("clear") => table.clear(),
            Some("commit") => {
                for h in &handles {
                    h.set_routes(table.iter().map(|(p, a)| (*p, a.clone())).collect())
                        .await?;
                }
            }
            Some("status") => {
                for h in &handles {
                    let m = h.metrics();
                    let s = h.status();
                    println!(
                        "{} state={} up={} sent={} received={} announced={} pending={} malformed={} down={}",
                        h.peer(),
                        s.state.as_str(),
                        u8::from(m.session_up),
                        m.updates_sent,
                        m.updates_received,
                        m.announced_prefixes,
                        m.pending_prefixes,
                        m.malformed_received,
                        s.last_down.map(|d| d.metric_label()).unwrap_or("none"),
                    );
                }
                println!("end");
            }
            Some("quit") => break,
            Some("restart") => {
                for h in handles.drain(..) {
                    h.stop(StopReason::Restart).await;
                }
                return Ok(());
            }
            Some(other) => bail!("unknown command {other}"),
            None => {}
        }
    }
    for h in handles {
        h.shutdown().await;
    }
    Ok(())
}

fn tracing_subscriber_init() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LODESTONE_LOG")
        .unwrap_or_else(|_| "warn".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
