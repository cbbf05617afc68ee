//! Leader election by a `coordination.k8s.io/v1` Lease.
//!
//! ```text
//!            ┌────────── GET / POST / PUT (resourceVersion) ──────────┐
//!   Elector ─┤  decide(lease, me, now) ─► Create | Take | Renew | Wait │──► Lease `lodestone-ccm`
//!      │     └──────────────────────────────────────────────────────────┘
//!      └─► watch<Leadership> ─► LeaderGate::check() before every write (valid_until, monotonic)
//! ```
//!
//! The decision is pure ([`decide`]); this module performs it. Concurrency is optimistic: every
//! write carries the resourceVersion we read, a 409 makes us read again. The holder renews at a
//! third of the duration and considers itself leader only until two thirds of the duration
//! after it *sent* its last successful write, so a stalled leader stops writing before anyone
//! else may take over. On shutdown the holder releases the Lease (empty holder, duration 1 s)
//! so a standby takes over at once.

pub mod decide;

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, info, warn};

pub use decide::{Action, Observed, Timings, decide};

/// Our view of the election, published to every writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leadership {
    /// Someone else leads (or nobody yet): do not write.
    Following,
    /// We lead; `term` grows by one on each acquisition; writes are allowed until `valid_until`.
    Leading { term: u64, valid_until: Instant },
}

/// Why a write was refused by the gate.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NotLeader {
    #[error("not the leader")]
    Following,
    #[error("leadership of term {0} expired before it was renewed")]
    Expired(u64),
    #[error("leadership moved from term {held} to {now}")]
    TermChanged { held: u64, now: u64 },
}

/// The point-of-use check: every API write asks the gate first.
#[derive(Clone, Debug)]
pub struct LeaderGate {
    rx: watch::Receiver<Leadership>,
}

impl LeaderGate {
    /// A gate fed by something other than an [`Elector`] (tests, single-replica tools).
    pub fn new(rx: watch::Receiver<Leadership>) -> Self {
        LeaderGate { rx }
    }

    /// The current term if we lead and our claim has not run out.
    pub fn check(&self) -> Result<u64, NotLeader> {
        match *self.rx.borrow() {
            Leadership::Following => Err(NotLeader::Following),
            Leadership::Leading { term, valid_until } => {
                if Instant::now() < valid_until {
                    Ok(term)
                } else {
                    Err(NotLeader::Expired(term))
                }
            }
        }
    }

    /// Like [`check`](Self::check), and also that we still lead in the same `term`.
    pub fn check_term(&self, held: u64) -> Result<(), NotLeader> {
        let now = self.check()?;
        if now == held {
            Ok(())
        } else {
            Err(NotLeader::TermChanged { held, now })
        }
    }

    /// A receiver that sees every change of leadership.
    pub fn subscribe(&self) -> watch::Receiver<Leadership> {
        self.rx.clone()
    }
}

/// Errors that end the election task (and so the process).
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("the API refused access to Lease {namespace}/{name}: {source}")]
    Refused {
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("releasing Lease {namespace}/{name}: {source}")]
    Release {
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
}

/// What the elector needs to know.
#[derive(Clone, Debug)]
pub struct ElectionParams {
    pub name: String,
    pub namespace: String,
    pub identity: String,
    pub timings: Timings,
}

/// Runs the election against the API and publishes [`Leadership`].
pub struct Elector {
    api: Api<Lease>,
    params: ElectionParams,
    tx: watch::Sender<Leadership>,
    term: u64,
    /// The Lease as last read or written.
    current: Option<Lease>,
    /// Until when our last successful write lets us lead.
    valid_until: Option<Instant>,
}

impl Elector {
    pub fn new(client: kube::Client, params: ElectionParams) -> (Self, LeaderGate) {
        let (tx, rx) = watch::channel(Leadership::Following);
        let api = Api::namespaced(client, &params.namespace);
        let elector = Elector {
            api,
            params,
            tx,
            term: 0,
            current: None,
            valid_until: None,
        };
        (elector, LeaderGate::new(rx))
    }

    /// Runs until `shutdown` becomes true, then releases the Lease if we hold it.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) -> Result<(), LeaseError> {
        let t = self.params.timings;
        self.read().await?;
        loop {
            if *shutdown.borrow() {
                return self.release().await;
            }
            self.expire_if_due();
            let observed = self.current.as_ref().map(observe);
            let action = decide(
                observed.as_ref(),
                &self.params.identity,
                Timestamp::now(),
                &t,
            );
            debug!(?action, lease = %self.params.name, "election step");
            let pause = match action {
                Action::Create => self.write(Action::Create).await?,
                Action::Take => self.write(Action::Take).await?,
                Action::Renew => self.write(Action::Renew).await?,
                Action::Wait { after, leading } => {
                    if !leading {
                        self.lose("the Lease names another holder");
                    }
                    Some(after)
                }
            };
            if let Some(pause) = pause {
                let pause = match self.valid_until {
                    Some(until) => pause.min(until.saturating_duration_since(Instant::now())),
                    None => pause,
                };
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = shutdown.changed() => {}
                }
                if self.valid_until.is_none() {
                    self.read().await?;
                }
            }
        }
    }

    /// Performs a write; returns how long to pause before the next step (`None`: go on).
    async fn write(&mut self, action: Action) -> Result<Option<Duration>, LeaseError> {
        let now = Timestamp::now();
        let me = self.params.identity.clone();
        let secs = i32::try_from(self.params.timings.duration.as_secs()).unwrap_or(i32::MAX);
        let sent = Instant::now();
        let result = match action {
            Action::Create => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.params.name.clone()),
                        namespace: Some(self.params.namespace.clone()),
                        ..ObjectMeta::default()
                    },
                    spec: Some(LeaseSpec {
                        holder_identity: Some(me),
                        lease_duration_seconds: Some(secs),
                        acquire_time: Some(MicroTime(now)),
                        renew_time: Some(MicroTime(now)),
                        lease_transitions: Some(0),
                        ..LeaseSpec::default()
                    }),
                };
                self.api.create(&PostParams::default(), &lease).await
            }
            Action::Take | Action::Renew => {
                let Some(mut lease) = self.current.clone() else {
                    return Ok(None);
                };
                let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
                if matches!(action, Action::Take) {
                    spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
                    spec.acquire_time = Some(MicroTime(now));
                }
                spec.holder_identity = Some(me);
                spec.lease_duration_seconds = Some(secs);
                spec.renew_time = Some(MicroTime(now));
                self.api
                    .replace(&self.params.name, &PostParams::default(), &lease)
                    .await
            }
            Action::Wait { .. } => return Ok(None),
        };
        match result {
            Ok(lease) => {
                self.current = Some(lease);
                self.lead(sent);
                Ok(None)
            }
            Err(kube::Error::Api(status)) if status.is_conflict() || status.is_already_exists() => {
                debug!(lease = %self.params.name, "lease changed under us; reading again");
                self.read().await?;
                Ok(None)
            }
            Err(e) => {
                self.fatal_or(e, "writing the Lease")?;
                Ok(Some(self.retry_pause()))
            }
        }
    }

    async fn read(&mut self) -> Result<(), LeaseError> {
        loop {
            match self.api.get_opt(&self.params.name).await {
                Ok(lease) => {
                    self.current = lease;
                    return Ok(());
                }
                Err(e) => {
                    self.fatal_or(e, "reading the Lease")?;
                    self.expire_if_due();
                    tokio::time::sleep(self.retry_pause()).await;
                }
            }
        }
    }

    fn fatal_or(&self, e: kube::Error, doing: &str) -> Result<(), LeaseError> {
        if let kube::Error::Api(status) = &e
            && (status.is_forbidden() || status.code == 401)
        {
            return Err(LeaseError::Refused {
                namespace: self.params.namespace.clone(),
                name: self.params.name.clone(),
                source: Box::new(e),
            });
        }
        warn!(error = %e, lease = %self.params.name, "{doing} failed; retrying");
        Ok(())
    }

    fn retry_pause(&self) -> Duration {
        (self.params.timings.retry_every / 2).max(Duration::from_millis(200))
    }

    fn lead(&mut self, sent: Instant) {
        let valid_until = sent + self.params.timings.duration * 2 / 3;
        if self.valid_until.is_none() {
            self.term += 1;
            info!(identity = %self.params.identity, term = self.term, "became leader");
        }
        self.valid_until = Some(valid_until);
        self.tx.send_replace(Leadership::Leading {
            term: self.term,
            valid_until,
        });
    }

    fn lose(&mut self, why: &str) {
        if self.valid_until.take().is_some() {
            warn!(identity = %self.params.identity, term = self.term, why, "lost leadership");
            self.tx.send_replace(Leadership::Following);
        }
    }

    fn expire_if_due(&mut self) {
        if let Some(until) = self.valid_until
            && Instant::now() >= until
        {
            self.lose("could not renew in time");
        }
    }

    /// Stops leading and, if the Lease names us, hands it back (empty holder, 1 s duration).
    async fn release(&mut self) -> Result<(), LeaseError> {
        self.lose("shutting down");
        let lease = match self.api.get_opt(&self.params.name).await {
            Ok(Some(lease)) => lease,
            Ok(None) => return Ok(()),
            Err(source) => {
                return Err(LeaseError::Release {
                    namespace: self.params.namespace.clone(),
                    name: self.params.name.clone(),
                    source: Box::new(source),
                });
            }
        };
        let mut lease = lease;
        let Some(spec) = lease.spec.as_mut() else {
            return Ok(());
        };
        if spec.holder_identity.as_deref() != Some(self.params.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        match self
            .api
            .replace(&self.params.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => {
                info!(identity = %self.params.identity, "released the Lease");
                Ok(())
            }
            Err(source) => Err(LeaseError::Release {
                namespace: self.params.namespace.clone(),
                name: self.params.name.clone(),
                source: Box::new(source),
            }),
        }
    }
}

fn observe(lease: &Lease) -> Observed {
    let spec = lease.spec.as_ref();
    Observed {
        holder: spec.and_then(|s| s.holder_identity.clone()),
        renew_time: spec.and_then(|s| s.renew_time.as_ref()).map(|t| t.0),
        duration_secs: spec.and_then(|s| s.lease_duration_seconds),
    }
}

/// Our identity: the pod name (or hostname) and a random suffix, so a restarted pod with the
/// same name is a new holder.
pub fn identity() -> String {
    let base = std::env::var("POD_NAME")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "lodestone-ccm".to_string());
    format!("{base}_{}", uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn gate_follows_leadership_and_expiry() {
        let (tx, rx) = watch::channel(Leadership::Following);
        let gate = LeaderGate::new(rx);
        assert_eq!(gate.check(), Err(NotLeader::Following));
        let until = Instant::now() + Duration::from_secs(60);
        tx.send_replace(Leadership::Leading {
            term: 3,
            valid_until: until,
        });
        assert_eq!(gate.check(), Ok(3));
        assert_eq!(gate.check_term(3), Ok(()));
        assert_eq!(
            gate.check_term(2),
            Err(NotLeader::TermChanged { held: 2, now: 3 })
        );
        tx.send_replace(Leadership::Leading {
            term: 4,
            valid_until: Instant::now(),
        });
        assert_eq!(gate.check(), Err(NotLeader::Expired(4)));
    }

    #[test]
    fn identities_are_unique() {
        assert_ne!(identity(), identity());
    }
}
