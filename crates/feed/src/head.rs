//! The signed head: an author's latest seq and the roots of all their indexes, and the rule for
//! accepting a new one.

use iroh_base::{PublicKey, SecretKey};
use rookery_prolly::Hash;
use serde::{Deserialize, Serialize};

use crate::message::{decode_signed, encode_signed, verify};
use crate::{FeedError, Index, MessageId};

/// Hashed before a head's bytes when signing (see `MESSAGE_DOMAIN`).
const HEAD_DOMAIN: &[u8] = b"rookery/head/v1\0";
/// A head is small; anything longer is not one.
const MAX_HEAD_BYTES: usize = 1024;

/// The root of each of an author's indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roots {
    /// `messages`: timestamp ‖ seq → id.
    pub messages: Hash,
    /// `mentions`: mentioned key ‖ timestamp ‖ seq → id.
    pub mentions: Hash,
    /// `replies`: thread root ‖ timestamp ‖ seq → id.
    pub replies: Hash,
    /// `follows`: target key → follow message id.
    pub follows: Hash,
}

impl Roots {
    /// Every index empty.
    pub fn empty() -> Self {
        let e = rookery_prolly::EMPTY_ROOT;
        Roots {
            messages: e,
            mentions: e,
            replies: e,
            follows: e,
        }
    }

    /// The root of one index.
    pub fn get(&self, index: Index) -> Hash {
        match index {
            Index::Messages => self.messages,
            Index::Mentions => self.mentions,
            Index::Replies => self.replies,
            Index::Follows => self.follows,
        }
    }

    /// Sets the root of one index.
    pub fn set(&mut self, index: Index, root: Hash) {
        match index {
            Index::Messages => self.messages = root,
            Index::Mentions => self.mentions = root,
            Index::Replies => self.replies = root,
            Index::Follows => self.follows = root,
        }
    }
}

/// An author's state after their message `seq`. Field order is the wire order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// The author who signs the head.
    #[serde(deserialize_with = "crate::known::one")]
    pub author: PublicKey,
    /// The seq of their latest message (0: none yet).
    pub seq: u64,
    /// The timestamp of that message.
    pub timestamp_ms: u64,
    /// The index roots after it.
    pub roots: Roots,
    /// The author's latest About message, if any.
    pub about: Option<MessageId>,
}

/// A head with its signature, in its canonical signed bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedHead {
    head: Head,
    bytes: Vec<u8>,
}

/// What accepting a head means for the one held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadUpdate {
    /// No head was held for this author.
    New,
    /// Newer than the held one: replace it.
    Newer,
    /// The very head held already.
    Same,
}

impl SignedHead {
    /// Signs `head` with the author's key.
    pub fn sign(head: Head, key: &SecretKey) -> Result<Self, FeedError> {
        if head.author != key.public() {
            return Err(FeedError::WrongAuthor);
        }
        let bytes = encode_signed(&head, HEAD_DOMAIN, key, "head")?;
        Ok(SignedHead { head, bytes })
    }

    /// Decodes and checks signed bytes from anywhere: canonical encoding and signature.
    pub fn decode(bytes: &[u8]) -> Result<Self, FeedError> {
        if bytes.len() > MAX_HEAD_BYTES {
            return Err(FeedError::TooLarge { len: bytes.len() });
        }
        let (head, body) = decode_signed::<Head>(bytes, "head")?;
        verify(&head.author, HEAD_DOMAIN, body, bytes, "head")?;
        Ok(SignedHead {
            head,
            bytes: bytes.to_vec(),
        })
    }

    /// Decodes bytes this node verified before it stored them, without the signature check
    /// (see [`crate::SignedMessage::from_stored`]). Never use it for bytes from outside.
    pub fn from_stored(bytes: &[u8]) -> Result<Self, FeedError> {
        let (head, _) = decode_signed::<Head>(bytes, "head")?;
        Ok(SignedHead {
            head,
            bytes: bytes.to_vec(),
        })
    }

    /// The head.
    pub fn head(&self) -> &Head {
        &self.head
    }

    /// The signed bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The acceptance rule, given the head held for the same author (if any): a higher seq
    /// replaces it; the same head again changes nothing; a lower seq is a rollback and a
    /// different head with the same seq is a fork (keep the first; the caller records both as
    /// evidence). The signature was checked when this head was made or decoded.
    pub fn accept(&self, held: Option<&SignedHead>) -> Result<HeadUpdate, FeedError> {
        let Some(held) = held else {
            return Ok(HeadUpdate::New);
        };
        if held.head.author != self.head.author {
            return Err(FeedError::WrongAuthor);
        }
        match self.head.seq.cmp(&held.head.seq) {
            std::cmp::Ordering::Greater => Ok(HeadUpdate::Newer),
            std::cmp::Ordering::Less => Err(FeedError::Rollback {
                held: held.head.seq,
                got: self.head.seq,
            }),
            std::cmp::Ordering::Equal if self.bytes == held.bytes => Ok(HeadUpdate::Same),
            std::cmp::Ordering::Equal => Err(FeedError::Fork { seq: self.head.seq }),
        }
    }
}
