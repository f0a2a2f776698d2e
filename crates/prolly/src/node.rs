//! The node: its in-memory form, its canonical byte format (encode and a strict decoder), and the
//! chunking rule that decides where nodes end.
//!
//! # Format, version 1
//!
//! ```text
//! u8      FORMAT_VERSION (= 1)
//! u8      level            0 = leaf; an inner node's children are one level lower
//! varint  entry count      0 only for the empty tree's root (a leaf)
//! per entry:
//!   varint  shared         length of the prefix shared with the previous key (0 for the first);
//!                          always the *longest* common prefix, so the encoding is canonical
//!   varint  suffix length, then the suffix bytes
//!   leaf:   varint value length, then the value bytes
//!   inner:  32 bytes child id, then varint subtree entry count (≥ 1)
//! ```
//!
//! Varints are unsigned LEB128 in their shortest form (a longer form is rejected). Keys are
//! strictly increasing. Nothing may follow the last entry.
//!
//! # Chunking
//!
//! Entry `e` closes the node it is in, at level `L`, when `key_hash(e.key) < 2^64 / 32^(L+1)`
//! (equivalently: the hash has at least `5·(L+1)` leading zero bits), or when the node has
//! reached [`MAX_ENTRIES`] entries or [`MAX_NODE_SIZE`] bytes of key and value data (counted from
//! the node's first entry). A boundary at level `L+1` is always a boundary at level `L`, and
//! values never move a boundary.

use std::sync::{Arc, OnceLock};

use crate::error::DecodeError;
use crate::hash::{Hash, key_hash};

/// The byte that opens every node; a new format gets a new number.
pub const FORMAT_VERSION: u8 = 1;
/// log2 of the target fan-out F = 32.
const FANOUT_BITS: u32 = 5;
/// Hard cap on entries per node.
pub const MAX_ENTRIES: usize = 256;
/// Hard cap on key + value bytes per node (an inner entry counts 40 bytes for id and count).
pub const MAX_NODE_SIZE: usize = 16 * 1024;
/// The longest key a tree accepts.
pub const MAX_KEY_LEN: usize = 1024;
/// The longest value a tree accepts. Values are meant to be ids, not bodies.
pub const MAX_VALUE_LEN: usize = 1024;
/// The highest level a node may have. Natural boundaries stop at level 11 (a 64-bit hash has at
/// most 64 leading zeros), so a tree can only reach this by ground keys in a huge tree.
pub const MAX_LEVEL: u8 = 32;
/// The largest encoded node the decoder reads: the data cap plus one maximal entry plus the
/// varint overhead of a full node. Anything longer is rejected before parsing.
pub const MAX_ENCODED_NODE: usize =
    2 + 3 + MAX_NODE_SIZE + MAX_KEY_LEN + MAX_VALUE_LEN + MAX_ENTRIES * (2 + 2 + 2 + 10);

/// What an entry holds: a value (in a leaf) or a reference to a child (in an inner node).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Val {
    /// A leaf entry's value.
    Leaf(Vec<u8>),
    /// An inner entry: the child's id and the number of leaf entries under it.
    Child {
        /// The child node's id.
        id: Hash,
        /// Leaf entries in the child's subtree (≥ 1).
        count: u64,
    },
}

impl Val {
    /// Bytes this value counts towards [`MAX_NODE_SIZE`].
    fn size(&self) -> usize {
        match self {
            Val::Leaf(v) => v.len(),
            Val::Child { .. } => 40,
        }
    }
}

/// One entry of a node. In an inner node the key is the largest key of the child's subtree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The key (in an inner node: the child's largest key).
    pub key: Vec<u8>,
    /// The value or child reference.
    pub val: Val,
}

impl Entry {
    fn size(&self) -> usize {
        self.key.len() + self.val.size()
    }

    /// The child id of an inner entry.
    pub fn child_id(&self) -> Option<Hash> {
        match self.val {
            Val::Child { id, .. } => Some(id),
            Val::Leaf(_) => None,
        }
    }

    /// Leaf entries under this entry: 1 for a leaf entry, the subtree count for an inner one.
    pub fn count(&self) -> u64 {
        match self.val {
            Val::Child { count, .. } => count,
            Val::Leaf(_) => 1,
        }
    }
}

/// A decoded node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// 0 for a leaf.
    pub level: u8,
    /// Entries in strictly increasing key order.
    pub entries: Vec<Entry>,
}

/// Whether `key`'s hash makes it a natural boundary at `level`.
pub(crate) fn is_boundary(level: u8, hash: u64) -> bool {
    hash.leading_zeros() >= FANOUT_BITS * (u32::from(level) + 1)
}

/// Whether a node holding `entries` entries and `size` bytes has reached the hard cap.
fn at_cap(entries: usize, size: usize) -> bool {
    entries >= MAX_ENTRIES || size >= MAX_NODE_SIZE
}

/// The root of the empty tree: the id of a leaf with no entries (bytes `01 00 00`). A constant,
/// so no store holds or needs it; `tests/format.rs` checks it against the hash of those bytes.
pub const EMPTY_ROOT: Hash = Hash([
    0xe3, 0x6f, 0x83, 0x04, 0xad, 0x01, 0x7f, 0x05, 0x5e, 0xd0, 0x30, 0x63, 0xa4, 0x32, 0x2a, 0xab,
    0x71, 0x8f, 0x05, 0x7d, 0x35, 0x70, 0x88, 0x1c, 0x84, 0xc7, 0xda, 0xc8, 0x24, 0xcf, 0xd5, 0xaa,
]);

impl Node {
    /// The root of the empty tree: a leaf with no entries.
    pub fn empty() -> Self {
        Node {
            level: 0,
            entries: Vec::new(),
        }
    }

    /// A shared empty root, so loading it never touches a store.
    pub(crate) fn empty_arc() -> Arc<Node> {
        static EMPTY: OnceLock<Arc<Node>> = OnceLock::new();
        EMPTY.get_or_init(|| Arc::new(Node::empty())).clone()
    }

    /// True for level 0.
    pub fn is_leaf(&self) -> bool {
        self.level == 0
    }

    /// The largest key, or `None` for the empty root.
    pub fn last_key(&self) -> Option<&[u8]> {
        self.entries.last().map(|e| e.key.as_slice())
    }

    /// Leaf entries under this node; `None` if the subtree counts overflow (only possible in a
    /// tree built wrongly on purpose: the decoder checks each node's own sum).
    pub fn checked_count(&self) -> Option<u64> {
        self.entries
            .iter()
            .try_fold(0u64, |n, e| n.checked_add(e.count()))
    }

    /// Whether the chunking rule ends a node after this one's last entry: its key is a boundary
    /// at this level, or the node reached the hard cap.
    pub fn ends_chunk(&self) -> bool {
        let size = self.entries.iter().map(Entry::size).sum();
        self.last_key()
            .is_some_and(|k| is_boundary(self.level, key_hash(k)))
            || at_cap(self.entries.len(), size)
    }

    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.entries.len() * 48);
        out.push(FORMAT_VERSION);
        out.push(self.level);
        put_varint(&mut out, self.entries.len() as u64);
        let mut prev: &[u8] = &[];
        for e in &self.entries {
            let shared = common_prefix(prev, &e.key);
            put_varint(&mut out, shared as u64);
            put_varint(&mut out, (e.key.len() - shared) as u64);
            out.extend_from_slice(&e.key[shared..]);
            match &e.val {
                Val::Leaf(v) => {
                    put_varint(&mut out, v.len() as u64);
                    out.extend_from_slice(v);
                }
                Val::Child { id, count } => {
                    out.extend_from_slice(&id.0);
                    put_varint(&mut out, *count);
                }
            }
            prev = &e.key;
        }
        out
    }

    /// Decodes canonical bytes, rejecting anything [`Node::encode`] would not have produced for
    /// a node that obeys the caps: a wrong version, a level over [`MAX_LEVEL`], too many entries,
    /// keys out of order or not maximally prefix-compressed, oversized keys or values, a zero
    /// subtree count, a node that passed the hard cap before its last entry, and trailing bytes.
    pub fn decode(bytes: &[u8]) -> Result<Node, DecodeError> {
        if bytes.len() > MAX_ENCODED_NODE {
            return Err(DecodeError::TooLarge { len: bytes.len() });
        }
        let mut r = Reader { bytes, pos: 0 };
        let version = r.byte()?;
        if version != FORMAT_VERSION {
            return Err(DecodeError::Version(version));
        }
        let level = r.byte()?;
        if level > MAX_LEVEL {
            return Err(DecodeError::Level(level));
        }
        let n = r.varint()?;
        if n > MAX_ENTRIES as u64 {
            return Err(DecodeError::TooManyEntries(n));
        }
        let n = n as usize;
        if n == 0 && level != 0 {
            return Err(DecodeError::EmptyInner);
        }
        let mut entries: Vec<Entry> = Vec::with_capacity(n);
        let mut size = 0usize;
        let mut total = 0u64;
        for i in 0..n {
            if i > 0 && at_cap(i, size) {
                return Err(DecodeError::OverCap);
            }
            let shared = r.len()?;
            let suffix_len = r.len()?;
            let prev: &[u8] = entries.last().map_or(&[], |e| e.key.as_slice());
            if shared > prev.len() {
                return Err(DecodeError::BadPrefix { index: i });
            }
            if shared + suffix_len > MAX_KEY_LEN {
                return Err(DecodeError::KeyTooLong { index: i });
            }
            let suffix = r.take(suffix_len)?;
            if i > 0 {
                // Canonical prefix: the first suffix byte must differ from the previous key's
                // byte at that position, else the shared prefix was not the longest one. With
                // that, the key is greater exactly when the suffix is non-empty and (the
                // previous key ended there, or the suffix's first byte is the larger).
                match (suffix.first(), prev.get(shared)) {
                    (None, _) => return Err(DecodeError::OutOfOrder { index: i }),
                    (Some(a), Some(b)) if a == b => {
                        return Err(DecodeError::BadPrefix { index: i });
                    }
                    (Some(a), Some(b)) if a < b => {
                        return Err(DecodeError::OutOfOrder { index: i });
                    }
                    _ => {}
                }
            }
            let mut key = Vec::with_capacity(shared + suffix_len);
            key.extend_from_slice(&prev[..shared]);
            key.extend_from_slice(suffix);
            let val = if level == 0 {
                let len = r.len()?;
                if len > MAX_VALUE_LEN {
                    return Err(DecodeError::ValueTooLong { index: i });
                }
                Val::Leaf(r.take(len)?.to_vec())
            } else {
                let mut id = [0u8; 32];
                id.copy_from_slice(r.take(32)?);
                let count = r.varint()?;
                if count == 0 {
                    return Err(DecodeError::ZeroCount { index: i });
                }
                total = total.checked_add(count).ok_or(DecodeError::CountOverflow)?;
                Val::Child {
                    id: Hash(id),
                    count,
                }
            };
            let e = Entry { key, val };
            size += e.size();
            entries.push(e);
        }
        if r.pos != bytes.len() {
            return Err(DecodeError::TrailingBytes {
                extra: bytes.len() - r.pos,
            });
        }
        Ok(Node { level, entries })
    }

    /// Checks that no entry but the last is a chunk boundary at this node's level. A node that
    /// passes came out of the chunker; one that fails was made by hand and would break history
    /// independence, so nodes from other peers are checked with this before they are stored.
    pub fn check_chunking(&self) -> Result<(), DecodeError> {
        let n = self.entries.len();
        for (i, e) in self.entries.iter().enumerate().take(n.saturating_sub(1)) {
            if is_boundary(self.level, key_hash(&e.key)) {
                return Err(DecodeError::InteriorBoundary { index: i });
            }
        }
        Ok(())
    }
}

/// Decodes bytes received from elsewhere for the id they were asked for: the bytes must hash to
/// `id`, decode strictly and be chunked canonically. The one gate for untrusted nodes.
pub fn verify_node(id: &Hash, bytes: &[u8]) -> Result<Node, crate::Error> {
    let actual = Hash::of_node(bytes);
    if actual != *id {
        return Err(crate::Error::HashMismatch {
            expected: *id,
            actual,
        });
    }
    let node = Node::decode(bytes).map_err(|source| crate::Error::Decode { id: *id, source })?;
    node.check_chunking()
        .map_err(|source| crate::Error::Decode { id: *id, source })?;
    Ok(node)
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, DecodeError> {
        let b = *self.bytes.get(self.pos).ok_or(DecodeError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Truncated)?;
        let s = self
            .bytes
            .get(self.pos..end)
            .ok_or(DecodeError::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.byte()?;
            let bits = u64::from(b & 0x7f);
            if i == 9 && b > 1 {
                return Err(DecodeError::Varint);
            }
            v |= bits << (7 * i);
            if b & 0x80 == 0 {
                // Shortest form only: a final zero byte after the first adds nothing.
                if b == 0 && i > 0 {
                    return Err(DecodeError::Varint);
                }
                return Ok(v);
            }
        }
        Err(DecodeError::Varint)
    }

    /// A varint used as a length; anything that cannot fit the rest of the node is truncation.
    fn len(&mut self) -> Result<usize, DecodeError> {
        let v = self.varint()?;
        usize::try_from(v)
            .ok()
            .filter(|&n| n <= self.bytes.len())
            .ok_or(DecodeError::Truncated)
    }
}

/// A node the chunker closed, encoded and hashed.
#[derive(Clone, Debug)]
pub(crate) struct Built {
    pub(crate) id: Hash,
    pub(crate) bytes: Vec<u8>,
    /// The entry the parent level gets for this node.
    pub(crate) parent_entry: Entry,
}

/// Cuts a stream of entries at one level into nodes by the chunking rule. The state is reset at
/// every boundary, which is what lets an edit re-chunk from the start of the node it touches.
pub(crate) struct Chunker {
    level: u8,
    entries: Vec<Entry>,
    size: usize,
}

impl Chunker {
    pub(crate) fn new(level: u8) -> Self {
        Chunker {
            level,
            entries: Vec::with_capacity(64),
            size: 0,
        }
    }

    /// True right after a boundary (or before the first entry).
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds the next entry (keys must increase); returns the node it closes, if any.
    pub(crate) fn push(&mut self, e: Entry) -> Result<Option<Built>, crate::Error> {
        self.push_known(e, false)
    }

    /// [`Chunker::push`] for an entry known not to be a natural boundary at this level, because
    /// it sat before the last entry of a node of this level that the chunker made (or that
    /// passed [`Node::check_chunking`]). Saves the key hash: most entries a mutation re-chunks
    /// are such copies.
    pub(crate) fn push_known(
        &mut self,
        e: Entry,
        known_interior: bool,
    ) -> Result<Option<Built>, crate::Error> {
        let boundary = !known_interior && is_boundary(self.level, key_hash(&e.key));
        self.size += e.size();
        self.entries.push(e);
        if boundary || at_cap(self.entries.len(), self.size) {
            self.close().map(Some)
        } else {
            Ok(None)
        }
    }

    /// Closes the last, partial node (the rightmost one of its level).
    pub(crate) fn finish(&mut self) -> Result<Option<Built>, crate::Error> {
        if self.entries.is_empty() {
            Ok(None)
        } else {
            self.close().map(Some)
        }
    }

    fn close(&mut self) -> Result<Built, crate::Error> {
        let node = Node {
            level: self.level,
            entries: std::mem::take(&mut self.entries),
        };
        self.size = 0;
        let bytes = node.encode();
        let id = Hash::of_node(&bytes);
        let count = node.checked_count().ok_or(crate::Error::Inconsistent {
            id,
            reason: "subtree counts overflow",
        })?;
        let key = node
            .entries
            .last()
            .map(|e| e.key.clone())
            .unwrap_or_default();
        Ok(Built {
            id,
            bytes,
            parent_entry: Entry {
                key,
                val: Val::Child { id, count },
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(keys: &[&[u8]]) -> Node {
        Node {
            level: 0,
            entries: keys
                .iter()
                .map(|k| Entry {
                    key: k.to_vec(),
                    val: Val::Leaf(b"v".to_vec()),
                })
                .collect(),
        }
    }

    #[test]
    fn round_trip_leaf_and_inner() {
        let l = leaf(&[b"a", b"ab", b"abc", b"b", b"ba"]);
        assert_eq!(Node::decode(&l.encode()).unwrap(), l);
        let inner = Node {
            level: 3,
            entries: vec![
                Entry {
                    key: b"k1".to_vec(),
                    val: Val::Child {
                        id: Hash([7; 32]),
                        count: 5,
                    },
                },
                Entry {
                    key: b"k2".to_vec(),
                    val: Val::Child {
                        id: Hash([9; 32]),
                        count: u64::MAX - 5,
                    },
                },
            ],
        };
        assert_eq!(Node::decode(&inner.encode()).unwrap(), inner);
        assert_eq!(
            Node::decode(&Node::empty().encode()).unwrap(),
            Node::empty()
        );
    }

    #[test]
    fn rejects_out_of_order_and_duplicates() {
        let mut bytes = leaf(&[b"a", b"b"]).encode();
        // Second key's suffix "b" → "a" (a duplicate of the first).
        let pos = bytes.iter().rposition(|&b| b == b'b').unwrap();
        bytes[pos] = b'a';
        assert!(matches!(
            Node::decode(&bytes),
            Err(DecodeError::BadPrefix { .. })
        ));
        let mut bytes = leaf(&[b"b", b"c"]).encode();
        let pos = bytes.iter().rposition(|&b| b == b'c').unwrap();
        bytes[pos] = b'a';
        assert!(matches!(
            Node::decode(&bytes),
            Err(DecodeError::OutOfOrder { .. })
        ));
    }

    #[test]
    fn rejects_trailing_and_truncated() {
        let mut bytes = leaf(&[b"a", b"b"]).encode();
        bytes.push(0);
        assert!(matches!(
            Node::decode(&bytes),
            Err(DecodeError::TrailingBytes { extra: 1 })
        ));
        bytes.truncate(bytes.len() - 2);
        assert!(matches!(Node::decode(&bytes), Err(DecodeError::Truncated)));
    }

    #[test]
    fn rejects_non_minimal_varint_and_bad_version() {
        assert!(matches!(
            Node::decode(&[1, 0, 0x80, 0x00]),
            Err(DecodeError::Varint)
        ));
        assert!(matches!(
            Node::decode(&[2, 0, 0]),
            Err(DecodeError::Version(2))
        ));
        assert!(matches!(
            Node::decode(&[1, 1, 0]),
            Err(DecodeError::EmptyInner)
        ));
        assert!(matches!(
            Node::decode(&[1, 200, 0]),
            Err(DecodeError::Level(200))
        ));
    }

    #[test]
    fn rejects_over_cap() {
        let keys: Vec<Vec<u8>> = (0u32..300).map(|i| i.to_be_bytes().to_vec()).collect();
        let node = Node {
            level: 0,
            entries: keys
                .iter()
                .map(|k| Entry {
                    key: k.clone(),
                    val: Val::Leaf(vec![]),
                })
                .collect(),
        };
        assert!(matches!(
            Node::decode(&node.encode()),
            Err(DecodeError::TooManyEntries(300))
        ));
        let node = Node {
            level: 0,
            entries: node.entries[..257].to_vec(),
        };
        assert!(matches!(
            Node::decode(&node.encode()),
            Err(DecodeError::TooManyEntries(257))
        ));
        // 20 entries of ~1 KiB values pass the 16 KiB cap before the last.
        let big = Node {
            level: 0,
            entries: keys[..20]
                .iter()
                .map(|k| Entry {
                    key: k.clone(),
                    val: Val::Leaf(vec![0; 1000]),
                })
                .collect(),
        };
        assert!(matches!(
            Node::decode(&big.encode()),
            Err(DecodeError::OverCap)
        ));
    }

    #[test]
    fn chunker_respects_cap() {
        // 1000-byte values: the 16 KiB cap closes a node after 17 entries at the latest.
        let mut c = Chunker::new(0);
        let mut sizes = vec![];
        for i in 0u32..1000 {
            let e = Entry {
                key: i.to_be_bytes().to_vec(),
                val: Val::Leaf(vec![1; 1000]),
            };
            if let Some(b) = c.push(e).unwrap() {
                let node = Node::decode(&b.bytes).unwrap();
                node.check_chunking().unwrap();
                sizes.push(node.entries.len());
            }
        }
        assert!(sizes.iter().all(|&n| n <= 17));
        assert!(
            sizes.contains(&17),
            "the cap, not only hashes, ended some nodes"
        );
    }

    #[test]
    fn boundaries_nest() {
        for level in 0..12u8 {
            for h in [0u64, 1, 1 << 20, 1 << 40, 1 << 58, u64::MAX] {
                if is_boundary(level + 1, h) {
                    assert!(is_boundary(level, h));
                }
            }
        }
        assert!(is_boundary(0, (1 << 59) - 1));
        assert!(!is_boundary(0, 1 << 59));
        assert!(!is_boundary(12, 0));
    }
}
