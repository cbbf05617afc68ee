//! `Config::from_resources`: the one place metallb.io objects get their meaning.
//!
//! ```text
//!   BFDProfiles ─┐
//!   Communities ─┼─► pools ─► peers ─► L2 adverts ─► BGP adverts ─► cross checks ─► Config
//!   (aliases)    │   (overlaps)  (timers, secrets)     (aggregation, localPref) (BFD echo vs IPv6)
//!   every problem is collected (not just the first); references not created yet are Pending
//! ```
//!
//! Rules follow MetalLB's `internal/config` (`config.go`, `validation.go`), except where
//! Lodestone's own BGP does more than MetalLB's native mode (IPv6 over BGP, large communities,
//! BFD, graceful restart are valid) and where the module docs of [`super`] say otherwise.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::addresses::{ParsedEntry, parse_entry};
use super::community::Community;
use super::error::{ConfigError, Problem, Reason};
use super::model::{
    AddressBlock, BfdProfile, Config, Kind, L2Advertisement, Missing, ObjectRef, Pending, Pool,
    PreferredNode, ServiceAllocation,
};
use super::resources::Resources;
use super::selector::{Labels, Selector, canonical};
use crate::v1beta1;

/// Collects problems and pending references while parsing.
#[derive(Default)]
pub(crate) struct Sink {
    pub problems: Vec<Problem>,
    pub pending: Vec<Pending>,
}

impl Sink {
    pub fn problem(&mut self, object: &ObjectRef, field: impl Into<String>, reason: Reason) {
        self.problems.push(Problem {
            object: object.clone(),
            field: field.into(),
            reason,
        });
    }

    pub fn pending(&mut self, object: &ObjectRef, field: impl Into<String>, missing: Missing) {
        self.pending.push(Pending {
            object: object.clone(),
            field: field.into(),
            missing,
        });
    }
}

impl Config {
    /// Validates `resources` and builds the configuration.
    ///
    /// `Ok((config, pending))`: the configuration is valid; `pending` lists references to
    /// objects that do not exist yet (Secrets, BFDProfiles, community aliases, pools, peers) —
    /// not errors, since they depend on creation order, but the objects holding them are not
    /// fully effective until the targets exist. `Err`: every fatal problem found.
    pub fn from_resources(resources: &Resources) -> Result<(Config, Vec<Pending>), ConfigError> {
        let mut sink = Sink::default();
        let bfd_profiles = bfd_profiles(resources, &mut sink);
        let communities = community_aliases(resources, &mut sink);
        let pools = pools(resources, &mut sink);
        let peers = super::parse_bgp::peers(resources, &bfd_profiles, &mut sink);
        let l2_advertisements = l2_advertisements(resources, &pools, &mut sink);
        let bgp_advertisements = super::parse_bgp::bgp_advertisements(
            resources,
            &pools,
            &peers,
            &communities,
            &mut sink,
        );
        let config = Config {
            pools: pools.into_iter().map(|(k, v)| (k, v.pool)).collect(),
            peers,
            bgp_advertisements,
            l2_advertisements,
            bfd_profiles,
            communities,
        };
        super::parse_bgp::check_echo_with_ipv6(&config, &mut sink);
        if sink.problems.is_empty() {
            Ok((config, sink.pending))
        } else {
            Err(ConfigError {
                problems: sink.problems,
                pending: sink.pending,
            })
        }
    }
}

/// A pool plus its parsed entries (needed by the aggregation checks).
pub(crate) struct ParsedPool {
    pub pool: Pool,
    pub entries: Vec<ParsedEntry>,
}

pub(crate) fn object_ref(kind: Kind, meta: &ObjectMeta) -> ObjectRef {
    ObjectRef::new(
        kind,
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

/// Checks the name: non-empty and not seen before for this kind. Returns whether it is usable.
pub(crate) fn check_name(obj: &ObjectRef, seen: &mut BTreeSet<String>, sink: &mut Sink) -> bool {
    if obj.name.is_empty() {
        sink.problem(obj, "metadata.name", Reason::MissingName);
        return false;
    }
    if !seen.insert(obj.name.clone()) {
        sink.problem(
            obj,
            "metadata.name",
            Reason::DuplicateName {
                kind: obj.kind.as_str().to_string(),
                name: obj.name.clone(),
            },
        );
        return false;
    }
    true
}

/// Reports repeated strings in a list. Returns whether the list is clean.
pub(crate) fn check_unique(obj: &ObjectRef, field: &str, list: &[String], sink: &mut Sink) -> bool {
    let mut seen = BTreeSet::new();
    let mut ok = true;
    for (i, v) in list.iter().enumerate() {
        if !seen.insert(v.as_str()) {
            sink.problem(
                obj,
                format!("{field}[{i}]"),
                Reason::DuplicateEntry { value: v.clone() },
            );
            ok = false;
        }
    }
    ok
}

/// Converts a list of selectors, reporting invalid and repeated ones. `None` when any is bad.
pub(crate) fn selectors(
    obj: &ObjectRef,
    field: &str,
    list: &[LabelSelector],
    sink: &mut Sink,
) -> Option<Vec<Selector>> {
    let mut out = Vec::with_capacity(list.len());
    let mut seen = BTreeSet::new();
    let mut ok = true;
    for (i, sel) in list.iter().enumerate() {
        match Selector::from_label_selector(sel) {
            Ok(s) => {
                if seen.insert(canonical(sel)) {
                    out.push(s);
                } else {
                    sink.problem(
                        obj,
                        format!("{field}[{i}]"),
                        Reason::DuplicateSelector {
                            selector: s.to_string(),
                        },
                    );
                    ok = false;
                }
            }
            Err(e) => {
                sink.problem(obj, format!("{field}[{i}]"), Reason::InvalidSelector(e));
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

pub(crate) fn labels_of(meta: &ObjectMeta) -> Labels {
    meta.labels.clone().unwrap_or_default()
}

fn check_range(
    obj: &ObjectRef,
    field: &str,
    value: Option<u32>,
    (min, max): (u32, u32),
    default: u32,
    sink: &mut Sink,
) -> Option<u32> {
    match value {
        None => Some(default),
        Some(v) if (min..=max).contains(&v) => Some(v),
        Some(v) => {
            sink.problem(
                obj,
                field,
                Reason::OutOfRange {
                    value: i64::from(v),
                    min: i64::from(min),
                    max: i64::from(max),
                },
            );
            None
        }
    }
}

fn bfd_profiles(res: &Resources, sink: &mut Sink) -> BTreeMap<String, BfdProfile> {
    let mut seen = BTreeSet::new();
    let mut out = BTreeMap::new();
    for p in &res.bfd_profiles {
        let obj = object_ref(Kind::BFDProfile, &p.metadata);
        if !check_name(&obj, &mut seen, sink) {
            continue;
        }
        let s = &p.spec;
        let ms = std::time::Duration::from_millis;
        let rx = check_range(
            &obj,
            "spec.receiveInterval",
            s.receive_interval,
            (10, 60000),
            300,
            sink,
        );
        let tx = check_range(
            &obj,
            "spec.transmitInterval",
            s.transmit_interval,
            (10, 60000),
            300,
            sink,
        );
        let mult = check_range(
            &obj,
            "spec.detectMultiplier",
            s.detect_multiplier,
            (2, 255),
            3,
            sink,
        );
        let echo = check_range(
            &obj,
            "spec.echoInterval",
            s.echo_interval,
            (10, 60000),
            50,
            sink,
        );
        let ttl = check_range(&obj, "spec.minimumTtl", s.minimum_ttl, (1, 254), 254, sink);
        if let (Some(rx), Some(tx), Some(mult), Some(echo), Some(ttl)) = (rx, tx, mult, echo, ttl) {
            out.insert(
                obj.name.clone(),
                BfdProfile {
                    name: obj.name.clone(),
                    namespace: obj.namespace.clone(),
                    receive_interval: ms(u64::from(rx)),
                    transmit_interval: ms(u64::from(tx)),
                    detect_multiplier: u8::try_from(mult).unwrap_or(u8::MAX),
                    echo_interval: ms(u64::from(echo)),
                    echo_mode: s.echo_mode.unwrap_or(false),
                    passive_mode: s.passive_mode.unwrap_or(false),
                    minimum_ttl: u8::try_from(ttl).unwrap_or(u8::MAX),
                },
            );
        }
    }
    out
}

fn community_aliases(res: &Resources, sink: &mut Sink) -> BTreeMap<String, Community> {
    let mut seen_objects = BTreeSet::new();
    let mut out = BTreeMap::new();
    for c in &res.communities {
        let obj = object_ref(Kind::Community, &c.metadata);
        if !check_name(&obj, &mut seen_objects, sink) {
            continue;
        }
        for (i, alias) in c.spec.communities.iter().enumerate() {
            let name = alias.name.clone().unwrap_or_default();
            let value = alias.value.clone().unwrap_or_default();
            match Community::parse(&value) {
                Ok(v) => match out.entry(name) {
                    std::collections::btree_map::Entry::Occupied(e) => sink.problem(
                        &obj,
                        format!("spec.communities[{i}].name"),
                        Reason::DuplicateEntry {
                            value: e.key().clone(),
                        },
                    ),
                    std::collections::btree_map::Entry::Vacant(e) => {
                        e.insert(v);
                    }
                },
                Err(e) => sink.problem(
                    &obj,
                    format!("spec.communities[{i}].value"),
                    Reason::InvalidCommunity(e),
                ),
            }
        }
    }
    out
}

fn pools(res: &Resources, sink: &mut Sink) -> BTreeMap<String, ParsedPool> {
    let mut seen = BTreeSet::new();
    let mut out: BTreeMap<String, ParsedPool> = BTreeMap::new();
    // Every well-formed entry read so far: (pool, entry text, parsed), for overlap checks.
    let mut all_entries: Vec<(String, String, ParsedEntry)> = Vec::new();
    for p in &res.pools {
        let obj = object_ref(Kind::IPAddressPool, &p.metadata);
        if !check_name(&obj, &mut seen, sink) {
            continue;
        }
        let before = sink.problems.len();
        let spec = &p.spec;
        if spec.addresses.is_empty() {
            sink.problem(&obj, "spec.addresses", Reason::NoAddresses);
        }
        let mut blocks = Vec::new();
        let mut entries = Vec::new();
        for (i, text) in spec.addresses.iter().enumerate() {
            let field = format!("spec.addresses[{i}]");
            match parse_entry(text) {
                Ok(parsed) => {
                    // One problem per pair of entries (MetalLB compares CIDR by CIDR and stops
                    // at the first; the entry pair is what a user can act on).
                    for (other_pool, other_text, other) in &all_entries {
                        if parsed.overlaps(other) {
                            sink.problem(
                                &obj,
                                field.clone(),
                                Reason::AddressOverlap {
                                    addresses: text.clone(),
                                    other_pool: other_pool.clone(),
                                    other_addresses: other_text.clone(),
                                },
                            );
                        }
                    }
                    all_entries.push((obj.name.clone(), text.clone(), parsed.clone()));
                    blocks.push(AddressBlock {
                        spec: text.clone(),
                        cidrs: parsed.cidrs.clone(),
                    });
                    entries.push(parsed);
                }
                Err(reason) => sink.problem(&obj, field, reason),
            }
        }
        let service_allocation = spec
            .service_allocation
            .as_ref()
            .and_then(|sa| service_allocation(&obj, sa, sink));
        if sink.problems.len() == before {
            out.insert(
                obj.name.clone(),
                ParsedPool {
                    pool: Pool {
                        name: obj.name.clone(),
                        namespace: obj.namespace.clone(),
                        labels: labels_of(&p.metadata),
                        blocks,
                        avoid_buggy_ips: spec.avoid_buggy_ips,
                        auto_assign: spec.auto_assign,
                        service_allocation,
                    },
                    entries,
                },
            );
        }
    }
    out
}

fn service_allocation(
    obj: &ObjectRef,
    sa: &v1beta1::ServiceAllocation,
    sink: &mut Sink,
) -> Option<ServiceAllocation> {
    let ns_ok = check_unique(
        obj,
        "spec.serviceAllocation.namespaces",
        &sa.namespaces,
        sink,
    );
    let ns_sel = selectors(
        obj,
        "spec.serviceAllocation.namespaceSelectors",
        &sa.namespace_selectors,
        sink,
    );
    let svc_sel = selectors(
        obj,
        "spec.serviceAllocation.serviceSelectors",
        &sa.service_selectors,
        sink,
    );
    let (Some(namespace_selectors), Some(service_selectors), true) = (ns_sel, svc_sel, ns_ok)
    else {
        return None;
    };
    Some(ServiceAllocation {
        priority: sa.priority.unwrap_or(0),
        namespaces: sa.namespaces.iter().cloned().collect(),
        namespace_selectors,
        service_selectors,
    })
}

/// Resolves `ipAddressPools` + `ipAddressPoolSelectors` to existing pool names (sorted,
/// unique); neither given = every pool. Names that do not exist are pending references.
pub(crate) fn resolve_pools(
    obj: &ObjectRef,
    names: &[String],
    selectors: &[Selector],
    pools: &BTreeMap<String, ParsedPool>,
    all_pool_names: &BTreeSet<String>,
    sink: &mut Sink,
) -> Vec<String> {
    if names.is_empty() && selectors.is_empty() {
        return pools.keys().cloned().collect();
    }
    let mut out = BTreeSet::new();
    for (i, n) in names.iter().enumerate() {
        if pools.contains_key(n) {
            out.insert(n.clone());
        } else if !all_pool_names.contains(n) {
            sink.pending(
                obj,
                format!("spec.ipAddressPools[{i}]"),
                Missing::Pool(n.clone()),
            );
        }
    }
    for (name, p) in pools {
        if selectors.iter().any(|s| s.matches(&p.pool.labels)) {
            out.insert(name.clone());
        }
    }
    out.into_iter().collect()
}

pub(crate) fn all_pool_names(res: &Resources) -> BTreeSet<String> {
    res.pools
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect()
}

fn l2_advertisements(
    res: &Resources,
    pools: &BTreeMap<String, ParsedPool>,
    sink: &mut Sink,
) -> Vec<L2Advertisement> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let all_pools = all_pool_names(res);
    for a in &res.l2_advertisements {
        let obj = object_ref(Kind::L2Advertisement, &a.metadata);
        if !check_name(&obj, &mut seen, sink) {
            continue;
        }
        let s = &a.spec;
        let pools_ok = check_unique(&obj, "spec.ipAddressPools", &s.ip_address_pools, sink);
        let pool_sel = selectors(
            &obj,
            "spec.ipAddressPoolSelectors",
            &s.ip_address_pool_selectors,
            sink,
        );
        let node_sel = selectors(&obj, "spec.nodeSelectors", &s.node_selectors, sink);
        let svc_sel = selectors(&obj, "spec.serviceSelectors", &s.service_selectors, sink);
        let mut preferred = Vec::new();
        let mut pref_ok = true;
        for (i, p) in s.preferred_node_selectors.iter().enumerate() {
            if !(1..=100).contains(&p.weight) {
                sink.problem(
                    &obj,
                    format!("spec.preferredNodeSelectors[{i}].weight"),
                    Reason::OutOfRange {
                        value: i64::from(p.weight),
                        min: 1,
                        max: 100,
                    },
                );
                pref_ok = false;
            }
            match Selector::from_label_selector(&p.preference) {
                Ok(selector) => preferred.push(PreferredNode {
                    weight: p.weight,
                    selector,
                }),
                Err(e) => {
                    sink.problem(
                        &obj,
                        format!("spec.preferredNodeSelectors[{i}].preference"),
                        Reason::InvalidSelector(e),
                    );
                    pref_ok = false;
                }
            }
        }
        let (Some(pool_sel), Some(node_selectors), Some(service_selectors), true, true) =
            (pool_sel, node_sel, svc_sel, pools_ok, pref_ok)
        else {
            continue;
        };
        out.push(L2Advertisement {
            name: obj.name.clone(),
            namespace: obj.namespace.clone(),
            pools: resolve_pools(
                &obj,
                &s.ip_address_pools,
                &pool_sel,
                pools,
                &all_pools,
                sink,
            ),
            interfaces: s.interfaces.clone(),
            node_selectors,
            service_selectors,
            preferred_nodes: preferred,
        });
    }
    out
}
