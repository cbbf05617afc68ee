//! Decode errors and their NOTIFICATION mapping (RFC 4271 §6, RFC 5492, RFC 7313), plus the
//! UPDATE errors that RFC 7606 downgrades to "treat-as-withdraw" or "attribute discard".

use super::notification::Notification;

/// NOTIFICATION error codes (RFC 4271 §4.5, RFC 7313).
pub mod code {
    pub const MESSAGE_HEADER: u8 = 1;
    pub const OPEN_MESSAGE: u8 = 2;
    pub const UPDATE_MESSAGE: u8 = 3;
    pub const HOLD_TIMER_EXPIRED: u8 = 4;
    pub const FSM: u8 = 5;
    pub const CEASE: u8 = 6;
    pub const ROUTE_REFRESH: u8 = 7;
}

/// A message that cannot be accepted: the session is reset with the NOTIFICATION that
/// [`DecodeError::notification`] builds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The marker is not all ones (1/1).
    #[error("connection not synchronized: bad marker")]
    ConnectionNotSynchronized,
    /// The length field is out of range for the message type or the negotiated maximum (1/2).
    #[error("bad message length {length}")]
    BadMessageLength { length: u16 },
    /// Unknown message type (1/3).
    #[error("bad message type {kind}")]
    BadMessageType { kind: u8 },
    /// OPEN version other than 4 (2/1).
    #[error("unsupported BGP version {version}")]
    UnsupportedVersion { version: u8 },
    /// BGP Identifier 0.0.0.0 (2/3).
    #[error("bad BGP identifier {id}")]
    BadBgpIdentifier { id: std::net::Ipv4Addr },
    /// An optional parameter other than Capabilities (2/4).
    #[error("unsupported optional parameter {param}")]
    UnsupportedOptionalParameter { param: u8 },
    /// Hold time 1 or 2 seconds (2/6).
    #[error("unacceptable hold time {hold_time}")]
    UnacceptableHoldTime { hold_time: u16 },
    /// Optional parameters or a capability whose lengths do not add up (2/0).
    #[error("malformed OPEN: {reason}")]
    MalformedOpen { reason: &'static str },
    /// Withdrawn or attribute lengths inconsistent with the message, an attribute overrunning
    /// the attribute field, or a repeated MP_REACH/MP_UNREACH (3/1).
    #[error("malformed attribute list: {reason}")]
    MalformedAttributeList { reason: &'static str },
    /// A well-known attribute type we do not know (3/2); data is the attribute.
    #[error("unrecognized well-known attribute")]
    UnrecognizedWellKnownAttribute { attribute: Vec<u8> },
    /// MP_REACH_NLRI/MP_UNREACH_NLRI that cannot be parsed: its NLRI cannot be located, so
    /// RFC 7606 §7.11 requires a session reset (3/9); data is the attribute.
    #[error("malformed multiprotocol attribute: {reason}")]
    MalformedMpAttribute {
        reason: &'static str,
        attribute: Vec<u8>,
    },
    /// A withdrawn or NLRI prefix that cannot be parsed (3/10).
    #[error("invalid network field: {reason}")]
    InvalidNetworkField { reason: &'static str },
    /// ROUTE-REFRESH whose body is not 4 octets (7/1); data is the complete message.
    #[error("ROUTE-REFRESH with invalid length")]
    RouteRefreshInvalidLength { message: Vec<u8> },
}

impl DecodeError {
    /// The NOTIFICATION to send before closing (RFC 4271 §6).
    pub fn notification(&self) -> Notification {
        use code::*;
        let (c, s, data) = match self {
            Self::ConnectionNotSynchronized => (MESSAGE_HEADER, 1, Vec::new()),
            Self::BadMessageLength { length } => (MESSAGE_HEADER, 2, length.to_be_bytes().to_vec()),
            Self::BadMessageType { kind } => (MESSAGE_HEADER, 3, vec![*kind]),
            Self::UnsupportedVersion { .. } => (OPEN_MESSAGE, 1, 4u16.to_be_bytes().to_vec()),
            Self::BadBgpIdentifier { .. } => (OPEN_MESSAGE, 3, Vec::new()),
            Self::UnsupportedOptionalParameter { .. } => (OPEN_MESSAGE, 4, Vec::new()),
            Self::UnacceptableHoldTime { .. } => (OPEN_MESSAGE, 6, Vec::new()),
            Self::MalformedOpen { .. } => (OPEN_MESSAGE, 0, Vec::new()),
            Self::MalformedAttributeList { .. } => (UPDATE_MESSAGE, 1, Vec::new()),
            Self::UnrecognizedWellKnownAttribute { attribute } => {
                (UPDATE_MESSAGE, 2, attribute.clone())
            }
            Self::MalformedMpAttribute { attribute, .. } => (UPDATE_MESSAGE, 9, attribute.clone()),
            Self::InvalidNetworkField { .. } => (UPDATE_MESSAGE, 10, Vec::new()),
            Self::RouteRefreshInvalidLength { message } => (ROUTE_REFRESH, 1, message.clone()),
        };
        Notification {
            code: c,
            subcode: s,
            data,
        }
    }

    /// Short label for metrics and drop reasons.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::ConnectionNotSynchronized => "bad_marker",
            Self::BadMessageLength { .. } => "bad_length",
            Self::BadMessageType { .. } => "bad_type",
            Self::UnsupportedVersion { .. } => "bad_version",
            Self::BadBgpIdentifier { .. } => "bad_router_id",
            Self::UnsupportedOptionalParameter { .. } => "bad_optional_parameter",
            Self::UnacceptableHoldTime { .. } => "bad_hold_time",
            Self::MalformedOpen { .. } => "malformed_open",
            Self::MalformedAttributeList { .. } => "malformed_attribute_list",
            Self::UnrecognizedWellKnownAttribute { .. } => "unrecognized_well_known",
            Self::MalformedMpAttribute { .. } => "malformed_mp_attribute",
            Self::InvalidNetworkField { .. } => "invalid_network_field",
            Self::RouteRefreshInvalidLength { .. } => "route_refresh_length",
        }
    }
}

/// What RFC 7606 does with an UPDATE error that does not reset the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorAction {
    /// The UPDATE's NLRI are handled as withdrawn (RFC 7606 §2).
    TreatAsWithdraw,
    /// Only the bad attribute is dropped.
    AttributeDiscard,
}

/// A malformed path attribute that RFC 7606 keeps from resetting the session. The attribute
/// bytes (flags, type, length, value) are kept for the log and for the RFC 4271 mapping.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    /// Flags that do not match the attribute type (RFC 4271 3/4).
    #[error("attribute flags error (type {type_code})")]
    AttributeFlags { type_code: u8, attribute: Vec<u8> },
    /// Length not valid for the attribute type (3/5).
    #[error("attribute length error (type {type_code})")]
    AttributeLength { type_code: u8, attribute: Vec<u8> },
    /// ORIGIN value not 0, 1 or 2 (3/6).
    #[error("invalid ORIGIN")]
    InvalidOrigin { attribute: Vec<u8> },
    /// NEXT_HOP that is not a usable unicast address (3/8; RFC 4271 §6.3 says not to notify).
    #[error("invalid NEXT_HOP")]
    InvalidNextHop { attribute: Vec<u8> },
    /// A well-known mandatory attribute missing while NLRI are present (3/3).
    #[error("missing well-known attribute {type_code}")]
    MissingWellKnownAttribute { type_code: u8 },
    /// AS_PATH / AS4_PATH segments that do not parse (3/11).
    #[error("malformed AS_PATH (type {type_code})")]
    MalformedAsPath { type_code: u8, attribute: Vec<u8> },
}

impl UpdateError {
    /// RFC 7606 §7: per attribute type.
    pub fn action(&self) -> ErrorAction {
        let type_code = match self {
            Self::AttributeFlags { type_code, .. }
            | Self::AttributeLength { type_code, .. }
            | Self::MalformedAsPath { type_code, .. } => *type_code,
            Self::InvalidOrigin { .. } | Self::InvalidNextHop { .. } => {
                return ErrorAction::TreatAsWithdraw;
            }
            Self::MissingWellKnownAttribute { .. } => return ErrorAction::TreatAsWithdraw,
        };
        match type_code {
            // ATOMIC_AGGREGATE, AGGREGATOR, AS4_PATH, AS4_AGGREGATOR (RFC 7606 §7.6, §7.7; RFC 6793 §6).
            6 | 7 | 17 | 18 => ErrorAction::AttributeDiscard,
            _ => ErrorAction::TreatAsWithdraw,
        }
    }

    /// The NOTIFICATION RFC 4271 alone would have sent (kept for logs; RFC 7606 sends none).
    pub fn rfc4271_notification(&self) -> Notification {
        let (subcode, data) = match self {
            Self::AttributeFlags { attribute, .. } => (4, attribute.clone()),
            Self::AttributeLength { attribute, .. } => (5, attribute.clone()),
            Self::InvalidOrigin { attribute } => (6, attribute.clone()),
            Self::InvalidNextHop { attribute } => (8, attribute.clone()),
            Self::MissingWellKnownAttribute { type_code } => (3, vec![*type_code]),
            Self::MalformedAsPath { .. } => (11, Vec::new()),
        };
        Notification {
            code: code::UPDATE_MESSAGE,
            subcode,
            data,
        }
    }

    /// Short label for metrics and drop reasons.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::AttributeFlags { .. } => "attribute_flags",
            Self::AttributeLength { .. } => "attribute_length",
            Self::InvalidOrigin { .. } => "invalid_origin",
            Self::InvalidNextHop { .. } => "invalid_next_hop",
            Self::MissingWellKnownAttribute { .. } => "missing_well_known",
            Self::MalformedAsPath { .. } => "malformed_as_path",
        }
    }
}

/// A message we were asked to encode that cannot be put on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The encoded message exceeds the negotiated maximum (4096, or 65535 with RFC 8654).
    #[error("message of {length} octets exceeds the maximum of {max}")]
    TooLong { length: usize, max: usize },
    /// A field does not fit its wire width (e.g. optional parameters over 255 octets).
    #[error("{field} does not fit on the wire")]
    FieldTooLong { field: &'static str },
}
