//! L2 election wiring: this node's Lease, the other nodes' Leases, the pure election core and
//! the responder driver.
//!
//! ```text
//!   planner L2 candidates ─┐                    ┌─► L2Handle::set_owned({ip → interfaces})
//!   Lease watch (others) ──┼─► Election (pure) ─┤
//!   own renewals (API) ────┘   decide(now)      └─► owned set ─► status writer / events
//!   SIGTERM: release() ─► answer nothing ─► Lease holder cleared ─► exit
//! ```
//!
//! # Defaults and API write rate
//! Each L2-eligible node (available, selected by an L2Advertisement, responder running) renews
//! the Lease `lodestone-l2-<node>` in the speaker namespace. Timings are the election core's
//! defaults: lease 4 s, renew every 1 s, fence 1 s before expiry, handover delay 1 s. That is
//! **one Lease write per second per eligible node**, independent of the number of Services
//! (100 nodes: 100 writes/s); every speaker watches the Leases of the namespace. A node that is
//! no longer eligible releases its Lease once (holder cleared) and stops writing. A crashed
//! owner's addresses move after at most 4 s plus watch latency; a graceful stop (SIGTERM)
//! releases the Lease, so the next node takes over after one watch round trip.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use lodestone_l2::driver::{L2Handle, Scope};
use lodestone_l2::election::{Candidate, Election, ElectionParams, LeaseRecord};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use crate::metrics::Metrics;
use crate::planner::{Interfaces, L2Address};

/// Prefix of the per-node L2 Leases.
pub const LEASE_PREFIX: &str = "lodestone-l2-";
const FIELD_MANAGER: &str = "lodestone-speaker";

/// What the reconcile loop hands the election.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct L2Inputs {
    /// Addresses with candidates (from the planner).
    pub addresses: BTreeMap<IpAddr, L2Address>,
    /// Whether this node should hold its Lease.
    pub eligible: bool,
}

/// Addresses this node answers for, with where.
pub type Owned = BTreeMap<IpAddr, Interfaces>;

/// The Lease name of `node`.
pub fn lease_name(node: &str) -> String {
    format!("{LEASE_PREFIX}{node}")
}

fn record(lease: &Lease) -> LeaseRecord {
    let spec = lease.spec.clone().unwrap_or_default();
    LeaseRecord {
        holder: spec.holder_identity,
        renew_time: spec.renew_time.map(|t| SystemTime::from(t.0)),
        acquire_time: spec.acquire_time.map(|t| SystemTime::from(t.0)),
        lease_duration: Duration::from_secs(
            u64::try_from(spec.lease_duration_seconds.unwrap_or(0)).unwrap_or(0),
        ),
    }
}

fn scope(i: &Interfaces) -> Scope {
    match i {
        Interfaces::All => Scope::AllInterfaces,
        Interfaces::Only(s) => Scope::Only(s.clone()),
    }
}

/// One L2 election participant.
pub struct L2Election {
    pub client: Client,
    pub namespace: String,
    pub node: String,
    pub params: ElectionParams,
    pub driver: Option<L2Handle>,
    pub metrics: Metrics,
}

impl L2Election {
    /// Runs until `shutdown` turns true; then stops answering and releases the Lease.
    pub async fn run(
        self,
        mut inputs: watch::Receiver<L2Inputs>,
        owned_tx: watch::Sender<Owned>,
        mut shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        let mut election = Election::new(self.node.clone(), self.params)?;
        let leases: Api<Lease> = Api::namespaced(self.client.clone(), &self.namespace);
        let mut lease_events =
            std::pin::pin!(watcher(leases.clone(), watcher::Config::default()).default_backoff());
        let (renew_tx, mut renew_rx) = mpsc::channel::<(Instant, bool)>(4);
        let mut renewing = false;
        let mut held = false;
        let mut acquired_at: Option<Timestamp> = None;
        let mut current = L2Inputs::default();
        let mut known: BTreeSet<IpAddr> = BTreeSet::new();
        let mut wake_at: Option<Instant> = None;
        loop {
            let sleep = async {
                match wake_at {
                    Some(t) => tokio::time::sleep_until(t.into()).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = shutdown.changed() => break,
                changed = inputs.changed() => {
                    if changed.is_err() { break; }
                    current = inputs.borrow_and_update().clone();
                    let now = Instant::now();
                    for (ip, a) in &current.addresses {
                        let cands: Vec<Candidate> = a.candidates.iter()
                            .map(|(n, w)| Candidate::new(n.clone(), *w)).collect();
                        election.set_candidates(*ip, &cands, now);
                    }
                    for ip in known.iter().filter(|ip| !current.addresses.contains_key(ip)) {
                        election.remove_address(*ip, now);
                    }
                    known = current.addresses.keys().copied().collect();
                }
                ev = lease_events.next() => {
                    let now = Instant::now();
                    match ev {
                        Some(Ok(watcher::Event::Apply(l) | watcher::Event::InitApply(l))) => {
                            if let Some(node) = l.name_any().strip_prefix(LEASE_PREFIX)
                                && node != self.node
                            {
                                election.observe_lease(node, Some(record(&l)), now);
                            }
                        }
                        Some(Ok(watcher::Event::Delete(l))) => {
                            if let Some(node) = l.name_any().strip_prefix(LEASE_PREFIX)
                                && node != self.node
                            {
                                election.observe_lease(node, None, now);
                            }
                        }
                        Some(Ok(_)) => {}
                        Some(Err(e)) => warn!(error = %e, "Lease watch failed; retrying"),
                        None => anyhow::bail!("the Lease watch ended"),
                    }
                }
                Some((sent_at, ok)) = renew_rx.recv() => {
                    renewing = false;
                    self.metrics.lease_renewals
                        .with_label_values(&[if ok { "ok" } else { "error" }]).inc();
                    if ok && current.eligible {
                        election.renewed(sent_at, Instant::now());
                        held = true;
                    }
                }
                _ = sleep => {}
            }
            let now = Instant::now();
            if current.eligible && !renewing && election.renew_due().is_none_or(|t| t <= now) {
                renewing = true;
                let (api, node, tx) = (leases.clone(), self.node.clone(), renew_tx.clone());
                let secs = i32::try_from(self.params.lease_duration.as_secs()).unwrap_or(i32::MAX);
                let acquire = *acquired_at.get_or_insert_with(Timestamp::now);
                tokio::spawn(async move {
                    let sent_at = Instant::now();
                    let ok = match renew(&api, &node, secs, acquire).await {
                        Ok(()) => true,
                        Err(e) => {
                            warn!(error = %e, "renewing the L2 Lease");
                            false
                        }
                    };
                    let _ = tx.send((sent_at, ok)).await;
                });
            }
            if !current.eligible && held {
                election.release(now);
                held = false;
                acquired_at = None;
                info!("no longer L2-eligible; releasing the Lease");
                self.apply(&election, &current, &owned_tx, now);
                if let Err(e) = release(&leases, &self.node).await {
                    warn!(error = %e, "releasing the L2 Lease");
                }
            }
            let next = self.apply(&election, &current, &owned_tx, now);
            wake_at = [next, election.renew_due().filter(|_| current.eligible)]
                .into_iter()
                .flatten()
                .min()
                // A failed renewal is retried after a short pause.
                .or_else(|| current.eligible.then(|| now + Duration::from_millis(500)));
        }
        // SIGTERM: stop answering first, then hand the Lease back.
        let now = Instant::now();
        election.release(now);
        self.apply(&election, &current, &owned_tx, now);
        if let Some(d) = &self.driver {
            d.shutdown();
        }
        if held {
            release(&leases, &self.node).await?;
            info!("L2 Lease released");
        }
        Ok(())
    }

    /// Applies the election's decision to the driver; returns when to decide again.
    fn apply(
        &self,
        election: &Election,
        inputs: &L2Inputs,
        owned_tx: &watch::Sender<Owned>,
        now: Instant,
    ) -> Option<Instant> {
        let decision = election.decide(now);
        let owned: Owned = decision
            .answer
            .iter()
            .filter_map(|ip| {
                let i = inputs.addresses.get(ip)?.interfaces.clone()?;
                Some((*ip, i))
            })
            .collect();
        if *owned_tx.borrow() != owned {
            debug!(addresses = ?owned.keys().collect::<Vec<_>>(), fenced = decision.fenced, "L2 ownership changed");
            if let Some(d) = &self.driver {
                d.set_owned(owned.iter().map(|(ip, i)| (*ip, scope(i))).collect());
            }
            owned_tx.send_replace(owned);
        }
        decision.next_check
    }
}

async fn renew(
    api: &Api<Lease>,
    node: &str,
    secs: i32,
    acquired: Timestamp,
) -> Result<(), kube::Error> {
    let now = MicroTime(Timestamp::now());
    let lease = Lease {
        metadata: ObjectMeta {
            name: Some(lease_name(node)),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(node.to_string()),
            lease_duration_seconds: Some(secs),
            renew_time: Some(now.clone()),
            acquire_time: Some(MicroTime(acquired)),
            ..LeaseSpec::default()
        }),
    };
    api.patch(
        &lease_name(node),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&lease),
    )
    .await
    .map(|_| ())
}

async fn release(api: &Api<Lease>, node: &str) -> Result<(), kube::Error> {
    let body = serde_json::json!({"spec": {"holderIdentity": null}});
    match api
        .patch(
            &lease_name(node),
            &PatchParams::default(),
            &Patch::Merge(&body),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}
