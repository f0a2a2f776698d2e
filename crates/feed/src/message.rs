//! Messages: the schema, its canonical signed encoding, and validation.

use iroh_base::{PublicKey, SecretKey, Signature};
use serde::{Deserialize, Serialize};

use crate::limits::{self, MAX_MENTIONS, MAX_MESSAGE_BYTES};
use crate::{FeedError, MessageId};

/// Hashed before a message's bytes when signing, so a message signature can never pass as a
/// head signature (or anything else the same key signs).
const MESSAGE_DOMAIN: &[u8] = b"rookery/message/v1\0";
const SIGNATURE_LEN: usize = Signature::LENGTH;

/// One entry of an author's feed. Field order is the wire order; do not reorder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote and signed it.
    #[serde(deserialize_with = "crate::known::one")]
    pub author: PublicKey,
    /// 1 for the author's first message, then one more for each.
    pub seq: u64,
    /// When the author says it was written, in milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// What it says.
    pub content: Content,
}

/// The kinds of message. Variant order is the wire tag; new kinds go at the end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Content {
    /// A post, possibly a reply.
    Post(Post),
    /// The author's profile; the latest one counts.
    About(About),
    /// Start following `target`.
    Follow {
        /// The key followed.
        #[serde(deserialize_with = "crate::known::one")]
        target: PublicKey,
    },
    /// Stop following `target`.
    Unfollow {
        /// The key no longer followed.
        #[serde(deserialize_with = "crate::known::one")]
        target: PublicKey,
    },
    /// Like a message.
    Like {
        /// The message liked.
        target: MessageId,
    },
    /// Hide `target` from this author's views.
    Block {
        /// The key blocked.
        #[serde(deserialize_with = "crate::known::one")]
        target: PublicKey,
    },
    /// Withdraw one of the author's own earlier messages from every index.
    Delete {
        /// The earlier message withdrawn.
        target: MessageId,
    },
}

/// A post.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    /// Markdown text.
    pub text: String,
    /// Keys mentioned (each at most once); a reply always mentions the parent's author.
    #[serde(deserialize_with = "crate::known::many")]
    pub mentions: Vec<PublicKey>,
    /// Set when this post replies in a thread.
    pub reply: Option<Reply>,
}

/// Where a reply sits in its thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// The thread's first post.
    pub root: MessageId,
    /// The post replied to (the root itself for a direct reply).
    pub parent: MessageId,
}

/// A profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct About {
    /// Display name.
    pub name: String,
    /// A few lines about the author.
    pub bio: String,
    /// The blake3 hash of the avatar image, fetched as a blob.
    pub avatar: Option<[u8; 32]>,
}

impl Post {
    /// A reply to `parent` (by `parent_author`) in the thread starting at `root`. The parent's
    /// author is added to the mentions, so replies reach them as mentions.
    pub fn reply(
        text: impl Into<String>,
        mut mentions: Vec<PublicKey>,
        root: MessageId,
        parent: MessageId,
        parent_author: PublicKey,
    ) -> Post {
        if !mentions.contains(&parent_author) {
            mentions.push(parent_author);
        }
        Post {
            text: text.into(),
            mentions,
            reply: Some(Reply { root, parent }),
        }
    }
}

impl Message {
    /// Checks the rules that need nothing but the message: seq from 1, text, mention, name
    /// and bio limits.
    pub fn validate(&self) -> Result<(), FeedError> {
        if self.seq == 0 {
            return Err(FeedError::SeqZero);
        }
        match &self.content {
            Content::Post(p) => {
                limits::POST_TEXT.check(&p.text)?;
                if p.mentions.len() > MAX_MENTIONS {
                    return Err(FeedError::TooManyMentions {
                        count: p.mentions.len(),
                    });
                }
                let mut seen = p.mentions.clone();
                seen.sort_unstable();
                seen.dedup();
                if seen.len() != p.mentions.len() {
                    return Err(FeedError::DuplicateMention);
                }
            }
            Content::About(a) => {
                limits::NAME.check(&a.name)?;
                if a.name.chars().any(char::is_control) {
                    return Err(FeedError::BadName);
                }
                limits::BIO.check(&a.bio)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Checks that this message may follow the author's message `prev_seq` (`None`: no
    /// message yet).
    pub fn check_follows(&self, prev_seq: Option<u64>) -> Result<(), FeedError> {
        let expected = prev_seq.map_or(1, |s| s + 1);
        if self.seq == expected {
            Ok(())
        } else if self.seq == 0 {
            Err(FeedError::SeqZero)
        } else {
            Err(FeedError::SeqGap {
                expected,
                got: self.seq,
            })
        }
    }
}

/// A message with its signature, in its canonical signed bytes, and its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedMessage {
    message: Message,
    bytes: Vec<u8>,
    id: MessageId,
}

impl SignedMessage {
    /// Validates and signs `message` with the author's key.
    pub fn sign(message: Message, key: &SecretKey) -> Result<Self, FeedError> {
        if message.author != key.public() {
            return Err(FeedError::WrongAuthor);
        }
        message.validate()?;
        let bytes = encode_signed(&message, MESSAGE_DOMAIN, key, "message")?;
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(FeedError::TooLarge { len: bytes.len() });
        }
        let id = MessageId::of(&bytes);
        Ok(SignedMessage { message, bytes, id })
    }

    /// Decodes and checks signed bytes from anywhere: size, canonical encoding, the message's
    /// own rules, and the author's signature.
    pub fn decode(bytes: &[u8]) -> Result<Self, FeedError> {
        let m = Self::unverified(bytes)?;
        m.verify()?;
        Ok(m)
    }

    /// Decodes many, each checked as [`decode`](Self::decode) does, their signatures checked
    /// together (batch verification: one multiscalar multiplication, one author's terms merged,
    /// about a fifth of the cost of checking them one by one; the rule is the same, see
    /// `known.rs`). The first refusal is returned: a malformed message before any bad
    /// signature, then the first bad signature in order.
    pub fn decode_many<B: AsRef<[u8]>>(all: &[B]) -> Result<Vec<Self>, FeedError> {
        /// Below this many, checking each alone costs less than setting up a batch.
        const BATCH_FROM: usize = 4;
        let out = all
            .iter()
            .map(|b| Self::unverified(b.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        if out.len() >= BATCH_FROM {
            let mut batch = crate::known::Batch::default();
            for m in &out {
                batch.queue(&m.message.author, &m.signed(), signature_of(&m.bytes));
            }
            if batch.verify() {
                return Ok(out);
            }
        }
        // Alone, or which one failed: batch and single checks agree, so the first that fails
        // alone.
        for m in &out {
            m.verify()?;
        }
        Ok(out)
    }

    /// Size, canonical encoding and the message's own rules, not the signature.
    fn unverified(bytes: &[u8]) -> Result<Self, FeedError> {
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(FeedError::TooLarge { len: bytes.len() });
        }
        let (message, _) = decode_signed::<Message>(bytes, "message")?;
        message.validate()?;
        Ok(SignedMessage {
            message,
            bytes: bytes.to_vec(),
            id: MessageId::of(bytes),
        })
    }

    /// What the signature is over: the domain, then the body.
    fn signed(&self) -> Vec<u8> {
        [
            MESSAGE_DOMAIN,
            &self.bytes[..self.bytes.len() - SIGNATURE_LEN],
        ]
        .concat()
    }

    /// The author's signature, checked alone.
    fn verify(&self) -> Result<(), FeedError> {
        let ok = crate::known::verify(
            &self.message.author,
            &self.signed(),
            signature_of(&self.bytes),
        );
        ok.then_some(())
            .ok_or(FeedError::BadSignature { what: "message" })
    }

    /// Decodes bytes this node verified before it stored them: the same strict decode, without
    /// the signature check (a third of a millisecond per message adds up on every read). Never
    /// use it for bytes from outside.
    pub fn from_stored(bytes: &[u8]) -> Result<Self, FeedError> {
        let (message, _) = decode_signed::<Message>(bytes, "message")?;
        Ok(SignedMessage {
            message,
            bytes: bytes.to_vec(),
            id: MessageId::of(bytes),
        })
    }

    /// The message, as signed.
    pub fn message(&self) -> &Message {
        &self.message
    }

    /// The signed bytes (what is stored and sent).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The id: blake3 of the signed bytes.
    pub fn id(&self) -> MessageId {
        self.id
    }
}

/// Encodes `postcard(value) ‖ signature`, the signature made over `domain ‖ postcard(value)`:
/// the counterpart of [`decode_signed`] and [`verify`].
pub(crate) fn encode_signed<T: Serialize>(
    value: &T,
    domain: &[u8],
    key: &SecretKey,
    what: &'static str,
) -> Result<Vec<u8>, FeedError> {
    let mut bytes =
        postcard::to_allocvec(value).map_err(|source| FeedError::Malformed { what, source })?;
    let signature = key.sign(&[domain, &bytes].concat());
    bytes.extend_from_slice(&signature.to_bytes());
    Ok(bytes)
}

/// Splits `postcard(T) ‖ signature` and checks that the encoding is canonical. Returns the
/// value and the encoded body (what was signed, without the domain).
pub(crate) fn decode_signed<'a, T>(
    bytes: &'a [u8],
    what: &'static str,
) -> Result<(T, &'a [u8]), FeedError>
where
    T: Serialize + for<'de> Deserialize<'de>,
{
    let (value, rest) = postcard::take_from_bytes::<T>(bytes)
        .map_err(|source| FeedError::Malformed { what, source })?;
    match rest.len() {
        SIGNATURE_LEN => {}
        n if n < SIGNATURE_LEN => {
            return Err(FeedError::Malformed {
                what,
                source: postcard::Error::DeserializeUnexpectedEnd,
            });
        }
        _ => return Err(FeedError::NonCanonical { what }),
    }
    let body = &bytes[..bytes.len() - SIGNATURE_LEN];
    let again =
        postcard::to_allocvec(&value).map_err(|source| FeedError::Malformed { what, source })?;
    if again != body {
        return Err(FeedError::NonCanonical { what });
    }
    Ok((value, body))
}

/// The signature at the end of signed bytes (whose length [`decode_signed`] checked).
fn signature_of(bytes: &[u8]) -> &[u8; SIGNATURE_LEN] {
    bytes[bytes.len() - SIGNATURE_LEN..]
        .try_into()
        .expect("decode_signed checked the length")
}

/// Verifies the signature at the end of `bytes` over `domain ‖ body`.
pub(crate) fn verify(
    author: &PublicKey,
    domain: &[u8],
    body: &[u8],
    bytes: &[u8],
    what: &'static str,
) -> Result<(), FeedError> {
    if crate::known::verify(author, &[domain, body].concat(), signature_of(bytes)) {
        Ok(())
    } else {
        Err(FeedError::BadSignature { what })
    }
}
