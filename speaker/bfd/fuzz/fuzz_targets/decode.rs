//! Fuzz the control and echo decoders: no panic, and whatever decodes re-encodes to the same
//! bytes (all but the Length byte, which may exceed 24 without authentication) and decodes again
//! to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lodestone_bfd::echo::decode_echo;
use lodestone_bfd::packet::decode;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = decode(data) {
        let wire = p.encode();
        assert!(wire.len() <= data.len());
        assert_eq!(wire[..3], data[..3]);
        assert_eq!(wire[4..], data[4..wire.len()]);
        assert_eq!(decode(&wire), Ok(p));
    }
    if let Ok(e) = decode_echo(data) {
        assert_eq!(e.encode()[4..], data[4..24]);
        assert_eq!(decode_echo(&e.encode()), Ok(e));
    }
});
