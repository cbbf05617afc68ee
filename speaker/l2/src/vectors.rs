//! Frames captured from real senders, for byte-exact tests.
//!
//! Captured once with tcpdump on a veth pair between two network namespaces (Debian 12:
//! arping 2.23, ndisc6 1.0.7, Linux 6.x kernel), printed with `tshark -x`, pasted as hex.
//! Host A is 02:00:00:00:00:0a with 192.0.2.10 and 2001:db8::10 (link-local fe80::ff:fe00:a);
//! host B is 02:00:00:00:00:0b with 192.0.2.1 and 2001:db8::1.

/// Parses hex, ignoring whitespace.
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|p| {
            let text = std::str::from_utf8(p).unwrap_or("zz");
            u8::from_str_radix(text, 16)
                .unwrap_or_else(|_| panic!("bad hex {text:?} in test vector"))
        })
        .collect()
}

/// `arping -c 1 -I veth-a 192.0.2.1` on A: broadcast request, padded by arping to 58 bytes.
pub(crate) const ARPING_REQUEST: &str = "
ffffffffffff 02000000000a 0806
0001 0800 06 04 0001 02000000000a c000020a 000000000000 c0000201
00000000000000000000000000000000";

/// B's kernel answering that request (42 bytes, no padding).
pub(crate) const KERNEL_ARP_REPLY: &str = "
02000000000a 02000000000b 0806
0001 0800 06 04 0002 02000000000b c0000201 02000000000a c000020a";

/// `arping -U -c 1 -I veth-a 192.0.2.10` on A: a gratuitous request (target MAC broadcast).
pub(crate) const ARPING_GRATUITOUS_REQUEST: &str = "
ffffffffffff 02000000000a 0806
0001 0800 06 04 0001 02000000000a c000020a ffffffffffff c000020a
00000000000000000000000000000000";

/// `ndisc6 -r 1 2001:db8::1 veth-a` on A: NS to ff02::1:ff00:1 from fe80::ff:fe00:a with a
/// source link-layer option and flow label 0x135a1.
pub(crate) const NDISC6_SOLICITATION: &str = "
3333ff000001 02000000000a 86dd
600135a1 0020 3a ff
fe80000000000000000000fffe00000a
ff0200000000000000000001ff000001
87 00 4c4f 00000000
20010db8000000000000000000000001
01 01 02000000000a";

/// B's kernel answering it: NA, Solicited + Override, target link-layer option.
pub(crate) const KERNEL_NEIGHBOR_ADVERTISEMENT: &str = "
02000000000a 02000000000b 86dd
60000000 0020 3a ff
20010db8000000000000000000000001
fe80000000000000000000fffe00000a
88 00 ba99 60000000
20010db8000000000000000000000001
02 01 02000000000b";

/// B's kernel doing DAD for its link-local address: from ::, with a Nonce option (type 14).
pub(crate) const KERNEL_DAD_SOLICITATION: &str = "
3333ff00000b 02000000000b 86dd
60000000 0020 3a ff
00000000000000000000000000000000
ff0200000000000000000001ff00000b
87 00 601a 00000000
fe80000000000000000000fffe00000b
0e 01 879360a426b6";
