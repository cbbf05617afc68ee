use super::*;
use crate::vectors::{self, hex};

const A: MacAddr = MacAddr([2, 0, 0, 0, 0, 0x0a]);
const B: MacAddr = MacAddr([2, 0, 0, 0, 0, 0x0b]);

fn payload(frame: &[u8]) -> &[u8] {
    &frame[ethernet::HEADER_LEN..]
}

#[test]
fn parses_arping_request() {
    let frame = hex(vectors::ARPING_REQUEST);
    assert_eq!(frame.len(), 58, "arping pads to 58 bytes");
    let p = ArpPacket::parse(payload(&frame)).unwrap();
    assert_eq!(
        p,
        ArpPacket {
            operation: Operation::Request,
            sender_mac: A,
            sender_ip: Ipv4Addr::new(192, 0, 2, 10),
            target_mac: MacAddr::ZERO,
            target_ip: Ipv4Addr::new(192, 0, 2, 1),
        }
    );
    // Writing it back gives the unpadded bytes.
    assert_eq!(p.to_frame(MacAddr::BROADCAST, A), frame[..42].to_vec());
}

#[test]
fn reply_is_byte_identical_to_the_kernels() {
    let request = ArpPacket::parse(payload(&hex(vectors::ARPING_REQUEST))).unwrap();
    assert_eq!(
        ArpPacket::reply_frame(&request, B),
        hex(vectors::KERNEL_ARP_REPLY)
    );
    let reply = ArpPacket::parse(payload(&hex(vectors::KERNEL_ARP_REPLY))).unwrap();
    assert_eq!(reply.operation, Operation::Reply);
    assert_eq!(reply.sender_mac, B);
}

#[test]
fn gratuitous_request_matches_arping_u() {
    let ours = ArpPacket::gratuitous_frame(Operation::Request, A, Ipv4Addr::new(192, 0, 2, 10));
    let arping = hex(vectors::ARPING_GRATUITOUS_REQUEST);
    assert_eq!(ours, arping[..42].to_vec());
}

#[test]
fn gratuitous_reply_bytes() {
    let ours = ArpPacket::gratuitous_frame(Operation::Reply, A, Ipv4Addr::new(192, 0, 2, 10));
    let want = hex("ffffffffffff 02000000000a 0806 0001 0800 06 04 0002
                    02000000000a c000020a ffffffffffff c000020a");
    assert_eq!(ours, want);
}

#[test]
fn rejects_rows() {
    let good = payload(&hex(vectors::ARPING_REQUEST)).to_vec();
    let with = |at: usize, v: u8| {
        let mut p = good.clone();
        p[at] = v;
        p
    };
    let rows: Vec<(&str, Vec<u8>, DropReason)> = vec![
        ("empty", vec![], DropReason::BadLength),
        ("7 bytes", good[..7].to_vec(), DropReason::BadLength),
        ("27 bytes", good[..27].to_vec(), DropReason::BadLength),
        (
            "htype 6 (IEEE 802)",
            with(1, 6),
            DropReason::ArpUnsupportedFormat,
        ),
        (
            "ptype IPv6",
            with(2, 0x86),
            DropReason::ArpUnsupportedFormat,
        ),
        ("hlen 8", with(4, 8), DropReason::ArpUnsupportedFormat),
        ("plen 16", with(5, 16), DropReason::ArpUnsupportedFormat),
    ];
    for (name, bytes, want) in rows {
        assert_eq!(ArpPacket::parse(&bytes), Err(want), "{name}");
    }
    assert_eq!(
        ArpPacket::parse(&with(7, 9)).unwrap().operation,
        Operation::Other(9)
    );
}
