//! Decoding of the Kubernetes protobuf envelope (`k8s\0` + runtime.Unknown) for the few kinds
//! kubectl's imperative generators send as protobuf: Namespace, ConfigMap, Secret,
//! ServiceAccount and Service (`kubectl create namespace|configmap|secret|serviceaccount|service`).
//! Field numbers are those of k8s.io/api `generated.proto`. Responses are always JSON.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::error::ApiError;

const MAGIC: &[u8] = b"k8s\0";

/// One decoded field: number and payload.
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn bad(why: &str) -> ApiError {
    ApiError::bad_request(format!("failed to decode protobuf body: {why}"))
}

fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, ApiError> {
    let mut out = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos).ok_or_else(|| bad("truncated varint"))?;
        *pos += 1;
        out |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(out);
        }
    }
    Err(bad("varint too long"))
}

fn fields(buf: &[u8]) -> Result<Vec<(u64, Field<'_>)>, ApiError> {
    let mut pos = 0;
    let mut out = vec![];
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        let (num, wire) = (key >> 3, key & 7);
        match wire {
            0 => out.push((num, Field::Varint(varint(buf, &mut pos)?))),
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?).map_err(|_| bad("length"))?;
                let end = pos
                    .checked_add(len)
                    .filter(|e| *e <= buf.len())
                    .ok_or_else(|| bad("truncated field"))?;
                out.push((num, Field::Bytes(&buf[pos..end])));
                pos = end;
            }
            1 => pos += 8,
            5 => pos += 4,
            _ => return Err(bad("unsupported wire type")),
        }
    }
    if pos > buf.len() {
        return Err(bad("truncated fixed field"));
    }
    Ok(out)
}

fn text(b: &[u8]) -> Result<String, ApiError> {
    String::from_utf8(b.to_vec()).map_err(|_| bad("invalid UTF-8"))
}

/// A `map<string, string>` (or bytes values, base64-encoded as JSON does) entry.
fn map_entry(b: &[u8], bytes_value: bool) -> Result<(String, Value), ApiError> {
    let mut k = String::new();
    let mut v = Value::String(String::new());
    for (n, f) in fields(b)? {
        if let Field::Bytes(x) = f {
            match n {
                1 => k = text(x)?,
                2 if bytes_value => v = json!(base64::engine::general_purpose::STANDARD.encode(x)),
                2 => v = json!(text(x)?),
                _ => {}
            }
        }
    }
    Ok((k, v))
}

fn put_str(m: &mut Map<String, Value>, k: &str, b: &[u8]) -> Result<(), ApiError> {
    let s = text(b)?;
    if !s.is_empty() {
        m.insert(k.into(), json!(s));
    }
    Ok(())
}

fn push(m: &mut Map<String, Value>, k: &str, v: Value) {
    if let Some(a) = m
        .entry(k.to_string())
        .or_insert_with(|| json!([]))
        .as_array_mut()
    {
        a.push(v);
    }
}

fn insert_entry(m: &mut Map<String, Value>, k: &str, entry: (String, Value)) {
    if let Some(o) = m
        .entry(k.to_string())
        .or_insert_with(|| json!({}))
        .as_object_mut()
    {
        o.insert(entry.0, entry.1);
    }
}

fn object_meta(b: &[u8]) -> Result<Value, ApiError> {
    let mut m = Map::new();
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(x)) => put_str(&mut m, "name", x)?,
            (2, Field::Bytes(x)) => put_str(&mut m, "generateName", x)?,
            (3, Field::Bytes(x)) => put_str(&mut m, "namespace", x)?,
            (11, Field::Bytes(x)) => insert_entry(&mut m, "labels", map_entry(x, false)?),
            (12, Field::Bytes(x)) => insert_entry(&mut m, "annotations", map_entry(x, false)?),
            (14, Field::Bytes(x)) => push(&mut m, "finalizers", json!(text(x)?)),
            _ => {}
        }
    }
    Ok(Value::Object(m))
}

fn service_port(b: &[u8]) -> Result<Value, ApiError> {
    let mut m = Map::new();
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(x)) => put_str(&mut m, "name", x)?,
            (2, Field::Bytes(x)) => put_str(&mut m, "protocol", x)?,
            (6, Field::Bytes(x)) => put_str(&mut m, "appProtocol", x)?,
            (3, Field::Varint(v)) => {
                m.insert("port".into(), json!(v));
            }
            (5, Field::Varint(v)) if v != 0 => {
                m.insert("nodePort".into(), json!(v));
            }
            (4, Field::Bytes(x)) => {
                let mut ty = 0;
                let mut int = 0;
                let mut s = String::new();
                for (n, f) in fields(x)? {
                    match (n, f) {
                        (1, Field::Varint(v)) => ty = v,
                        (2, Field::Varint(v)) => int = v,
                        (3, Field::Bytes(b)) => s = text(b)?,
                        _ => {}
                    }
                }
                let v = if ty == 1 { json!(s) } else { json!(int) };
                if v != json!(0) && v != json!("") {
                    m.insert("targetPort".into(), v);
                }
            }
            _ => {}
        }
    }
    Ok(Value::Object(m))
}

fn service_spec(b: &[u8]) -> Result<Value, ApiError> {
    let mut m = Map::new();
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(x)) => push(&mut m, "ports", service_port(x)?),
            (2, Field::Bytes(x)) => insert_entry(&mut m, "selector", map_entry(x, false)?),
            (3, Field::Bytes(x)) => put_str(&mut m, "clusterIP", x)?,
            (4, Field::Bytes(x)) => put_str(&mut m, "type", x)?,
            (5, Field::Bytes(x)) => push(&mut m, "externalIPs", json!(text(x)?)),
            (10, Field::Bytes(x)) => put_str(&mut m, "externalName", x)?,
            (18, Field::Bytes(x)) => push(&mut m, "clusterIPs", json!(text(x)?)),
            (19, Field::Bytes(x)) => push(&mut m, "ipFamilies", json!(text(x)?)),
            (17, Field::Bytes(x)) => put_str(&mut m, "ipFamilyPolicy", x)?,
            (21, Field::Bytes(x)) => put_str(&mut m, "loadBalancerClass", x)?,
            _ => {}
        }
    }
    Ok(Value::Object(m))
}

/// Decodes a protobuf request body into the JSON object it encodes.
pub fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| bad("missing k8s protobuf prefix"))?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for (n, f) in fields(rest)? {
        match (n, f) {
            (1, Field::Bytes(tm)) => {
                for (n, f) in fields(tm)? {
                    match (n, f) {
                        (1, Field::Bytes(x)) => api_version = text(x)?,
                        (2, Field::Bytes(x)) => kind = text(x)?,
                        _ => {}
                    }
                }
            }
            (2, Field::Bytes(x)) => raw = x,
            _ => {}
        }
    }
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), json!(api_version));
    obj.insert("kind".into(), json!(kind));
    for (n, f) in fields(raw)? {
        let Field::Bytes(x) = f else {
            if let (Field::Varint(v), "ConfigMap", 4) | (Field::Varint(v), "Secret", 5) =
                (f, kind.as_str(), n)
            {
                obj.insert("immutable".into(), json!(v != 0));
            }
            continue;
        };
        match (kind.as_str(), n) {
            (_, 1) => {
                obj.insert("metadata".into(), object_meta(x)?);
            }
            ("ConfigMap", 2) => insert_entry(&mut obj, "data", map_entry(x, false)?),
            ("ConfigMap", 3) => insert_entry(&mut obj, "binaryData", map_entry(x, true)?),
            ("Secret", 2) => insert_entry(&mut obj, "data", map_entry(x, true)?),
            ("Secret", 3) => put_str(&mut obj, "type", x)?,
            ("Secret", 4) => insert_entry(&mut obj, "stringData", map_entry(x, false)?),
            ("Namespace", 2) => {
                let mut spec = Map::new();
                for (n, f) in fields(x)? {
                    if let (1, Field::Bytes(s)) = (n, f) {
                        push(&mut spec, "finalizers", json!(text(s)?));
                    }
                }
                obj.insert("spec".into(), Value::Object(spec));
            }
            ("Service", 2) => {
                obj.insert("spec".into(), service_spec(x)?);
            }
            ("Namespace" | "ConfigMap" | "Secret" | "ServiceAccount" | "Service", _) => {}
            (other, _) => {
                return Err(ApiError::unsupported_media_type(
                    "application/vnd.kubernetes.protobuf",
                    &[
                        &format!(
                            "application/json (protobuf is decoded for Namespace, ConfigMap, Secret, ServiceAccount and Service, not {other})"
                        ),
                        "application/yaml",
                    ],
                ));
            }
        }
    }
    Ok(Value::Object(obj))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_kubectl_secret() {
        // `kubectl create secret generic s1 --from-literal=a=b` as kubectl v1.32 sends it
        // (plus the type field).
        let mut raw = vec![
            0x0a, 0x12, 0x0a, 0x02, b's', b'1', 0x12, 0x00, 0x1a, 0x00, 0x22, 0x00,
        ];
        raw.extend([
            0x2a, 0x00, 0x32, 0x00, 0x38, 0x00, 0x42, 0x00, 0x12, 0x06, 0x0a, 0x01, b'a', 0x12,
            0x01, b'b',
        ]);
        raw.extend([0x1a, 0x06]);
        raw.extend(b"Opaque");
        let mut body = b"k8s\0".to_vec();
        body.extend([0x0a, 0x0c, 0x0a, 0x02, b'v', b'1', 0x12, 0x06]);
        body.extend(b"Secret");
        body.extend([0x12, raw.len() as u8]);
        body.extend(raw);
        assert_eq!(
            decode(&body),
            Ok(
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s1"}, "data": {"a": "Yg=="}, "type": "Opaque"})
            )
        );
        assert!(decode(b"k8s\0\x0a\xff").is_err());
        assert!(decode(b"{}").is_err());
    }
}
