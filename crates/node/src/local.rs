//! The node's own state, typed: the user's settings, the address cache, blocks, mutes,
//! bookmarks, restoring an identity from its key, and the bookkeeping of background catch-up
//! (the root each author's index is known complete at). Read marks of notifications are in
//! `read/notify.rs`, with the notifications.

use std::collections::HashSet;
use std::path::Path;

use rookery_feed::{Index, MessageId, PublicKey, SecretKey};
use rookery_prolly::{EMPTY_ROOT, Hash, KeyRange, Query};
use rookery_store::{LocalSettings, Muted, RepairReport, Store};

use crate::read::id_of;
use crate::{DB_FILE, Node, NodeError, Ticket};

/// What `rookery repair` found and did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repaired {
    /// What the store's repair found and did.
    pub store: RepairReport,
    /// Whether my own feed is whole: my head, every node of its trees and every message. If
    /// not, it is marked lost: publishing waits until sync restores it from peers that hold it
    /// (or the user starts over), so that my key never gets a second history.
    pub own_feed_whole: bool,
}

impl Node {
    /// Checks the node in `dir` and repairs what can be repaired: the store (see
    /// [`Store::repair`]); then whether my own feed is still whole, and if it is not, marks it
    /// lost until it is restored.
    pub fn repair(dir: impl AsRef<Path>) -> Result<Repaired, NodeError> {
        let dir = dir.as_ref();
        let store = Store::repair(dir.join(DB_FILE))?;
        let node = Node::open(dir)?;
        let own_feed_whole = node.own_feed_whole(store.found_damage() || node.own_feed_lost()?)?;
        if !own_feed_whole {
            node.store.set_own_feed_lost(true)?;
        }
        Ok(Repaired {
            store,
            own_feed_whole,
        })
    }

    /// Restores an identity from its backed-up key into `dir`, which must hold none: the node
    /// opens with its own feed marked lost, as after damage, so it publishes nothing until
    /// sync has brought its latest head and whole feed back from peers (its followers, a pub)
    /// — a post before that would fork the feed they hold, and they would refuse this person
    /// for good. If no peer has anything, [`Node::start_over`] begins a new feed.
    pub fn restore(dir: impl AsRef<Path>, key: &SecretKey) -> Result<Node, NodeError> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)
            .map_err(crate::error::io("creating the data directory", dir))?;
        let path = dir.join(crate::identity::KEY_FILE);
        if path.exists() || dir.join(DB_FILE).exists() {
            return Err(NodeError::NotAllowed(
                "this data directory holds an identity already: restore into a new one",
            ));
        }
        crate::identity::write_key_file(&path, key)?;
        let node = Node::open(dir)?;
        node.store.set_own_feed_lost(true)?;
        Ok(node)
    }

    /// Whether my own feed is marked lost (by a repair) and not restored yet.
    pub fn own_feed_lost(&self) -> Result<bool, NodeError> {
        Ok(self.store.own_feed_lost()?)
    }

    /// Gives up restoring my own feed: it starts again at message 1, following again whom
    /// the part left here follows and with the profile left here. Anyone holding the old
    /// feed sees a second history of my key. Returns how many were followed again.
    pub fn start_over(&self) -> Result<usize, NodeError> {
        if !self.store.own_feed_lost()? {
            return Err(NodeError::NotAllowed(
                "your own feed is whole here: there is nothing to start over",
            ));
        }
        let head = self.store.head(&self.me)?;
        let (follows, about) = match &head {
            Some(h) => (
                crate::read::follows_of(self, h.head())?,
                crate::read::about_of(self, h.head()).unwrap_or(None),
            ),
            None => (Vec::new(), None),
        };
        self.store.remove_head(&self.me)?;
        self.store.set_own_feed_lost(false)?;
        if let Some(about) = about {
            self.set_profile(&about.name, &about.bio, about.avatar)?;
        }
        for key in &follows {
            self.follow(*key)?;
        }
        Ok(follows.len())
    }

    /// After sync brought parts of my own feed back: if it is whole again, publishing may go
    /// on. Returns whether it is still lost.
    pub(crate) fn check_own_feed(&self) -> Result<bool, NodeError> {
        if !self.store.own_feed_lost()? {
            return Ok(false);
        }
        if self.own_feed_whole(true)? {
            self.store.set_own_feed_lost(false)?;
            tracing::info!("my own feed is whole again: publishing goes on");
            return Ok(false);
        }
        Ok(true)
    }

    /// Whether my head, every node of my trees and every message of my feed are here. With no
    /// head at all after damage, that head may be what was lost: only peers can tell.
    fn own_feed_whole(&self, damaged: bool) -> Result<bool, NodeError> {
        let Some(head) = self.store.head(&self.me)? else {
            return Ok(!damaged);
        };
        for index in Index::ALL {
            if self
                .trees
                .tree_nodes(&head.head().roots.get(index))
                .is_err()
            {
                return Ok(false);
            }
        }
        let mut ids = Vec::new();
        let all = Query::new(KeyRange::all());
        for entry in self.trees.range(&head.head().roots.messages, all) {
            ids.push(id_of(&entry?.1)?);
        }
        Ok(self.store.held_bodies(&ids)?.into_iter().all(|h| h))
    }
}

impl Node {
    /// The user's settings.
    pub fn settings(&self) -> Result<LocalSettings, NodeError> {
        Ok(self.store.settings()?)
    }

    /// Changes the user's settings in one transaction; returns them as changed.
    pub fn update_settings(
        &self,
        change: impl FnOnce(&mut LocalSettings),
    ) -> Result<LocalSettings, NodeError> {
        Ok(self.store.update_settings(change)?)
    }

    /// Records how to reach a peer (its ticket) in the address cache.
    pub fn remember_peer(&self, ticket: &Ticket) -> Result<(), NodeError> {
        Ok(self
            .store
            .set_peer(&ticket.0.id, ticket.to_string().as_bytes())?)
    }

    /// Every peer whose address is cached, with its ticket.
    pub fn known_peers(&self) -> Result<Vec<(PublicKey, Ticket)>, NodeError> {
        Ok(self
            .store
            .peers()?
            .into_iter()
            .filter_map(|(k, v)| {
                let t: Ticket = std::str::from_utf8(&v).ok()?.parse().ok()?;
                Some((k, t))
            })
            .collect())
    }

    /// Mutes `who`: local and private (nothing is published, no peer can tell). Their posts
    /// leave Home and their mentions and replies the notifications; their profile still
    /// shows them. Whether that changed anything.
    pub fn mute(&self, who: PublicKey) -> Result<bool, NodeError> {
        if who == self.me {
            return Err(NodeError::NotAllowed("you cannot mute yourself"));
        }
        Ok(self.store.set_muted(Muted::Person(who), true)?)
    }

    /// Unmutes `who`; whether they were muted.
    pub fn unmute(&self, who: PublicKey) -> Result<bool, NodeError> {
        Ok(self.store.set_muted(Muted::Person(who), false)?)
    }

    /// Mutes the thread of `message` (the thread it replies in, or the one it starts): its
    /// mentions and replies leave the notifications. Local and private, as [`Node::mute`].
    /// Returns the thread's root.
    pub fn mute_thread(&self, message: &MessageId) -> Result<MessageId, NodeError> {
        let root = self.thread_root(message)?;
        self.store.set_muted(Muted::Thread(root), true)?;
        Ok(root)
    }

    /// Unmutes the thread of `message`; returns the thread's root.
    pub fn unmute_thread(&self, message: &MessageId) -> Result<MessageId, NodeError> {
        let root = self.thread_root(message)?;
        self.store.set_muted(Muted::Thread(root), false)?;
        Ok(root)
    }

    /// Bookmarks a message held here: local and private, as a mute is. Whether it was not
    /// bookmarked yet.
    pub fn bookmark(&self, id: &MessageId) -> Result<bool, NodeError> {
        if self.store.body(id)?.is_none() {
            return Err(NodeError::UnknownMessage(*id));
        }
        Ok(self.store.set_bookmark(id, Some(crate::now_ms()))?)
    }

    /// Removes a bookmark; whether there was one.
    pub fn unbookmark(&self, id: &MessageId) -> Result<bool, NodeError> {
        Ok(self.store.set_bookmark(id, None)?)
    }

    /// Everything muted here, people first.
    pub fn muted(&self) -> Result<Vec<Muted>, NodeError> {
        Ok(self.store.muted()?)
    }

    /// The root of the thread `message` is in: the root its reply names, or itself. A thread
    /// root not held is still a root (its replies may be).
    fn thread_root(&self, message: &MessageId) -> Result<MessageId, NodeError> {
        match self
            .store
            .body(message)?
            .map(|m| m.message().content.clone())
        {
            Some(rookery_feed::Content::Post(rookery_feed::Post { reply: Some(r), .. })) => {
                Ok(r.root)
            }
            Some(_) => Ok(*message),
            None => Err(NodeError::UnknownMessage(*message)),
        }
    }

    /// The authors the local identity blocked.
    pub fn blocked(&self) -> Result<HashSet<PublicKey>, NodeError> {
        Ok(self.store.blocked()?.into_iter().collect())
    }

    /// The last root of `author`'s `index` known to be held in full (the empty tree at first).
    pub fn backfilled(&self, author: &PublicKey, index: Index) -> Result<Hash, NodeError> {
        Ok(self.store.backfilled(author, index)?.unwrap_or(EMPTY_ROOT))
    }

    /// Records that `author`'s `index` is held in full at `root`.
    pub(crate) fn set_backfilled(
        &self,
        author: &PublicKey,
        index: Index,
        root: &Hash,
    ) -> Result<(), NodeError> {
        Ok(self.store.set_backfilled(author, index, root)?)
    }

    /// Whether every index of `author`'s current head is held in full, bodies included.
    pub fn is_complete(&self, author: &PublicKey) -> Result<bool, NodeError> {
        let Some(head) = self.store.head(author)? else {
            return Ok(false);
        };
        for index in Index::ALL {
            if self.backfilled(author, index)? != head.head().roots.get(index) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
