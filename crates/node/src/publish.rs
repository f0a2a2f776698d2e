//! Publishing: the one feed writer ([`FeedWriter`]) that signs an author's next messages,
//! edits every index each one touches and signs the new head — used by the node here, by the
//! synthetic feeds of tests, benchmarks and the demo, and by the benchmarks' own feeds — and the
//! node's publishing operations with the rules for what the local identity may post.
//!
//! The writer is pure over a `NodeStore`: it returns the new nodes unstored, so the node writes
//! them with the message and the head in one redb transaction (all of it after a crash, or
//! none), and an in-memory feed keeps them in memory.

use rookery_feed::{
    About, Content, FeedError, Head, Index, IndexEdits, Message, MessageId, Post, PublicKey, Roots,
    SecretKey, SignedHead, SignedMessage, index_edits, keys, limits,
};
use rookery_prolly::{KeyRange, NodeBytes, NodeStore, Prolly, Query};
use rookery_store::Published;

use crate::read::id_of;
use crate::{Node, NodeError, NodeEvent, mentions, now_ms};

/// A message to append: what it says and when (raised to the feed's last timestamp if older,
/// so time never goes back within a feed and `messages` order is seq order).
#[derive(Clone, Debug)]
pub struct Draft {
    /// What it says.
    pub content: Content,
    /// When, in ms since the Unix epoch.
    pub timestamp_ms: u64,
}

/// What appending wrote: the messages, the new head, the tree nodes they added (unstored), and
/// the earlier messages that Deletes among them withdrew.
#[derive(Debug)]
pub struct Written {
    /// The signed messages, in order.
    pub messages: Vec<SignedMessage>,
    /// The author's new head.
    pub head: SignedHead,
    /// The new nodes of every index the messages changed.
    pub nodes: Vec<NodeBytes>,
    /// The targets of the Deletes among the messages.
    pub deleted: Vec<SignedMessage>,
}

/// Writes the next messages of one feed over the trees in `S`.
#[derive(Debug)]
pub struct FeedWriter<'a, S: NodeStore> {
    key: &'a SecretKey,
    trees: &'a Prolly<S>,
}

/// Messages being appended to a feed: each is signed as it is pushed (so the next one can name
/// it), and their index edits are applied together when the batch is finished — one pass per
/// index, however many messages.
#[derive(Debug)]
pub struct Appending<'w, 'a, S: NodeStore> {
    writer: &'w FeedWriter<'a, S>,
    seq: u64,
    roots: Roots,
    about: Option<MessageId>,
    last_ts: u64,
    pending: IndexEdits,
    nodes: Vec<NodeBytes>,
    messages: Vec<SignedMessage>,
    deleted: Vec<SignedMessage>,
}

impl<'a, S: NodeStore> FeedWriter<'a, S> {
    /// A writer for `key`'s feed, whose trees (as far as held) are in `trees`.
    pub fn new(key: &'a SecretKey, trees: &'a Prolly<S>) -> Self {
        FeedWriter { key, trees }
    }

    /// Starts appending after `held` (`None`: a new feed).
    pub fn begin(&self, held: Option<&Head>) -> Appending<'_, 'a, S> {
        let (seq, roots, about, last_ts) = held.map_or((0, Roots::empty(), None, 0), |h| {
            (h.seq, h.roots, h.about, h.timestamp_ms)
        });
        Appending {
            writer: self,
            seq,
            roots,
            about,
            last_ts,
            pending: IndexEdits::default(),
            nodes: Vec::new(),
            messages: Vec::new(),
            deleted: Vec::new(),
        }
    }
}

impl<S: NodeStore> Appending<'_, '_, S> {
    /// Signs the next message. `body` finds an earlier message of the feed by id, for a
    /// Delete. A message whose edits depend on the trees as they are (a Delete of a Follow or
    /// of the current profile) applies the edits before it first.
    pub fn push(
        &mut self,
        draft: Draft,
        body: impl Fn(&MessageId) -> Result<Option<SignedMessage>, NodeError>,
    ) -> Result<&SignedMessage, NodeError> {
        let target = match &draft.content {
            Content::Delete { target } => {
                Some(body(target)?.ok_or(NodeError::UnknownMessage(*target))?)
            }
            _ => None,
        };
        let timestamp_ms = draft.timestamp_ms.max(self.last_ts);
        let message = SignedMessage::sign(
            Message {
                author: self.writer.key.public(),
                seq: self.seq + 1,
                timestamp_ms,
                content: draft.content,
            },
            self.writer.key,
        )?;
        let mut edits = index_edits(
            message.message(),
            message.id(),
            target.as_ref().map(|d| (d.message(), d.id())),
        )?;
        if let Some(t) = &target {
            // What the trees hold now decides the rest: apply what is pending first (in a
            // batch of one, nothing is).
            self.flush(true)?;
            let trees = self.writer.trees;
            if let Content::Follow { target: whom } = &t.message().content {
                // A later Follow of the same key replaced this one: deleting the old message
                // must not unfollow.
                let current = trees.get(&self.roots.follows, &keys::follow(whom))?;
                if current.as_deref() != Some(t.id().as_bytes().as_slice()) {
                    edits.follows.clear();
                }
            }
            if self.about == Some(t.id()) {
                // Deleting the current profile brings back the one before it, if any.
                self.about = self.latest_about(&t.id(), &body)?;
            }
            self.deleted.push(t.clone());
        }
        if matches!(message.message().content, Content::About(_)) {
            self.about = Some(message.id());
        }
        self.seq += 1;
        self.last_ts = timestamp_ms;
        self.pending.extend(edits);
        self.messages.push(message);
        Ok(self
            .messages
            .last()
            .unwrap_or_else(|| unreachable!("pushed above")))
    }

    /// Applies the edits and signs the new head.
    pub fn finish(mut self) -> Result<Written, NodeError> {
        self.flush(false)?;
        let head = SignedHead::sign(
            Head {
                author: self.writer.key.public(),
                seq: self.seq,
                timestamp_ms: self.last_ts,
                roots: self.roots,
                about: self.about,
            },
            self.writer.key,
        )?;
        Ok(Written {
            messages: self.messages,
            head,
            nodes: self.nodes,
            deleted: self.deleted,
        })
    }

    /// Applies the pending edits to the trees: one pass per index touched. With `store_now`,
    /// the new nodes are also put in the store at once, because the edits after them read
    /// them; otherwise they are only returned, for the caller to write with the head.
    fn flush(&mut self, store_now: bool) -> Result<(), NodeError> {
        let trees = self.writer.trees;
        for index in Index::ALL {
            let edits = self.pending.get(index);
            if edits.is_empty() {
                continue;
            }
            let m = trees.mutate(&self.roots.get(index), edits.to_vec())?;
            if store_now {
                trees
                    .store()
                    .put_many(&m.nodes)
                    .map_err(|e| NodeError::Tree(rookery_prolly::Error::Store(e)))?;
            }
            self.roots.set(index, m.root);
            self.nodes.extend(m.nodes);
        }
        self.pending = IndexEdits::default();
        Ok(())
    }

    /// The newest About message in the feed, other than `except`.
    fn latest_about(
        &self,
        except: &MessageId,
        body: &impl Fn(&MessageId) -> Result<Option<SignedMessage>, NodeError>,
    ) -> Result<Option<MessageId>, NodeError> {
        let trees = self.writer.trees;
        for entry in trees.range(&self.roots.messages, Query::new(KeyRange::all()).reverse()) {
            let id = id_of(&entry?.1)?;
            if id != *except
                && let Some(m) = body(&id)?
                && matches!(m.message().content, Content::About(_))
            {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }
}

/// The rules for a post the local identity writes: some text, within the limits.
fn check_post(text: &str) -> Result<(), NodeError> {
    if text.trim().is_empty() {
        return Err(NodeError::NotAllowed("a post needs some text"));
    }
    Ok(limits::POST_TEXT.check(text)?)
}

impl Node {
    /// Posts `text`; `@name` and `@key` in it become mentions.
    pub fn post(&self, text: &str) -> Result<SignedMessage, NodeError> {
        check_post(text)?;
        let mentions = mentions::resolve(text, &self.name_index()?);
        self.publish(Content::Post(Post {
            text: text.to_string(),
            mentions,
            reply: None,
        }))
    }

    /// Replies to message `parent` (its thread's root is found from it); the parent's author
    /// is mentioned, so the reply reaches them as a notification.
    pub fn reply(&self, parent: &MessageId, text: &str) -> Result<SignedMessage, NodeError> {
        check_post(text)?;
        let p = self
            .message(parent)?
            .ok_or(NodeError::UnknownMessage(*parent))?
            .message;
        let root = match &p.message().content {
            Content::Post(Post { reply: Some(r), .. }) => r.root,
            _ => *parent,
        };
        let mentions = mentions::resolve(text, &self.name_index()?);
        self.publish(Content::Post(Post::reply(
            text,
            mentions,
            root,
            *parent,
            p.message().author,
        )))
    }

    /// Publishes a new profile (names and bios are trimmed).
    pub fn set_profile(
        &self,
        name: &str,
        bio: &str,
        avatar: Option<[u8; 32]>,
    ) -> Result<SignedMessage, NodeError> {
        self.publish(Content::About(About {
            name: name.trim().to_string(),
            bio: bio.trim().to_string(),
            avatar,
        }))
    }

    /// Follows `target`.
    pub fn follow(&self, target: PublicKey) -> Result<SignedMessage, NodeError> {
        if target == self.me {
            return Err(NodeError::NotAllowed("that is your own key"));
        }
        self.publish(Content::Follow { target })
    }

    /// Unfollows `target`.
    pub fn unfollow(&self, target: PublicKey) -> Result<SignedMessage, NodeError> {
        self.publish(Content::Unfollow { target })
    }

    /// Blocks `target`: their messages leave every view here.
    pub fn block(&self, target: PublicKey) -> Result<SignedMessage, NodeError> {
        if target == self.me {
            return Err(NodeError::NotAllowed("you cannot block yourself"));
        }
        self.publish(Content::Block { target })
    }

    /// Unblocks `target`: the Block message in force against them is deleted (the block is a
    /// signed message of my feed, so undoing it is too, and my followers see it undone). `None`
    /// when they are not blocked: nothing is published.
    pub fn unblock(&self, target: PublicKey) -> Result<Option<SignedMessage>, NodeError> {
        let Some(seq) = self.store.block_of(&target)? else {
            return Ok(None);
        };
        // The block's id, from the keys of my own `messages` tree (timestamp ‖ seq, and my feed
        // is always whole): a reverse scan from my newest message, reading no body but the
        // one found.
        let head = self.store.head(&self.me)?.ok_or(NodeError::NotAllowed(
            "a block is recorded but your feed is empty",
        ))?;
        let newest_first = Query::new(KeyRange::all()).reverse();
        let mut block = None;
        for entry in self.trees.range(&head.head().roots.messages, newest_first) {
            let (key, value) = entry?;
            match keys::parse_message(&key) {
                Some((_, s)) if s == seq => {
                    block = Some(id_of(&value)?);
                    break;
                }
                _ => {}
            }
        }
        let id = block.ok_or(NodeError::NotAllowed(
            "the block in force is no longer in your feed",
        ))?;
        match self.store.body(&id)?.map(|m| m.message().content.clone()) {
            Some(Content::Block { target: t }) if t == target => {}
            _ => return Err(NodeError::NotAllowed("the block in force is not a block")),
        }
        let undone = self.publish(Content::Delete { target: id })?;
        // Served again: subscriptions that asked about them hear of their head now.
        let _ = self.changes.send(target);
        Ok(Some(undone))
    }

    /// Likes a message.
    pub fn like(&self, target: MessageId) -> Result<SignedMessage, NodeError> {
        self.publish(Content::Like { target })
    }

    /// Deletes one of the local identity's messages from every index.
    pub fn delete(&self, target: MessageId) -> Result<SignedMessage, NodeError> {
        match self.store.body(&target)? {
            Some(m) if m.message().author == self.me => {}
            Some(_) => return Err(NodeError::NotAllowed("only your own posts can be deleted")),
            None => return Err(NodeError::UnknownMessage(target)),
        }
        self.publish(Content::Delete { target })
    }

    fn publish(&self, content: Content) -> Result<SignedMessage, NodeError> {
        self.publish_at(content, now_ms())
    }

    /// Publishes `content` at `timestamp_ms` (the demo network backdates its history): one
    /// message, its index nodes and the new head, in one transaction.
    pub fn publish_at(
        &self,
        content: Content,
        timestamp_ms: u64,
    ) -> Result<SignedMessage, NodeError> {
        let _one_at_a_time = self.publishing.lock().unwrap_or_else(|e| e.into_inner());
        if self.store.own_feed_lost()? {
            return Err(NodeError::OwnFeedLost);
        }
        let held = self.store.head(&self.me)?.map(|h| h.head().clone());
        let writer = FeedWriter::new(&self.key, &self.trees);
        let mut batch = writer.begin(held.as_ref());
        let draft = Draft {
            content,
            timestamp_ms,
        };
        batch.push(draft, |id| Ok(self.store.body(id)?))?;
        let w = batch.finish()?;
        let Some(message) = w.messages.into_iter().next() else {
            return Err(FeedError::SeqZero.into());
        };
        let deleted_block = w
            .deleted
            .iter()
            .find(|d| matches!(d.message().content, Content::Block { .. }));
        self.store.publish(&Published {
            nodes: &w.nodes,
            message: &message,
            head: &w.head,
            deleted_block,
        })?;
        let _ = self.changes.send(self.me);
        self.emit(NodeEvent::Published(message.clone()));
        Ok(message)
    }
}
