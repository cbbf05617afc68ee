//! The configuration as the CCM sees it: watched metallb.io objects ─► the one parser ─► Config,
//! and what the leader publishes about it (ConfigurationState `controller`, IPAddressPool status).
//!
//! ```text
//!   Store<IPAddressPool|BGPPeer|...|Secret|Namespace> ─► Resources ─► Config::from_resources
//!        └─ evaluate(): latest verdict + last good Config (a bad edit never unloads pools)
//!   StatusWriter: ConfigurationState/controller {result, errorSummary, conditions}
//!                 IPAddressPool/status {assignedIPv4, assignedIPv6, availableIPv4, availableIPv6}
//!                 written by the leader only, and only when different from the last write
//! ```

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::reflector::Store;
use kube::{Resource, ResourceExt};
use lodestone_apis::config::{Config, Resources};
use lodestone_apis::v1beta1::{
    BFDProfile, BGPAdvertisement, COMPONENT_TYPE_LABEL, Community, ConfigurationState,
    IPAddressPool, L2Advertisement,
};
use lodestone_apis::v1beta2::BGPPeer;
use serde_json::json;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use super::watch::{self, Change};
use crate::lease::LeaderGate;
use crate::metrics::{Metrics, PoolCounts};

/// Name of the controller's ConfigurationState.
pub const CONFIGURATION_STATE: &str = "controller";

/// One evaluation of the configuration.
#[derive(Clone, Debug)]
pub struct Evaluated {
    /// The verdict on the objects as they are now: `Err(summary)` when invalid.
    pub latest: Result<(), String>,
    /// References not resolvable yet (non-fatal), one line each.
    pub pending: Vec<String>,
    /// The configuration to run on: the latest if valid, else the last valid one.
    pub config: Option<Config>,
}

/// The watched configuration objects.
pub struct ConfigSource {
    pools: Store<IPAddressPool>,
    peers: Store<BGPPeer>,
    bgp_advertisements: Store<BGPAdvertisement>,
    l2_advertisements: Store<L2Advertisement>,
    bfd_profiles: Store<BFDProfile>,
    communities: Store<Community>,
    secrets: Store<Secret>,
    namespaces: Store<Namespace>,
    tasks: Vec<JoinHandle<()>>,
    last_good: Option<Config>,
}

fn sorted<K: Resource<DynamicType = ()> + Clone>(store: &Store<K>) -> Vec<K> {
    let mut v: Vec<K> = store.state().iter().map(|o| (**o).clone()).collect();
    v.sort_by_key(|o| (o.meta().namespace.clone(), o.meta().name.clone()));
    v
}

impl ConfigSource {
    /// Starts the watches of the metallb.io kinds in `namespace`.
    pub fn spawn(
        client: &kube::Client,
        namespace: &str,
        tx: &UnboundedSender<Change>,
        metrics: &Metrics,
        secrets: Store<Secret>,
        namespaces: Store<Namespace>,
    ) -> ConfigSource {
        let mut tasks = Vec::new();
        macro_rules! watch_kind {
            ($k:ty, $what:literal) => {{
                let (store, task) = watch::spawn(
                    Api::<$k>::namespaced(client.clone(), namespace),
                    (),
                    $what,
                    tx.clone(),
                    metrics.clone(),
                    watch::config_change,
                    watch::generation,
                );
                tasks.push(task);
                store
            }};
        }
        let pools = watch_kind!(IPAddressPool, "IPAddressPool");
        let peers = watch_kind!(BGPPeer, "BGPPeer");
        let bgp_advertisements = watch_kind!(BGPAdvertisement, "BGPAdvertisement");
        let l2_advertisements = watch_kind!(L2Advertisement, "L2Advertisement");
        let bfd_profiles = watch_kind!(BFDProfile, "BFDProfile");
        let communities = watch_kind!(Community, "Community");
        ConfigSource {
            pools,
            peers,
            bgp_advertisements,
            l2_advertisements,
            bfd_profiles,
            communities,
            secrets,
            namespaces,
            tasks,
            last_good: None,
        }
    }

    /// The watch tasks (aborted when the controller stops).
    pub fn take_tasks(&mut self) -> Vec<JoinHandle<()>> {
        std::mem::take(&mut self.tasks)
    }

    /// Waits until every configuration kind was listed once.
    pub async fn wait_until_ready(
        &self,
    ) -> Result<(), kube::runtime::reflector::store::WriterDropped> {
        self.pools.wait_until_ready().await?;
        self.peers.wait_until_ready().await?;
        self.bgp_advertisements.wait_until_ready().await?;
        self.l2_advertisements.wait_until_ready().await?;
        self.bfd_profiles.wait_until_ready().await?;
        self.communities.wait_until_ready().await?;
        self.secrets.wait_until_ready().await?;
        self.namespaces.wait_until_ready().await
    }

    /// The current objects as the parser takes them (sorted, so evaluation is deterministic).
    pub fn resources(&self) -> Resources {
        Resources {
            pools: sorted(&self.pools),
            peers: sorted(&self.peers),
            bgp_advertisements: sorted(&self.bgp_advertisements),
            l2_advertisements: sorted(&self.l2_advertisements),
            bfd_profiles: sorted(&self.bfd_profiles),
            communities: sorted(&self.communities),
            secrets: sorted(&self.secrets),
            // Nodes only matter to the speaker's advertisement checks, not to allocation; not
            // watching them keeps node heartbeats from re-evaluating the configuration.
            nodes: Vec::new(),
            namespaces: sorted(&self.namespaces),
        }
    }

    /// Runs the one parser over the current objects.
    pub fn evaluate(&mut self) -> Evaluated {
        let resources = self.resources();
        match Config::from_resources(&resources) {
            Ok((config, pending)) => {
                self.last_good = Some(config.clone());
                Evaluated {
                    latest: Ok(()),
                    pending: pending.iter().map(|p| format!("{p:?}")).collect(),
                    config: Some(config),
                }
            }
            Err(e) => {
                warn!(error = %e, "configuration invalid; keeping the last valid one");
                Evaluated {
                    latest: Err(e.to_string()),
                    pending: Vec::new(),
                    config: self.last_good.clone(),
                }
            }
        }
    }
}

/// Writes ConfigurationState and IPAddressPool status for the leader, only on change.
pub struct StatusWriter {
    client: kube::Client,
    namespace: String,
    gate: LeaderGate,
    metrics: Metrics,
    last_state: Option<(String, Option<String>)>,
    last_pools: HashMap<String, PoolCounts>,
}

impl StatusWriter {
    pub fn new(client: kube::Client, namespace: &str, gate: LeaderGate, metrics: Metrics) -> Self {
        StatusWriter {
            client,
            namespace: namespace.to_string(),
            gate,
            metrics,
            last_state: None,
            last_pools: HashMap::new(),
        }
    }

    /// Forgets what was written (a new term writes everything once again).
    pub fn forget(&mut self) {
        self.last_state = None;
        self.last_pools.clear();
    }

    fn count(&self, kind: &str, result: &str) {
        self.metrics
            .api_writes
            .with_label_values(&[kind, result])
            .inc();
    }

    /// Publishes the verdict in ConfigurationState `controller`.
    pub async fn configuration_state(&mut self, term: u64, ev: &Evaluated) {
        let (result, summary) = match &ev.latest {
            Ok(()) => ("Valid", None),
            Err(s) => ("Invalid", Some(s.clone())),
        };
        let want = (result.to_string(), summary.clone());
        if self.last_state.as_ref() == Some(&want) {
            self.count("configurationstate", "unchanged");
            return;
        }
        if self.gate.check_term(term).is_err() {
            self.count("configurationstate", "not_leader");
            return;
        }
        let api: Api<ConfigurationState> = Api::namespaced(self.client.clone(), &self.namespace);
        match api.get_opt(CONFIGURATION_STATE).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                let mut cs = ConfigurationState::new(CONFIGURATION_STATE);
                cs.metadata = ObjectMeta {
                    name: Some(CONFIGURATION_STATE.to_string()),
                    namespace: Some(self.namespace.clone()),
                    labels: Some(
                        [(COMPONENT_TYPE_LABEL.to_string(), "controller".to_string())].into(),
                    ),
                    ..ObjectMeta::default()
                };
                if let Err(e) = api.create(&PostParams::default(), &cs).await {
                    warn!(error = %e, "creating ConfigurationState");
                    self.count("configurationstate", "failed");
                    return;
                }
            }
            Err(e) => {
                warn!(error = %e, "reading ConfigurationState");
                self.count("configurationstate", "failed");
                return;
            }
        }
        let condition = Condition {
            type_: "ConfigurationValid".to_string(),
            status: if summary.is_none() { "True" } else { "False" }.to_string(),
            reason: if summary.is_none() {
                "ConfigurationLoaded"
            } else {
                "ConfigurationInvalid"
            }
            .to_string(),
            message: summary.clone().unwrap_or_default(),
            last_transition_time: Time(Timestamp::now()),
            observed_generation: None,
        };
        let patch = json!({"status": {
            "result": result,
            "errorSummary": summary.clone().unwrap_or_default(),
            "conditions": [condition],
        }});
        if self.gate.check_term(term).is_err() {
            self.count("configurationstate", "not_leader");
            return;
        }
        match api
            .patch_status(
                CONFIGURATION_STATE,
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(_) => {
                info!(result, "ConfigurationState updated");
                self.count("configurationstate", "sent");
                self.last_state = Some(want);
            }
            Err(e) => {
                warn!(error = %e, "writing ConfigurationState status");
                self.count("configurationstate", "failed");
            }
        }
    }

    /// Whether any pool's counters differ from what was last written.
    pub fn pools_differ(&self, counts: &[PoolCounts]) -> bool {
        counts.len() != self.last_pools.len()
            || counts
                .iter()
                .any(|c| self.last_pools.get(&c.pool) != Some(c))
    }

    /// Publishes each pool's counters in its status (changed pools only).
    pub async fn pool_statuses(&mut self, term: u64, counts: &[PoolCounts]) {
        let api: Api<IPAddressPool> = Api::namespaced(self.client.clone(), &self.namespace);
        self.last_pools
            .retain(|name, _| counts.iter().any(|c| &c.pool == name));
        for c in counts {
            if self.last_pools.get(&c.pool) == Some(c) {
                continue;
            }
            if self.gate.check_term(term).is_err() {
                self.count("ipaddresspool", "not_leader");
                return;
            }
            let patch = json!({"status": {
                "assignedIPv4": c.v4_in_use,
                "assignedIPv6": c.v6_in_use,
                "availableIPv4": c.v4_total.saturating_sub(c.v4_in_use),
                "availableIPv6": c.v6_total.saturating_sub(c.v6_in_use),
            }});
            match api
                .patch_status(&c.pool, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(p) => {
                    debug!(pool = %p.name_any(), "pool status updated");
                    self.count("ipaddresspool", "sent");
                    self.last_pools.insert(c.pool.clone(), c.clone());
                }
                Err(e) => {
                    warn!(pool = %c.pool, error = %e, "writing IPAddressPool status");
                    self.count("ipaddresspool", "failed");
                }
            }
        }
    }
}
