//! Rookery's Prolly tree: a content-addressed, history-independent B-tree over a [`NodeStore`].
//!
//! The same set of entries always gives the same root [`Hash`], whatever order they were
//! inserted and deleted in. That one invariant is what lets peers compare trees by root, skip
//! every equal subtree when they diff or sync, and verify any part of a tree against a signed
//! root. See `ARCHITECTURE.md` and the module docs: [`node`] (format and chunking), `mutate`,
//! `cursor` (range and count), `diff`, `proof`.
//!
//! This crate is pure: no I/O of its own, no async. Nodes come from a [`NodeStore`]; every read
//! checks the node's bytes against its id and decodes them strictly, and a read that meets a
//! node the store lacks fails with [`Error::MissingNodes`] naming what to fetch.
#![warn(missing_docs)]
#![deny(unreachable_pub)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod cursor;
mod delta;
mod diff;
mod error;
mod hash;
mod mutate;
pub mod node;
mod proof;
mod store;

use std::sync::Arc;

pub use cursor::{KeyRange, KeyValue, Query, Range};
pub use delta::{Delta, DeltaNode, DeltaWalk};
pub use diff::{Change, Diff};
pub use error::{DecodeError, Error, StoreError};
pub use hash::Hash;
pub use mutate::{Edit, Mutation};
pub use node::{
    EMPTY_ROOT, MAX_ENCODED_NODE, MAX_ENTRIES, MAX_KEY_LEN, MAX_LEVEL, MAX_NODE_SIZE,
    MAX_VALUE_LEN, Node, verify_node,
};
pub use proof::{RangeProof, verify_range};
pub use store::{MemStore, NodeBytes, NodeStore, Overlay};

use store::Loader;

/// The trees in one [`NodeStore`]: every operation takes the root of the tree it works on.
///
/// Reads borrow the store; [`Prolly::mutate`] computes new nodes without storing them (so a
/// caller can store them in its own transaction), [`Prolly::apply`] also stores them.
#[derive(Clone, Debug, Default)]
pub struct Prolly<S> {
    store: S,
}

/// Shape and size of a whole tree, from [`Prolly::stats`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TreeStats {
    /// Leaf entries.
    pub entries: u64,
    /// Levels, counting the leaves (1 for a tree that is one leaf, 0 for the empty tree).
    pub depth: u32,
    /// Nodes in the tree, inner and leaf.
    pub nodes: u64,
    /// Leaf nodes.
    pub leaves: u64,
    /// Sum of encoded node sizes.
    pub total_bytes: u64,
    /// The largest encoded node.
    pub max_node_bytes: u64,
}

impl<S: NodeStore> Prolly<S> {
    /// Trees over `store`.
    pub fn new(store: S) -> Self {
        Prolly { store }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The value under `key`.
    pub fn get(&self, root: &Hash, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        let loader = Loader::new(&self.store);
        let (mut node, mut lower, mut rightmost) = (loader.load_root(root)?, None::<Vec<u8>>, true);
        loop {
            let idx = node.entries.partition_point(|e| e.key.as_slice() < key);
            let Some(e) = node.entries.get(idx) else {
                return Ok(None);
            };
            if node.is_leaf() {
                return Ok((e.key == key).then(|| match &e.val {
                    node::Val::Leaf(v) => v.clone(),
                    node::Val::Child { .. } => Vec::new(),
                }));
            }
            let child = loader.load_child(&node, idx, lower.as_deref(), rightmost)?;
            if idx > 0 {
                lower = Some(node.entries[idx - 1].key.clone());
            }
            rightmost &= idx + 1 == node.entries.len();
            node = child;
        }
    }

    /// A lazy scan of `query`'s entries, in key order or (reversed) largest first.
    pub fn range(&self, root: &Hash, query: Query) -> Range<'_, S> {
        Range::new(Loader::new(&self.store), *root, query)
    }

    /// The number of entries in `range`, from subtree counts: two root-to-leaf descents.
    pub fn count(&self, root: &Hash, range: &KeyRange) -> Result<u64, Error> {
        use std::ops::Bound;
        let loader = Loader::new(&self.store);
        let node = loader.load_root(root)?;
        let below = |b: &Bound<Vec<u8>>, at_end: bool, node: Arc<Node>| match b {
            Bound::Unbounded if at_end => Ok(node.checked_count().unwrap_or(u64::MAX)),
            Bound::Unbounded => Ok(0),
            // Entries before the start: < s, or ≤ s when s is excluded.
            Bound::Included(k) => cursor::rank(&loader, node, k, at_end),
            Bound::Excluded(k) => cursor::rank(&loader, node, k, !at_end),
        };
        let hi = below(&range.end, true, node.clone())?;
        let lo = below(&range.start, false, node)?;
        Ok(hi.saturating_sub(lo))
    }

    /// What changed from `old` to `new` within `range`, in key order, lazily.
    pub fn diff(&self, old: &Hash, new: &Hash, range: KeyRange) -> Diff<'_, S> {
        Diff::new(&self.store, *old, *new, range)
    }

    /// The nodes of `to` that a holder of `from` lacks on `range`, with the leaf values they
    /// carry; skips every subtree the two trees share. Nodes of `to` this store lacks are named
    /// in [`Delta::missing`] (one tree level at a time), so a caller can fetch and walk again.
    pub fn delta(&self, from: &Hash, to: &Hash, range: &KeyRange) -> Result<Delta, Error> {
        delta::delta(&self.store, from, to, range)
    }

    /// [`Prolly::delta`] walked lazily, node by node (parents before children), for a caller
    /// that uses the first nodes while the rest are still being read.
    pub fn delta_walk(
        &self,
        from: &Hash,
        to: &Hash,
        range: &KeyRange,
    ) -> Result<DeltaWalk<'_, S>, Error> {
        DeltaWalk::new(&self.store, from, to, range)
    }

    /// Applies a batch of edits (later edits of a key win) and returns the new root with the
    /// new nodes, unstored. Only the paths to edited keys are read and rewritten.
    pub fn mutate(
        &self,
        root: &Hash,
        edits: impl IntoIterator<Item = Edit>,
    ) -> Result<Mutation, Error> {
        mutate::mutate(&self.store, root, edits)
    }

    /// [`Prolly::mutate`], then stores the new nodes in one `put_many`.
    pub fn apply(&self, root: &Hash, edits: impl IntoIterator<Item = Edit>) -> Result<Hash, Error> {
        let m = self.mutate(root, edits)?;
        self.store.put_many(&m.nodes).map_err(Error::Store)?;
        Ok(m.root)
    }

    /// The union of two trees. For a key in both with different values, `resolve(key, ours,
    /// theirs)` gives the merged value. Costs a diff (equal subtrees skipped) plus a mutation
    /// of `ours` by what `theirs` adds. The new nodes are returned unstored.
    pub fn merge(
        &self,
        ours: &Hash,
        theirs: &Hash,
        mut resolve: impl FnMut(&[u8], &[u8], &[u8]) -> Vec<u8>,
    ) -> Result<Mutation, Error> {
        let mut edits = Vec::new();
        for change in self.diff(ours, theirs, KeyRange::all()) {
            match change? {
                Change::Added { key, value } => edits.push((key, Some(value))),
                Change::Changed { key, old, new } => {
                    let merged = resolve(&key, &old, &new);
                    if merged != old {
                        edits.push((key, Some(merged)));
                    }
                }
                Change::Removed { .. } => {}
            }
        }
        self.mutate(ours, edits)
    }

    /// Answers `query` and returns the nodes that prove the answer against `root`; see
    /// [`verify_range`].
    pub fn prove_range(
        &self,
        root: &Hash,
        query: &Query,
    ) -> Result<(Vec<KeyValue>, RangeProof), Error> {
        proof::prove(&self.store, root, query)
    }

    /// Loads every node of the tree under `root`, each checked against its parent, and calls
    /// `visit` with it (parents before children).
    fn walk(
        &self,
        loader: &Loader<'_, S>,
        root: &Hash,
        mut visit: impl FnMut(&Node),
    ) -> Result<(), Error> {
        let mut stack = vec![(loader.load_root(root)?, None::<Vec<u8>>, true)];
        while let Some((node, lower, rightmost)) = stack.pop() {
            visit(&node);
            for i in (0..node.entries.len()).filter(|_| !node.is_leaf()) {
                let child = loader.load_child(&node, i, lower.as_deref(), rightmost)?;
                let child_lower = if i > 0 {
                    Some(node.entries[i - 1].key.clone())
                } else {
                    lower.clone()
                };
                stack.push((child, child_lower, rightmost && i + 1 == node.entries.len()));
            }
        }
        Ok(())
    }

    /// Every node of the tree under `root`, each checked as it is read, parents before
    /// children (O(N); for bundles and full copies). The empty root has no nodes.
    pub fn tree_nodes(&self, root: &Hash) -> Result<Vec<NodeBytes>, Error> {
        let loader = Loader::recording(&self.store);
        self.walk(&loader, root, |_| {})?;
        Ok(loader.take_recorded())
    }

    /// Walks every node of the tree (O(N)); for benchmarks and diagnostics.
    pub fn stats(&self, root: &Hash) -> Result<TreeStats, Error> {
        let loader = Loader::new(&self.store);
        let mut s = TreeStats::default();
        self.walk(&loader, root, |node| {
            if node.entries.is_empty() {
                return; // the empty tree
            }
            let len = node.encode().len() as u64;
            s.depth = s.depth.max(u32::from(node.level) + 1);
            s.nodes += 1;
            s.total_bytes += len;
            s.max_node_bytes = s.max_node_bytes.max(len);
            if node.is_leaf() {
                s.leaves += 1;
                s.entries += node.entries.len() as u64;
            }
        })?;
        Ok(s)
    }
}
