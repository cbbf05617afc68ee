//! Socket construction for peer connections and listeners: source address, TCP-MD5, TTL,
//! GTSM. Safe wrappers only (socket2 plus the audited `sys` module); every option is checked.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;
use std::time::Duration;

use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use super::{DriverError, PeerConfig, TtlPolicy};
use crate::sys;

fn opt(option: &'static str) -> impl FnOnce(std::io::Error) -> DriverError {
    move |source| DriverError::SockOpt(sys::SockOptError::SetSockOpt { option, source })
}

/// Outgoing TTL and, for GTSM, the minimum accepted TTL, on any socket of the peer's family.
pub(crate) fn apply_ttl(fd: &impl AsFd, ipv6: bool, policy: TtlPolicy) -> Result<(), DriverError> {
    let sock = SockRef::from(fd);
    let (ttl, min) = match policy {
        TtlPolicy::Default => return Ok(()),
        TtlPolicy::Hops(h) => (u32::from(h), None),
        TtlPolicy::Gtsm { hops } => (255, Some(gtsm_min_ttl(hops))),
    };
    if ipv6 {
        sock.set_unicast_hops_v6(ttl)
            .map_err(opt("IPV6_UNICAST_HOPS"))?;
    } else {
        sock.set_ttl_v4(ttl).map_err(opt("IP_TTL"))?;
    }
    if let Some(min) = min {
        sys::set_min_ttl(fd, ipv6, min)?;
    }
    Ok(())
}

/// RFC 5082: accept only packets that crossed at most `hops` routers: TTL ≥ 256 − hops.
pub fn gtsm_min_ttl(hops: u8) -> u8 {
    (256 - u16::from(hops.max(1))) as u8
}

/// Connect to the peer with every option set before the SYN leaves.
pub(crate) async fn connect(cfg: &PeerConfig) -> Result<TcpStream, DriverError> {
    let ipv6 = cfg.address.is_ipv6();
    let domain = if ipv6 { Domain::IPV6 } else { Domain::IPV4 };
    let sock = Socket::new(domain, Type::STREAM, Some(Protocol::TCP)).map_err(opt("socket"))?;
    sock.set_nonblocking(true).map_err(opt("O_NONBLOCK"))?;
    sock.set_tcp_nodelay(true).map_err(opt("TCP_NODELAY"))?;
    if let Some(src) = cfg.source_address {
        sock.bind(&SocketAddr::new(src, 0).into())
            .map_err(|source| DriverError::Bind {
                addr: SocketAddr::new(src, 0),
                source,
            })?;
    }
    if let Some(key) = &cfg.password {
        sys::set_tcp_md5(&sock, cfg.address, key.as_bytes())?;
    }
    apply_ttl(&sock, ipv6, cfg.ttl)?;
    let std_stream: std::net::TcpStream = sock.into();
    let socket = TcpSocket::from_std_stream(std_stream);
    let target = SocketAddr::new(cfg.address, cfg.port);
    match tokio::time::timeout(cfg.connect_time, socket.connect(target)).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(source)) => Err(DriverError::Connect {
            peer: target,
            source,
        }),
        Err(_) => Err(DriverError::ConnectTimeout {
            peer: target,
            after: cfg.connect_time,
        }),
    }
}

/// A listening socket; IPv6 listeners are IPv6-only so TCP-MD5 keys never meet v4-mapped
/// addresses.
pub(crate) fn listen(addr: SocketAddr) -> Result<TcpListener, DriverError> {
    let bind = |source| DriverError::Bind { addr, source };
    let domain = if addr.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let sock = Socket::new(domain, Type::STREAM, Some(Protocol::TCP)).map_err(bind)?;
    sock.set_reuse_address(true).map_err(opt("SO_REUSEADDR"))?;
    if addr.is_ipv6() {
        sock.set_only_v6(true).map_err(opt("IPV6_V6ONLY"))?;
    }
    sock.set_nonblocking(true).map_err(opt("O_NONBLOCK"))?;
    sock.bind(&addr.into())
        .map_err(|source| DriverError::Bind { addr, source })?;
    sock.listen(128)
        .map_err(|source| DriverError::Bind { addr, source })?;
    TcpListener::from_std(sock.into()).map_err(|source| DriverError::Bind { addr, source })
}

/// Listener-wide GTSM: the strictest minimum TTL every registered peer of this family allows
/// (0 = off as soon as one peer does not use GTSM). SYN-ACKs leave with TTL 255 when any does.
pub(crate) fn apply_listener_ttl(
    l: &TcpListener,
    ipv6: bool,
    min_ttl: u8,
    any_gtsm: bool,
) -> Result<(), DriverError> {
    let sock = SockRef::from(l);
    if any_gtsm {
        if ipv6 {
            sock.set_unicast_hops_v6(255)
                .map_err(opt("IPV6_UNICAST_HOPS"))?;
        } else {
            sock.set_ttl_v4(255).map_err(opt("IP_TTL"))?;
        }
    }
    sys::set_min_ttl(l, ipv6, min_ttl)?;
    Ok(())
}

pub(crate) fn family_matches(listener_addr: &SocketAddr, peer: &IpAddr) -> bool {
    listener_addr.is_ipv6() == peer.is_ipv6()
}

/// How long a write may block before the connection is declared dead.
pub(crate) fn send_timeout(hold_time: u16) -> Duration {
    Duration::from_secs(u64::from(hold_time.max(30)))
}
