//! L2 part of the plan: per address, the election candidates over all nodes.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Node;
use lodestone_apis::config::L2Advertisement;

use super::facts::{self, node_labels};
use super::{Input, Interfaces, L2Address, Plan, ServiceView};

/// Candidates and interfaces of one Service's addresses.
struct ServiceL2 {
    candidates: BTreeMap<String, i32>,
    my_interfaces: Option<Interfaces>,
}

fn service_l2(
    input: &Input<'_>,
    nodes: &BTreeMap<&str, &Node>,
    view: &ServiceView<'_>,
) -> Option<ServiceL2> {
    let advs: Vec<&L2Advertisement> = input
        .config
        .l2_advertisements_for(view.pool)
        .filter(|a| a.selects_service(&view.labels))
        .collect();
    if advs.is_empty() {
        return None;
    }
    let mut candidates = BTreeMap::new();
    let mut my_interfaces = None;
    if view.endpoints.any_serving {
        for (name, node) in nodes {
            if facts::node_availability(Some(node)).is_err() {
                continue;
            }
            if view.local && !view.endpoints.serving_nodes.contains(*name) {
                continue;
            }
            let labels = node_labels(node);
            let selecting: Vec<&&L2Advertisement> =
                advs.iter().filter(|a| a.selects_node(&labels)).collect();
            let Some(weight) = selecting.iter().map(|a| a.preference(&labels)).max() else {
                continue;
            };
            let weight =
                i32::try_from(weight).unwrap_or(if weight < 0 { i32::MIN } else { i32::MAX });
            candidates.insert((*name).to_string(), weight);
            if *name == input.node_name {
                my_interfaces = Some(interfaces_of(&selecting));
            }
        }
    }
    Some(ServiceL2 {
        candidates,
        my_interfaces,
    })
}

/// All interfaces if any selecting advertisement lists none, else the union of the lists.
fn interfaces_of(advs: &[&&L2Advertisement]) -> Interfaces {
    if advs.iter().any(|a| a.interfaces.is_empty()) {
        return Interfaces::All;
    }
    Interfaces::Only(
        advs.iter()
            .flat_map(|a| a.interfaces.iter().cloned())
            .collect(),
    )
}

pub(super) fn addresses(
    input: &Input<'_>,
    nodes: &BTreeMap<&str, &Node>,
    views: &[ServiceView<'_>],
    plan: &mut Plan,
) {
    // Per address: every Service's candidate set, to be intersected.
    let mut per_ip: BTreeMap<std::net::IpAddr, Vec<(&ServiceView<'_>, ServiceL2)>> =
        BTreeMap::new();
    for view in views {
        let Some(l2) = service_l2(input, nodes, view) else {
            continue;
        };
        for ip in &view.ips {
            per_ip.entry(*ip).or_default().push((
                view,
                ServiceL2 {
                    candidates: l2.candidates.clone(),
                    my_interfaces: l2.my_interfaces.clone(),
                },
            ));
        }
    }
    for (ip, entries) in per_ip {
        let services: BTreeSet<_> = entries.iter().map(|(v, _)| v.key.clone()).collect();
        let mut common: Option<BTreeMap<String, i32>> = None;
        for (_, l2) in &entries {
            common = Some(match common {
                None => l2.candidates.clone(),
                Some(c) => c
                    .into_iter()
                    .filter_map(|(n, w)| l2.candidates.get(&n).map(|w2| (n, w.max(*w2))))
                    .collect(),
            });
        }
        let mut candidates = common.unwrap_or_default();
        if candidates.is_empty() {
            for (_, l2) in &entries {
                for (n, w) in &l2.candidates {
                    let e = candidates.entry(n.clone()).or_insert(*w);
                    *e = (*e).max(*w);
                }
            }
        }
        let interfaces = if candidates.contains_key(input.node_name) {
            merge_interfaces(
                entries
                    .iter()
                    .filter_map(|(_, l2)| l2.my_interfaces.clone()),
            )
        } else {
            None
        };
        if candidates.is_empty() {
            continue;
        }
        plan.l2.insert(
            ip,
            L2Address {
                services,
                candidates,
                interfaces,
            },
        );
    }
}

fn merge_interfaces(all: impl Iterator<Item = Interfaces>) -> Option<Interfaces> {
    let mut out: Option<Interfaces> = None;
    for i in all {
        out = Some(match (out, i) {
            (Some(Interfaces::All), _) | (_, Interfaces::All) => Interfaces::All,
            (None, only) => only,
            (Some(Interfaces::Only(mut a)), Interfaces::Only(b)) => {
                a.extend(b);
                Interfaces::Only(a)
            }
        });
    }
    out
}
