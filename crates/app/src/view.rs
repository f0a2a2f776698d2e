//! The types the UI sees: plain, serializable views, converted from the node's domain types at
//! this one boundary ("the API is the view"). Their TypeScript twins in
//! `ui/src/lib/backend/generated.ts` are generated from these (`tests/generated.rs` fails when
//! they drift).
//!
//! Keys, message ids and blob hashes are 64 lower-case hex digits ([`crate::hex`]); times are
//! milliseconds since the Unix epoch.

use rookery_feed::{Content, SignedMessage};
use rookery_node::net::Fetching;
use rookery_node::{Item, PeerState};
use serde::Serialize;
use ts_rs::TS;

use crate::hex::{format_hash, format_id, format_key};

/// A message as shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
pub struct MessageView {
    /// Message id.
    pub id: String,
    /// Author key.
    pub author: String,
    /// The author's name, if their profile is held.
    pub author_name: Option<String>,
    /// The author's seq.
    pub seq: u64,
    /// When the author says they wrote it.
    pub timestamp_ms: u64,
    /// What it says.
    pub content: ContentView,
    /// For a thread's first post in a page or a thread: the replies in its thread held here.
    /// `null` elsewhere.
    pub reply_count: Option<u64>,
}

/// A message's content, as shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentView {
    /// A post, perhaps a reply.
    Post {
        /// Markdown text (untrusted: render it through a sanitizer).
        text: String,
        /// The keys it mentions.
        mentions: Vec<String>,
        /// The thread's first post, for a reply.
        root: Option<String>,
        /// The post replied to, for a reply.
        parent: Option<String>,
    },
    /// A profile.
    About {
        /// Display name.
        name: String,
        /// A few lines about the author.
        bio: String,
        /// The avatar's blob hash.
        avatar: Option<String>,
    },
    /// The author followed someone.
    Follow {
        /// The key followed.
        target: String,
    },
    /// The author stopped following someone.
    Unfollow {
        /// The key no longer followed.
        target: String,
    },
    /// The author liked a message.
    Like {
        /// The message liked.
        target: String,
    },
    /// The author blocked someone.
    Block {
        /// The key blocked.
        target: String,
    },
    /// The author withdrew one of their messages.
    Delete {
        /// The message withdrawn.
        target: String,
    },
}

impl ContentView {
    fn of(content: &Content) -> Self {
        match content {
            Content::Post(p) => ContentView::Post {
                text: p.text.clone(),
                mentions: p.mentions.iter().map(format_key).collect(),
                root: p.reply.map(|r| format_id(&r.root)),
                parent: p.reply.map(|r| format_id(&r.parent)),
            },
            Content::About(a) => ContentView::About {
                name: a.name.clone(),
                bio: a.bio.clone(),
                avatar: a.avatar.as_ref().map(format_hash),
            },
            Content::Follow { target } => ContentView::Follow {
                target: format_key(target),
            },
            Content::Unfollow { target } => ContentView::Unfollow {
                target: format_key(target),
            },
            Content::Like { target } => ContentView::Like {
                target: format_id(target),
            },
            Content::Block { target } => ContentView::Block {
                target: format_key(target),
            },
            Content::Delete { target } => ContentView::Delete {
                target: format_id(target),
            },
        }
    }
}

impl MessageView {
    /// `m` as shown, with its author's name.
    pub fn of(m: &SignedMessage, author_name: Option<String>) -> Self {
        let msg = m.message();
        MessageView {
            id: format_id(&m.id()),
            author: format_key(&msg.author),
            author_name,
            seq: msg.seq,
            timestamp_ms: msg.timestamp_ms,
            content: ContentView::of(&msg.content),
            reply_count: None,
        }
    }
}

impl From<&Item> for MessageView {
    fn from(i: &Item) -> Self {
        MessageView {
            reply_count: i.reply_count,
            ..MessageView::of(&i.message, i.author_name.clone())
        }
    }
}

/// One page of a feed, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
pub struct Page {
    /// The posts.
    pub items: Vec<MessageView>,
    /// Pass this to get the next page; `null` at the end.
    pub next_cursor: Option<String>,
}

impl From<&rookery_node::Page> for Page {
    fn from(p: &rookery_node::Page) -> Self {
        Page {
            items: p.items.iter().map(MessageView::from).collect(),
            next_cursor: p.next.as_ref().map(crate::hex::format_cursor),
        }
    }
}

/// A thread: its first post and the replies held, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
pub struct Thread {
    /// The root post, if held.
    pub root: Option<MessageView>,
    /// Replies, oldest first.
    pub replies: Vec<MessageView>,
    /// Whether I muted this thread (its mentions and replies are not notified).
    pub muted: bool,
}

impl From<&rookery_node::Thread> for Thread {
    fn from(t: &rookery_node::Thread) -> Self {
        Thread {
            root: t.root.as_ref().map(MessageView::from),
            replies: t.replies.iter().map(MessageView::from).collect(),
            muted: t.muted,
        }
    }
}

/// What I muted (here only; nothing is published).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, TS)]
pub struct Muted {
    /// The people muted, by name.
    pub people: Vec<Person>,
    /// The threads muted.
    pub threads: Vec<MutedThread>,
}

/// A thread muted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
pub struct MutedThread {
    /// The thread's root message id.
    pub root: String,
    /// Its root post, where it is held.
    pub post: Option<MessageView>,
}

/// A profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
pub struct Profile {
    /// Their key.
    pub key: String,
    /// Name from the latest About, if any.
    pub name: Option<String>,
    /// Bio from the latest About.
    pub bio: Option<String>,
    /// Avatar blob hash.
    pub avatar: Option<String>,
    /// Keys they follow.
    pub follows: Vec<String>,
    /// Authors held here who follow them.
    pub followers: u64,
    /// Whether I follow them.
    pub followed_by_me: bool,
    /// Whether I blocked them.
    pub blocked_by_me: bool,
    /// Whether I muted them (local and private).
    pub muted_by_me: bool,
    /// Messages they published (their head's seq), if their head is held.
    pub seq: Option<u64>,
}

impl From<&rookery_node::Profile> for Profile {
    fn from(p: &rookery_node::Profile) -> Self {
        Profile {
            key: format_key(&p.key),
            name: p.about.as_ref().map(|a| a.name.clone()),
            bio: p.about.as_ref().map(|a| a.bio.clone()),
            avatar: p
                .about
                .as_ref()
                .and_then(|a| a.avatar.as_ref().map(format_hash)),
            follows: p.follows.iter().map(format_key).collect(),
            followers: p.followers,
            followed_by_me: p.followed_by_me,
            blocked_by_me: p.blocked_by_me,
            muted_by_me: p.muted_by_me,
            seq: p.seq,
        }
    }
}

/// Someone known here: a feed held or an author followed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
pub struct Person {
    /// Their key.
    pub key: String,
    /// Their name, if their profile is held.
    pub name: Option<String>,
    /// Avatar blob hash.
    pub avatar: Option<String>,
    /// Whether I follow them.
    pub followed: bool,
    /// Their latest seq held.
    pub seq: Option<u64>,
    /// The time of their latest message held.
    pub updated_ms: Option<u64>,
}

impl From<&rookery_node::Person> for Person {
    fn from(p: &rookery_node::Person) -> Self {
        Person {
            key: format_key(&p.key),
            name: p
                .about
                .as_ref()
                .map(|a| a.name.clone())
                .filter(|n| !n.is_empty()),
            avatar: p
                .about
                .as_ref()
                .and_then(|a| a.avatar.as_ref().map(format_hash)),
            followed: p.followed,
            seq: p.seq,
            updated_ms: p.updated_ms,
        }
    }
}

/// Unread posts of one followed author.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
pub struct Unread {
    /// The author's key.
    pub author: String,
    /// Their name, if known.
    pub name: Option<String>,
    /// Entries added to their feed since last marked seen.
    pub count: u64,
}

impl From<&rookery_node::Unread> for Unread {
    fn from(u: &rookery_node::Unread) -> Self {
        Unread {
            author: format_key(&u.author),
            name: u.name.clone(),
            count: u.count,
        }
    }
}

/// Why a notification is there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A reply to one of my posts.
    Reply,
    /// A post that mentions me.
    Mention,
    /// Someone followed me.
    Follow,
}

/// A mention of, reply to, or follow of me.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
pub struct Notification {
    /// Reply, mention or follow.
    pub kind: NotificationKind,
    /// The post that mentions or replies to me, or the Follow message.
    pub message: MessageView,
    /// Whether it was read.
    pub read: bool,
}

impl From<&rookery_node::Notification> for Notification {
    fn from(n: &rookery_node::Notification) -> Self {
        Notification {
            kind: match n.kind {
                rookery_node::NotificationKind::Reply => NotificationKind::Reply,
                rookery_node::NotificationKind::Mention => NotificationKind::Mention,
                rookery_node::NotificationKind::Follow => NotificationKind::Follow,
            },
            message: MessageView::from(&n.item),
            read: n.read,
        }
    }
}

/// The latest notifications and how many are unread.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
pub struct Notifications {
    /// Newest first.
    pub items: Vec<Notification>,
    /// Unread, in all (not only among `items`).
    pub unread: u64,
    /// People whose mentions of me are still arriving (a first screen in flight): their new
    /// ones are not counted yet.
    pub pending: u64,
}

impl From<&rookery_node::Notifications> for Notifications {
    fn from(n: &rookery_node::Notifications) -> Self {
        Notifications {
            items: n.items.iter().map(Notification::from).collect(),
            unread: n.unread,
            pending: n.pending,
        }
    }
}

/// A sync session with a peer, as shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
pub struct PeerView {
    /// The peer's key.
    pub key: String,
    /// Their name, if their profile is held.
    pub name: Option<String>,
    /// Whether a session is open now.
    pub connected: bool,
    /// Bytes received from them in this session.
    pub bytes_in: u64,
    /// Bytes sent to them as requests in this session.
    pub bytes_out: u64,
    /// Requests made to them in this session.
    pub requests: u64,
    /// What is being fetched from them now, in words.
    pub fetching: Option<String>,
}

impl PeerView {
    /// `p` as shown; `name_of` names the keys it mentions.
    pub fn of(p: &PeerState, name_of: impl Fn(&rookery_feed::PublicKey) -> Option<String>) -> Self {
        let who =
            |k: &rookery_feed::PublicKey| name_of(k).unwrap_or_else(|| k.fmt_short().to_string());
        PeerView {
            key: format_key(&p.key),
            name: name_of(&p.key),
            connected: p.connected,
            bytes_in: p.bytes_in,
            bytes_out: p.bytes_out,
            requests: p.requests,
            fetching: p.fetching.map(|f| match f {
                Fetching::FirstScreen(a) => format!("newest posts of {}", who(&a)),
                Fetching::History(a, index) => format!("history of {} ({})", who(&a), index.name()),
            }),
        }
    }
}

/// Who I am.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
pub struct Me {
    /// My key.
    pub key: String,
    /// The ticket others follow me by.
    pub ticket: String,
    /// My profile.
    pub profile: Profile,
}

/// Sync status, for the status pill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
pub struct Status {
    /// The open sessions, by key.
    pub peers: Vec<PeerView>,
    /// Sessions open now.
    pub connected: u64,
    /// Whether anything is being fetched.
    pub busy: bool,
    /// Whether relays and discovery are on for this run.
    pub relays: bool,
}

/// The settings the UI can change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
pub struct Settings {
    /// Relays and discovery (off: direct addresses only).
    pub relays: bool,
    /// Desktop notifications (of the kinds below that are on).
    pub notifications: bool,
    /// Desktop notifications of mentions.
    pub notify_mentions: bool,
    /// Desktop notifications of replies.
    pub notify_replies: bool,
    /// Desktop notifications of follows.
    pub notify_follows: bool,
    /// A changed setting takes effect after a restart.
    pub restart_required: bool,
}

/// A backup of the secret key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
pub struct KeyBackup {
    /// 64 hex digits.
    pub secret: String,
    /// The same 32 bytes as 24 BIP-39 words.
    pub words: String,
}

/// An image's bytes and media type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob {
    /// The image's bytes.
    pub bytes: Vec<u8>,
    /// The media type, from the bytes.
    pub mime: &'static str,
}

/// What the node reports as it happens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// I published a message.
    Published {
        /// The message I published.
        message: MessageView,
    },
    /// Another author's newer head was taken in.
    HeadImported {
        /// The author's key.
        author: String,
        /// Their new seq.
        seq: u64,
    },
    /// A new mention of, or reply to, me arrived.
    Notification {
        /// The notification (unread).
        notification: Notification,
    },
    /// Sync progress with one peer: connected or not, bytes moved, what is being fetched.
    Peer {
        /// The peer's state now.
        peer: PeerView,
    },
}
