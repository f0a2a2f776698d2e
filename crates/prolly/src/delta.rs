//! Deltas: the nodes of one tree that a holder of another lacks, on a key range. This is what a
//! sync peer sends for catch-up, and what a client walks locally to learn which nodes it still
//! needs.
//!
//! Both trees are walked level by level from the top. At each level, a node of `to` whose hash
//! is also a node of `from` at that level roots an identical subtree: it and everything under it
//! is skipped. Only the nodes of `to` left over are new; only their children in the range are
//! looked at on the next level. The `from` side is expanded only where it differs, so a delta
//! of k scattered changes reads about k × depth nodes on each side, whatever the tree's size.
//!
//! Nodes of `from` the store lacks are simply not expanded (a peer that no longer holds the old
//! tree answers with more than needed, never with less). Nodes of `to` the store lacks are
//! reported in [`Delta::missing`], level by level: the first level with a missing node ends the
//! walk, so a caller fetches one batch per level.

use crate::EMPTY_ROOT;
use std::collections::HashSet;
use std::sync::Arc;

use crate::cursor::KeyRange;
use crate::error::Error;
use crate::hash::Hash;
use crate::node::{Node, Val};
use crate::store::{Loader, NodeBytes, NodeStore};

/// What [`crate::Prolly::delta`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delta {
    /// The nodes of `to` that are not in `from` and overlap the range, parents before children.
    pub nodes: Vec<NodeBytes>,
    /// The leaf values in range of those nodes, in key order per node.
    pub values: Vec<Vec<u8>>,
    /// Nodes of `to` the store lacks (all on one level): the walk stopped there.
    pub missing: Vec<Hash>,
}

impl Delta {
    /// Whether the store holds every node of the delta.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }
}

/// A node to look at: its id and the largest key before its subtree.
type Frontier = Vec<(Hash, Option<Vec<u8>>)>;

/// One node of a delta, as [`DeltaWalk`] gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeltaNode {
    /// The node as stored (its canonical bytes, checked against its id).
    pub node: NodeBytes,
    /// For a leaf, its values in range, in key order; empty for an inner node.
    pub values: Vec<Vec<u8>>,
}

/// Nodes read from the store at once while walking (one read of the store for each).
const READ_BATCH: usize = 64;

/// A delta walked lazily, node by node, parents before children: what [`delta`] collects, for
/// a caller that sends the first nodes while the rest are still being read (a server's answer
/// starts at once instead of after a walk of the whole tree). The walk stops after an error,
/// and at the end of the first level with nodes the store lacks ([`DeltaWalk::missing`]).
pub struct DeltaWalk<'s, S: ?Sized> {
    loader: Loader<'s, S>,
    range: KeyRange,
    level: u8,
    /// The new nodes of this level still to give, next first.
    queue: std::collections::VecDeque<(Hash, Option<Vec<u8>>)>,
    /// Read ahead from `queue`'s front (`None`: the store lacks it).
    read: std::collections::VecDeque<Option<crate::store::Loaded>>,
    /// The next level's frontier, as this one's nodes are given.
    next_to: Frontier,
    /// The ids of this level's frontier on the new side (the old side's differing nodes are
    /// those not among them).
    to_ids: HashSet<Hash>,
    from_front: Frontier,
    from_level: Option<u8>,
    missing: Vec<Hash>,
    done: bool,
}

impl<'s, S: NodeStore + ?Sized> DeltaWalk<'s, S> {
    pub(crate) fn new(
        store: &'s S,
        from: &Hash,
        to: &Hash,
        range: &KeyRange,
    ) -> Result<Self, Error> {
        let mut w = DeltaWalk {
            loader: Loader::new(store),
            range: range.clone(),
            level: 0,
            queue: Default::default(),
            read: Default::default(),
            next_to: Vec::new(),
            to_ids: HashSet::new(),
            from_front: vec![(*from, None)],
            from_level: None,
            missing: Vec::new(),
            done: true,
        };
        if from == to || *to == EMPTY_ROOT {
            return Ok(w);
        }
        let Some(level) = w.load(to)?.map(|n| n.level) else {
            w.missing.push(*to);
            return Ok(w);
        };
        w.level = level;
        // The old side's frontier and its level. A taller old tree is expanded down to the new
        // tree's level first; a shorter one waits until the new side comes down to it.
        w.from_level = w.load(from)?.map(|n| n.level);
        while let Some(l) = w.from_level.filter(|l| *l > level) {
            w.from_front = children_in(&w.from_front, range, &|id| w.load(id))?;
            w.from_level = if w.from_front.is_empty() {
                None
            } else {
                Some(l - 1)
            };
        }
        w.done = false;
        w.start_level(vec![(*to, None)]);
        Ok(w)
    }

    /// The nodes of `to` the store lacks, once the walk has ended (all on one level).
    pub fn missing(&self) -> &[Hash] {
        &self.missing
    }

    fn load(&self, id: &Hash) -> Result<Option<Arc<Node>>, Error> {
        match self.loader.load(id) {
            Ok(n) => Ok(Some(n)),
            Err(Error::MissingNodes(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Takes `to_front` as this level's frontier: its nodes not shared with the old side's
    /// are queued (none: the walk is over).
    fn start_level(&mut self, to_front: Frontier) {
        let shared: HashSet<Hash> = if self.from_level == Some(self.level) {
            self.from_front.iter().map(|(id, _)| *id).collect()
        } else {
            HashSet::new()
        };
        self.to_ids = to_front.iter().map(|(id, _)| *id).collect();
        self.queue = to_front
            .into_iter()
            .filter(|(id, _)| !shared.contains(id))
            .collect();
        if self.queue.is_empty() {
            self.done = true;
        }
    }

    /// After a level's last node: down to the next level, or the end.
    fn next_level(&mut self) -> Result<(), Error> {
        if !self.missing.is_empty() || self.level == 0 {
            self.done = true;
            return Ok(());
        }
        if self.from_level == Some(self.level) {
            // Subtrees both sides hold are done; only the differing old nodes go down.
            let differing: Frontier = std::mem::take(&mut self.from_front)
                .into_iter()
                .filter(|(id, _)| !self.to_ids.contains(id))
                .collect();
            self.from_front = children_in(&differing, &self.range, &|id| self.load(id))?;
            self.from_level = Some(self.level - 1);
        }
        self.level -= 1;
        let next = std::mem::take(&mut self.next_to);
        self.start_level(next);
        Ok(())
    }

    /// The next node of this level that the store holds, if any is left on it.
    fn step(&mut self) -> Result<Option<DeltaNode>, Error> {
        while let Some((id, lower)) = self.queue.pop_front() {
            if self.read.is_empty() {
                let ids: Vec<Hash> = std::iter::once(id)
                    .chain(self.queue.iter().map(|(id, _)| *id))
                    .take(READ_BATCH)
                    .collect();
                self.read = self.loader.load_many(&ids)?.into();
            }
            let Some((node, bytes)) = self.read.pop_front().flatten() else {
                self.missing.push(id);
                continue;
            };
            if node.level != self.level {
                return Err(Error::Inconsistent {
                    id,
                    reason: "child level is not one below its parent",
                });
            }
            let mut values = Vec::new();
            if node.is_leaf() {
                for e in &node.entries {
                    if let (true, Val::Leaf(v)) = (self.range.contains(&e.key), &e.val) {
                        values.push(v.clone());
                    }
                }
            } else {
                push_children(&node, lower, &self.range, &mut self.next_to);
            }
            return Ok(Some(DeltaNode {
                node: NodeBytes { id, bytes },
                values,
            }));
        }
        Ok(None)
    }
}

impl<S: NodeStore + ?Sized> Iterator for DeltaWalk<'_, S> {
    type Item = Result<DeltaNode, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let got = match self.step() {
                Ok(Some(n)) => return Some(Ok(n)),
                Ok(None) => self.next_level(),
                Err(e) => Err(e),
            };
            if let Err(e) = got {
                self.done = true;
                return Some(Err(e));
            }
        }
        None
    }
}

pub(crate) fn delta<S: NodeStore + ?Sized>(
    store: &S,
    from: &Hash,
    to: &Hash,
    range: &KeyRange,
) -> Result<Delta, Error> {
    let mut walk = DeltaWalk::new(store, from, to, range)?;
    let mut out = Delta::default();
    for n in walk.by_ref() {
        let n = n?;
        out.nodes.push(n.node);
        out.values.extend(n.values);
    }
    out.missing = walk.missing;
    Ok(out)
}

/// The children in `range` of the held nodes of `front`.
fn children_in(
    front: &Frontier,
    range: &KeyRange,
    load: &impl Fn(&Hash) -> Result<Option<Arc<Node>>, Error>,
) -> Result<Frontier, Error> {
    let mut out = Vec::new();
    for (id, lower) in front {
        if let Some(node) = load(id)?
            && !node.is_leaf()
        {
            push_children(&node, lower.clone(), range, &mut out);
        }
    }
    Ok(out)
}

/// Pushes the children of an inner node whose key spans overlap `range`.
fn push_children(node: &Node, mut lower: Option<Vec<u8>>, range: &KeyRange, out: &mut Frontier) {
    for e in &node.entries {
        let starts_after_range = lower.as_deref().is_some_and(|l| range.nothing_after(l));
        if starts_after_range {
            return;
        }
        if let Some(child) = e.child_id()
            && !range.before_start(&e.key)
        {
            out.push((child, lower.clone()));
        }
        lower = Some(e.key.clone());
    }
}
