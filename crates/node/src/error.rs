//! The node's error type. Variants say what failed in domain terms; the codes the UI branches
//! on are `rookery-app`'s (`AppError`).

use std::path::Path;

use rookery_feed::MessageId;
use rookery_prolly::Hash;

/// Why a node operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The data directory or the key file could not be read or written.
    #[error("{what} at {path}")]
    Io {
        /// What was being done ("reading the key file").
        what: &'static str,
        /// The path it was done at.
        path: String,
        /// The error the operating system gave.
        #[source]
        source: std::io::Error,
    },
    /// The key file exists but does not hold a key.
    #[error("the key file {path} is not a Rookery key")]
    BadKeyFile {
        /// The path of the key file.
        path: String,
    },
    /// A data directory with a database but no key file: the identity's key was lost or moved.
    #[error(
        "{dir} holds a database but no {key}: put the key back there (`rookery import-key`), or use another data directory; a new key would orphan the feed stored there",
        key = crate::identity::KEY_FILE
    )]
    KeyMissing {
        /// The data directory.
        dir: String,
    },
    /// Backup words that are not a key backup.
    #[error("those words are not a key backup (24 words from the BIP-39 list)")]
    BadWords,
    /// The database failed or refused the data.
    #[error(transparent)]
    Store(#[from] rookery_store::Error),
    /// A message, head or text was refused by the feed rules.
    #[error(transparent)]
    Feed(#[from] rookery_feed::FeedError),
    /// A tree operation failed (other than missing nodes).
    #[error("a tree read failed")]
    Tree(#[source] rookery_prolly::Error),
    /// Part of an author's data is not held yet (sync fills it in): these tree nodes.
    #[error("{} tree node(s) of this feed are not here yet", .0.len())]
    MissingNodes(Vec<Hash>),
    /// Part of an author's data is not held yet: these message bodies.
    #[error("{} message(s) of this feed are not here yet", .0.len())]
    MissingBodies(Vec<MessageId>),
    /// No such message is held (or it was deleted).
    #[error("message {0} is not here")]
    UnknownMessage(MessageId),
    /// A pagination cursor that this node did not make.
    #[error("that is not a page cursor")]
    BadCursor,
    /// An index entry whose value is not a message id (the author built it wrongly).
    #[error("an index entry does not hold a message id")]
    BadIndexValue,
    /// A bundle file that is not one.
    #[error("not a Rookery bundle: {0}")]
    BadBundle(&'static str),
    /// Something the local identity may not do, or a post with nothing in it: the rule, in
    /// words for the person who tried.
    #[error("{0}")]
    NotAllowed(&'static str),
    /// Publishing refused: `rookery repair` found my own feed not whole here, and it is not
    /// restored yet. A new message now would start a second history of my key.
    #[error(
        "your own feed was damaged and is not whole here yet: connect to someone who follows you (`rookery sync --peer TICKET`) to restore it, or `rookery repair --start-over` to start again from what is here (people who hold your feed would see two histories)"
    )]
    OwnFeedLost,
}

impl From<rookery_prolly::Error> for NodeError {
    fn from(e: rookery_prolly::Error) -> Self {
        match e {
            rookery_prolly::Error::MissingNodes(ids) => NodeError::MissingNodes(ids),
            // The database under the trees failed (it may be damaged): said as the store says it.
            rookery_prolly::Error::Store(s) => match s.downcast::<rookery_store::Error>() {
                Ok(s) => NodeError::Store(*s),
                Err(s) => NodeError::Tree(rookery_prolly::Error::Store(s)),
            },
            e => NodeError::Tree(e),
        }
    }
}

impl NodeError {
    /// Whether data from outside was refused (bad nodes or bodies, a head the acceptance rule
    /// refuses): the fault of whoever sent it. Anything else is local.
    pub fn is_refusal(&self) -> bool {
        match self {
            NodeError::Store(e) => e.is_refusal(),
            NodeError::Feed(_) | NodeError::BadBundle(_) => true,
            _ => false,
        }
    }

    /// Whether the failure is only that some of an author's data has not arrived yet.
    pub fn is_not_synced(&self) -> bool {
        matches!(
            self,
            NodeError::MissingNodes(_) | NodeError::MissingBodies(_)
        )
    }
}

/// An I/O error with what was being done and where.
pub(crate) fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> NodeError {
    let path = path.display().to_string();
    move |source| NodeError::Io { what, path, source }
}
