//! Allocator benchmarks: allocations per second in an IPv4 /8 (avoidBuggyIPs) and an IPv6 /64
//! at 0 %, 50 % and 99 % fill, beside a linear-scan baseline (MetalLB's walk from the first
//! address) in the same run; and the time to rebuild 10,000 allocations.
//!
//! Fill: the lowest 0/50/99 % of the pool is taken (allocation is lowest-first, so that is how
//! a pool fills), and the next 131,072 addresses above it alternate taken/free, so the free set
//! holds 65,536 intervals rather than one. One iteration = assign one new Service + release it
//! (so the fill stays put); allocations/s = 1 / time per iteration.
//!
//! Clock: each sample is timed with the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`;
//! wall time if the clock is unavailable), so other work on a shared machine does not inflate
//! the numbers.
//!
//! Baseline bound: the scan walks from the first address, one hash lookup per address, so its
//! cost is the number of taken addresses below the first free one. It is measured for the /8
//! at every fill and for the /64 at 0 %; for the /64 at 50 % and 99 % a single allocation
//! would walk 2^63 or more addresses, so it is not run (reported as skipped).

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ipnet::IpNet;
use lodestone_apis::config::{AddressBlock, Config, Pool};
use lodestone_ccm::ipam::baseline::LinearScan;
use lodestone_ccm::ipam::{Allocator, Family, Labels, Port, ServiceKey, ServiceRequest};

/// CPU time consumed by this thread so far (`CLOCK_THREAD_CPUTIME_ID`, exact to the ns).
fn thread_cpu() -> Option<Duration> {
    use nix::time::{ClockId, clock_gettime};
    let ts = clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).ok()?;
    let secs = u64::try_from(ts.tv_sec()).ok()?;
    let nanos = u32::try_from(ts.tv_nsec()).ok()?;
    Some(Duration::new(secs, nanos))
}

/// Runs `f` `iters` times; returns the thread CPU time spent (wall time as a fallback).
fn timed(iters: u64, mut f: impl FnMut()) -> Duration {
    let wall = Instant::now();
    let cpu = thread_cpu();
    for _ in 0..iters {
        f();
    }
    match (cpu, thread_cpu()) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => wall.elapsed(),
    }
}

fn config(cidr: &str, avoid_buggy: bool) -> Config {
    let net: IpNet = cidr.parse().unwrap_or_else(|e| panic!("{cidr}: {e}"));
    let pool = Pool {
        name: "bench".to_string(),
        namespace: "metallb-system".to_string(),
        labels: Labels::new(),
        blocks: vec![AddressBlock {
            spec: cidr.to_string(),
            cidrs: vec![net],
        }],
        avoid_buggy_ips: avoid_buggy,
        auto_assign: true,
        service_allocation: None,
    };
    Config {
        pools: [("bench".to_string(), pool)].into(),
        ..Config::default()
    }
}

struct Case {
    name: &'static str,
    cidr: &'static str,
    family: Family,
    first: u128,
    size: u128,
    avoid_buggy: bool,
}

fn addr(family: Family, v: u128) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::from(v as u32)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(v)),
    }
}

const FRAGMENTS: u128 = 65_536;

/// Fills `fill_pct` % of the pool from the bottom, then fragments the free space above it.
fn filled(case: &Case, fill_pct: u128) -> Allocator {
    let mut alloc = Allocator::with_config(&config(case.cidr, case.avoid_buggy)).expect("config");
    let taken = case.size / 100 * fill_pct;
    if taken > 0 {
        alloc.occupy_for_bench(
            "bench",
            addr(case.family, case.first),
            addr(case.family, case.first + taken - 1),
        );
    }
    let base = case.first + taken + 1;
    for i in 0..FRAGMENTS {
        let a = base + 2 * i;
        if a < case.first + case.size {
            alloc.occupy_for_bench("bench", addr(case.family, a), addr(case.family, a));
        }
    }
    alloc
}

fn request(family: Family, i: usize) -> ServiceRequest {
    let mut r = ServiceRequest::new(ServiceKey::new("bench", format!("svc-{i}")), family);
    r.ports = vec![Port::tcp(80), Port::tcp(443)];
    r
}

fn allocations(c: &mut Criterion) {
    let cases = [
        Case {
            name: "ipv4-/8",
            cidr: "10.0.0.0/8",
            family: Family::V4,
            first: 10 << 24,
            size: 1 << 24,
            avoid_buggy: true,
        },
        Case {
            name: "ipv6-/64",
            cidr: "2001:db8::/64",
            family: Family::V6,
            first: 0x2001_0db8_u128 << 96,
            size: 1 << 64,
            avoid_buggy: false,
        },
    ];
    let mut group = c.benchmark_group("allocate");
    group.throughput(Throughput::Elements(1));
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
    group.sample_size(20);
    for case in &cases {
        for fill in [0u128, 50, 99] {
            let mut alloc = filled(case, fill);
            let reqs: Vec<ServiceRequest> = (0..1024).map(|i| request(case.family, i)).collect();
            let mut i = 0usize;
            group.bench_function(
                BenchmarkId::new(format!("interval-set/{}", case.name), fill),
                |b| {
                    b.iter_custom(|iters| {
                        timed(iters, || {
                            let req = &reqs[i % reqs.len()];
                            i += 1;
                            let out = alloc.assign(req);
                            black_box(&out);
                            alloc.release(&req.key);
                        })
                    })
                },
            );
            if let Err(e) = alloc.check_invariants() {
                panic!("{}: {e}", case.name);
            }

            let taken = case.size / 100 * fill;
            if case.family == Family::V6 && fill > 0 {
                eprintln!(
                    "baseline linear-scan/{}/{fill}: skipped (one allocation would walk {taken} addresses)",
                    case.name
                );
                continue;
            }
            let mut scan =
                LinearScan::new(case.first, case.first + case.size - 1, case.avoid_buggy);
            scan.prefill_below(case.first + taken);
            group.bench_function(
                BenchmarkId::new(format!("linear-scan/{}", case.name), fill),
                |b| {
                    b.iter_custom(|iters| {
                        timed(iters, || {
                            let a = scan.allocate();
                            black_box(a);
                            if let Some(a) = a {
                                scan.release(a);
                            }
                        })
                    })
                },
            );
        }
    }
    group.finish();
}

fn rebuild(c: &mut Criterion) {
    const N: usize = 10_000;
    let cfg = config("10.0.0.0/8", true);
    // The addresses a first allocator handed out, as Service status would show them.
    let mut first = Allocator::with_config(&cfg).expect("config");
    let reqs: Vec<ServiceRequest> = (0..N).map(|i| request(Family::V4, i)).collect();
    let status: Vec<Vec<IpAddr>> = reqs
        .iter()
        .map(|r| match first.assign(r).result {
            Ok(a) => a.allocation.ips,
            Err(e) => panic!("fill: {e}"),
        })
        .collect();
    let mut group = c.benchmark_group("rebuild");
    group.sample_size(10);
    group.throughput(Throughput::Elements(N as u64));
    group.bench_function("restore-10000", |b| {
        b.iter_custom(|iters| {
            timed(iters, || {
                let mut a = Allocator::with_config(&cfg).expect("config");
                for (r, ips) in reqs.iter().zip(&status) {
                    if let Err(e) = a.restore(r, ips) {
                        panic!("restore: {e}");
                    }
                }
                black_box(a.len());
            })
        })
    });
    group.bench_function("reload-10000", |b| {
        b.iter_custom(|iters| {
            timed(iters, || {
                let dropped = first.set_config(&cfg).expect("config");
                black_box(dropped.len());
            })
        })
    });
    group.finish();
}

criterion_group!(benches, allocations, rebuild);
criterion_main!(benches);
