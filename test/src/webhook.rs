//! Calling webhooks (admission, CRD conversion) over HTTPS, trusting the `caBundle` of their
//! `clientConfig`. `clientConfig.url` is called directly; `clientConfig.service` is resolved
//! like the real server with endpoint routing: the Service's port → its EndpointSlices (or
//! Endpoints) → the first ready address, with TLS server name `NAME.NAMESPACE.svc`.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::Value;

use crate::rest::{Cluster, str_at};

/// Why a webhook call failed, worded like the real server's messages.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("failed to call webhook: {0}")]
    Transport(String),
    #[error("expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got {0}")]
    Decode(String),
}

/// Where a webhook call goes.
struct Target {
    url: String,
    host: String,
    port: u16,
    server_name: String,
    path: String,
}

fn resolve_service(c: &Cluster, svc_ref: &Value) -> Result<Target, CallError> {
    let ns = str_at(svc_ref, "/namespace").to_string();
    let name = str_at(svc_ref, "/name").to_string();
    let port = svc_ref.get("port").and_then(Value::as_u64).unwrap_or(443);
    let path = svc_ref
        .get("path")
        .and_then(Value::as_str)
        .unwrap_or("/")
        .to_string();
    let url = format!("https://{name}.{ns}.svc:{port}{path}");
    let fail = |why: &str| CallError::Transport(format!("Post \"{url}\": {why}"));
    let st = c.store.lock();
    let svc = st
        .get("/services", &ns, &name)
        .ok_or_else(|| fail(&format!("service \"{name}\" not found")))?;
    let sp = svc
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .and_then(|ps| {
            ps.iter()
                .find(|p| p.get("port").and_then(Value::as_u64) == Some(port))
        })
        .cloned()
        .ok_or_else(|| {
            fail(&format!(
                "no service port {port} found for service \"{name}\""
            ))
        })?;
    let port_name = sp
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let target_port = sp.get("targetPort").and_then(Value::as_u64);
    // EndpointSlices first, then Endpoints.
    for slice in st.list("discovery.k8s.io/endpointslices", Some(&ns)) {
        if str_at(&slice, "/metadata/labels/kubernetes.io~1service-name") != name {
            continue;
        }
        let ep_port = slice
            .get("ports")
            .and_then(Value::as_array)
            .and_then(|ps| {
                ps.iter()
                    .find(|p| p.get("name").and_then(Value::as_str).unwrap_or("") == port_name)
            })
            .and_then(|p| p.get("port").and_then(Value::as_u64))
            .or(target_port);
        for ep in slice
            .get("endpoints")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if ep.pointer("/conditions/ready").and_then(Value::as_bool) == Some(false) {
                continue;
            }
            if let (Some(addr), Some(p)) =
                (ep.pointer("/addresses/0").and_then(Value::as_str), ep_port)
            {
                return Ok(Target {
                    url: url.clone(),
                    host: addr.to_string(),
                    port: p as u16,
                    server_name: format!("{name}.{ns}.svc"),
                    path,
                });
            }
        }
    }
    if let Some(eps) = st.get("/endpoints", &ns, &name) {
        for subset in eps
            .get("subsets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let p = subset
                .get("ports")
                .and_then(Value::as_array)
                .and_then(|ps| {
                    ps.iter()
                        .find(|p| p.get("name").and_then(Value::as_str).unwrap_or("") == port_name)
                })
                .and_then(|p| p.get("port").and_then(Value::as_u64))
                .or(target_port);
            if let (Some(addr), Some(p)) =
                (subset.pointer("/addresses/0/ip").and_then(Value::as_str), p)
            {
                return Ok(Target {
                    url: url.clone(),
                    host: addr.to_string(),
                    port: p as u16,
                    server_name: format!("{name}.{ns}.svc"),
                    path,
                });
            }
        }
    }
    Err(fail(&format!(
        "no endpoints available for service \"{name}\""
    )))
}

fn resolve(c: &Cluster, client_config: &Value) -> Result<Target, CallError> {
    if let Some(svc) = client_config.get("service") {
        return resolve_service(c, svc);
    }
    let url_str = client_config
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| CallError::Transport("clientConfig has neither url nor service".into()))?;
    let url = url::Url::parse(url_str)
        .map_err(|e| CallError::Transport(format!("Post \"{url_str}\": {e}")))?;
    let host = url
        .host_str()
        .ok_or_else(|| CallError::Transport(format!("Post \"{url_str}\": no host")))?
        .trim_matches(['[', ']'])
        .to_string();
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    Ok(Target {
        url: url_str.to_string(),
        server_name: host.clone(),
        host,
        port: url.port_or_known_default().unwrap_or(443),
        path,
    })
}

/// POSTs `body` to the webhook and returns its JSON response.
pub async fn post(
    c: &Cluster,
    client_config: &Value,
    body: &Value,
    timeout: Duration,
) -> Result<Value, CallError> {
    let Target {
        url: url_str,
        host,
        port,
        server_name,
        path,
    } = resolve(c, client_config)?;
    let fail = |e: String| CallError::Transport(format!("Post \"{url_str}\": {e}"));
    let mut roots = rustls::RootCertStore::empty();
    if let Some(ca) = client_config.get("caBundle").and_then(Value::as_str) {
        let pem = base64::engine::general_purpose::STANDARD
            .decode(ca)
            .map_err(|e| fail(format!("caBundle: {e}")))?;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert = cert.map_err(|e| fail(format!("caBundle: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| fail(format!("caBundle: {e}")))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let server_name = rustls::pki_types::ServerName::try_from(server_name)
        .map_err(|e| fail(format!("server name: {e}")))?;
    let payload = serde_json::to_vec(body).map_err(|e| fail(e.to_string()))?;
    let call = async {
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| fail(e.to_string()))?;
        let stream = tokio_rustls::TlsConnector::from(Arc::new(tls))
            .connect(server_name, tcp)
            .await
            .map_err(|e| fail(format!("tls: {e}")))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| fail(e.to_string()))?;
        tokio::spawn(conn);
        let req = hyper::Request::post(path)
            .header("host", format!("{host}:{port}"))
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(Full::new(Bytes::from(payload)))
            .map_err(|e| fail(e.to_string()))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| fail(e.to_string()))?
            .to_bytes();
        if !status.is_success() {
            return Err(fail(format!("server returned HTTP {status}")));
        }
        serde_json::from_slice::<Value>(&bytes).map_err(|e| CallError::Decode(e.to_string()))
    };
    match tokio::time::timeout(timeout, call).await {
        Ok(r) => r,
        Err(_) => Err(fail("context deadline exceeded".into())),
    }
}
