//! The sync verifier on arbitrary answers: a first frame of heads, a pushed head with its
//! catch-up, a range proof, and a stream of node frames made of the fuzzer's bytes are checked
//! against what was asked; nothing panics, and whatever passes is what was asked for, each
//! node and body at most once.
#![no_main]

use std::collections::{HashMap, HashSet};

use libfuzzer_sys::fuzz_target;
use rookery_feed::{MessageId, SecretKey};
use rookery_prolly::{Hash, KeyRange, Query};
use rookery_sync::verify::{self, NodeStream};

/// Splits the input into length-prefixed pieces (one byte of length each).
fn pieces(mut data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Some((&len, rest)) = data.split_first() {
        let n = (len as usize).min(rest.len());
        out.push(rest[..n].to_vec());
        data = &rest[n..];
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let author = SecretKey::from_bytes(&[1; 32]).public();
    let parts = pieces(data);
    let asked = HashMap::from([(author, 3u64)]);
    let mut latest = asked.clone();
    for p in &parts {
        if let Ok(h) = verify::pushed_head(p, &mut latest) {
            assert!(h.head().seq > 3);
        }
    }
    // A pushed head with a catch-up made of the other pieces: what passes is the author's,
    // newer than the seq held, and no more than asked.
    if let Some((head, rest)) = parts.split_first() {
        let (nodes, bodies) = rest.split_at(rest.len() / 2);
        let mut latest = asked.clone();
        if let Ok(p) = verify::pushed(head, bodies, nodes.to_vec(), &mut latest, 8) {
            assert!(p.catch_up.bodies.len() <= 8);
            assert!(p.catch_up.bodies.iter().all(|b| {
                b.message().author == author && b.message().seq > 3
            }));
        }
    }
    if let Ok(heads) = verify::heads(&parts, &asked) {
        assert!(heads.len() <= 1);
        assert!(heads.iter().all(|h| h.head().author == author && h.head().seq >= 3));
    }
    let root = Hash::of_node(parts.first().map_or(&[][..], |p| p.as_slice()));
    let q = Query::new(KeyRange::all()).reverse().limit(32);
    let (nodes, bodies) = parts.split_at(parts.len() / 2);
    let _ = verify::range(&root, &q, &author, nodes.to_vec(), bodies);
    // A page over two feeds (one with that root), its lowest key and proofs from the pieces.
    let head = |seq: u64| rookery_feed::Head {
        author,
        seq,
        timestamp_ms: seq,
        roots: rookery_feed::Roots {
            messages: root,
            ..rookery_feed::Roots::empty()
        },
        about: None,
    };
    let heads = [head(3), head(0)];
    let lowest = parts.get(1).cloned().filter(|p| !p.is_empty());
    let proofs = vec![(0, parts.get(2).cloned(), nodes.to_vec())];
    if let Ok(page) = verify::page(&heads, 2, lowest, proofs, bodies, &[]) {
        assert!(page.batch.bodies.iter().all(|b| b.message().author == author));
    }
    let ids: Vec<Hash> = parts.iter().map(|p| Hash::of_node(p)).collect();
    let body_ids: Vec<MessageId> = parts.iter().map(|p| MessageId::of(p)).collect();
    for diff in [true, false] {
        let mut s = if diff {
            NodeStream::diff(ids.first().copied().unwrap_or(Hash([0; 32])), author, true, 64)
        } else {
            NodeStream::fetch(&ids, &body_ids, true, None)
        };
        let mut seen_nodes = HashSet::new();
        let mut seen_bodies = HashSet::new();
        for (i, chunk) in parts.chunks(3).enumerate() {
            let more = i % 2 == 0;
            let Ok(batch) = s.frame(chunk.to_vec(), chunk, more) else {
                break;
            };
            for n in batch.nodes {
                assert!(seen_nodes.insert(n.id), "a node taken twice");
            }
            for b in batch.bodies {
                assert!(seen_bodies.insert(b.id()), "a body taken twice");
            }
        }
    }
});
