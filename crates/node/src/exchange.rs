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

use rookery_feed::{HeadUpdate, Index, PublicKey, Roots, SignedHead, SignedMessage, keys};
use rookery_prolly::{Hash, KeyRange, NodeBytes, Overlay, Prolly, Query};
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
        let bodies = SignedMessage::decode_many(&bundle.bodies)?;
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
        let before = self.store.head(&author)?.map(|h| h.head().roots);
        let imported = self.store.import(head, nodes, bodies)?;
        // A head taken alone had none of its trees: all of them is news now.
        let before = before.filter(|_| !imported.first);
        if imported.update != HeadUpdate::Same || imported.first {
            let _ = self.changes.send(author);
            self.emit(NodeEvent::HeadImported {
                author,
                seq: head.head().seq,
            });
            let old = before.unwrap_or_else(Roots::empty);
            // A failure to read the new mentions or follow (their nodes may not be here yet)
            // is no failure of the import: they are found when they arrive.
            let found = self.new_notifications(&author, &old, &head.head().roots);
            for n in found.unwrap_or_default() {
                self.emit(NodeEvent::Notification(n));
            }
        }
        Ok(imported)
    }

    /// Rebuilds the `messages` tree of `new` from the one of `old` (held here) and the bodies
    /// of the messages between them: the nodes of the new tree that are not here, if the
    /// rebuilt root is the one `new` signs. Then `bodies` are exactly the author's messages
    /// since `old` (the signed root says so), and a catch-up needed nothing but them. `None`
    /// when it cannot be rebuilt here (a node of the old tree on the way is not held, a
    /// deleted message's body is not here to say what it removes) or does not match (a peer
    /// that left a body out); the caller then asks for the nodes.
    pub(crate) fn rebuild_messages(
        &self,
        old: &SignedHead,
        new: &SignedHead,
        bodies: &[SignedMessage],
    ) -> Result<Option<Vec<NodeBytes>>, NodeError> {
        let (old, new) = (old.head(), new.head());
        if old.author != new.author || old.seq >= new.seq {
            return Ok(None);
        }
        let mut ordered: Vec<&SignedMessage> = bodies
            .iter()
            .filter(|m| m.message().author == new.author && m.message().seq > old.seq)
            .collect();
        ordered.sort_by_key(|m| m.message().seq);
        let mut edits = Vec::new();
        for m in &ordered {
            let deleted = match &m.message().content {
                rookery_feed::Content::Delete { target } => {
                    match ordered.iter().find(|b| b.id() == *target) {
                        Some(b) => Some((*b).clone()),
                        None => self.store.body(target)?,
                    }
                }
                _ => None,
            };
            let e = match (&m.message().content, &deleted) {
                // A delete of a post not here: taken to be of one posted since `old` (in
                // neither tree, so the delete only adds itself). If it was older, the root
                // rebuilt is not the one signed, and the nodes are asked for.
                (rookery_feed::Content::Delete { .. }, None) => {
                    rookery_feed::own_entries(m.message(), m.id())
                }
                _ => match rookery_feed::index_edits(
                    m.message(),
                    m.id(),
                    deleted.as_ref().map(|d| (d.message(), d.id())),
                ) {
                    Ok(e) => e,
                    Err(_) => return Ok(None),
                },
            };
            edits.extend(e.messages);
        }
        match self.trees().mutate(&old.roots.messages, edits) {
            Ok(m) if m.root == new.roots.messages => Ok(Some(m.nodes)),
            Ok(_) | Err(rookery_prolly::Error::MissingNodes(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// What a catch-up pushed with `new` ([`rookery_sync::CatchUpAsk`]) gives a holder of
    /// `old`: the new `messages` nodes with the bodies, if the bodies rebuild the tree `new`
    /// signs (see [`Node::rebuild_messages`]); and the new `mentions` nodes on my key's range,
    /// if with those held here they complete that range of the tree `new` signs. `None` for
    /// what it does not give: that is asked for.
    pub(crate) fn take_pushed(
        &self,
        old: &SignedHead,
        new: &SignedHead,
        pushed: rookery_sync::Batch,
    ) -> Result<(Option<rookery_sync::Batch>, Option<Vec<NodeBytes>>), NodeError> {
        let messages = self
            .rebuild_messages(old, new, &pushed.bodies)?
            .map(|nodes| rookery_sync::Batch {
                nodes,
                bodies: pushed.bodies,
            });
        let (from, to) = (old.head().roots.mentions, new.head().roots.mentions);
        let with = Prolly::new(Overlay::new(self.store(), &pushed.nodes));
        let mentions = match with.delta(&from, &to, &keys::mentions_of(&self.id())) {
            Ok(d) if d.is_complete() => Some(d.nodes),
            // Not complete, or a node of the old tree not here: the `Diff` tells.
            Ok(_) | Err(_) => None,
        };
        Ok((messages, mentions))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> (tempfile::TempDir, Node) {
        let dir = tempfile::tempdir().unwrap();
        let node = Node::open(dir.path()).unwrap();
        (dir, node)
    }

    fn head_of(n: &Node, author: &PublicKey) -> SignedHead {
        n.store().head(author).unwrap().unwrap()
    }

    /// The bodies of `author`'s messages after `seq`, as `n` holds them.
    fn since(n: &Node, author: &PublicKey, seq: u64) -> Vec<SignedMessage> {
        n.export(author)
            .unwrap()
            .bodies
            .iter()
            .map(|b| SignedMessage::decode(b).unwrap())
            .filter(|m| m.message().seq > seq)
            .collect()
    }

    #[test]
    fn a_catch_up_rebuilds_the_messages_tree_from_bodies_alone() {
        let (_da, a) = node();
        let posts: Vec<_> = (0..40)
            .map(|i| a.post(&format!("post {i}")).unwrap())
            .collect();
        let (_db, b) = node();
        b.import(&a.export(&a.id()).unwrap()).unwrap();
        let old = head_of(&b, &a.id());
        let old_bundle = b.export(&a.id()).unwrap();
        // New posts, and a delete of a post B holds.
        for i in 0..3 {
            a.post(&format!("new {i}")).unwrap();
        }
        a.delete(posts[10].id()).unwrap();
        let new = head_of(&a, &a.id());
        let bodies = since(&a, &a.id(), old.head().seq);
        assert_eq!(bodies.len(), 4);

        // A body left out: the rebuilt root is not the signed one.
        assert_eq!(b.rebuild_messages(&old, &new, &bodies[1..]).unwrap(), None);
        // Bodies of someone else, or of the old head's messages, change nothing.
        let mut noisy = bodies.clone();
        noisy.extend(since(&a, &a.id(), 30));
        let (_dc, c) = node();
        noisy.push(c.post("not A's").unwrap());
        let nodes = b.rebuild_messages(&old, &new, &noisy).unwrap().unwrap();
        // Exactly the nodes of the new tree B lacks; with them the feed reads as A's does.
        let delta = a
            .trees()
            .delta(
                &old.head().roots.messages,
                &new.head().roots.messages,
                &KeyRange::all(),
            )
            .unwrap();
        let ids = |v: &[NodeBytes]| {
            v.iter()
                .map(|n| n.id)
                .collect::<std::collections::BTreeSet<_>>()
        };
        assert_eq!(ids(&nodes), ids(&delta.nodes));
        b.import_checked(&new, &nodes, &bodies).unwrap();
        let feed = |n: &Node| {
            n.author_feed(&a.id(), None, 50)
                .unwrap()
                .items
                .into_iter()
                .map(|i| i.message.id())
                .collect::<Vec<_>>()
        };
        assert_eq!(feed(&b), feed(&a));
        assert!(!feed(&b).contains(&posts[10].id()));

        // A delete whose target's body is not here: what it removes is unknown.
        let (_dd, d) = node();
        let target = posts[10].bytes().to_vec();
        let mut without = old_bundle.clone();
        without.bodies.retain(|x| *x != target);
        d.import(&without).unwrap();
        assert_eq!(d.rebuild_messages(&old, &new, &bodies).unwrap(), None);
        // A post and its delete, both since `old`: the post's body is not in the tree, so a
        // peer sends none, and the two cancel out.
        let brief = a.post("soon gone").unwrap();
        a.delete(brief.id()).unwrap();
        let newer = head_of(&a, &a.id());
        let bodies = since(&a, &a.id(), old.head().seq);
        assert!(bodies.iter().all(|m| m.id() != brief.id()));
        let (_df, f) = node();
        f.import(&old_bundle).unwrap();
        let nodes = f.rebuild_messages(&old, &newer, &bodies).unwrap().unwrap();
        f.import_checked(&newer, &nodes, &bodies).unwrap();
        assert_eq!(feed(&f), feed(&a));
        // The old tree not held: it cannot be rebuilt either (the three posts alone would
        // need its path).
        let (_de, e) = node();
        let mut bare = old_bundle.clone();
        bare.nodes.clear();
        e.import(&bare).unwrap();
        assert_eq!(e.rebuild_messages(&old, &new, &bodies[..3]).unwrap(), None);
    }
}
