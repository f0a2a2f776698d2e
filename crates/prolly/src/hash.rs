//! Node ids and key hashes: the two places blake3 is used, each behind its own domain separator.

use std::fmt;

/// Domain separator hashed before a node's bytes to make its id.
const NODE_DOMAIN: &[u8] = b"rookery/prolly/node/v1\0";
/// Domain separator hashed before a key to decide where chunks end.
const KEY_DOMAIN: &[u8] = b"rookery/prolly/key/v1\0";

/// The 32-byte blake3 id of a node: `blake3(NODE_DOMAIN ‖ bytes)`. Serializes as its 32 bytes.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The id of a node whose canonical encoding is `bytes`.
    pub fn of_node(bytes: &[u8]) -> Self {
        let mut h = blake3::Hasher::new();
        h.update(NODE_DOMAIN);
        h.update(bytes);
        Hash(*h.finalize().as_bytes())
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl From<[u8; 32]> for Hash {
    fn from(b: [u8; 32]) -> Self {
        Hash(b)
    }
}

/// Lower-case hex, for logs and error messages. The text forms that users see and type are
/// defined by `rookery-app`, not here.
impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Twelve hex digits are plenty to tell nodes apart in logs and test failures.
        write!(f, "Hash({})", &hex::encode(&self.0[..6]))
    }
}

/// The chunking hash of a key: the first 8 bytes of `blake3(KEY_DOMAIN ‖ key)`, big-endian.
///
/// It depends on the key alone, never on the value or the position, which is what makes
/// boundaries (and so the whole tree shape) a function of the key set.
pub(crate) fn key_hash(key: &[u8]) -> u64 {
    // Keys are short: hash domain ‖ key from one stack buffer with the one-shot function, which
    // skips the incremental hasher's bookkeeping (a measurable share of a bulk build).
    let mut buf = [0u8; 128];
    let out = if KEY_DOMAIN.len() + key.len() <= buf.len() {
        buf[..KEY_DOMAIN.len()].copy_from_slice(KEY_DOMAIN);
        buf[KEY_DOMAIN.len()..KEY_DOMAIN.len() + key.len()].copy_from_slice(key);
        blake3::hash(&buf[..KEY_DOMAIN.len() + key.len()])
    } else {
        let mut h = blake3::Hasher::new();
        h.update(KEY_DOMAIN);
        h.update(key);
        h.finalize()
    };
    let mut first = [0u8; 8];
    first.copy_from_slice(&out.as_bytes()[..8]);
    u64::from_be_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_hex() {
        let h = Hash([0xab; 32]);
        assert_eq!(h.to_string(), "ab".repeat(32));
        assert_eq!(format!("{h:?}"), format!("Hash({})", "ab".repeat(6)));
    }

    #[test]
    fn key_hash_is_domain_then_key() {
        for len in [0, 10, 106, 107, 500] {
            let key = vec![7u8; len];
            let mut h = blake3::Hasher::new();
            h.update(KEY_DOMAIN).update(&key);
            assert_eq!(key_hash(&key).to_be_bytes(), h.finalize().as_bytes()[..8]);
        }
    }

    #[test]
    fn domains_separate() {
        assert_ne!(Hash::of_node(b"k").0[..8], key_hash(b"k").to_be_bytes());
    }
}
