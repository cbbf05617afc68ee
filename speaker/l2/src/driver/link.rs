//! One interface's responders: an ARP packet socket, an NS packet socket, the multicast
//! membership socket, and the receive tasks.

use std::collections::BTreeSet;
use std::io::Read;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;

use socket2::Socket;
use tokio::io::unix::AsyncFd;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use super::Shared;
use super::interfaces::InterfaceInfo;
use super::packet_socket::{self, PacketKind};
use crate::arp::{ArpPacket, Operation};
use crate::ndp;
use crate::responder::respond_checked;

/// Responders on one interface. Dropping it stops its tasks and closes its sockets (which
/// leaves its multicast groups).
pub(crate) struct Link {
    pub(crate) info: InterfaceInfo,
    arp: Option<Arc<AsyncFd<Socket>>>,
    ndp: Option<Arc<AsyncFd<Socket>>>,
    membership: Option<Socket>,
    joined: BTreeSet<Ipv6Addr>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Link {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Link {
    /// Opens the sockets `info` calls for and starts receiving.
    pub(crate) fn open(info: InterfaceInfo, shared: &Arc<Shared>) -> std::io::Result<Link> {
        let mut link = Link {
            info,
            arp: None,
            ndp: None,
            membership: None,
            joined: BTreeSet::new(),
            tasks: Vec::new(),
        };
        if link.info.wants_arp() {
            let fd = Arc::new(packet_socket::register(packet_socket::open(
                link.info.index,
                PacketKind::Arp,
            )?)?);
            link.tasks.push(tokio::spawn(receive(
                fd.clone(),
                link.info.clone(),
                shared.clone(),
            )));
            link.arp = Some(fd);
        }
        if link.info.wants_ndp() {
            let fd = Arc::new(packet_socket::register(packet_socket::open(
                link.info.index,
                PacketKind::NeighborSolicitation,
            )?)?);
            link.membership = Some(packet_socket::membership_socket(&link.info.name)?);
            link.tasks.push(tokio::spawn(receive(
                fd.clone(),
                link.info.clone(),
                shared.clone(),
            )));
            link.ndp = Some(fd);
        }
        Ok(link)
    }

    pub(crate) fn has_arp(&self) -> bool {
        self.arp.is_some()
    }

    pub(crate) fn has_ndp(&self) -> bool {
        self.ndp.is_some()
    }

    /// Joins exactly the solicited-node groups of `addresses` (IPv6 ones we answer for here).
    pub(crate) fn set_groups(&mut self, addresses: impl Iterator<Item = Ipv6Addr>) {
        let Some(socket) = &self.membership else {
            return;
        };
        let want: BTreeSet<Ipv6Addr> = addresses.map(ndp::solicited_node_group).collect();
        for group in self.joined.difference(&want) {
            if let Err(e) = packet_socket::leave(socket, *group, self.info.index) {
                warn!(interface = %self.info.name, %group, error = %e, "leaving solicited-node group failed");
            }
        }
        let mut joined = BTreeSet::new();
        for group in &want {
            if self.joined.contains(group) {
                joined.insert(*group);
                continue;
            }
            match packet_socket::join(socket, *group, self.info.index) {
                Ok(()) => {
                    debug!(interface = %self.info.name, %group, "joined solicited-node group");
                    joined.insert(*group);
                }
                Err(e) => warn!(
                    interface = %self.info.name, %group, error = %e,
                    "joining solicited-node group failed: NDP for this address will not be answered here"
                ),
            }
        }
        self.joined = joined;
    }

    /// Sends the gratuitous frames for `ip` on this link; returns how many went out.
    pub(crate) fn announce(&self, ip: IpAddr, shared: &Shared) -> usize {
        let mac = self.info.mac;
        let (fd, frames) = match ip {
            IpAddr::V4(v4) => (
                &self.arp,
                vec![
                    ArpPacket::gratuitous_frame(Operation::Request, mac, v4),
                    ArpPacket::gratuitous_frame(Operation::Reply, mac, v4),
                ],
            ),
            IpAddr::V6(v6) => (
                &self.ndp,
                vec![ndp::unsolicited_advertisement_frame(v6, mac)],
            ),
        };
        let Some(fd) = fd else {
            return 0;
        };
        let mut sent = 0;
        for frame in frames {
            match fd.get_ref().send(&frame) {
                Ok(_) => {
                    shared.counters.gratuitous(ip);
                    sent += 1;
                }
                Err(e) => {
                    shared.counters.send_error(&self.info.name);
                    warn!(interface = %self.info.name, %ip, error = %e, "gratuitous send failed");
                }
            }
        }
        sent
    }
}

async fn receive(fd: Arc<AsyncFd<Socket>>, info: InterfaceInfo, shared: Arc<Shared>) {
    let mut buf = vec![0u8; 2048];
    loop {
        let mut guard = match fd.readable().await {
            Ok(g) => g,
            Err(e) => {
                warn!(interface = %info.name, error = %e, "packet socket failed; responder stops until the next interface scan");
                return;
            }
        };
        let n = match guard.try_io(|inner| inner.get_ref().read(&mut buf)) {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                warn!(interface = %info.name, error = %e, "packet socket read failed");
                continue;
            }
            Err(_would_block) => continue,
        };
        let frame = &buf[..n.min(buf.len())];
        match respond_checked(frame, info.mac, |ip| shared.check_owned(ip, &info.name)) {
            Ok(answer) => {
                shared.counters.request(answer.address);
                match fd.get_ref().send(&answer.frame) {
                    Ok(_) => {
                        shared.counters.response(answer.address);
                        debug!(interface = %info.name, ip = %answer.address, "answered");
                    }
                    Err(e) => {
                        shared.counters.send_error(&info.name);
                        warn!(interface = %info.name, ip = %answer.address, error = %e, "reply send failed");
                    }
                }
            }
            Err(reason) => {
                shared.counters.drop(&info.name, reason);
                debug!(interface = %info.name, %reason, "frame dropped");
            }
        }
    }
}
