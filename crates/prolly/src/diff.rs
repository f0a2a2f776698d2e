//! Diff of two trees over a key range, as a lazy iterator that skips equal subtrees.
//!
//! Two cursors walk the trees in key order, as Dolt's `tree/diff.go` does. A cursor may rest on
//! an inner entry, meaning "at the start of this child's subtree, not yet loaded". When both rest
//! at the same level on children with the same id, both subtrees are identical and both cursors
//! step over them without loading anything below. Otherwise the cursor resting higher descends
//! (both, at equal levels), and at the leaves entries are compared by key. Because node boundaries
//! depend only on keys, the two trees fall back into step right after each change, so a diff
//! costs about (changes in range + 1) × depth node loads.
//!
//! Correctness of the skip: the walk keeps "every key below both cursors' positions is handled";
//! two subtrees with one id hold the same keys, so when both cursors stand at the start of such
//! subtrees they stand at the same key and the same keys follow, up to the subtrees' last key.

use std::collections::HashSet;

use crate::cursor::{Cursor, KeyRange};
use crate::error::Error;
use crate::hash::Hash;
use crate::node::{EMPTY_ROOT, Val};
use crate::store::{Loader, NodeStore};

/// One difference between the old and the new tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// In the new tree only.
    Added {
        /// The key that differs.
        key: Vec<u8>,
        /// Its value in the new tree.
        value: Vec<u8>,
    },
    /// In the old tree only.
    Removed {
        /// The key that differs.
        key: Vec<u8>,
        /// Its value in the old tree.
        value: Vec<u8>,
    },
    /// In both, with different values.
    Changed {
        /// The key that differs.
        key: Vec<u8>,
        /// Its value in the old tree.
        old: Vec<u8>,
        /// Its value in the new tree.
        new: Vec<u8>,
    },
}

impl Change {
    /// The key that differs.
    pub fn key(&self) -> &[u8] {
        match self {
            Change::Added { key, .. }
            | Change::Removed { key, .. }
            | Change::Changed { key, .. } => key,
        }
    }
}

/// A lazy diff; see [`crate::Prolly::diff`]. Ends after the first error.
pub struct Diff<'s, S: ?Sized> {
    loader: Loader<'s, S>,
    roots: (Hash, Hash),
    range: KeyRange,
    cursors: Option<(Cursor, Cursor)>,
    done: bool,
}

fn leaf_value(v: &Val) -> Vec<u8> {
    match v {
        Val::Leaf(v) => v.clone(),
        Val::Child { .. } => Vec::new(),
    }
}

impl<'s, S: NodeStore + ?Sized> Diff<'s, S> {
    pub(crate) fn new(store: &'s S, old: Hash, new: Hash, range: KeyRange) -> Self {
        Diff {
            loader: Loader::new(store),
            roots: (old, new),
            range,
            cursors: None,
            done: old == new,
        }
    }

    /// Nodes read from the store so far, both trees together.
    pub fn nodes_loaded(&self) -> u64 {
        self.loader.loads()
    }

    fn start(&self, root: &Hash) -> Result<Cursor, Error> {
        let mut c = Cursor::at_start(self.loader.load_root(root)?);
        if !matches!(self.range.start, std::ops::Bound::Unbounded) {
            c.seek(&self.loader, &self.range, false)?;
        }
        Ok(c)
    }

    /// Whether nothing at or after the cursor can be in range.
    fn finished(&self, c: &Cursor) -> bool {
        if c.is_exhausted() {
            return true;
        }
        if c.level() == 0 {
            return self.range.after_end(&c.entry().key);
        }
        // A shallow cursor's subtree holds only keys above the last key passed.
        c.prev_key().is_some_and(|k| self.range.nothing_after(k))
    }

    /// Descends the cursors that need it.
    fn descend(
        &self,
        old: &mut Cursor,
        new: &mut Cursor,
        which: (bool, bool),
    ) -> Result<(), Error> {
        if which.0 {
            old.descend(&self.loader, false)?;
        }
        if which.1 {
            new.descend(&self.loader, false)?;
        }
        Ok(())
    }

    /// Called when the walk meets a missing node: walks both trees breadth-first over the
    /// range, skipping subtrees they share, and names every missing node of the first level
    /// that has any. Fetching that list and retrying costs one round per level, where the
    /// depth-first walk alone would stop once per missing parent.
    fn missing_level(&self) -> Result<Vec<Hash>, Error> {
        let loader = Loader::new(self.loader.store());
        let store = loader.store();
        let absent = |id: &Hash| -> Result<bool, Error> {
            Ok(*id != EMPTY_ROOT && !store.contains(id).map_err(Error::Store)?)
        };
        let mut missing = Vec::new();
        for root in [self.roots.0, self.roots.1] {
            if absent(&root)? {
                missing.push(root);
            }
        }
        if !missing.is_empty() {
            return Ok(missing);
        }
        // Each side's frontier is a set of nodes at one level. The taller side goes down first,
        // so that shared subtrees are compared at the same level.
        let mut sides: Vec<(u8, HashSet<Hash>)> = Vec::with_capacity(2);
        for root in [self.roots.0, self.roots.1] {
            sides.push((loader.load(&root)?.level, HashSet::from([root])));
        }
        loop {
            let shared: HashSet<Hash> = if sides[0].0 == sides[1].0 {
                sides[0].1.intersection(&sides[1].1).copied().collect()
            } else {
                HashSet::new()
            };
            for id in sides
                .iter()
                .flat_map(|s| s.1.iter())
                .filter(|id| !shared.contains(*id))
            {
                if absent(id)? {
                    missing.push(*id);
                }
            }
            if !missing.is_empty() {
                missing.sort_unstable();
                missing.dedup();
                return Ok(missing);
            }
            let top = sides[0].0.max(sides[1].0);
            if top == 0 || sides.iter().all(|s| s.1.is_empty()) {
                return Ok(Vec::new());
            }
            for side in sides.iter_mut().filter(|s| s.0 == top) {
                let mut next = HashSet::new();
                for id in side.1.iter().filter(|id| !shared.contains(*id)) {
                    let node = loader.load(id)?;
                    for (j, e) in node.entries.iter().enumerate() {
                        if j > 0 && self.range.nothing_after(&node.entries[j - 1].key) {
                            break;
                        }
                        if !self.range.before_start(&e.key) {
                            next.extend(e.child_id());
                        }
                    }
                }
                *side = (top - 1, next);
            }
        }
    }

    fn step(&mut self) -> Result<Option<Change>, Error> {
        let (mut old, mut new) = match self.cursors.take() {
            Some(c) => c,
            None => (self.start(&self.roots.0)?, self.start(&self.roots.1)?),
        };
        let out = loop {
            match (self.finished(&old), self.finished(&new)) {
                (true, true) => break None,
                (false, false) => {
                    let (lo, ln) = (old.level(), new.level());
                    if lo > 0 || ln > 0 {
                        if lo == ln && old.entry().child_id() == new.entry().child_id() {
                            old.advance();
                            new.advance();
                        } else {
                            self.descend(&mut old, &mut new, (lo >= ln, ln >= lo))?;
                        }
                        continue;
                    }
                    let (a, b) = (old.entry(), new.entry());
                    match a.key.cmp(&b.key) {
                        std::cmp::Ordering::Less => {
                            let ch = Change::Removed {
                                key: a.key.clone(),
                                value: leaf_value(&a.val),
                            };
                            old.advance();
                            break Some(ch);
                        }
                        std::cmp::Ordering::Greater => {
                            let ch = Change::Added {
                                key: b.key.clone(),
                                value: leaf_value(&b.val),
                            };
                            new.advance();
                            break Some(ch);
                        }
                        std::cmp::Ordering::Equal => {
                            let ch = (a.val != b.val).then(|| Change::Changed {
                                key: a.key.clone(),
                                old: leaf_value(&a.val),
                                new: leaf_value(&b.val),
                            });
                            old.advance();
                            new.advance();
                            if ch.is_some() {
                                break ch;
                            }
                        }
                    }
                }
                (false, true) => {
                    if old.level() > 0 {
                        self.descend(&mut old, &mut new, (true, false))?;
                        continue;
                    }
                    let a = old.entry();
                    let ch = Change::Removed {
                        key: a.key.clone(),
                        value: leaf_value(&a.val),
                    };
                    old.advance();
                    break Some(ch);
                }
                (true, false) => {
                    if new.level() > 0 {
                        self.descend(&mut old, &mut new, (false, true))?;
                        continue;
                    }
                    let b = new.entry();
                    let ch = Change::Added {
                        key: b.key.clone(),
                        value: leaf_value(&b.val),
                    };
                    new.advance();
                    break Some(ch);
                }
            }
        };
        self.cursors = Some((old, new));
        Ok(out)
    }
}

impl<S: NodeStore + ?Sized> Iterator for Diff<'_, S> {
    type Item = Result<Change, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let r = match self.step() {
            // Widen "this node is missing" to every missing node of its level.
            Err(Error::MissingNodes(first)) => match self.missing_level() {
                Ok(all) if !all.is_empty() => Some(Err(Error::MissingNodes(all))),
                Ok(_) => Some(Err(Error::MissingNodes(first))),
                Err(e) => Some(Err(e)),
            },
            r => r.transpose(),
        };
        if !matches!(r, Some(Ok(_))) {
            self.done = true;
        }
        r
    }
}
