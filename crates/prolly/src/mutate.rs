//! Batch mutation: many inserts and deletes in one pass, rewriting only the touched paths.
//!
//! The tree is edited one level at a time, bottom up. At each level the edits are a sorted list
//! of `key → Some(entry value) | None`. For each edit, the node at that level whose key range
//! holds it is found by a descent from the old root; its entries are merged with every edit in
//! its range and fed to a fresh [`Chunker`] (chunker state resets at every node boundary, so
//! starting at a node's first entry is exact). When the old node ends and the chunker has just
//! closed a node too, both chunkings are in step again and the rest of the level is untouched;
//! otherwise the next old node is pulled in. Every old node consumed becomes a delete of its key
//! at the level above, every node emitted an insert, and the level above is edited the same way.
//! At the old root's level, the emitted nodes are the whole level; if there are several, new
//! levels are built on top, and a root with a single child is replaced by that child.

use crate::EMPTY_ROOT;
use std::cmp::Ordering;
use std::sync::Arc;

use crate::error::Error;
use crate::hash::Hash;
use crate::node::{Built, Chunker, Entry, Node, Val};
use crate::store::{Loader, NodeBytes, NodeStore};

/// One edit: a key and its new value, or `None` to delete it.
pub type Edit = (Vec<u8>, Option<Vec<u8>>);

/// The outcome of a mutation: the new root and the nodes that are new in it. Nothing has been
/// stored yet, so a caller can write the nodes in the same transaction as other data.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "a mutation's nodes must be stored for its root to be readable"]
pub struct Mutation {
    /// The new tree's root.
    pub root: Hash,
    /// The nodes of the new tree that the old one did not have.
    pub nodes: Vec<NodeBytes>,
}

impl Mutation {
    /// Total encoded size of the new nodes.
    pub fn new_bytes(&self) -> usize {
        self.nodes.iter().map(|n| n.bytes.len()).sum()
    }
}

type LevelEdit = (Vec<u8>, Option<Val>);

struct Mutator<'s, S: ?Sized> {
    loader: Loader<'s, S>,
    root: Arc<Node>,
    root_id: Hash,
    new_nodes: Vec<NodeBytes>,
}

/// Applies `edits` to the tree under `root`; later edits of the same key win.
pub(crate) fn mutate<S: NodeStore + ?Sized>(
    store: &S,
    root: &Hash,
    edits: impl IntoIterator<Item = Edit>,
) -> Result<Mutation, Error> {
    let mut edits: Vec<Edit> = edits.into_iter().collect();
    for (k, v) in &edits {
        if k.len() > crate::MAX_KEY_LEN {
            return Err(Error::KeyTooLong { len: k.len() });
        }
        if let Some(v) = v
            && v.len() > crate::MAX_VALUE_LEN
        {
            return Err(Error::ValueTooLong { len: v.len() });
        }
    }
    if !edits.is_sorted_by(|a, b| a.0 < b.0) {
        // Stable, so among equal keys the last edit stays last and wins the dedup below.
        edits.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<Edit> = Vec::with_capacity(edits.len());
        for e in edits {
            match out.last_mut() {
                Some(last) if last.0 == e.0 => *last = e,
                _ => out.push(e),
            }
        }
        edits = out;
    }
    let loader = Loader::cached(store);
    let root_node = loader.load_root(root)?;
    let mut m = Mutator {
        loader,
        root: root_node,
        root_id: *root,
        new_nodes: Vec::new(),
    };
    let mut level_edits: Vec<LevelEdit> = edits
        .into_iter()
        .map(|(k, v)| (k, v.map(Val::Leaf)))
        .collect();
    let top = m.root.level;
    let mut level = 0u8;
    loop {
        let up = m.apply_level(level, level_edits)?;
        if up.is_empty() {
            // Nothing changed at this level, so nothing changes above it. (A change always
            // leaves an edit: a rewritten node, or the delete of a node that emptied.)
            return Ok(Mutation {
                root: *root,
                nodes: m.new_nodes,
            });
        }
        if level == top {
            let nodes: Vec<Entry> = up
                .into_iter()
                .filter_map(|(key, val)| val.map(|val| Entry { key, val }))
                .collect();
            let root = m.build_up(level, nodes)?;
            return Ok(Mutation {
                root,
                nodes: m.new_nodes,
            });
        }
        level_edits = up;
        level += 1;
    }
}

impl<S: NodeStore + ?Sized> Mutator<'_, S> {
    /// The node at `level` whose range holds `key` (the last node if `key` is past every key),
    /// its id, and whether it is the last node of its level.
    fn locate(&self, level: u8, key: &[u8]) -> Result<(Arc<Node>, Hash, bool), Error> {
        let (mut node, mut id, mut is_last) = (self.root.clone(), self.root_id, true);
        let mut lower: Option<Vec<u8>> = None;
        while node.level > level {
            let n = node.entries.len();
            let idx = node
                .entries
                .partition_point(|e| e.key.as_slice() < key)
                .min(n - 1);
            let child = self
                .loader
                .load_child(&node, idx, lower.as_deref(), is_last)?;
            if idx > 0 {
                lower = Some(node.entries[idx - 1].key.clone());
            }
            is_last &= idx == n - 1;
            id = node.entries[idx].child_id().unwrap_or(id);
            node = child;
        }
        Ok((node, id, is_last))
    }

    /// The node at `level` right after the one whose largest key is `key`.
    fn next_after(&self, level: u8, key: &[u8]) -> Result<Option<(Arc<Node>, Hash, bool)>, Error> {
        let (mut node, mut id, mut is_last) = (self.root.clone(), self.root_id, true);
        let mut lower: Option<Vec<u8>> = None;
        while node.level > level {
            let n = node.entries.len();
            let idx = node.entries.partition_point(|e| e.key.as_slice() <= key);
            if idx == n {
                return Ok(None);
            }
            let child = self
                .loader
                .load_child(&node, idx, lower.as_deref(), is_last)?;
            if idx > 0 {
                lower = Some(node.entries[idx - 1].key.clone());
            }
            is_last &= idx == n - 1;
            id = node.entries[idx].child_id().unwrap_or(id);
            node = child;
        }
        Ok(Some((node, id, is_last)))
    }

    fn emit(&mut self, b: Built, up: &mut Vec<LevelEdit>, new_ids: &mut Vec<Hash>) {
        new_ids.push(b.id);
        up.push((b.parent_entry.key, Some(b.parent_entry.val)));
        self.new_nodes.push(NodeBytes {
            id: b.id,
            bytes: b.bytes,
        });
    }

    /// Applies sorted, unique `edits` at `level`; returns the edits for the level above.
    fn apply_level(
        &mut self,
        level: u8,
        mut edits: Vec<LevelEdit>,
    ) -> Result<Vec<LevelEdit>, Error> {
        let mut up: Vec<LevelEdit> = Vec::new();
        let mut i = 0;
        while i < edits.len() {
            let (mut node, mut id, mut is_last) = self.locate(level, &edits[i].0)?;
            let (up_mark, nodes_mark) = (up.len(), self.new_nodes.len());
            let (mut old_ids, mut new_ids) = (Vec::new(), Vec::new());
            let mut chunker = Chunker::new(level);
            loop {
                old_ids.push(id);
                if let Some(k) = node.last_key() {
                    up.push((k.to_vec(), None));
                }
                let hi = if is_last { None } else { node.last_key() };
                let mut oi = 0;
                loop {
                    let edit_here = edits
                        .get(i)
                        .is_some_and(|(k, _)| hi.is_none_or(|h| k.as_slice() <= h));
                    let order = match (node.entries.get(oi), edit_here) {
                        (None, false) => break,
                        (Some(_), false) => Ordering::Less,
                        (None, true) => Ordering::Greater,
                        (Some(o), true) => o.key.cmp(&edits[i].0),
                    };
                    // An old entry before its node's last is not a natural boundary here:
                    // every stored node is canonical (made by the chunker or checked on import).
                    let mut known_interior = false;
                    let entry = match order {
                        Ordering::Less => {
                            oi += 1;
                            known_interior = oi < node.entries.len();
                            Some(node.entries[oi - 1].clone())
                        }
                        Ordering::Equal | Ordering::Greater => {
                            if order == Ordering::Equal {
                                oi += 1;
                            }
                            let (key, val) = std::mem::take(&mut edits[i]);
                            i += 1;
                            val.map(|val| Entry { key, val })
                        }
                    };
                    if let Some(e) = entry
                        && let Some(b) = chunker.push_known(e, known_interior)?
                    {
                        self.emit(b, &mut up, &mut new_ids);
                    }
                }
                if is_last {
                    if let Some(b) = chunker.finish()? {
                        self.emit(b, &mut up, &mut new_ids);
                    }
                    break;
                }
                if chunker.is_empty() {
                    break; // In step with the old chunking again.
                }
                let key = node.last_key().map(<[u8]>::to_vec).unwrap_or_default();
                (node, id, is_last) = self.next_after(level, &key)?.ok_or(Error::Inconsistent {
                    id,
                    reason: "a node that is not last at its level has no successor",
                })?;
            }
            if old_ids == new_ids {
                // The edits changed nothing here (same values, or deletes of absent keys).
                up.truncate(up_mark);
                self.new_nodes.truncate(nodes_mark);
            } else {
                // A region can re-emit some old nodes unchanged (the ones between a change and
                // the point where the chunkings fall back in step): those are not new.
                let emitted = self.new_nodes.split_off(nodes_mark);
                self.new_nodes
                    .extend(emitted.into_iter().filter(|n| !old_ids.contains(&n.id)));
            }
        }
        // Deletes of old keys and inserts of new ones interleave; where a key has both, the
        // insert (a rewritten node ending on the same key) wins.
        up.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| a.1.is_some().cmp(&b.1.is_some()))
        });
        up.dedup_by(|later, earlier| {
            if later.0 == earlier.0 {
                std::mem::swap(later, earlier);
                true
            } else {
                false
            }
        });
        Ok(up)
    }

    /// Given every node of `level` (as parent entries), builds levels on top until one node is
    /// left, then drops single-child roots. Returns the root's id.
    fn build_up(&mut self, mut level: u8, mut entries: Vec<Entry>) -> Result<Hash, Error> {
        while entries.len() > 1 {
            level += 1;
            let mut chunker = Chunker::new(level);
            let mut next = Vec::new();
            let mut ids = Vec::new();
            for e in entries {
                if let Some(b) = chunker.push(e)? {
                    self.emit(b, &mut next, &mut ids);
                }
            }
            if let Some(b) = chunker.finish()? {
                self.emit(b, &mut next, &mut ids);
            }
            entries = next
                .into_iter()
                .filter_map(|(key, val)| val.map(|val| Entry { key, val }))
                .collect();
        }
        let Some(top) = entries.pop() else {
            return Ok(EMPTY_ROOT);
        };
        let mut root = top.child_id().unwrap_or(EMPTY_ROOT);
        // A canonical tree never has an inner root with one entry: that level is one node.
        loop {
            let node = match self.new_nodes.iter().rposition(|n| n.id == root) {
                Some(pos) => {
                    let n = Node::decode(&self.new_nodes[pos].bytes)
                        .map_err(|source| Error::Decode { id: root, source })?;
                    if n.level > 0 && n.entries.len() == 1 {
                        self.new_nodes.remove(pos);
                    }
                    Arc::new(n)
                }
                None => self.loader.load(&root)?,
            };
            match node.entries.as_slice() {
                [only] if node.level > 0 => root = only.child_id().unwrap_or(root),
                _ => return Ok(root),
            }
        }
    }
}
