//! What the allocator answers: the allocation, what changed, and what was cleared on the way
//! (the service controller turns these into status, annotations and events).

use std::fmt;
use std::net::IpAddr;

use super::error::{AllocError, IpList};
use super::request::ServiceKey;

/// Addresses held by one Service, all from one pool; IPv4 first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// The pool (`metallb.io/ip-allocated-from-pool`).
    pub pool: String,
    /// One address per family, IPv4 first.
    pub ips: Vec<IpAddr>,
}

/// How the allocation relates to what the Service held before this call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Same addresses as before.
    Unchanged,
    /// Newly allocated (the Service held nothing, or its old allocation was cleared).
    New,
    /// PreferDualStack: the missing family was added from the same pool.
    AddedFamily(IpAddr),
}

/// A successful assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assigned {
    /// The Service's addresses now.
    pub allocation: Allocation,
    /// What changed.
    pub change: Change,
    /// PreferDualStack with one family: why the other could not be added (an Info event in
    /// MetalLB, `AdditionalAssignFailed`); the Service keeps its one address.
    pub additional_family_error: Option<AllocError>,
}

/// Why a Service's previous allocation was released during [`super::Allocator::assign`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClearReason {
    /// The Service cannot be served at all (no cluster IP, RequireDualStack on one family).
    InvalidService(AllocError),
    /// The addresses' families no longer match the cluster IPs'.
    FamilyChanged,
    /// The configuration or the sharing rules no longer allow the addresses.
    NotAllowed(AllocError),
    /// `metallb.io/address-pool` names another pool.
    DifferentPool(String),
    /// `metallb.io/loadBalancerIPs` / `spec.loadBalancerIP` ask for other addresses.
    DifferentIps(IpList),
}

impl ClearReason {
    /// Short stable label for metrics and logs.
    pub fn metric_label(&self) -> &'static str {
        match self {
            ClearReason::InvalidService(_) => "invalid_service",
            ClearReason::FamilyChanged => "family_changed",
            ClearReason::NotAllowed(_) => "not_allowed",
            ClearReason::DifferentPool(_) => "different_pool",
            ClearReason::DifferentIps(_) => "different_ips",
        }
    }
}

impl fmt::Display for ClearReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClearReason::InvalidService(e) => write!(f, "the service cannot be served: {e}"),
            ClearReason::FamilyChanged => {
                f.write_str("the IP family of the service no longer matches its addresses")
            }
            ClearReason::NotAllowed(e) => write!(f, "current IP not allowed by config: {e}"),
            ClearReason::DifferentPool(p) => write!(f, "the service now requests pool {p}"),
            ClearReason::DifferentIps(ips) => write!(f, "the service now requests IP(s) {ips}"),
        }
    }
}

/// An allocation released by [`super::Allocator::assign`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleared {
    /// What the Service held.
    pub previous: Allocation,
    /// Why it was released.
    pub reason: ClearReason,
}

/// The answer of [`super::Allocator::assign`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The previous allocation, if it was released on the way (`ClearAssignment`).
    pub cleared: Option<Cleared>,
    /// The Service's allocation now, or why it has none (`AllocationFailed`).
    pub result: Result<Assigned, AllocError>,
}

/// An allocation released by a configuration reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// The Service.
    pub service: ServiceKey,
    /// What it held.
    pub allocation: Allocation,
}
