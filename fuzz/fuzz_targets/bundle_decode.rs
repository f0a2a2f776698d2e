//! The bundle file parser on arbitrary bytes: never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rookery_node::Bundle;

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = Bundle::from_bytes(data) {
        assert_eq!(Bundle::from_bytes(&b.to_bytes()).ok(), Some(b));
    }
});
