//! Candidate ranking: preferred weight first, then a stable hash of (node, address).
//!
//! The hash is SHA-256 over `node + "#" + address` (the address in its canonical text form),
//! compared as bytes, smallest first: the same rendezvous hash MetalLB's layer-2 node choice uses,
//! so for equal weights and the same candidates both pick the same owner. It is a fixed
//! algorithm (not `std`'s hasher), so speakers of different builds agree during upgrades.

use std::cmp::{Ordering, Reverse};
use std::net::IpAddr;

use sha2::{Digest, Sha256};

/// A node that may own an address, after the caller's eligibility filtering (L2Advertisement
/// node/service selectors, NetworkUnavailable, the exclusion label, Local-policy endpoints).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Candidate {
    pub node: String,
    /// Sum of the weights of the matching preferred-node terms; higher ranks first.
    pub weight: i32,
}

impl Candidate {
    pub fn new(node: impl Into<String>, weight: i32) -> Self {
        Candidate {
            node: node.into(),
            weight,
        }
    }
}

/// The rendezvous hash of `node` for `address`.
pub fn node_hash(node: &str, address: IpAddr) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(node.as_bytes());
    h.update(b"#");
    h.update(address.to_string().as_bytes());
    h.finalize().into()
}

/// Sort key of a candidate for an address: smaller is better.
pub fn rank_key(candidate: &Candidate, address: IpAddr) -> (Reverse<i32>, [u8; 32], String) {
    (
        Reverse(candidate.weight),
        node_hash(&candidate.node, address),
        candidate.node.clone(),
    )
}

/// Node names of the candidates for `address`, best first. A node listed twice counts once,
/// with its highest weight.
pub fn ranked(candidates: &[Candidate], address: IpAddr) -> Vec<String> {
    let mut best: std::collections::BTreeMap<&str, i32> = std::collections::BTreeMap::new();
    for c in candidates {
        let w = best.entry(c.node.as_str()).or_insert(c.weight);
        *w = (*w).max(c.weight);
    }
    let mut keyed: Vec<_> = best
        .into_iter()
        .map(|(node, weight)| {
            let c = Candidate::new(node, weight);
            (rank_key(&c, address), c.node)
        })
        .collect();
    keyed.sort();
    keyed.into_iter().map(|(_, node)| node).collect()
}

/// Compares two candidates for `address` (Less = `a` ranks higher).
pub fn compare(a: &Candidate, b: &Candidate, address: IpAddr) -> Ordering {
    rank_key(a, address).cmp(&rank_key(b, address))
}
