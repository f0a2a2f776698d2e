//! Errors: one enum for tree operations, one for the node decoder.

use crate::hash::Hash;

/// A failure of the node store underneath a tree (I/O, a closed database, ...).
pub type StoreError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a tree operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store lacks nodes the operation needs. Lists every missing node the operation could
    /// name at the level where it stopped, so the caller can fetch them in one batch and retry.
    #[error("{} tree node(s) missing{}", .0.len(), .0.first().map(|h| format!(", first {h}")).unwrap_or_default())]
    MissingNodes(Vec<Hash>),
    /// Bytes stored or received under `expected` hash to something else.
    #[error("node {expected} does not match its bytes (they hash to {actual})")]
    HashMismatch {
        /// The id the bytes were asked for under.
        expected: Hash,
        /// What the bytes hash to.
        actual: Hash,
    },
    /// A node's bytes are not a canonical node.
    #[error("node {id} is malformed")]
    Decode {
        /// The id of the node.
        id: Hash,
        /// What is wrong with it.
        #[source]
        source: DecodeError,
    },
    /// A node decodes but does not fit where its parent points to it (wrong level, largest key
    /// or subtree count): the tree was built wrongly by whoever signed its root.
    #[error("node {id} does not match its parent entry: {reason}")]
    Inconsistent {
        /// The id of the child node.
        id: Hash,
        /// Which link property failed.
        reason: &'static str,
    },
    /// A key passed to a mutation is longer than [`crate::MAX_KEY_LEN`].
    #[error("key of {len} bytes is over the {max}-byte limit", max = crate::MAX_KEY_LEN)]
    KeyTooLong {
        /// The length found.
        len: usize,
    },
    /// A value passed to a mutation is longer than [`crate::MAX_VALUE_LEN`].
    #[error("value of {len} bytes is over the {max}-byte limit", max = crate::MAX_VALUE_LEN)]
    ValueTooLong {
        /// The length found.
        len: usize,
    },
    /// A range proof does not contain every node its query needs.
    #[error("range proof is incomplete: {} node(s) missing", .0.len())]
    ProofIncomplete(Vec<Hash>),
    /// A range proof carries a node its query never reads.
    #[error("range proof carries node {0} that its query does not use")]
    ProofExtraNode(Hash),
    /// The node store failed.
    #[error("node store failed")]
    Store(#[source] StoreError),
}

/// Why bytes are not a canonical node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes end before the node does.
    #[error("truncated")]
    Truncated,
    /// The bytes are longer than any valid node.
    #[error("{len} bytes is larger than any valid node")]
    TooLarge {
        /// The number of bytes offered.
        len: usize,
    },
    /// An unknown format version.
    #[error("unknown node format version {0}")]
    Version(u8),
    /// A level above [`crate::MAX_LEVEL`].
    #[error("level {0} is too high")]
    Level(u8),
    /// More entries than [`crate::MAX_ENTRIES`].
    #[error("{0} entries is over the cap")]
    TooManyEntries(u64),
    /// An inner node without entries.
    #[error("inner node without entries")]
    EmptyInner,
    /// The node passed its byte or entry cap before its last entry.
    #[error("node continues past its hard cap")]
    OverCap,
    /// A key is not greater than the one before it.
    #[error("entry {index} is out of order")]
    OutOfOrder {
        /// The position of the entry in the node, from 0.
        index: usize,
    },
    /// A shared-prefix length that is too long or not the longest one.
    #[error("entry {index} has a non-canonical shared prefix")]
    BadPrefix {
        /// The position of the entry in the node, from 0.
        index: usize,
    },
    /// A key over [`crate::MAX_KEY_LEN`].
    #[error("entry {index} has a key over the limit")]
    KeyTooLong {
        /// The position of the entry in the node, from 0.
        index: usize,
    },
    /// A value over [`crate::MAX_VALUE_LEN`].
    #[error("entry {index} has a value over the limit")]
    ValueTooLong {
        /// The position of the entry in the node, from 0.
        index: usize,
    },
    /// An inner entry claiming an empty subtree.
    #[error("entry {index} has a zero subtree count")]
    ZeroCount {
        /// The position of the entry in the node, from 0.
        index: usize,
    },
    /// Subtree counts that add up past `u64::MAX`.
    #[error("subtree counts overflow")]
    CountOverflow,
    /// A varint that is too long or not in its shortest form.
    #[error("bad varint")]
    Varint,
    /// Bytes after the last entry.
    #[error("{extra} trailing byte(s)")]
    TrailingBytes {
        /// How many bytes were left over.
        extra: usize,
    },
    /// An entry before the last is a chunk boundary: the node was not made by the chunker.
    #[error("entry {index} is a chunk boundary but not the node's last entry")]
    InteriorBoundary {
        /// The position of the entry in the node, from 0.
        index: usize,
    },
}
