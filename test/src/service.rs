//! Service defaulting, allocation and validation as the real registry does it: clusterIPs from
//! the service CIDRs (IPv4 and IPv6), ipFamilies/ipFamilyPolicy, nodePorts, immutable fields.

use std::collections::HashSet;
use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::{Value, json};

use crate::error::Cause;

const NODE_PORT_MIN: u16 = 30000;
const NODE_PORT_MAX: u16 = 32767;

/// ClusterIP and nodePort allocations.
#[derive(Debug)]
pub struct ServiceAllocator {
    cidrs: Vec<IpNet>,
    ips: HashSet<IpAddr>,
    ports: HashSet<u16>,
    next_port: u16,
}

fn family_of(net: &IpNet) -> &'static str {
    match net {
        IpNet::V4(_) => "IPv4",
        IpNet::V6(_) => "IPv6",
    }
}

fn family_of_ip(ip: &IpAddr) -> &'static str {
    if ip.is_ipv4() { "IPv4" } else { "IPv6" }
}

fn str_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(String::from))
        .collect()
}

impl ServiceAllocator {
    pub fn new(cidrs: Vec<IpNet>) -> Self {
        ServiceAllocator {
            cidrs,
            ips: HashSet::new(),
            ports: HashSet::new(),
            next_port: NODE_PORT_MIN,
        }
    }

    fn families(&self) -> Vec<&'static str> {
        let mut f = vec![];
        for c in &self.cidrs {
            let fam = family_of(c);
            if !f.contains(&fam) {
                f.push(fam);
            }
        }
        f
    }

    fn cidr_for(&self, family: &str) -> Option<IpNet> {
        self.cidrs.iter().find(|c| family_of(c) == family).copied()
    }

    fn allocate_ip(&mut self, family: &str) -> Option<IpAddr> {
        let net = self.cidr_for(family)?;
        // Skip the network address and the first host (reserved for the `kubernetes` Service
        // only when asked for explicitly); walk hosts until a free one.
        net.hosts()
            .skip(1)
            .take(1 << 20)
            .find(|ip| self.ips.insert(*ip))
    }

    fn allocate_port(&mut self) -> Option<u16> {
        let span = NODE_PORT_MAX - NODE_PORT_MIN + 1;
        for i in 0..span {
            let p = NODE_PORT_MIN + (self.next_port - NODE_PORT_MIN + i) % span;
            if self.ports.insert(p) {
                self.next_port = if p == NODE_PORT_MAX {
                    NODE_PORT_MIN
                } else {
                    p + 1
                };
                return Some(p);
            }
        }
        None
    }

    /// Frees what a deleted Service held.
    pub fn release(&mut self, svc: &Value) {
        for ip in str_list(svc.pointer("/spec/clusterIPs")) {
            if let Ok(ip) = ip.parse::<IpAddr>() {
                self.ips.remove(&ip);
            }
        }
        for p in svc
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(n) = p.get("nodePort").and_then(Value::as_u64) {
                self.ports.remove(&(n as u16));
            }
        }
    }

    /// Defaults, allocates and validates `svc` (a create when `old` is None).
    /// On error nothing stays allocated.
    pub fn admit(&mut self, old: Option<&Value>, svc: &mut Value) -> Result<(), Vec<Cause>> {
        let mut causes = vec![];
        let mut taken_ips = vec![];
        let mut taken_ports = vec![];
        self.admit_inner(old, svc, &mut causes, &mut taken_ips, &mut taken_ports);
        if causes.is_empty() {
            if let Some(old) = old {
                self.release_dropped(old, svc);
            }
            return Ok(());
        }
        for ip in taken_ips {
            self.ips.remove(&ip);
        }
        for p in taken_ports {
            self.ports.remove(&p);
        }
        Err(causes)
    }

    fn release_dropped(&mut self, old: &Value, new: &Value) {
        let new_ips = str_list(new.pointer("/spec/clusterIPs"));
        for ip in str_list(old.pointer("/spec/clusterIPs")) {
            if !new_ips.contains(&ip)
                && let Ok(ip) = ip.parse::<IpAddr>()
            {
                self.ips.remove(&ip);
            }
        }
        let ports = |v: &Value| -> Vec<u64> {
            v.pointer("/spec/ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| p.get("nodePort").and_then(Value::as_u64))
                .collect()
        };
        let new_ports = ports(new);
        for p in ports(old) {
            if !new_ports.contains(&p) {
                self.ports.remove(&(p as u16));
            }
        }
    }

    fn admit_inner(
        &mut self,
        old: Option<&Value>,
        svc: &mut Value,
        causes: &mut Vec<Cause>,
        taken_ips: &mut Vec<IpAddr>,
        taken_ports: &mut Vec<u16>,
    ) {
        if !svc.get("spec").is_some_and(Value::is_object) {
            svc["spec"] = json!({});
        }
        let old_spec = old
            .and_then(|o| o.get("spec"))
            .cloned()
            .unwrap_or(json!({}));
        let spec = &mut svc["spec"];
        let ty = spec
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("ClusterIP")
            .to_string();
        spec["type"] = json!(ty);
        if !["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"].contains(&ty.as_str()) {
            let allowed: Vec<String> = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            causes.push(Cause::unsupported("spec.type", &json!(ty), &allowed));
            return;
        }
        if spec.get("sessionAffinity").is_none() {
            spec["sessionAffinity"] = json!("None");
        }
        let external_name = ty == "ExternalName";
        if !external_name && spec.get("internalTrafficPolicy").is_none() {
            spec["internalTrafficPolicy"] = json!("Cluster");
        }
        let wants_node_ports = ty == "NodePort"
            || (ty == "LoadBalancer"
                && spec
                    .get("allocateLoadBalancerNodePorts")
                    .and_then(Value::as_bool)
                    != Some(false));
        if ty == "LoadBalancer" && spec.get("allocateLoadBalancerNodePorts").is_none() {
            spec["allocateLoadBalancerNodePorts"] = json!(true);
        }
        if (ty == "NodePort" || ty == "LoadBalancer") && spec.get("externalTrafficPolicy").is_none()
        {
            spec["externalTrafficPolicy"] = json!("Cluster");
        }

        // Values allocated before survive an update that omits them (patchAllocatedValues).
        let old_ty = old_spec.get("type").and_then(Value::as_str).unwrap_or("");
        if old.is_some() && old_ty != "ExternalName" && !external_name {
            for f in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
                let empty = match spec.get(f) {
                    None | Some(Value::Null) => true,
                    Some(Value::String(s)) => s.is_empty(),
                    Some(Value::Array(a)) => a.is_empty(),
                    _ => false,
                };
                if empty && let Some(v) = old_spec.get(f) {
                    spec[f] = v.clone();
                }
            }
        }

        // loadBalancerClass
        if let Some(class) = spec.get("loadBalancerClass").filter(|c| !c.is_null()) {
            if ty != "LoadBalancer" {
                causes.push(Cause::forbidden(
                    "spec.loadBalancerClass",
                    "may only be used when `type` is 'LoadBalancer'",
                ));
            } else if old_ty == "LoadBalancer" && old_spec.get("loadBalancerClass") != Some(class) {
                causes.push(Cause::invalid(
                    "spec.loadBalancerClass",
                    class,
                    "may not change once set",
                ));
            }
        } else if old_ty == "LoadBalancer"
            && ty == "LoadBalancer"
            && old_spec
                .get("loadBalancerClass")
                .is_some_and(|c| !c.is_null())
        {
            causes.push(Cause::invalid(
                "spec.loadBalancerClass",
                &Value::Null,
                "may not change once set",
            ));
        }

        // ports
        let ports = spec
            .get("ports")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let headless = spec.get("clusterIP").and_then(Value::as_str) == Some("None");
        if ports.is_empty() && !external_name && !headless {
            causes.push(Cause::required("spec.ports", ""));
        }
        let old_ports = old_spec
            .get("ports")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut out_ports = vec![];
        for (i, p) in ports.iter().enumerate() {
            let mut p = p.clone();
            let f = format!("spec.ports[{i}]");
            let proto = p
                .get("protocol")
                .and_then(Value::as_str)
                .unwrap_or("TCP")
                .to_string();
            p["protocol"] = json!(proto);
            if !["TCP", "UDP", "SCTP"].contains(&proto.as_str()) {
                let allowed: Vec<String> = ["SCTP", "TCP", "UDP"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                causes.push(Cause::unsupported(
                    format!("{f}.protocol"),
                    &json!(proto),
                    &allowed,
                ));
            }
            let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
            if !(1..=65535).contains(&port) {
                causes.push(Cause::invalid(
                    format!("{f}.port"),
                    &json!(port),
                    "must be between 1 and 65535, inclusive",
                ));
            }
            if p.get("targetPort").is_none() {
                p["targetPort"] = json!(port);
            }
            if ports.len() > 1
                && p.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .is_empty()
            {
                causes.push(Cause::required(format!("{f}.name"), ""));
            }
            let mut node_port = p.get("nodePort").and_then(Value::as_i64).unwrap_or(0);
            let old_np = old_ports
                .iter()
                .find(|o| {
                    o.get("port").and_then(Value::as_i64) == Some(port)
                        && o.get("protocol").and_then(Value::as_str).unwrap_or("TCP") == proto
                })
                .and_then(|o| o.get("nodePort").and_then(Value::as_i64))
                .unwrap_or(0);
            if node_port == 0 && old_np != 0 && wants_node_ports {
                node_port = old_np;
                p["nodePort"] = json!(node_port);
            }
            if node_port != 0 && !(ty == "NodePort" || ty == "LoadBalancer") {
                causes.push(Cause::forbidden(
                    format!("{f}.nodePort"),
                    &format!("may not be used when `type` is '{ty}'"),
                ));
            } else if node_port != 0 && node_port != old_np {
                if !(i64::from(NODE_PORT_MIN)..=i64::from(NODE_PORT_MAX)).contains(&node_port) {
                    causes.push(Cause::invalid(
                        format!("{f}.nodePort"),
                        &json!(node_port),
                        &format!(
                            "provided port is not in the valid range. The range of valid ports is {NODE_PORT_MIN}-{NODE_PORT_MAX}"
                        ),
                    ));
                } else if !self.ports.insert(node_port as u16) {
                    causes.push(Cause::invalid(
                        format!("{f}.nodePort"),
                        &json!(node_port),
                        "provided port is already allocated",
                    ));
                } else {
                    taken_ports.push(node_port as u16);
                }
            } else if node_port == 0 && wants_node_ports {
                match self.allocate_port() {
                    Some(np) => {
                        taken_ports.push(np);
                        p["nodePort"] = json!(np);
                    }
                    None => causes.push(Cause::invalid(
                        format!("{f}.nodePort"),
                        &json!(0),
                        "range is full",
                    )),
                }
            }
            out_ports.push(p);
        }
        if !out_ports.is_empty() {
            spec["ports"] = Value::Array(out_ports);
        }

        if external_name {
            for f in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
                if let Some(m) = spec.as_object_mut() {
                    m.remove(f);
                }
            }
            if spec
                .get("externalName")
                .and_then(Value::as_str)
                .unwrap_or("")
                .is_empty()
            {
                causes.push(Cause::required("spec.externalName", ""));
            }
            return;
        }
        self.admit_ips(
            old.is_some() && old_ty != "ExternalName",
            &old_spec,
            spec,
            causes,
            taken_ips,
        );
    }

    fn admit_ips(
        &mut self,
        is_update: bool,
        old_spec: &Value,
        spec: &mut Value,
        causes: &mut Vec<Cause>,
        taken: &mut Vec<IpAddr>,
    ) {
        let cluster_families = self.families();
        let mut ips = str_list(spec.get("clusterIPs"));
        let single = spec
            .get("clusterIP")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if ips.is_empty() && !single.is_empty() {
            ips = vec![single.clone()];
        }
        if !single.is_empty() && ips.first() != Some(&single) {
            causes.push(Cause::invalid(
                "spec.clusterIPs[0]",
                &json!(ips.first()),
                "must be equal to clusterIP",
            ));
            return;
        }
        let headless = ips.first().map(String::as_str) == Some("None");
        let policy = spec
            .get("ipFamilyPolicy")
            .and_then(Value::as_str)
            .unwrap_or("SingleStack")
            .to_string();
        if !["SingleStack", "PreferDualStack", "RequireDualStack"].contains(&policy.as_str()) {
            let allowed: Vec<String> = ["PreferDualStack", "RequireDualStack", "SingleStack"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            causes.push(Cause::unsupported(
                "spec.ipFamilyPolicy",
                &json!(policy),
                &allowed,
            ));
            return;
        }
        if policy == "RequireDualStack" && cluster_families.len() < 2 {
            causes.push(Cause::invalid(
                "spec.ipFamilyPolicy",
                &json!(policy),
                "this cluster is not configured for dual-stack services",
            ));
            return;
        }
        let mut families = str_list(spec.get("ipFamilies"));
        for (i, f) in families.iter().enumerate() {
            if f != "IPv4" && f != "IPv6" {
                let allowed: Vec<String> = vec!["IPv4".into(), "IPv6".into()];
                causes.push(Cause::unsupported(
                    format!("spec.ipFamilies[{i}]"),
                    &json!(f),
                    &allowed,
                ));
            } else if families[..i].contains(f) {
                causes.push(Cause::duplicate(format!("spec.ipFamilies[{i}]"), &json!(f)));
            } else if !cluster_families.contains(&f.as_str()) {
                causes.push(Cause::invalid(
                    format!("spec.ipFamilies[{i}]"),
                    &json!(f),
                    "not configured on this cluster",
                ));
            }
        }
        if !causes.is_empty() {
            return;
        }
        if families.len() > 1 && policy == "SingleStack" {
            causes.push(Cause::invalid(
                "spec.ipFamilyPolicy",
                &json!(policy),
                "must be RequireDualStack or PreferDualStack when multiple 'ipFamilies' are specified",
            ));
            return;
        }
        // Families implied by given IPs.
        if !headless {
            for ip in &ips {
                if let Ok(addr) = ip.parse::<IpAddr>() {
                    let fam = family_of_ip(&addr).to_string();
                    if !families.contains(&fam) {
                        families.push(fam);
                    }
                }
            }
        }
        if families.is_empty() {
            families.push(
                cluster_families
                    .first()
                    .copied()
                    .unwrap_or("IPv4")
                    .to_string(),
            );
        }
        if policy != "SingleStack" && families.len() < 2 && cluster_families.len() > 1 {
            let other = cluster_families
                .iter()
                .find(|f| **f != families[0])
                .copied()
                .unwrap_or("IPv6");
            families.push(other.to_string());
        }
        spec["ipFamilyPolicy"] = json!(policy);
        spec["ipFamilies"] = json!(families);
        if headless {
            spec["clusterIP"] = json!("None");
            spec["clusterIPs"] = json!(["None"]);
            return;
        }
        let old_ips = str_list(old_spec.get("clusterIPs"));
        if is_update && !old_ips.is_empty() && ips.first() != old_ips.first() {
            causes.push(Cause::invalid(
                "spec.clusterIPs[0]",
                &json!(ips.first()),
                "may not change once set",
            ));
            return;
        }
        let mut out = vec![];
        for (i, fam) in families.iter().enumerate() {
            match ips.get(i) {
                Some(ip) if old_ips.get(i) == Some(ip) => out.push(ip.clone()),
                Some(ip) => {
                    let Ok(addr) = ip.parse::<IpAddr>() else {
                        causes.push(Cause::invalid(
                            format!("spec.clusterIPs[{i}]"),
                            &json!(ip),
                            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                        ));
                        return;
                    };
                    let in_range = self.cidr_for(fam).is_some_and(|n| n.contains(&addr));
                    if family_of_ip(&addr) != fam {
                        causes.push(Cause::invalid(
                            format!("spec.clusterIPs[{i}]"),
                            &json!(ip),
                            &format!("expected an {fam} value as indicated by `ipFamilies[{i}]`"),
                        ));
                        return;
                    }
                    if !in_range {
                        let range = self
                            .cidr_for(fam)
                            .map(|n| n.to_string())
                            .unwrap_or_default();
                        causes.push(Cause::invalid(
                            "spec.clusterIPs",
                            &json!(ips),
                            &format!("failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is {range}"),
                        ));
                        return;
                    }
                    if !self.ips.insert(addr) {
                        causes.push(Cause::invalid(
                            "spec.clusterIPs",
                            &json!(ips),
                            &format!(
                                "failed to allocate IP {ip}: provided IP is already allocated"
                            ),
                        ));
                        return;
                    }
                    taken.push(addr);
                    out.push(ip.clone());
                }
                None => match self.allocate_ip(fam) {
                    Some(addr) => {
                        taken.push(addr);
                        out.push(addr.to_string());
                    }
                    None => {
                        causes.push(Cause::invalid(
                            "spec.clusterIPs",
                            &json!(ips),
                            "range is full",
                        ));
                        return;
                    }
                },
            }
        }
        spec["clusterIP"] = json!(out.first());
        spec["clusterIPs"] = json!(out);
    }

    /// Reserves the first host of the primary range for the `kubernetes` Service.
    pub fn first_ip(&mut self) -> Option<String> {
        let net = *self.cidrs.first()?;
        let ip = net.hosts().next()?;
        self.ips.insert(ip);
        Some(ip.to_string())
    }
}

/// Validates a Service status write (`status.loadBalancer.ingress[].ip`).
pub fn validate_status(svc: &Value) -> Vec<Cause> {
    let mut causes = vec![];
    for (i, ing) in svc
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(ip) = ing.get("ip").and_then(Value::as_str)
            && ip.parse::<IpAddr>().is_err()
        {
            causes.push(Cause::invalid(
                format!("status.loadBalancer.ingress[{i}].ip"),
                &json!(ip),
                "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            ));
        }
        if ing.get("ipMode").is_some() && ing.get("ip").is_none() {
            causes.push(Cause::required(
                format!("status.loadBalancer.ingress[{i}].ipMode"),
                "must be specified when `ip` is set",
            ));
        }
    }
    causes
}
