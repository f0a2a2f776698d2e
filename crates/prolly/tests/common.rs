//! Helpers shared by the prolly integration tests.
#![allow(dead_code, unreachable_pub)]

use rookery_prolly::EMPTY_ROOT;
use rookery_prolly::{Hash, MemStore, Node, NodeStore, node::Val};

/// Every node of the tree under `root`, level by level from the root down.
pub fn levels(store: &MemStore, root: &Hash) -> Vec<Vec<(Hash, Node)>> {
    let mut out = Vec::new();
    let mut level = vec![(*root, load(store, root))];
    while !level.is_empty() {
        let next = level
            .iter()
            .flat_map(|(_, n)| n.entries.iter().filter_map(|e| e.child_id()))
            .map(|id| (id, load(store, &id)))
            .collect();
        out.push(level);
        level = next;
    }
    out
}

pub fn load(store: &MemStore, id: &Hash) -> Node {
    if *id == EMPTY_ROOT {
        return Node::empty();
    }
    Node::decode(&store.get(id).unwrap().unwrap()).unwrap()
}

/// The largest key of every leaf: the keys where leaf nodes end.
pub fn leaf_edges(store: &MemStore, root: &Hash) -> Vec<Vec<u8>> {
    let levels = levels(store, root);
    levels
        .last()
        .map(|leaves| {
            leaves
                .iter()
                .filter_map(|(_, n)| n.last_key().map(<[u8]>::to_vec))
                .collect()
        })
        .unwrap_or_default()
}

/// The key format of the benchmark and the golden test: timestamp ‖ seq, both big-endian.
pub fn ts_key(i: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(16);
    k.extend_from_slice(&(1_700_000_000_000 + i * 1_000).to_be_bytes());
    k.extend_from_slice(&(i + 1).to_be_bytes());
    k
}

pub fn ts_value(i: u64) -> Vec<u8> {
    blake3::hash(&i.to_be_bytes()).as_bytes().to_vec()
}

pub fn leaf_value(v: &Val) -> &[u8] {
    match v {
        Val::Leaf(v) => v,
        Val::Child { .. } => panic!("not a leaf value"),
    }
}
