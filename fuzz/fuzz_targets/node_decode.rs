//! The node decoder on arbitrary bytes: never panics, and whatever decodes re-encodes to the
//! same bytes (one node, one encoding, one id).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rookery_prolly::{Hash, Node, verify_node};

fuzz_target!(|data: &[u8]| {
    if let Ok(node) = Node::decode(data) {
        assert_eq!(node.encode(), data);
        let _ = node.check_chunking();
        let _ = node.ends_chunk();
    }
    let _ = verify_node(&Hash::of_node(data), data);
});
