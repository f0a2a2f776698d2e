//! Why a network operation failed, telling a local failure (our store, our blob store, our
//! endpoint) from a peer's fault or absence.

use rookery_feed::PublicKey;
use rookery_sync::{ClientError, Rejection};

use crate::NodeError;

/// Why a network operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The endpoint could not be bound.
    #[error(transparent)]
    Bind(#[from] rookery_sync::net::BindFailed),
    /// Our own node failed or refused (the store, the feed rules): not a peer's fault.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// Our blob store (or another of our own parts) failed.
    #[error("the image store failed")]
    Blobs(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// An exchange with a peer failed: it misbehaved (see [`NetError::is_peer_fault`]) or
    /// went away.
    #[error("sync with {} failed", .peer.fmt_short())]
    Peer {
        /// The peer the exchange was with.
        peer: PublicKey,
        /// What happened.
        #[source]
        source: ClientError,
    },
    /// A peer could not be reached.
    #[error("could not reach {}", .peer.fmt_short())]
    Dial {
        /// The peer that could not be reached.
        peer: PublicKey,
        /// Why, as iroh said (or that it took too long).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An image that is not one Rookery takes.
    #[error(transparent)]
    Image(#[from] crate::images::ImageError),
    /// Something over a size limit (an image).
    #[error("the {what} is over the limit of {max} bytes")]
    TooLarge {
        /// What was too large ("avatar image").
        what: &'static str,
        /// The limit, in bytes.
        max: usize,
    },
    /// No peer has what was asked for, now.
    #[error("no peer has it now")]
    Unavailable,
    /// The network was shut down.
    #[error("the node is offline")]
    Stopped,
}

impl NetError {
    /// An exchange with `peer` that failed with `e`, with our own failures told apart.
    pub(crate) fn client(peer: PublicKey, e: ClientError) -> Self {
        match e {
            ClientError::Local(source) => match source.downcast::<NodeError>() {
                Ok(n) => NetError::Node(*n),
                Err(other) => NetError::Blobs(other),
            },
            source => NetError::Peer { peer, source },
        }
    }

    /// Whether the peer broke the protocol or sent data that fails verification: it is
    /// dropped.
    pub fn is_peer_fault(&self) -> bool {
        matches!(self, NetError::Peer { source, .. } if source.is_misbehaviour())
    }
}

/// How a refusal of our store reads to the client: a refusal of the peer's data is the peer's
/// fault, anything else is ours.
pub(crate) fn rejection(e: NodeError) -> Rejection {
    if e.is_refusal() {
        Rejection::Peer(e.to_string())
    } else {
        Rejection::Local(Box::new(e))
    }
}

impl From<rookery_store::Error> for NetError {
    fn from(e: rookery_store::Error) -> Self {
        NetError::Node(e.into())
    }
}

impl From<rookery_prolly::Error> for NetError {
    fn from(e: rookery_prolly::Error) -> Self {
        NetError::Node(e.into())
    }
}
