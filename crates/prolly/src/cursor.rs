//! Key ranges, queries, and the cursor that walks a tree: a stack of (node, index) frames from
//! the root down. A cursor may rest on an inner entry ("shallow": at the start of that child's
//! subtree, not yet loaded), which is what lets diff skip equal subtrees without loading them.

use std::ops::Bound;
use std::sync::Arc;

use crate::error::Error;
use crate::node::{Entry, Node};
use crate::store::{Loader, NodeStore};

/// An entry as a range read returns it: key and value.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// A range of keys: a start and an end bound over byte strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRange {
    /// The lower bound.
    pub start: Bound<Vec<u8>>,
    /// The upper bound.
    pub end: Bound<Vec<u8>>,
}

impl KeyRange {
    /// Every key.
    pub fn all() -> Self {
        KeyRange {
            start: Bound::Unbounded,
            end: Bound::Unbounded,
        }
    }

    /// `start..end` (end excluded).
    pub fn between(start: impl Into<Vec<u8>>, end: impl Into<Vec<u8>>) -> Self {
        KeyRange {
            start: Bound::Included(start.into()),
            end: Bound::Excluded(end.into()),
        }
    }

    /// Every key that starts with `prefix`.
    pub fn prefix(prefix: &[u8]) -> Self {
        // The end is the shortest key greater than every key with this prefix: drop trailing
        // 0xff bytes and increment the last one; a prefix of only 0xff bytes has no end.
        let mut end = prefix.to_vec();
        while end.last() == Some(&0xff) {
            end.pop();
        }
        let end = match end.last_mut() {
            Some(b) => {
                *b += 1;
                Bound::Excluded(end)
            }
            None => Bound::Unbounded,
        };
        KeyRange {
            start: Bound::Included(prefix.to_vec()),
            end,
        }
    }

    /// True when `key` lies before the start bound.
    pub fn before_start(&self, key: &[u8]) -> bool {
        match &self.start {
            Bound::Included(s) => key < s.as_slice(),
            Bound::Excluded(s) => key <= s.as_slice(),
            Bound::Unbounded => false,
        }
    }

    /// True when `key` lies after the end bound.
    pub fn after_end(&self, key: &[u8]) -> bool {
        match &self.end {
            Bound::Included(e) => key > e.as_slice(),
            Bound::Excluded(e) => key >= e.as_slice(),
            Bound::Unbounded => false,
        }
    }

    /// True when no key greater than `key` is in the range: a subtree whose keys all follow
    /// `key` can be skipped without loading it.
    pub fn nothing_after(&self, key: &[u8]) -> bool {
        match &self.end {
            Bound::Included(e) | Bound::Excluded(e) => key >= e.as_slice(),
            Bound::Unbounded => false,
        }
    }

    /// True when `key` is in the range.
    pub fn contains(&self, key: &[u8]) -> bool {
        !self.before_start(key) && !self.after_end(key)
    }
}

impl<R: std::ops::RangeBounds<Vec<u8>>> From<R> for KeyRange {
    fn from(r: R) -> Self {
        KeyRange {
            start: r.start_bound().cloned(),
            end: r.end_bound().cloned(),
        }
    }
}

/// A range read: which keys, which way, how many.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// The keys.
    pub range: KeyRange,
    /// Newest (largest key) first when true.
    pub reverse: bool,
    /// At most this many entries; `None` for all.
    pub limit: Option<usize>,
}

impl Query {
    /// Every entry of `range`, in key order.
    pub fn new(range: impl Into<KeyRange>) -> Self {
        Query {
            range: range.into(),
            reverse: false,
            limit: None,
        }
    }

    /// The same query, largest keys first.
    pub fn reverse(mut self) -> Self {
        self.reverse = true;
        self
    }

    /// The same query, stopping after `n` entries.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }
}

pub(crate) struct Frame {
    pub(crate) node: Arc<Node>,
    pub(crate) idx: usize,
}

/// A position in a tree; exhausted when it has no frames.
pub(crate) struct Cursor {
    pub(crate) frames: Vec<Frame>,
}

impl Cursor {
    /// At the start of the root's first entry (or exhausted, for the empty tree).
    pub(crate) fn at_start(root: Arc<Node>) -> Self {
        let frames = if root.entries.is_empty() {
            vec![]
        } else {
            vec![Frame { node: root, idx: 0 }]
        };
        Cursor { frames }
    }

    pub(crate) fn is_exhausted(&self) -> bool {
        self.frames.is_empty()
    }

    fn top(&self) -> &Frame {
        &self.frames[self.frames.len() - 1]
    }

    /// The entry the cursor rests on. Panics when exhausted (callers check first).
    pub(crate) fn entry(&self) -> &Entry {
        let f = self.top();
        &f.node.entries[f.idx]
    }

    /// The level of the node the cursor rests in: 0 at a leaf entry, else shallow.
    pub(crate) fn level(&self) -> u8 {
        self.top().node.level
    }

    /// The largest key before the position (the last entry passed at any level), if any.
    pub(crate) fn prev_key(&self) -> Option<&[u8]> {
        self.frames
            .iter()
            .rev()
            .find(|f| f.idx > 0)
            .map(|f| f.node.entries[f.idx - 1].key.as_slice())
    }

    /// Moves into the child under the current inner entry, at its first or last entry.
    pub(crate) fn descend<S: NodeStore + ?Sized>(
        &mut self,
        loader: &Loader<'_, S>,
        last: bool,
    ) -> Result<(), Error> {
        let f = self.top();
        let rightmost = self
            .frames
            .iter()
            .all(|f| f.idx + 1 == f.node.entries.len());
        let child = loader.load_child(&f.node, f.idx, self.prev_key(), rightmost)?;
        let idx = if last { child.entries.len() - 1 } else { 0 };
        self.frames.push(Frame { node: child, idx });
        Ok(())
    }

    /// Moves past the current entry (and its whole subtree, if shallow) in key order, staying
    /// at the level where the next entry is found.
    pub(crate) fn advance(&mut self) {
        while let Some(f) = self.frames.last_mut() {
            f.idx += 1;
            if f.idx < f.node.entries.len() {
                return;
            }
            self.frames.pop();
        }
    }

    /// Moves to the entry before the current one, in reverse key order.
    pub(crate) fn retreat(&mut self) {
        while let Some(f) = self.frames.last_mut() {
            if f.idx > 0 {
                f.idx -= 1;
                return;
            }
            self.frames.pop();
        }
    }

    /// From a cursor resting on the root, moves to the first entry not before `range`'s start
    /// (`reverse`: the last entry not after its end), down to a leaf. On a missing node the
    /// cursor is left on the parent entry that points to it.
    pub(crate) fn seek<S: NodeStore + ?Sized>(
        &mut self,
        loader: &Loader<'_, S>,
        range: &KeyRange,
        reverse: bool,
    ) -> Result<(), Error> {
        while let Some(f) = self.frames.last_mut() {
            let entries = &f.node.entries;
            let leaf = f.node.is_leaf();
            if reverse {
                let upto = entries.partition_point(|e| !range.after_end(&e.key));
                if leaf {
                    f.idx = upto.saturating_sub(1);
                    if upto == 0 {
                        // Nothing here is inside the end bound: the answer is in an earlier
                        // leaf. The cursor is left shallow, for the caller to settle.
                        self.retreat();
                    }
                    return Ok(());
                }
                // The first child reaching past the end holds the last key inside it.
                f.idx = upto.min(entries.len() - 1);
                if upto == entries.len() && range.before_start(&entries[f.idx].key) {
                    // Every key here is inside the end bound and the largest is before the
                    // start: the range is empty, known without loading a child.
                    self.frames.clear();
                    return Ok(());
                }
            } else {
                let idx = entries.partition_point(|e| range.before_start(&e.key));
                if idx == entries.len() {
                    // Everything is before the start; only possible at the root, since a
                    // child's largest key (its parent entry) is not before the start.
                    f.idx = idx - 1;
                    self.advance();
                    return Ok(());
                }
                f.idx = idx;
                if leaf {
                    return Ok(());
                }
            }
            self.descend(loader, reverse)?;
        }
        Ok(())
    }

    /// Descends until the cursor rests on a leaf entry (first or last of each subtree).
    pub(crate) fn settle<S: NodeStore + ?Sized>(
        &mut self,
        loader: &Loader<'_, S>,
        last: bool,
    ) -> Result<(), Error> {
        while !self.is_exhausted() && self.level() > 0 {
            self.descend(loader, last)?;
        }
        Ok(())
    }
}

/// A lazy range scan; see [`crate::Prolly::range`]. Ends after the first error.
pub struct Range<'s, S: ?Sized> {
    loader: Loader<'s, S>,
    root: crate::Hash,
    query: Query,
    cursor: Option<Cursor>,
    remaining: usize,
    done: bool,
}

impl<'s, S: NodeStore + ?Sized> Range<'s, S> {
    pub(crate) fn new(loader: Loader<'s, S>, root: crate::Hash, query: Query) -> Self {
        let remaining = query.limit.unwrap_or(usize::MAX);
        Range {
            loader,
            root,
            query,
            cursor: None,
            remaining,
            done: false,
        }
    }

    /// Nodes read from the store so far.
    pub fn nodes_loaded(&self) -> u64 {
        self.loader.loads()
    }

    pub(crate) fn loader(&self) -> &Loader<'s, S> {
        &self.loader
    }

    fn step(&mut self) -> Result<Option<KeyValue>, Error> {
        if self.remaining == 0 {
            return Ok(None);
        }
        let reverse = self.query.reverse;
        let range = &self.query.range;
        let cursor = match &mut self.cursor {
            Some(c) => {
                if reverse {
                    c.retreat()
                } else {
                    c.advance()
                }
                Ok(c)
            }
            None => {
                let root = self.loader.load_root(&self.root)?;
                let c = self.cursor.insert(Cursor::at_start(root));
                c.seek(&self.loader, range, reverse).map(|()| c)
            }
        }
        .and_then(|c| {
            // A subtree the cursor rests on may lie wholly outside the range: stop before
            // loading it (this keeps proofs and sparse fetches to the nodes the answer needs).
            let outside = !c.is_exhausted()
                && c.level() > 0
                && if reverse {
                    range.before_start(&c.entry().key)
                } else {
                    c.prev_key().is_some_and(|k| range.nothing_after(k))
                };
            if outside {
                c.frames.clear();
            }
            c.settle(&self.loader, reverse).map(|()| c)
        });
        let cursor = match cursor {
            Ok(c) => c,
            Err(e) => {
                let Some(c) = &self.cursor else { return Err(e) };
                return Err(widen_missing(
                    &self.loader,
                    c,
                    &self.query,
                    self.remaining,
                    e,
                ));
            }
        };
        if cursor.is_exhausted() {
            return Ok(None);
        }
        let e = cursor.entry();
        let out_of_range = if reverse {
            self.query.range.before_start(&e.key)
        } else {
            self.query.range.after_end(&e.key)
        };
        if out_of_range {
            return Ok(None);
        }
        self.remaining -= 1;
        let value = match &e.val {
            crate::node::Val::Leaf(v) => v.clone(),
            crate::node::Val::Child { .. } => unreachable!("settle stops at leaves"),
        };
        Ok(Some((e.key.clone(), value)))
    }
}

impl<S: NodeStore + ?Sized> Iterator for Range<'_, S> {
    type Item = Result<KeyValue, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let r = self.step().transpose();
        if !matches!(r, Some(Ok(_))) {
            self.done = true;
        }
        r
    }
}

/// Turns "child X is missing" into "these children are missing": every sibling in the same
/// parent that the scan would still read (inside the range, within the remaining limit by
/// subtree counts) and the store lacks. One fetch of that list lets the scan go a level deeper.
fn widen_missing<S: NodeStore + ?Sized>(
    loader: &Loader<'_, S>,
    cursor: &Cursor,
    query: &Query,
    remaining: usize,
    err: Error,
) -> Error {
    let Error::MissingNodes(first) = &err else {
        return err;
    };
    let [first] = first.as_slice() else {
        return err;
    };
    let Some(f) = cursor.frames.last() else {
        return err;
    };
    let entries = &f.node.entries;
    let mut budget = remaining as u64;
    let mut wanted = Vec::new();
    let mut visit = |j: usize| {
        if budget == 0 {
            return false;
        }
        budget = budget.saturating_sub(entries[j].count());
        wanted.extend(entries[j].child_id());
        true
    };
    if query.reverse {
        for j in (0..=f.idx).rev() {
            if (j != f.idx && query.range.before_start(&entries[j].key)) || !visit(j) {
                break;
            }
        }
    } else {
        for j in f.idx..entries.len() {
            if (j != f.idx && query.range.nothing_after(&entries[j - 1].key)) || !visit(j) {
                break;
            }
        }
    }
    match loader.missing_among(*first, wanted.into_iter()) {
        Ok(all) => Error::MissingNodes(all),
        Err(e) => e,
    }
}

/// Number of keys in the tree under `root` that sort before `key` (or not after it when
/// `inclusive`), in one root-to-leaf descent using subtree counts.
pub(crate) fn rank<S: NodeStore + ?Sized>(
    loader: &Loader<'_, S>,
    root: Arc<Node>,
    key: &[u8],
    inclusive: bool,
) -> Result<u64, Error> {
    let below = |k: &[u8]| if inclusive { k <= key } else { k < key };
    let (mut node, mut lower, mut rightmost) = (root, None::<Vec<u8>>, true);
    let mut total = 0u64;
    loop {
        let idx = node.entries.partition_point(|e| below(&e.key));
        total += node.entries[..idx].iter().map(Entry::count).sum::<u64>();
        if node.is_leaf() || idx == node.entries.len() {
            return Ok(total);
        }
        let child = loader.load_child(&node, idx, lower.as_deref(), rightmost)?;
        if idx > 0 {
            lower = Some(node.entries[idx - 1].key.clone());
        }
        rightmost &= idx + 1 == node.entries.len();
        node = child;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ranges() {
        let r = KeyRange::prefix(b"ab");
        assert!(r.contains(b"ab") && r.contains(b"ab\xff\xff") && !r.contains(b"ac"));
        assert!(!r.contains(b"aa\xff"));
        let r = KeyRange::prefix(b"a\xff");
        assert!(
            r.contains(b"a\xff\x00")
                && !r.contains(b"b")
                && r.end == Bound::Excluded(b"b".to_vec())
        );
        assert_eq!(KeyRange::prefix(b"\xff\xff").end, Bound::Unbounded);
        assert_eq!(KeyRange::prefix(b"").end, Bound::Unbounded);
    }
}
