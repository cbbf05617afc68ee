//! The node inventory: an optional ConfigMap (`--node-inventory NAME`, in the CCM's namespace)
//! whose data key `inventory.yaml` describes the machines behind the Nodes.
//!
//! ```yaml
//! nodes:
//!   - name: worker-1                 # an exact Node name ...
//!     labels:                        # only these three keys are accepted
//!       topology.kubernetes.io/zone: rack-a
//!       topology.kubernetes.io/region: dc-1
//!       node.kubernetes.io/instance-type: r640
//!     addresses: [192.0.2.11, "2001:db8::11"]   # the node's InternalIPs
//!     state: running                 # running (default) | shutdown | decommissioned
//!   - selector:                      # ... or a label selector (matchLabels, all must match)
//!       example.com/rack: b
//!     labels:
//!       topology.kubernetes.io/zone: rack-b
//! ```
//!
//! A Node uses the entry naming it; failing that, the first entry (in file order) whose
//! selector matches its labels; failing that, none. An entry has exactly one of `name` and
//! `selector`; unknown fields, other label keys, addresses that are not IPs and unknown states
//! make the whole inventory invalid (and the node controller writes nothing until it is fixed).

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Deserialize;

/// The ConfigMap data key holding the inventory.
pub const DATA_KEY: &str = "inventory.yaml";

/// Label keys an inventory may set.
pub const LABEL_ZONE: &str = "topology.kubernetes.io/zone";
pub const LABEL_REGION: &str = "topology.kubernetes.io/region";
pub const LABEL_INSTANCE_TYPE: &str = "node.kubernetes.io/instance-type";
pub const INVENTORY_LABELS: [&str; 3] = [LABEL_ZONE, LABEL_REGION, LABEL_INSTANCE_TYPE];

/// What the inventory says about a machine.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MachineState {
    #[default]
    Running,
    /// Powered off: a NotReady node gets the shutdown taint.
    Shutdown,
    /// Gone for good: a NotReady node is deleted.
    Decommissioned,
}

/// One entry of the inventory.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub selector: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub addresses: Vec<IpAddr>,
    #[serde(default)]
    pub state: MachineState,
}

/// A parsed, checked inventory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inventory {
    pub entries: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    nodes: Vec<Entry>,
}

/// Why an inventory was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InventoryError {
    #[error("the ConfigMap has no data key {DATA_KEY}")]
    NoDataKey,
    #[error("{DATA_KEY}: {0}")]
    Syntax(String),
    #[error("entry {index}: exactly one of name and selector is required")]
    NameOrSelector { index: usize },
    #[error("entry {index}: an empty selector would match every node")]
    EmptySelector { index: usize },
    #[error("entry {index}: label {key} is not one of {INVENTORY_LABELS:?}")]
    Label { index: usize, key: String },
    #[error("entry {index}: label {key} has an empty value")]
    EmptyLabel { index: usize, key: String },
    #[error("entry {index}: node {name} is named by entry {first} already")]
    DuplicateName {
        index: usize,
        first: usize,
        name: String,
    },
}

impl Inventory {
    /// Parses the `inventory.yaml` text of a ConfigMap's data.
    pub fn from_data(data: Option<&BTreeMap<String, String>>) -> Result<Self, InventoryError> {
        let text = data
            .and_then(|d| d.get(DATA_KEY))
            .ok_or(InventoryError::NoDataKey)?;
        Self::parse(text)
    }

    /// Parses and checks `inventory.yaml`.
    pub fn parse(text: &str) -> Result<Self, InventoryError> {
        let file: Option<File> =
            serde_yaml::from_str(text).map_err(|e| InventoryError::Syntax(e.to_string()))?;
        let entries = file.map(|f| f.nodes).unwrap_or_default();
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        for (index, e) in entries.iter().enumerate() {
            match (&e.name, &e.selector) {
                (Some(name), None) if !name.is_empty() => {
                    if let Some(first) = names.insert(name, index) {
                        return Err(InventoryError::DuplicateName {
                            index,
                            first,
                            name: name.clone(),
                        });
                    }
                }
                (None, Some(sel)) if sel.is_empty() => {
                    return Err(InventoryError::EmptySelector { index });
                }
                (None, Some(_)) => {}
                _ => return Err(InventoryError::NameOrSelector { index }),
            }
            for (key, value) in &e.labels {
                if !INVENTORY_LABELS.contains(&key.as_str()) {
                    return Err(InventoryError::Label {
                        index,
                        key: key.clone(),
                    });
                }
                if value.is_empty() {
                    return Err(InventoryError::EmptyLabel {
                        index,
                        key: key.clone(),
                    });
                }
            }
        }
        Ok(Inventory { entries })
    }

    /// The entry for node `name` with `labels`: by name first, else the first matching selector.
    pub fn lookup(&self, name: &str, labels: &BTreeMap<String, String>) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.name.as_deref() == Some(name))
            .or_else(|| {
                self.entries.iter().find(|e| {
                    e.selector.as_ref().is_some_and(|sel| {
                        sel.iter()
                            .all(|(k, v)| labels.get(k).is_some_and(|l| l == v))
                    })
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"
nodes:
  - name: worker-1
    labels:
      topology.kubernetes.io/zone: rack-a
      node.kubernetes.io/instance-type: r640
    addresses: [192.0.2.11, "2001:db8::11"]
  - selector: {example.com/rack: b}
    labels: {topology.kubernetes.io/zone: rack-b}
    state: shutdown
  - selector: {example.com/rack: b, example.com/row: "1"}
    state: decommissioned
"#;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_the_documented_format_and_looks_up_by_name_then_selector()
    -> Result<(), InventoryError> {
        let inv = Inventory::parse(DOC)?;
        assert_eq!(inv.entries.len(), 3);
        let by_name = inv.lookup("worker-1", &labels(&[("example.com/rack", "b")]));
        assert_eq!(
            by_name.map(|e| e.addresses.len()),
            Some(2),
            "the name wins over a matching selector"
        );
        let by_sel = inv.lookup(
            "worker-2",
            &labels(&[("example.com/rack", "b"), ("example.com/row", "1")]),
        );
        assert_eq!(
            by_sel.map(|e| e.state),
            Some(MachineState::Shutdown),
            "first match in file order"
        );
        assert!(
            inv.lookup("worker-3", &labels(&[("example.com/rack", "c")]))
                .is_none()
        );
        assert!(inv.lookup("worker-3", &BTreeMap::new()).is_none());
        Ok(())
    }

    #[test]
    fn rejects_malformed_inventories() {
        type Check = fn(&InventoryError) -> bool;
        let rows: &[(&str, Check)] = &[
            ("nodes: [{name: a, frob: 1}]", |e| {
                matches!(e, InventoryError::Syntax(_))
            }),
            ("nodes: [{name: a, addresses: [not-an-ip]}]", |e| {
                matches!(e, InventoryError::Syntax(_))
            }),
            ("nodes: [{name: a, state: exploded}]", |e| {
                matches!(e, InventoryError::Syntax(_))
            }),
            ("nodes: [{labels: {}}]", |e| {
                matches!(e, InventoryError::NameOrSelector { index: 0 })
            }),
            ("nodes: [{name: a, selector: {x: y}}]", |e| {
                matches!(e, InventoryError::NameOrSelector { index: 0 })
            }),
            ("nodes: [{name: a}, {selector: {}}]", |e| {
                matches!(e, InventoryError::EmptySelector { index: 1 })
            }),
            (
                "nodes: [{name: a, labels: {kubernetes.io/hostname: x}}]",
                |e| matches!(e, InventoryError::Label { .. }),
            ),
            (
                "nodes: [{name: a, labels: {topology.kubernetes.io/zone: ''}}]",
                |e| matches!(e, InventoryError::EmptyLabel { .. }),
            ),
            ("nodes: [{name: a}, {name: a}]", |e| {
                matches!(
                    e,
                    InventoryError::DuplicateName {
                        first: 0,
                        index: 1,
                        ..
                    }
                )
            }),
            ("nodes: {name: a}", |e| {
                matches!(e, InventoryError::Syntax(_))
            }),
        ];
        for (text, want) in rows {
            match Inventory::parse(text) {
                Ok(inv) => panic!("{text} parsed as {inv:?}"),
                Err(e) => assert!(want(&e), "{text}: unexpected {e}"),
            }
        }
        assert_eq!(
            Inventory::from_data(None),
            Err(InventoryError::NoDataKey),
            "a ConfigMap without the key"
        );
        assert_eq!(Inventory::parse(""), Ok(Inventory::default()));
    }
}
