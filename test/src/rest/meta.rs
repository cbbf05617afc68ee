//! Object metadata rules: names, generateName, timestamps, uids.

use rand::Rng;
use serde_json::Value;

use crate::error::Cause;

pub fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

pub fn uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `generateName` + 5 random characters from the real alphabet.
pub fn generated_name(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    let suffix: String = (0..5)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{suffix}")
}

pub fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_1123_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const LABEL_1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

/// Name rules per kind, as the real validators apply them.
pub fn validate_name(kind: &str, name: &str) -> Option<Cause> {
    let v = Value::String(name.to_string());
    match kind {
        "Service" => {
            let ok = dns_label(name) && name.as_bytes()[0].is_ascii_lowercase();
            (!ok).then(|| Cause::invalid("metadata.name", &v, LABEL_1035_MSG))
        }
        "Namespace" => {
            (!dns_label(name)).then(|| Cause::invalid("metadata.name", &v, LABEL_1123_MSG))
        }
        // RBAC and a few others only forbid path segments.
        "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" => {
            let bad = name == "." || name == ".." || name.contains('/') || name.contains('%');
            bad.then(|| Cause::invalid("metadata.name", &v, "may not contain '/'"))
        }
        _ => {
            let ok = name.len() <= 253 && name.split('.').all(dns_label);
            (!ok).then(|| Cause::invalid("metadata.name", &v, SUBDOMAIN_MSG))
        }
    }
}

/// Label keys/values and annotation types.
pub fn validate_labels(object: &Value) -> Vec<Cause> {
    let mut causes = vec![];
    for field in ["labels", "annotations"] {
        let Some(m) = object
            .pointer(&format!("/metadata/{field}"))
            .and_then(Value::as_object)
        else {
            continue;
        };
        for (k, v) in m {
            if !v.is_string() {
                causes.push(Cause::type_invalid(
                    format!("metadata.{field}"),
                    v,
                    "must be a string",
                ));
                continue;
            }
            let name = k.rsplit('/').next().unwrap_or(k);
            let name_ok = !name.is_empty()
                && name.len() <= 63
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                && name.starts_with(|c: char| c.is_ascii_alphanumeric())
                && name.ends_with(|c: char| c.is_ascii_alphanumeric());
            if !name_ok {
                causes.push(Cause::invalid(
                    format!("metadata.{field}"),
                    &Value::String(k.clone()),
                    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
                ));
            }
            if field == "labels" {
                let s = v.as_str().unwrap_or("");
                let ok = s.is_empty()
                    || (s.len() <= 63
                        && s.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
                        && s.ends_with(|c: char| c.is_ascii_alphanumeric()));
                if !ok {
                    causes.push(Cause::invalid(
                        "metadata.labels",
                        v,
                        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
                    ));
                }
            }
        }
    }
    causes
}
