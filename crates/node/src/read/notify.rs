//! Notifications: mentions of, replies to and follows of the local identity, less those of
//! people and in threads muted here. The list is the newest entries of every author's
//! `mentions` index on my key's range, with each author's Follow of me (my key in their
//! `follows`); which of them are unread comes from root diffs — each author's last-seen
//! `mentions` root against the current one on the same range, and their last-seen `follows`
//! root on my key — less those marked read one by one.

use std::collections::{BinaryHeap, HashSet};

use rookery_feed::{Content, Head, Index, MessageId, Post, PublicKey, Roots, keys};
use rookery_prolly::{Change, EMPTY_ROOT, Hash, KeyValue, Query};

use super::{Ctx, Item, id_of};
use crate::{Node, NodeError};

/// Why a notification is there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotificationKind {
    /// A reply to one of my posts.
    Reply,
    /// A post that mentions me.
    Mention,
    /// Someone followed me: their `follows` tree gained my key.
    Follow,
}

/// A mention of, reply to, or follow of the local identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// Reply, mention or follow.
    pub kind: NotificationKind,
    /// The post that mentions or replies to me, or the Follow message, with its author's name.
    pub item: Item,
    /// Whether it was read: seen before the last "mark all read", or marked read by itself.
    pub read: bool,
}

/// The latest notifications and how many are unread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notifications {
    /// Newest first.
    pub items: Vec<Notification>,
    /// Unread, in all (not only among `items`).
    pub unread: u64,
    /// People whose mentions of me have not all arrived yet (a first screen in flight): their
    /// new ones are left out of `unread` (and, where the list reaches them, of `items`) until
    /// they have.
    pub pending: u64,
}

/// Where the next entry of source `i` (of `author`'s mentions of me) goes: onto the merge's
/// heap; nowhere at its end; and if that part of their data has not arrived, `author` is pending.
fn queue(
    next: Result<Option<KeyValue>, NodeError>,
    i: usize,
    author: PublicKey,
    heap: &mut BinaryHeap<(Vec<u8>, usize, Vec<u8>)>,
    pending: &mut HashSet<PublicKey>,
) -> Result<(), NodeError> {
    match next {
        Ok(Some((key, value))) => heap.push((key, i, value)),
        Ok(None) => {}
        Err(e) if e.is_not_synced() => {
            pending.insert(author);
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

fn newest_first(a: &Notification, b: &Notification) -> std::cmp::Ordering {
    let (a, b) = (a.item.message.message(), b.item.message.message());
    (b.timestamp_ms, b.seq).cmp(&(a.timestamp_ms, a.seq))
}

impl Ctx<'_> {
    /// The notification an entry of `author`'s mentions index makes, if it is one: a post of
    /// theirs that mentions me (anything else is not what that index may hold, and is skipped).
    fn notification(
        &self,
        author: &PublicKey,
        value: &[u8],
    ) -> Result<Option<Notification>, NodeError> {
        let body = self.body(&id_of(value)?)?;
        let m = body.message();
        let mentions_me = matches!(&m.content, Content::Post(p) if p.mentions.contains(&self.me));
        if m.author != *author || !mentions_me {
            return Ok(None);
        }
        // A mention in a thread muted here is no notification (the thread's root: the
        // reply's, or the post itself).
        let root = match &m.content {
            Content::Post(Post { reply: Some(r), .. }) => r.root,
            _ => body.id(),
        };
        if self.is_muted_thread(&root) {
            return Ok(None);
        }
        let kind = match &m.content {
            Content::Post(Post { reply: Some(r), .. })
                if self
                    .node
                    .store
                    .body(&r.parent)?
                    .is_some_and(|p| p.message().author == self.me) =>
            {
                NotificationKind::Reply
            }
            _ => NotificationKind::Mention,
        };
        Ok(Some(Notification {
            kind,
            item: self.item(body)?,
            read: false,
        }))
    }

    /// The notification an entry of `author`'s `follows` index under my key makes: their
    /// Follow of me (anything else is not what that key may hold, and is skipped).
    fn follow_notification(
        &self,
        author: &PublicKey,
        value: &[u8],
    ) -> Result<Option<Notification>, NodeError> {
        let body = self.body(&id_of(value)?)?;
        let m = body.message();
        if m.author != *author
            || !matches!(m.content, Content::Follow { target } if target == self.me)
        {
            return Ok(None);
        }
        Ok(Some(Notification {
            kind: NotificationKind::Follow,
            item: self.item(body)?,
            read: false,
        }))
    }

    /// `author`'s Follow of me in their current `follows` tree, if they follow me: one lookup.
    fn follow_of_me(&self, h: &Head) -> Result<Option<Notification>, NodeError> {
        match self
            .node
            .trees
            .get(&h.roots.follows, &keys::follow(&self.me))?
        {
            Some(value) => self.follow_notification(&h.author, &value),
            None => Ok(None),
        }
    }

    /// The notifications `author`'s `index` gained from `old` to `new`: a root diff on my
    /// key's range of their `mentions` (the posts mentioning me) or on my key in their
    /// `follows` (their Follow of me).
    pub(crate) fn gained(
        &self,
        author: &PublicKey,
        index: Index,
        old: &Hash,
        new: &Hash,
    ) -> Result<Vec<Notification>, NodeError> {
        let range = match index {
            Index::Follows => keys::follows_of(&self.me),
            _ => keys::mentions_of(&self.me),
        };
        let mut out = Vec::new();
        for change in self.node.trees.diff(old, new, range) {
            let value = match change? {
                Change::Added { value, .. } | Change::Changed { new: value, .. } => value,
                Change::Removed { .. } => continue,
            };
            out.extend(match index {
                Index::Follows => self.follow_notification(author, &value)?,
                _ => self.notification(author, &value)?,
            });
        }
        Ok(out)
    }

    /// What `author`'s `index` (`mentions` or `follows`) gained since it was last seen, or
    /// `None` while some of it (or of the last-seen version) is not here yet.
    fn unseen_in(&self, h: &Head, index: Index) -> Result<Option<Vec<Notification>>, NodeError> {
        let seen = self
            .node
            .store
            .last_seen(&h.author, index)?
            .unwrap_or(EMPTY_ROOT);
        match self.gained(&h.author, index, &seen, &h.roots.get(index)) {
            Ok(found) => Ok(Some(found)),
            Err(e) if e.is_not_synced() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The ids of every mention of me added since each author was last seen, and the authors
    /// left out because their mentions of me are not all here yet.
    fn unseen(&self) -> Result<(HashSet<MessageId>, HashSet<PublicKey>), NodeError> {
        let (mut out, mut pending) = (HashSet::new(), HashSet::new());
        for h in self.others()?.filter(|h| !self.is_muted(&h.author)) {
            match (
                self.unseen_in(h, Index::Mentions)?,
                self.unseen_in(h, Index::Follows)?,
            ) {
                (Some(mentions), Some(follow)) => out.extend(
                    mentions
                        .into_iter()
                        .chain(follow)
                        .map(|n| n.item.message.id()),
                ),
                _ => {
                    pending.insert(h.author);
                }
            }
        }
        Ok((out, pending))
    }
}

impl Node {
    /// The latest `limit` mentions of, replies to and follows of the local identity, newest
    /// first, read or not, and how many are unread: new since "mark all read" (by root diffs,
    /// of `mentions` on my key's range and of `follows` on my key) and not marked read one by
    /// one.
    pub fn notifications(&self, limit: usize) -> Result<Notifications, NodeError> {
        let ctx = Ctx::new(self)?;
        let (unseen, mut pending) = ctx.unseen()?;
        let unseen: Vec<MessageId> = unseen.into_iter().collect();
        let marked = self.store.are_read(&unseen)?;
        let unread: HashSet<MessageId> = unseen
            .into_iter()
            .zip(marked)
            .filter(|(_, read)| !read)
            .map(|(id, _)| id)
            .collect();
        // The newest `limit` across every author: a k-way merge of reverse scans of their
        // mentions of me (the keys share my prefix, then timestamp and seq), each read only as
        // far as the merge reaches, so the list costs `limit` items, not every mention held.
        // An author whose part of this has not all arrived is left out, as a pending one.
        let others: Vec<&Head> = ctx
            .others()?
            .filter(|h| !pending.contains(&h.author) && !ctx.is_muted(&h.author))
            .collect();
        let mut sources = Vec::with_capacity(others.len());
        let mut heap = BinaryHeap::new();
        for (i, h) in others.iter().enumerate() {
            let mine = Query::new(keys::mentions_of(&self.me)).reverse();
            sources.push(self.trees.range(&h.roots.mentions, mine));
            let next = sources[i].next().transpose().map_err(NodeError::from);
            queue(next, i, h.author, &mut heap, &mut pending)?;
        }
        let mut all = Vec::new();
        while all.len() < limit {
            let Some((_, i, value)) = heap.pop() else {
                break;
            };
            let author = others[i].author;
            let next = ctx.notification(&author, &value).and_then(|n| {
                all.extend(n);
                Ok(sources[i].next().transpose()?)
            });
            queue(next, i, author, &mut heap, &mut pending)?;
        }
        // Who follows me: one lookup of my key in each of their `follows` trees, merged with
        // the mentions by time, and the list cut to `limit` again.
        for h in &others {
            match ctx.follow_of_me(h) {
                Ok(n) => all.extend(n),
                Err(e) if e.is_not_synced() => {
                    pending.insert(h.author);
                }
                Err(e) => return Err(e),
            }
        }
        all.sort_by(newest_first);
        all.truncate(limit);
        for n in &mut all {
            n.read = !unread.contains(&n.item.message.id());
        }
        Ok(Notifications {
            unread: unread.len() as u64,
            items: all,
            pending: pending.len() as u64,
        })
    }

    /// Marks one notification read, by its message id.
    pub fn mark_notification_read(&self, id: &MessageId) -> Result<(), NodeError> {
        Ok(self.store.mark_read(id)?)
    }

    /// Marks every notification read: each author's current `mentions` and `follows` roots
    /// become the last seen.
    pub fn mark_all_notifications_read(&self) -> Result<(), NodeError> {
        self.mark_seen_in(None, &[Index::Mentions, Index::Follows])
    }

    /// Marks one author (or, with `None`, every author held) as seen: their current `mentions`,
    /// `follows` and `messages` roots become the last seen, so their unread count and their
    /// notifications start again from now. A root whose part that these read has not all
    /// arrived (a first screen in flight) is not taken: the last seen stays one that can be
    /// read, and what arrives later counts as new.
    pub fn mark_seen(&self, author: Option<&PublicKey>) -> Result<(), NodeError> {
        self.mark_seen_in(author, &[Index::Mentions, Index::Follows, Index::Messages])
    }

    fn mark_seen_in(&self, author: Option<&PublicKey>, indexes: &[Index]) -> Result<(), NodeError> {
        let heads: Vec<Head> = match author {
            Some(a) => self
                .store
                .head(a)?
                .into_iter()
                .map(|h| h.head().clone())
                .collect(),
            None => self
                .store
                .heads()?
                .into_iter()
                .map(|h| h.head().clone())
                .collect(),
        };
        let ctx = Ctx::new(self)?;
        let mut seen = Vec::new();
        for h in &heads {
            for &i in indexes {
                // What the unread counts and the notifications read of a last-seen root.
                let readable = match i {
                    Index::Mentions | Index::Follows => ctx.unseen_in(h, i)?.is_some(),
                    _ => match self.newest_key(&h.roots.get(i)) {
                        Err(e) if e.is_not_synced() => false,
                        r => r.map(|_| true)?,
                    },
                };
                if readable {
                    seen.push((h.author, i, h.roots.get(i)));
                }
            }
        }
        Ok(self.store.set_last_seen(&seen)?)
    }

    /// The notifications an import of `author`'s head brought: the mentions of me and the
    /// Follow of me its `mentions` and `follows` trees gained from `old` (the roots held
    /// before), for the events a new head raises. Partial data may not reach every one yet;
    /// those are counted once their nodes arrive, and a tree that cannot be read yet is left
    /// out rather than failing the rest.
    pub(crate) fn new_notifications(
        &self,
        author: &PublicKey,
        old: &Roots,
        new: &Roots,
    ) -> Result<Vec<Notification>, NodeError> {
        let ctx = Ctx::new(self)?;
        if ctx.is_blocked(author) || ctx.is_muted(author) || *author == self.me {
            return Ok(vec![]);
        }
        let mut out = Vec::new();
        for index in [Index::Mentions, Index::Follows] {
            if let Ok(found) = ctx.gained(author, index, &old.get(index), &new.get(index)) {
                out.extend(found);
            }
        }
        Ok(out)
    }
}
