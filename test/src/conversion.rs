//! Custom resource version conversion: `None` rewrites apiVersion, `Webhook` sends a
//! ConversionReview to the CRD's conversion webhook.

use std::time::Duration;

use serde_json::{Value, json};

use crate::catalog::ResourceType;
use crate::error::{ApiError, ApiResult};
use crate::rest::{Cluster, str_at, uid};

fn api_version(group: &str, version: &str) -> String {
    format!("{group}/{version}")
}

/// Converts stored objects to the version `rt` serves.
pub async fn many_to_version(
    c: &Cluster,
    rt: &ResourceType,
    objs: Vec<Value>,
) -> ApiResult<Vec<Value>> {
    if rt.crd.is_none() || rt.version == rt.storage_version || objs.is_empty() {
        return Ok(objs);
    }
    convert(c, rt, objs, &rt.api_version()).await
}

pub async fn to_version(c: &Cluster, rt: &ResourceType, obj: Value) -> ApiResult<Value> {
    let mut v = many_to_version(c, rt, vec![obj]).await?;
    v.pop()
        .ok_or_else(|| ApiError::internal("conversion returned no object"))
}

/// Converts an object in `rt`'s version to the storage version.
pub async fn to_storage(c: &Cluster, rt: &ResourceType, obj: Value) -> ApiResult<Value> {
    if rt.crd.is_none() || rt.version == rt.storage_version {
        return Ok(obj);
    }
    let target = api_version(&rt.group, &rt.storage_version);
    let mut v = convert(c, rt, vec![obj], &target).await?;
    v.pop()
        .ok_or_else(|| ApiError::internal("conversion returned no object"))
}

async fn convert(
    c: &Cluster,
    rt: &ResourceType,
    mut objs: Vec<Value>,
    desired: &str,
) -> ApiResult<Vec<Value>> {
    let crd_name = rt.crd.clone().unwrap_or_default();
    let crd = c.store.lock().get(
        "apiextensions.k8s.io/customresourcedefinitions",
        "",
        &crd_name,
    );
    let strategy = crd
        .as_ref()
        .map(|c| str_at(c, "/spec/conversion/strategy").to_string())
        .unwrap_or_default();
    let pending: Vec<usize> = (0..objs.len())
        .filter(|i| str_at(&objs[*i], "/apiVersion") != desired)
        .collect();
    if pending.is_empty() {
        return Ok(objs);
    }
    if strategy != "Webhook" {
        for o in objs.iter_mut() {
            o["apiVersion"] = json!(desired);
        }
        return Ok(objs);
    }
    let Some(crd) = crd else { return Ok(objs) };
    let gvk = format!("{}, Kind={}", desired, rt.kind);
    let fail =
        |why: String| ApiError::internal(format!("conversion webhook for {gvk} failed: {why}"));
    let review = json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "ConversionReview",
        "request": {
            "uid": uid(),
            "desiredAPIVersion": desired,
            "objects": pending.iter().map(|i| objs[*i].clone()).collect::<Vec<_>>(),
        }
    });
    let cfg = crd
        .pointer("/spec/conversion/webhook/clientConfig")
        .cloned()
        .unwrap_or(Value::Null);
    let resp = crate::webhook::post(c, &cfg, &review, Duration::from_secs(30))
        .await
        .map_err(|e| fail(e.to_string()))?;
    let result = resp
        .pointer("/response/result/status")
        .and_then(Value::as_str)
        .unwrap_or("");
    if result != "Success" {
        let msg = resp
            .pointer("/response/result/message")
            .and_then(Value::as_str)
            .unwrap_or("");
        return Err(fail(msg.to_string()));
    }
    let converted = resp
        .pointer("/response/convertedObjects")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if converted.len() != pending.len() {
        return Err(fail(format!(
            "returned {} objects, expected {}",
            converted.len(),
            pending.len()
        )));
    }
    for (i, mut conv) in pending.into_iter().zip(converted) {
        if str_at(&conv, "/apiVersion") != desired {
            return Err(fail(format!(
                "invalid converted object: apiVersion {}",
                str_at(&conv, "/apiVersion")
            )));
        }
        // The webhook may only change labels and annotations in metadata.
        let mut meta = objs[i]["metadata"].clone();
        for f in ["labels", "annotations"] {
            match conv.pointer(&format!("/metadata/{f}")) {
                Some(v) => meta[f] = v.clone(),
                None => {
                    if let Some(m) = meta.as_object_mut() {
                        m.remove(f);
                    }
                }
            }
        }
        conv["metadata"] = meta;
        objs[i] = conv;
    }
    Ok(objs)
}
