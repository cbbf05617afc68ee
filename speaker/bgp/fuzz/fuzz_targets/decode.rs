//! Decoder fuzz target: any bytes, under every codec setting, must decode or fail with a typed
//! error (never panic); whatever decodes cleanly and re-encodes must decode to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lodestone_bgp::codec::{Codec, MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN, Message};

fuzz_target!(|data: &[u8]| {
    for codec in [
        Codec { four_octet_as: true, max_message_len: MAX_MESSAGE_LEN },
        Codec { four_octet_as: false, max_message_len: MAX_MESSAGE_LEN },
        Codec { four_octet_as: true, max_message_len: MAX_EXTENDED_MESSAGE_LEN },
    ] {
        let _ = codec.frame_len(data);
        let msg = match codec.decode(data) {
            Ok(m) => m,
            Err(e) => {
                let _ = (e.notification(), e.metric_label());
                continue;
            }
        };
        let clean = match &msg {
            Message::Update(u) => u.treat_as_withdraw.is_none() && u.discarded.is_empty(),
            _ => true,
        };
        if let Ok(bytes) = codec.encode(&msg) {
            let again = codec.decode(&bytes).expect("our own encoding must decode");
            if clean && codec.four_octet_as {
                assert_eq!(again, msg, "round trip changed the message");
            }
        }
    }
});
