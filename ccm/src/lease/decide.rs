//! The pure election core: given what the Lease says, who we are and the time, what to do.
//!
//! ```text
//!   Lease (observed) ─┐
//!   me ───────────────┼─► decide() ─► Action { Create | Take | Renew | Wait }
//!   now, timings ─────┘                 + when to look again
//! ```
//!
//! No client and no clock: `now` is a parameter, the driver in `super` performs the action.
//! Time is compared as the Lease records it (`renewTime` + `leaseDurationSeconds`), so clocks
//! of the replicas must agree within the renew margin (two thirds of the duration).

use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};

/// What the driver read from the API (`None` for a Lease that does not exist).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// `spec.holderIdentity`; `None` or empty means nobody holds it.
    pub holder: Option<String>,
    /// `spec.renewTime`.
    pub renew_time: Option<Timestamp>,
    /// `spec.leaseDurationSeconds` as the holder wrote it.
    pub duration_secs: Option<i32>,
}

/// Timings of our own election.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timings {
    /// How long a lease we write is valid (`leaseDurationSeconds`).
    pub duration: Duration,
    /// How often the holder renews (a third of the duration).
    pub renew_every: Duration,
    /// How often a follower looks at a lease someone else holds.
    pub retry_every: Duration,
}

impl Timings {
    /// Timings derived from the lease duration: renew at a third, retry at most every 2 s.
    pub fn from_duration(duration: Duration) -> Self {
        let duration = duration.max(Duration::from_secs(1));
        let renew_every = duration / 3;
        Timings {
            duration,
            renew_every,
            retry_every: renew_every.min(Duration::from_secs(2)),
        }
    }
}

/// What the driver must do now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// No Lease exists: create it with us as the holder.
    Create,
    /// The Lease is free or expired: take it (update with the observed resourceVersion).
    Take,
    /// We hold it and a third of the duration has passed: renew it.
    Renew,
    /// Nothing to write; look again after `after`. `leading` says whether the Lease says we
    /// hold it right now.
    Wait { after: Duration, leading: bool },
}

/// Decides the next step of the election.
pub fn decide(observed: Option<&Observed>, me: &str, now: Timestamp, t: &Timings) -> Action {
    let Some(lease) = observed else {
        return Action::Create;
    };
    let holder = lease.holder.as_deref().filter(|h| !h.is_empty());
    let Some(holder) = holder else {
        return Action::Take;
    };
    let Some(renewed) = lease.renew_time else {
        // Held but never renewed: no way to tell when it expires, so it is not valid.
        return Action::Take;
    };
    let written_secs = lease.duration_secs.filter(|s| *s > 0).unwrap_or(0);
    let expires = renewed.saturating_add(SignedDuration::from_secs(i64::from(written_secs)));
    let expires = match expires {
        Ok(ts) => ts,
        Err(_) => Timestamp::MAX,
    };
    if holder == me {
        let renew_at = add(renewed, t.renew_every);
        if now >= renew_at {
            return Action::Renew;
        }
        if now >= expires {
            // Our own lease ran out (a long pause): renewing is the same write as taking.
            return Action::Renew;
        }
        return Action::Wait {
            after: until(now, renew_at),
            leading: true,
        };
    }
    if now >= expires {
        return Action::Take;
    }
    Action::Wait {
        after: until(now, expires).min(t.retry_every),
        leading: false,
    }
}

fn add(ts: Timestamp, d: Duration) -> Timestamp {
    let d = SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX);
    ts.saturating_add(d).unwrap_or(Timestamp::MAX)
}

fn until(now: Timestamp, then: Timestamp) -> Duration {
    let d = then.duration_since(now);
    Duration::try_from(d).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(secs: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + secs).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn held(holder: &str, renewed: i64, secs: i32) -> Observed {
        Observed {
            holder: Some(holder.to_string()),
            renew_time: Some(ts(renewed)),
            duration_secs: Some(secs),
        }
    }

    #[test]
    fn decision_table() {
        let t = Timings::from_duration(Duration::from_secs(15));
        assert_eq!(t.renew_every, Duration::from_secs(5));
        assert_eq!(t.retry_every, Duration::from_secs(2));
        let wait = |s: u64, leading: bool| Action::Wait {
            after: Duration::from_secs(s),
            leading,
        };
        let free = Observed {
            holder: None,
            renew_time: Some(ts(0)),
            duration_secs: Some(15),
        };
        let released = Observed {
            holder: Some(String::new()),
            renew_time: Some(ts(0)),
            duration_secs: Some(1),
        };
        let never_renewed = Observed {
            holder: Some("b".into()),
            renew_time: None,
            duration_secs: Some(15),
        };
        let zero_duration = held("b", 0, 0);
        let negative_duration = held("b", 0, -5);
        #[rustfmt::skip]
        let rows: Vec<(&str, Option<Observed>, i64, Action)> = vec![
            ("absent → create",                   None,                      0,  Action::Create),
            ("no holder → take",                  Some(free.clone()),        1,  Action::Take),
            ("released (empty holder) → take",    Some(released),            0,  Action::Take),
            ("never renewed → take",              Some(never_renewed),       0,  Action::Take),
            ("zero duration → expired → take",    Some(zero_duration),       0,  Action::Take),
            ("negative duration → take",          Some(negative_duration),   0,  Action::Take),
            ("ours, fresh → wait to renew",       Some(held("a", 0, 15)),    0,  wait(5, true)),
            ("ours, 4 s old → wait 1 s",          Some(held("a", 0, 15)),    4,  wait(1, true)),
            ("ours, a third old → renew",         Some(held("a", 0, 15)),    5,  Action::Renew),
            ("ours, expired → renew",             Some(held("a", 0, 15)),    30, Action::Renew),
            ("ours, renew time in future → wait", Some(held("a", 10, 15)),   0,  wait(15, true)),
            ("other, valid → retry in 2 s",       Some(held("b", 0, 15)),    0,  wait(2, false)),
            ("other, 1 s left → wake at expiry",  Some(held("b", 0, 15)),    14, wait(1, false)),
            ("other, just expired → take",        Some(held("b", 0, 15)),    15, Action::Take),
            ("other, long expired → take",        Some(held("b", 0, 15)),    99, Action::Take),
            ("other with a longer duration",      Some(held("b", 0, 60)),    30, wait(2, false)),
            ("other, longer duration, expired",   Some(held("b", 0, 60)),    60, Action::Take),
        ];
        for (name, observed, now, want) in rows {
            let got = decide(observed.as_ref(), "a", ts(now), &t);
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn short_durations_renew_at_a_third() {
        let t = Timings::from_duration(Duration::from_secs(3));
        assert_eq!(t.renew_every, Duration::from_secs(1));
        assert_eq!(t.retry_every, Duration::from_secs(1));
        let t = Timings::from_duration(Duration::ZERO);
        assert_eq!(t.duration, Duration::from_secs(1));
    }
}
