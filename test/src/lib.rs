//! `lodestone-test`: a Kubernetes API server emulator for controller tests, the local lab and
//! the end-to-end suite.
//!
//! ```text
//!   kubectl / kube::Client ──HTTPS──► http (routing, negotiation, limits, watch streams)
//!                                        │            │
//!                                  discovery      rest verbs ──► admission webhooks
//!                                  + OpenAPI v3      │   patch engines (json, merge, strategic, apply)
//!                                                    │   defaulting/validation (service, crd, schema)
//!                                                    ▼
//!                                 store (global resourceVersion, history, broadcast)
//!                                                    │
//!                                  controllers (garbage collector, namespace finalizer)
//! ```
//!
//! Start one with [`Emulator::start`]; see `test/README.md` for what is and is not emulated.
#![forbid(unsafe_code)]

pub mod admission;
pub mod authz;
pub mod catalog;
pub mod controllers;
pub mod conversion;
pub mod crd;
pub mod discovery;
pub mod error;
pub mod http;
pub mod patch;
pub mod protobuf;
pub mod raw;
pub mod rest;
pub mod schema;
pub mod selector;
pub mod service;
pub mod store;
pub mod table;
pub mod tls;
pub mod webhook;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;

use crate::authz::Auth;
use crate::http::Frontend;
use crate::rest::Cluster;

/// Why an emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("binding {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("tls setup: {0}")]
    Tls(String),
    #[error("writing kubeconfig {path}: {source}")]
    Kubeconfig {
        path: String,
        source: std::io::Error,
    },
    #[error("building kube client: {0}")]
    Client(String),
}

/// How to start an emulator.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Service CIDRs, primary family first (one IPv4 and/or one IPv6).
    pub service_cidrs: Vec<IpNet>,
    /// Enforce RBAC for ServiceAccount tokens (the kubeconfig's admin token always passes).
    pub rbac: bool,
    /// Events kept for watch resume; older resourceVersions get 410 Gone.
    pub history: usize,
    /// How often watches that allow bookmarks get one.
    pub bookmark_interval: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            service_cidrs: vec![
                IpNet::V4(
                    ipnet::Ipv4Net::new(std::net::Ipv4Addr::new(10, 96, 0, 0), 12)
                        .unwrap_or_default(),
                ),
                IpNet::V6(
                    ipnet::Ipv6Net::new(
                        std::net::Ipv6Addr::new(0xfd00, 0x10, 0x96, 0, 0, 0, 0, 0),
                        108,
                    )
                    .unwrap_or_default(),
                ),
            ],
            rbac: false,
            history: 10_000,
            bookmark_interval: Duration::from_secs(15),
        }
    }
}

/// A running emulator; dropping it stops serving.
pub struct Emulator {
    url: String,
    addr: SocketAddr,
    kubeconfig: String,
    ca_pem: String,
    frontend: Arc<Frontend>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Emulator {
    /// Starts serving HTTPS on `opts.listen` (inside a Tokio runtime).
    pub async fn start(opts: Options) -> Result<Emulator, EmulatorError> {
        let listener = tokio::net::TcpListener::bind(opts.listen)
            .await
            .map_err(|source| EmulatorError::Bind {
                addr: opts.listen,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind {
                addr: opts.listen,
                source,
            })?;
        let certs = tls::generate(&[])?;
        let server_tls = tls::server_config(&certs)?;
        let host = match addr.ip() {
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            std::net::IpAddr::V4(ip) => ip.to_string(),
        };
        let url = format!("https://{host}:{}", addr.port());
        let admin_token = format!("admin-{}", uuid::Uuid::new_v4().simple());
        let kubeconfig = tls::kubeconfig(&url, &certs.ca_pem, "admin", &admin_token);
        let cluster = Cluster::new(opts.service_cidrs.clone(), opts.history);
        let frontend = Arc::new(Frontend {
            cluster: cluster.clone(),
            auth: Auth::new(admin_token, opts.rbac),
            address: format!("{host}:{}", addr.port()),
            bookmark_interval: opts.bookmark_interval,
        });
        let gc = controllers::spawn(cluster);
        let server = tokio::spawn(http::serve(listener, server_tls, frontend.clone()));
        tracing::info!(%url, "kube API emulator serving");
        Ok(Emulator {
            url,
            addr,
            kubeconfig,
            ca_pem: certs.ca_pem,
            frontend,
            tasks: vec![gc, server],
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bearer token of the admin kubeconfig.
    pub fn admin_token(&self) -> &str {
        &self.frontend.auth.admin_token
    }

    /// The PEM of the CA that signed the serving certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// An admin kubeconfig (YAML).
    pub fn kubeconfig(&self) -> &str {
        &self.kubeconfig
    }

    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), EmulatorError> {
        write_file(path, &self.kubeconfig)
    }

    /// Direct access to the emulated state (for assertions that bypass HTTP).
    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.frontend.cluster
    }

    /// A bearer token that authenticates as ServiceAccount `ns/name`.
    pub fn service_account_token(&self, ns: &str, name: &str) -> String {
        self.frontend.auth.issue(ns, name)
    }

    /// A kubeconfig authenticating as ServiceAccount `ns/name`.
    pub fn service_account_kubeconfig(&self, ns: &str, name: &str) -> String {
        let token = self.service_account_token(ns, name);
        tls::kubeconfig(&self.url, &self.ca_pem, &format!("{ns}-{name}"), &token)
    }

    /// A `kube::Client` with admin rights.
    pub async fn client(&self) -> Result<kube::Client, EmulatorError> {
        client_from_kubeconfig(&self.kubeconfig).await
    }
}

fn write_file(path: &Path, contents: &str) -> Result<(), EmulatorError> {
    let err = |source| EmulatorError::Kubeconfig {
        path: path.display().to_string(),
        source,
    };
    // Write then rename, so a watcher of the path never reads half a file.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// A `kube::Client` for a kubeconfig YAML.
pub async fn client_from_kubeconfig(yaml: &str) -> Result<kube::Client, EmulatorError> {
    let kc = kube::config::Kubeconfig::from_yaml(yaml)
        .map_err(|e| EmulatorError::Client(e.to_string()))?;
    let cfg = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await
        .map_err(|e| EmulatorError::Client(e.to_string()))?;
    kube::Client::try_from(cfg).map_err(|e| EmulatorError::Client(e.to_string()))
}
