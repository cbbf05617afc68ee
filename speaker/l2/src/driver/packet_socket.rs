//! The crate's one audited socket module: AF_PACKET sockets bound to one interface, with a
//! kernel filter, and the ICMPv6 socket that holds solicited-node multicast memberships.
//!
//! Why `unsafe` is needed here: binding an AF_PACKET socket to an interface takes a
//! `sockaddr_ll`, and socket2 only offers raw construction of link-layer addresses
//! (`SockAddrStorage::view_as` / `SockAddr::new` are `unsafe`). The two `unsafe` blocks below
//! write plain integer fields into zeroed storage sized for `sockaddr_ll` and pass its exact
//! length. Registering a socket with tokio's reactor is `unsafe` too (tokio cannot check I/O
//! safety for an arbitrary `AsRawFd`); we only register `socket2::Socket`s we own. Nothing
//! else in this crate uses `unsafe`.
//!
//! Why not pnet: it opens `ETH_P_ALL` (every frame of the interface, copied to user space) and
//! cannot filter or join multicast groups. Here the ARP socket asks the kernel for ARP only, and
//! the IPv6 socket carries a classic BPF program that passes ICMPv6 Neighbor Solicitations only
//! (next header 58 directly after the IPv6 header, ICMPv6 type 135). Promiscuous mode is never
//! requested; packet sockets also see our own outgoing frames, which the responder drops by
//! source MAC ([`crate::DropReason::OwnFrame`]).
#![allow(unsafe_code)]

use std::io;
use std::net::Ipv6Addr;

use socket2::{Domain, Protocol, SockAddr, SockAddrStorage, SockFilter, Socket, Type};
use tokio::io::unix::AsyncFd;

use crate::ethernet::{ETHERTYPE_ARP, ETHERTYPE_IPV6};

/// Which frames a packet socket receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    /// ARP frames (EtherType 0x0806).
    Arp,
    /// ICMPv6 Neighbor Solicitations (EtherType 0x86dd, kernel-filtered).
    NeighborSolicitation,
}

// Classic BPF opcodes (linux/filter.h).
const BPF_LD_B_ABS: u16 = 0x30; // BPF_LD | BPF_B | BPF_ABS
const BPF_LD_H_ABS: u16 = 0x28; // BPF_LD | BPF_H | BPF_ABS
const BPF_JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K

/// BPF: EtherType IPv6, next header ICMPv6, ICMPv6 type 135; else drop.
fn neighbor_solicitation_filter() -> [SockFilter; 8] {
    [
        SockFilter::new(BPF_LD_H_ABS, 0, 0, 12),
        SockFilter::new(BPF_JEQ_K, 0, 5, u32::from(ETHERTYPE_IPV6)),
        SockFilter::new(BPF_LD_B_ABS, 0, 0, 14 + 6),
        SockFilter::new(BPF_JEQ_K, 0, 3, 58),
        SockFilter::new(BPF_LD_B_ABS, 0, 0, 14 + 40),
        SockFilter::new(BPF_JEQ_K, 0, 1, 135),
        SockFilter::new(BPF_RET_K, 0, 0, 0x0004_0000),
        SockFilter::new(BPF_RET_K, 0, 0, 0),
    ]
}

/// BPF: drop everything (the membership socket is never read).
fn drop_all_filter() -> [SockFilter; 1] {
    [SockFilter::new(BPF_RET_K, 0, 0, 0)]
}

/// Opens a non-blocking raw packet socket bound to interface `ifindex` receiving `kind`.
pub fn open(ifindex: u32, kind: PacketKind) -> io::Result<Socket> {
    let ethertype = match kind {
        PacketKind::Arp => ETHERTYPE_ARP,
        PacketKind::NeighborSolicitation => ETHERTYPE_IPV6,
    };
    // The protocol field is in network byte order.
    let protocol = i32::from(ethertype.to_be());
    let socket = Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(protocol)))?;
    if kind == PacketKind::NeighborSolicitation {
        socket.attach_filter(&neighbor_solicitation_filter())?;
    }
    let ifindex = i32::try_from(ifindex)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "ifindex out of range"))?;
    let mut storage = SockAddrStorage::zeroed();
    // SAFETY: `sockaddr_ll` is one of this platform's sockaddr types and fits in
    // `sockaddr_storage` (`view_as` asserts the size); all-zero is a valid `sockaddr_ll`.
    let ll = unsafe { storage.view_as::<libc::sockaddr_ll>() };
    ll.sll_family = libc::AF_PACKET as libc::sa_family_t;
    ll.sll_protocol = ethertype.to_be();
    ll.sll_ifindex = ifindex;
    let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: the storage holds an initialised `sockaddr_ll` and `len` is its exact size.
    let address = unsafe { SockAddr::new(storage, len) };
    socket.bind(&address)?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// Registers `socket` with the tokio reactor.
pub fn register(socket: Socket) -> io::Result<AsyncFd<Socket>> {
    // SAFETY: `Socket` owns its file descriptor: it is open, keeps referring to the same socket
    // and is returned by every `as_raw_fd` call until the `Socket` (moved into the `AsyncFd`)
    // is dropped, which is exactly tokio's requirement.
    unsafe { AsyncFd::register(socket) }.map_err(|e| e.into_parts().1)
}

/// An ICMPv6 socket bound to the interface that only holds multicast memberships, so the
/// kernel sends MLD reports and the NIC accepts 33:33:ff:xx:xx:xx for the groups we join.
pub fn membership_socket(ifname: &str) -> io::Result<Socket> {
    let socket = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
    socket.bind_device(Some(ifname.as_bytes()))?;
    socket.attach_filter(&drop_all_filter())?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// Joins `group` on `ifindex` with the membership socket.
pub fn join(socket: &Socket, group: Ipv6Addr, ifindex: u32) -> io::Result<()> {
    socket.join_multicast_v6(&group, ifindex)
}

/// Leaves `group` on `ifindex`.
pub fn leave(socket: &Socket, group: Ipv6Addr, ifindex: u32) -> io::Result<()> {
    socket.leave_multicast_v6(&group, ifindex)
}
