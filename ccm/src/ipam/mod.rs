//! IPAM: the pure LoadBalancer address allocator, with MetalLB's semantics.
//!
//! ```text
//!   Config (pools) ──set_config──►┌──────────────────────────────┐──► Vec<Dropped> (reload)
//!   Service ──from_service──► ServiceRequest ──assign──► │ Allocator │──► Outcome {cleared, result}
//!   status.loadBalancer.ingress ──restore──────────────► │ (no client, │──► counters(pool)
//!   deleted / not LoadBalancer ──release───────────────► │  no clock)  │
//!                                                        └─────────────┘
//!   per pool & family: free set = BTreeMap<u128 start, u128 end> over a dense index space
//!   (avoidBuggyIPs maps .1..=.254 of each /24 to consecutive indices), so the lowest free
//!   address is one BTreeMap lookup whatever the pool size or fill.
//! ```
//!
//! # Rules (MetalLB's, except where noted)
//! - **Requests.** `metallb.io/loadBalancerIPs` (at most two, distinct families) or
//!   `spec.loadBalancerIP`, never both; the requested addresses' families must equal the
//!   Service's cluster-IP families. `metallb.io/address-pool` may name a pool with
//!   `autoAssign: false`; the pool's serviceAllocation still applies. Requested IPs and a
//!   requested pool together must agree.
//! - **Pool choice** without a request: first the pools with a serviceAllocation that admits the
//!   Service (namespace listed or selected by `namespaceSelectors`, labels matched by one of
//!   `serviceSelectors`) and `autoAssign`, lowest positive priority first, priority 0 last;
//!   **ties are broken by pool name (byte order)**, where MetalLB's order is random. Then the
//!   `autoAssign` pools without serviceAllocation, **by pool name**, where MetalLB iterates a Go
//!   map. Pools with `autoAssign: false` are only used when requested.
//! - **Address choice**: the lowest usable address of each needed family in the chosen pool that
//!   is free or already shared under the Service's key without a port collision (MetalLB walks
//!   the pool from its start, so Services with one sharing key pack onto one address).
//!   Lodestone takes the numerically lowest address of the pool; MetalLB walks the CIDRs in
//!   `spec.addresses` order, which differs only when the addresses are listed out of order.
//! - **Dual-stack**: families come from the cluster IPs. RequireDualStack needs both from one
//!   pool; PreferDualStack takes both from the first pool that has both, else one family from
//!   the first pool with the primary family, else the secondary; a PreferDualStack Service
//!   holding one family gets the other added from the same pool when it frees up. Lodestone
//!   adds it only when the Service's cluster IPs are dual-stack (MetalLB also tries for
//!   single-stack Services and then clears the result again on the next sync).
//! - **Sharing** (`metallb.io/allow-shared-ip`): same non-empty key, same backend key (the
//!   selector when externalTrafficPolicy is Local), no protocol/port collision; TCP and UDP on
//!   one port do not collide; the sole holder may change its key.
//! - **avoidBuggyIPs**: IPv4 `.0` and `.255` of every /24 are never handed out nor accepted.
//! - **namespaceSelectors** are matched against the Service's Namespace labels at allocation
//!   time (MetalLB resolves them when the configuration loads; a selector matching no
//!   Namespace then leaves the pool unrestricted, here it restricts it to nobody).
//! - **Reload** re-maps allocations by address: a renamed pool keeps its Services; addresses
//!   no longer in a pool are released and reported. serviceAllocation changes are enforced
//!   by the next `assign` (which clears and re-allocates, like MetalLB).
//! - **Counters** as MetalLB computes them: per pool and family, total from the CIDRs (IPv6
//!   prefixes of 2^62 addresses or more count as `i64::MAX`), in use = distinct held addresses.
//!
//! # Cost
//! `assign`, `release` and `restore` are O(log n) in the number of held addresses and free
//! intervals, plus O(pools) for the pool choice and O(addresses under the Service's sharing
//! key) for sharing; never O(pool size). `set_config` and a rebuild are O(n log n).

mod addrset;
mod allocator;
mod checks;
mod error;
mod k8s;
mod outcome;
mod pool;
mod request;
mod table;

pub use addrset::{Family, is_buggy};
pub use allocator::{Allocator, PoolCounters};
pub use error::{AllocError, FamilyList, IpList, PoolsError};
pub use k8s::{
    ANNOTATION_ADDRESS_POOL, ANNOTATION_ALLOW_SHARED_IP, ANNOTATION_IP_ALLOCATED_FROM_POOL,
    ANNOTATION_LOADBALANCER_IPS, DEPRECATED_ANNOTATION_PREFIX, RequestError,
};
pub use outcome::{Allocation, Assigned, Change, ClearReason, Cleared, Dropped, Outcome};
pub use request::{FamilyPolicy, Labels, Port, Protocol, ServiceKey, ServiceRequest};

/// A linear-scan reference allocator, the baseline of the benchmarks: the lowest free address
/// found by walking the pool address by address, as MetalLB does.
#[doc(hidden)]
pub mod baseline;
