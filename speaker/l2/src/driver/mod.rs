//! The tokio driver: per-interface ARP and NDP responders and the gratuitous announcer.
//!
//! ```text
//!  speaker (election) ── set_owned({ip → scope}) ──► L2Handle
//!                                                     │  owned set (read by responders)
//!                                                     │  solicited-node joins per link
//!                                                     └► announcer: takeover → GARP / NA now,
//!                                                                   then every 1.1 s for 5 s
//!  interface scan (start + every 10 s) ──► Link per interface
//!     ARP packet socket ─► respond_checked ─► reply │ drop reason counted
//!     NS packet socket (BPF: ICMPv6 type 135) ──┘
//! ```
//!
//! Addresses are never configured on an interface; the kernel ignores ARP/NS for addresses it
//! does not have, and we answer them from user space.

pub mod announcer;
pub mod counters;
pub mod interfaces;
mod link;
mod packet_socket;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{info, warn};

pub use announcer::AnnounceConfig;
pub use counters::CountersSnapshot;
pub use interfaces::{InterfaceSelection, NamePattern};

use crate::{DropReason, MacAddr};
use link::Link;

/// Where an owned address is answered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Scope {
    /// Every interface the driver runs on.
    #[default]
    AllInterfaces,
    /// Only these (an L2Advertisement's `interfaces`).
    Only(BTreeSet<String>),
}

impl Scope {
    pub fn allows(&self, interface: &str) -> bool {
        match self {
            Scope::AllInterfaces => true,
            Scope::Only(names) => names.contains(interface),
        }
    }
}

/// Driver settings.
#[derive(Debug, Clone)]
pub struct DriverConfig {
    pub interfaces: InterfaceSelection,
    pub announce: AnnounceConfig,
    /// How often interfaces are re-listed (MetalLB: 10 s).
    pub rescan_interval: Duration,
    /// `/sys/class/net`
    pub sys_class_net: PathBuf,
    /// `/proc/net/if_inet6`
    pub if_inet6: PathBuf,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            interfaces: InterfaceSelection::default(),
            announce: AnnounceConfig::default(),
            rescan_interval: Duration::from_secs(10),
            sys_class_net: PathBuf::from("/sys/class/net"),
            if_inet6: PathBuf::from("/proc/net/if_inet6"),
        }
    }
}

/// Errors starting the driver.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("listing network interfaces: {0}")]
    ListInterfaces(#[source] std::io::Error),
}

/// One interface the driver runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkStatus {
    pub name: String,
    pub mac: MacAddr,
    pub arp: bool,
    pub ndp: bool,
}

pub(crate) struct Shared {
    owned: RwLock<BTreeMap<IpAddr, Scope>>,
    pub(crate) counters: counters::Counters,
    links: Mutex<BTreeMap<String, Link>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    pub(crate) fn check_owned(&self, ip: IpAddr, interface: &str) -> Result<(), DropReason> {
        let owned = self.owned.read().unwrap_or_else(|p| p.into_inner());
        match owned.get(&ip) {
            None => Err(DropReason::NotOwned),
            Some(scope) if !scope.allows(interface) => Err(DropReason::InterfaceNotSelected),
            Some(_) => Ok(()),
        }
    }

    fn owned_snapshot(&self) -> BTreeMap<IpAddr, Scope> {
        self.owned.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn links(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Link>> {
        self.links.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn sync_groups(&self, link: &mut Link, owned: &BTreeMap<IpAddr, Scope>) {
        let name = link.info.name.clone();
        link.set_groups(owned.iter().filter_map(|(ip, scope)| match ip {
            IpAddr::V6(v6) if scope.allows(&name) => Some(*v6),
            _ => None,
        }));
    }

    /// Sends one round of gratuitous frames for `ip` on every link allowed for it.
    fn announce(&self, ip: IpAddr) -> usize {
        let Some(scope) = self
            .owned
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&ip)
            .cloned()
        else {
            return 0;
        };
        self.links()
            .values()
            .filter(|l| scope.allows(&l.info.name))
            .map(|l| l.announce(ip, self))
            .sum()
    }
}

/// The speaker's handle on the driver. Cheap to clone.
#[derive(Clone)]
pub struct L2Handle {
    shared: Arc<Shared>,
    takeovers: mpsc::UnboundedSender<Vec<IpAddr>>,
}

impl L2Handle {
    /// Replaces the set of addresses this node answers for. Addresses new to the set are
    /// announced at once (gratuitous ARP / unsolicited NA) and then on the configured cadence;
    /// removed ones stop being answered before this returns.
    pub fn set_owned(&self, owned: BTreeMap<IpAddr, Scope>) {
        let added: Vec<IpAddr> = {
            let mut current = self.shared.owned.write().unwrap_or_else(|p| p.into_inner());
            let added = owned
                .keys()
                .filter(|ip| !current.contains_key(ip))
                .copied()
                .collect();
            *current = owned.clone();
            added
        };
        {
            let mut links = self.shared.links();
            for link in links.values_mut() {
                self.shared.sync_groups(link, &owned);
            }
        }
        if !added.is_empty() {
            info!(addresses = ?added, "taking over");
            // The announcer only stops when the handle is shut down.
            let _ = self.takeovers.send(added);
        }
    }

    /// [`set_owned`](Self::set_owned) with every address on all interfaces.
    pub fn set_owned_everywhere(&self, addresses: impl IntoIterator<Item = IpAddr>) {
        self.set_owned(
            addresses
                .into_iter()
                .map(|a| (a, Scope::AllInterfaces))
                .collect(),
        );
    }

    /// The addresses currently answered for.
    pub fn owned(&self) -> BTreeMap<IpAddr, Scope> {
        self.shared.owned_snapshot()
    }

    /// Current counters.
    pub fn counters(&self) -> CountersSnapshot {
        self.shared.counters.snapshot()
    }

    /// Interfaces with responders.
    pub fn links(&self) -> Vec<LinkStatus> {
        self.shared
            .links()
            .values()
            .map(|l| LinkStatus {
                name: l.info.name.clone(),
                mac: l.info.mac,
                arp: l.has_arp(),
                ndp: l.has_ndp(),
            })
            .collect()
    }

    /// Stops answering everything, stops the background tasks and closes all sockets.
    pub fn shutdown(&self) {
        self.shared
            .owned
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        for t in self
            .shared
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            t.abort();
        }
        self.shared.links().clear();
    }
}

/// Starts the driver: scans interfaces once (an error listing them is fatal), then rescans and
/// announces in the background. Must be called inside a tokio runtime.
pub async fn start(config: DriverConfig) -> Result<L2Handle, DriverError> {
    let shared = Arc::new(Shared {
        owned: RwLock::new(BTreeMap::new()),
        counters: counters::Counters::default(),
        links: Mutex::new(BTreeMap::new()),
        tasks: Mutex::new(Vec::new()),
    });
    scan(&shared, &config)?;
    let (tx, rx) = mpsc::unbounded_channel();
    let rescan = {
        let shared = shared.clone();
        let config = config.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(config.rescan_interval);
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = scan(&shared, &config) {
                    warn!(error = %e, "interface scan failed; keeping the current responders");
                }
            }
        })
    };
    let announcer = tokio::spawn(announce_loop(shared.clone(), config.announce, rx));
    shared
        .tasks
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .extend([rescan, announcer]);
    Ok(L2Handle {
        shared,
        takeovers: tx,
    })
}

fn scan(shared: &Arc<Shared>, config: &DriverConfig) -> Result<(), DriverError> {
    let found = interfaces::list(&config.sys_class_net, &config.if_inet6)
        .map_err(DriverError::ListInterfaces)?;
    let wanted: BTreeMap<String, interfaces::InterfaceInfo> = found
        .into_iter()
        .filter(|i| config.interfaces.admits(&i.name) && (i.wants_arp() || i.wants_ndp()))
        .map(|i| (i.name.clone(), i))
        .collect();
    if let InterfaceSelection::Named(names) = &config.interfaces {
        for missing in names.iter().filter(|n| !wanted.contains_key(*n)) {
            warn!(interface = %missing, "configured interface is missing, down, enslaved or NOARP");
        }
    }
    let owned = shared.owned_snapshot();
    let mut links = shared.links();
    links.retain(|name, link| {
        let keep = wanted
            .get(name)
            .is_some_and(|w| w.same_responders(&link.info));
        if !keep {
            info!(interface = %name, "removing responders");
        }
        keep
    });
    for (name, info) in wanted {
        if links.contains_key(&name) {
            continue;
        }
        match Link::open(info, shared) {
            Ok(mut link) => {
                info!(interface = %name, mac = %link.info.mac, arp = link.has_arp(), ndp = link.has_ndp(), "responders started");
                shared.sync_groups(&mut link, &owned);
                links.insert(name, link);
            }
            Err(e) => warn!(interface = %name, error = %e, "cannot open responder sockets"),
        }
    }
    Ok(())
}

async fn announce_loop(
    shared: Arc<Shared>,
    config: AnnounceConfig,
    mut takeovers: mpsc::UnboundedReceiver<Vec<IpAddr>>,
) {
    let mut schedule = announcer::Schedule::default();
    loop {
        let now = tokio::time::Instant::now().into_std();
        for ip in schedule.due(now, config) {
            if shared.announce(ip) == 0 {
                // Not owned any more, or no interface for it.
                schedule.cancel(ip);
            }
        }
        let next = schedule.next_due();
        tokio::select! {
            msg = takeovers.recv() => match msg {
                Some(ips) => {
                    let now = tokio::time::Instant::now().into_std();
                    for ip in ips {
                        schedule.takeover(ip, now, config);
                    }
                }
                None => return,
            },
            () = async {
                match next {
                    Some(t) => tokio::time::sleep_until(t.into()).await,
                    None => std::future::pending().await,
                }
            } => {}
        }
    }
}
