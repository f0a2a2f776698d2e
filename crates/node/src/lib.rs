//! Rookery's application core. One [`Node`] is the local identity, its redb store and every
//! author's feed held there; it is the one API that the CLI, the desktop app, the HTTP server
//! and the tests call. Types handed out live in [`api`].
//!
//! Reads are computed from the per-author Prolly indexes: the timeline is a k-way merge of
//! reverse range scans of the `messages` indexes of the authors followed; a thread gathers the
//! `replies` ranges of every author held; notifications are the diff of each author's
//! last-seen `mentions` root against the current one, restricted to the local key's range.
#![deny(missing_docs, unreachable_pub)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod api;
pub mod app;
mod bundle;
mod demo;
mod error;
mod mentions;
mod net;
pub mod synth;

pub use net::{FIRST_SCREEN, MAX_AVATAR_BYTES, NetConfig, Network};
pub use rookery_sync::{Limits, NetOptions, Ticket};

use std::collections::{BinaryHeap, HashMap, HashSet};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use api::{
    Event, MessageView, Notification, NotificationEntry, NotificationKind, Notifications, Page,
    Person, Profile, Thread, Unread,
};
pub use bundle::{Bundle, MAX_BUNDLE_BYTES};
pub use error::NodeError;
use rookery_feed::{
    About, Content, Head, Index, Message, MessageId, Post, PublicKey, Roots, SecretKey, SignedHead,
    SignedMessage, index_edits, keys,
};
use rookery_prolly::{Change, Hash, KeyRange, NodeBytes, Prolly, Query};
pub use rookery_store::Imported;
use rookery_store::{Published, Store};
use tokio::sync::broadcast;

/// The key file in the data directory: 64 hex digits, mode 0600.
pub const KEY_FILE: &str = "secret.key";
/// The database file in the data directory.
pub const DB_FILE: &str = "rookery.redb";

/// The local node.
pub struct Node {
    dir: PathBuf,
    key: SecretKey,
    me: PublicKey,
    store: Arc<Store>,
    trees: Prolly<Arc<Store>>,
    events: broadcast::Sender<Event>,
    /// The author of every head that changes (published or imported): what sync subscribers
    /// are told.
    changes: broadcast::Sender<PublicKey>,
    /// Publishing reads the head and writes the next one: one at a time.
    publishing: Mutex<()>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("dir", &self.dir)
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> NodeError {
    let path = path.display().to_string();
    move |source| NodeError::Io { what, path, source }
}

/// Reads the key file, or creates it (mode 0600) with a new key.
fn load_or_create_key(dir: &Path) -> Result<SecretKey, NodeError> {
    let path = dir.join(KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_secret(text.trim()).ok_or(NodeError::BadKeyFile {
            path: path.display().to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SecretKey::generate();
            write_key_file(&path, &key)?;
            Ok(key)
        }
        Err(e) => Err(io("reading the key file", &path)(e)),
    }
}

/// A secret key as 24 BIP-39 words (its 32 bytes as entropy).
pub fn key_words(secret: &[u8; 32]) -> String {
    bip39::Mnemonic::from_entropy(secret)
        .map(|m| m.to_string())
        .unwrap_or_default()
}

/// Parses a secret key written as 64 hex digits.
pub fn parse_secret(text: &str) -> Option<SecretKey> {
    Hash::from_hex(text).map(|h| SecretKey::from_bytes(&h.0))
}

/// Writes a secret key as 64 hex digits to a new file readable by its owner only. The key is
/// written to a temporary file, synced, and renamed into place, so a crash never leaves a
/// half-written key file; an existing file is never replaced.
pub fn write_key_file(path: &Path, key: &SecretKey) -> Result<(), NodeError> {
    use std::io::Write;
    if path.exists() {
        return Err(io("creating the key file", path)(
            std::io::ErrorKind::AlreadyExists.into(),
        ));
    }
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&tmp).map_err(io("creating the key file", &tmp))?;
    writeln!(f, "{}", Hash(key.to_bytes()).to_hex()).map_err(io("writing the key file", &tmp))?;
    f.sync_all().map_err(io("syncing the key file", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("moving the key file into place", path))?;
    if let Some(parent) = path.parent()
        && let Ok(d) = std::fs::File::open(parent)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The message id an index value holds; anything else is bad data from the index's author.
fn id_of(value: &[u8]) -> Result<MessageId, NodeError> {
    value
        .try_into()
        .map(MessageId)
        .map_err(|_| NodeError::BadIndexValue)
}

/// A page position: the last item's messages key and author.
fn encode_cursor(key: &[u8], author: &PublicKey) -> String {
    let mut b = key.to_vec();
    b.extend_from_slice(author.as_bytes());
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn decode_cursor(s: &str) -> Result<(Vec<u8>, [u8; 32]), NodeError> {
    if s.len() != 96 || !s.is_ascii() {
        return Err(NodeError::BadCursor);
    }
    let bytes: Vec<u8> = (0..48)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16))
        .collect::<Result<_, _>>()
        .map_err(|_| NodeError::BadCursor)?;
    let mut author = [0u8; 32];
    author.copy_from_slice(&bytes[16..]);
    Ok((bytes[..16].to_vec(), author))
}

impl Node {
    /// Opens the node whose data lives in `dir`, creating the directory, the identity and the
    /// database on first start.
    pub fn open(dir: impl AsRef<Path>) -> Result<Node, NodeError> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(io("creating the data directory", &dir))?;
        let key = load_or_create_key(&dir)?;
        Self::open_with_key(dir, key)
    }

    fn open_with_key(dir: PathBuf, key: SecretKey) -> Result<Node, NodeError> {
        let store = Arc::new(Store::open(dir.join(DB_FILE))?);
        let (events, _) = broadcast::channel(1024);
        let (changes, _) = broadcast::channel(1024);
        Ok(Node {
            changes,
            me: key.public(),
            key,
            trees: Prolly::new(store.clone()),
            store,
            dir,
            events,
            publishing: Mutex::new(()),
        })
    }

    /// The local identity's public key (also its feed id and iroh endpoint id).
    pub fn id(&self) -> PublicKey {
        self.me
    }

    /// The local identity's secret key, for backups.
    pub fn secret_key(&self) -> &SecretKey {
        &self.key
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    /// The store underneath (for sync and diagnostics).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Events from now on: messages published, heads imported, notifications, sync progress.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    pub(crate) fn emit(&self, e: Event) {
        let _ = self.events.send(e);
    }

    pub(crate) fn store_arc(&self) -> Arc<Store> {
        self.store.clone()
    }

    pub(crate) fn trees(&self) -> &Prolly<Arc<Store>> {
        &self.trees
    }

    pub(crate) fn head_changes(&self) -> broadcast::Sender<PublicKey> {
        self.changes.clone()
    }

    /// The authors the local identity follows and has not blocked.
    pub fn followed(&self) -> Result<Vec<PublicKey>, NodeError> {
        let Some(me) = self.my_head()? else {
            return Ok(vec![]);
        };
        let blocked = self.blocked()?;
        Ok(self
            .follows_of(&me)?
            .into_iter()
            .filter(|a| *a != self.me && !blocked.contains(a))
            .collect())
    }

    /// Follows someone by key (64 hex digits) or by ticket; a ticket's address is remembered
    /// so the node can dial them.
    pub fn follow_address(&self, key_or_ticket: &str) -> Result<MessageView, NodeError> {
        let text = key_or_ticket.trim();
        let key = match rookery_feed::parse_key(text) {
            Ok(k) => k,
            Err(_) => {
                let ticket: Ticket = text
                    .parse()
                    .map_err(|_| NodeError::BadAddress(text.chars().take(80).collect()))?;
                self.remember_peer(&ticket)?;
                ticket.0.id
            }
        };
        if key == self.me {
            return Err(NodeError::BadAddress("that is my own key".into()));
        }
        self.follow(key)
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

    // ----- publishing -----

    /// Posts `text`; `@name` and `@key` in it become mentions.
    pub fn post(&self, text: &str) -> Result<MessageView, NodeError> {
        let mentions = mentions::resolve(text, &self.name_index()?);
        self.publish(Content::Post(Post {
            text: text.to_string(),
            mentions,
            reply: None,
        }))
    }

    /// Replies to message `parent` (its thread's root is found from it); the parent's author
    /// is mentioned, so the reply reaches them as a notification.
    pub fn reply(&self, parent: &MessageId, text: &str) -> Result<MessageView, NodeError> {
        let p = self
            .store
            .body(parent)?
            .filter(|m| self.is_current(m).unwrap_or(false))
            .ok_or(NodeError::UnknownMessage(*parent))?;
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

    /// Publishes a new profile.
    pub fn set_profile(
        &self,
        name: &str,
        bio: &str,
        avatar: Option<[u8; 32]>,
    ) -> Result<MessageView, NodeError> {
        self.publish(Content::About(About {
            name: name.to_string(),
            bio: bio.to_string(),
            avatar,
        }))
    }

    /// Follows `target`.
    pub fn follow(&self, target: PublicKey) -> Result<MessageView, NodeError> {
        self.publish(Content::Follow { target })
    }

    /// Unfollows `target`.
    pub fn unfollow(&self, target: PublicKey) -> Result<MessageView, NodeError> {
        self.publish(Content::Unfollow { target })
    }

    /// Blocks `target`: their messages leave every view here.
    pub fn block(&self, target: PublicKey) -> Result<MessageView, NodeError> {
        self.publish(Content::Block { target })
    }

    /// Likes a message.
    pub fn like(&self, target: MessageId) -> Result<MessageView, NodeError> {
        self.publish(Content::Like { target })
    }

    /// Deletes one of the local identity's messages from every index.
    pub fn delete(&self, target: MessageId) -> Result<MessageView, NodeError> {
        self.publish(Content::Delete { target })
    }

    /// Signs the next message, updates every index it touches and signs the new head; all of
    /// it is written in one transaction.
    fn publish(&self, content: Content) -> Result<MessageView, NodeError> {
        self.publish_at(content, None)
    }

    /// Publishes with a given timestamp (the demo network backdates its history); the
    /// timestamp is raised to the feed's last one if it is older, so time never goes back.
    pub(crate) fn publish_at(
        &self,
        content: Content,
        at_ms: Option<u64>,
    ) -> Result<MessageView, NodeError> {
        let _one_at_a_time = self.publishing.lock().unwrap_or_else(|e| e.into_inner());
        let held = self.store.head(&self.me)?.map(|h| h.head().clone());
        let (seq, mut roots, mut about, last_ts) = held.map_or((0, Roots::empty(), None, 0), |h| {
            (h.seq, h.roots, h.about, h.timestamp_ms)
        });
        let deleted = match &content {
            Content::Delete { target } => Some(
                self.store
                    .body(target)?
                    .ok_or(NodeError::UnknownMessage(*target))?,
            ),
            _ => None,
        };
        // Timestamps never go backwards within a feed, so `messages` order is seq order.
        let timestamp_ms = at_ms.unwrap_or_else(now_ms).max(last_ts);
        let message = SignedMessage::sign(
            Message {
                author: self.me,
                seq: seq + 1,
                timestamp_ms,
                content,
            },
            &self.key,
        )?;
        let mut edits = index_edits(
            message.message(),
            message.id(),
            deleted.as_ref().map(|d| (d.message(), d.id())),
        )?;
        if let Some(Content::Follow { target }) = deleted.as_ref().map(|d| &d.message().content) {
            // A later Follow of the same key replaced this one: deleting the old message must
            // not unfollow.
            let current = self.trees.get(&roots.follows, &keys::follow(target))?;
            if current != deleted.as_ref().map(|d| d.id().as_bytes().to_vec()) {
                edits.follows.clear();
            }
        }
        // The feed before this message (stored); the new trees exist only in `nodes` until the
        // publish commits.
        let before = roots;
        let mut nodes: Vec<NodeBytes> = Vec::new();
        for index in Index::ALL {
            let e = edits.get(index);
            if !e.is_empty() {
                let m = self.trees.mutate(&roots.get(index), e.to_vec())?;
                roots.set(index, m.root);
                nodes.extend(m.nodes);
            }
        }
        match &message.message().content {
            Content::About(_) => about = Some(message.id()),
            // Deleting the current profile brings back the one before it, if any.
            Content::Delete { target } if about == Some(*target) => {
                about = self.latest_about(&before.messages, target)?;
            }
            _ => {}
        }
        let head = SignedHead::sign(
            Head {
                author: self.me,
                seq: seq + 1,
                timestamp_ms,
                roots,
                about,
            },
            &self.key,
        )?;
        let deleted_block = deleted
            .as_ref()
            .filter(|d| matches!(d.message().content, Content::Block { .. }));
        self.store.publish(&Published {
            nodes: &nodes,
            message: &message,
            head: &head,
            deleted_block,
        })?;
        let _ = self.changes.send(self.me);
        let view = MessageView::new(&message, self.name_of(&self.me)?);
        let _ = self.events.send(Event::Published {
            message: view.clone(),
        });
        Ok(view)
    }

    // ----- reading -----

    /// Lower-case known names → keys, for resolving `@name`. Where several authors share a
    /// name, the one the local identity follows (or itself) wins; if that does not settle it,
    /// the name resolves to nobody: anyone can take any name, and a guess could mention a
    /// stranger.
    fn name_index(&self) -> Result<HashMap<String, PublicKey>, NodeError> {
        let followed: HashSet<PublicKey> = match self.my_head()? {
            Some(me) => self.follows_of(&me)?.into_iter().collect(),
            None => HashSet::new(),
        };
        let mut by_name: HashMap<String, Vec<PublicKey>> = HashMap::new();
        for (k, n) in self.names()? {
            by_name.entry(n.to_lowercase()).or_default().push(k);
        }
        let mut out = HashMap::new();
        for (name, keys) in by_name {
            let known: Vec<PublicKey> = keys
                .iter()
                .filter(|k| followed.contains(*k) || **k == self.me)
                .copied()
                .collect();
            match (keys.as_slice(), known.as_slice()) {
                ([only], _) | (_, [only]) => {
                    out.insert(name, *only);
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// The current name of every author whose profile is held.
    fn names(&self) -> Result<HashMap<PublicKey, String>, NodeError> {
        let mut out = HashMap::new();
        for h in self.store.heads()? {
            if let Some(name) = self
                .about_of(h.head())?
                .map(|a| a.name)
                .filter(|n| !n.is_empty())
            {
                out.insert(h.head().author, name);
            }
        }
        Ok(out)
    }

    fn about_of(&self, head: &Head) -> Result<Option<About>, NodeError> {
        let Some(id) = head.about else {
            return Ok(None);
        };
        Ok(self
            .store
            .body(&id)?
            .and_then(|b| match &b.message().content {
                Content::About(a) => Some(a.clone()),
                _ => None,
            }))
    }

    fn name_of(&self, author: &PublicKey) -> Result<Option<String>, NodeError> {
        let Some(h) = self.store.head(author)? else {
            return Ok(None);
        };
        Ok(self
            .about_of(h.head())?
            .map(|a| a.name)
            .filter(|n| !n.is_empty()))
    }

    /// The keys in `author`'s follow list (from the head held).
    fn follows_of(&self, head: &Head) -> Result<Vec<PublicKey>, NodeError> {
        let mut out = Vec::new();
        for entry in self
            .trees
            .range(&head.roots.follows, Query::new(KeyRange::all()))
        {
            let (k, _) = entry?;
            if let Ok(k) = <[u8; 32]>::try_from(k.as_slice())
                && let Ok(key) = PublicKey::from_bytes(&k)
            {
                out.push(key);
            }
        }
        Ok(out)
    }

    fn my_head(&self) -> Result<Option<Head>, NodeError> {
        Ok(self.store.head(&self.me)?.map(|h| h.head().clone()))
    }

    fn blocked(&self) -> Result<HashSet<PublicKey>, NodeError> {
        Ok(self.store.blocked()?.into_iter().collect())
    }

    fn body_or_missing(&self, id: &MessageId) -> Result<SignedMessage, NodeError> {
        self.store
            .body(id)?
            .ok_or(NodeError::MissingBodies(vec![*id]))
    }

    /// Newest-first posts merged from several authors' `messages` indexes, after `cursor`.
    fn merged(
        &self,
        authors: Vec<Head>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page, NodeError> {
        let after = cursor.map(decode_cursor).transpose()?;
        let names = self.names()?;
        let mut sources = Vec::new();
        for head in &authors {
            // Items come in (key, author) order, largest first; the next page starts strictly
            // below the cursor in that order.
            let end = match &after {
                None => Bound::Unbounded,
                Some((k, a)) if head.author.as_bytes() < a => Bound::Included(k.clone()),
                Some((k, _)) => Bound::Excluded(k.clone()),
            };
            let range = KeyRange {
                start: Bound::Unbounded,
                end,
            };
            sources.push(
                self.trees
                    .range(&head.roots.messages, Query::new(range).reverse()),
            );
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
            let Some((key, _, i, value)) = heap.pop() else {
                break;
            };
            let id = id_of(&value)?;
            let Some(body) = self.store.body(&id)? else {
                missing.push(id);
                if let Some(item) = sources[i].next() {
                    let (k, v) = item?;
                    heap.push((k, *authors[i].author.as_bytes(), i, v));
                }
                continue;
            };
            // An index entry counts only if it names the index author's own message at the
            // position its key says; anything else (another author's post, a copy) is skipped.
            let m = body.message();
            let genuine =
                m.author == authors[i].author && key == keys::message(m.timestamp_ms, m.seq);
            if genuine && matches!(m.content, Content::Post(_)) {
                let author = body.message().author;
                items.push(MessageView::new(&body, names.get(&author).cloned()));
            }
            last = Some((key, authors[i].author));
            if let Some(item) = sources[i].next() {
                let (k, v) = item?;
                heap.push((k, *authors[i].author.as_bytes(), i, v));
            }
        }
        if !missing.is_empty() {
            return Err(NodeError::MissingBodies(missing));
        }
        let next_cursor = match (heap.is_empty(), last) {
            (false, Some((k, a))) => Some(encode_cursor(&k, &a)),
            _ => None,
        };
        self.count_replies(&mut items)?;
        Ok(Page { items, next_cursor })
    }

    /// The home timeline: posts of the authors followed and of the local identity, newest
    /// first, `limit` at a time; blocked authors are left out.
    pub fn timeline(&self, cursor: Option<&str>, limit: usize) -> Result<Page, NodeError> {
        let blocked = self.blocked()?;
        let mut heads = Vec::new();
        if let Some(me) = self.my_head()? {
            for author in self.follows_of(&me)? {
                if !blocked.contains(&author)
                    && author != self.me
                    && let Some(h) = self.store.head(&author)?
                {
                    heads.push(h.head().clone());
                }
            }
            heads.push(me);
        }
        self.merged(heads, cursor, limit)
    }

    /// One author's posts, newest first.
    pub fn author_feed(
        &self,
        author: &PublicKey,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page, NodeError> {
        let heads = self
            .store
            .head(author)?
            .map(|h| vec![h.head().clone()])
            .unwrap_or_default();
        self.merged(heads, cursor, limit)
    }

    /// Fills in `reply_count` for the thread roots among `items`: per author held (not
    /// blocked), a count over their `replies` range of that thread, O(depth) each. An author
    /// whose replies index is not complete here yet counts what can be counted: a number to
    /// show, not a reason to fail the page.
    fn count_replies(&self, items: &mut [MessageView]) -> Result<(), NodeError> {
        let blocked = self.blocked()?;
        let heads: Vec<Head> = self
            .store
            .heads()?
            .into_iter()
            .map(|h| h.head().clone())
            .filter(|h| !blocked.contains(&h.author))
            .collect();
        for item in items.iter_mut() {
            let api::ContentView::Post { root: None, .. } = &item.content else {
                continue;
            };
            let Ok(id) = item.id.parse::<MessageId>() else {
                continue;
            };
            let range = keys::replies_in(&id);
            let mut n = 0;
            for h in &heads {
                // Unchecked entries count, but never more than the author has messages: a
                // hostile index cannot inflate the number past what its author could post.
                let c = self.trees.count(&h.roots.replies, &range).unwrap_or(0);
                n += c.min(h.seq);
            }
            item.reply_count = Some(n);
        }
        Ok(())
    }

    /// A thread: its root post and the replies in it from every author held, oldest first.
    pub fn thread(&self, root: &MessageId) -> Result<Thread, NodeError> {
        let names = self.names()?;
        let blocked = self.blocked()?;
        let view = |m: &SignedMessage| MessageView::new(m, names.get(&m.message().author).cloned());
        // A deleted root (no longer in its author's feed) is not shown.
        let root_msg = match self.store.body(root)? {
            Some(m) if self.is_current(&m)? => Some(m),
            _ => None,
        };
        let mut replies = Vec::new();
        for h in self.store.heads()? {
            let h = h.head();
            if blocked.contains(&h.author) {
                continue;
            }
            for entry in self
                .trees
                .range(&h.roots.replies, Query::new(keys::replies_in(root)))
            {
                let (_, v) = entry?;
                let id = id_of(&v)?;
                let body = self.body_or_missing(&id)?;
                // Only this author's own replies in this thread, each once.
                let in_thread = matches!(&body.message().content,
                    Content::Post(Post { reply: Some(r), .. }) if r.root == *root);
                let seen = replies.iter().any(|r: &SignedMessage| r.id() == id);
                if body.message().author == h.author && in_thread && !seen {
                    replies.push(body);
                }
            }
        }
        replies.sort_by_key(|m| {
            (
                m.message().timestamp_ms,
                m.message().seq,
                *m.message().author.as_bytes(),
            )
        });
        let replies: Vec<MessageView> = replies.iter().map(view).collect();
        let root = root_msg
            .filter(|m| !blocked.contains(&m.message().author))
            .as_ref()
            .map(|m| MessageView {
                reply_count: Some(replies.len() as u64),
                ..view(m)
            });
        Ok(Thread { root, replies })
    }

    /// An author's profile: latest About, follows, and followers among the authors held.
    pub fn profile(&self, author: &PublicKey) -> Result<Profile, NodeError> {
        let head = self.store.head(author)?.map(|h| h.head().clone());
        let about = match &head {
            Some(h) => self.about_of(h)?,
            None => None,
        };
        let follows = match &head {
            Some(h) => self.follows_of(h)?,
            None => vec![],
        };
        let mut followers = 0;
        let mut followed_by_me = false;
        for h in self.store.heads()? {
            let h = h.head();
            if h.author == *author {
                continue;
            }
            // Followers are counted among the feeds held; another author's `follows` tree
            // still arriving leaves them out of the count rather than failing the profile.
            // My own tree is always whole, so `followed_by_me` is exact.
            let follows = match self.trees.get(&h.roots.follows, &keys::follow(author)) {
                Ok(v) => v.is_some(),
                Err(rookery_prolly::Error::MissingNodes(_)) if h.author != self.me => false,
                Err(e) => return Err(e.into()),
            };
            if follows {
                followers += 1;
                followed_by_me |= h.author == self.me;
            }
        }
        Ok(Profile {
            key: rookery_feed::format_key(author),
            name: about.as_ref().map(|a| a.name.clone()),
            bio: about.as_ref().map(|a| a.bio.clone()),
            avatar: about.and_then(|a| a.avatar).map(|b| Hash(b).to_hex()),
            follows: follows.iter().map(rookery_feed::format_key).collect(),
            followers,
            followed_by_me,
            blocked_by_me: self.blocked()?.contains(author),
            seq: head.map(|h| h.seq),
        })
    }

    /// New mentions of and replies to the local identity since last marked read, newest first:
    /// for each author held, the diff of their last-seen `mentions` root against their current
    /// one, restricted to the local key's range.
    pub fn notifications(&self) -> Result<Vec<Notification>, NodeError> {
        let blocked = self.blocked()?;
        let names = self.names()?;
        let mut out = Vec::new();
        for h in self.store.heads()? {
            let h = h.head();
            if h.author == self.me || blocked.contains(&h.author) {
                continue;
            }
            let seen = self
                .store
                .last_seen(&h.author, Index::Mentions)?
                .unwrap_or_else(Prolly::<Arc<Store>>::empty_root);
            out.extend(self.mentions_between(h.author, &seen, &h.roots.mentions, &names)?);
        }
        out.sort_by(|a, b| {
            (b.message.timestamp_ms, b.message.seq).cmp(&(a.message.timestamp_ms, a.message.seq))
        });
        Ok(out)
    }

    fn mentions_between(
        &self,
        author: PublicKey,
        old: &Hash,
        new: &Hash,
        names: &HashMap<PublicKey, String>,
    ) -> Result<Vec<Notification>, NodeError> {
        let mut out = Vec::new();
        for change in self.trees.diff(old, new, keys::mentions_of(&self.me)) {
            let value = match change? {
                Change::Added { value, .. } | Change::Changed { new: value, .. } => value,
                Change::Removed { .. } => continue,
            };
            out.extend(self.notification_of(author, &value, names)?);
        }
        Ok(out)
    }

    /// The notification an entry of `author`'s mentions index makes, if it is one: a post of
    /// theirs that mentions me (anything else is not what that index may hold, and is skipped).
    fn notification_of(
        &self,
        author: PublicKey,
        value: &[u8],
        names: &HashMap<PublicKey, String>,
    ) -> Result<Option<Notification>, NodeError> {
        let id = id_of(value)?;
        let body = self.body_or_missing(&id)?;
        let mentions_me =
            matches!(&body.message().content, Content::Post(p) if p.mentions.contains(&self.me));
        if body.message().author != author || !mentions_me {
            return Ok(None);
        }
        let kind = match &body.message().content {
            Content::Post(Post { reply: Some(r), .. })
                if self
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
            message: MessageView::new(&body, names.get(&body.message().author).cloned()),
        }))
    }

    /// The latest `limit` mentions of and replies to the local identity, newest first, read or
    /// not, and how many are unread. Unread: new since "mark all read" (the root diff of
    /// [`Node::notifications`]) and not marked read one by one.
    pub fn notification_list(&self, limit: usize) -> Result<Notifications, NodeError> {
        let unread: HashSet<String> = self
            .notifications()?
            .into_iter()
            .map(|n| n.message.id)
            .filter(|id| !self.is_marked_read(id).unwrap_or(false))
            .collect();
        let blocked = self.blocked()?;
        let names = self.names()?;
        let mut all = Vec::new();
        for h in self.store.heads()? {
            let h = h.head();
            if h.author == self.me || blocked.contains(&h.author) {
                continue;
            }
            let newest = Query::new(keys::mentions_of(&self.me))
                .reverse()
                .limit(limit);
            for entry in self.trees.range(&h.roots.mentions, newest) {
                let (_, value) = entry?;
                all.extend(self.notification_of(h.author, &value, &names)?);
            }
        }
        all.sort_by(|a, b| {
            (b.message.timestamp_ms, b.message.seq).cmp(&(a.message.timestamp_ms, a.message.seq))
        });
        all.truncate(limit);
        Ok(Notifications {
            unread: unread.len() as u64,
            items: all
                .into_iter()
                .map(|n| NotificationEntry {
                    read: !unread.contains(&n.message.id),
                    kind: n.kind,
                    message: n.message,
                })
                .collect(),
        })
    }

    fn is_marked_read(&self, id: &str) -> Result<bool, NodeError> {
        Ok(self.store.setting(&format!("read/{id}"))?.is_some())
    }

    /// Marks one notification read (by its message id), or with `None` all of them.
    pub fn mark_notification_read(&self, id: Option<&MessageId>) -> Result<(), NodeError> {
        match id {
            Some(id) => Ok(self.store.set_setting(&format!("read/{id}"), b"1")?),
            None => self.mark_seen(None, &[Index::Mentions]),
        }
    }

    /// Everyone whose feed is held, plus the authors followed, less those blocked: for the
    /// people list and @-mention autocomplete.
    pub fn people(&self) -> Result<Vec<Person>, NodeError> {
        let followed: HashSet<PublicKey> = self.followed()?.into_iter().collect();
        let blocked = self.blocked()?;
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for h in self.store.heads()? {
            let h = h.head();
            if h.author == self.me || blocked.contains(&h.author) {
                continue;
            }
            seen.insert(h.author);
            let about = self.about_of(h)?;
            out.push(Person {
                key: rookery_feed::format_key(&h.author),
                name: about
                    .as_ref()
                    .map(|a| a.name.clone())
                    .filter(|n| !n.is_empty()),
                avatar: about.and_then(|a| a.avatar).map(|b| Hash(b).to_hex()),
                followed: followed.contains(&h.author),
                seq: Some(h.seq),
                updated_ms: Some(h.timestamp_ms),
            });
        }
        for k in followed.iter().filter(|k| !seen.contains(*k)) {
            out.push(Person {
                key: rookery_feed::format_key(k),
                name: None,
                avatar: None,
                followed: true,
                seq: None,
                updated_ms: None,
            });
        }
        out.sort_by(|a, b| {
            (
                b.followed,
                a.name.is_none(),
                a.name.as_ref().map(|n| n.to_lowercase()),
                &a.key,
            )
                .cmp(&(
                    a.followed,
                    b.name.is_none(),
                    b.name.as_ref().map(|n| n.to_lowercase()),
                    &b.key,
                ))
        });
        Ok(out)
    }

    /// For each author followed: how many entries their feed gained since it was last marked
    /// read, from subtree counts (O(depth) per author, nothing read in full).
    pub fn unread_counts(&self) -> Result<Vec<Unread>, NodeError> {
        let Some(me) = self.my_head()? else {
            return Ok(vec![]);
        };
        let names = self.names()?;
        let blocked = self.blocked()?;
        let mut out = Vec::new();
        for author in self
            .follows_of(&me)?
            .into_iter()
            .filter(|a| !blocked.contains(a))
        {
            let Some(h) = self.store.head(&author)? else {
                continue;
            };
            let root = h.head().roots.messages;
            let since = match self.store.last_seen(&author, Index::Messages)? {
                None => Bound::Unbounded,
                Some(seen) => match self
                    .trees
                    .range(&seen, Query::new(KeyRange::all()).reverse().limit(1))
                    .next()
                {
                    Some(item) => Bound::Excluded(item?.0),
                    None => Bound::Unbounded,
                },
            };
            let count = self.trees.count(
                &root,
                &KeyRange {
                    start: since,
                    end: Bound::Unbounded,
                },
            )?;
            out.push(Unread {
                author: rookery_feed::format_key(&author),
                name: names.get(&author).cloned(),
                count,
            });
        }
        Ok(out)
    }

    /// Marks one author (or, with `None`, every author held) as read: their current
    /// `mentions` and `messages` roots become the last seen.
    pub fn mark_read(&self, author: Option<&PublicKey>) -> Result<(), NodeError> {
        self.mark_seen(author, &[Index::Mentions, Index::Messages])
    }

    /// Makes the current roots of `indexes` the last seen, for one author or every one held.
    fn mark_seen(&self, author: Option<&PublicKey>, indexes: &[Index]) -> Result<(), NodeError> {
        let heads = match author {
            Some(a) => self.store.head(a)?.into_iter().collect(),
            None => self.store.heads()?,
        };
        let seen: Vec<_> = heads
            .iter()
            .flat_map(|h| {
                let h = h.head();
                indexes.iter().map(move |&i| (h.author, i, h.roots.get(i)))
            })
            .collect();
        Ok(self.store.set_last_seen(&seen)?)
    }

    // ----- other authors' data -----

    /// The one door through which another author's data enters: a signed head with some or all
    /// of its tree nodes and message bodies, every part verified before anything is stored.
    /// Partial data is fine: reads that meet what is missing say so.
    pub fn import(&self, bundle: &Bundle) -> Result<Imported, NodeError> {
        let head = SignedHead::decode(&bundle.head)?;
        let nodes: Vec<NodeBytes> = bundle
            .nodes
            .iter()
            .map(|b| NodeBytes {
                id: Hash::of_node(b),
                bytes: b.clone(),
            })
            .collect();
        let bodies = bundle
            .bodies
            .iter()
            .map(|b| SignedMessage::decode(b))
            .collect::<Result<Vec<_>, _>>()?;
        self.import_checked(&head, &nodes, &bodies)
    }

    /// [`Node::import`] of parts already decoded: the head and the bodies checked against
    /// their signatures (by their decoders), the nodes as they came. The store checks the
    /// nodes, the bodies' author and the head against the one held.
    pub(crate) fn import_checked(
        &self,
        head: &SignedHead,
        nodes: &[NodeBytes],
        bodies: &[SignedMessage],
    ) -> Result<Imported, NodeError> {
        let author = head.head().author;
        let before = self.store.head(&author)?.map(|h| h.head().roots.mentions);
        let imported = self.store.import(head, nodes, bodies)?;
        if imported.update != rookery_feed::HeadUpdate::Same {
            let _ = self.changes.send(author);
            let _ = self.events.send(Event::HeadImported {
                author: rookery_feed::format_key(&author),
                seq: head.head().seq,
            });
            if author != self.me {
                let old = before.unwrap_or_else(Prolly::<Arc<Store>>::empty_root);
                // Partial data may not reach every new mention yet; those are reported once
                // their nodes arrive (by `notifications`), so a failure here is not an error.
                let blocked = self.blocked()?.contains(&author);
                let found = self.names().and_then(|names| {
                    self.mentions_between(author, &old, &head.head().roots.mentions, &names)
                });
                if let (false, Ok(found)) = (blocked, found) {
                    for n in found {
                        let _ = self.events.send(Event::Notification { notification: n });
                    }
                }
            }
        }
        Ok(imported)
    }

    /// Everything held of `author`'s feed as a bundle: the head, every node of its indexes
    /// and the body of every message in its `messages` index.
    pub fn export(&self, author: &PublicKey) -> Result<Bundle, NodeError> {
        let head = self
            .store
            .head(author)?
            .ok_or(NodeError::BadBundle("no head held for this author"))?;
        let mut nodes = Vec::new();
        for index in Index::ALL {
            nodes.extend(
                self.trees
                    .tree_nodes(&head.head().roots.get(index))?
                    .into_iter()
                    .map(|n| n.bytes),
            );
        }
        let mut bodies = Vec::new();
        for entry in self
            .trees
            .range(&head.head().roots.messages, Query::new(KeyRange::all()))
        {
            let (_, v) = entry?;
            let id = id_of(&v)?;
            if let Some(b) = self.store.body(&id)? {
                bodies.push(b.bytes().to_vec());
            }
        }
        Ok(Bundle {
            head: head.bytes().to_vec(),
            nodes,
            bodies,
        })
    }

    /// The newest About message in the local feed under `messages`, other than `except`.
    fn latest_about(
        &self,
        messages: &Hash,
        except: &MessageId,
    ) -> Result<Option<MessageId>, NodeError> {
        for entry in self
            .trees
            .range(messages, Query::new(KeyRange::all()).reverse())
        {
            let id = id_of(&entry?.1)?;
            if id != *except
                && let Some(m) = self.store.body(&id)?
                && matches!(m.message().content, Content::About(_))
            {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// Whether `m` is still in its author's feed (not deleted), per the head held.
    fn is_current(&self, m: &SignedMessage) -> Result<bool, NodeError> {
        let msg = m.message();
        let Some(h) = self.store.head(&msg.author)? else {
            return Ok(false);
        };
        let key = keys::message(msg.timestamp_ms, msg.seq);
        let held = self.trees.get(&h.head().roots.messages, &key)?;
        Ok(held.as_deref() == Some(m.id().as_bytes().as_slice()))
    }

    /// The signed message `id`, if held and not deleted.
    pub fn message(&self, id: &MessageId) -> Result<Option<MessageView>, NodeError> {
        let Some(m) = self
            .store
            .body(id)?
            .filter(|m| self.is_current(m).unwrap_or(false))
        else {
            return Ok(None);
        };
        Ok(Some(MessageView::new(
            &m,
            self.name_of(&m.message().author)?,
        )))
    }
}
