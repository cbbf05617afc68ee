//! UDP sockets for BFD: shared receive sockets that report TTL, destination address and
//! interface (IP_RECVTTL/IP_PKTINFO, IPV6_RECVHOPLIMIT/IPV6_RECVPKTINFO through `nix`), and
//! per-session transmit sockets bound to the session's local address, TTL 255, source port in
//! 49152–65535 (RFC 5881 §4). No `unsafe`: socket2 and nix wrap the system calls.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;

use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg, setsockopt, sockopt,
};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// One received datagram with what the kernel told us about it.
#[derive(Debug, Clone)]
pub struct Datagram {
    pub len: usize,
    pub source: SocketAddr,
    /// Destination address of the packet (our local address).
    pub local: Option<IpAddr>,
    pub ifindex: Option<u32>,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: Option<u8>,
}

fn udp_socket(addr: &SocketAddr) -> io::Result<Socket> {
    let domain = if addr.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.set_nonblocking(true)?;
    Ok(s)
}

/// Set the outgoing TTL / hop limit.
fn set_ttl(s: &Socket, v6: bool, ttl: u8) -> io::Result<()> {
    if v6 {
        s.set_unicast_hops_v6(u32::from(ttl))
    } else {
        s.set_ttl_v4(u32::from(ttl))
    }
}

/// A shared receive socket on `port` for one address family, reporting TTL and packet info.
/// `send_ttl` is the TTL of anything sent from it (echo reflection uses 254).
pub fn bind_receiver(v6: bool, port: u16, send_ttl: u8) -> io::Result<UdpSocket> {
    let addr = if v6 {
        SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, port, 0, 0))
    } else {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port))
    };
    let s = udp_socket(&addr)?;
    s.set_reuse_address(true)?;
    set_ttl(&s, v6, send_ttl)?;
    s.bind(&addr.into())?;
    let std_sock: std::net::UdpSocket = s.into();
    let sock = UdpSocket::from_std(std_sock)?;
    if v6 {
        setsockopt(&sock, sockopt::Ipv6RecvHopLimit, &true).map_err(io::Error::from)?;
        setsockopt(&sock, sockopt::Ipv6RecvPacketInfo, &true).map_err(io::Error::from)?;
    } else {
        setsockopt(&sock, sockopt::Ipv4RecvTtl, &true).map_err(io::Error::from)?;
        setsockopt(&sock, sockopt::Ipv4PacketInfo, &true).map_err(io::Error::from)?;
    }
    Ok(sock)
}

/// A transmit socket for one session: bound to `local` (which may not exist yet: freebind),
/// optionally to an interface, TTL 255, source port picked from 49152–65535 starting at `hint`.
pub fn bind_sender(local: IpAddr, interface: Option<&str>, hint: u16) -> io::Result<UdpSocket> {
    const FIRST: u16 = 49152;
    const COUNT: u16 = 16384;
    let mut last_err = io::Error::new(io::ErrorKind::AddrInUse, "no free source port");
    for i in 0..COUNT {
        let port = FIRST + (hint.wrapping_add(i) % COUNT);
        let addr = scoped(SocketAddr::new(local, port), interface);
        let s = udp_socket(&addr)?;
        if local.is_ipv4() {
            s.set_freebind_v4(true)?;
        } else {
            s.set_freebind_v6(true)?;
        }
        set_ttl(&s, local.is_ipv6(), 255)?;
        if let Some(name) = interface {
            s.bind_device(Some(name.as_bytes()))?;
        }
        match s.bind(&addr.into()) {
            Ok(()) => {
                let std_sock: std::net::UdpSocket = s.into();
                return UdpSocket::from_std(std_sock);
            }
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => last_err = e,
            Err(e) => return Err(e),
        }
    }
    Err(last_err)
}

/// Receive one datagram into `buf` with its ancillary data.
pub async fn recv(sock: &UdpSocket, buf: &mut [u8]) -> io::Result<Datagram> {
    let fd = sock.as_raw_fd();
    sock.async_io(Interest::READABLE, || {
        let mut iov = [io::IoSliceMut::new(buf)];
        let mut cmsg = nix::cmsg_space!(
            nix::libc::c_int,
            nix::libc::in6_pktinfo,
            nix::libc::in_pktinfo
        );
        let msg = recvmsg::<SockaddrStorage>(fd, &mut iov, Some(&mut cmsg), MsgFlags::empty())
            .map_err(io::Error::from)?;
        let source = msg
            .address
            .and_then(|a| {
                if let Some(v4) = a.as_sockaddr_in() {
                    Some(SocketAddr::V4(SocketAddrV4::from(*v4)))
                } else {
                    a.as_sockaddr_in6()
                        .map(|v6| SocketAddr::V6(SocketAddrV6::from(*v6)))
                }
            })
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no source address"))?;
        let mut d = Datagram {
            len: msg.bytes,
            source,
            local: None,
            ifindex: None,
            ttl: None,
        };
        for c in msg.cmsgs().map_err(io::Error::from)? {
            match c {
                ControlMessageOwned::Ipv4Ttl(t) => d.ttl = u8::try_from(t).ok(),
                ControlMessageOwned::Ipv6HopLimit(t) => d.ttl = u8::try_from(t).ok(),
                ControlMessageOwned::Ipv4PacketInfo(pi) => {
                    d.local = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(pi.ipi_addr.s_addr))));
                    d.ifindex = u32::try_from(pi.ipi_ifindex).ok();
                }
                ControlMessageOwned::Ipv6PacketInfo(pi) => {
                    d.local = Some(IpAddr::V6(Ipv6Addr::from(pi.ipi6_addr.s6_addr)));
                    d.ifindex = Some(pi.ipi6_ifindex);
                }
                _ => {}
            }
        }
        Ok(d)
    })
    .await
}

/// IPv6 link-local addresses need the interface as scope id (to bind and to send).
pub fn scoped(addr: SocketAddr, interface: Option<&str>) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) if (v6.ip().segments()[0] & 0xffc0) == 0xfe80 => {
            let scope = interface.and_then(ifindex).unwrap_or(0);
            SocketAddr::V6(SocketAddrV6::new(*v6.ip(), v6.port(), 0, scope))
        }
        other => other,
    }
}

/// Interface index of `name`, if it exists.
pub fn ifindex(name: &str) -> Option<u32> {
    nix::net::if_::if_nametoindex(name).ok()
}
