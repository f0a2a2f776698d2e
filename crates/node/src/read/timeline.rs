//! The home timeline and one author's feed: newest-first pages merged from `messages` indexes
//! (a k-way merge of reverse range scans), with a cursor for the next page.

use std::collections::BinaryHeap;
use std::ops::Bound;

use rookery_feed::{Content, Head, PublicKey, keys};
use rookery_prolly::{KeyRange, Query};

use super::{Ctx, Item, id_of};
use crate::{Node, NodeError};

/// A page position: the last item's `messages` key and its author. Pages are ordered by
/// (key, author), largest first; the next page starts strictly below the cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    key: [u8; 16],
    author: [u8; 32],
}

impl Cursor {
    /// The cursor's bytes: the key, then the author (48 bytes).
    pub fn to_bytes(&self) -> [u8; 48] {
        let mut b = [0u8; 48];
        b[..16].copy_from_slice(&self.key);
        b[16..].copy_from_slice(&self.author);
        b
    }

    /// A cursor from [`Cursor::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, NodeError> {
        let b: [u8; 48] = bytes.try_into().map_err(|_| NodeError::BadCursor)?;
        let (key, author) = b.split_at(16);
        Ok(Cursor {
            key: key.try_into().map_err(|_| NodeError::BadCursor)?,
            author: author.try_into().map_err(|_| NodeError::BadCursor)?,
        })
    }
}

/// One page of a feed, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// The posts.
    pub items: Vec<Item>,
    /// Where the next page starts; `None` at the end.
    pub next: Option<Cursor>,
}

/// One author's place in a merge: the next entry of their `messages` range, or a bound on it
/// that is read only when the merge reaches it. (The order is never used: one source has one
/// entry in the heap at a time, and (key, author, source) is unique.)
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Next {
    /// Not read yet: the key bounds the next entry from above — the head's newest key (or the
    /// cursor's, if lower) before the range is opened, the last entry taken after.
    Unread,
    /// The next entry's value.
    Entry(Vec<u8>),
}

impl Ctx<'_> {
    /// Newest-first posts merged from several authors' `messages` indexes, after `cursor`.
    ///
    /// Lazy: an author's tree is opened only when the merge reaches the newest key their head
    /// says they hold (the timestamp and seq of their latest message), so a page of many
    /// authors reads, and needs, only the trees of the authors it shows. Trees not held are
    /// all named in one [`NodeError::MissingNodes`] — the merge goes on without them to find
    /// every author the page may need — so a read through the network fetches one level of all
    /// of them at once.
    pub(crate) fn merged(
        &self,
        authors: Vec<Head>,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page, NodeError> {
        let trees = &self.node.trees;
        let query = |head: &Head| {
            let end = match cursor {
                None => Bound::Unbounded,
                Some(c) if head.author.as_bytes() < &c.author => Bound::Included(c.key.to_vec()),
                Some(c) => Bound::Excluded(c.key.to_vec()),
            };
            Query::new(KeyRange {
                start: Bound::Unbounded,
                end,
            })
            .reverse()
        };
        let mut sources: Vec<Option<_>> = authors.iter().map(|_| None).collect();
        let mut heap = BinaryHeap::new();
        for (i, head) in authors.iter().enumerate() {
            if head.seq == 0 {
                continue;
            }
            let mut bound = keys::message(head.timestamp_ms, head.seq);
            if let Some(c) = cursor
                && bound.as_slice() > c.key.as_slice()
            {
                bound = c.key.to_vec();
            }
            heap.push((bound, *head.author.as_bytes(), i, Next::Unread));
        }
        let mut items = Vec::new();
        let mut last = None;
        // What is not held yet is all named at once, so it can be fetched in one batch.
        let (mut missing_nodes, mut missing) = (Vec::new(), Vec::new());
        while items.len() + missing.len() < limit {
            let Some((key, author, i, next)) = heap.pop() else {
                break;
            };
            let value = match next {
                Next::Unread => {
                    let source = sources[i].get_or_insert_with(|| {
                        trees.range(&authors[i].roots.messages, query(&authors[i]))
                    });
                    match source.next() {
                        Some(Ok((k, v))) => heap.push((k, author, i, Next::Entry(v))),
                        Some(Err(rookery_prolly::Error::MissingNodes(ids))) => {
                            missing_nodes.extend(ids)
                        }
                        Some(Err(e)) => return Err(e.into()),
                        None => {}
                    }
                    continue;
                }
                Next::Entry(v) => v,
            };
            let id = id_of(&value)?;
            match self.node.store.body(&id)? {
                None => missing.push(id),
                Some(body) => {
                    // An entry counts only if it names the index author's own message at the
                    // position its key says; anything else (another author's post, a copy) is
                    // skipped.
                    let m = body.message();
                    let genuine = m.author == authors[i].author
                        && key == keys::message(m.timestamp_ms, m.seq);
                    if genuine && matches!(m.content, Content::Post(_)) {
                        items.push(self.item(body)?);
                    }
                    last = Some((key.clone(), author));
                }
            }
            // The entry after is read when the merge reaches it, not now: a page that ends
            // here needs no node past its last entry (a first screen's proof holds just those).
            heap.push((key, author, i, Next::Unread));
        }
        if !missing_nodes.is_empty() {
            missing_nodes.sort();
            missing_nodes.dedup();
            return Err(NodeError::MissingNodes(missing_nodes));
        }
        if !missing.is_empty() {
            return Err(NodeError::MissingBodies(missing));
        }
        let next = match (heap.is_empty(), last) {
            (false, Some((k, author))) => Some(Cursor {
                key: k
                    .as_slice()
                    .try_into()
                    .map_err(|_| NodeError::BadIndexValue)?,
                author,
            }),
            _ => None,
        };
        self.count_replies(&mut items)?;
        Ok(Page { items, next })
    }
}

impl Node {
    /// The home timeline: posts of the authors followed and of the local identity, newest
    /// first, `limit` at a time; blocked and muted authors are left out.
    pub fn timeline(&self, cursor: Option<&Cursor>, limit: usize) -> Result<Page, NodeError> {
        let ctx = Ctx::new(self)?;
        let mut heads = Vec::new();
        if let Some(me) = ctx.my_head() {
            for author in ctx.followed()?.iter().filter(|a| !ctx.is_muted(a)) {
                if let Some(h) = ctx.head_of(author)? {
                    heads.push(h);
                }
            }
            heads.push(me.clone());
        }
        ctx.merged(heads, cursor, limit)
    }

    /// The messages bookmarked here, the latest bookmarked first, `limit` of them; one
    /// deleted by its author, or by someone blocked, is left out (its bookmark stays, and
    /// shows again if they are unblocked).
    pub fn bookmarks(&self, limit: usize) -> Result<Vec<Item>, NodeError> {
        let ctx = Ctx::new(self)?;
        let mut out = Vec::new();
        for (id, _) in self.store.bookmarks()? {
            if out.len() == limit {
                break;
            }
            let Some(m) = self.store.body(&id)? else {
                continue;
            };
            if ctx.is_blocked(&m.message().author) || !ctx.is_current(&m)? {
                continue;
            }
            out.push(ctx.item(m)?);
        }
        ctx.count_replies(&mut out)?;
        Ok(out)
    }

    /// One author's posts, newest first (none while they are blocked).
    pub fn author_feed(
        &self,
        author: &PublicKey,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page, NodeError> {
        let ctx = Ctx::new(self)?;
        // A blocked author's posts leave their profile too, not only the timelines.
        let heads = ctx
            .head_of(author)?
            .into_iter()
            .filter(|h| !ctx.is_blocked(&h.author))
            .collect();
        ctx.merged(heads, cursor, limit)
    }
}
