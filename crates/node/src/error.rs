//! The node's error type, with a stable code for the UI to branch on.

use rookery_feed::MessageId;
use rookery_prolly::Hash;

/// Why a node operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The data directory or the key file could not be read or written.
    #[error("{what} at {path}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// Where.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The key file exists but does not hold a key.
    #[error("the key file {path} is not a Rookery key")]
    BadKeyFile {
        /// The file.
        path: String,
    },
    /// The database failed or refused the data.
    #[error(transparent)]
    Store(#[from] rookery_store::Error),
    /// A message, head or text was refused by the feed rules.
    #[error(transparent)]
    Feed(#[from] rookery_feed::FeedError),
    /// A tree operation failed (other than missing nodes).
    #[error(transparent)]
    Tree(rookery_prolly::Error),
    /// Part of an author's data is not held yet (sync fills it in): these tree nodes.
    #[error("{} tree node(s) of this feed are not here yet", .0.len())]
    MissingNodes(Vec<Hash>),
    /// Part of an author's data is not held yet: these message bodies.
    #[error("{} message(s) of this feed are not here yet", .0.len())]
    MissingBodies(Vec<MessageId>),
    /// No such message is held.
    #[error("message {0} is not here")]
    UnknownMessage(MessageId),
    /// A bad pagination cursor.
    #[error("bad cursor")]
    BadCursor,
    /// An index entry whose value is not a message id (the author built it wrongly).
    #[error("an index entry does not hold a message id")]
    BadIndexValue,
    /// Not a key (64 hex digits) nor a ticket.
    #[error("not a key or a ticket: {0}")]
    BadAddress(String),
    /// Input over a size limit.
    #[error("the {what} is over the limit of {max} bytes")]
    TooLarge {
        /// What.
        what: &'static str,
        /// The limit.
        max: usize,
    },
    /// Networking failed (binding, dialling).
    #[error("network: {0}")]
    Network(String),
    /// A malformed argument from a caller (the UI): what is wrong with it.
    #[error("{0}")]
    BadRequest(String),
    /// Something asked for is not here.
    #[error("{0}")]
    NotFound(String),
    /// A bundle file that is not one.
    #[error("not a Rookery bundle: {0}")]
    BadBundle(&'static str),
}

impl From<rookery_prolly::Error> for NodeError {
    fn from(e: rookery_prolly::Error) -> Self {
        match e {
            rookery_prolly::Error::MissingNodes(ids) => NodeError::MissingNodes(ids),
            e => NodeError::Tree(e),
        }
    }
}

impl NodeError {
    /// A stable code for the UI and scripts to branch on (never parse the message).
    pub fn code(&self) -> &'static str {
        match self {
            NodeError::Io { .. } => "io",
            NodeError::BadKeyFile { .. } => "bad_key_file",
            NodeError::Store(_) => "store",
            NodeError::Feed(_) => "invalid",
            NodeError::Tree(_) => "tree",
            NodeError::MissingNodes(_) | NodeError::MissingBodies(_) => "not_synced",
            NodeError::UnknownMessage(_) => "unknown_message",
            NodeError::BadCursor => "bad_cursor",
            NodeError::BadIndexValue => "bad_data",
            NodeError::BadBundle(_) => "bad_bundle",
            NodeError::BadAddress(_) => "bad_address",
            NodeError::Network(_) => "network",
            NodeError::TooLarge { .. } => "too_large",
            NodeError::BadRequest(_) => "bad_request",
            NodeError::NotFound(_) => "not_found",
        }
    }
}
