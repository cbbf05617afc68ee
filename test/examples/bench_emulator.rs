//! Load generator for `hack/bench-emulator.sh`: N Services created by C concurrent clients while
//! W watches run; prints requests/s and latency percentiles.
//!
//! `bench_emulator KUBECONFIG [services] [clients] [watches]`
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, PostParams, WatchEvent, WatchParams};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .context("usage: bench_emulator KUBECONFIG [services] [clients] [watches]")?;
    let total: usize = args
        .get(2)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10_000);
    let clients: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(16);
    let watches: usize = args.get(4).map(|s| s.parse()).transpose()?.unwrap_or(50);
    let yaml = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let client = lodestone_test::client_from_kubeconfig(&yaml).await?;
    let all: Api<Service> = Api::all(client.clone());
    let start_rv = all
        .list_metadata(&Default::default())
        .await?
        .metadata
        .resource_version
        .unwrap_or_default();

    let seen = Arc::new(AtomicUsize::new(0));
    let mut watch_tasks = vec![];
    for _ in 0..watches {
        let api = all.clone();
        let seen = seen.clone();
        let rv = start_rv.clone();
        watch_tasks.push(tokio::spawn(async move {
            let mut added = 0usize;
            let wp = WatchParams::default().timeout(290);
            let Ok(stream) = api.watch(&wp, &rv).await else {
                return;
            };
            let mut stream = stream.boxed();
            while let Some(ev) = stream.next().await {
                if let Ok(WatchEvent::Added(_)) = ev {
                    added += 1;
                    if added == total {
                        seen.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started = Instant::now();
    let mut tasks = vec![];
    for c in 0..clients {
        let api: Api<Service> = Api::namespaced(client.clone(), "default");
        let per = total / clients + usize::from(c < total % clients);
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per);
            for i in 0..per {
                let svc: Service = serde_json::from_value(serde_json::json!({
                    "metadata": {"name": format!("bench-{c}-{i}"), "labels": {"bench": "yes"}},
                    "spec": {"ports": [{"port": 80}], "selector": {"app": "x"}}
                }))?;
                let t = Instant::now();
                api.create(&PostParams::default(), &svc).await?;
                lat.push(t.elapsed());
            }
            anyhow::Ok(lat)
        }));
    }
    let mut lat = vec![];
    for t in tasks {
        lat.extend(t.await??);
    }
    let elapsed = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(120);
    while seen.load(Ordering::SeqCst) < watches {
        if Instant::now() > deadline {
            bail!(
                "only {} of {watches} watches saw all {total} creates",
                seen.load(Ordering::SeqCst)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fanout = started.elapsed();
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    println!("services={total} clients={clients} watches={watches}");
    println!("create_seconds={:.2}", elapsed.as_secs_f64());
    println!(
        "requests_per_second={:.0}",
        total as f64 / elapsed.as_secs_f64()
    );
    println!("latency_p50_ms={:.2}", pct(0.50).as_secs_f64() * 1e3);
    println!("latency_p99_ms={:.2}", pct(0.99).as_secs_f64() * 1e3);
    println!("latency_max_ms={:.2}", pct(1.0).as_secs_f64() * 1e3);
    println!("all_watches_caught_up_seconds={:.2}", fanout.as_secs_f64());
    for w in watch_tasks {
        w.abort();
    }
    Ok(())
}
