//! Label selectors: the one implementation of Kubernetes label-selector matching in Lodestone.
//!
//! ```text
//!   metav1.LabelSelector ──► Selector::from_label_selector ──► Selector::matches(&labels)
//!   {matchLabels, matchExpressions}   (validated: operators,       (AND of every requirement;
//!                                       values, key syntax)          empty selector = everything)
//! ```
//!
//! Consumers (allocator, planner, L2 election) never reimplement selector semantics: they hold a
//! [`Selector`] from the [`Config`](super::Config) and call [`Selector::matches`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

/// Labels of an object (Service, Node, Namespace, IPAddressPool).
pub type Labels = BTreeMap<String, String>;

/// Operator of one selector requirement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operator {
    /// The label is present and its value is one of `values`.
    In,
    /// The label is absent, or its value is not one of `values`.
    NotIn,
    /// The label is present (any value).
    Exists,
    /// The label is absent.
    DoesNotExist,
}

impl Operator {
    fn as_str(self) -> &'static str {
        match self {
            Operator::In => "in",
            Operator::NotIn => "notin",
            Operator::Exists => "exists",
            Operator::DoesNotExist => "!",
        }
    }
}

/// One requirement of a selector: `key operator values`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Requirement {
    /// Label key.
    pub key: String,
    /// How the key is tested.
    pub operator: Operator,
    /// Values for `In`/`NotIn` (sorted, unique); empty for `Exists`/`DoesNotExist`.
    pub values: BTreeSet<String>,
}

impl Requirement {
    /// Whether `labels` satisfy this requirement.
    pub fn matches(&self, labels: &Labels) -> bool {
        let value = labels.get(&self.key);
        match self.operator {
            Operator::In => value.is_some_and(|v| self.values.contains(v)),
            Operator::NotIn => value.is_none_or(|v| !self.values.contains(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
        }
    }
}

/// A validated label selector. Every requirement must hold (logical AND);
/// a selector with no requirements matches everything, like `labels.Everything()`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Selector {
    /// Requirements, sorted by key then operator (`matchLabels` entries become `In` with one value).
    pub requirements: Vec<Requirement>,
}

/// Why a `metav1.LabelSelector` is not a valid selector.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// An operator other than In, NotIn, Exists, DoesNotExist.
    #[error("operator {0:?} is not one of In, NotIn, Exists, DoesNotExist")]
    UnknownOperator(String),
    /// `In`/`NotIn` without values.
    #[error("operator {operator} on key {key:?} needs at least one value")]
    MissingValues {
        /// Label key.
        key: String,
        /// Operator as written.
        operator: String,
    },
    /// `Exists`/`DoesNotExist` with values.
    #[error("operator {operator} on key {key:?} must not have values")]
    UnexpectedValues {
        /// Label key.
        key: String,
        /// Operator as written.
        operator: String,
    },
    /// A key that is not a qualified name (`[prefix/]name`).
    #[error("label key {0:?} is not a valid qualified name")]
    InvalidKey(String),
    /// A value that is not a valid label value.
    #[error("label value {value:?} for key {key:?} is not a valid label value")]
    InvalidValue {
        /// Label key.
        key: String,
        /// The offending value.
        value: String,
    },
    /// The same value twice in one `matchExpressions` entry (MetalLB rejects it).
    #[error("value {value:?} appears twice in the match expression on key {key:?}")]
    DuplicateValue {
        /// Label key.
        key: String,
        /// The repeated value.
        value: String,
    },
    /// The same match expression twice in one selector (MetalLB rejects it).
    #[error("match expression {0} appears twice")]
    DuplicateExpression(String),
}

impl Selector {
    /// The selector that matches every label set.
    pub fn everything() -> Self {
        Selector::default()
    }

    /// Whether this selector has no requirements (matches everything).
    pub fn is_everything(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Converts and validates a `metav1.LabelSelector`, like `metav1.LabelSelectorAsSelector`
    /// plus MetalLB's duplicate checks inside one selector.
    pub fn from_label_selector(sel: &LabelSelector) -> Result<Self, SelectorError> {
        let mut requirements = Vec::new();
        if let Some(ml) = &sel.match_labels {
            for (k, v) in ml {
                check_key(k)?;
                check_value(k, v)?;
                requirements.push(Requirement {
                    key: k.clone(),
                    operator: Operator::In,
                    values: BTreeSet::from([v.clone()]),
                });
            }
        }
        let mut seen_expr = BTreeSet::new();
        for expr in sel.match_expressions.iter().flatten() {
            let req = requirement_from(expr)?;
            let rendered = render_expression(expr);
            if !seen_expr.insert(rendered.clone()) {
                return Err(SelectorError::DuplicateExpression(rendered));
            }
            requirements.push(req);
        }
        requirements.sort();
        Ok(Selector { requirements })
    }
}

/// Canonical text of a `metav1.LabelSelector`: two selectors MetalLB considers duplicates
/// (same labels, same expressions with values in any order) have the same text.
pub fn canonical(sel: &LabelSelector) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(ml) = &sel.match_labels {
        parts.push(format!("{ml:?}"));
    }
    let mut exprs: Vec<String> = sel
        .match_expressions
        .iter()
        .flatten()
        .map(render_expression)
        .collect();
    exprs.sort();
    parts.extend(exprs);
    parts.join(";")
}

fn render_expression(expr: &LabelSelectorRequirement) -> String {
    let mut values: Vec<&String> = expr.values.iter().flatten().collect();
    values.sort();
    format!("{} {} {:?}", expr.key, expr.operator, values)
}

fn requirement_from(expr: &LabelSelectorRequirement) -> Result<Requirement, SelectorError> {
    check_key(&expr.key)?;
    let operator = match expr.operator.as_str() {
        "In" => Operator::In,
        "NotIn" => Operator::NotIn,
        "Exists" => Operator::Exists,
        "DoesNotExist" => Operator::DoesNotExist,
        other => return Err(SelectorError::UnknownOperator(other.to_string())),
    };
    let raw: Vec<String> = expr.values.clone().unwrap_or_default();
    let mut values = BTreeSet::new();
    for v in &raw {
        check_value(&expr.key, v)?;
        if !values.insert(v.clone()) {
            return Err(SelectorError::DuplicateValue {
                key: expr.key.clone(),
                value: v.clone(),
            });
        }
    }
    match operator {
        Operator::In | Operator::NotIn if values.is_empty() => Err(SelectorError::MissingValues {
            key: expr.key.clone(),
            operator: expr.operator.clone(),
        }),
        Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
            Err(SelectorError::UnexpectedValues {
                key: expr.key.clone(),
                operator: expr.operator.clone(),
            })
        }
        _ => Ok(Requirement {
            key: expr.key.clone(),
            operator,
            values,
        }),
    }
}

/// `[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?`, at most 63 characters.
fn is_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// DNS-1123 subdomain: lowercase alphanumerics, `-` and `.`, at most 253 characters.
fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
}

fn check_key(key: &str) -> Result<(), SelectorError> {
    let ok = match key.split_once('/') {
        Some((prefix, name)) => is_dns_subdomain(prefix) && is_name_part(name),
        None => is_name_part(key),
    };
    if ok {
        Ok(())
    } else {
        Err(SelectorError::InvalidKey(key.to_string()))
    }
}

fn check_value(key: &str, value: &str) -> Result<(), SelectorError> {
    if value.is_empty() || is_name_part(value) {
        Ok(())
    } else {
        Err(SelectorError::InvalidValue {
            key: key.to_string(),
            value: value.to_string(),
        })
    }
}

impl fmt::Display for Selector {
    /// The Kubernetes selector string form, e.g. `a=b,zone in (x,y),!gone`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for r in &self.requirements {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            let values: Vec<&str> = r.values.iter().map(String::as_str).collect();
            match r.operator {
                Operator::In if values.len() == 1 => write!(f, "{}={}", r.key, values[0])?,
                Operator::In | Operator::NotIn => write!(
                    f,
                    "{} {} ({})",
                    r.key,
                    r.operator.as_str(),
                    values.join(",")
                )?,
                Operator::Exists => f.write_str(&r.key)?,
                Operator::DoesNotExist => write!(f, "!{}", r.key)?,
            }
        }
        if first {
            f.write_str("<everything>")?;
        }
        Ok(())
    }
}
