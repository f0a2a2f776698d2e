//! Reads, computed from the per-author Prolly indexes: the timeline is a k-way merge of reverse
//! range scans of the followed authors' `messages` indexes (`timeline.rs`); a thread gathers the
//! `replies` ranges of every author held (`thread.rs`); profiles and the people list read the
//! `follows` trees and the latest About (`people.rs`); notifications are root diffs of each
//! author's `mentions` index on the local key's range (`notify.rs`).
//!
//! Every read builds one [`Ctx`] and asks it for what it needs: who I am and my head, who is
//! blocked, the heads held (read once, and only if asked for), and names (read per author, once,
//! only for the authors a read shows).

mod notify;
mod people;
mod thread;
mod timeline;

pub use notify::{Notification, NotificationKind, Notifications};
pub use people::{Mutes, Person, Profile, Unread};
pub use thread::Thread;
pub use timeline::{Cursor, Page};

use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, HashSet};

use rookery_feed::{About, Content, Head, MessageId, PublicKey, SignedMessage, keys};
use rookery_prolly::{KeyRange, Query};
use rookery_store::Muted;

use crate::{Node, NodeError};

/// A message as a read shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The signed message.
    pub message: SignedMessage,
    /// Its author's name, if their profile is held and names them.
    pub author_name: Option<String>,
    /// For a thread's first post in a page or a thread: the replies in its thread held here
    /// (from the `replies` index of every author held, by subtree counts). `None` elsewhere.
    pub reply_count: Option<u64>,
}

/// What one read knows, built once per call.
pub(crate) struct Ctx<'a> {
    pub(crate) node: &'a Node,
    pub(crate) me: PublicKey,
    my_head: Option<Head>,
    blocked: HashSet<PublicKey>,
    /// People muted here: left out of Home, the notifications and the unread counts.
    muted_people: HashSet<PublicKey>,
    /// Threads muted here (by root): left out of the notifications.
    muted_threads: HashSet<MessageId>,
    /// Every head held whose author is not blocked, mine included.
    heads: OnceCell<Vec<Head>>,
    /// The authors I follow (from my own `follows` tree).
    followed: OnceCell<HashSet<PublicKey>>,
    names: RefCell<HashMap<PublicKey, Option<String>>>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(node: &'a Node) -> Result<Self, NodeError> {
        let (mut muted_people, mut muted_threads) = (HashSet::new(), HashSet::new());
        for m in node.store.muted()? {
            match m {
                Muted::Person(k) => muted_people.insert(k),
                Muted::Thread(t) => muted_threads.insert(t),
            };
        }
        Ok(Ctx {
            node,
            me: node.me,
            my_head: node.store.head(&node.me)?.map(|h| h.head().clone()),
            blocked: node.blocked()?,
            muted_people,
            muted_threads,
            heads: OnceCell::new(),
            followed: OnceCell::new(),
            names: RefCell::default(),
        })
    }

    /// My head, if I have published anything.
    pub(crate) fn my_head(&self) -> Option<&Head> {
        self.my_head.as_ref()
    }

    pub(crate) fn is_blocked(&self, author: &PublicKey) -> bool {
        self.blocked.contains(author)
    }

    /// Whether the local identity muted `author` (never myself).
    pub(crate) fn is_muted(&self, author: &PublicKey) -> bool {
        self.muted_people.contains(author)
    }

    /// Whether the local identity muted the thread whose root is `root`.
    pub(crate) fn is_muted_thread(&self, root: &MessageId) -> bool {
        self.muted_threads.contains(root)
    }

    /// Every head held whose author is not blocked, mine included.
    pub(crate) fn heads(&self) -> Result<&[Head], NodeError> {
        if self.heads.get().is_none() {
            let heads: Vec<Head> = self
                .node
                .store
                .heads()?
                .into_iter()
                .map(|h| h.head().clone())
                .filter(|h| !self.blocked.contains(&h.author))
                .collect();
            let _ = self.heads.set(heads);
        }
        Ok(self.heads.get().map_or(&[], Vec::as_slice))
    }

    /// Every head held of someone else, not blocked.
    pub(crate) fn others(&self) -> Result<impl Iterator<Item = &Head>, NodeError> {
        let me = self.me;
        Ok(self.heads()?.iter().filter(move |h| h.author != me))
    }

    /// The authors I follow and have not blocked (never myself).
    pub(crate) fn followed(&self) -> Result<&HashSet<PublicKey>, NodeError> {
        if self.followed.get().is_none() {
            let mut set = HashSet::new();
            if let Some(me) = &self.my_head {
                set = follows_of(self.node, me)?
                    .into_iter()
                    .filter(|a| *a != self.me && !self.blocked.contains(a))
                    .collect();
            }
            let _ = self.followed.set(set);
        }
        Ok(self
            .followed
            .get()
            .unwrap_or_else(|| unreachable!("set above")))
    }

    /// The held head of one author.
    pub(crate) fn head_of(&self, author: &PublicKey) -> Result<Option<Head>, NodeError> {
        if *author == self.me {
            return Ok(self.my_head.clone());
        }
        Ok(self.node.store.head(author)?.map(|h| h.head().clone()))
    }

    /// The current name of `author`, read from their latest About once per read.
    pub(crate) fn name_of(&self, author: &PublicKey) -> Result<Option<String>, NodeError> {
        if let Some(n) = self.names.borrow().get(author) {
            return Ok(n.clone());
        }
        let name = match self.head_of(author)? {
            Some(h) => about_of(self.node, &h)?
                .map(|a| a.name)
                .filter(|n| !n.is_empty()),
            None => None,
        };
        self.names.borrow_mut().insert(*author, name.clone());
        Ok(name)
    }

    /// `m` as shown, with its author's name.
    pub(crate) fn item(&self, m: SignedMessage) -> Result<Item, NodeError> {
        let author_name = self.name_of(&m.message().author)?;
        Ok(Item {
            message: m,
            author_name,
            reply_count: None,
        })
    }

    /// Whether `m` is still in its author's feed (not deleted), per the head held.
    pub(crate) fn is_current(&self, m: &SignedMessage) -> Result<bool, NodeError> {
        let msg = m.message();
        let Some(h) = self.head_of(&msg.author)? else {
            return Ok(false);
        };
        let key = keys::message(msg.timestamp_ms, msg.seq);
        let held = self.node.trees.get(&h.roots.messages, &key)?;
        Ok(held.as_deref() == Some(m.id().as_bytes().as_slice()))
    }

    /// The body of `id`, or an error naming it as missing.
    pub(crate) fn body(&self, id: &MessageId) -> Result<SignedMessage, NodeError> {
        self.node
            .store
            .body(id)?
            .ok_or(NodeError::MissingBodies(vec![*id]))
    }
}

/// The message id an index value holds; anything else is bad data from the index's author.
pub(crate) fn id_of(value: &[u8]) -> Result<MessageId, NodeError> {
    value
        .try_into()
        .map(MessageId)
        .map_err(|_| NodeError::BadIndexValue)
}

/// The profile `head` names, if its body is held.
pub(crate) fn about_of(node: &Node, head: &Head) -> Result<Option<About>, NodeError> {
    let Some(id) = head.about else {
        return Ok(None);
    };
    Ok(node
        .store
        .body(&id)?
        .and_then(|b| match &b.message().content {
            Content::About(a) => Some(a.clone()),
            _ => None,
        }))
}

/// The keys in the follow list under `head`. Of my own list, while a repair left it not whole
/// (until sync restores it), the part that is here.
pub(crate) fn follows_of(node: &Node, head: &Head) -> Result<Vec<PublicKey>, NodeError> {
    let mut out = Vec::new();
    for entry in node
        .trees
        .range(&head.roots.follows, Query::new(KeyRange::all()))
    {
        let (k, _) = match entry {
            Ok(e) => e,
            Err(rookery_prolly::Error::MissingNodes(_)) if head.author == node.me => break,
            Err(e) => return Err(e.into()),
        };
        if let Ok(k) = <[u8; 32]>::try_from(k.as_slice())
            && let Ok(key) = rookery_feed::public_key(k)
        {
            out.push(key);
        }
    }
    Ok(out)
}

impl Node {
    /// The authors the local identity follows and has not blocked.
    pub fn followed(&self) -> Result<Vec<PublicKey>, NodeError> {
        Ok(Ctx::new(self)?.followed()?.iter().copied().collect())
    }

    /// The current name of `author`, if their profile is held and names them.
    pub fn name_of(&self, author: &PublicKey) -> Result<Option<String>, NodeError> {
        Ctx::new(self)?.name_of(author)
    }

    /// The signed message `id`, if held and not deleted.
    pub fn message(&self, id: &MessageId) -> Result<Option<Item>, NodeError> {
        let ctx = Ctx::new(self)?;
        match self.store.body(id)? {
            Some(m) if ctx.is_current(&m)? => Ok(Some(ctx.item(m)?)),
            _ => Ok(None),
        }
    }
}
