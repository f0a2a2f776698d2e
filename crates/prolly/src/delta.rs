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

pub(crate) fn delta<S: NodeStore + ?Sized>(
    store: &S,
    from: &Hash,
    to: &Hash,
    range: &KeyRange,
) -> Result<Delta, Error> {
    let mut out = Delta::default();
    if from == to || *to == EMPTY_ROOT {
        return Ok(out);
    }
    let loader = Loader::new(store);
    let load = |id: &Hash| -> Result<Option<Arc<Node>>, Error> {
        match loader.load(id) {
            Ok(n) => Ok(Some(n)),
            Err(Error::MissingNodes(_)) => Ok(None),
            Err(e) => Err(e),
        }
    };
    let level_of = |id: &Hash| -> Result<Option<u8>, Error> { Ok(load(id)?.map(|n| n.level)) };
    let Some(mut level) = level_of(to)? else {
        out.missing.push(*to);
        return Ok(out);
    };
    let mut to_front: Frontier = vec![(*to, None)];
    // The old side's frontier and its level. A taller old tree is expanded down to the new
    // tree's level first; a shorter one waits until the new side comes down to it.
    let mut from_front: Frontier = vec![(*from, None)];
    let mut from_level = level_of(from)?;
    while let Some(l) = from_level.filter(|l| *l > level) {
        from_front = children_in(&from_front, range, &load)?;
        from_level = if from_front.is_empty() {
            None
        } else {
            Some(l - 1)
        };
    }
    loop {
        let level_matches = from_level == Some(level);
        let shared: HashSet<Hash> = if level_matches {
            from_front.iter().map(|(id, _)| *id).collect()
        } else {
            HashSet::new()
        };
        let to_ids: HashSet<Hash> = to_front.iter().map(|(id, _)| *id).collect();
        let new: Frontier = to_front
            .into_iter()
            .filter(|(id, _)| !shared.contains(id))
            .collect();
        if new.is_empty() {
            return Ok(out);
        }
        let mut next_to = Vec::new();
        let mut missing = Vec::new();
        for (id, lower) in &new {
            let Some(node) = load(id)? else {
                missing.push(*id);
                continue;
            };
            if node.level != level {
                return Err(Error::Inconsistent {
                    id: *id,
                    reason: "child level is not one below its parent",
                });
            }
            out.nodes.push(NodeBytes {
                id: *id,
                bytes: node.encode(),
            });
            if node.is_leaf() {
                for e in &node.entries {
                    if let (true, Val::Leaf(v)) = (range.contains(&e.key), &e.val) {
                        out.values.push(v.clone());
                    }
                }
            } else {
                push_children(&node, lower.clone(), range, &mut next_to);
            }
        }
        if !missing.is_empty() {
            out.missing = missing;
            return Ok(out);
        }
        if level == 0 {
            return Ok(out);
        }
        if level_matches {
            // Subtrees both sides hold are done; only the differing old nodes go down.
            let differing: Frontier = from_front
                .into_iter()
                .filter(|(id, _)| !to_ids.contains(id))
                .collect();
            from_front = children_in(&differing, range, &load)?;
            from_level = Some(level - 1);
        }
        to_front = next_to;
        level -= 1;
    }
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
