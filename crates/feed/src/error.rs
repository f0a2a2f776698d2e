//! Why a message, a head or a piece of text was refused.

use crate::MessageId;

/// Why feed data was refused. Each rule has its own variant, so callers (and tests) can tell
/// them apart.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FeedError {
    /// Bytes that are not a message or head at all.
    #[error("malformed {what}")]
    Malformed {
        /// "message" or "head".
        what: &'static str,
        /// What postcard said.
        #[source]
        source: postcard::Error,
    },
    /// Bytes that decode but are not the canonical encoding.
    #[error("{what} is not canonically encoded")]
    NonCanonical {
        /// "message" or "head".
        what: &'static str,
    },
    /// A signed message over the size limit.
    #[error("message of {len} bytes is over the {max}-byte limit", max = crate::limits::MAX_MESSAGE_BYTES)]
    TooLarge {
        /// The size of the bytes offered.
        len: usize,
    },
    /// A signature that does not verify against the claimed author.
    #[error("{what} signature does not verify")]
    BadSignature {
        /// "message" or "head".
        what: &'static str,
    },
    /// Text over its [`crate::limits::TextLimit`], in characters or in bytes.
    #[error("the {what} is over the limit of {max} {unit}")]
    TooLong {
        /// Which text ("post", "name", "bio").
        what: &'static str,
        /// The limit broken.
        max: usize,
        /// Its unit.
        unit: crate::limits::Unit,
    },
    /// More mentions than [`crate::limits::MAX_MENTIONS`].
    #[error("{count} mentions is over the limit of {max}", max = crate::limits::MAX_MENTIONS)]
    TooManyMentions {
        /// How many keys were mentioned.
        count: usize,
    },
    /// The same key mentioned twice.
    #[error("a key is mentioned twice")]
    DuplicateMention,
    /// A profile name with control characters (a newline or an escape in a name would break
    /// every line it is shown on).
    #[error("a profile name may not hold control characters")]
    BadName,
    /// A sequence number of 0 (feeds start at 1).
    #[error("sequence numbers start at 1")]
    SeqZero,
    /// A message whose seq is not the one after the author's previous message.
    #[error("expected seq {expected}, got {got}")]
    SeqGap {
        /// The seq that should have come next.
        expected: u64,
        /// The seq that came.
        got: u64,
    },
    /// A message or head by someone other than the author expected.
    #[error("signed by another author")]
    WrongAuthor,
    /// A head older than the one held.
    #[error("head seq {got} is older than the held seq {held}")]
    Rollback {
        /// The seq of the head held.
        held: u64,
        /// The seq of the head offered.
        got: u64,
    },
    /// A second, different head for a seq already held: the author signed two histories.
    #[error("fork at seq {seq}: two different heads signed by the author")]
    Fork {
        /// The seq both heads claim.
        seq: u64,
    },
    /// A Delete aimed at a message of another author, or at itself.
    #[error("cannot delete {target:?}: only an earlier message of the same author")]
    BadDelete {
        /// The message the Delete aimed at.
        target: MessageId,
    },
}
