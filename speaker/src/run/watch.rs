//! Reflectors feeding in-memory stores; every event wakes the reconcile loop.
//!
//! ```text
//!   watcher(Api<K>) ─► reflector ─► Store<K> ──snapshot()──► Resources + planner input
//!                           └─► Notify (coalesced wake-up) + synced count (readiness)
//! ```

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Node, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use lodestone_apis::config::Resources;
use lodestone_apis::v1beta1::{
    BFDProfile, BGPAdvertisement, Community, IPAddressPool, L2Advertisement,
};
use lodestone_apis::v1beta2::BGPPeer;
use serde::de::DeserializeOwned;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tracing::warn;

use crate::metrics::Metrics;

/// Every store the speaker reads.
pub struct Stores {
    pools: Store<IPAddressPool>,
    peers: Store<BGPPeer>,
    bgp_advertisements: Store<BGPAdvertisement>,
    l2_advertisements: Store<L2Advertisement>,
    bfd_profiles: Store<BFDProfile>,
    communities: Store<Community>,
    secrets: Store<Secret>,
    pub nodes: Store<Node>,
    namespaces: Store<Namespace>,
    pub services: Store<Service>,
    pub endpoint_slices: Store<EndpointSlice>,
    synced: Arc<AtomicUsize>,
    kinds: usize,
    pub tasks: Vec<JoinHandle<()>>,
}

/// Cluster state at one moment.
pub struct Snapshot {
    pub resources: Resources,
    pub nodes: Vec<Node>,
    pub services: Vec<Service>,
    pub endpoint_slices: Vec<EndpointSlice>,
}

fn owned<K>(store: &Store<K>) -> Vec<K>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    store.state().iter().map(|o| (**o).clone()).collect()
}

impl Stores {
    /// Starts one reflector per kind.
    pub fn start(client: &Client, namespace: &str, wake: Arc<Notify>, metrics: &Metrics) -> Stores {
        let synced = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        let mut go = |t| tasks.push(t);
        macro_rules! ns {
            ($k:ty, $what:literal) => {{
                let (s, t) = spawn::<$k>(
                    Api::namespaced(client.clone(), namespace),
                    $what,
                    &wake,
                    &synced,
                    metrics,
                );
                go(t);
                s
            }};
        }
        macro_rules! all {
            ($k:ty, $what:literal) => {{
                let (s, t) = spawn::<$k>(Api::all(client.clone()), $what, &wake, &synced, metrics);
                go(t);
                s
            }};
        }
        let pools = ns!(IPAddressPool, "IPAddressPool");
        let peers = ns!(BGPPeer, "BGPPeer");
        let bgp_advertisements = ns!(BGPAdvertisement, "BGPAdvertisement");
        let l2_advertisements = ns!(L2Advertisement, "L2Advertisement");
        let bfd_profiles = ns!(BFDProfile, "BFDProfile");
        let communities = ns!(Community, "Community");
        let secrets = ns!(Secret, "Secret");
        let nodes = all!(Node, "Node");
        let namespaces = all!(Namespace, "Namespace");
        let services = all!(Service, "Service");
        let endpoint_slices = all!(EndpointSlice, "EndpointSlice");
        Stores {
            pools,
            peers,
            bgp_advertisements,
            l2_advertisements,
            bfd_profiles,
            communities,
            secrets,
            nodes,
            namespaces,
            services,
            endpoint_slices,
            synced,
            kinds: 11,
            tasks,
        }
    }

    /// Whether every reflector has listed once.
    pub fn synced(&self) -> bool {
        self.synced.load(Ordering::Acquire) >= self.kinds
    }

    /// Copies everything out of the stores.
    pub fn snapshot(&self) -> Snapshot {
        let nodes = owned(&self.nodes);
        Snapshot {
            resources: Resources {
                pools: owned(&self.pools),
                peers: owned(&self.peers),
                bgp_advertisements: owned(&self.bgp_advertisements),
                l2_advertisements: owned(&self.l2_advertisements),
                bfd_profiles: owned(&self.bfd_profiles),
                communities: owned(&self.communities),
                secrets: owned(&self.secrets),
                nodes: nodes.clone(),
                namespaces: owned(&self.namespaces),
            },
            nodes,
            services: owned(&self.services),
            endpoint_slices: owned(&self.endpoint_slices),
        }
    }
}

fn spawn<K>(
    api: Api<K>,
    what: &'static str,
    wake: &Arc<Notify>,
    synced: &Arc<AtomicUsize>,
    metrics: &Metrics,
) -> (Store<K>, JoinHandle<()>)
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Clone + Eq + Hash + Default + Send + Sync,
{
    let writer = reflector::store::Writer::default();
    let store = writer.as_reader();
    let stream = reflector::reflector(
        writer,
        watcher(api, watcher::Config::default()).default_backoff(),
    );
    let (wake, synced, metrics) = (wake.clone(), synced.clone(), metrics.clone());
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        let mut counted = false;
        while let Some(event) = stream.next().await {
            match event {
                Ok(watcher::Event::InitDone) => {
                    if !counted {
                        counted = true;
                        synced.fetch_add(1, Ordering::AcqRel);
                    }
                    wake.notify_one();
                }
                Ok(watcher::Event::Init) => {}
                Ok(_) => {
                    metrics.updates.inc();
                    wake.notify_one();
                }
                Err(e) => {
                    metrics.update_errors.inc();
                    warn!(kind = what, error = %e, "watch failed; retrying with backoff");
                }
            }
        }
    });
    (store, task)
}
