//! High availability of the real binary against the API emulator: one leader among replicas,
//! failover after SIGKILL within the lease duration, immediate handover on SIGTERM.

mod run_support;

use std::time::{Duration, Instant};

use run_support::{Ccm, TestResult, cluster, eventually, lease_holder};

const LEASE_SECS: u64 = 3;

fn holder_pod(holder: &str) -> &str {
    holder.rsplit_once('_').map(|(pod, _)| pod).unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leader_failover_on_kill_and_handover_on_sigterm() -> TestResult {
    let c = cluster(true).await?;
    let secs = LEASE_SECS.to_string();
    let args = ["--lease-duration", secs.as_str()];
    let mut a = Ccm::start(&c, "ccm-a", &args)?;
    let mut b = Ccm::start(&c, "ccm-b", &args)?;

    let first = eventually(Duration::from_secs(20), "a leader", || async {
        let h = lease_holder(&c.client).await?;
        Ok((!h.is_empty()).then_some(h))
    })
    .await?;
    let first_pod = holder_pod(&first).to_string();
    assert!(
        first_pod == "ccm-a" || first_pod == "ccm-b",
        "holder {first}"
    );

    // The holder stays the same over several renew periods: no flapping between replicas.
    let stable_until = Instant::now() + Duration::from_secs(LEASE_SECS * 2);
    while Instant::now() < stable_until {
        let h = lease_holder(&c.client).await?;
        assert_eq!(h, first, "leadership moved without a failure");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // SIGKILL the leader: the other takes over once the lease expires.
    let (leader, follower) = if first_pod == "ccm-a" {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    let killed_at = Instant::now();
    leader.kill();
    let follower_name = follower.name.clone();
    let second = eventually(
        Duration::from_secs(LEASE_SECS * 4),
        "the follower to lead",
        || async {
            let h = lease_holder(&c.client).await?;
            Ok((holder_pod(&h) == follower_name).then_some(h))
        },
    )
    .await?;
    let failover = killed_at.elapsed();
    eprintln!("failover after SIGKILL: {failover:?} (lease {LEASE_SECS} s)");
    assert!(
        failover <= Duration::from_secs(LEASE_SECS) + Duration::from_millis(1500),
        "failover took {failover:?}, lease duration is {LEASE_SECS} s"
    );

    // A third replica joins; SIGTERM the leader: it releases, the newcomer leads at once.
    let mut c3 = Ccm::start(&c, "ccm-c", &args)?;
    // Let it start and observe the lease held by the current leader.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(lease_holder(&c.client).await?, second);
    let termed_at = Instant::now();
    let status = follower.terminate(Duration::from_secs(10))?;
    assert!(status.success(), "SIGTERM exit status {status:?}");
    let third = eventually(
        Duration::from_secs(LEASE_SECS * 4),
        "ccm-c to lead",
        || async {
            let h = lease_holder(&c.client).await?;
            Ok((holder_pod(&h) == "ccm-c").then_some(h))
        },
    )
    .await?;
    let handover = termed_at.elapsed();
    eprintln!("handover after SIGTERM: {handover:?}");
    // Released leases are taken on the next poll (at most ~1 s here), not after expiry.
    assert!(
        handover < Duration::from_secs(LEASE_SECS),
        "handover took {handover:?}: the lease was not released"
    );
    assert!(c3.exited().is_none(), "ccm-c exited");
    assert_ne!(third, second);
    Ok(())
}
