//! Writes an MRT TABLE_DUMP_V2 file (RFC 6396) with COUNT consecutive IPv4 /32 routes, for
//! `gobgp mrt inject global` in hack/bench-bgp.sh (GoBGP has no bulk static origination).
//!
//! ```text
//! bgp-bench-mrt OUT COUNT FIRST_IPV4 NEXT_HOP ASN [PAD]
//! ```
//! PAD extra entries repeat the first prefixes: `gobgp mrt inject` can exit before its last
//! queued batch is applied, so the tail it may lose holds only duplicates.

use std::net::Ipv4Addr;

use anyhow::{Context, bail};
use lodestone_bgp::codec::{AsSegment, Origin, PathAttributes};

fn record(out: &mut Vec<u8>, subtype: u16, body: &[u8]) -> anyhow::Result<()> {
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&13u16.to_be_bytes()); // TABLE_DUMP_V2
    out.extend_from_slice(&subtype.to_be_bytes());
    out.extend_from_slice(
        &u32::try_from(body.len())
            .context("record length")?
            .to_be_bytes(),
    );
    out.extend_from_slice(body);
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (path, count, first, next_hop, asn, pad) = match &args[..] {
        [p, c, f, n, a] => (p, c, f, n, a, 0u32),
        [p, c, f, n, a, pad] => (p, c, f, n, a, pad.parse()?),
        _ => bail!("usage: OUT COUNT FIRST_IPV4 NEXT_HOP ASN [PAD]"),
    };
    let count: u32 = count.parse()?;
    let first: Ipv4Addr = first.parse()?;
    let next_hop: Ipv4Addr = next_hop.parse()?;
    let asn: u32 = asn.parse()?;
    let mut out = Vec::new();
    // PEER_INDEX_TABLE: collector ID, empty view name, one peer (IPv4 address, 4-octet AS).
    let mut peers = Vec::new();
    peers.extend_from_slice(&next_hop.octets());
    peers.extend_from_slice(&0u16.to_be_bytes());
    peers.extend_from_slice(&1u16.to_be_bytes());
    peers.push(0b10);
    peers.extend_from_slice(&next_hop.octets());
    peers.extend_from_slice(&next_hop.octets());
    peers.extend_from_slice(&asn.to_be_bytes());
    record(&mut out, 1, &peers)?;
    let attrs = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(vec![AsSegment::sequence(vec![asn])]),
        next_hop: Some(next_hop),
        ..Default::default()
    };
    let mut abytes = Vec::new();
    attrs.encode(&mut abytes, true)?;
    for seq in 0..count.saturating_add(pad) {
        let i = if count == 0 { 0 } else { seq % count };
        let mut body = Vec::with_capacity(32 + abytes.len());
        body.extend_from_slice(&seq.to_be_bytes());
        body.push(32);
        body.extend_from_slice(&Ipv4Addr::from(u32::from(first).wrapping_add(i)).octets());
        body.extend_from_slice(&1u16.to_be_bytes());
        body.extend_from_slice(&0u16.to_be_bytes());
        body.extend_from_slice(&0u32.to_be_bytes());
        body.extend_from_slice(&u16::try_from(abytes.len())?.to_be_bytes());
        body.extend_from_slice(&abytes);
        record(&mut out, 2, &body)?; // RIB_IPV4_UNICAST
    }
    std::fs::write(path, out).with_context(|| format!("writing {path}"))?;
    Ok(())
}
