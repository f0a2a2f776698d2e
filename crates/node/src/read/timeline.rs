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

impl Ctx<'_> {
    /// Newest-first posts merged from several authors' `messages` indexes, after `cursor`.
    fn merged(
        &self,
        authors: Vec<Head>,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page, NodeError> {
        let trees = &self.node.trees;
        let mut sources = Vec::new();
        for head in &authors {
            let end = match cursor {
                None => Bound::Unbounded,
                Some(c) if head.author.as_bytes() < &c.author => Bound::Included(c.key.to_vec()),
                Some(c) => Bound::Excluded(c.key.to_vec()),
            };
            let range = KeyRange {
                start: Bound::Unbounded,
                end,
            };
            sources.push(trees.range(&head.roots.messages, Query::new(range).reverse()));
        }
        let mut heap = BinaryHeap::new();
        for (i, s) in sources.iter_mut().enumerate() {
            if let Some(item) = s.next() {
                let (k, v) = item?;
                heap.push((k, *authors[i].author.as_bytes(), i, v));
            }
        }
        let mut items = Vec::new();
        let mut last = None;
        // Bodies not held yet are all named at once, so they can be fetched in one batch.
        let mut missing = Vec::new();
        while items.len() + missing.len() < limit {
            let Some((key, author, i, value)) = heap.pop() else {
                break;
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
                    last = Some((key, author));
                }
            }
            if let Some(item) = sources[i].next() {
                let (k, v) = item?;
                heap.push((k, *authors[i].author.as_bytes(), i, v));
            }
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
    /// first, `limit` at a time; blocked authors are left out.
    pub fn timeline(&self, cursor: Option<&Cursor>, limit: usize) -> Result<Page, NodeError> {
        let ctx = Ctx::new(self)?;
        let mut heads = Vec::new();
        if let Some(me) = ctx.my_head() {
            for author in ctx.followed()? {
                if let Some(h) = ctx.head_of(author)? {
                    heads.push(h);
                }
            }
            heads.push(me.clone());
        }
        ctx.merged(heads, cursor, limit)
    }

    /// One author's posts, newest first.
    pub fn author_feed(
        &self,
        author: &PublicKey,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page, NodeError> {
        let ctx = Ctx::new(self)?;
        let heads = ctx.head_of(author)?.into_iter().collect();
        ctx.merged(heads, cursor, limit)
    }
}
