//! The per-author indexes, their keys, and how each message changes them.
//!
//! Keys are big-endian byte strings built for range queries; every value is a message id.
//!
//! | index | key | a range of it answers |
//! |---|---|---|
//! | `messages` | timestamp_ms (8) ‖ seq (8) | the author's feed, newest last |
//! | `mentions` | mentioned key (32) ‖ timestamp_ms ‖ seq | "mentions of X" ([`keys::mentions_of`]) |
//! | `replies` | thread root id (32) ‖ timestamp_ms ‖ seq | "replies in thread T" ([`keys::replies_in`]) |
//! | `follows` | target key (32) | the author's follow list |

use rookery_prolly::Edit;
use serde::{Deserialize, Serialize};

use crate::{Content, FeedError, Message, MessageId};

/// One of an author's indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Index {
    /// timestamp ‖ seq → id.
    Messages,
    /// mentioned key ‖ timestamp ‖ seq → id.
    Mentions,
    /// thread root ‖ timestamp ‖ seq → id.
    Replies,
    /// target key → follow message id.
    Follows,
}

impl Index {
    /// Every index, in a fixed order.
    pub const ALL: [Index; 4] = [
        Index::Messages,
        Index::Mentions,
        Index::Replies,
        Index::Follows,
    ];

    /// The name used in text (CLI, storage keys, logs).
    pub fn name(self) -> &'static str {
        match self {
            Index::Messages => "messages",
            Index::Mentions => "mentions",
            Index::Replies => "replies",
            Index::Follows => "follows",
        }
    }

    /// The most entries this index can hold in a feed of `seq` messages: a message puts at most
    /// one entry in each index, but a post one per mention. What a peer may send of a tree is
    /// bounded by it.
    pub fn max_entries(self, seq: u64) -> u64 {
        let per_message = match self {
            Index::Mentions => crate::limits::MAX_MENTIONS as u64,
            Index::Messages | Index::Replies | Index::Follows => 1,
        };
        seq.saturating_mul(per_message)
    }
}

/// Key builders for the indexes.
pub mod keys {
    use iroh_base::PublicKey;
    use rookery_prolly::KeyRange;

    use crate::MessageId;

    fn time_seq(timestamp_ms: u64, seq: u64) -> [u8; 16] {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&timestamp_ms.to_be_bytes());
        k[8..].copy_from_slice(&seq.to_be_bytes());
        k
    }

    /// `messages` key.
    pub fn message(timestamp_ms: u64, seq: u64) -> Vec<u8> {
        time_seq(timestamp_ms, seq).to_vec()
    }

    /// `mentions` key.
    pub fn mention(mentioned: &PublicKey, timestamp_ms: u64, seq: u64) -> Vec<u8> {
        [
            mentioned.as_bytes().as_slice(),
            &time_seq(timestamp_ms, seq),
        ]
        .concat()
    }

    /// `replies` key.
    pub fn reply(root: &MessageId, timestamp_ms: u64, seq: u64) -> Vec<u8> {
        [root.as_bytes().as_slice(), &time_seq(timestamp_ms, seq)].concat()
    }

    /// `follows` key.
    pub fn follow(target: &PublicKey) -> Vec<u8> {
        target.as_bytes().to_vec()
    }

    /// The `mentions` keys of `key`: what a diff of mention roots is restricted to.
    pub fn mentions_of(key: &PublicKey) -> KeyRange {
        KeyRange::prefix(key.as_bytes())
    }

    /// The `follows` keys of `key`: one key, what a diff of follow roots is restricted to.
    pub fn follows_of(key: &PublicKey) -> KeyRange {
        KeyRange::prefix(key.as_bytes())
    }

    /// The `replies` keys of one thread.
    pub fn replies_in(root: &MessageId) -> KeyRange {
        KeyRange::prefix(root.as_bytes())
    }

    /// Splits a `messages` key into (timestamp_ms, seq).
    pub fn parse_message(key: &[u8]) -> Option<(u64, u64)> {
        let k: [u8; 16] = key.try_into().ok()?;
        let (t, s) = k.split_at(8);
        Some((
            u64::from_be_bytes(t.try_into().ok()?),
            u64::from_be_bytes(s.try_into().ok()?),
        ))
    }
}

/// The edits one message makes to each index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexEdits {
    /// Edits of `messages`.
    pub messages: Vec<Edit>,
    /// Edits of `mentions`.
    pub mentions: Vec<Edit>,
    /// Edits of `replies`.
    pub replies: Vec<Edit>,
    /// Edits of `follows`.
    pub follows: Vec<Edit>,
}

impl IndexEdits {
    /// The edits of one index.
    pub fn get(&self, index: Index) -> &[Edit] {
        match index {
            Index::Messages => &self.messages,
            Index::Mentions => &self.mentions,
            Index::Replies => &self.replies,
            Index::Follows => &self.follows,
        }
    }

    /// Adds `other`'s edits after this one's.
    pub fn extend(&mut self, other: IndexEdits) {
        self.messages.extend(other.messages);
        self.mentions.extend(other.mentions);
        self.replies.extend(other.replies);
        self.follows.extend(other.follows);
    }
}

/// The entries `msg` (with id `id`) puts in each index, as inserts (`delete: false`) or as
/// deletes.
fn entries(msg: &Message, id: MessageId, delete: bool) -> IndexEdits {
    let value = |v: Vec<u8>| (!delete).then_some(v);
    let idv = id.as_bytes().to_vec();
    let (t, s) = (msg.timestamp_ms, msg.seq);
    let mut e = IndexEdits {
        messages: vec![(keys::message(t, s), value(idv.clone()))],
        ..Default::default()
    };
    match &msg.content {
        Content::Post(p) => {
            e.mentions = p
                .mentions
                .iter()
                .map(|m| (keys::mention(m, t, s), value(idv.clone())))
                .collect();
            if let Some(r) = &p.reply {
                e.replies
                    .push((keys::reply(&r.root, t, s), value(idv.clone())));
            }
        }
        Content::Follow { target } => e.follows.push((keys::follow(target), value(idv))),
        Content::About(_)
        | Content::Unfollow { .. }
        | Content::Like { .. }
        | Content::Block { .. }
        | Content::Delete { .. } => {}
    }
    e
}

/// The entries `msg` (with id `id`) puts in the indexes for itself, as inserts, leaving out
/// what it removes: what a Delete amounts to when the message it deletes is in neither tree
/// (posted and deleted since the root it is applied to).
pub fn own_entries(msg: &Message, id: MessageId) -> IndexEdits {
    entries(msg, id, false)
}

/// How publishing `msg` (whose id is `id`) changes the author's indexes. Every message enters
/// `messages`; a post enters `mentions` once per mentioned key and `replies` when it replies;
/// a Follow sets `follows[target]` and an Unfollow removes it. A Delete removes its target
/// (`deleted`, which must be an earlier message of the same author) from every index it was in;
/// it stays in `messages` itself, so the feed's seqs stay complete.
pub fn index_edits(
    msg: &Message,
    id: MessageId,
    deleted: Option<(&Message, MessageId)>,
) -> Result<IndexEdits, FeedError> {
    let mut edits = entries(msg, id, false);
    match &msg.content {
        Content::Unfollow { target } => edits.follows.push((keys::follow(target), None)),
        Content::Delete { target } => {
            let Some((old, old_id)) = deleted else {
                return Err(FeedError::BadDelete { target: *target });
            };
            if old_id != *target || old.author != msg.author || old.seq >= msg.seq {
                return Err(FeedError::BadDelete { target: *target });
            }
            edits.extend(entries(old, old_id, true));
        }
        _ => {}
    }
    Ok(edits)
}
