//! Server-side printing: `meta.k8s.io/v1 Table` responses for clients that ask for them
//! (`kubectl get` without `-o`), with the real columns for the kinds Lodestone users look at
//! and `additionalPrinterColumns` for custom resources.

use serde_json::{Value, json};

use crate::catalog::ResourceType;
use crate::rest::{Cluster, str_at};

/// Does the Accept header ask for a Table?
pub fn wanted(accept: &str) -> bool {
    accept
        .split(',')
        .any(|part| part.contains("as=Table") && part.contains("g=meta.k8s.io"))
}

fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86400);
    if s < 120 {
        format!("{s}s")
    } else if m < 10 {
        if s % 60 == 0 {
            format!("{m}m")
        } else {
            format!("{m}m{}s", s % 60)
        }
    } else if m < 180 {
        format!("{m}m")
    } else if h < 8 {
        if m % 60 == 0 {
            format!("{h}h")
        } else {
            format!("{h}h{}m", m % 60)
        }
    } else if h < 48 {
        format!("{h}h")
    } else if d < 8 {
        if h % 24 == 0 {
            format!("{d}d")
        } else {
            format!("{d}d{}h", h % 24)
        }
    } else if d < 730 {
        format!("{d}d")
    } else {
        format!("{}y{}d", d / 365, d % 365)
    }
}

fn age(o: &Value) -> String {
    let created = str_at(o, "/metadata/creationTimestamp").parse::<jiff::Timestamp>();
    match created {
        Ok(t) => human_duration(jiff::Timestamp::now().as_second() - t.as_second()),
        Err(_) => "<unknown>".into(),
    }
}

fn col(name: &str, ty: &str, priority: u8) -> Value {
    let format = if name == "Name" { "name" } else { "" };
    json!({"name": name, "type": ty, "format": format, "description": "", "priority": priority})
}

fn service_cells(o: &Value) -> Vec<Value> {
    let spec = &o["spec"];
    let ty = spec["type"].as_str().unwrap_or("ClusterIP");
    let cluster_ip = spec["clusterIP"]
        .as_str()
        .filter(|s| !s.is_empty())
        .unwrap_or("<none>");
    let mut external: Vec<String> = spec["externalIPs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    for ing in o
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(ip) = ing["ip"].as_str().or(ing["hostname"].as_str()) {
            external.push(ip.to_string());
        }
    }
    let external = match (ty, external.is_empty()) {
        (_, false) => external.join(","),
        ("LoadBalancer", true) => "<pending>".into(),
        ("ExternalName", true) => spec["externalName"]
            .as_str()
            .unwrap_or("<none>")
            .to_string(),
        _ => "<none>".into(),
    };
    let ports: Vec<String> = spec["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let proto = p["protocol"].as_str().unwrap_or("TCP");
            match p["nodePort"].as_u64() {
                Some(np) => format!("{}:{np}/{proto}", p["port"]),
                None => format!("{}/{proto}", p["port"]),
            }
        })
        .collect();
    let ports = if ports.is_empty() {
        "<none>".to_string()
    } else {
        ports.join(",")
    };
    let selector: Vec<String> = spec["selector"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    let selector = if selector.is_empty() {
        "<none>".to_string()
    } else {
        selector.join(",")
    };
    vec![
        json!(ty),
        json!(cluster_ip),
        json!(external),
        json!(ports),
        json!(age(o)),
        json!(selector),
    ]
}

fn count(v: &Value) -> usize {
    v.as_object().map(|m| m.len()).unwrap_or(0)
}

/// Evaluates the simple JSONPaths printer columns use (`.spec.x`, `.status.conditions[0].type`,
/// `.status.conditions[?(@.type=="Ready")].status`).
fn json_path(o: &Value, path: &str) -> Value {
    let mut cur = o.clone();
    for seg in path.trim_start_matches('.').split('.') {
        if seg.is_empty() {
            continue;
        }
        let (field, index) = match seg.split_once('[') {
            Some((f, rest)) => (f, Some(rest.trim_end_matches(']'))),
            None => (seg, None),
        };
        cur = cur.get(field).cloned().unwrap_or(Value::Null);
        if let Some(ix) = index {
            if let Ok(n) = ix.parse::<usize>() {
                cur = cur.get(n).cloned().unwrap_or(Value::Null);
            } else if let Some(filter) = ix.strip_prefix("?(@.").and_then(|f| f.strip_suffix(')')) {
                let (k, v) = filter.split_once("==").unwrap_or((filter, ""));
                let want = v.trim_matches(['"', '\'']);
                cur = cur
                    .as_array()
                    .and_then(|a| {
                        a.iter()
                            .find(|i| i.get(k).and_then(Value::as_str) == Some(want))
                    })
                    .cloned()
                    .unwrap_or(Value::Null);
            }
        }
    }
    cur
}

/// Computes the cells after NAME for one object.
type CellFn = Box<dyn Fn(&Value) -> Vec<Value> + Send>;

/// Column definitions and one row of cells for an object of `rt`.
fn columns(c: &Cluster, rt: &ResourceType) -> (Vec<Value>, CellFn) {
    if let Some(crd_name) = &rt.crd {
        let crd = c.store.lock().get(
            "apiextensions.k8s.io/customresourcedefinitions",
            "",
            crd_name,
        );
        let printer: Vec<Value> = crd
            .and_then(|crd| {
                crd.pointer("/spec/versions")?
                    .as_array()?
                    .iter()
                    .find(|v| v["name"] == rt.version.as_str())?
                    .get("additionalPrinterColumns")?
                    .as_array()
                    .cloned()
            })
            .unwrap_or_default();
        if printer.is_empty() {
            let cols = vec![col("Name", "string", 0), col("Created At", "date", 0)];
            return (
                cols,
                Box::new(|o| vec![json!(str_at(o, "/metadata/creationTimestamp"))]),
            );
        }
        let mut cols = vec![col("Name", "string", 0)];
        for p in &printer {
            cols.push(col(
                p["name"].as_str().unwrap_or(""),
                p["type"].as_str().unwrap_or("string"),
                p["priority"].as_u64().unwrap_or(0) as u8,
            ));
        }
        return (
            cols,
            Box::new(move |o| {
                printer
                    .iter()
                    .map(|p| {
                        let v = json_path(o, p["jsonPath"].as_str().unwrap_or(""));
                        if p["type"] == "date" && v.is_string() {
                            json!(age(&json!({"metadata": {"creationTimestamp": v}})))
                        } else {
                            v
                        }
                    })
                    .collect()
            }),
        );
    }
    let name = col("Name", "string", 0);
    let age_col = col("Age", "string", 0);
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("", "Service") => (
            vec![
                name,
                col("Type", "string", 0),
                col("Cluster-IP", "string", 0),
                col("External-IP", "string", 0),
                col("Port(s)", "string", 0),
                age_col,
                col("Selector", "string", 1),
            ],
            Box::new(service_cells),
        ),
        ("", "Namespace") => (
            vec![name, col("Status", "string", 0), age_col],
            Box::new(|o| vec![json!(str_at(o, "/status/phase")), json!(age(o))]),
        ),
        ("", "ConfigMap") => (
            vec![name, col("Data", "string", 0), age_col],
            Box::new(|o| {
                vec![
                    json!(count(&o["data"]) + count(&o["binaryData"])),
                    json!(age(o)),
                ]
            }),
        ),
        ("", "Secret") => (
            vec![
                name,
                col("Type", "string", 0),
                col("Data", "string", 0),
                age_col,
            ],
            Box::new(|o| {
                vec![
                    json!(o["type"].as_str().unwrap_or("Opaque")),
                    json!(count(&o["data"])),
                    json!(age(o)),
                ]
            }),
        ),
        ("", "Node") => (
            vec![name, col("Status", "string", 0), age_col],
            Box::new(|o| {
                let ready = o
                    .pointer("/status/conditions")
                    .and_then(Value::as_array)
                    .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
                    .map(|c| c["status"] == "True");
                let status = match ready {
                    Some(true) => "Ready",
                    Some(false) => "NotReady",
                    None => "Unknown",
                };
                vec![json!(status), json!(age(o))]
            }),
        ),
        ("", "Pod") => (
            vec![name, col("Status", "string", 0), age_col],
            Box::new(|o| {
                vec![
                    json!(
                        o.pointer("/status/phase")
                            .and_then(Value::as_str)
                            .unwrap_or("Pending")
                    ),
                    json!(age(o)),
                ]
            }),
        ),
        _ => (vec![name, age_col], Box::new(|o| vec![json!(age(o))])),
    }
}

fn row(o: &Value, cells: Vec<Value>, full: bool) -> Value {
    let mut all = vec![json!(str_at(o, "/metadata/name"))];
    all.extend(cells);
    let object = if full {
        o.clone()
    } else {
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]})
    };
    json!({"cells": all, "object": object})
}

/// The Table for a single object or a list (`items`).
pub fn render(
    c: &Cluster,
    rt: &ResourceType,
    v: &Value,
    include_object: bool,
    with_columns: bool,
) -> Value {
    let (cols, cells) = columns(c, rt);
    let rows: Vec<Value> = match v.get("items").and_then(Value::as_array) {
        Some(items) => items
            .iter()
            .map(|o| row(o, cells(o), include_object))
            .collect(),
        None => vec![row(v, cells(v), include_object)],
    };
    let mut meta = json!({"resourceVersion": v.pointer("/metadata/resourceVersion").cloned().unwrap_or(json!(""))});
    if let Some(cont) = v.pointer("/metadata/continue") {
        meta["continue"] = cont.clone();
    }
    let mut t =
        json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "rows": rows});
    if with_columns {
        t["columnDefinitions"] = Value::Array(cols);
    }
    t
}
