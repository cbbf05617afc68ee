//! `metallb.io/v1beta2`: the stored version of `BGPPeer`.
//!
//! ```text
//!   v1beta1::BGPPeer ──conversion::bgppeer_to_v1beta2──► v1beta2::BGPPeer (storage)
//!                   ◄─conversion::bgppeer_to_v1beta1───
//! ```

mod bgppeer;

pub use bgppeer::{
    BGPPeer, BGPPeerSpec, BGPPeerStatus, CONNECT_TIME_RANGE_RULE, CONNECT_TIME_WHOLE_SECONDS_RULE,
    DEFAULT_PEER_PORT, DynamicASNMode, PasswordSecretRef,
};
