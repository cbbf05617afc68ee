//! BGP parts of the parser: peers (ASNs, endpoint, timers, password), BGP advertisements
//! (aggregation, communities, localPref) and the BFD-echo-versus-IPv6 cross check.
//!
//! ```text
//!   BGPPeer v1beta2 ──► Peer { peer_asn, endpoint, timers, password, bfd_profile, ... }
//!   BGPAdvertisement ──► BgpAdvertisement { pools, aggregation, communities, local_pref, ... }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;

use super::community::{Community, CommunityError};
use super::error::Reason;
use super::model::{
    BfdProfile, BgpAdvertisement, Config, Family, Kind, Missing, ObjectRef, Peer, PeerAsn,
    PeerEndpoint, PeerPassword, SecretKeyRef, Timers,
};
use super::parse::{
    ParsedPool, Sink, all_pool_names, check_name, check_unique, object_ref, resolve_pools,
    selectors,
};
use super::resources::Resources;
use super::selector::{Labels, Selector};
use crate::v1beta1::GoDuration;
use crate::v1beta2::{self, DynamicASNMode};

/// Highest `peerPort` MetalLB's CRD accepts.
const MAX_PEER_PORT: u16 = 16384;

pub(crate) fn peers(
    res: &Resources,
    bfd_profiles: &BTreeMap<String, BfdProfile>,
    sink: &mut Sink,
) -> BTreeMap<String, Peer> {
    let all_bfd: BTreeSet<String> = res
        .bfd_profiles
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    let mut seen = BTreeSet::new();
    let mut out = BTreeMap::new();
    for p in &res.peers {
        let obj = object_ref(Kind::BGPPeer, &p.metadata);
        if !check_name(&obj, &mut seen, sink) {
            continue;
        }
        let before = sink.problems.len();
        if let Some(peer) = peer(&obj, p, res, bfd_profiles, &all_bfd, sink)
            && sink.problems.len() == before
        {
            out.insert(obj.name.clone(), peer);
        }
    }
    out
}

fn has_line_break(s: &str) -> bool {
    s.contains(['\n', '\r'])
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

fn peer(
    obj: &ObjectRef,
    p: &v1beta2::BGPPeer,
    res: &Resources,
    bfd_profiles: &BTreeMap<String, BfdProfile>,
    all_bfd: &BTreeSet<String>,
    sink: &mut Sink,
) -> Option<Peer> {
    let s = &p.spec;
    let before = sink.problems.len();
    if s.my_asn == 0 {
        sink.problem(obj, "spec.myASN", Reason::MissingMyAsn);
    }
    let fixed = s.peer_asn.filter(|a| *a != 0);
    let peer_asn = match (fixed, s.dynamic_asn) {
        (None, None) => {
            sink.problem(obj, "spec.peerASN", Reason::MissingPeerAsn);
            None
        }
        (Some(_), Some(_)) => {
            sink.problem(obj, "spec.dynamicASN", Reason::BothPeerAsnAndDynamic);
            None
        }
        (Some(a), None) => Some(PeerAsn::Fixed(a)),
        (None, Some(DynamicASNMode::Internal)) => Some(PeerAsn::DynamicInternal),
        (None, Some(DynamicASNMode::External)) => Some(PeerAsn::DynamicExternal),
    };
    let multihop = s.ebgp_multi_hop.unwrap_or(false);
    if fixed == Some(s.my_asn) && multihop {
        sink.problem(obj, "spec.ebgpMultiHop", Reason::MultihopOnIbgp);
    }

    let address = non_empty(&s.peer_address);
    let interface = non_empty(&s.interface);
    let endpoint = match (address, interface) {
        (None, None) => {
            sink.problem(obj, "spec.peerAddress", Reason::NoAddressOrInterface);
            None
        }
        (Some(_), Some(_)) => {
            sink.problem(obj, "spec.interface", Reason::BothAddressAndInterface);
            None
        }
        (Some(a), None) => match a.parse::<IpAddr>() {
            Ok(ip) => Some(PeerEndpoint::Address(ip)),
            Err(_) => {
                sink.problem(
                    obj,
                    "spec.peerAddress",
                    Reason::InvalidAddress(a.to_string()),
                );
                None
            }
        },
        (None, Some(i)) if has_line_break(i) => {
            sink.problem(obj, "spec.interface", Reason::LineBreak);
            None
        }
        (None, Some(i)) => Some(PeerEndpoint::Interface(i.to_string())),
    };

    let timers = timers(
        obj,
        s.hold_time.as_deref(),
        s.keepalive_time.as_deref(),
        sink,
    );
    let connect_time = s
        .connect_time
        .as_deref()
        .and_then(|t| connect_time(obj, t, sink));

    let router_id = non_empty(&s.router_id).and_then(|r| match r.parse::<Ipv4Addr>() {
        Ok(ip) => Some(ip),
        Err(_) => {
            sink.problem(obj, "spec.routerID", Reason::InvalidRouterId(r.to_string()));
            None
        }
    });
    let source_address = non_empty(&s.source_address).and_then(|a| match a.parse::<IpAddr>() {
        Ok(ip) => Some(ip),
        Err(_) => {
            sink.problem(
                obj,
                "spec.sourceAddress",
                Reason::InvalidAddress(a.to_string()),
            );
            None
        }
    });
    let port = s.peer_port.unwrap_or(v1beta2::DEFAULT_PEER_PORT);
    if port > MAX_PEER_PORT {
        sink.problem(
            obj,
            "spec.peerPort",
            Reason::OutOfRange {
                value: i64::from(port),
                min: 0,
                max: i64::from(MAX_PEER_PORT),
            },
        );
    }
    let node_selectors = selectors(obj, "spec.nodeSelectors", &s.node_selectors, sink);

    let password = password(obj, p, &res.secrets, sink);

    let vrf = non_empty(&s.vrf).map(str::to_string);
    if vrf.as_deref().is_some_and(has_line_break) {
        sink.problem(obj, "spec.vrf", Reason::LineBreak);
    }
    let bfd_profile = non_empty(&s.bfd_profile).map(str::to_string);
    if let Some(b) = &bfd_profile
        && !bfd_profiles.contains_key(b)
        && !all_bfd.contains(b)
    {
        sink.pending(obj, "spec.bfdProfile", Missing::BfdProfile(b.clone()));
    }

    if sink.problems.len() != before {
        return None;
    }
    Some(Peer {
        name: obj.name.clone(),
        namespace: obj.namespace.clone(),
        my_asn: s.my_asn,
        peer_asn: peer_asn?,
        local_asn: s.local_asn.filter(|a| *a != 0),
        endpoint: endpoint?,
        port,
        source_address,
        router_id,
        timers: timers?,
        connect_time,
        ebgp_multihop: multihop,
        password: password?,
        bfd_profile,
        node_selectors: node_selectors?,
        vrf,
        graceful_restart: s.enable_graceful_restart.unwrap_or(false),
        disable_mp: s.disable_mp,
        dual_stack_address_family: s.dual_stack_address_family,
    })
}

fn duration(obj: &ObjectRef, field: &str, text: &str, sink: &mut Sink) -> Option<Duration> {
    match GoDuration::parse(text) {
        Ok(d) if d.is_negative() => {
            sink.problem(
                obj,
                field,
                Reason::InvalidDuration {
                    value: text.to_string(),
                    detail: "it is negative".to_string(),
                },
            );
            None
        }
        Ok(d) => Some(Duration::from_nanos(d.as_nanos().unsigned_abs())),
        Err(e) => {
            sink.problem(
                obj,
                field,
                Reason::InvalidDuration {
                    value: text.to_string(),
                    detail: e.to_string(),
                },
            );
            None
        }
    }
}

fn go_text(d: Duration) -> String {
    let nanos = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
    GoDuration::from_nanos(nanos).to_string()
}

/// MetalLB's `parseTimers`: hold alone → keepalive = hold/3; keepalive alone → hold = 3×;
/// hold rounded down to whole seconds must be 0 or ≥ 3 s; keepalive must not exceed hold.
fn timers(
    obj: &ObjectRef,
    hold: Option<&str>,
    ka: Option<&str>,
    sink: &mut Sink,
) -> Option<Timers> {
    let hold_d = hold.map(|h| duration(obj, "spec.holdTime", h, sink));
    let ka_d = ka.map(|k| duration(obj, "spec.keepaliveTime", k, sink));
    let (hold, keepalive) = match (hold_d, ka_d) {
        (None, None) => return Some(Timers::default()),
        (Some(None), _) | (_, Some(None)) => return None,
        (Some(Some(h)), Some(Some(k))) => (h, k),
        (Some(Some(h)), None) => (h, h / 3),
        (None, Some(Some(k))) => (k.saturating_mul(3), k),
    };
    let whole = hold.as_secs();
    if whole != 0 && whole < 3 {
        sink.problem(
            obj,
            "spec.holdTime",
            Reason::HoldTimeTooShort {
                hold: go_text(hold),
            },
        );
        return None;
    }
    if keepalive > hold {
        sink.problem(
            obj,
            "spec.keepaliveTime",
            Reason::KeepaliveAboveHold {
                keepalive: go_text(keepalive),
                hold: go_text(hold),
            },
        );
        return None;
    }
    Some(Timers {
        hold,
        keepalive,
        explicit: true,
    })
}

/// `connectTime`: the CRD's CEL rules, 1–65535 whole seconds.
fn connect_time(obj: &ObjectRef, text: &str, sink: &mut Sink) -> Option<Duration> {
    let d = duration(obj, "spec.connectTime", text, sink)?;
    if d.subsec_nanos() != 0 {
        sink.problem(
            obj,
            "spec.connectTime",
            Reason::InvalidDuration {
                value: text.to_string(),
                detail: "it must be a whole number of seconds".to_string(),
            },
        );
        return None;
    }
    if !(1..=65535).contains(&d.as_secs()) {
        sink.problem(
            obj,
            "spec.connectTime",
            Reason::OutOfRange {
                value: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                min: 1,
                max: 65535,
            },
        );
        return None;
    }
    Some(d)
}

const SECRET_TYPE_BASIC_AUTH: &str = "kubernetes.io/basic-auth";
const SECRET_TYPE_OPAQUE: &str = "Opaque";
const DEFAULT_PASSWORD_KEY: &str = "password";

fn password(
    obj: &ObjectRef,
    p: &v1beta2::BGPPeer,
    secrets: &[Secret],
    sink: &mut Sink,
) -> Option<PeerPassword> {
    let s = &p.spec;
    let inline = non_empty(&s.password);
    let secret_name = s.password_secret.as_ref().and_then(|r| non_empty(&r.name));
    match (inline, secret_name) {
        (Some(_), Some(_)) => {
            sink.problem(obj, "spec.passwordSecret", Reason::BothPasswordAndSecret);
            None
        }
        (Some(pw), None) if has_line_break(pw) => {
            sink.problem(obj, "spec.password", Reason::LineBreak);
            None
        }
        (Some(pw), None) => Some(PeerPassword::Inline(pw.to_string())),
        (None, None) => Some(PeerPassword::None),
        (None, Some(name)) => {
            let r = s.password_secret.as_ref();
            let namespace = r
                .and_then(|r| non_empty(&r.namespace))
                .unwrap_or(&obj.namespace)
                .to_string();
            let key = r
                .and_then(|r| non_empty(&r.key))
                .unwrap_or(DEFAULT_PASSWORD_KEY)
                .to_string();
            let secret_ref = SecretKeyRef {
                namespace: namespace.clone(),
                name: name.to_string(),
                key: key.clone(),
            };
            let found = secrets.iter().find(|sec| {
                sec.metadata.name.as_deref() == Some(name)
                    && sec.metadata.namespace.as_deref().unwrap_or_default() == namespace
            });
            let Some(secret) = found else {
                sink.pending(
                    obj,
                    "spec.passwordSecret",
                    Missing::Secret {
                        namespace,
                        name: name.to_string(),
                    },
                );
                return Some(PeerPassword::Pending(secret_ref));
            };
            let label = format!("{namespace}/{name}");
            let ty = secret.type_.as_deref().unwrap_or(SECRET_TYPE_OPAQUE);
            if ty != SECRET_TYPE_BASIC_AUTH && ty != SECRET_TYPE_OPAQUE {
                sink.problem(
                    obj,
                    "spec.passwordSecret",
                    Reason::SecretType {
                        secret: label,
                        found: ty.to_string(),
                    },
                );
                return None;
            }
            // `stringData` is write-only in the API, but manifests carry it; it wins over `data`.
            let bytes = secret
                .string_data
                .as_ref()
                .and_then(|d| d.get(&key))
                .map(|v| v.as_bytes().to_vec())
                .or_else(|| {
                    secret
                        .data
                        .as_ref()
                        .and_then(|d| d.get(&key))
                        .map(|b| b.0.clone())
                });
            let Some(bytes) = bytes else {
                sink.problem(
                    obj,
                    "spec.passwordSecret",
                    Reason::SecretKeyMissing { secret: label, key },
                );
                return None;
            };
            let Ok(value) = String::from_utf8(bytes) else {
                sink.problem(
                    obj,
                    "spec.passwordSecret",
                    Reason::SecretNotText { secret: label },
                );
                return None;
            };
            if has_line_break(&value) {
                sink.problem(obj, "spec.passwordSecret", Reason::LineBreak);
                return None;
            }
            Some(PeerPassword::FromSecret {
                secret: secret_ref,
                value,
            })
        }
    }
}

pub(crate) fn bgp_advertisements(
    res: &Resources,
    pools: &BTreeMap<String, ParsedPool>,
    peers: &BTreeMap<String, Peer>,
    aliases: &BTreeMap<String, Community>,
    sink: &mut Sink,
) -> Vec<BgpAdvertisement> {
    let mut seen = BTreeSet::new();
    let mut out: Vec<BgpAdvertisement> = Vec::new();
    let all_pools = all_pool_names(res);
    let all_peers: BTreeSet<String> = res
        .peers
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    let nodes: Vec<(String, Labels)> = res
        .nodes
        .iter()
        .map(|n| {
            (
                n.metadata.name.clone().unwrap_or_default(),
                n.metadata.labels.clone().unwrap_or_default(),
            )
        })
        .collect();
    for a in &res.bgp_advertisements {
        let obj = object_ref(Kind::BGPAdvertisement, &a.metadata);
        if !check_name(&obj, &mut seen, sink) {
            continue;
        }
        let before = sink.problems.len();
        let s = &a.spec;
        check_unique(&obj, "spec.ipAddressPools", &s.ip_address_pools, sink);
        check_unique(&obj, "spec.communities", &s.communities, sink);
        check_unique(&obj, "spec.peers", &s.peers, sink);
        let pool_sel = selectors(
            &obj,
            "spec.ipAddressPoolSelectors",
            &s.ip_address_pool_selectors,
            sink,
        );
        let node_sel = selectors(&obj, "spec.nodeSelectors", &s.node_selectors, sink);
        let svc_sel = selectors(&obj, "spec.serviceSelectors", &s.service_selectors, sink);

        if !s.service_selectors.is_empty() {
            if s.aggregation_length != 32 {
                sink.problem(
                    &obj,
                    "spec.aggregationLength",
                    Reason::SelectorsWithAggregation,
                );
            }
            if s.aggregation_length_v6 != 128 {
                sink.problem(
                    &obj,
                    "spec.aggregationLengthV6",
                    Reason::SelectorsWithAggregation,
                );
            }
        }
        let v4 = aggregation(
            &obj,
            "spec.aggregationLength",
            s.aggregation_length,
            1,
            32,
            sink,
        );
        let v6 = aggregation(
            &obj,
            "spec.aggregationLengthV6",
            s.aggregation_length_v6,
            0,
            128,
            sink,
        );

        let mut communities = BTreeSet::new();
        for (i, c) in s.communities.iter().enumerate() {
            let field = format!("spec.communities[{i}]");
            if let Some(v) = aliases.get(c) {
                communities.insert(*v);
                continue;
            }
            match Community::parse(c) {
                Ok(v) => {
                    communities.insert(v);
                }
                // Not a value's shape: an alias of a Community object not created yet.
                Err(CommunityError::Format(_)) => {
                    sink.pending(&obj, field, Missing::CommunityAlias(c.clone()))
                }
                Err(e) => sink.problem(&obj, field, Reason::InvalidCommunity(e)),
            }
        }
        for (i, peer) in s.peers.iter().enumerate() {
            if !peers.contains_key(peer) && !all_peers.contains(peer) {
                sink.pending(
                    &obj,
                    format!("spec.peers[{i}]"),
                    Missing::Peer(peer.clone()),
                );
            }
        }
        let (Some(pool_sel), Some(node_selectors), Some(service_selectors), Some(v4), Some(v6)) =
            (pool_sel, node_sel, svc_sel, v4, v6)
        else {
            continue;
        };
        if sink.problems.len() != before {
            continue;
        }
        let adv = BgpAdvertisement {
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
            aggregation_length_v4: v4,
            aggregation_length_v6: v6,
            local_pref: s.local_pref.unwrap_or(0),
            communities,
            peers: s.peers.clone(),
            node_selectors,
            service_selectors,
        };
        if check_against_pools(&obj, &adv, &out, pools, &nodes, sink) {
            out.push(adv);
        }
    }
    out
}

fn aggregation(
    obj: &ObjectRef,
    field: &str,
    value: i32,
    min: i32,
    max: u8,
    sink: &mut Sink,
) -> Option<u8> {
    if value > i32::from(max) {
        sink.problem(
            obj,
            field,
            Reason::AggregationTooLong {
                length: i64::from(value),
                max,
            },
        );
        return None;
    }
    if value < min {
        sink.problem(
            obj,
            field,
            Reason::OutOfRange {
                value: i64::from(value),
                min: i64::from(min),
                max: i64::from(max),
            },
        );
        return None;
    }
    u8::try_from(value).ok()
}

/// MetalLB's `validateBGPAdvPerPool`: aggregation versus each pool entry, and localPref
/// against earlier advertisements of the same pool.
fn check_against_pools(
    obj: &ObjectRef,
    adv: &BgpAdvertisement,
    earlier: &[BgpAdvertisement],
    pools: &BTreeMap<String, ParsedPool>,
    nodes: &[(String, Labels)],
    sink: &mut Sink,
) -> bool {
    let before = sink.problems.len();
    for pool_name in &adv.pools {
        let Some(pool) = pools.get(pool_name) else {
            continue;
        };
        for (block, entry) in pool.pool.blocks.iter().zip(&pool.entries) {
            let (length, field) = if entry.v6 {
                (adv.aggregation_length_v6, "spec.aggregationLengthV6")
            } else {
                (adv.aggregation_length_v4, "spec.aggregationLength")
            };
            let widest = entry
                .cidrs
                .iter()
                .map(|c| c.prefix_len())
                .min()
                .unwrap_or(0);
            if length < widest {
                sink.problem(
                    obj,
                    field,
                    Reason::AggregationShorterThanPool {
                        length,
                        pool: pool_name.clone(),
                        addresses: block.spec.clone(),
                        prefix_len: widest,
                    },
                );
            }
        }
        if !adv.service_selectors.is_empty() {
            continue;
        }
        for other in earlier {
            if !other.service_selectors.is_empty() || !other.pools.contains(pool_name) {
                continue;
            }
            if !local_pref_compatible(adv, other, &pool.pool.families(), nodes) {
                sink.problem(
                    obj,
                    "spec.localPref",
                    Reason::LocalPrefConflict {
                        local_pref: adv.local_pref,
                        other: other.name.clone(),
                        other_local_pref: other.local_pref,
                        pool: pool_name.clone(),
                    },
                );
                break;
            }
        }
    }
    sink.problems.len() == before
}

/// MetalLB's `BGPAdvertisementsHaveCompatibleLocalPref`. Node overlap uses the Nodes of the
/// snapshot; with no Nodes at all (offline validation) two advertisements are taken to share
/// nodes when both select every node or they have a selector in common.
fn local_pref_compatible(
    a: &BgpAdvertisement,
    b: &BgpAdvertisement,
    families: &BTreeSet<Family>,
    nodes: &[(String, Labels)],
) -> bool {
    if a.local_pref == b.local_pref {
        return true;
    }
    let has_v4 = families.contains(&Family::V4);
    let has_v6 = families.contains(&Family::V6);
    let v4_differs = a.aggregation_length_v4 != b.aggregation_length_v4;
    let v6_differs = a.aggregation_length_v6 != b.aggregation_length_v6;
    let aggregation_differs = match (has_v4, has_v6) {
        (false, false) => true,
        (true, false) => v4_differs,
        (false, true) => v6_differs,
        (true, true) => v4_differs && v6_differs,
    };
    if aggregation_differs {
        return true;
    }
    if !a.peers.is_empty() && !b.peers.is_empty() && !a.peers.iter().any(|p| b.peers.contains(p)) {
        return true;
    }
    if nodes.is_empty() {
        let all = |s: &[Selector]| s.is_empty();
        let shared = (all(&a.node_selectors) && all(&b.node_selectors))
            || a.node_selectors
                .iter()
                .any(|s| b.node_selectors.contains(s));
        return !shared;
    }
    !nodes
        .iter()
        .any(|(_, labels)| a.selects_node(labels) && b.selects_node(labels))
}

/// MetalLB's `validateConfig`: a peer whose BFD profile has echo mode must not advertise an
/// IPv6 pool.
pub(crate) fn check_echo_with_ipv6(config: &Config, sink: &mut Sink) {
    for pool in config.pools.values() {
        if !pool.families().contains(&Family::V6) {
            continue;
        }
        for adv in config.bgp_advertisements_for(&pool.name) {
            for peer in config.peers.values() {
                if !adv.selects_peer(&peer.name) {
                    continue;
                }
                let Some(profile) = &peer.bfd_profile else {
                    continue;
                };
                if config
                    .bfd_profiles
                    .get(profile)
                    .is_some_and(|p| p.echo_mode)
                {
                    sink.problem(
                        &ObjectRef::new(Kind::BGPPeer, peer.namespace.clone(), peer.name.clone()),
                        "spec.bfdProfile",
                        Reason::EchoWithIpv6 {
                            peer: peer.name.clone(),
                            profile: profile.clone(),
                            pool: pool.name.clone(),
                            advertisement: adv.name.clone(),
                        },
                    );
                }
            }
        }
    }
}
