//! A stand-alone BFD speaker for the lab and the benchmark (hack/bench-bfd.sh): runs the driver
//! with the given sessions and prints every state change as a JSON line with a wall-clock
//! timestamp; on SIGTERM/SIGINT it prints the counters and removes the sessions (AdminDown).
//!
//! ```text
//! bfd-lab [--tx MS] [--rx MS] [--mult N] [--echo] [--passive] [--multihop] PEER@LOCAL...
//! ```

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use lodestone_bfd::driver::{Bfd, DriverConfig, SessionKey, SessionSpec};
use lodestone_bfd::profile::Profile;
use tokio::signal::unix::{SignalKind, signal};

fn parse() -> anyhow::Result<(Profile, Vec<SessionKey>)> {
    let mut profile = Profile::default();
    let mut multihop = false;
    let mut pairs = Vec::new();
    let mut args = std::env::args().skip(1);
    let ms = |v: Option<String>| -> anyhow::Result<Duration> {
        Ok(Duration::from_millis(
            v.context("missing value")?
                .parse()
                .context("milliseconds")?,
        ))
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--tx" => profile.transmit_interval = ms(args.next())?,
            "--rx" => profile.receive_interval = ms(args.next())?,
            "--mult" => {
                profile.detect_multiplier =
                    args.next().context("--mult N")?.parse().context("--mult")?
            }
            "--echo" => profile.echo_mode = true,
            "--passive" => profile.passive_mode = true,
            "--multihop" => multihop = true,
            s if s.contains('@') => {
                let (peer, local) = s.split_once('@').context("PEER@LOCAL")?;
                pairs.push((
                    peer.parse::<IpAddr>().context("peer")?,
                    local.parse::<IpAddr>().context("local")?,
                ));
            }
            other => bail!("unknown argument {other}"),
        }
    }
    let keys = pairs
        .into_iter()
        .map(|(peer, local)| SessionKey {
            peer,
            local,
            multihop,
        })
        .collect();
    Ok((profile, keys))
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let (profile, keys) = parse()?;
    if keys.is_empty() {
        bail!(
            "usage: bfd-lab [--tx MS] [--rx MS] [--mult N] [--echo] [--passive] [--multihop] PEER@LOCAL..."
        );
    }
    let bfd = Bfd::spawn(DriverConfig::default())
        .await
        .context("starting the BFD driver")?;
    let mut events = bfd.subscribe();
    for key in &keys {
        bfd.add_session(SessionSpec {
            key: *key,
            interface: None,
            profile,
        })
        .await
        .with_context(|| format!("adding {key:?}"))?;
    }
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Ok(ev) => println!(
                    "{{\"ts\":{:.6},\"peer\":\"{}\",\"local\":\"{}\",\"from\":\"{}\",\"to\":\"{}\",\"diag\":\"{:?}\"}}",
                    now(), ev.key.peer, ev.key.local, ev.from, ev.to, ev.diagnostic
                ),
                Err(e) => eprintln!("events: {e}"),
            },
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    let m = bfd.metrics();
    let (mut input, mut output, mut ups, mut downs) = (0, 0, 0, 0);
    for c in m.peers.values() {
        input += c.control_input;
        output += c.control_output;
        ups += c.up_events;
        downs += c.down_events;
    }
    println!(
        "{{\"metrics\":{{\"control_input\":{input},\"control_output\":{output},\"up_events\":{ups},\"down_events\":{downs},\"drops\":{:?}}}}}",
        format!("{:?}", m.drops)
    );
    bfd.shutdown().await.context("shutdown")?;
    Ok(())
}
