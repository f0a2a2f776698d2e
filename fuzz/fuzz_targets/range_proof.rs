//! Range-proof verification on arbitrary proofs: never panics, and never accepts a proof for a
//! root other than an honest answer. The input is a list of length-prefixed nodes; the root is
//! the id of the first node, so fuzzed proofs can be internally consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rookery_prolly::{Hash, KeyRange, Query, RangeProof, verify_range};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, mut rest)) = data.split_first() else { return };
    let mut nodes = Vec::new();
    while rest.len() >= 2 {
        let len = u16::from_le_bytes([rest[0], rest[1]]) as usize;
        rest = &rest[2..];
        let take = len.min(rest.len());
        nodes.push(rest[..take].to_vec());
        rest = &rest[take..];
    }
    let Some(first) = nodes.first() else { return };
    let root = Hash::of_node(first);
    let mut q = Query::new(KeyRange::all()).limit(usize::from(flags & 0x3f) + 1);
    if flags & 0x40 != 0 {
        q = q.reverse();
    }
    if let Ok(entries) = verify_range(&root, &q, &RangeProof { nodes }) {
        assert!(entries.len() <= q.limit.unwrap_or(usize::MAX));
        let sorted = entries.windows(2).all(|w| if q.reverse { w[0].0 > w[1].0 } else { w[0].0 < w[1].0 });
        assert!(sorted, "a verified answer is in order");
    }
});
