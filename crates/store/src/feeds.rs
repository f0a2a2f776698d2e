//! The feed tables: bodies, heads, last-seen roots, peers, fork evidence, blocks; and the two
//! write paths, publishing a message and importing another author's data.

use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use rookery_feed::{HeadUpdate, Index, MessageId, PublicKey, SignedHead, SignedMessage};
use rookery_prolly::{Hash, NodeBytes, verify_node};

use crate::{Error, Store};

pub(crate) use crate::log::BODIES;
/// The latest accepted head per author: `author → signed head bytes`.
pub(crate) const HEADS: TableDefinition<'_, &[u8; 32], &[u8]> = TableDefinition::new("heads");
/// The root last seen per (author, index): `author ‖ index byte → root`.
pub(crate) const LAST_SEEN: TableDefinition<'_, &[u8; 33], &[u8; 32]> =
    TableDefinition::new("last_seen");
/// Known addresses per peer: `endpoint id → address bytes` (written by sync).
pub(crate) const PEERS: TableDefinition<'_, &[u8; 32], &[u8]> = TableDefinition::new("peers");
/// Fork evidence per author: `author → postcard((first head, second head))`.
pub(crate) const FORKS: TableDefinition<'_, &[u8; 32], &[u8]> = TableDefinition::new("forks");
/// Authors the local identity blocked: `author → seq of the Block message`.
pub(crate) const BLOCKED: TableDefinition<'_, &[u8; 32], u64> = TableDefinition::new("blocked");
/// Heads taken alone, before any of their trees (what a subscription shows of people just
/// followed): `author → ()`, until the first import with the trees.
pub(crate) const ALONE: TableDefinition<'_, &[u8; 32], ()> = TableDefinition::new("heads_alone");

/// Creates the feed tables (part of a new database, and of migration 1 → 2).
pub(crate) fn create_tables(txn: &WriteTransaction) -> Result<(), Error> {
    BODIES.create(txn)?;
    txn.open_table(HEADS)?;
    txn.open_table(LAST_SEEN)?;
    txn.open_table(PEERS)?;
    txn.open_table(FORKS)?;
    txn.open_table(BLOCKED)?;
    txn.open_table(ALONE)?;
    Ok(())
}

/// The byte that stands for an index in keys of the form author ‖ index.
pub(crate) fn index_byte(index: Index) -> u8 {
    match index {
        Index::Messages => 0,
        Index::Mentions => 1,
        Index::Replies => 2,
        Index::Follows => 3,
    }
}

/// `author ‖ index byte`: the key of the tables that keep something per author and index.
pub(crate) fn author_index_key(author: &PublicKey, index: Index) -> [u8; 33] {
    let mut k = [0u8; 33];
    k[..32].copy_from_slice(author.as_bytes());
    k[32] = index_byte(index);
    k
}

/// Everything one publish writes, in one transaction.
#[derive(Debug)]
pub struct Published<'a> {
    /// The new nodes of every index tree the message changed.
    pub nodes: &'a [NodeBytes],
    /// The message being published.
    pub message: &'a SignedMessage,
    /// The author's new head (seq = the message's seq).
    pub head: &'a SignedHead,
    /// The Block message this message deletes, if it deletes one: its target is unblocked.
    pub deleted_block: Option<&'a SignedMessage>,
}

/// Fork evidence: the head kept and the different head refused, both signed bytes.
pub type ForkEvidence = (Vec<u8>, Vec<u8>);

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    /// How the head compared with the one held.
    pub update: HeadUpdate,
    /// Nodes written (new or already there).
    pub nodes: usize,
    /// Bodies written.
    pub bodies: usize,
    /// The head held before had been taken alone ([`Store::import_new_heads`]): this is the
    /// first import with its trees, so everything in them is new to the reader, even if the
    /// head is the same.
    pub first: bool,
}

impl Store {
    /// The head held for `author`.
    pub fn head(&self, author: &PublicKey) -> Result<Option<SignedHead>, Error> {
        self.guard(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(HEADS)?;
            let bytes = table.get(author.as_bytes())?.map(|v| v.value().to_vec());
            bytes
                .map(|b| SignedHead::from_stored(&b).map_err(|e| self.undecodable("head", e)))
                .transpose()
        })
    }

    /// The heads held of authors whose keys start with each of `prefixes` (at most `each` per
    /// prefix), in one read transaction: what a subscription naming authors by a prefix of
    /// their key is answered from.
    pub fn heads_by_prefix(
        &self,
        prefixes: &[[u8; 16]],
        each: usize,
    ) -> Result<Vec<Vec<SignedHead>>, Error> {
        self.guard(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(HEADS)?;
            let mut out = Vec::with_capacity(prefixes.len());
            for p in prefixes {
                let (mut lo, mut hi) = ([0u8; 32], [0xffu8; 32]);
                lo[..16].copy_from_slice(p);
                hi[..16].copy_from_slice(p);
                let mut found = Vec::new();
                for row in table.range::<&[u8; 32]>(&lo..=&hi)?.take(each) {
                    let (_, v) = row?;
                    found.push(
                        SignedHead::from_stored(v.value())
                            .map_err(|e| self.undecodable("head", e))?,
                    );
                }
                out.push(found);
            }
            Ok(out)
        })
    }

    /// Forgets the head held of `author` (the trees under it are no longer reached): what
    /// starting a lost feed over does.
    pub fn remove_head(&self, author: &PublicKey) -> Result<(), Error> {
        self.guard(|| {
            let txn = self.db.begin_write()?;
            txn.open_table(HEADS)?.remove(author.as_bytes())?;
            txn.open_table(ALONE)?.remove(author.as_bytes())?;
            txn.commit()?;
            Ok(())
        })
    }

    /// Every head held.
    pub fn heads(&self) -> Result<Vec<SignedHead>, Error> {
        self.guard(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(HEADS)?;
            let mut out = Vec::new();
            for row in table.iter()? {
                let (_, v) = row?;
                out.push(
                    SignedHead::from_stored(v.value()).map_err(|e| self.undecodable("head", e))?,
                );
            }
            Ok(out)
        })
    }

    /// The body of message `id`, verified.
    pub fn body(&self, id: &MessageId) -> Result<Option<SignedMessage>, Error> {
        Ok(self.bodies(std::slice::from_ref(id))?.pop().flatten())
    }

    /// Several bodies in one read transaction, in the order asked.
    pub fn bodies(&self, ids: &[MessageId]) -> Result<Vec<Option<SignedMessage>>, Error> {
        self.read_bodies(ids, |b| {
            let m =
                SignedMessage::from_stored(&b).map_err(|e| self.undecodable("message body", e))?;
            Ok((m.id(), m))
        })
    }

    /// The signed bytes of the bodies of `ids` held here, as stored: each checked against its
    /// id (a hash, so damage is found) but not decoded, for sending on as they are.
    pub fn body_bytes(&self, ids: &[MessageId]) -> Result<Vec<Option<Vec<u8>>>, Error> {
        self.read_bodies(ids, |b| Ok((MessageId::of(&b), b)))
    }

    /// The bodies of `ids` in one read transaction, each made by `take` from its stored bytes
    /// along with the id those bytes have (hashed once), which must be the one asked for.
    fn read_bodies<T>(
        &self,
        ids: &[MessageId],
        take: impl Fn(Vec<u8>) -> Result<(MessageId, T), Error>,
    ) -> Result<Vec<Option<T>>, Error> {
        self.guard(|| {
            let txn = self.db.begin_read()?;
            let table = BODIES.read(&txn)?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                out.push(match table.get(id.as_bytes())? {
                    None => None,
                    Some(b) => {
                        let (got, t) = take(b)?;
                        if got != *id {
                            return Err(self.damaged("a stored message body is not under its id"));
                        }
                        Some(t)
                    }
                });
            }
            Ok(out)
        })
    }

    /// Which of `ids` have their body here: a look at the index alone, no body is read.
    pub fn held_bodies(&self, ids: &[MessageId]) -> Result<Vec<bool>, Error> {
        self.guard(|| {
            let txn = self.db.begin_read()?;
            let table = BODIES.read(&txn)?;
            ids.iter().map(|id| table.contains(id.as_bytes())).collect()
        })
    }

    /// Writes a message of the local identity: its index nodes, its body and the new head,
    /// in one transaction. The head must be exactly one seq past the one held.
    pub fn publish(&self, p: &Published<'_>) -> Result<(), Error> {
        self.guard(|| {
            let author = p.head.head().author;
            if p.message.message().author != author || p.message.message().seq != p.head.head().seq
            {
                return Err(rookery_feed::FeedError::WrongAuthor.into());
            }
            let txn = self.db.begin_write()?;
            {
                let mut heads = txn.open_table(HEADS)?;
                let held = heads.get(author.as_bytes())?.map(|v| v.value().to_vec());
                let held_seq = held
                    .map(|b| SignedHead::from_stored(&b).map_err(|e| self.undecodable("head", e)))
                    .transpose()?
                    .map(|h| h.head().seq);
                p.message
                    .message()
                    .check_follows(held_seq.filter(|s| *s > 0))?;
                heads.insert(author.as_bytes(), p.head.bytes())?;
                BODIES
                    .write(&txn)?
                    .put(p.message.id().as_bytes(), p.message.bytes())?;
                if let rookery_feed::Content::Block { target } = &p.message.message().content {
                    txn.open_table(BLOCKED)?
                        .insert(target.as_bytes(), p.message.message().seq)?;
                }
                if let Some(block) = p.deleted_block
                    && let rookery_feed::Content::Block { target } = &block.message().content
                {
                    // Unblock only if no later Block of the same key is in force.
                    let mut blocked = txn.open_table(BLOCKED)?;
                    let current = blocked.get(target.as_bytes())?.map(|v| v.value());
                    if current == Some(block.message().seq) {
                        blocked.remove(target.as_bytes())?;
                    }
                }
            }
            Store::put_nodes_in(&txn, p.nodes)?;
            txn.commit()?;
            Ok(())
        })
    }

    /// The seq held of each of `authors`, in one read transaction: 0 for an author not held, or
    /// whose head is held alone (what a subscription names them with).
    pub fn held_seqs(&self, authors: &[PublicKey]) -> Result<Vec<u64>, Error> {
        self.guard(|| {
            let txn = self.db.begin_read()?;
            let (heads, alone) = (txn.open_table(HEADS)?, txn.open_table(ALONE)?);
            let mut out = Vec::with_capacity(authors.len());
            for a in authors {
                let seq = match heads.get(a.as_bytes())? {
                    Some(_) if alone.get(a.as_bytes())?.is_some() => 0,
                    Some(v) => {
                        SignedHead::from_stored(v.value())
                            .map_err(|e| self.undecodable("head", e))?
                            .head()
                            .seq
                    }
                    None => 0,
                };
                out.push(seq);
            }
            Ok(out)
        })
    }

    /// Whether `author`'s head was taken alone and no import with its trees has followed.
    pub fn head_alone(&self, author: &PublicKey) -> Result<bool, Error> {
        self.guard(|| {
            let txn = self.db.begin_read()?;
            Ok(txn.open_table(ALONE)?.get(author.as_bytes())?.is_some())
        })
    }

    /// Takes in the heads of authors held not at all, with some nodes and bodies of their
    /// trees (the rest come later), in one transaction; a head of an author held already, or
    /// known to have forked, is left out. Each head's signature was checked by its decoder;
    /// every node is checked here (hash, strict decode) and every body's author must be one of
    /// the heads'. Returns the heads taken.
    pub fn import_new_heads(
        &self,
        heads: &[SignedHead],
        nodes: &[NodeBytes],
        bodies: &[SignedMessage],
    ) -> Result<Vec<SignedHead>, Error> {
        self.guard(|| {
            for n in nodes {
                verify_node(&n.id, &n.bytes).map_err(Error::BadNode)?;
            }
            let authors: std::collections::HashSet<PublicKey> =
                heads.iter().map(|h| h.head().author).collect();
            if bodies
                .iter()
                .any(|b| !authors.contains(&b.message().author))
            {
                return Err(rookery_feed::FeedError::WrongAuthor.into());
            }
            let txn = self.db.begin_write()?;
            let mut taken = Vec::new();
            {
                let forks = txn.open_table(FORKS)?;
                let mut table = txn.open_table(HEADS)?;
                let mut alone = txn.open_table(ALONE)?;
                for h in heads {
                    let author = h.head().author;
                    if table.get(author.as_bytes())?.is_none()
                        && forks.get(author.as_bytes())?.is_none()
                    {
                        table.insert(author.as_bytes(), h.bytes())?;
                        alone.insert(author.as_bytes(), ())?;
                        taken.push(h.clone());
                    }
                }
                let mut log = BODIES.write(&txn)?;
                for b in bodies {
                    log.put(b.id().as_bytes(), b.bytes())?;
                }
            }
            Store::put_nodes_in(&txn, nodes)?;
            txn.commit()?;
            Ok(taken)
        })
    }

    /// Takes in another author's head with nodes and bodies of their trees, after checking
    /// every node (hash, strict decode, chunking) and every body (its author is the head's).
    /// The head is checked against the one held by the acceptance rule: newer or first
    /// replaces it, the same head only adds nodes and bodies (partial data being filled in),
    /// an older one is refused, and a different one with the same seq is a fork: the first is
    /// kept, both are recorded as evidence, and the import fails. Nothing is written on failure
    /// except that evidence.
    pub fn import(
        &self,
        head: &SignedHead,
        nodes: &[NodeBytes],
        bodies: &[SignedMessage],
    ) -> Result<Imported, Error> {
        self.guard(|| {
            for n in nodes {
                verify_node(&n.id, &n.bytes).map_err(Error::BadNode)?;
            }
            let author = head.head().author;
            if bodies.iter().any(|b| b.message().author != author) {
                return Err(rookery_feed::FeedError::WrongAuthor.into());
            }
            let txn = self.db.begin_write()?;
            if txn.open_table(FORKS)?.get(author.as_bytes())?.is_some() {
                // The author signed two histories: keep the first and take no further heads from
                // either, so a later seq on the other branch cannot switch histories quietly.
                let seq = head.head().seq;
                return Err(rookery_feed::FeedError::Fork { seq }.into());
            }
            let update = {
                let mut heads = txn.open_table(HEADS)?;
                let held = heads.get(author.as_bytes())?.map(|v| v.value().to_vec());
                let held = held
                    .map(|b| SignedHead::from_stored(&b).map_err(|e| self.undecodable("head", e)))
                    .transpose()?;
                match head.accept(held.as_ref()) {
                    Ok(u) => {
                        if u != HeadUpdate::Same {
                            heads.insert(author.as_bytes(), head.bytes())?;
                        }
                        u
                    }
                    Err(e @ rookery_feed::FeedError::Fork { .. }) => {
                        drop(heads);
                        let first = held.map(|h| h.bytes().to_vec()).unwrap_or_default();
                        let evidence = postcard::to_allocvec(&(first, head.bytes().to_vec()))
                            .map_err(|_| {
                                self.damaged("the stored fork evidence does not decode")
                            })?;
                        txn.open_table(FORKS)?
                            .insert(author.as_bytes(), evidence.as_slice())?;
                        txn.commit()?;
                        return Err(e.into());
                    }
                    Err(e) => return Err(e.into()),
                }
            };
            let first = txn.open_table(ALONE)?.remove(author.as_bytes())?.is_some();
            {
                let mut log = BODIES.write(&txn)?;
                for b in bodies {
                    log.put(b.id().as_bytes(), b.bytes())?;
                }
            }
            Store::put_nodes_in(&txn, nodes)?;
            txn.commit()?;
            Ok(Imported {
                update,
                first,
                nodes: nodes.len(),
                bodies: bodies.len(),
            })
        })
    }

    /// Calls `f` with the signed bytes of every body held (for benchmarks and diagnostics).
    pub fn scan_bodies(&self, mut f: impl FnMut(&[u8])) -> Result<(), Error> {
        self.guard(|| {
            let txn = self.db.begin_read()?;
            BODIES.read(&txn)?.each_value(&mut f)
        })
    }

    /// The fork evidence recorded for `author`: the head kept and the one refused.
    pub fn fork_evidence(&self, author: &PublicKey) -> Result<Option<ForkEvidence>, Error> {
        self.guard(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(FORKS)?;
            let Some(v) = table.get(author.as_bytes())? else {
                return Ok(None);
            };
            postcard::from_bytes(v.value())
                .map(Some)
                .map_err(|_| self.damaged("the stored fork evidence does not decode"))
        })
    }

    /// The root of `author`'s `index` last marked as seen.
    pub fn last_seen(&self, author: &PublicKey, index: Index) -> Result<Option<Hash>, Error> {
        self.guard(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(LAST_SEEN)?;
            Ok(table
                .get(&author_index_key(author, index))?
                .map(|v| Hash(*v.value())))
        })
    }

    /// Marks roots as seen, all in one transaction.
    pub fn set_last_seen(&self, seen: &[(PublicKey, Index, Hash)]) -> Result<(), Error> {
        self.guard(|| {
            let txn = self.db.begin_write()?;
            {
                let mut table = txn.open_table(LAST_SEEN)?;
                for (author, index, root) in seen {
                    table.insert(&author_index_key(author, *index), root.as_bytes())?;
                }
            }
            txn.commit()?;
            Ok(())
        })
    }

    /// Authors the local identity blocked.
    pub fn blocked(&self) -> Result<Vec<PublicKey>, Error> {
        self.guard(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(BLOCKED)?;
            let mut out = Vec::new();
            for row in table.iter()? {
                let (k, _) = row?;
                out.push(
                    rookery_feed::public_key(*k.value())
                        .map_err(|_| self.damaged("a stored blocked key is not a key"))?,
                );
            }
            Ok(out)
        })
    }

    /// The seq of the local identity's Block message in force against `target`, if one is.
    pub fn block_of(&self, target: &PublicKey) -> Result<Option<u64>, Error> {
        self.guard(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(BLOCKED)?;
            Ok(table.get(target.as_bytes())?.map(|v| v.value()))
        })
    }

    /// The address bytes known for a peer.
    pub fn peer(&self, id: &PublicKey) -> Result<Option<Vec<u8>>, Error> {
        self.guard(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(PEERS)?;
            Ok(table.get(id.as_bytes())?.map(|v| v.value().to_vec()))
        })
    }

    /// Every peer whose address is recorded.
    pub fn peers(&self) -> Result<Vec<(PublicKey, Vec<u8>)>, Error> {
        self.guard(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(PEERS)?;
            let mut out = Vec::new();
            for row in table.iter()? {
                let (k, v) = row?;
                if let Ok(key) = PublicKey::from_bytes(k.value()) {
                    out.push((key, v.value().to_vec()));
                }
            }
            Ok(out)
        })
    }

    /// Stores message bodies on their own (fetched on demand, each already checked against
    /// its signature by decoding); bodies are addressed by id, so this changes no feed.
    pub fn import_bodies(&self, bodies: &[SignedMessage]) -> Result<(), Error> {
        self.guard(|| {
            let txn = self.db.begin_write()?;
            {
                let mut log = BODIES.write(&txn)?;
                for b in bodies {
                    log.put(b.id().as_bytes(), b.bytes())?;
                }
            }
            txn.commit()?;
            Ok(())
        })
    }

    /// A digest of every table's contents (for tests that prove bad data changed nothing).
    pub fn digest(&self) -> Result<[u8; 32], Error> {
        self.guard(|| {
            let txn = self.db.begin_read()?;
            let mut h = blake3::Hasher::new();
            let mut feed = |name: &str, k: &[u8], v: &[u8]| {
                for part in [name.as_bytes(), k, v] {
                    h.update(&(part.len() as u64).to_le_bytes());
                    h.update(part);
                }
            };
            crate::NODES
                .read(&txn)?
                .each_by_id(|k, v| feed("nodes", k, v))?;
            BODIES.read(&txn)?.each_by_id(|k, v| feed("bodies", k, v))?;
            macro_rules! table32 {
                ($t:expr, $name:literal) => {
                    for row in txn.open_table($t)?.iter()? {
                        let (k, v) = row?;
                        feed($name, k.value(), v.value());
                    }
                };
            }
            table32!(HEADS, "heads");
            table32!(PEERS, "peers");
            table32!(FORKS, "forks");
            for row in txn.open_table(BLOCKED)?.iter()? {
                let (k, v) = row?;
                feed("blocked", k.value(), &v.value().to_le_bytes());
            }
            for row in txn.open_table(LAST_SEEN)?.iter()? {
                let (k, v) = row?;
                feed("last_seen", k.value(), v.value());
            }
            Store::digest_local(&txn, &mut feed)?;
            Ok(*h.finalize().as_bytes())
        })
    }

    /// Records the address bytes of a peer.
    pub fn set_peer(&self, id: &PublicKey, addr: &[u8]) -> Result<(), Error> {
        self.guard(|| {
            let txn = self.db.begin_write()?;
            txn.open_table(PEERS)?.insert(id.as_bytes(), addr)?;
            txn.commit()?;
            Ok(())
        })
    }
}
