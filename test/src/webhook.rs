//! Calling webhooks (admission, CRD conversion) over HTTPS, trusting the `caBundle` of their
//! `clientConfig`. Only `clientConfig.url` is supported: Service references cannot be routed.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::Value;

/// Why a webhook call failed, worded like the real server's messages.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("failed to call webhook: {0}")]
    Transport(String),
    #[error("expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got {0}")]
    Decode(String),
}

/// POSTs `body` to the webhook and returns its JSON response.
pub async fn post(
    client_config: &Value,
    body: &Value,
    timeout: Duration,
) -> Result<Value, CallError> {
    let url_str = client_config.get("url").and_then(Value::as_str).ok_or_else(|| {
        CallError::Transport("only clientConfig.url is supported by the emulator (service references are not routed)".into())
    })?;
    let url = url::Url::parse(url_str)
        .map_err(|e| CallError::Transport(format!("Post \"{url_str}\": {e}")))?;
    let fail = |e: String| CallError::Transport(format!("Post \"{url_str}\": {e}"));
    let host = url
        .host_str()
        .ok_or_else(|| fail("no host".into()))?
        .trim_matches(['[', ']'])
        .to_string();
    let port = url.port_or_known_default().unwrap_or(443);
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
    let server_name = rustls::pki_types::ServerName::try_from(host.clone())
        .map_err(|e| fail(format!("server name: {e}")))?;
    let payload = serde_json::to_vec(body).map_err(|e| fail(e.to_string()))?;
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
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
