//! Bundles: an author's head, tree nodes and message bodies in one file, to move a feed between
//! nodes without a network (and, until sync exists, how tests move data).
//!
//! Format: the 16 bytes `ROOKERY-BUNDLE\0\x01` (magic and format version 1), then
//! `postcard(Bundle)`. Every part is verified on import like data from any peer.

use serde::{Deserialize, Serialize};

use crate::NodeError;

const MAGIC: &[u8; 16] = b"ROOKERY-BUNDLE\0\x01";
/// The largest bundle taken in (a feed of about a million messages).
pub const MAX_BUNDLE_BYTES: usize = 2 << 30;

/// An author's feed, as moved between nodes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    /// The signed head.
    pub head: Vec<u8>,
    /// Encoded tree nodes of the head's indexes (some or all).
    pub nodes: Vec<Vec<u8>>,
    /// Signed message bodies (some or all).
    pub bodies: Vec<Vec<u8>>,
}

impl Bundle {
    /// The file bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        // Serializing plain byte vectors into a Vec cannot fail.
        out.extend(postcard::to_allocvec(self).unwrap_or_default());
        out
    }

    /// Parses file bytes (structure only; the contents are verified on import).
    pub fn from_bytes(bytes: &[u8]) -> Result<Bundle, NodeError> {
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(NodeError::BadBundle("too large"));
        }
        let body = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or(NodeError::BadBundle("wrong magic or version"))?;
        let (bundle, rest) = postcard::take_from_bytes::<Bundle>(body)
            .map_err(|_| NodeError::BadBundle("malformed"))?;
        if !rest.is_empty() {
            return Err(NodeError::BadBundle("trailing bytes"));
        }
        Ok(bundle)
    }
}
