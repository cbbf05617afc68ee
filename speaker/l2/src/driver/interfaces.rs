//! Which interfaces get responders.
//!
//! MetalLB's rules (internal/layer2/announcer.go): skip interfaces that are down, enslaved to a
//! bridge or bond (`/sys/class/net/IF/master` exists) or flagged NOARP; answer ARP on
//! broadcast-capable ones and NDP on those with an IPv6 link-local address; and by default skip
//! the names of its `metallb-excludel2` ConfigMap (chart `exclude-l2-config.yaml`), all anchored
//! patterns `^docker.*`, `^cbr.*`, `^dummy.*`, `^virbr.*`, `^lxcbr.*`, `^veth.*`, `^lo$`,
//! `^cali.*`, `^tunl.*`, `^flannel.*`, `^kube-ipvs.*`, `^cni.*`, `^nodelocaldns.*`.
//!
//! Interfaces are read from sysfs and `/proc/net/if_inet6` (both per network namespace); the
//! parsing is pure and tested here.

use std::collections::BTreeSet;
use std::path::Path;

use crate::ethernet::MacAddr;

const IFF_UP: u32 = 0x1;
const IFF_BROADCAST: u32 = 0x2;
const IFF_NOARP: u32 = 0x80;

/// A name pattern of MetalLB's exclusion list (`^prefix.*` or `^exact$`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamePattern {
    Prefix(String),
    Exact(String),
}

impl NamePattern {
    pub fn matches(&self, name: &str) -> bool {
        match self {
            NamePattern::Prefix(p) => name.starts_with(p.as_str()),
            NamePattern::Exact(e) => name == e,
        }
    }
}

/// MetalLB's default `announcedInterfacesToExclude`.
pub fn metallb_default_exclusions() -> Vec<NamePattern> {
    let prefixes = [
        "docker",
        "cbr",
        "dummy",
        "virbr",
        "lxcbr",
        "veth",
        "cali",
        "tunl",
        "flannel",
        "kube-ipvs",
        "cni",
        "nodelocaldns",
    ];
    let mut v: Vec<NamePattern> = prefixes
        .iter()
        .map(|p| NamePattern::Prefix((*p).to_owned()))
        .collect();
    v.push(NamePattern::Exact("lo".to_owned()));
    v
}

/// Which interfaces the driver runs responders on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterfaceSelection {
    /// Exactly these names (still subject to the up / not enslaved / not NOARP rules).
    Named(BTreeSet<String>),
    /// Every interface except names matching these patterns.
    AllExcept(Vec<NamePattern>),
}

impl Default for InterfaceSelection {
    fn default() -> Self {
        InterfaceSelection::AllExcept(metallb_default_exclusions())
    }
}

impl InterfaceSelection {
    pub fn admits(&self, name: &str) -> bool {
        match self {
            InterfaceSelection::Named(names) => names.contains(name),
            InterfaceSelection::AllExcept(patterns) => !patterns.iter().any(|p| p.matches(name)),
        }
    }
}

/// What we know of one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInfo {
    pub name: String,
    pub index: u32,
    pub mac: MacAddr,
    pub flags: u32,
    pub enslaved: bool,
    pub has_ipv6_link_local: bool,
}

impl InterfaceInfo {
    fn usable(&self) -> bool {
        self.flags & IFF_UP != 0
            && !self.enslaved
            && self.flags & IFF_NOARP == 0
            && self.mac != MacAddr::ZERO
    }
    /// Gets an ARP responder.
    pub fn wants_arp(&self) -> bool {
        self.usable() && self.flags & IFF_BROADCAST != 0
    }
    /// Gets an NDP responder.
    pub fn wants_ndp(&self) -> bool {
        self.usable() && self.has_ipv6_link_local
    }
    /// Would run the same responders as `other` (flags such as PROMISC, set by a capture, do
    /// not matter).
    pub fn same_responders(&self, other: &InterfaceInfo) -> bool {
        self.index == other.index
            && self.mac == other.mac
            && self.wants_arp() == other.wants_arp()
            && self.wants_ndp() == other.wants_ndp()
    }
}

/// Parses a sysfs `flags` file ("0x1003\n").
pub fn parse_flags(text: &str) -> Option<u32> {
    let t = text.trim();
    let hex = t.strip_prefix("0x").unwrap_or(t);
    u32::from_str_radix(hex, 16).ok()
}

/// Names of interfaces with an IPv6 link-local address, from `/proc/net/if_inet6`
/// (`address ifindex prefixlen scope flags name`, scope 0x20 = link).
pub fn parse_if_inet6(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            match f.as_slice() {
                [_, _, _, scope, _, name] if u32::from_str_radix(scope, 16).ok() == Some(0x20) => {
                    Some((*name).to_owned())
                }
                _ => None,
            }
        })
        .collect()
}

/// Lists interfaces of the current network namespace.
pub fn list(sys_class_net: &Path, if_inet6: &Path) -> std::io::Result<Vec<InterfaceInfo>> {
    let link_local = std::fs::read_to_string(if_inet6)
        .map(|t| parse_if_inet6(&t))
        .unwrap_or_default();
    let mut out = Vec::new();
    for entry in std::fs::read_dir(sys_class_net)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let dir = entry.path();
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
        let Ok(index) = read("ifindex").trim().parse::<u32>() else {
            continue;
        };
        let Ok(mac) = read("address").trim().parse::<MacAddr>() else {
            continue;
        };
        let Some(flags) = parse_flags(&read("flags")) else {
            continue;
        };
        out.push(InterfaceInfo {
            enslaved: dir.join("master").exists(),
            has_ipv6_link_local: link_local.contains(&name),
            name,
            index,
            mac,
            flags,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_exclusions_match_metallb() {
        let sel = InterfaceSelection::default();
        for excluded in [
            "lo",
            "docker0",
            "veth1234",
            "cali9",
            "flannel.1",
            "cni0",
            "kube-ipvs0",
            "nodelocaldns",
            "tunl0",
            "virbr0",
            "lxcbr0",
            "cbr0",
            "dummy0",
        ] {
            assert!(!sel.admits(excluded), "{excluded}");
        }
        for admitted in ["eth0", "ens3", "bond0", "br0", "lo1", "eno1.100"] {
            assert!(sel.admits(admitted), "{admitted}");
        }
        let named = InterfaceSelection::Named(["eth1".to_owned()].into());
        assert!(named.admits("eth1"));
        assert!(!named.admits("eth0"));
    }

    #[test]
    fn flags_and_if_inet6() {
        assert_eq!(parse_flags("0x1003\n"), Some(0x1003));
        assert_eq!(parse_flags("junk"), None);
        let t = "fe800000000000000000fffe00000a 00000002 40 20 80 eth0\n\
                 20010db8000000000000000000000010 00000002 40 00 80 eth0\n\
                 00000000000000000000000000000001 00000001 80 10 80 lo\n\
                 20010db8000000000000000000000011 00000003 40 00 80 eth1\n\
                 short line\n";
        assert_eq!(parse_if_inet6(t), ["eth0".to_owned()].into());
    }

    #[test]
    fn responder_kinds() {
        let base = InterfaceInfo {
            name: "eth0".into(),
            index: 2,
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            flags: IFF_UP | IFF_BROADCAST,
            enslaved: false,
            has_ipv6_link_local: true,
        };
        assert!(base.wants_arp() && base.wants_ndp());
        let down = InterfaceInfo {
            flags: IFF_BROADCAST,
            ..base.clone()
        };
        assert!(!down.wants_arp() && !down.wants_ndp());
        let noarp = InterfaceInfo {
            flags: IFF_UP | IFF_BROADCAST | IFF_NOARP,
            ..base.clone()
        };
        assert!(!noarp.wants_arp() && !noarp.wants_ndp());
        let slave = InterfaceInfo {
            enslaved: true,
            ..base.clone()
        };
        assert!(!slave.wants_arp());
        let p2p = InterfaceInfo {
            flags: IFF_UP,
            ..base.clone()
        };
        assert!(!p2p.wants_arp() && p2p.wants_ndp());
        let no_ll = InterfaceInfo {
            has_ipv6_link_local: false,
            ..base.clone()
        };
        assert!(no_ll.wants_arp() && !no_ll.wants_ndp());
        let promisc = InterfaceInfo {
            flags: IFF_UP | IFF_BROADCAST | 0x100,
            ..base.clone()
        };
        assert!(promisc.same_responders(&base));
        assert!(!no_ll.same_responders(&base));
        let new_mac = InterfaceInfo {
            mac: MacAddr([2, 0, 0, 0, 0, 2]),
            ..base.clone()
        };
        assert!(!new_mac.same_responders(&base));
    }
}
