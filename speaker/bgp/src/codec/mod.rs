//! BGP-4 message codec (RFC 4271 §4). Pure: bytes in, typed messages out, and back.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                           Marker (16 x 0xff)                  +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Length               |      Type     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! Types: 1 OPEN, 2 UPDATE, 3 NOTIFICATION, 4 KEEPALIVE, 5 ROUTE-REFRESH.

mod attributes;
mod error;
mod notification;
mod open;
mod update;
mod wire;

pub use attributes::{
    AsSegment, FLAG_EXTENDED_LENGTH, FLAG_OPTIONAL, FLAG_PARTIAL, FLAG_TRANSITIVE, LargeCommunity,
    MpNextHop, MpReach, MpUnreach, Origin, PathAttributes, RawAttribute, SegmentKind, attr,
};
pub use error::{DecodeError, EncodeError, ErrorAction, UpdateError, code};
pub use notification::{Notification, RouteRefresh, cease};
pub use open::{AS_TRANS, Capability, Family, GracefulRestartFamily, Open};
pub use update::Update;
pub use wire::prefix_wire_len;

/// Fixed header size.
pub const HEADER_LEN: usize = 19;
/// Largest message without RFC 8654.
pub const MAX_MESSAGE_LEN: usize = 4096;
/// Largest message once both sides advertised the extended message capability.
pub const MAX_EXTENDED_MESSAGE_LEN: usize = 65535;

const TYPE_OPEN: u8 = 1;
const TYPE_UPDATE: u8 = 2;
const TYPE_NOTIFICATION: u8 = 3;
const TYPE_KEEPALIVE: u8 = 4;
const TYPE_ROUTE_REFRESH: u8 = 5;

/// One BGP message. (UPDATE is the large variant; messages are transient, so no boxing.)
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Open(Open),
    Update(Update),
    Notification(Notification),
    Keepalive,
    RouteRefresh(RouteRefresh),
}

impl Message {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Open(_) => "open",
            Self::Update(_) => "update",
            Self::Notification(_) => "notification",
            Self::Keepalive => "keepalive",
            Self::RouteRefresh(_) => "route_refresh",
        }
    }
}

/// What the codec must know about the session: AS number width (RFC 6793) and the largest
/// message (RFC 8654). Before the OPEN exchange completes use [`Codec::default`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codec {
    pub four_octet_as: bool,
    pub max_message_len: usize,
}

impl Default for Codec {
    /// 4-octet AS numbers (every peer we target negotiates them) and 4096-octet messages.
    fn default() -> Self {
        Self {
            four_octet_as: true,
            max_message_len: MAX_MESSAGE_LEN,
        }
    }
}

/// Decode one complete message with the default [`Codec`].
pub fn decode(buf: &[u8]) -> Result<Message, DecodeError> {
    Codec::default().decode(buf)
}

/// Encode one message with the default [`Codec`].
pub fn encode(msg: &Message) -> Result<Vec<u8>, EncodeError> {
    Codec::default().encode(msg)
}

impl Codec {
    /// Length of the message at the start of `buf` once its header is complete, `Ok(None)` if
    /// more bytes are needed. Checks the marker and the length range, so a stream can be framed
    /// without trusting the peer.
    pub fn frame_len(&self, buf: &[u8]) -> Result<Option<usize>, DecodeError> {
        if buf.len() < HEADER_LEN {
            return Ok(None);
        }
        if buf[..16].iter().any(|b| *b != 0xff) {
            return Err(DecodeError::ConnectionNotSynchronized);
        }
        let length = u16::from_be_bytes([buf[16], buf[17]]);
        let len = usize::from(length);
        if !(HEADER_LEN..=self.max_message_len).contains(&len) {
            return Err(DecodeError::BadMessageLength { length });
        }
        Ok(Some(len))
    }

    /// Decode exactly one message; `buf` must hold it and nothing more.
    pub fn decode(&self, buf: &[u8]) -> Result<Message, DecodeError> {
        let len = match self.frame_len(buf)? {
            Some(l) => l,
            None => {
                return Err(DecodeError::BadMessageLength {
                    length: buf.len() as u16,
                });
            }
        };
        let length = len as u16;
        if len != buf.len() {
            return Err(DecodeError::BadMessageLength { length });
        }
        let kind = buf[18];
        let body = &buf[HEADER_LEN..];
        // Minimum lengths per type (RFC 4271 §6.1); OPEN and KEEPALIVE never grow with RFC 8654.
        let (min, max) = match kind {
            TYPE_OPEN => (29, MAX_MESSAGE_LEN),
            TYPE_UPDATE => (23, self.max_message_len),
            TYPE_NOTIFICATION => (21, self.max_message_len),
            TYPE_KEEPALIVE => (19, 19),
            TYPE_ROUTE_REFRESH => (HEADER_LEN, self.max_message_len),
            _ => return Err(DecodeError::BadMessageType { kind }),
        };
        if len < min || len > max {
            return Err(DecodeError::BadMessageLength { length });
        }
        Ok(match kind {
            TYPE_OPEN => Message::Open(Open::decode(body)?),
            TYPE_UPDATE => Message::Update(Update::decode(body, self.four_octet_as)?),
            TYPE_NOTIFICATION => Message::Notification(Notification::decode(body)?),
            TYPE_KEEPALIVE => Message::Keepalive,
            _ => Message::RouteRefresh(RouteRefresh::decode(body, buf)?),
        })
    }

    /// Encode one message, failing if it exceeds the negotiated size.
    pub fn encode(&self, msg: &Message) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(64);
        self.encode_into(msg, &mut out)?;
        Ok(out)
    }

    /// Append one encoded message to `out` (on error `out` is left as it was).
    pub fn encode_into(&self, msg: &Message, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        out.extend_from_slice(&[0xff; 16]);
        out.extend_from_slice(&[0, 0, 0]);
        let (kind, res) = match msg {
            Message::Open(o) => (TYPE_OPEN, o.encode(out)),
            Message::Update(u) => (TYPE_UPDATE, u.encode(out, self.four_octet_as)),
            Message::Notification(n) => {
                n.encode(out);
                (TYPE_NOTIFICATION, Ok(()))
            }
            Message::Keepalive => (TYPE_KEEPALIVE, Ok(())),
            Message::RouteRefresh(r) => {
                r.encode(out);
                (TYPE_ROUTE_REFRESH, Ok(()))
            }
        };
        let length = out.len() - start;
        let max = if kind == TYPE_OPEN || kind == TYPE_KEEPALIVE {
            MAX_MESSAGE_LEN
        } else {
            self.max_message_len
        };
        let res = res.and(if length > max {
            Err(EncodeError::TooLong { length, max })
        } else {
            Ok(())
        });
        if let Err(e) = res {
            out.truncate(start);
            return Err(e);
        }
        out[start + 16..start + 18].copy_from_slice(&(length as u16).to_be_bytes());
        out[start + 18] = kind;
        Ok(())
    }
}
