//! The frozen format: a golden root hash for a fixed tree, and the decoder's round trip and
//! robustness against flipped, cut and grown bytes.

mod common;

use proptest::prelude::*;
use rookery_prolly::EMPTY_ROOT;
use rookery_prolly::{
    Hash, MemStore, Node, Prolly,
    node::{Entry, Val},
};

/// The root of 100,000 `timestamp ‖ seq → blake3(i)` entries. If this changes, the node format,
/// the chunking rule or a hash domain changed: every stored tree and signed head would be
/// invalidated. Such a change needs a new format version, not a new constant.
const GOLDEN_100K: &str = "3fb1ef872930e5fb059315160bd8a6dc83ab010662fe8b40512b2a956a41e70d";

#[test]
fn golden_root_of_a_fixed_tree() {
    let p = Prolly::new(MemStore::new());
    let root = p
        .apply(
            &EMPTY_ROOT,
            (0..100_000).map(|i| (common::ts_key(i), Some(common::ts_value(i)))),
        )
        .unwrap();
    assert_eq!(root.to_string(), GOLDEN_100K);
    let stats = p.stats(&root).unwrap();
    assert_eq!((stats.entries, stats.depth), (100_000, 4));
    // Built backwards in 7 batches, the same root.
    let q = Prolly::new(MemStore::new());
    let mut r = EMPTY_ROOT;
    let all: Vec<u64> = (0..100_000).rev().collect();
    for chunk in all.chunks(100_000 / 7 + 1) {
        r = q
            .apply(
                &r,
                chunk
                    .iter()
                    .map(|&i| (common::ts_key(i), Some(common::ts_value(i)))),
            )
            .unwrap();
    }
    assert_eq!(r, root);
}

#[test]
fn golden_empty_root() {
    assert_eq!(Node::empty().encode(), vec![1, 0, 0]);
    assert_eq!(
        EMPTY_ROOT.to_string(),
        "e36f8304ad017f055ed03063a4322aab718f057d3570881c84c7dac824cfd5aa"
    );
}

fn node() -> impl Strategy<Value = Node> {
    let keys = prop::collection::btree_set(prop::collection::vec(any::<u8>(), 0..24), 1..40);
    (0u8..4, keys, any::<u64>()).prop_map(|(level, keys, seed)| Node {
        level,
        entries: keys
            .into_iter()
            .enumerate()
            .map(|(i, key)| {
                let x = seed.wrapping_mul(i as u64 + 1);
                let val = if level == 0 {
                    Val::Leaf(x.to_le_bytes()[..(x % 9) as usize].to_vec())
                } else {
                    Val::Child {
                        id: Hash::of_node(&x.to_le_bytes()),
                        count: x % 100_000 + 1,
                    }
                };
                Entry { key, val }
            })
            .collect(),
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn decode_round_trips(n in node()) {
        let bytes = n.encode();
        prop_assert_eq!(Node::decode(&bytes).unwrap(), n);
    }

    /// Damaged bytes never panic, and whatever still decodes re-encodes to exactly those bytes:
    /// one node has one encoding, so it has one id.
    #[test]
    fn damaged_bytes_never_panic(n in node(), pos in any::<usize>(), bit in 0u8..8, cut in any::<usize>(), extra in any::<u8>()) {
        let bytes = n.encode();
        let mut flipped = bytes.clone();
        let i = pos % flipped.len();
        flipped[i] ^= 1 << bit;
        let truncated = &bytes[..cut % bytes.len()];
        let mut grown = bytes.clone();
        grown.insert(pos % (bytes.len() + 1), extra);
        for b in [flipped.as_slice(), truncated, grown.as_slice()] {
            if let Ok(d) = Node::decode(b) {
                prop_assert_eq!(d.encode(), b.to_vec());
            }
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let mut b = bytes;
        if !b.is_empty() { b[0] = 1; }
        if let Ok(d) = Node::decode(&b) {
            prop_assert_eq!(d.encode(), b);
        }
    }
}
