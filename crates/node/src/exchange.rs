//! The one door through which other authors' data enters the store, and the way out.
//!
//! Everything that comes in — a bundle file, a first screen or a catch-up from a peer, the
//! nodes and bodies a read fetches on demand — goes through [`Node::import_checked`] or
//! [`Node::take_parts`]: every node is checked against its id and decoded strictly, every body
//! and head against its signature, and a head against the one held by the acceptance rule,
//! before anything is written. Imports raise the events the UI listens to.
//!
//! Bundle format: the 16 bytes `ROOKERY-BUNDLE\0\x01` (magic and format version 1), then
//! `postcard(Bundle)`.

use rookery_feed::{HeadUpdate, Index, PublicKey, SignedHead, SignedMessage};
use rookery_prolly::{EMPTY_ROOT, Hash, KeyRange, NodeBytes, Query};
use rookery_store::Imported;
use serde::{Deserialize, Serialize};

use crate::read::id_of;
use crate::{Node, NodeError, NodeEvent};

const MAGIC: &[u8; 16] = b"ROOKERY-BUNDLE\0\x01";
/// The largest bundle taken in (a feed of about a million messages).
pub const MAX_BUNDLE_BYTES: usize = 2 << 30;

/// An author's feed, as moved between nodes without a network.
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

impl Node {
    /// Takes in a bundle: a signed head with some or all of its tree nodes and message bodies,
    /// every part verified before anything is stored. Partial data is fine: reads that meet
    /// what is missing say so.
    pub fn import(&self, bundle: &Bundle) -> Result<Imported, NodeError> {
        let head = SignedHead::decode(&bundle.head)?;
        let nodes: Vec<NodeBytes> = bundle
            .nodes
            .iter()
            .map(|b| NodeBytes {
                id: Hash::of_node(b),
                bytes: b.clone(),
            })
            .collect();
        let bodies = bundle
            .bodies
            .iter()
            .map(|b| SignedMessage::decode(b))
            .collect::<Result<Vec<_>, _>>()?;
        self.import_checked(&head, &nodes, &bodies)
    }

    /// [`Node::import`] of parts already decoded: the head and the bodies checked against
    /// their signatures (by their decoders), the nodes as they came. The store checks the
    /// nodes, the bodies' author and the head against the one held, in one transaction.
    pub fn import_checked(
        &self,
        head: &SignedHead,
        nodes: &[NodeBytes],
        bodies: &[SignedMessage],
    ) -> Result<Imported, NodeError> {
        let author = head.head().author;
        let before = self.store.head(&author)?.map(|h| h.head().roots.mentions);
        let imported = self.store.import(head, nodes, bodies)?;
        // A head taken alone had none of its trees: all of them is news now.
        let before = before.filter(|_| !imported.first);
        if imported.update != HeadUpdate::Same || imported.first {
            let _ = self.changes.send(author);
            self.emit(NodeEvent::HeadImported {
                author,
                seq: head.head().seq,
            });
            let old = before.unwrap_or(EMPTY_ROOT);
            // A failure to read the new mentions (their nodes may not be here yet) is no
            // failure of the import: they are found when they arrive.
            if let Ok(found) = self.new_mentions(&author, &old, &head.head().roots.mentions) {
                for n in found {
                    self.emit(NodeEvent::Notification(n));
                }
            }
        }
        Ok(imported)
    }

    /// Whether `author`'s feed is here: their head with its trees (a head a subscription
    /// showed, taken alone by [`Node::take_new_heads`], is not yet).
    pub fn holds_feed(&self, author: &PublicKey) -> Result<bool, NodeError> {
        Ok(self.store.head(author)?.is_some() && !self.store.head_alone(author)?)
    }

    /// Takes in, in one transaction, the heads of authors not held at all (what a
    /// subscription's first answer shows of people just followed) with some nodes and bodies
    /// of their trees (each checked here again), so reads know at once what each of them
    /// holds, and how new it is; the rest of their trees is fetched as reads and first screens
    /// need it. Heads of authors held already are left to [`Node::import_checked`]; the first
    /// import after this one treats everything as new (its mentions are notified). Returns the
    /// heads taken.
    pub fn take_new_heads(
        &self,
        heads: &[SignedHead],
        nodes: &[NodeBytes],
        bodies: &[SignedMessage],
    ) -> Result<Vec<SignedHead>, NodeError> {
        let taken = self.store.import_new_heads(heads, nodes, bodies)?;
        for h in &taken {
            let author = h.head().author;
            let _ = self.changes.send(author);
            self.emit(NodeEvent::HeadImported {
                author,
                seq: h.head().seq,
            });
        }
        Ok(taken)
    }

    /// Takes in nodes and bodies fetched on their own (what a read met missing), each already
    /// checked: the nodes against their ids here, the bodies against their signatures by their
    /// decoder. Nodes and bodies are addressed by hash, so this changes no feed.
    pub fn take_parts(
        &self,
        nodes: &[NodeBytes],
        bodies: &[SignedMessage],
    ) -> Result<(), NodeError> {
        self.store.import_nodes(nodes)?;
        self.store.import_bodies(bodies)?;
        Ok(())
    }

    /// Everything held of `author`'s feed as a bundle: the head, every node of its indexes
    /// and the body of every message in its `messages` index.
    pub fn export(&self, author: &PublicKey) -> Result<Bundle, NodeError> {
        let head = self
            .store
            .head(author)?
            .ok_or(NodeError::BadBundle("no head held for this author"))?;
        let mut nodes = Vec::new();
        for index in Index::ALL {
            nodes.extend(
                self.trees
                    .tree_nodes(&head.head().roots.get(index))?
                    .into_iter()
                    .map(|n| n.bytes),
            );
        }
        let mut ids = Vec::new();
        for entry in self
            .trees
            .range(&head.head().roots.messages, Query::new(KeyRange::all()))
        {
            ids.push(id_of(&entry?.1)?);
        }
        let bodies = self
            .store
            .bodies(&ids)?
            .into_iter()
            .flatten()
            .map(|b| b.bytes().to_vec())
            .collect();
        Ok(Bundle {
            head: head.bytes().to_vec(),
            nodes,
            bodies,
        })
    }
}
