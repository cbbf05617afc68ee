//! A scripted, misbehaving BGP peer for interop tests. It listens, and on the Nth accepted
//! connection plays the Nth case: answer the speaker's OPEN with a valid OPEN and KEEPALIVE,
//! wait for Established, send the case's hex bytes, then report the NOTIFICATION it gets back.
//!
//! ```text
//! bgp-lab-rawpeer LISTEN_ADDR PEER_AS ROUTER_ID HEX [HEX...]
//! stdout: "listening", then per case: "case N notification CODE SUBCODE" or "case N closed"
//! ```

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::Duration;

use anyhow::{Context, bail};
use lodestone_bgp::codec::{Capability, Codec, Family, Message, Open, encode};

fn read_message(s: &mut TcpStream) -> anyhow::Result<Option<Vec<u8>>> {
    let mut head = [0u8; 19];
    if let Err(e) = s.read_exact(&mut head) {
        if e.kind() == std::io::ErrorKind::UnexpectedEof
            || e.kind() == std::io::ErrorKind::ConnectionReset
        {
            return Ok(None);
        }
        return Err(e).context("reading header");
    }
    let len = usize::from(u16::from_be_bytes([head[16], head[17]]));
    if len < 19 {
        bail!("speaker sent a message of length {len}");
    }
    let mut msg = head.to_vec();
    msg.resize(len, 0);
    s.read_exact(&mut msg[19..]).context("reading body")?;
    Ok(Some(msg))
}

fn hex(s: &str) -> anyhow::Result<Vec<u8>> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).context("hex"))
        .collect()
}

fn play(mut s: TcpStream, asn: u32, id: Ipv4Addr, case: &[u8]) -> anyhow::Result<String> {
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    let codec = Codec {
        four_octet_as: true,
        max_message_len: 65535,
    };
    let open = Open::new(
        asn,
        30,
        id,
        vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::FourOctetAs(asn),
            Capability::RouteRefresh,
        ],
    );
    s.write_all(&encode(&Message::Open(open))?)?;
    s.write_all(&encode(&Message::Keepalive)?)?;
    // Wait for the speaker's KEEPALIVE (after its OPEN): the session is then Established.
    loop {
        let Some(m) = read_message(&mut s)? else {
            return Ok("closed".into());
        };
        if matches!(codec.decode(&m), Ok(Message::Keepalive)) {
            break;
        }
    }
    s.write_all(case)?;
    loop {
        let Some(m) = read_message(&mut s)? else {
            return Ok("closed".into());
        };
        if let Ok(Message::Notification(n)) = codec.decode(&m) {
            return Ok(format!("notification {} {}", n.code, n.subcode));
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [listen, asn, id, cases @ ..] = &args[..] else {
        bail!("usage: LISTEN PEER_AS ROUTER_ID HEX...")
    };
    let asn: u32 = asn.parse()?;
    let id: Ipv4Addr = id.parse()?;
    let cases: Vec<Vec<u8>> = cases.iter().map(|c| hex(c)).collect::<Result<_, _>>()?;
    let l = TcpListener::bind(listen.as_str()).with_context(|| format!("bind {listen}"))?;
    println!("listening");
    for (i, case) in cases.iter().enumerate() {
        let (s, _) = l.accept().context("accept")?;
        let result = play(s, asn, id, case).unwrap_or_else(|e| format!("error {e}"));
        println!("case {i} {result}");
    }
    Ok(())
}
