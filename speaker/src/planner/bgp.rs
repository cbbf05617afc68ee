//! BGP part of the plan: sessions for this node and the routes per peer.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use k8s_openapi::api::core::v1::Node;
use lodestone_apis::config::{PeerEndpoint, PeerPassword};

use super::facts::{self, node_labels};
use super::{Input, PeerBlocked, PeerPlan, Plan, RouteAttrs, ServiceView, Skip};

/// The BGPPeers whose nodeSelectors match this node.
pub(super) fn sessions(input: &Input<'_>, me: Option<&Node>, plan: &mut Plan) {
    // Without its Node object the node's labels are unknown: peers with node selectors cannot
    // be matched, so only selector-less peers run (MetalLB waits for the node likewise).
    let labels = me.map(node_labels).unwrap_or_default();
    for (name, peer) in &input.config.peers {
        if me.is_none() && !peer.node_selectors.is_empty() {
            continue;
        }
        if !peer.selects_node(&labels) {
            continue;
        }
        let address = match &peer.endpoint {
            PeerEndpoint::Address(a) => *a,
            PeerEndpoint::Interface(i) => {
                plan.blocked_peers
                    .insert(name.clone(), PeerBlocked::Unnumbered(i.clone()));
                continue;
            }
        };
        let password = match &peer.password {
            PeerPassword::Pending(_) => {
                plan.blocked_peers
                    .insert(name.clone(), PeerBlocked::PasswordPending);
                continue;
            }
            p => p.value().map(str::to_string),
        };
        let bfd = match &peer.bfd_profile {
            None => None,
            Some(profile) => match input.config.bfd_profiles.get(profile) {
                Some(p) => Some(p.clone()),
                None => {
                    plan.blocked_peers.insert(
                        name.clone(),
                        PeerBlocked::BfdProfilePending(profile.clone()),
                    );
                    continue;
                }
            },
        };
        let router_id = peer
            .router_id
            .or_else(|| me.and_then(node_ipv4))
            .or(match peer.source_address {
                Some(IpAddr::V4(v4)) => Some(v4),
                _ => None,
            })
            .unwrap_or_else(|| derived_router_id(input.node_name));
        plan.sessions.insert(
            name.clone(),
            PeerPlan {
                peer: peer.clone(),
                address,
                router_id,
                password,
                bfd,
            },
        );
        plan.routes.insert(name.clone(), BTreeMap::new());
    }
}

/// This node's first IPv4 InternalIP.
fn node_ipv4(node: &Node) -> Option<Ipv4Addr> {
    node.status
        .as_ref()?
        .addresses
        .as_ref()?
        .iter()
        .filter(|a| a.type_ == "InternalIP")
        .find_map(|a| a.address.parse::<Ipv4Addr>().ok())
}

/// A stable, non-zero identifier from the node name (FNV-1a), for nodes without IPv4.
fn derived_router_id(node: &str) -> Ipv4Addr {
    let mut h: u32 = 0x811c_9dc5;
    for b in node.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    Ipv4Addr::from(h.max(1))
}

/// Routes this node advertises for one Service.
pub(super) fn service(
    input: &Input<'_>,
    me: Option<&Node>,
    nodes: &BTreeMap<&str, &Node>,
    view: &ServiceView<'_>,
    plan: &mut Plan,
) {
    let skip = |plan: &mut Plan, why: Skip| {
        plan.skipped.insert(view.key.clone(), why);
    };
    if let Err(why) = facts::node_availability(me) {
        return skip(plan, Skip::Node(why));
    }
    let labels = me.map(node_labels).unwrap_or_default();
    if view.local {
        if !view.endpoints.serving_nodes.contains(input.node_name) {
            return skip(plan, Skip::NoLocalEndpoints);
        }
    } else {
        // Endpoints on NetworkUnavailable nodes do not count; endpoints whose node is unknown
        // (or unnamed) do.
        let usable = view.endpoints.serving_nodes.iter().any(|n| {
            facts::node_availability(nodes.get(n.as_str()).copied())
                != Err(facts::NodeUnavailable::NetworkUnavailable)
        }) || (view.endpoints.any_serving && view.endpoints.serving_nodes.is_empty());
        if !usable {
            return skip(plan, Skip::NoEndpoints);
        }
    }
    let mut advertised = false;
    for adv in input.config.bgp_advertisements_for(view.pool) {
        if !adv.selects_node(&labels) || !adv.selects_service(&view.labels) {
            continue;
        }
        advertised = true;
        for (peer, routes) in plan.routes.iter_mut() {
            if !adv.selects_peer(peer) {
                continue;
            }
            for ip in &view.ips {
                let attrs = routes
                    .entry(adv.prefix_for(*ip))
                    .or_insert_with(RouteAttrs::default);
                attrs.communities.extend(adv.communities.iter().copied());
                if adv.local_pref != 0 {
                    attrs.local_pref = Some(attrs.local_pref.unwrap_or(0).max(adv.local_pref));
                }
            }
            plan.bgp_services
                .entry(view.key.clone())
                .or_default()
                .insert(peer.clone());
        }
    }
    if !advertised {
        skip(plan, Skip::NoAdvertisement);
    }
}
