//! Why the allocator refused: typed, with a message fit for a Warning event and a short label
//! for metrics.

use std::fmt;
use std::net::IpAddr;

use lodestone_apis::config::PoolRefusal;

use super::addrset::Family;
use super::request::{Port, ServiceKey};

/// A list of addresses rendered `a, b`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpList(pub Vec<IpAddr>);

impl fmt::Display for IpList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, ip) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{ip}")?;
        }
        Ok(())
    }
}

/// A list of families rendered `IPv4` or `IPv4 and IPv6`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyList(pub Vec<Family>);

impl fmt::Display for FamilyList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|f| f.as_str()).collect();
        f.write_str(&names.join(" and "))
    }
}

/// Why an address could not be given to a Service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocError {
    /// No cluster IP yet, so the family is unknown.
    #[error("the service has no cluster IP yet, so its IP family is unknown")]
    NoClusterIp,
    /// RequireDualStack with cluster IPs of one family.
    #[error(
        "ipFamilyPolicy RequireDualStack needs cluster IPs of both families, the service has only {0}"
    )]
    NotDualStack(Family),
    /// An explicit assignment with no address at all.
    #[error("no address given")]
    NoAddress,
    /// More than two requested addresses.
    #[error("at most two load-balancer IPs may be requested (one per family), got {0}")]
    TooManyIps(usize),
    /// Two requested addresses of one family.
    #[error("requested IPs {0} and {1} are of the same family")]
    SameFamily(IpAddr, IpAddr),
    /// The requested addresses' families differ from the Service's.
    #[error("requested IP(s) {ips} do not match the service's IP families ({families})")]
    FamilyMismatch {
        /// Requested addresses.
        ips: IpList,
        /// The Service's families.
        families: FamilyList,
    },
    /// A requested address lies in no pool (or is a .0/.255 of an avoidBuggyIPs pool).
    #[error("IP {0} is not in any pool")]
    NotInAnyPool(IpAddr),
    /// Requested addresses lie in different pools.
    #[error("IPs {ips} are not all in one pool ({pools})")]
    SplitAcrossPools {
        /// Requested addresses.
        ips: IpList,
        /// Pools holding them.
        pools: String,
    },
    /// A requested address lies in a pool whose serviceAllocation excludes the Service.
    #[error("IP {ip} is not in any pool this service may use: {refusal}")]
    PoolNotAllowed {
        /// The address.
        ip: IpAddr,
        /// Why its pool refuses the Service.
        refusal: PoolRefusal,
    },
    /// The requested pool's serviceAllocation excludes the Service.
    #[error("requested pool cannot serve this service: {0}")]
    RequestedPoolNotAllowed(PoolRefusal),
    /// The requested addresses are not in the requested pool.
    #[error("requested IP(s) {ips} are in pool {actual}, not in the requested pool {requested}")]
    IpNotInRequestedPool {
        /// Requested addresses.
        ips: IpList,
        /// The `metallb.io/address-pool` value.
        requested: String,
        /// The pool holding the addresses.
        actual: String,
    },
    /// `metallb.io/address-pool` names no pool.
    #[error("pool {0} does not exist")]
    UnknownPool(String),
    /// The one pool that could serve the Service has no free address of the needed families.
    #[error("pool {pool} is exhausted (no free {families} address)")]
    PoolExhausted {
        /// Pool name.
        pool: String,
        /// Families needed.
        families: FamilyList,
    },
    /// Several pools could serve the Service, none has a free address.
    #[error("no free {families} address in any pool this service may use ({pools})")]
    NoFreeAddress {
        /// Families needed.
        families: FamilyList,
        /// Pools tried, in order.
        pools: String,
    },
    /// No pool may serve the Service automatically at all.
    #[error(
        "no pool may serve this service automatically: every pool has autoAssign false or a serviceAllocation that excludes it"
    )]
    NoEligiblePool,
    /// The address is used by a Service with a different (or no) sharing key.
    #[error("IP {ip} is shared with {other} whose key differs ({theirs:?} vs {ours:?})")]
    SharingKeyMismatch {
        /// The address.
        ip: IpAddr,
        /// A Service holding it.
        other: ServiceKey,
        /// The holder's `metallb.io/allow-shared-ip` (empty: sharing not allowed).
        theirs: String,
        /// This Service's key (empty: sharing not allowed).
        ours: String,
    },
    /// Same sharing key, different backends (externalTrafficPolicy Local needs one selector).
    #[error(
        "IP {ip} is shared with {other} whose backends differ (with externalTrafficPolicy Local, sharers need identical selectors)"
    )]
    BackendMismatch {
        /// The address.
        ip: IpAddr,
        /// A Service holding it.
        other: ServiceKey,
    },
    /// A port of this Service is already used on the address.
    #[error("port {port} on IP {ip} is already used by {other}")]
    PortInUse {
        /// The address.
        ip: IpAddr,
        /// The colliding port.
        port: Port,
        /// The Service using it.
        other: ServiceKey,
    },
}

impl AllocError {
    /// Short stable label for metrics (`reason` of the allocation failure counter).
    pub fn metric_label(&self) -> &'static str {
        match self {
            AllocError::NoClusterIp => "no_cluster_ip",
            AllocError::NotDualStack(_) => "not_dual_stack",
            AllocError::NoAddress | AllocError::TooManyIps(_) | AllocError::SameFamily(..) => {
                "invalid_request"
            }
            AllocError::FamilyMismatch { .. } => "family_mismatch",
            AllocError::NotInAnyPool(_) => "ip_not_in_pool",
            AllocError::SplitAcrossPools { .. } => "ips_in_different_pools",
            AllocError::PoolNotAllowed { .. } | AllocError::RequestedPoolNotAllowed(_) => {
                "pool_not_allowed"
            }
            AllocError::IpNotInRequestedPool { .. } => "ip_not_in_requested_pool",
            AllocError::UnknownPool(_) => "unknown_pool",
            AllocError::PoolExhausted { .. } => "pool_exhausted",
            AllocError::NoFreeAddress { .. } => "no_free_address",
            AllocError::NoEligiblePool => "no_eligible_pool",
            AllocError::SharingKeyMismatch { .. } => "sharing_key_mismatch",
            AllocError::BackendMismatch { .. } => "backend_mismatch",
            AllocError::PortInUse { .. } => "port_in_use",
        }
    }

    /// Whether the Service may be served later without changing it (another Service releasing
    /// an address or a configuration change can fix it), as opposed to a bad request.
    pub fn is_capacity(&self) -> bool {
        matches!(
            self,
            AllocError::PoolExhausted { .. }
                | AllocError::NoFreeAddress { .. }
                | AllocError::SharingKeyMismatch { .. }
                | AllocError::BackendMismatch { .. }
                | AllocError::PortInUse { .. }
        )
    }
}

/// The configuration cannot be loaded into the allocator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolsError {
    /// Two pools share addresses (the parser rejects this; the allocator checks again).
    #[error("pools {first} and {second} overlap")]
    Overlap {
        /// One pool.
        first: String,
        /// The other.
        second: String,
    },
}

impl PoolsError {
    /// Short stable label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            PoolsError::Overlap { .. } => "pools_overlap",
        }
    }
}
