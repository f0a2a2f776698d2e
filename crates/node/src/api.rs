//! The types the node hands to its callers (CLI, desktop app, HTTP server): plain, serializable
//! views, converted from feed types at this one boundary.

use rookery_feed::{Content, SignedMessage, format_key};
use serde::Serialize;

/// A message as shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MessageView {
    /// Message id, 64 hex digits.
    pub id: String,
    /// Author key, 64 hex digits.
    pub author: String,
    /// The author's name, if their profile is held.
    pub author_name: Option<String>,
    /// The author's seq.
    pub seq: u64,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// What it is.
    pub content: ContentView,
    /// For a thread's first post in a timeline or thread: the replies in its thread held here
    /// (from the `replies` index of every author held, by subtree counts). `None` elsewhere.
    pub reply_count: Option<u64>,
}

/// A message's content, as shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentView {
    /// A post.
    Post {
        /// Markdown text (untrusted).
        text: String,
        /// Mentioned keys.
        mentions: Vec<String>,
        /// Thread root id, for a reply.
        root: Option<String>,
        /// Parent id, for a reply.
        parent: Option<String>,
    },
    /// A profile.
    About {
        /// Name.
        name: String,
        /// Bio.
        bio: String,
        /// Avatar blob hash, hex.
        avatar: Option<String>,
    },
    /// A follow.
    Follow {
        /// Whom.
        target: String,
    },
    /// An unfollow.
    Unfollow {
        /// Whom.
        target: String,
    },
    /// A like.
    Like {
        /// Which message.
        target: String,
    },
    /// A block.
    Block {
        /// Whom.
        target: String,
    },
    /// A delete.
    Delete {
        /// Which message.
        target: String,
    },
}

impl MessageView {
    pub(crate) fn new(m: &SignedMessage, author_name: Option<String>) -> Self {
        let msg = m.message();
        let hex = |b: &[u8; 32]| rookery_prolly::Hash(*b).to_hex();
        let content = match &msg.content {
            Content::Post(p) => ContentView::Post {
                text: p.text.clone(),
                mentions: p.mentions.iter().map(format_key).collect(),
                root: p.reply.map(|r| r.root.to_string()),
                parent: p.reply.map(|r| r.parent.to_string()),
            },
            Content::About(a) => ContentView::About {
                name: a.name.clone(),
                bio: a.bio.clone(),
                avatar: a.avatar.as_ref().map(hex),
            },
            Content::Follow { target } => ContentView::Follow {
                target: format_key(target),
            },
            Content::Unfollow { target } => ContentView::Unfollow {
                target: format_key(target),
            },
            Content::Like { target } => ContentView::Like {
                target: target.to_string(),
            },
            Content::Block { target } => ContentView::Block {
                target: format_key(target),
            },
            Content::Delete { target } => ContentView::Delete {
                target: target.to_string(),
            },
        };
        MessageView {
            id: m.id().to_string(),
            author: format_key(&msg.author),
            author_name,
            seq: msg.seq,
            timestamp_ms: msg.timestamp_ms,
            content,
            reply_count: None,
        }
    }
}

/// One page of a feed, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Page {
    /// The messages.
    pub items: Vec<MessageView>,
    /// Pass this to get the next page; `None` at the end.
    pub next_cursor: Option<String>,
}

/// A thread: its first post and the replies held, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Thread {
    /// The root post, if held.
    pub root: Option<MessageView>,
    /// Replies, oldest first.
    pub replies: Vec<MessageView>,
}

/// A profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Profile {
    /// Key, 64 hex digits.
    pub key: String,
    /// Name from the latest About, if any.
    pub name: Option<String>,
    /// Bio from the latest About.
    pub bio: Option<String>,
    /// Avatar blob hash, hex.
    pub avatar: Option<String>,
    /// Keys this author follows.
    pub follows: Vec<String>,
    /// Authors held here who follow this one.
    pub followers: u64,
    /// Whether the local identity follows this author.
    pub followed_by_me: bool,
    /// Whether the local identity blocked this author.
    pub blocked_by_me: bool,
    /// Messages published (the head's seq), if the head is held.
    pub seq: Option<u64>,
}

/// Why a notification is there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A reply to one of my posts.
    Reply,
    /// A post that mentions me.
    Mention,
}

/// A new mention of, or reply to, the local identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// Reply or mention.
    pub kind: NotificationKind,
    /// The message.
    pub message: MessageView,
}

/// Unread posts of one followed author.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unread {
    /// The author's key.
    pub author: String,
    /// Their name, if known.
    pub name: Option<String>,
    /// Entries added to their feed since last marked read.
    pub count: u64,
}

/// What the node reports as it happens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The local identity published a message.
    Published {
        /// The message.
        message: MessageView,
    },
    /// Another author's newer head was taken in.
    HeadImported {
        /// The author.
        author: String,
        /// Their new seq.
        seq: u64,
    },
    /// A new mention or reply to the local identity arrived.
    Notification {
        /// It.
        notification: Notification,
    },
    /// Sync progress with one peer: connected or not, bytes moved, what is being fetched.
    Peer {
        /// The peer's state now.
        peer: PeerView,
    },
}

/// A sync session with a peer, as shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
    /// What is being fetched from them now, if anything.
    pub fetching: Option<String>,
}

/// A notification in the list, read or not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotificationEntry {
    /// Reply or mention.
    pub kind: NotificationKind,
    /// The message.
    pub message: MessageView,
    /// Whether it was marked read.
    pub read: bool,
}

/// The latest notifications and how many are unread.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Notifications {
    /// Newest first.
    pub items: Vec<NotificationEntry>,
    /// Unread, in all (not only among `items`).
    pub unread: u64,
}

/// Someone known here: a feed held or an author followed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Person {
    /// Key, 64 hex digits.
    pub key: String,
    /// Name, if their profile is held.
    pub name: Option<String>,
    /// Avatar blob hash, hex.
    pub avatar: Option<String>,
    /// Whether the local identity follows them.
    pub followed: bool,
    /// Their latest seq held.
    pub seq: Option<u64>,
    /// The time of their latest message held, ms since the Unix epoch.
    pub updated_ms: Option<u64>,
}

/// The local identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Me {
    /// Key, 64 hex digits.
    pub key: String,
    /// The ticket others follow me by.
    pub ticket: String,
    /// My profile.
    pub profile: Profile,
}

/// Sync status, for the status pill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Status {
    /// Sessions.
    pub peers: Vec<PeerView>,
    /// Sessions open now.
    pub connected: u64,
    /// Whether anything is being fetched.
    pub busy: bool,
    /// Whether relays and discovery are on for this run.
    pub relays: bool,
}

/// The settings the UI can change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// Relays and discovery (off: direct addresses only).
    pub relays: bool,
    /// Desktop notifications of new mentions and replies.
    pub notifications: bool,
    /// A changed setting takes effect after a restart.
    pub restart_required: bool,
}

/// A backup of the secret key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyBackup {
    /// 64 hex digits.
    pub secret: String,
    /// The same 32 bytes as 24 BIP-39 words.
    pub words: String,
}
