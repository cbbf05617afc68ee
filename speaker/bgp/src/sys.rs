//! The only unsafe code of the crate: two socket options that neither std, tokio nor socket2
//! expose — TCP_MD5SIG (RFC 2385 keys, per peer address) and IP_MINTTL / IPV6_MINHOPCOUNT
//! (GTSM, RFC 5082). Every call checks the return value and reports errno as a typed error.
//!
//! Audit notes: each `setsockopt` receives a pointer to a live, fully initialised value on the
//! stack and its exact size; the file descriptor is borrowed (`AsFd`) for the duration of the
//! call, so it cannot be closed underneath us. Nothing is retained by the kernel after the call.
#![allow(unsafe_code)]

use std::io;
use std::mem::size_of;
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd};

/// Longest TCP-MD5 key Linux accepts (TCP_MD5SIG_MAXKEYLEN).
pub const MD5_MAX_KEY_LEN: usize = 80;

/// A socket option that could not be set.
#[derive(Debug, thiserror::Error)]
pub enum SockOptError {
    #[error("TCP-MD5 key of {0} octets exceeds {MD5_MAX_KEY_LEN}")]
    Md5KeyTooLong(usize),
    #[error("setsockopt {option} failed: {source}")]
    SetSockOpt {
        option: &'static str,
        source: io::Error,
    },
}

impl SockOptError {
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Md5KeyTooLong(_) => "md5_key_too_long",
            Self::SetSockOpt { .. } => "setsockopt",
        }
    }
}

/// `struct tcp_md5sig` from linux/tcp.h.
#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefixlen: u8,
    keylen: u16,
    ifindex: libc::c_int,
    key: [u8; MD5_MAX_KEY_LEN],
}

fn setsockopt<T>(
    fd: &impl AsFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
    option: &'static str,
) -> Result<(), SockOptError> {
    let raw = fd.as_fd().as_raw_fd();
    let len = size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` is a valid, initialised `T` borrowed for the call; `len` is its size;
    // `raw` is kept open by the `AsFd` borrow.
    let rc = unsafe {
        libc::setsockopt(
            raw,
            level,
            name,
            (value as *const T).cast::<libc::c_void>(),
            len,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(SockOptError::SetSockOpt {
            option,
            source: io::Error::last_os_error(),
        })
    }
}

/// Install (or with an empty key, remove) the TCP-MD5 key for `peer` on `fd`. On a listening
/// socket this must happen before the peer's SYN arrives; accepted sockets inherit it.
pub fn set_tcp_md5(fd: &impl AsFd, peer: IpAddr, key: &[u8]) -> Result<(), SockOptError> {
    if key.len() > MD5_MAX_KEY_LEN {
        return Err(SockOptError::Md5KeyTooLong(key.len()));
    }
    // SAFETY: all-zero bytes are a valid sockaddr_storage (plain integers and arrays).
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    match peer {
        IpAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe {
                std::ptr::write(
                    (&mut addr as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>(),
                    sin,
                )
            };
        }
        IpAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: 0,
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.octets(),
                },
                sin6_scope_id: 0,
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe {
                std::ptr::write(
                    (&mut addr as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>(),
                    sin6,
                )
            };
        }
    }
    let mut sig = TcpMd5Sig {
        addr,
        flags: 0,
        prefixlen: 0,
        keylen: key.len() as u16,
        ifindex: 0,
        key: [0; MD5_MAX_KEY_LEN],
    };
    sig.key[..key.len()].copy_from_slice(key);
    setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_MD5SIG, &sig, "TCP_MD5SIG")
}

/// GTSM: drop segments arriving with a TTL / hop limit below `min` (255 − hops + 1).
pub fn set_min_ttl(fd: &impl AsFd, ipv6: bool, min: u8) -> Result<(), SockOptError> {
    let v: libc::c_int = min.into();
    if ipv6 {
        setsockopt(
            fd,
            libc::IPPROTO_IPV6,
            libc::IPV6_MINHOPCOUNT,
            &v,
            "IPV6_MINHOPCOUNT",
        )
    } else {
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_MINTTL, &v, "IP_MINTTL")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn options_apply_to_a_loopback_socket_and_errors_are_typed() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        set_tcp_md5(&l, "127.0.0.1".parse().unwrap(), b"secret").unwrap();
        set_tcp_md5(&l, "127.0.0.1".parse().unwrap(), b"").unwrap();
        set_min_ttl(&l, false, 255).unwrap();
        assert!(matches!(
            set_tcp_md5(&l, "127.0.0.1".parse().unwrap(), &[0; 81]),
            Err(SockOptError::Md5KeyTooLong(81))
        ));
        // An IPv6 key on an IPv4 socket is refused by the kernel, and we report it.
        let err = set_tcp_md5(&l, "2001:db8::1".parse().unwrap(), b"k").unwrap_err();
        assert!(
            matches!(
                err,
                SockOptError::SetSockOpt {
                    option: "TCP_MD5SIG",
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(size_of::<TcpMd5Sig>(), 216);
    }
}
