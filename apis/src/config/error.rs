//! Validation problems: each names the object, the field and a plain-English reason.
//!
//! ```text
//!   ConfigError { problems: Vec<Problem> }      fatal: the configuration is rejected
//!   Problem { object: ObjectRef, field, reason: Reason }
//!   Pending (model.rs)                          non-fatal: a reference not created yet
//! ```

use std::fmt;

use super::community::CommunityError;
use super::model::{ObjectRef, Pending};
use super::selector::SelectorError;

/// One fatal problem in the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The object at fault.
    pub object: ObjectRef,
    /// The field at fault, as a path below the object (`spec.addresses[1]`, `metadata.name`).
    pub field: String,
    /// What is wrong.
    pub reason: Reason,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.object, self.field, self.reason)
    }
}

/// What is wrong, in plain English. Variants are stable so tests and metrics can match on them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    /// `metadata.name` is empty.
    #[error("the name is empty")]
    MissingName,
    /// Two objects of one kind share a name.
    #[error("another {kind} is already named {name:?}")]
    DuplicateName {
        /// Kind.
        kind: String,
        /// The shared name.
        name: String,
    },
    /// A pool with no addresses.
    #[error("the pool has no addresses")]
    NoAddresses,
    /// Not a CIDR (bad address, prefix length beyond the family, e.g. `/33`).
    #[error("{value:?} is not a valid CIDR: {detail}")]
    InvalidCidr {
        /// The entry.
        value: String,
        /// Why.
        detail: String,
    },
    /// A range `A-B` whose ends are not addresses of one family.
    #[error("{value:?} is not a valid address range: {detail}")]
    InvalidRange {
        /// The entry.
        value: String,
        /// Why.
        detail: String,
    },
    /// A range that starts after it ends.
    #[error("range {value:?} starts after it ends")]
    ReversedRange {
        /// The entry.
        value: String,
    },
    /// Two address entries share addresses (equal, nested or overlapping), in one pool or
    /// between pools.
    #[error("{addresses} overlaps {other_addresses} of pool {other_pool:?}")]
    AddressOverlap {
        /// The entry of this pool, as written.
        addresses: String,
        /// The pool holding the other entry (may be this pool).
        other_pool: String,
        /// The other entry, as written.
        other_addresses: String,
    },
    /// The same value twice in a list that must not repeat.
    #[error("{value:?} is listed twice")]
    DuplicateEntry {
        /// The repeated value.
        value: String,
    },
    /// The same selector twice in a list of selectors.
    #[error("the selector {selector} is listed twice")]
    DuplicateSelector {
        /// The selector, rendered.
        selector: String,
    },
    /// A selector that is not valid.
    #[error("invalid label selector: {0}")]
    InvalidSelector(SelectorError),
    /// `myASN` missing or 0.
    #[error("myASN must be set (1-4294967295)")]
    MissingMyAsn,
    /// Neither `peerASN` nor `dynamicASN`.
    #[error("one of peerASN and dynamicASN must be set")]
    MissingPeerAsn,
    /// Both `peerASN` and `dynamicASN`.
    #[error("peerASN and dynamicASN are mutually exclusive")]
    BothPeerAsnAndDynamic,
    /// `ebgpMultiHop` on an iBGP session.
    #[error("ebgpMultiHop is only for eBGP peers, and peerASN equals myASN")]
    MultihopOnIbgp,
    /// Neither address nor interface.
    #[error("one of peerAddress and interface must be set")]
    NoAddressOrInterface,
    /// Both address and interface.
    #[error("peerAddress and interface are mutually exclusive")]
    BothAddressAndInterface,
    /// A newline or carriage return where the value is written into routing configuration.
    #[error("the value contains a line break")]
    LineBreak,
    /// Not an IP address.
    #[error("{0:?} is not an IP address")]
    InvalidAddress(String),
    /// A router ID that is not an IPv4 address.
    #[error("router ID {0:?} is not an IPv4 address (BGP identifiers are 32-bit)")]
    InvalidRouterId(String),
    /// A duration that does not parse, or is negative.
    #[error("{value:?} is not a valid duration: {detail}")]
    InvalidDuration {
        /// The text.
        value: String,
        /// Why.
        detail: String,
    },
    /// Hold time of 1 or 2 seconds (after rounding down to whole seconds).
    #[error("hold time {hold} must be 0 or at least 3s")]
    HoldTimeTooShort {
        /// The resolved hold time.
        hold: String,
    },
    /// Keepalive longer than the hold time.
    #[error("keepalive time {keepalive} is longer than hold time {hold}")]
    KeepaliveAboveHold {
        /// Resolved keepalive.
        keepalive: String,
        /// Resolved hold time.
        hold: String,
    },
    /// Both `password` and `passwordSecret`.
    #[error("password and passwordSecret are mutually exclusive")]
    BothPasswordAndSecret,
    /// The password Secret has a type other than basic-auth or Opaque.
    #[error("Secret {secret} has type {found:?}; expected kubernetes.io/basic-auth or Opaque")]
    SecretType {
        /// `namespace/name`.
        secret: String,
        /// The type found.
        found: String,
    },
    /// The password Secret lacks the key.
    #[error("Secret {secret} has no key {key:?}")]
    SecretKeyMissing {
        /// `namespace/name`.
        secret: String,
        /// The key looked for.
        key: String,
    },
    /// The password in the Secret is not UTF-8.
    #[error("the password in Secret {secret} is not UTF-8 text")]
    SecretNotText {
        /// `namespace/name`.
        secret: String,
    },
    /// A number outside its allowed range.
    #[error("{value} is outside the allowed range {min}-{max}")]
    OutOfRange {
        /// The value.
        value: i64,
        /// Smallest allowed.
        min: i64,
        /// Largest allowed.
        max: i64,
    },
    /// An aggregation length longer than the family allows.
    #[error("aggregation length {length} is longer than {max}")]
    AggregationTooLong {
        /// The length.
        length: i64,
        /// 32 or 128.
        max: u8,
    },
    /// An aggregation length shorter than a prefix of a pool it applies to.
    #[error(
        "aggregation length {length} is shorter than /{prefix_len} of {addresses:?} in pool {pool:?}, so the advertised prefix would cover addresses outside the pool"
    )]
    AggregationShorterThanPool {
        /// The aggregation length.
        length: u8,
        /// Pool name.
        pool: String,
        /// The pool entry.
        addresses: String,
        /// The widest prefix of that entry.
        prefix_len: u8,
    },
    /// `serviceSelectors` together with non-default aggregation lengths.
    #[error("serviceSelectors can only be used with the default aggregation lengths (32 and 128)")]
    SelectorsWithAggregation,
    /// Two advertisements send different LOCAL_PREF for the same prefix to the same peer from
    /// the same node.
    #[error(
        "localPref {local_pref} conflicts with localPref {other_local_pref} of BGPAdvertisement {other:?} for pool {pool:?} (same aggregation, peers and nodes)"
    )]
    LocalPrefConflict {
        /// This advertisement's value.
        local_pref: u32,
        /// The other advertisement.
        other: String,
        /// Its value.
        other_local_pref: u32,
        /// The shared pool.
        pool: String,
    },
    /// A community value that is malformed (right shape, wrong numbers).
    #[error("invalid community: {0}")]
    InvalidCommunity(CommunityError),
    /// A BFD profile with echo mode used by a peer that advertises an IPv6 pool.
    #[error(
        "peer {peer:?} uses BFDProfile {profile:?} with echo mode, which cannot run with the IPv6 pool {pool:?} advertised by {advertisement:?}"
    )]
    EchoWithIpv6 {
        /// The peer.
        peer: String,
        /// Its BFD profile.
        profile: String,
        /// The IPv6 pool.
        pool: String,
        /// The advertisement linking them.
        advertisement: String,
    },
}

/// The configuration is invalid: every fatal problem found, in a stable order.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The problems (never empty).
    pub problems: Vec<Problem>,
    /// References not created yet, found along the way (non-fatal).
    pub pending: Vec<Pending>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} configuration problem(s)", self.problems.len())?;
        for p in &self.problems {
            write!(f, "\n{p}")?;
        }
        Ok(())
    }
}
