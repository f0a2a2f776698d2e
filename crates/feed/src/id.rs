//! Message ids, and the one text form of a public key.

use std::fmt;
use std::str::FromStr;

use iroh_base::PublicKey;
use serde::{Deserialize, Serialize};

use crate::FeedError;

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
        f.write_str(&rookery_prolly::Hash(self.0).to_hex())
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({})", &self.to_string()[..12])
    }
}

impl FromStr for MessageId {
    type Err = FeedError;

    fn from_str(s: &str) -> Result<Self, FeedError> {
        rookery_prolly::Hash::from_hex(s)
            .map(|h| MessageId(h.0))
            .ok_or_else(|| FeedError::BadText {
                what: "message id",
                text: s.chars().take(80).collect(),
            })
    }
}

/// The text form of a public key used everywhere (CLI, UI, tickets): 64 lower-case hex digits,
/// which is also how iroh prints an endpoint id.
pub fn format_key(key: &PublicKey) -> String {
    key.to_string()
}

/// Parses the text form of a public key: exactly 64 hex digits (upper case is accepted and
/// means the same key). Anything else, including iroh's base32 form, is refused, so one key
/// has one spelling in what Rookery stores and shows.
pub fn parse_key(s: &str) -> Result<PublicKey, FeedError> {
    let bad = || FeedError::BadText {
        what: "public key",
        text: s.chars().take(80).collect(),
    };
    let hash = rookery_prolly::Hash::from_hex(s.trim()).ok_or_else(bad)?;
    PublicKey::from_bytes(&hash.0).map_err(|_| bad())
}
