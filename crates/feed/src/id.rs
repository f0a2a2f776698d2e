//! Message ids. Their text form for people (and the key's) is `rookery-app`'s to define; the
//! `Display` here is lower-case hex for logs and error messages.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The id of a message: the blake3 hash of its signed bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MessageId(pub [u8; 32]);

impl MessageId {
    /// The id of the message whose signed bytes are `signed`.
    pub fn of(signed: &[u8]) -> Self {
        MessageId(*blake3::hash(signed).as_bytes())
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({})", hex::encode(&self.0[..6]))
    }
}
