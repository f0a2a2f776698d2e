//! Signed message and head decoders on arbitrary bytes: never panic, and whatever decodes
//! re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rookery_feed::{SignedHead, SignedMessage};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = SignedMessage::decode(data) {
        assert_eq!(m.bytes(), data);
    }
    if let Ok(h) = SignedHead::decode(data) {
        assert_eq!(h.bytes(), data);
    }
});
