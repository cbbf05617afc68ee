//! `/metrics`, `/healthz`, `/readyz` over hyper http1.
//!
//! ```text
//!   accept ─► http1 connection ─► answer(path) ─► refresh() + Metrics::render | readiness
//! ```

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tracing::debug;

use crate::metrics::Metrics;

/// Readiness: every watch listed once and the configuration was evaluated.
#[derive(Debug, Default)]
pub struct Readiness(AtomicBool);

impl Readiness {
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::Release);
    }
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Called before every scrape to copy driver counters into the registry.
pub type Refresh = Arc<dyn Fn() + Send + Sync>;

/// Serves forever (the caller aborts the task on shutdown).
pub async fn serve(
    listener: TcpListener,
    metrics: Metrics,
    ready: Arc<Readiness>,
    refresh: Refresh,
) {
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                debug!(error = %e, "accept on the metrics port");
                continue;
            }
        };
        let (metrics, ready, refresh) = (metrics.clone(), ready.clone(), refresh.clone());
        tokio::spawn(async move {
            let svc = service_fn(move |req: Request<Incoming>| {
                let resp = answer(req.uri().path(), &metrics, &ready, &refresh);
                async move { Ok::<_, Infallible>(resp) }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await
            {
                debug!(error = %e, "metrics connection");
            }
        });
    }
}

fn answer(
    path: &str,
    metrics: &Metrics,
    ready: &Readiness,
    refresh: &Refresh,
) -> Response<Full<Bytes>> {
    let (status, body) = match path {
        "/metrics" => {
            refresh();
            (StatusCode::OK, metrics.render())
        }
        "/healthz" => (StatusCode::OK, "ok\n".to_string()),
        "/readyz" if ready.get() => (StatusCode::OK, "ok\n".to_string()),
        "/readyz" => (StatusCode::SERVICE_UNAVAILABLE, "not synced\n".to_string()),
        _ => (StatusCode::NOT_FOUND, "not found\n".to_string()),
    };
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r
}
