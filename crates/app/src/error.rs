//! The UI's error: a stable [`ErrorCode`] to branch on and a message readable as is, made from
//! the node's and the network's typed errors at this one boundary.

use std::error::Error as StdError;

use rookery_node::{NetError, NodeError};
use serde::Serialize;
use ts_rs::TS;

/// What went wrong, as a stable code for the UI and scripts (never parse the message).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// A malformed argument, or something the rules do not allow.
    BadRequest,
    /// Not a key nor a ticket.
    BadAddress,
    /// A page cursor this node did not make.
    BadCursor,
    /// Over a size limit.
    TooLarge,
    /// Nothing by that name here (a call, an image).
    NotFound,
    /// No such message is held.
    UnknownMessage,
    /// Part of a feed has not arrived yet; retry when it has.
    NotSynced,
    /// A peer could not be reached, or sent what could not be used.
    Network,
    /// Data refused by the feed rules.
    Invalid,
    /// The database failed.
    Store,
    /// A file could not be read or written.
    Io,
    /// The key file holds no key.
    BadKeyFile,
    /// A bundle file that is not one.
    BadBundle,
    /// A feed holds an entry its author should not have written.
    BadData,
    /// My own feed is being restored from peers after a repair; nothing can be posted yet.
    OwnFeedLost,
    /// The access token is missing or wrong (HTTP only).
    Unauthorized,
    /// Anything else: a failure of this node.
    Internal,
}

impl ErrorCode {
    /// The HTTP status the code answers with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest
            | ErrorCode::BadAddress
            | ErrorCode::BadCursor
            | ErrorCode::Invalid
            | ErrorCode::BadBundle => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::NotFound | ErrorCode::UnknownMessage => 404,
            ErrorCode::TooLarge => 413,
            ErrorCode::OwnFeedLost => 409,
            ErrorCode::BadData => 422,
            ErrorCode::NotSynced | ErrorCode::Network => 503,
            _ => 500,
        }
    }
}

/// An error as the UI sees it.
#[derive(Debug)]
pub struct AppError {
    /// What to branch on.
    pub code: ErrorCode,
    /// Readable as is.
    pub message: String,
    /// The error it came from, whose causes follow the message.
    cause: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for AppError {
    /// The message is the cause's own; the chain goes on with the cause's source.
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.cause.as_ref().and_then(|c| c.source())
    }
}

/// The error as it travels to the UI: `{code, message}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
pub struct ErrorView {
    /// What to branch on.
    pub code: ErrorCode,
    /// Readable as is.
    pub message: String,
}

impl AppError {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError {
            code,
            message: message.into(),
            cause: None,
        }
    }

    /// A malformed argument, in words.
    pub fn bad_request(message: impl Into<String>) -> Self {
        AppError::new(ErrorCode::BadRequest, message)
    }

    /// A cursor that is not one.
    pub(crate) fn bad_cursor() -> Self {
        AppError::new(ErrorCode::BadCursor, "that is not a page cursor")
    }

    fn caused(code: ErrorCode, e: impl StdError + Send + Sync + 'static) -> Self {
        AppError {
            code,
            message: e.to_string(),
            cause: Some(Box::new(e)),
        }
    }

    /// The error as it travels to the UI.
    pub fn view(&self) -> ErrorView {
        ErrorView {
            code: self.code,
            message: self.message.clone(),
        }
    }
}

impl From<NodeError> for AppError {
    fn from(e: NodeError) -> Self {
        let code = match &e {
            NodeError::Io { .. } => ErrorCode::Io,
            NodeError::BadKeyFile { .. } | NodeError::KeyMissing { .. } => ErrorCode::BadKeyFile,
            NodeError::BadWords | NodeError::NotAllowed(_) => ErrorCode::BadRequest,
            NodeError::Feed(rookery_feed::FeedError::TooLong { .. }) => ErrorCode::TooLarge,
            NodeError::Feed(_) => ErrorCode::Invalid,
            NodeError::Store(s) if s.is_refusal() => ErrorCode::Invalid,
            NodeError::Store(_) => ErrorCode::Store,
            NodeError::MissingNodes(_) | NodeError::MissingBodies(_) => ErrorCode::NotSynced,
            NodeError::UnknownMessage(_) => ErrorCode::UnknownMessage,
            NodeError::BadCursor => ErrorCode::BadCursor,
            NodeError::BadIndexValue => ErrorCode::BadData,
            NodeError::BadBundle(_) => ErrorCode::BadBundle,
            NodeError::OwnFeedLost => ErrorCode::OwnFeedLost,
            _ => ErrorCode::Internal,
        };
        AppError::caused(code, e)
    }
}

impl From<NetError> for AppError {
    fn from(e: NetError) -> Self {
        match e {
            NetError::Node(n) => n.into(),
            NetError::TooLarge { .. } => AppError::caused(ErrorCode::TooLarge, e),
            NetError::Image(i) => {
                let code = match &i {
                    rookery_node::images::ImageError::TooLarge
                    | rookery_node::images::ImageError::TooManyPixels => ErrorCode::TooLarge,
                    _ => ErrorCode::BadRequest,
                };
                AppError::caused(code, i)
            }
            NetError::Blobs(_) => AppError::caused(ErrorCode::Store, e),
            _ => AppError::caused(ErrorCode::Network, e),
        }
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        AppError::bad_request(format!("the arguments are not what this call takes: {e}"))
    }
}
